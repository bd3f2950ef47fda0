"""The PoT executor on real processes: answer conventions, outcomes, clean state, the result protocol,
the required layers, real data. Attacks on the sandbox are in test_executor_hostile.py."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mixdistill_plugin import containment
from mixdistill_plugin.answers import answers_equal, parse_number
from mixdistill_plugin.cli import main
from mixdistill_plugin.executor import Executor, Outcome, parse_result, template_kind
from mixdistill_plugin.template import OVERSIZED, TIMED_OUT


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
        ("ans = 'no number'", "no_answer", ""),
        ("ans = float('nan')", "no_answer", ""),
        ("ans = 1 / 0", "error", "ZeroDivisionError"),
        ("ans = = 2", "error", "SyntaxError"),
        ("ans = undefined_name", "error", "NameError"),
        ("import socket", "error", "ModuleNotFoundError"),  # not loaded in the template, and no file can be read
        ("while True:\n    pass", "timeout", "over 1s"),
        ("ans = open('/etc/hostname').read()", "blocked", "PermissionError: [Errno 1] Operation not permitted: '/etc/hostname'"),
        ("import os\nos._exit(0)", "error", "exited without a result"),
        ("import os\nos._exit(7)", "error", "exit status 7"),
        ("import os, signal\nsignal.signal(signal.SIGSEGV, signal.SIG_DFL)\nimport ctypes\nctypes.string_at(0)",
         "error", "killed by SIGSEGV"),
    ],
)
def test_outcomes(executor, program, status, detail):
    outcome = executor.run_one(program)
    assert (outcome.status, outcome.detail) == (status, detail)
    assert outcome.answer is None


@pytest.mark.parametrize(
    "program, kind",
    [("ans = 2 + 2", "light"), ("import math\nans = math.pi", "base"), ("m = __import__('math')", "base"),
     ("import numpy as np", "sci"), ("from sympy import solve", "sci")],
)
def test_a_program_goes_to_the_lightest_template_that_has_its_imports(program, kind):
    assert template_kind(program) == kind


def test_every_program_starts_from_the_template_s_state():
    """Whatever one program changes in its process, the next program on the same template never sees it."""
    tamper = [
        "import math\nmath.pi = 3\nans = math.pi",
        "import builtins\nbuiltins.float = lambda *a: 666.0\nans = 1",
        "import sys\nsys.setrecursionlimit(25)\nans = 1",
        "import fractions\nfractions.Fraction.__add__ = lambda a, b: 666\nans = 1",
        "import collections\ncollections.Counter = dict\nans = 1",
        "import decimal\ndecimal.getcontext().prec = 1\nans = 1",
        "import sys\nsys.modules['math'] = None\nans = 1",
        "import atexit\natexit.register(print, 666)\nans = 1",
        "import random\nrandom.seed(666)\nans = 1",
    ]
    normal = [
        "import math\nans = math.pi",
        "ans = float('2.5') * 2",
        "def f(n):\n    return n if n == 0 else f(n - 1)\nans = f(100) + 7",
        "from fractions import Fraction\nans = Fraction(1, 2) + Fraction(1, 4)",
        "import collections\nans = collections.Counter('aab')['a']",
        "from decimal import Decimal\nans = Decimal(1) / Decimal(8)",
    ]
    with Executor(workers=1) as ex:
        outcomes = ex.run(tamper + normal)
    assert [o.answer for o in outcomes[len(tamper):]] == pytest.approx([3.14159265, 5, 7, 0.75, 2, 0.125])


def test_each_non_halting_program_costs_one_timeout_and_stalls_nothing():
    loops = ["while True:\n    pass  # %d" % i for i in range(3)]
    programs = loops[:1] + [f"ans = {i}" for i in range(100)] + loops[1:]
    with Executor(timeout=0.5, workers=1) as ex:
        ex.run(["ans = 0"])  # start the template
        start = time.monotonic()
        outcomes = ex.run(programs)
        elapsed = time.monotonic() - start
    assert [o.status for o in outcomes].count("timeout") == 3
    assert [o.answer for o in outcomes[1:101]] == list(range(100))
    assert elapsed >= 3 * 0.5  # one template: each loop costs its timeout, one after the other


def test_a_program_text_over_the_limits_is_refused_before_any_template():
    from mixdistill_plugin.executor import MAX_PROGRAM_BYTES, MAX_PROGRAM_LINES

    oversized = ["x = 1\n" * 7_000_000, "s = '" + "a" * 30_000_000 + "'", "x=1\n" * MAX_PROGRAM_LINES,
                 "s = '" + "\u00e9" * (MAX_PROGRAM_BYTES // 2 + 1) + "'"]
    programs = [p for big in oversized for p in (big, f"ans = {len(big) % 97}")]
    with Executor(workers=1) as ex:
        outcomes = ex.run(programs)
        assert ex.restarts == 0
    details = [o.detail for o in outcomes[::2]]
    assert details == [f"ProgramTooLong: over {MAX_PROGRAM_BYTES} bytes"] * 2 + [
        f"ProgramTooLong: over {MAX_PROGRAM_LINES} lines", f"ProgramTooLong: over {MAX_PROGRAM_BYTES} bytes"]
    assert all(o.status == "error" for o in outcomes[::2])
    assert [o.answer for o in outcomes[1::2]] == [len(big) % 97 for big in oversized]


def test_a_template_that_dies_is_charged_to_the_program_it_was_running_alone():
    """The template is killed twice while the first program runs: that program gets the error, the
    others of its chunk (never started) their answers."""
    import os
    import threading

    slow = "x = 0\nwhile x < 10 ** 8:\n    x += 1\nans = 1"
    killed: list[int] = []

    def kill_while_the_slow_program_runs(ex: Executor) -> None:
        deadline = time.monotonic() + 60
        while len(killed) < 2 and time.monotonic() < deadline:
            for template in list(ex._templates):
                if template.chunk and template.chunk[0] == 0 and template.proc.pid not in killed:
                    time.sleep(0.3)
                    killed.append(template.proc.pid)
                    os.killpg(template.proc.pid, signal.SIGKILL)
            time.sleep(0.01)

    with Executor(timeout=10.0, workers=1) as ex:
        killer = threading.Thread(target=kill_while_the_slow_program_runs, args=(ex,))
        killer.start()
        outcomes = ex.run([slow, "ans = 2", "ans = 3", "print(4)"])
        killer.join()
        assert ex.restarts == 2
    assert len(killed) == 2
    assert (outcomes[0].status, outcomes[0].detail) == ("error", "its sandbox process failed")
    assert [o.answer for o in outcomes[1:]] == [2, 3, 4]


@pytest.mark.parametrize("program", [
    "ans = sum(range(10**12))",  # stuck in C: the timer cannot interrupt it
    "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
    "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
])
def test_a_program_that_defeats_its_timer_is_killed(program):
    with Executor(timeout=0.5, workers=1, grace=0.3) as ex:
        outcomes = ex.run([program, "ans = 3", "ans = 4"])
        assert ex.restarts == 0  # the template killed the child; it did not need replacing itself
    assert outcomes[0].status == "timeout" and "killed" in outcomes[0].detail
    assert [o.answer for o in outcomes[1:]] == [3, 4]


@pytest.mark.parametrize(
    "raw, detail",
    [
        (b'["answer", 1e999, "", ""]', "unexpected result"),  # infinity
        (b'["answer", NaN, "", ""]', "malformed result"),
        (b'["answer", ' + b"9" * 5000 + b', "", ""]', "malformed result"),  # past Python's digit limit
        (b'["answer", ' + b"9" * 400 + b', "", ""]', "unexpected result"),  # too large for a float
        (b"[" * 100_000 + b"]" * 100_000, "malformed result"),
        (b'["answer", 1, "", ""]["answer", 2, "", ""]', "malformed result"),  # a second, forged frame
        (b'["answer", 1, "", ""]\n["answer", 2, "", ""]', "malformed result"),
        (b'["answer", true, "", ""]', "unexpected result"),
        (b'["answer", 1, "", "", "extra"]', "unexpected result"),
        (b'["nonsense", 1, "", ""]', "unexpected result"),
        (b'["error", 5, "", ""]', "unexpected result"),
        (b'{"status": "answer"}', "unexpected result"),
        (b"\xff\xfe not utf-8", "malformed result"),
    ],
)
def test_the_executor_trusts_nothing_a_child_wrote(raw, detail):
    assert parse_result(0, 0, raw, 1.0) == Outcome("protocol_error", None, detail)


def test_results_are_read_strictly_and_cleaned():
    assert parse_result(0, 0, b'["answer", "The answer is 1,080.", "", ""]', 1.0).answer == 1080
    assert parse_result(0, 0, b'["answer", "no number", "", ""]', 1.0).status == "no_answer"
    cleaned = parse_result(0, 0, b'["no_answer", null, "", "\\ud800 7"]', 1.0)
    assert cleaned.output == "\\ud800 7"  # a lone surrogate comes back as text that encodes
    cleaned.output.encode("utf-8")
    assert parse_result(0, OVERSIZED, b"x", 1.0).status == "protocol_error"
    assert parse_result(-signal.SIGKILL, TIMED_OUT, b"", 1.0).status == "timeout"


def test_a_child_that_forges_results_changes_only_its_own(tmp_path):
    forge = ("import os\nfor fd in range(64):\n    try:\n        os.write(fd, b'\\x00\\x00\\x00\\x14R\\x00\\x00' + b'[\"answer\", 666, \"\", \"\"]' * 3)\n"
             "    except OSError:\n        pass\nans = 1")
    with Executor(workers=1) as ex:
        outcomes = ex.run([forge] + [f"ans = {i}" for i in range(20)])
    assert outcomes[0].status == "protocol_error"
    assert [o.answer for o in outcomes[1:]] == list(range(20))


def test_without_seccomp_the_executor_refuses_unless_allowed(monkeypatch):
    def unavailable():
        raise OSError("libseccomp.so.2: cannot open shared object file")

    monkeypatch.setattr(containment, "seccomp_programs", unavailable)
    monkeypatch.delenv(containment.WEAK_ENV, raising=False)
    with pytest.raises(containment.SandboxUnavailable) as refused:
        with Executor(workers=1) as ex:
            ex.run(["ans = 1"])
    message = str(refused.value)
    assert "seccomp unavailable" in message and "libseccomp.so.2" in message
    with Executor(workers=2) as ex:  # asking again, or on another template, never runs a program
        for _ in range(3):
            with pytest.raises(containment.SandboxUnavailable):
                ex.run(["import os\nos.write(2, b'ran')\nans = 1"] + [f"ans = {i}" for i in range(100)])
        assert ex.layers.below_minimum() == ["seccomp"]
    assert "--allow-weak-sandbox" in message and containment.WEAK_ENV in message
    monkeypatch.setenv(containment.WEAK_ENV, "1")
    with Executor(workers=1) as ex:
        assert ex.run_one("ans = 6 * 7").answer == 42
        assert ex.layers.below_minimum() == ["seccomp"] and ex.layers.landlock > 0


def test_score_says_what_is_missing_and_how_to_opt_in(monkeypatch, tmp_path):
    monkeypatch.setattr(containment, "seccomp_programs", lambda: (_ for _ in ()).throw(OSError("no libseccomp")))
    monkeypatch.delenv(containment.WEAK_ENV, raising=False)
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"id": 1, "answer": 4, "pot": ["ans = 2 + 2"]}\n')
    refused = CliRunner().invoke(main, ["score", str(predictions)])
    assert refused.exit_code == 2 and "seccomp unavailable" in refused.output and "Traceback" not in refused.output
    allowed = CliRunner().invoke(main, ["--allow-weak-sandbox", "score", str(predictions), "--json"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.output.strip().splitlines()[-1])["pot_acc"] == 100


def test_doctor_lists_the_layers_in_force():
    result = subprocess.run([str(Path(sys.executable).parent / "mixdistill"), "doctor"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for layer in containment.LAYER_STOPS:
        assert layer in result.stdout
    assert "active   seccomp" in result.stdout and "test program: answer 42.0" in result.stdout


def test_no_process_outlives_a_killed_scorer(tmp_path):
    """SIGKILL the scoring process mid-program: its templates and their children go with it."""
    script = (
        "import sys, time\nfrom mixdistill_plugin.executor import Executor\n"
        "ex = Executor(timeout=60, workers=1).start()\nprint(ex._templates[0].proc.pid, flush=True)\n"
        "ex.run(['while True:\\n    pass'])\n"
    )
    scorer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    template = int(scorer.stdout.readline())
    deadline = time.monotonic() + 10
    children: list[int] = []
    while not children and time.monotonic() < deadline:
        children = [int(pid) for pid in Path(f"/proc/{template}/task/{template}/children").read_text().split()]
        time.sleep(0.05)
    assert children, "the program never started"
    scorer.kill()
    scorer.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in [template, *children]):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in [template, *children])


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_every_svamp_equation_scores_against_its_answer(data, executor):
    problems = json.loads((data / "svamp" / "SVAMP.json").read_text())
    outcomes = executor.run([f"ans = {p['Equation']}" for p in problems])
    wrong = [p["ID"] for p, o in zip(problems, outcomes) if not answers_equal(o.answer, float(p["Answer"]))]
    # chal-680 is an error in SVAMP itself: 4 - 2 + 3 apples, Equation (4 - 2) + 3, Answer 1.0
    assert wrong == ["chal-680"]
    assert len(problems) == 1000


@pytest.mark.slow  # over 4,000 sandboxed programs
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


def test_the_executor_docs_name_every_layer_and_only_those():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "executor.md").read_text()
    table = docs.split("| layer | what it stops |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1].strip().removesuffix(" (required)") for line in table.strip().splitlines()[1:]]
    assert sorted(rows) == sorted(containment.LAYER_STOPS)
    assert containment.REQUIRED == ("seccomp",) and "seccomp (required)" in table
