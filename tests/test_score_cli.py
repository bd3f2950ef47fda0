"""`mixdistill score` through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mixdistill_plugin import executor as executor_module
from mixdistill_plugin.cli import main
from mixdistill_plugin.jsonl import write_jsonl_atomic

MIXDISTILL = Path(sys.executable).parent / "mixdistill"  # the installed console script

ROWS = [
    # CoT right on the first path; PoT wrong first, right by majority; mixed right
    {"id": 1, "answer": 18, "cot": ["3 + 15 = 18. The answer is 18.", "The answer is 17."],
     "pot": ["ans = 17", "ans = 9 * 2", "print(36 / 2)"]},
    # everything wrong or invalid; the program crashes
    {"id": "b", "answer": "1,080", "cot": ["I am not sure."], "pot": ["ans = 1 / 0"]},
    # only PoT paths: CoT counts as wrong for this item
    {"id": 3, "answer": 0.75, "pot": ["def solution():\n    return 3 / 4"]},
    # CoT and PoT disagree 2-2: the default vote (pot_first) gives the tie to the PoT answer, plain to the CoT one
    {"id": 4, "answer": 5, "cot": ["The answer is 5.", "#### 5"], "pot": ["ans = 6", "ans = 6.0"]},
]


def write(path, rows):
    """One line per row: a dict as JSON, a str as it is, bytes as they are (not necessarily UTF-8)."""
    lines = [r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r)).encode() for r in rows]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def strict_json_lines(path) -> list:
    """Every line of ``path`` read as UTF-8 and parsed as RFC 8259 JSON (no NaN or Infinity)."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    text = path.read_bytes().decode("utf-8")  # strict: fails on anything that is not UTF-8
    rows = [json.loads(line, parse_constant=refuse) for line in text.splitlines()]
    for row in rows:
        json.dumps(row, allow_nan=False).encode("utf-8")  # no lone surrogate in any string
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    return rows


def score(*args):
    return CliRunner().invoke(main, ["score", *map(str, args), "--workers", "1"])


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in ``tmp_path``, so that messages name ``p.jsonl`` as the tests write it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_json_figures_on_known_answers(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    result = CliRunner().invoke(main, ["score", str(preds), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "n": 4,
        "cot_acc": 50.0,   # items 1 and 4
        "pot_acc": 25.0,   # item 3
        "cot_maj": 50.0,   # 1 (tie 18/17 -> 18, first), 4
        "pot_maj": 50.0,   # 1, 3
        "mixed_maj": 50.0,  # 1, 3 (4: the 2-2 tie goes to PoT's 6)
    }
    plain = CliRunner().invoke(main, ["score", str(preds), "--json", "--vote", "plain"])
    assert json.loads(plain.stdout)["mixed_maj"] == 75.0  # 1, 3, 4: the tie goes to CoT's 5


def test_details_file(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    details = tmp_path / "d.jsonl"
    assert CliRunner().invoke(main, ["score", str(preds), "--details", str(details)]).exit_code == 0
    lines = strict_json_lines(details)
    assert [d["id"] for d in lines] == [1, "b", 3, 4]
    assert lines[0]["pot"][0]["status"] == "answer" and lines[0]["pot"][0]["answer"] == 17
    assert lines[1]["pot"][0] == {"status": "error", "answer": None, "detail": "ZeroDivisionError", "output": ""}
    assert lines[1]["cot"] == [{"answer": None, "shown": "[no answer]"}]
    assert lines[0]["votes"]["mixed"] == {"answer": 18, "votes": 3, "valid": 5, "agreement": 0.6}
    assert lines[3]["correct"] == {"cot_acc": True, "pot_acc": False, "cot_maj": True, "pot_maj": False, "mixed_maj": False}


def test_missing_kind_reports_none(tmp_path):
    preds = write(tmp_path / "p.jsonl", [{"id": 1, "answer": 2, "cot": ["The answer is 2."]},
                                         {"id": 2, "answer": 3, "cot": ["3"], "pot": None}])  # null: none
    out = json.loads(CliRunner().invoke(main, ["score", str(preds), "--json"]).stdout)
    assert out["pot_acc"] is None and out["pot_maj"] is None and out["cot_acc"] == 100.0


def test_table_output(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    result = CliRunner().invoke(main, ["score", str(preds)])
    assert "4 items" in result.stdout
    assert "mixed_maj   50.00" in result.stdout


DEEP = b"[" * 100_000  # Python's json raises RecursionError long before the end
FIX = "Fix the line, or pass --skip-invalid to leave it out"


@pytest.mark.parametrize(
    "bad_line, message",
    [
        # not JSON, or JSON that cannot be read
        (b'{"id": 2, "answer": 3, "cot": ["x"]', "p.jsonl:2: invalid JSON (Expecting ',' delimiter at column 36)"),
        (b'{"id": 2, "answer": 3, "cot": ["caf\xe9 3"]}', "p.jsonl:2: not valid UTF-8 text (byte 0xe9 at column 36)"),
        (b'\xff\xfe{"id": 2, "answer": 3}', "p.jsonl:2: not valid UTF-8 text (byte 0xff at column 1)"),
        (DEEP, "p.jsonl:2: JSON nested too deeply to read"),
        (b'{"id": 2, "answer": 3, "cot": ' + DEEP + b"]" * 100_000 + b"}", "p.jsonl:2: JSON nested too deeply to read"),
        (b'{"id": 2, "answer": 1' + b"0" * 5000 + b"}", "p.jsonl:2: a number with more than 4300 digits"),
        # valid JSON, but not an object
        (b"[1, 2]", "p.jsonl:2: expected a JSON object, got a list"),
        (b'"text"', "p.jsonl:2: expected a JSON object, got a string"),
        (b"3", "p.jsonl:2: expected a JSON object, got a number"),
        (b"null", "p.jsonl:2: expected a JSON object, got null"),
        # the id: required, a string or an integer, Unicode text, unique
        (b'{"answer": 3, "cot": ["The answer is 3."]}', "p.jsonl:2: field 'id': missing"),
        (b'{"id": null, "answer": 3}', "p.jsonl:2: field 'id': expected a string or an integer, got null"),
        (b'{"id": "  ", "answer": 3}', "p.jsonl:2: field 'id': empty; give every line its own id"),
        (b'{"id": 2.5, "answer": 3}', "p.jsonl:2: field 'id': expected a string or an integer, got a number"),
        (b'{"id": true, "answer": 3}', "p.jsonl:2: field 'id': expected a string or an integer, got a boolean"),
        (b'{"id": ["a"], "answer": 3}', "p.jsonl:2: field 'id': expected a string or an integer, got a list"),
        (b'{"id": "q\\ud800", "answer": 3}',
         "p.jsonl:2: field 'id': not valid Unicode: a lone surrogate \\ud800 at character 2"),
        (b'{"id": 1, "answer": 3}', "p.jsonl:2: field 'id': duplicate id 1, first on line 1"),
        (b'{"id": "1", "answer": 3}', "p.jsonl:2: field 'id': duplicate id '1', first on line 1 as 1 (ids compare as text)"),
        # the gold answer: a finite number
        (b'{"id": 2, "cot": ["The answer is 3."]}', "p.jsonl:2: field 'answer': missing"),
        (b'{"id": 2, "answer": "three"}', "p.jsonl:2: field 'answer': 'three' is not a number; a label answer needs its label set"),
        (b'{"id": 2, "answer": NaN}', "p.jsonl:2: field 'answer': expected a finite number, got NaN"),
        (b'{"id": 2, "answer": Infinity}', "p.jsonl:2: field 'answer': expected a finite number, got Infinity"),
        (b'{"id": 2, "answer": -Infinity}', "p.jsonl:2: field 'answer': expected a finite number, got -Infinity"),
        (b'{"id": 2, "answer": 1e400}', "p.jsonl:2: field 'answer': expected a finite number, got Infinity "
                                        "(or a number too large for a float)"),
        (b'{"id": 2, "answer": 1' + b"0" * 400 + b"}",
         "p.jsonl:2: field 'answer': expected a number, got a 401-digit integer, too large for a float"),
        (b'{"id": 2, "answer": "1e400"}', "p.jsonl:2: field 'answer': '1e400' is not a number"),
        (b'{"id": 2, "answer": "\\ud800 3"}',
         "p.jsonl:2: field 'answer': not valid Unicode: a lone surrogate \\ud800 at character 1"),
        (b'{"id": 2, "answer": [true]}', "p.jsonl:2: field 'answer': expected a number, got a list"),
        (b'{"id": 2, "answer": null}', "p.jsonl:2: field 'answer': expected a number, got null"),
        (b'{"id": 2, "answer": [3]}', "p.jsonl:2: field 'answer': expected a number, got a list"),
        # the texts: lists of Unicode strings
        (b'{"id": 2, "answer": 3, "cot": "The answer is 3."}',
         "p.jsonl:2: field 'cot': expected a list of strings, got a string; write ['The answer is 3.']"),
        (b'{"id": 2, "answer": 3, "pot": "print(1)"}',
         "p.jsonl:2: field 'pot': expected a list of strings, got a string; write ['print(1)']"),
        (b'{"id": 2, "answer": 3, "pot": {"0": "ans = 3"}}', "p.jsonl:2: field 'pot': expected a list of strings, got an object"),
        (b'{"id": 2, "answer": 3, "pot": [1]}', "p.jsonl:2: field 'pot.0': expected a string, got a number"),
        (b'{"id": 2, "answer": 3, "predict": [3]}', "p.jsonl:2: field 'predict.0': expected a string, got a number"),
        (b'{"id": 2, "answer": 3, "cot": ["The answer is 3.", "\\ud800 3"]}',
         "p.jsonl:2: field 'cot.1': not valid Unicode: a lone surrogate \\ud800 at character 1"),
        (b'{"id": 2, "answer": 3, "pot": ["ans = 3  # \\udfff"]}',
         "p.jsonl:2: field 'pot.0': not valid Unicode: a lone surrogate \\udfff at character 12"),
        (b'{"id": 2, "answer": 3, "\\ud800": 1}',
         "p.jsonl:2: field name '\\ud800' is not valid Unicode: a lone surrogate \\ud800 at character 1"),
        (b'{"id": 2, "answer": 3, "socratic": ["How many? ** \\udc80 3"]}',
         "p.jsonl:2: field 'socratic.0': not valid Unicode: a lone surrogate \\udc80 at character 14"),
    ],
)
def test_bad_input_names_line_and_field(here, bad_line, message):
    preds = write(Path("p.jsonl"), [ROWS[0], bad_line, ROWS[2]])
    result = score(preds, "--json")
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert f"Error: {message}" in result.stderr
    assert result.stderr.rstrip().endswith(FIX)
    assert result.stdout == ""  # nothing scored, nothing half-written
    skipped = score(preds, "--json", "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert json.loads(skipped.stdout) == {"n": 2, "cot_acc": 50.0, "pot_acc": 50.0, "cot_maj": 50.0,
                                          "pot_maj": 100.0, "mixed_maj": 100.0, "skipped": 1}  # lines 1 and 3
    assert f"skipped {message}" in skipped.stderr
    assert "p.jsonl: skipped 1 invalid line, scoring the other 2" in skipped.stderr


def test_skip_invalid_lists_every_bad_line_and_scores_the_rest(here):
    preds = write(Path("p.jsonl"), [
        b'{"id": 1, "answer": 2, "cot": ["caf\xc3\xa9: the answer is 2"]}',  # UTF-8 is fine
        b'{"id": 2, "answer": 2, "cot": ["caf\xe9"]}',  # Latin-1
        DEEP,
        b"",  # blank lines are not lines to score
        b'{"id": 1, "answer": 2, "cot": ["The answer is 2."]}',
        b'{"id": 5, "answer": NaN, "cot": ["The answer is 2."]}',
        b'{"id": 6, "answer": 2, "cot": ["\\ud800"]}',
        b'{"id": 7, "answer": 4, "pot": ["ans = 4"], "note": NaN}',  # other fields are not used
        b'{"id": 8, "answer": 4, "x\\udc00": 1}',
    ])
    result = score(preds, "--skip-invalid")
    assert result.exit_code == 0, result.output
    # the sandbox's one-line description comes once per process, after the first program run
    listed = [line for line in result.stderr.splitlines() if not line.startswith("mixdistill: program sandbox")]
    assert listed[-7:] == [
        "skipped p.jsonl:2: not valid UTF-8 text (byte 0xe9 at column 36)",
        "skipped p.jsonl:3: JSON nested too deeply to read",
        "skipped p.jsonl:5: field 'id': duplicate id 1, first on line 1",
        "skipped p.jsonl:6: field 'answer': expected a finite number, got NaN",
        "skipped p.jsonl:7: field 'cot.0': not valid Unicode: a lone surrogate \\ud800 at character 1",
        "skipped p.jsonl:9: field name 'x\\udc00' is not valid Unicode: a lone surrogate \\udc00 at character 2",
        "p.jsonl: skipped 6 invalid lines, scoring the other 2",
    ]
    assert result.stdout.splitlines()[0] == "p.jsonl: 2 items, 6 invalid lines skipped"
    assert "mixed_maj  -" in result.stdout
    stopped = score(preds)
    assert stopped.exit_code == 2
    assert stopped.stderr.rstrip().endswith(f"p.jsonl:2: not valid UTF-8 text (byte 0xe9 at column 36). {FIX}")


def test_a_byte_order_mark_is_not_an_error(tmp_path):
    preds = write(tmp_path / "p.jsonl", [b"\xef\xbb\xbf" + json.dumps(ROWS[0]).encode(), json.dumps(ROWS[2])])
    result = score(preds, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 2


@pytest.mark.parametrize(
    "content, why",
    [
        (b"", "the file is empty"),
        (b"\n  \n\t\r\n", "the file has only blank lines"),
    ],
)
def test_nothing_to_score(here, content, why):
    preds = Path("p.jsonl")
    preds.write_bytes(content)
    for extra in ([], ["--skip-invalid"]):
        result = score(preds, "--json", *extra)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.strip().endswith(
            f'p.jsonl: nothing to score: {why}. Write one JSON object per line: '
            '{"id": ..., "answer": <gold>, "cot": [...], "pot": [...]}')


def test_nothing_left_to_score_after_skipping(here):
    preds = write(Path("p.jsonl"), ["[1]", "{}"])
    result = score(preds, "--json", "--skip-invalid")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-4:] == [
        "skipped p.jsonl:1: expected a JSON object, got a list",
        "skipped p.jsonl:2: field 'id': missing",
        "p.jsonl: skipped 2 invalid lines, scoring the other 0",
        "Error: p.jsonl: nothing to score: all 2 of its lines are invalid (listed above). Fix them and run again",
    ]


def test_details_are_strict_json_when_programs_print_lone_surrogates(tmp_path):
    """Printed output may hold lone surrogates; the details file stays UTF-8 and RFC 8259 JSON."""
    preds = write(tmp_path / "p.jsonl", [
        {"id": "s", "answer": 7, "cot": ["The answer is 7 \U0001F600"],
         "pot": ['print("\\ud800 7")', 'ans = float("nan")', 'print("\\udcff \\ud83d\\ude00")\nans = 7']},
    ])
    details = tmp_path / "d.jsonl"
    result = score(preds, "--json", "--details", details)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pot_maj"] == 100.0
    (line,) = strict_json_lines(details)
    assert line["id"] == "s" and line["cot"] == [{"answer": 7, "shown": "7"}]
    assert [p["answer"] for p in line["pot"]] == [7, None, 7]
    assert "7" in line["pot"][0]["output"] and "\U0001F600" in line["pot"][2]["output"]


class _Outcome:
    def __init__(self, status, answer, detail, output):
        self.status, self.answer, self.detail, self.output = status, answer, detail, output


class _OddExecutor:
    """Stands in for the executor: outcomes with NaN, Infinity and lone surrogates in every text."""

    OUTCOMES = [
        _Outcome("answer", float("nan"), "\ud800", "\udcff NaN\n"),
        _Outcome("answer", float("inf"), "", "inf"),
        _Outcome("protocol_error", None, "worker said \udfff", "\ud83d\ude00 pair"),
        _Outcome("answer", 7.0, "", "7"),
    ]

    def __init__(self, **_):
        pass

    def start(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, programs):
        return [self.OUTCOMES[int(p)] for p in programs]


def test_details_never_raise_on_odd_outcomes(tmp_path, monkeypatch):
    monkeypatch.setattr(executor_module, "Executor", _OddExecutor)
    preds = write(tmp_path / "p.jsonl", [{"id": 1, "answer": 7, "pot": ["0", "1", "2", "3"]}])
    details = tmp_path / "d.jsonl"
    result = score(preds, "--json", "--details", details)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"n": 1, "cot_acc": None, "pot_acc": 0.0, "cot_maj": None,
                                         "pot_maj": 100.0, "mixed_maj": None}  # only the 7 is an answer; no CoT, no mixed vote
    (line,) = strict_json_lines(details)
    assert line["pot"] == [
        {"status": "answer", "answer": None, "detail": "\ufffd", "output": "\ufffd NaN\n"},
        {"status": "answer", "answer": None, "detail": "", "output": "inf"},
        {"status": "protocol_error", "answer": None, "detail": "worker said \ufffd", "output": "\U0001F600 pair"},
        {"status": "answer", "answer": 7, "detail": "", "output": "7"},
    ]
    assert line["votes"]["pot"] == {"answer": 7, "votes": 1, "valid": 1, "agreement": 1.0}


def test_details_that_cannot_be_written_leave_the_scores_printed(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    (tmp_path / "file").write_text("")
    result = score(preds, "--json", "--details", tmp_path / "file" / "d.jsonl")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["mixed_maj"] == 50.0
    assert "d.jsonl: cannot write the details" in result.stderr and "Traceback" not in result.output


def test_jsonl_files_are_always_written_as_strict_json(tmp_path):
    """Every writer of JSONL files (details, questions, train records) gets the same strict lines."""
    out = tmp_path / "rows.jsonl"
    write_jsonl_atomic(out, [{"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]},
                             {"text": "\ud800 x \ud83d\ude00 é"}, {"plain": "ünïcode", "n": 10**30}])
    assert strict_json_lines(out) == [{"a": None, "b": [None, None, 1.5]},
                                      {"text": "\ufffd x \U0001F600 é"}, {"plain": "ünïcode", "n": 10**30}]
    assert "ünïcode" in out.read_text(encoding="utf-8")  # still written as UTF-8, not \u escapes


def test_console_script_reports_bad_input_without_traceback(here):
    """The installed `mixdistill` run as a real process on a file full of bad lines."""
    preds = write(Path("p.jsonl"), [
        ROWS[0], b"\xff\xfe", DEEP, b'{"id": 9, "answer": 3, "cot": ["\\ud800"]}', b'{"answer": 1}',
        b'{"id": 1, "answer": 2}', b'{"id": 8, "answer": NaN}', b'{"id": 7, "answer": 3, "pot": "ans = 3"}', ROWS[2],
    ])
    details = here / "d.jsonl"
    proc = subprocess.run([MIXDISTILL, "score", preds, "--json", "--workers", "1"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.rstrip().endswith(f"p.jsonl:2: not valid UTF-8 text (byte 0xff at column 1). {FIX}")
    proc = subprocess.run([MIXDISTILL, "score", preds, "--json", "--workers", "1", "--skip-invalid",
                           "--details", details], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout) == {"n": 2, "cot_acc": 50.0, "pot_acc": 50.0, "cot_maj": 50.0,
                                       "pot_maj": 100.0, "mixed_maj": 100.0, "skipped": 7}
    assert [line for line in proc.stderr.splitlines() if "p.jsonl" in line] == [
        "skipped p.jsonl:2: not valid UTF-8 text (byte 0xff at column 1)",
        "skipped p.jsonl:3: JSON nested too deeply to read",
        "skipped p.jsonl:4: field 'cot.0': not valid Unicode: a lone surrogate \\ud800 at character 1",
        "skipped p.jsonl:5: field 'id': missing",
        "skipped p.jsonl:6: field 'id': duplicate id 1, first on line 1",
        "skipped p.jsonl:7: field 'answer': expected a finite number, got NaN",
        "skipped p.jsonl:8: field 'pot': expected a list of strings, got a string; write ['ans = 3']",
        "p.jsonl: skipped 7 invalid lines, scoring the other 2",
    ]
    assert [row["id"] for row in strict_json_lines(details)] == [1, 3]
    empty = Path("empty.jsonl")
    empty.write_bytes(b"")
    proc = subprocess.run([MIXDISTILL, "score", empty], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "empty.jsonl: nothing to score: the file is empty" in proc.stderr


def test_subprocess_run_imports_no_heavy_stack(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    probe = (
        "import sys, runpy; sys.argv = ['mixdistill', 'score', %r, '--json'];\n"
        "try:\n    runpy.run_module('mixdistill_plugin.cli', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'axolotl', 'lm_eval', 'datasets', 'pydantic', 'scipy')\n"
        "               if m in sys.modules)\n"
        "print('HEAVY', heavy)"
    ) % str(preds)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    assert json.loads(out.splitlines()[0])["mixed_maj"] == 50.0

    exe = [sys.executable, "-m", "mixdistill_plugin.cli"]
    assert "score" in subprocess.run(exe + ["--help"], capture_output=True, text=True, check=True).stdout
    proc = subprocess.run(exe + ["score", str(preds), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["n"] == 4
    bad = write(tmp_path / "bad.jsonl", ['{"id": 1}'])
    proc = subprocess.run(exe + ["score", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "bad.jsonl:1: field 'answer': missing" in proc.stderr


def test_other_recipes_outputs_are_scored_when_present(tmp_path):
    """Direct answers (Distilling step-by-step) and Socratic decompositions, beside CoT."""
    preds = write(tmp_path / "p.jsonl", [
        {"id": 1, "answer": 12, "cot": ["The answer is 12."], "predict": ["12", "13", "13"],
         "socratic": ["How many left? ** 14 - 2 = 12 tickets.", "How many? ** The answer is 3."]},
        {"id": 2, "answer": 5, "predict": ["5"], "socratic": ["Not a decomposition"]},
    ])
    details = tmp_path / "d.jsonl"
    result = CliRunner().invoke(main, ["score", str(preds), "--json", "--details", str(details)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "n": 2, "cot_acc": 50.0, "pot_acc": None, "cot_maj": 50.0, "pot_maj": None, "mixed_maj": None,
        "predict_acc": 100.0,  # 12 first; 5
        "predict_maj": 50.0,   # 13 beats 12 on item 1
        "socratic_acc": 50.0,  # item 1's first decomposition ends at 12; item 2 does not parse
        "socratic_maj": 50.0,  # 12 vs 3: a tie, the first wins
    }
    first = json.loads(details.read_text().splitlines()[0])
    assert [p["answer"] for p in first["socratic"]] == [12, 3] and first["correct"]["predict_maj"] is False
    plain = CliRunner().invoke(main, ["score", str(write(tmp_path / "q.jsonl", ROWS)), "--json"])
    assert "predict_acc" not in json.loads(plain.stdout)  # absent kinds add no metrics
