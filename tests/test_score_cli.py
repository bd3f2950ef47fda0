"""`mixdistill score` through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import main

ROWS = [
    # CoT right on the first path; PoT wrong first, right by majority; mixed right
    {"id": 1, "answer": 18, "cot": ["3 + 15 = 18. The answer is 18.", "The answer is 17."],
     "pot": ["ans = 17", "ans = 9 * 2", "print(36 / 2)"]},
    # everything wrong or invalid; the program crashes
    {"id": "b", "answer": "1,080", "cot": ["I am not sure."], "pot": ["ans = 1 / 0"]},
    # only PoT paths: CoT counts as wrong for this item
    {"id": 3, "answer": 0.75, "pot": ["def solution():\n    return 3 / 4"]},
    # CoT and PoT disagree 2-2: the tie goes to the CoT answer (it came first)
    {"id": 4, "answer": 5, "cot": ["The answer is 5.", "#### 5"], "pot": ["ans = 6", "ans = 6.0"]},
]


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_json_figures_on_known_answers(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    result = CliRunner().invoke(main, ["score", str(preds), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "n": 4,
        "cot_acc": 50.0,   # items 1 and 4
        "pot_acc": 25.0,   # item 3
        "cot_maj": 50.0,   # 1 (tie 18/17 -> 18, first), 4
        "pot_maj": 50.0,   # 1, 3
        "mixed_maj": 75.0,  # 1, 3, 4
    }


def test_details_file(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    details = tmp_path / "d.jsonl"
    assert CliRunner().invoke(main, ["score", str(preds), "--details", str(details)]).exit_code == 0
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert [d["id"] for d in lines] == [1, "b", 3, 4]
    assert lines[0]["pot"][0]["status"] == "answer" and lines[0]["pot"][0]["answer"] == 17
    assert lines[1]["pot"][0] == {"status": "error", "answer": None, "detail": "ZeroDivisionError", "output": ""}
    assert lines[1]["cot"] == [{"answer": None, "shown": "[no answer]"}]
    assert lines[0]["votes"]["mixed"] == {"answer": 18, "votes": 3, "valid": 5, "agreement": 0.6}
    assert lines[3]["correct"] == {"cot_acc": True, "pot_acc": False, "cot_maj": True, "pot_maj": False, "mixed_maj": True}


def test_missing_kind_reports_none(tmp_path):
    preds = write(tmp_path / "p.jsonl", [{"answer": 2, "cot": ["The answer is 2."]}])
    out = json.loads(CliRunner().invoke(main, ["score", str(preds), "--json"]).output)
    assert out["pot_acc"] is None and out["pot_maj"] is None and out["cot_acc"] == 100.0


def test_table_output(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    result = CliRunner().invoke(main, ["score", str(preds)])
    assert "4 items" in result.output
    assert "mixed_maj   75.00" in result.output


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ('{"answer": 3, "cot": ["x"]', "p.jsonl:2: invalid JSON"),
        ('{"cot": ["The answer is 3."]}', "p.jsonl:2: field 'answer': missing"),
        ('{"answer": "three"}', "p.jsonl:2: field 'answer': expected a number, got 'three'"),
        ('{"answer": 3, "cot": "The answer is 3."}', "p.jsonl:2: field 'cot': Input should be a valid list"),
        ('{"answer": 3, "pot": [1]}', "p.jsonl:2: field 'pot.0': Input should be a valid string"),
        ("[1, 2]", "p.jsonl:2: expected a JSON object, got list"),
    ],
)
def test_bad_input_names_line_and_field(tmp_path, bad_line, message):
    preds = write(tmp_path / "p.jsonl", [ROWS[0], bad_line, ROWS[2]])
    result = CliRunner().invoke(main, ["score", str(preds), "--json"])
    assert result.exit_code == 2
    assert message in result.output
    assert "--skip-invalid" in result.output
    skipped = CliRunner().invoke(main, ["score", str(preds), "--json", "--skip-invalid"])
    assert skipped.exit_code == 0
    summary = json.loads(skipped.stdout.strip().splitlines()[-1])
    assert summary["n"] == 2 and summary["skipped"] == 1


def test_subprocess_run_imports_no_heavy_stack(tmp_path):
    preds = write(tmp_path / "p.jsonl", ROWS)
    probe = (
        "import sys, runpy; sys.argv = ['mixdistill', 'score', %r, '--json'];\n"
        "try:\n    runpy.run_module('mixdistill_plugin.cli', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'axolotl', 'lm_eval', 'datasets') if m in sys.modules)\n"
        "print('HEAVY', heavy)"
    ) % str(preds)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    assert json.loads(out.splitlines()[0])["mixed_maj"] == 75.0

    exe = [sys.executable, "-m", "mixdistill_plugin.cli"]
    assert "score" in subprocess.run(exe + ["--help"], capture_output=True, text=True, check=True).stdout
    proc = subprocess.run(exe + ["score", str(preds), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["n"] == 4
    bad = write(tmp_path / "bad.jsonl", ["{}"])
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
    assert json.loads(result.output) == {
        "n": 2, "cot_acc": 50.0, "pot_acc": None, "cot_maj": 50.0, "pot_maj": None, "mixed_maj": 50.0,
        "predict_acc": 100.0,  # 12 first; 5
        "predict_maj": 50.0,   # 13 beats 12 on item 1
        "socratic_acc": 50.0,  # item 1's first decomposition ends at 12; item 2 does not parse
        "socratic_maj": 50.0,  # 12 vs 3: a tie, the first wins
    }
    first = json.loads(details.read_text().splitlines()[0])
    assert [p["answer"] for p in first["socratic"]] == [12, 3] and first["correct"]["predict_maj"] is False
    plain = CliRunner().invoke(main, ["score", str(write(tmp_path / "q.jsonl", ROWS)), "--json"])
    assert "predict_acc" not in json.loads(plain.output)  # absent kinds add no metrics
