"""Start-up time of `mixdistill --help` and `mixdistill score`, against bare `python -c pass`.

    .venv/bin/python bench/startup.py [--runs 10]

Both commands must start in well under a second and must not import torch or transformers.
`score` here scores a 4-line file whose programs run in the executor (its pool start included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = [
    {"id": 1, "answer": 18, "cot": ["The answer is 18."], "pot": ["ans = 9 * 2"]},
    {"id": 2, "answer": 5, "cot": ["#### 5"], "pot": ["print(10 / 2)"]},
]


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "mixdistill_plugin.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        preds = Path(tmp) / "p.jsonl"
        preds.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
        baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
        rows = [
            ("python -c pass", baseline),
            ("mixdistill --help", median_seconds(exe + ["--help"], args.runs)),
            ("mixdistill score (4 lines)", median_seconds(exe + ["score", str(preds), "--json"], args.runs)),
            ("python -c 'import torch'", median_seconds([sys.executable, "-c", "import torch"], max(3, args.runs // 3))),
        ]
    print(f"{'command':<30}{'median s':>10}{'vs python':>11}")
    for name, seconds in rows:
        print(f"{name:<30}{seconds:>10.3f}{seconds / baseline:>10.1f}x")


if __name__ == "__main__":
    main()
