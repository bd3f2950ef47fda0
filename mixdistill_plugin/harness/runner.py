"""``mixdistill eval``'s run of lm-eval's own command line, with mixdistill's tasks on its task path."""

from __future__ import annotations

import subprocess
import sys
from typing import Sequence

from mixdistill_plugin.startup import tasks_dir


def run_lm_eval(command: str, args: Sequence[str], include_path: str | None = None) -> int:
    """``python -m lm_eval COMMAND --include_path PATH ARGS`` in this interpreter; its exit status.

    ``include_path`` defaults to mixdistill's task folder (which the start-up hook indexes too).
    """
    path = include_path or tasks_dir()
    return subprocess.run([sys.executable, "-m", "lm_eval", command, "--include_path", path, *args]).returncode
