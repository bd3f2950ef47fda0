"""The teacher registry: the backends ``--teacher`` names.

A backend is a :class:`Backend` entry: its name, what it needs, and a function that makes it from
the command line's :class:`TeacherOptions` (importing its heavy parts only then). The built-in
backends (:mod:`.builtin`) register exactly as another package's do: a function
``register_teachers(register)`` that calls ``register(Backend(...))``, found for another package
through the ``mixdistill.teachers`` entry-point group::

    [project.entry-points."mixdistill.teachers"]
    my_teacher = "my_package.teacher:register_teachers"
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Callable

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.teachers import Teacher, TeacherUnavailable

ENTRY_POINTS = "mixdistill.teachers"
BUILTIN = ("mixdistill_plugin.teachers.builtin:register_teachers",)


@dataclass(frozen=True)
class TeacherOptions:
    """What the command line says to every backend; each uses what applies to it."""

    model: str | None = None
    base_url: tuple[str, ...] = ()
    concurrency: int = 32
    retries: int = 6
    request_timeout: float = 120.0
    give_up_after: float = 120.0
    batch_size: int = 8
    dataset: str | None = None
    recordings: tuple[Path, ...] = ()
    tokenizer: str | None = None  # counts tokens where the server sends no usage (teachers.tokens)


@dataclass(frozen=True)
class Backend:
    """A teacher backend: ``make(options)`` builds it. ``needs_model``: ``--model`` is required;
    ``chat``: its prompts are chat messages (else plain text); ``about``: one line for ``--help``.
    A teacher with a limited number of completions per question says so with a method
    ``most_samples(kind) -> int``; ``generate`` asks for no more (0: the kind is refused)."""

    name: str
    make: Callable[[TeacherOptions], Teacher]
    about: str
    needs_model: bool = True
    chat: bool = False


_BACKENDS: dict[str, Backend] = {}
_loaded = False


def register_teacher(backend: Backend) -> None:
    """Add ``backend``; a name already taken is refused."""
    if backend.name in _BACKENDS:
        raise ValueError(f"teacher {backend.name!r} is already registered")
    _BACKENDS[backend.name] = backend


def _load() -> None:
    """Register the built-in backends, then those of the installed packages' entry points (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from importlib.metadata import entry_points

    hooks = [_hook(spec) for spec in BUILTIN] + [ep.load() for ep in entry_points(group=ENTRY_POINTS)]
    for register_teachers in hooks:
        register_teachers(register_teacher)


def _hook(spec: str) -> Callable:
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)


def backend_names() -> list[str]:
    _load()
    return list(_BACKENDS)


def get_backend(name: str) -> Backend:
    _load()
    if name not in _BACKENDS:
        raise UserError(f"--teacher: unknown teacher {name!r}; the registered ones: {', '.join(_BACKENDS)}")
    return _BACKENDS[name]


def make_teacher(name: str, options: TeacherOptions = TeacherOptions()) -> Teacher:
    """The backend called ``name``, made from ``options``."""
    backend = get_backend(name)
    if backend.needs_model and not options.model:
        raise TeacherUnavailable(f"--teacher {name} needs --model")
    return backend.make(options)
