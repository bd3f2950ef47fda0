"""The PoT executor on real processes: answer conventions, outcomes, containment, real data."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

import pytest

from mixdistill_plugin.answers import answers_equal, parse_number
from mixdistill_plugin.executor import Executor

MARKER = "MIXDISTILL_HOSTILE_MARKER"


@pytest.mark.parametrize(
    "program, answer",
    [
        ("ans = 6 * 7", 42),
        ("answer = 5", 5),
        ("result = 2.5", 2.5),
        ("def solution():\n    return 3 / 4", 0.75),
        ("def solution():\n    print('x')\n    return 9\nprint(solution())", 9),
        ("print('working')\nprint(12)", 12),
        ("print('The answer is 18')", 18),
        ("```python\nans = 11\n```", 11),
        ("Here is the program:\n```py\nx = 4\nans = x * 2\n```\nIt prints nothing.", 8),
        ("\nanswer = 25\n```", 25),  # a stray closing fence, as small models write
        ("from fractions import Fraction\nans = Fraction(1, 8)", 0.125),
        ("import math\nans = math.ceil(14 / 5)", 3),
        ("from sympy import Symbol, solve\nx = Symbol('x')\nans = solve(3 * x - 12, x)", 4),
        ("import numpy as np\nans = np.array([1, 2, 3]).sum()", 6),
        ("from decimal import Decimal\nans = Decimal('2.50') * 4", 10),
        ("def main():\n    print(7)\n\nif __name__ == '__main__':\n    main()", 7),
        ("print(5)\nexit()", 5),
    ],
)
def test_answer_conventions(executor, program, answer):
    outcome = executor.run_one(program)
    assert outcome.status == "answer", outcome
    assert outcome.answer == pytest.approx(answer)


@pytest.mark.parametrize(
    "program, status, detail",
    [
        ("x = 1", "no_answer", ""),
        ("print('no digits here')", "no_answer", ""),
        ("ans = 1 / 0", "error", "ZeroDivisionError"),
        ("ans = = 2", "error", "SyntaxError"),
        ("ans = undefined_name", "error", "NameError"),
        ("while True:\n    pass", "timeout", "over 1s"),
        ("import os", "blocked", "import os"),
    ],
)
def test_outcomes(executor, program, status, detail):
    outcome = executor.run_one(program)
    assert (outcome.status, outcome.detail) == (status, detail)
    assert outcome.answer is None


def test_module_changes_do_not_leak_between_programs():
    with Executor(workers=1) as ex:
        first, second = ex.run(["import math\nmath.pi = 3\nans = math.pi", "import math\nans = math.pi"])
    assert first.answer == 3 and second.answer == pytest.approx(3.14159265)


def test_each_non_halting_program_costs_one_timeout_and_stalls_nothing():
    loops = ["while True:\n    pass  # %d" % i for i in range(3)]
    programs = loops[:1] + [f"ans = {i}" for i in range(100)] + loops[1:]
    with Executor(timeout=0.5, workers=1) as ex:
        ex.run(["ans = 0"])  # start the worker
        start = time.monotonic()
        outcomes = ex.run(programs)
        elapsed = time.monotonic() - start
    assert [o.status for o in outcomes].count("timeout") == 3
    assert [o.answer for o in outcomes[1:101]] == list(range(100))
    assert elapsed >= 3 * 0.5  # one worker: each loop costs its timeout, one after the other


def test_a_worker_stuck_in_c_code_is_killed_and_replaced():
    with Executor(timeout=0.5, workers=1, grace=0.3) as ex:
        outcomes = ex.run(["ans = sum(range(10**12))", "ans = 3", "ans = 4"])
        assert ex.restarts == 1
    assert outcomes[0].status == "timeout" and "killed" in outcomes[0].detail
    assert [o.answer for o in outcomes[1:]] == [3, 4]


def _hostile_corpus(canary: Path, port: int) -> list[tuple[str, str, str]]:
    """(name, program, expected status) for programs that try to get out of the sandbox."""
    esc = "import random\nos = random._os\n"  # a real `os` reached through an allowed module
    real = "import fractions\nsys = fractions.sys\nb = sys.modules['builtins']\n"
    imp = real + "imp = sys.modules['_frozen_importlib']._gcd_import\n"  # imports past __import__
    shell = f"sh -c 'sleep 60; echo {MARKER}'"
    return [
        ("infinite loop", "while True:\n    pass", "timeout"),
        ("memory bomb", "x = bytearray(16 * 1024 ** 3)", "error"),
        ("memory creep", "x = []\nwhile True:\n    x.append(bytearray(10 ** 8))", "error"),
        ("fork bomb", "import os\nwhile True:\n    os.fork()", "blocked"),
        ("fork bomb via random._os", esc + "while True:\n    os.fork()", "blocked"),
        ("os.system", esc + f'os.system("{shell}")', "blocked"),
        ("subprocess", f"import subprocess\nsubprocess.Popen({shell!r}, shell=True)", "blocked"),
        ("subprocess via exec", real + f"b.exec({f'import subprocess; subprocess.Popen({shell!r}, shell=True)'!r}, {{}})", "blocked"),
        ("subprocess via importlib", imp + f"imp('subprocess').Popen({shell!r}, shell=True)", "blocked"),
        ("write a file", f"open({str(canary.parent / 'new.txt')!r}, 'w').write('x')", "blocked"),
        ("write a file via real open", real + f"b.open({str(canary.parent / 'new.txt')!r}, 'w').write('x')", "blocked"),
        ("truncate a file via os.open", esc + f"os.open({str(canary)!r}, os.O_WRONLY | os.O_TRUNC)", "blocked"),
        ("delete a file", esc + f"os.remove({str(canary)!r})", "blocked"),
        ("delete a folder", esc + f"os.rmdir({str(canary.parent)!r})", "blocked"),
        ("socket import", f"import socket\nsocket.create_connection(('127.0.0.1', {port}))", "blocked"),
        ("socket via exec", real + f"b.exec(\"import socket; socket.create_connection(('127.0.0.1', {port}))\", {{}})", "blocked"),
        ("socket via importlib", imp + f"imp('socket').create_connection(('127.0.0.1', {port}))", "blocked"),
        ("sys.exit", "import sys\nsys.exit(3)", "blocked"),
        ("sys.exit reached anyway", real + "sys.exit(3)", "no_answer"),
        ("raise SystemExit", "raise SystemExit(1)", "no_answer"),
        ("os._exit", esc + "os._exit(7)", "error"),
        ("kill the parent", esc + "os.kill(os.getppid(), 9)", "blocked"),
        ("output flood", "while True:\n    print('flood ' * 1000)", "timeout"),
        ("one huge print", "print('y' * 10 ** 8)", "no_answer"),
        ("deep recursion", "def f(n):\n    return f(n + 1)\nans = f(0)", "error"),
        ("deeply nested repr", "x = []\nfor _ in range(10 ** 6):\n    x = [x]\nans = repr(x)", "error"),
        ("signal import", "import signal\nsignal.alarm(0)", "blocked"),
        ("signal tampering", real + "s = sys.modules['signal']\ns.signal(s.SIGALRM, s.SIG_IGN)\nwhile True:\n    pass", "timeout"),
        ("timer tampering", real + "s = sys.modules['signal']\ns.setitimer(s.ITIMER_REAL, 0)\nwhile True:\n    pass", "timeout"),
        ("__import__", "__import__('os').system('true')", "blocked"),
        ("importlib", "import importlib\nimportlib.import_module('os')", "blocked"),
        ("builtins module", "import builtins\nbuiltins.open('/etc/passwd')", "blocked"),
        ("__builtins__ dict", "__builtins__['__import__']('os')", "blocked"),
        ("getattr dunder", "getattr(getattr, '__self__')", "blocked"),
        ("subclasses walk", "print(().__class__.__base__.__subclasses__())", "blocked"),
        ("frame walk", "def f():\n    raise ValueError\ntry:\n    f()\nexcept ValueError as e:\n    g = e.__traceback__.tb_frame.f_back.f_globals", "blocked"),
        ("eval", "eval(\"__import__('os')\")", "blocked"),
        ("read /etc/passwd", "ans = open('/etc/passwd').read()", "blocked"),
        ("read /etc/passwd via real open", real + "ans = b.open('/etc/passwd').read()", "blocked"),
        ("list /", esc + "ans = len(os.listdir('/'))", "blocked"),
        ("ctypes", imp + "imp('ctypes').CDLL(None)", "blocked"),
    ]


def _marker_processes() -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def test_hostile_programs_are_contained(tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("intact")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    corpus = _hostile_corpus(canary, listener.getsockname()[1])
    with Executor(timeout=1.0, workers=2, memory_mb=512) as ex:
        outcomes = ex.run([program for _, program, _ in corpus])
        got = {name: (o.status, o.detail) for (name, _, _), o in zip(corpus, outcomes)}
        expected = {name: status for name, _, status in corpus}
        assert {n: s for n, (s, _) in got.items()} == expected, got
        # afterwards the same executor still scores a normal batch correctly
        assert [o.answer for o in ex.run([f"ans = {i} * 2" for i in range(50)])] == [i * 2 for i in range(50)]
    assert got["os._exit"][1].startswith("WorkerDied")
    assert got["memory bomb"][1] == "MemoryError"
    assert got["socket via exec"][1] == "import socket"  # exec(code, {}) inherits the restricted builtins
    assert got["socket via importlib"][1].startswith("socket.")
    assert got["subprocess via importlib"][1] == "subprocess.Popen"
    assert got["ctypes"][1] == "ctypes.dlopen"
    assert got["read /etc/passwd via real open"][1] == "open '/etc/passwd'"
    assert len(outcomes[[n for n, _, _ in corpus].index("one huge print")].output) <= 16_384
    assert canary.read_text() == "intact"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary.txt"]
    assert _marker_processes() == []
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


def test_every_svamp_equation_scores_against_its_answer(data, executor):
    problems = json.loads((data / "svamp" / "SVAMP.json").read_text())
    outcomes = executor.run([f"ans = {p['Equation']}" for p in problems])
    wrong = [p["ID"] for p, o in zip(problems, outcomes) if not answers_equal(o.answer, float(p["Answer"]))]
    # chal-680 is an error in SVAMP itself: 4 - 2 + 3 apples, Equation (4 - 2) + 3, Answer 1.0
    assert wrong == ["chal-680"]
    assert len(problems) == 1000


def test_gsm8k_calculator_annotations_reproduce_their_values(data, executor):
    annotations = []
    for line in (data / "gsm8k" / "test.jsonl").read_text().splitlines():
        annotations += re.findall(r"<<([^=<>]*)=([^<>]*)>>", json.loads(line)["answer"])
    outcomes = executor.run([f"ans = {expr}" for expr, _ in annotations])
    mismatched = []
    for (expr, shown), outcome in zip(annotations, outcomes):
        value = parse_number(shown)
        decimals = len(shown.partition(".")[2].rstrip("%")) if "." in shown else 0
        # the annotation shows the value rounded to the decimals it prints
        if outcome.answer is None or abs(outcome.answer - value) > 0.5 * 10 ** -decimals + 1e-9:
            mismatched.append((expr, shown, outcome))
    assert len(annotations) > 4000
    assert mismatched == []
