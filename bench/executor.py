"""What containment costs: the PoT executor against baselines measured in the same run.

    .venv/bin/python bench/executor.py [--data-dir DIR] [--timeout 1.0]

Corpus: every SVAMP equation as ``ans = <Equation>``, every GSM8K test solution's calculator
chain as a multi-line program, and the 799 Codex programs of the Program of Thoughts paper for
SVAMP train that the package ships (3,100 programs), plus 4 that never halt (the share seen in real
model output). Two measurements:

1. Programs per second in a warm pool, halting programs only:
   - ``mixdistill``: the project's :class:`Executor` (one template per core, a fresh contained
     process per program);
   - ``fork floor``: a bare ``python -I -S`` per core doing nothing but fork, exit and wait (the
     most any fork-per-program design could reach here);
   - ``pebble pool``: worker processes reused from program to program with no isolation, as
     ToRA-style executors do (``pebble.ProcessPool``, one worker per core);
   - ``process-per-program``: a fresh ``python -I`` per program (a sample, scaled);
   - ``exec+alarm``: bare in-process ``exec`` (unsafe; the limit).

   For the project's pool, where its CPU goes: per program, the templates' and their children's
   user and system time and minor page faults (Linux ``/proc``), the scorer's own, and how busy the
   cores were (``--workers`` sets the number of templates; default one per core).
2. The whole command as a user runs it, on the same file with the non-halting programs:
   ``mixdistill score FILE --json`` against two scorers on a pebble pool, both with the same
   per-program timeout: a minimal one (``--pebble-score FILE``: ``exec`` in a reused worker and
   nothing else) and one built the way ToRA's executor is (``--tora-score FILE``: a text check, an
   in-worker timer, the answer checked to print and pickle, a runtime object sent with every task,
   ``pool.map`` with the pool's timeout as well).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mixdistill_plugin.data import SHIPPED
from mixdistill_plugin.executor import Executor, default_workers
from procstat import busy_ticks, process_stat

NON_HALTING = (
    "while True:\n    pass",
    "n = 1\nwhile n > 0:\n    n += 1",
    "total = 0\nfor i in iter(int, 1):\n    total += i",
    "import math\nx = 0\nwhile math.isfinite(x):\n    x = x % 7 + 1",
)
_CALC = re.compile(r"<<([^=<>]*)=[^<>]*>>")
_HARNESS = (
    "import sys\nsrc = sys.stdin.read()\nns = {}\n"
    "try:\n    exec(src, ns)\n    print(repr(ns.get('ans')))\nexcept BaseException as e:\n    print(type(e).__name__)\n"
)
_FORK_FLOOR = (
    "import os, sys, time\nn = int(sys.argv[1])\nstart = time.perf_counter()\n"
    "for _ in range(n):\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n"
    "print(time.perf_counter() - start)\n"
)


def corpus(data_dir: Path) -> list[tuple[str, float]]:
    """(program, gold answer) for every SVAMP equation, every GSM8K test calculator chain and every
    shipped Codex program."""
    svamp = json.loads((data_dir / "svamp" / "SVAMP.json").read_text())
    programs = [(f"ans = {p['Equation'].strip()}", float(p["Answer"])) for p in svamp]
    gold = {p["ID"]: float(p["Answer"]) for p in svamp}
    with gzip.open(SHIPPED / "recordings" / "svamp_codex_pot.jsonl.gz", "rt", encoding="utf-8") as handle:
        programs += [(row["text"], gold[row["id"]]) for row in map(json.loads, handle)]
    for line in (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines():
        row = json.loads(line)
        steps = _CALC.findall(row["answer"])
        if steps:
            body = [f"step_{i} = {expr}" for i, expr in enumerate(steps)]
            gold = float(row["answer"].rsplit("####", 1)[1].replace(",", ""))
            programs.append(("\n".join(body + [f"ans = step_{len(steps) - 1}"]), gold))
    return programs


def with_non_halting(programs: list[tuple[str, float]]) -> list[tuple[str, float]]:
    mixed = list(programs)
    step = len(mixed) // len(NON_HALTING)
    for i, loop in enumerate(NON_HALTING):
        mixed.insert(i * step + step // 2, (loop, 0.0))
    return mixed


def fork_floor(cores: int, per_core: int = 3000) -> float:
    """Forks per second of ``cores`` bare interpreters forking at once."""
    procs = [subprocess.Popen([sys.executable, "-I", "-S", "-c", _FORK_FLOOR, str(per_core)], stdout=subprocess.PIPE,
                              text=True) for _ in range(cores)]
    seconds = max(float(p.communicate()[0]) for p in procs)
    return cores * per_core / seconds


def _pebble_run(program: str) -> object:
    """Run one program in a reused pool worker, as ToRA-style executors do: ``ans`` or the last printed line."""
    import contextlib
    import io

    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(program, namespace)
    lines = out.getvalue().strip().splitlines()
    return namespace.get("ans", lines[-1] if lines else None)


def pebble_pool(programs: list[str], timeout: float, workers: int) -> list[object]:
    from pebble import ProcessPool

    with ProcessPool(max_workers=workers) as pool:
        futures = [pool.schedule(_pebble_run, args=(p,), timeout=timeout) for p in programs]
        results = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # the program's error, or the pool's timeout
                results.append(type(exc).__name__)
    return results


def _print_score(rows: list[dict], values: list[object]) -> None:
    correct = 0
    for row, value in zip(rows, values):
        try:
            correct += abs(float(value) - row["answer"]) <= 1e-4 * max(1.0, abs(row["answer"]))
        except (TypeError, ValueError):
            pass
    print(json.dumps({"n": len(rows), "pot_acc": 100 * correct / len(rows)}))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def pebble_score(path: Path, timeout: float) -> None:
    """A minimal scorer on a pebble pool: what `mixdistill score` does for PoT, without isolation."""
    rows = _rows(path)
    _print_score(rows, pebble_pool([row["pot"][0] for row in rows], timeout, default_workers()))


class _Runtime:
    """The globals a ToRA-style executor starts each program from; it travels, pickled, with every task."""

    def __init__(self) -> None:
        self.globals: dict = {}


def _expire(signum: int, frame: object) -> None:
    raise TimeoutError


def _tora_run(program: str, runtime: _Runtime, timeout: float) -> tuple[object, str]:
    """One program as ToRA's executor runs it in a reused worker: a text check for ``input(`` and
    ``os.system(``, an in-process timer around ``exec`` in a copy of the runtime's globals, a check
    that the answer prints and pickles, and the traceback's last line as the report of a failure."""
    import copy
    import pickle
    import traceback

    namespace = copy.copy(runtime.globals)
    try:
        if re.search(r"\binput\(|os\.system\(", program):
            raise RuntimeError("refused")
        signal.signal(signal.SIGALRM, _expire)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(program, namespace)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        result = namespace["ans"]
        str(result)
        pickle.dumps(result)
        return result, "Done"
    except Exception:
        return "", traceback.format_exc().splitlines()[-1]


def tora_score(path: Path, timeout: float) -> None:
    """A scorer on ToRA's executor design (the baseline the whole-command goal was set against): a
    pebble pool mapped over the programs with the pool's own timeout as well, results read in order."""
    import functools

    from pebble import ProcessPool

    rows = _rows(path)
    programs = [row["pot"][0] for row in rows]
    run = functools.partial(_tora_run, runtime=_Runtime(), timeout=timeout)
    outcomes: list[tuple[object, str]] = []
    with ProcessPool(max_workers=min(len(programs), default_workers())) as pool:
        results = pool.map(run, programs, timeout=timeout).result()
        while True:
            try:
                outcomes.append(next(results))
            except StopIteration:
                break
            except TimeoutError:
                outcomes.append(("", "Timeout Error"))
    _print_score(rows, [str(value).strip() for value, _ in outcomes])


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
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(program, {})
        except BaseException:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return time.perf_counter() - start


def _children() -> list[int]:
    return [int(pid) for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()]


def pool_split(executor: Executor, programs: list[str]) -> dict[str, float]:
    """One pass of ``programs`` through ``executor``'s warm templates: milliseconds of CPU a program
    (templates, their children, the scorer), minor faults a program, and the share of the cores busy."""
    templates = _children()
    before = [process_stat(pid) for pid in templates]
    own, busy = os.times(), busy_ticks()
    executor.run(programs)
    after = [process_stat(pid) for pid in templates]
    own_after, busy_after = os.times(), busy_ticks()
    spent = {name: sum(a[name] - b[name] for a, b in zip(after, before)) for name in before[0]}
    per = 1000 / len(programs)
    return {"template user": spent["utime"] * per, "template sys": spent["stime"] * per,
            "children user": spent["cutime"] * per, "children sys": spent["cstime"] * per,
            "scorer": ((own_after.user - own.user) + (own_after.system - own.system)) * per,
            "template faults": spent["minflt"] / len(programs), "child faults": spent["cminflt"] / len(programs),
            "busy": (busy_after[0] - busy[0]) / max(busy_after[1] - busy[1], 1)}


def _timed(run, *args) -> float:
    start = time.perf_counter()
    run(*args)
    return time.perf_counter() - start


def _command_seconds(command: list[str], runs: int) -> tuple[float, str]:
    best, output = float("inf"), ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        best, output = min(best, time.perf_counter() - start), done.stdout.strip().splitlines()[-1]
    return best, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MIXDISTILL_DATA_DIR", SHIPPED)),
                        help="a folder with svamp/SVAMP.json and gsm8k/test.jsonl (default: the package's copy)")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--baseline-sample", type=int, default=300, help="programs timed for the slow baseline")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the halting corpus (best is kept)")
    parser.add_argument("--workers", type=int, help="templates of the project's pool (default: one per core)")
    parser.add_argument("--pebble-score", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tora-score", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pebble_score:
        return pebble_score(args.pebble_score, args.timeout)
    if args.tora_score:
        return tora_score(args.tora_score, args.timeout)
    cores = default_workers()
    halting = [program for program, _ in corpus(args.data_dir)]

    with Executor(timeout=args.timeout, workers=args.workers).start() as executor:
        executor.run([f"ans = {i}" for i in range(cores * 4)])
        ours = min(_timed(executor.run, halting) for _ in range(args.repeats))
        split = pool_split(executor, halting)
    floor = fork_floor(cores)
    pebble = min(_timed(pebble_pool, halting, args.timeout, cores) for _ in range(args.repeats))
    bare = min(exec_with_alarm(halting, args.timeout) for _ in range(args.repeats))
    sample = halting[: args.baseline_sample]
    per_process = process_per_program(sample, args.timeout, cores) * len(halting) / len(sample)

    rate = len(halting) / ours
    print(f"cores: {cores}, halting programs: {len(halting)}, timeout: {args.timeout:g}s")
    print(f"{'in a warm pool':<34}{'programs/s':>12}{'mixdistill is':>16}")
    print(f"{'mixdistill (fresh process each)':<34}{rate:>12,.0f}")
    print(f"  {args.workers or cores} templates; CPU a program, ms: templates {split['template user']:.2f} user + "
          f"{split['template sys']:.2f} sys, children {split['children user']:.2f} user + {split['children sys']:.2f} sys, "
          f"scorer {split['scorer']:.2f}; minor faults a program: template {split['template faults']:.0f}, "
          f"child {split['child faults']:.0f}; cores busy {100 * split['busy']:.0f}%")
    print(f"{'fork floor (fork+exit+wait only)':<34}{floor:>12,.0f}{rate / floor:>15.2f}x")
    for name, seconds in (("pebble pool (no isolation)", pebble), ("process-per-program", per_process),
                          ("exec+alarm (unsafe)", bare)):
        print(f"{name:<34}{len(halting) / seconds:>12,.0f}{seconds / ours:>15.2f}x")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "programs.jsonl"
        rows = with_non_halting(corpus(args.data_dir))
        path.write_text("".join(json.dumps({"id": i, "answer": gold, "pot": [program]}) + "\n"
                                for i, (program, gold) in enumerate(rows)))
        timeout = ["--timeout", str(args.timeout)]
        mixdistill = Path(sys.executable).parent / "mixdistill"
        score_s, score_out = _command_seconds([str(mixdistill), "score", str(path), "--json", *timeout], 2)
        pebble_s, pebble_out = _command_seconds([sys.executable, __file__, "--pebble-score", str(path), *timeout], 2)
        tora_s, tora_out = _command_seconds([sys.executable, __file__, "--tora-score", str(path), *timeout], 2)
    print(f"whole command on {len(rows)} programs ({len(NON_HALTING)} never halt):")
    for name, seconds, out in (("mixdistill score", score_s, score_out), ("minimal pebble scorer", pebble_s, pebble_out),
                               ("ToRA-style scorer", tora_s, tora_out)):
        print(f"  {name:<24}{seconds:6.2f}s  pot_acc {json.loads(out)['pot_acc']:.2f}")
    print(f"  mixdistill / minimal pebble {score_s / pebble_s:6.2f}")
    print(f"  mixdistill / ToRA-style     {score_s / tora_s:6.2f}")
    print(f"goals: >= 2,500 programs/s in a warm pool ({'met' if rate >= 2500 else 'NOT met'}); "
          f"whole score at parity with ToRA's executor, within 1.1x its time "
          f"({'met' if score_s <= 1.1 * tora_s else 'NOT met'})")


if __name__ == "__main__":
    main()
