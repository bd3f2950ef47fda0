"""Start-up hook: lm-eval finds mixdistill's tasks; ``axolotl train`` checks the machine first.

Installing mixdistill (the wheel, or ``pip install -e .`` as ``make install`` does) puts
``mixdistill.pth`` at the top of site-packages (see ``setup.py``). Python runs its one line,
``import mixdistill_plugin.startup``, whenever an interpreter of that environment starts (not under
``python -S``). This module then adds one finder to ``sys.meta_path`` that watches two module
names and otherwise lets every import run as usual:

- ``lm_eval.tasks``: once it has run, ``TaskManager.__init__`` is wrapped so that whenever lm-eval
  indexes its own tasks (``include_defaults``, the default) it also indexes
  ``mixdistill_plugin/harness/tasks``, right after its own and before any ``include_path`` (which
  can still override a task). ``lm_eval --tasks svamp_mixed`` and ``lm_eval ls tasks`` then find
  every mixdistill task with no flag, from any folder. lm-eval 0.4.2 to 0.4.13 build every task
  index through ``TaskManager(include_path=...)``; a release whose ``TaskManager`` takes no
  ``include_path`` is left alone with a warning, and ``--include_path`` still works.
- ``axolotl.cli.utils.train``: ``launch_training`` first runs the plugin's preflight
  (:mod:`mixdistill_plugin.axolotl_plugin.preflight`) on a config that lists the mixdistill
  plugin, so that ``axolotl train CONFIG`` on a machine without the GPU or the model the config
  asks for stops with what is missing and what to do, before accelerate starts a training process.

The cost at start-up is this module's import; afterwards, one string comparison for each module
imported for the first time. Nothing else is imported until a watched module is.
"""

from __future__ import annotations

import sys


def tasks_dir() -> str:
    """The folder of mixdistill's lm-eval tasks, symlinks resolved."""
    import os

    return os.path.realpath(os.path.join(os.path.dirname(__file__), "harness", "tasks"))


def _add_tasks(module) -> None:
    """Make ``module.TaskManager`` index mixdistill's tasks after lm-eval's own."""
    import functools
    import inspect
    import os

    manager = getattr(module, "TaskManager", None)
    init = getattr(manager, "__init__", None)
    try:
        signature = inspect.signature(init)
    except (TypeError, ValueError):
        signature = None
    if signature is None or "include_path" not in signature.parameters:
        import warnings

        warnings.warn("mixdistill: this lm-eval's TaskManager takes no include_path; "
                      f"pass --include_path {tasks_dir()} to find mixdistill's tasks", stacklevel=2)
        return

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        if bound.arguments.get("include_defaults", True):
            given = bound.arguments.get("include_path")
            paths = [] if not given else [given] if isinstance(given, (str, os.PathLike)) else list(given)
            ours = tasks_dir()
            if ours not in {os.path.realpath(p) for p in paths}:
                bound.arguments["include_path"] = [ours, *paths]
        init(*bound.args, **bound.kwargs)

    manager.__init__ = __init__


def _check_before_launch(module) -> None:
    """Make ``module.launch_training`` run the mixdistill preflight on the config first."""
    import functools
    import inspect

    launch = getattr(module, "launch_training", None)
    try:
        signature = inspect.signature(launch)
    except (TypeError, ValueError):
        return
    if not {"cfg_file", "cloud", "kwargs"} <= set(signature.parameters):
        return

    @functools.wraps(launch)
    def launch_training(*args, **kwargs):
        bound = signature.bind(*args, **kwargs).arguments
        if bound["cfg_file"] and not bound["cloud"]:  # a cloud run trains elsewhere
            from mixdistill_plugin.axolotl_plugin.preflight import check_before_launch

            check_before_launch(bound["cfg_file"], bound["kwargs"] or {})
        return launch(*args, **kwargs)

    module.launch_training = launch_training


_PATCHES = {"lm_eval.tasks": _add_tasks, "axolotl.cli.utils.train": _check_before_launch}


class _Loader:
    """Runs the module's own loader, then the patch."""

    def __init__(self, loader, patch) -> None:
        self.loader, self.patch = loader, patch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # the module keeps its real loader
        self.loader.exec_module(module)
        try:
            self.patch(module)
        except Exception as exc:  # a patch must never break the import it watches
            import warnings

            warnings.warn(f"mixdistill: could not patch {module.__name__}: {exc!r}", stacklevel=2)


class _Finder:
    """On ``sys.meta_path``: finds nothing itself; wraps the loader of a watched module."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        patch = _PATCHES.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is cls or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, patch)
                return spec
        return None


if _Finder not in sys.meta_path:
    sys.meta_path.insert(0, _Finder)
