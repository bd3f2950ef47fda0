"""Programs per second of the PoT executor against two baselines measured in the same run.

    .venv/bin/python bench/executor.py [--data-dir DIR] [--timeout 1.0]

Corpus: every SVAMP equation as ``ans = <Equation>`` and every GSM8K test solution's calculator
chain as a multi-line program, plus about 0.2% programs that never halt. Executors:

- ``mixdistill``: the project's :class:`Executor` (warm pool, one worker per core);
- ``process-per-program``: a fresh ``python -I`` per program, as many at once as there are cores
  (the common safe baseline);
- ``exec+alarm``: bare in-process ``exec`` with ``setitimer`` (unsafe; the limit).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mixdistill_plugin.data import SHIPPED
from mixdistill_plugin.executor import Executor, default_workers

NON_HALTING = (
    "while True:\n    pass",
    "n = 1\nwhile n > 0:\n    n += 1",
    "total = 0\nfor i in iter(int, 1):\n    total += i",
)
_CALC = re.compile(r"<<([^=<>]*)=[^<>]*>>")
_HARNESS = (
    "import sys\nsrc = sys.stdin.read()\nns = {}\n"
    "try:\n    exec(src, ns)\n    print(repr(ns.get('ans')))\nexcept BaseException as e:\n    print(type(e).__name__)\n"
)


def corpus(data_dir: Path) -> list[str]:
    svamp = json.loads((data_dir / "svamp" / "SVAMP.json").read_text())
    programs = [f"ans = {p['Equation'].strip()}" for p in svamp]
    for line in (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines():
        steps = _CALC.findall(json.loads(line)["answer"])
        if steps:
            body = [f"step_{i} = {expr}" for i, expr in enumerate(steps)]
            programs.append("\n".join(body + [f"ans = step_{len(steps) - 1}"]))
    return programs


def with_non_halting(programs: list[str], share: float = 0.002) -> tuple[list[str], int]:
    count = max(1, round(len(programs) * share))
    mixed = list(programs)
    step = len(mixed) // count
    for i in range(count):
        mixed.insert(i * step + step // 2, NON_HALTING[i % len(NON_HALTING)] + f"  # {i}")
    return mixed, count


def process_per_program(programs: list[str], timeout: float, workers: int) -> float:
    def one(program: str) -> None:
        try:
            subprocess.run([sys.executable, "-I", "-c", _HARNESS], input=program, text=True,
                           capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pass

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, programs))
    return time.perf_counter() - start


def exec_with_alarm(programs: list[str], timeout: float) -> float:
    def alarm(signum, frame):
        raise TimeoutError

    signal.signal(signal.SIGALRM, alarm)
    start = time.perf_counter()
    for program in programs:
        namespace: dict = {}
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(program, namespace)
        except BaseException:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MIXDISTILL_DATA_DIR", SHIPPED)),
                        help="a folder with svamp/SVAMP.json and gsm8k/test.jsonl (default: the package's copy)")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--baseline-sample", type=int, default=300, help="programs timed for the slow baseline")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the halting corpus (best is kept)")
    args = parser.parse_args()
    cores = default_workers()
    halting = corpus(args.data_dir)
    mixed, n_loops = with_non_halting(halting)

    with Executor(timeout=args.timeout) as executor:
        start = time.perf_counter()
        executor.run(["ans = 1"] * cores * 2 + [f"ans = {i}" for i in range(cores * 2)])
        startup = time.perf_counter() - start
        ours = min(_timed(executor.run, halting) for _ in range(args.repeats))
        ours_mixed = _timed(executor.run, mixed)
        restarts = executor.restarts
    bare = min(exec_with_alarm(halting, args.timeout) for _ in range(args.repeats))
    sample = halting[: args.baseline_sample]
    per_process = process_per_program(sample, args.timeout, cores) * len(halting) / len(sample)

    rate = len(halting) / ours
    expected_mixed = n_loops * args.timeout / cores + ours
    print(f"cores: {cores}, halting programs: {len(halting)}, timeout: {args.timeout:g}s, pool start-up: {startup:.2f}s")
    print(f"{'executor':<22}{'programs/s':>12}{'vs process-per-program':>25}")
    for name, seconds in (("mixdistill", ours), ("process-per-program", per_process), ("exec+alarm (unsafe)", bare)):
        print(f"{name:<22}{len(halting) / seconds:>12,.0f}{per_process / seconds:>24.1f}x")
    print(f"mixdistill / exec+alarm: {bare / ours:.2f}")
    print(
        f"with {n_loops} non-halting programs ({n_loops / len(mixed):.2%}): {ours_mixed:.2f}s, "
        f"expected about {expected_mixed:.2f}s (non-halting x timeout / cores + halting work), "
        f"ratio {ours_mixed / expected_mixed:.2f}; workers replaced: {restarts}"
    )
    print(f"target: >= 7,000 halting programs/s ({'met' if rate >= 7000 else 'NOT met'}), "
          f">= 10x process-per-program ({'met' if per_process / ours >= 10 else 'NOT met'})")


def _timed(run, programs: list[str]) -> float:
    start = time.perf_counter()
    run(programs)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
