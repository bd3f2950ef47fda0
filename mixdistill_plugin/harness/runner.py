"""``mixdistill eval``'s run of lm-eval's own command line, with mixdistill's tasks on its task path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Sequence

from mixdistill_plugin.startup import tasks_dir


def run_lm_eval(command: str, args: Sequence[str], include_path: str | None = None) -> int:
    """``python -m lm_eval COMMAND --include_path PATH ARGS`` in this interpreter; its exit status.

    ``include_path`` defaults to mixdistill's task folder, which the start-up hook indexes in any case.
    """
    path = include_path or tasks_dir()
    return subprocess.run([sys.executable, "-m", "lm_eval", command, "--include_path", path, *args]).returncode


def sampling_overrides(folder: Path, repeats: int) -> str:
    """A task folder in ``folder`` that gives every sampling task of mixdistill ``repeats`` paths: one
    file per task that includes the task's own YAML and sets ``repeats`` (lm-eval's way to derive a
    task; on the task path it wins over the task of the same name). The folder's path."""
    from mixdistill_plugin.harness.make_tasks import dataset_variants, datasets, prefix

    for dataset in datasets():
        for variant in (v for v in dataset_variants(dataset) if v.sampled):
            name = f"{prefix(dataset)}_{variant.name}"
            (folder / f"{name}.yaml").write_text(
                f"include: {Path(tasks_dir(), name + '.yaml')}\ntask: {name}\nrepeats: {repeats}\n")
    return str(folder)
