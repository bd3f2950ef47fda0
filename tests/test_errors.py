"""Every command meets bad input the same way: ``Error: FILE:LINE: field ...``, exit 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import main

BAD_ROW = {"id": "q1", "question": "How many pens?"}  # no answer
BAD_SAMPLE = {"doc": 3, "resps": [["x"]], "filtered_resps": [[{"answer": 1}]]}
SAMPLES = "samples_svamp_cot_2026-01-01T00-00-00.000000.jsonl"


def _files(tmp_path: Path) -> dict[str, Path]:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "q0", "question": "2 + 2?", "answer": 4}) + "\n" + json.dumps(BAD_ROW) + "\n")
    run = tmp_path / "run"
    (run / "eval" / "base" / "m").mkdir(parents=True)
    (run / "eval" / "base" / "m" / SAMPLES).write_text(json.dumps(BAD_SAMPLE) + "\n")
    (tmp_path / "broken.jsonl").write_text('{"question": "2 + 2?"}\n{"question": \n')
    return {"rows": rows, "run": run, "broken": tmp_path / "broken.jsonl"}


COMMANDS = {  # each names a bad file, and the place the error must name
    "generate": (["generate", "--dataset", "{rows}", "--teacher", "gold", "--out", "{tmp}/out"], "{rows}:2: field 'answer'"),
    "eval": (["eval", "--dataset", "{rows}", "--model", "hf", "--model_args", "pretrained=x"], "{rows}:2: field 'answer'"),
    "socratic": (["socratic", "--dataset", "{rows}", "--model_args", "pretrained=x", "--output-path", "{tmp}/o"],
                 "{rows}:2: field 'answer'"),
    "score": (["score", "{rows}"], "{rows}:2: field 'answer'"),
    "grade": (["grade", "{run}/eval", "--model", "judge", "--base-url", "http://127.0.0.1:9/v1"], "{run}/eval/base/m/" + SAMPLES + ":1: field 'doc'"),
    "report": (["report", "{run}"], "{run}/eval/base/m/" + SAMPLES + ":1: field 'doc'"),
    "filter": (["filter", "{run}"], "{run}: no raw.jsonl"),
    "merge": (["merge", "{tmp}/merged", "{run}"], "{run}: not a teacher folder"),
    "solve": (["solve", "{broken}", "--model_args", "pretrained=x"], "{broken}:2: invalid JSON"),
    "split": (["generate", "--dataset", "svamp", "--split", "nope", "--teacher", "gold", "--out", "{tmp}/out2"],
              "--split: svamp has no split 'nope'"),
}


@pytest.mark.parametrize("name", COMMANDS)
def test_a_bad_file_is_one_error_line_and_exit_2(name, tmp_path):
    files = {k: str(v) for k, v in _files(tmp_path).items()} | {"tmp": str(tmp_path)}
    args, where = COMMANDS[name]
    result = CliRunner().invoke(main, [a.format(**files) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert line.startswith("Error: " + where.format(**files)), line


def test_an_interrupt_outside_a_commands_own_handling_exits_130(monkeypatch, tmp_path):
    """^C while a command starts (before its run can keep anything): no click "Aborted!" and exit 1."""
    from mixdistill_plugin.commands.score import score

    def interrupted(**options):
        raise KeyboardInterrupt

    monkeypatch.setattr(score, "callback", interrupted)
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"id": "1", "kind": "cot", "text": "The answer is 3.", "answer": 3}\n')
    result = CliRunner().invoke(main, ["score", str(predictions)])
    assert result.exit_code == 130 and "interrupted" in result.output and "Aborted" not in result.output
