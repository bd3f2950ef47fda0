"""Packaging beyond pyproject.toml: the start-up hook ``mixdistill.pth`` at the top of site-packages.

Python runs the ``.pth`` files it finds directly in site-packages when an interpreter starts; this
one imports :mod:`mixdistill_plugin.startup`, which lets lm-eval find mixdistill's tasks and
``axolotl train`` check the machine before it launches (that module says how). Package data cannot
reach the top of site-packages, and setuptools' editable wheels carry only their own ``.pth``, so
the regular wheel (``build_py``) and the editable one (``editable_wheel``: ``pip install -e .``,
``make install``) each get the file here. Uninstalling removes it with the rest.
"""

import os
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "mixdistill.pth"
PTH_LINE = "import mixdistill_plugin.startup\n"


class BuildPy(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:
            with open(os.path.join(self.build_lib, PTH_NAME), "w", encoding="utf-8") as file:
                file.write(PTH_LINE)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        return outputs if self.editable_mode else [*outputs, os.path.join(self.build_lib, PTH_NAME)]


class EditableWheel(editable_wheel):
    def run(self):
        super().run()
        (wheel,) = [name for name in os.listdir(self.dist_dir) if name.endswith(".whl")]
        _add_file(os.path.join(self.dist_dir, wheel), PTH_NAME, PTH_LINE)


def _add_file(path, name, text):
    """Rewrite the wheel at ``path`` with one more file (its RECORD rebuilt, so uninstall removes it)."""
    from wheel.wheelfile import WheelFile  # setuptools' own (vendored) wheel package

    with tempfile.TemporaryDirectory() as tmp:
        rewritten = os.path.join(tmp, os.path.basename(path))
        with WheelFile(path) as old, WheelFile(rewritten, "w") as new:
            for item in old.infolist():
                if item.filename != old.record_path:
                    new.writestr(item, old.read(item))
            new.writestr(name, text)
        os.replace(rewritten, path)


setup(cmdclass={"build_py": BuildPy, "editable_wheel": EditableWheel})
