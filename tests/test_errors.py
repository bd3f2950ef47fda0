"""Every command meets bad input the same way: one ``Error: FILE:LINE: field ...`` line, exit 2, no
traceback. The cases are checked against ``cli.COMMANDS``: a new command needs its bad inputs here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import COMMANDS, main

BAD_ROW = {"id": "q1", "question": "How many pens?"}  # no answer
BAD_SAMPLE = {"doc": 3, "resps": [["x"]], "filtered_resps": [[{"answer": 1}]]}
SAMPLES = "samples_svamp_cot_2026-01-01T00-00-00.000000.jsonl"
NO_INPUT = {"doctor": "reads no file and takes no setting"}  # the commands with nothing a user could get wrong


def _files(tmp: Path) -> dict[str, str]:
    """The bad inputs, by the names the cases use: ``{rows}`` (a row without its answer), ``{folder}`` (a
    folder where a file belongs), ``{torn_config}`` (a teacher folder whose config.json is cut short)..."""
    rows = tmp / "rows.jsonl"
    rows.write_text(json.dumps({"id": "q0", "question": "2 + 2?", "answer": 4}) + "\n" + json.dumps(BAD_ROW) + "\n")
    (tmp / "run" / "eval" / "base" / "m").mkdir(parents=True)
    (tmp / "run" / "eval" / "base" / "m" / SAMPLES).write_text(json.dumps(BAD_SAMPLE) + "\n")
    (tmp / "broken.jsonl").write_text('{"question": "2 + 2?"}\n{"question": \n')
    (tmp / "question.txt").write_text("2 + 2?\n")
    (tmp / "folder.jsonl").mkdir()
    (tmp / "bin.parquet").write_bytes(b"PAR0 not parquet at all")
    (tmp / "bad.yml").write_text("base_model: m\ndatasets:\n  - path: [x\n")
    (tmp / "no_datasets.yml").write_text("base_model: m\noutput_dir: out\n")
    teacher = tmp / "report_run" / "teacher"  # a teacher folder whose config.json is cut short
    teacher.mkdir(parents=True)
    for name, text in {"config.json": '{"dataset": "svamp",\n', "questions.jsonl": "", "raw.jsonl": "",
                       "stats.json": "{}\n"}.items():
        (teacher / name).write_text(text)
    no_config = tmp / "no_config"  # a teacher folder without its config.json
    no_config.mkdir()
    (no_config / "questions.jsonl").write_text("")
    (no_config / "raw.jsonl").write_text("")
    folder_raw = tmp / "folder_raw"  # a teacher folder whose raw.jsonl is a folder
    (folder_raw / "raw.jsonl").mkdir(parents=True)
    (folder_raw / "questions.jsonl").write_text("")
    return {"tmp": str(tmp), "rows": str(rows), "run": str(tmp / "run"), "broken": str(tmp / "broken.jsonl"),
            "question": str(tmp / "question.txt"), "folder": str(tmp / "folder.jsonl"), "bin": str(tmp / "bin.parquet"),
            "bad_yaml": str(tmp / "bad.yml"), "no_datasets": str(tmp / "no_datasets.yml"),
            "report_run": str(tmp / "report_run"), "torn_config": str(teacher), "no_config": str(no_config),
            "folder_raw": str(folder_raw)}


GENERATE = ["generate", "--teacher", "gold", "--no-progress"]
SOLVE = ["solve", "--model_args", "pretrained=x"]
SOCRATIC = ["socratic", "--model_args", "pretrained=x", "--output-path", "{tmp}/o"]
AXOLOTL = ["axolotl-config", "--data", "{tmp}/train.jsonl", "--output-dir", "{tmp}/student", "--out", "{tmp}/c.yml"]
GRADE = ["--model", "judge", "--base-url", "http://127.0.0.1:9/v1"]
EVAL = ["eval", "--model", "hf", "--model_args", "pretrained=x", "--dataset"]
CONTAMINATION = ["contamination", "svamp:train", "--out", "{tmp}/f", "--against"]
CASES = {  # name: (command line, what the one error line starts with)
    "generate: a row without its answer": (
        GENERATE + ["--dataset", "{rows}", "--out", "{tmp}/o"], "{rows}:2: field 'answer'"),
    "generate: a folder for --dataset": (
        GENERATE + ["--dataset", "{folder}", "--out", "{tmp}/o"], "{folder}: a folder, not a file"),
    "generate: a .parquet that is not Parquet": (
        GENERATE + ["--dataset", "{bin}", "--out", "{tmp}/o"], "{bin}: not a Parquet file"),
    "generate: a damaged config.json": (
        GENERATE + ["--dataset", "svamp", "--limit", "1", "--out", "{torn_config}"],
        "{torn_config}/config.json:2: invalid JSON"),
    "generate: an unknown split": (
        GENERATE + ["--dataset", "svamp", "--split", "nope", "--out", "{tmp}/o"], "--split: svamp has no split 'nope'"),
    "generate: a teacher without --model": (
        ["generate", "--teacher", "openai", "--dataset", "svamp", "--out", "{tmp}/o"],
        "--teacher openai needs --model"),
    "filter: no raw.jsonl": (["filter", "{run}"], "{run}: no raw.jsonl"),
    "filter: a damaged config.json": (["filter", "{torn_config}"], "{torn_config}/config.json:2: invalid JSON"),
    "filter: no config.json": (["filter", "{no_config}"], "{no_config}/config.json: no such file"),
    "merge: not a teacher folder": (["merge", "{tmp}/merged", "{run}"], "{run}: not a teacher folder"),
    "merge: a damaged config.json": (
        ["merge", "{tmp}/merged", "{torn_config}"], "{torn_config}/config.json:2: invalid JSON"),
    "contamination: a row without its answer": (CONTAMINATION + ["{rows}"], "{rows}:2: field 'answer'"),
    "contamination: a folder for --against": (CONTAMINATION + ["{folder}"], "{folder}: a folder, not a file"),
    "grade: a line that is not a logged sample": (
        ["grade", "{run}/eval"] + GRADE, "{run}/eval/base/m/" + SAMPLES + ":1: field 'doc'"),
    "grade: a folder for raw.jsonl": (
        ["grade", "{folder_raw}"] + GRADE, "{folder_raw}/raw.jsonl: a folder, not a file"),
    "axolotl-config: a template that is not YAML": (AXOLOTL + ["{bad_yaml}"], "{bad_yaml}:4: not YAML"),
    "axolotl-config: a template without datasets": (
        AXOLOTL + ["{no_datasets}"], "{no_datasets}: field 'datasets': missing"),
    "axolotl-config: a --set value that is not YAML": (
        AXOLOTL + ["--set", "a=[", "{no_datasets}"], "Invalid value for '--set': 'a=[': the value is not YAML"),
    "axolotl-config: a folder for TEMPLATE": (AXOLOTL + ["{tmp}"], "Invalid value for 'TEMPLATE'"),
    "eval: a row without its answer": (EVAL + ["{rows}"], "{rows}:2: field 'answer'"),
    "eval: a folder for --dataset": (EVAL + ["{folder}"], "Invalid value for '--dataset'"),
    "report: a line that is not a logged sample": (
        ["report", "{run}"], "{run}/eval/base/m/" + SAMPLES + ":1: field 'doc'"),
    "report: a damaged config.json": (
        ["report", "{report_run}", "--out", "{tmp}/r"], "{torn_config}/config.json:2: invalid JSON"),
    "recipes: a dataset a recipe does not apply to": (
        ["recipes", "pot", "--dataset", "cqa"], "recipe 'pot' on --dataset cqa"),
    "tasks: an unknown dataset": (["tasks", "nope"], "Invalid value for '[DATASET]': 'nope'"),
    "score: a line without its answer": (["score", "{rows}"], "{rows}:2: field 'answer'"),
    "score: a folder for PREDICTIONS": (["score", "{folder}"], "Invalid value for 'PREDICTIONS'"),
    "socratic: a row without its answer": (SOCRATIC + ["--dataset", "{rows}"], "{rows}:2: field 'answer'"),
    "socratic: a folder for --dataset": (SOCRATIC + ["--dataset", "{folder}"], "{folder}: a folder, not a file"),
    "solve: a line that is not JSON": (SOLVE + ["{broken}"], "{broken}:2: invalid JSON"),
    "solve: a folder for QUESTIONS": (SOLVE + ["{folder}"], "Invalid value for '[QUESTIONS]'"),
    "solve: the openai student without a model": (
        ["solve", "{question}", "--model", "openai", "--model_args", "x=1"],
        "--model openai needs --model_args model=NAME"),
}


def test_every_command_has_its_bad_inputs_here():
    tried = {args[0] for args, _ in CASES.values()}
    missing = set(COMMANDS) - tried - set(NO_INPUT)
    assert not missing, f"commands without a bad-input case: {missing}"
    assert tried | set(NO_INPUT) == set(COMMANDS)
    assert all(name.startswith(args[0] + ":") for name, (args, _) in CASES.items())


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_error_line_and_exit_2(case, tmp_path):
    files = _files(tmp_path)
    args, where = CASES[case]
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
