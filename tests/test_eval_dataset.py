"""Evaluating a student on any question/answer file: `mixdistill eval --dataset` and the lm-eval YAML route."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main

HELD_OUT = [  # a held-out set in a user's own layout
    {"problem": "Tom has 3 apples and buys 4 more. How many apples does he have?", "solution": "7"},
    {"problem": "A box holds 6 eggs. How many eggs are in 5 boxes?", "solution": "30"},
    {"problem": "Sam had 20 dollars and spent 8. How many dollars are left?", "solution": "12"},
]


def write_csv(path: Path, records: list[dict]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MIXDISTILL_DATA_DIR"} | {
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def test_file_tasks_read_the_users_file_with_the_field_options(tmp_path):
    from mixdistill_plugin.harness.adapter import FILE_HINT, load_docs

    held_out = write_csv(tmp_path / "held_out.csv", HELD_OUT)
    docs = load_docs(file=str(held_out), question_field="problem", answer_field="solution", kinds=["cot", "pot"],
                     metrics=["mixed_maj"], pretrained="model-args-arrive-too")["test"]
    assert [(d["question"], d["answer"], d["kind"]) for d in docs][:2] == [
        (HELD_OUT[0]["problem"], 7.0, "cot"), (HELD_OUT[0]["problem"], 7.0, "pot")]
    assert len(docs) == 6
    with pytest.raises(ValueError, match="file_md_"):
        load_docs(kinds=["cot"])  # a file task run without a file says how to give one
    assert "--metadata" in FILE_HINT and "mixdistill eval --dataset" in FILE_HINT


def test_eval_dataset_names_a_bad_row_before_starting(tmp_path):
    held_out = write_csv(tmp_path / "held_out.csv", [*HELD_OUT, {"problem": "How many?", "solution": "many"}])
    result = CliRunner().invoke(main, ["eval", "--dataset", str(held_out), "--question-field", "problem",
                                       "--answer-field", "solution", "--model", "hf"])
    assert result.exit_code == 2
    assert "held_out.csv:5: field 'solution'" in result.output and "--skip-bad-rows" in result.output


@pytest.mark.slow
def test_mixdistill_eval_dataset_runs_the_file_tasks(smollm2, tmp_path):
    held_out = write_csv(tmp_path / "held_out.csv", HELD_OUT)
    cmd = [sys.executable, "-m", "mixdistill_plugin.cli", "eval", "--dataset", str(held_out),
           "--question-field", "problem", "--answer-field", "solution", "--tasks", "file_md_greedy",
           "--model", "hf", "--model_args", f"pretrained={smollm2}", "--gen_kwargs", "max_gen_toks=16",
           "--confirm_run_unsafe_code", "--log_samples", "--output_path", str(tmp_path / "out")]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    samples = rows(next((tmp_path / "out").glob("*/samples_file_md_greedy_*.jsonl")))
    assert sorted((s["doc"]["question"], s["doc"]["kind"]) for s in samples) == sorted(
        (r["problem"], kind) for r in HELD_OUT for kind in ("cot", "pot"))
    (results,) = (tmp_path / "out").glob("*/results_*.json")
    assert {"cot_acc,paths", "pot_acc,paths"} <= set(json.loads(results.read_text())["results"]["file_md_greedy"])


YAML_ROUTE = """\
# held_out.yaml: mixdistill's CoT, PoT and mixed tasks on our own held-out file
group: held_out
task:
  - task: file_md_cot
    task_alias: held_out_cot
    repeats: 2
    metadata: {version: 1.0, file: HELD_OUT, question_field: problem, answer_field: solution}
  - task: file_md_pot
    task_alias: held_out_pot
    repeats: 2
    metadata: {version: 1.0, file: HELD_OUT, question_field: problem, answer_field: solution}
  - task: file_md_mixed
    task_alias: held_out_mixed
    repeats: 2
    metadata: {version: 1.0, file: HELD_OUT, question_field: problem, answer_field: solution}
"""


@pytest.mark.slow
def test_lm_eval_yaml_route_on_a_held_out_file(smollm2, tmp_path):
    """Plain `lm_eval` with a group YAML of the user's: no path to the installed tasks needed."""
    held_out = write_csv(tmp_path / "held_out.csv", HELD_OUT[:2])
    (tmp_path / "my_tasks").mkdir()
    (tmp_path / "my_tasks" / "held_out.yaml").write_text(YAML_ROUTE.replace("HELD_OUT", str(held_out)))
    lm_eval = Path(sys.executable).parent / "lm_eval"
    cmd = [str(lm_eval), "--include_path", "my_tasks", "--tasks", "held_out", "--model", "hf", "--model_args",
           f"pretrained={smollm2}", "--gen_kwargs", "max_gen_toks=8", "--batch_size", "8",
           "--confirm_run_unsafe_code", "--log_samples", "--output_path", "out"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(next((tmp_path / "out").glob("*/results_*.json")).read_text())["results"]
    assert set(results["file_md_mixed"]) >= {"alias", "mixed_maj,paths", "cot_maj,paths", "pot_maj,paths"}
    assert results["file_md_mixed"]["alias"].endswith("held_out_mixed")
    assert {"cot_acc,paths", "cot_maj,paths"} <= set(results["file_md_cot"])
    assert {"pot_acc,paths", "pot_maj,paths"} <= set(results["file_md_pot"])
    for task, kinds in (("file_md_cot", ["cot"]), ("file_md_pot", ["pot"]), ("file_md_mixed", ["cot", "pot"])):
        samples = rows(next((tmp_path / "out").glob(f"*/samples_{task}_*.jsonl")))
        assert sorted((s["doc"]["question"], s["doc"]["kind"]) for s in samples) == sorted(
            (r["problem"], kind) for r in HELD_OUT[:2] for kind in kinds)
        assert all(len(s["resps"][0]) == 2 for s in samples)  # repeats: 2 from the user's YAML


LABELS = [  # a label file: each row's choices, the gold one of them
    {"question": "Where do children play on swings?", "answer": "park", "choices": ["park", "bank", "moon"]},
    {"question": "What is wet?", "answer": "water", "choices": ["sand", "water", "dust"]},
]
YES_NO = [{"question": "Is ice cold?", "answer": True}, {"question": "Is fire cold?", "answer": False}]
NLI = [{"question": "Premise: A dog runs.\nHypothesis: An animal moves.", "answer": "entailment"},
       {"question": "Premise: A dog runs.\nHypothesis: A cat sleeps.", "answer": "neutral"}]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def lm_eval_call(monkeypatch) -> dict:
    """`mixdistill eval` runs no lm-eval: the arguments it would pass are kept, exit status 0."""
    from mixdistill_plugin.harness import runner

    seen: dict = {}

    def run_lm_eval(command, args, include_path=None):
        seen.update(command=command, args=list(args))
        return 0

    monkeypatch.setattr(runner, "run_lm_eval", run_lm_eval)
    return seen


def passed(args: list[str]) -> tuple[list[str], dict]:
    """The ``--tasks`` values and the ``--metadata`` object of lm-eval arguments."""
    return [args[i + 1] for i, a in enumerate(args) if a == "--tasks"], json.loads(args[args.index("--metadata") + 1])


@pytest.mark.parametrize("flags, expected", [
    (["--tasks", "a"], ["a"]), (["--tasks=a,b"], ["a", "b"]), (["-t", "a"], ["a"]), (["-ta"], ["a"]),
    (["-t", "a", "b,c", "--model", "dummy"], ["a", "b", "c"]), (["--tasks", "a", "--limit", "2", "-t", "b"], ["a", "b"]),
    (["--task", "a"], ["a"]), (["--model", "dummy"], []), (["-t"], []),
])
def test_task_names_are_read_as_lm_eval_reads_them(flags, expected):
    from mixdistill_plugin.commands.eval import _tasks

    assert _tasks(flags) == expected


@pytest.mark.parametrize("flags", [["-t", "svamp_mixed"], ["--tasks", "file_md_cot", "svamp_mixed"],
                                   ["--tasks=file_md_cot,svamp_mixed"], ["-tsvamp_mixed"],
                                   ["--tasks", "file_md_cot", "-t", "svamp_mixed"]])
def test_every_way_of_naming_another_datasets_task_is_refused(tmp_path, lm_eval_call, flags):
    data = write_jsonl(tmp_path / "yn.jsonl", YES_NO)
    result = CliRunner().invoke(main, ["eval", "--dataset", str(data), *flags, "--model", "dummy"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--tasks svamp_mixed reads another dataset and would ignore the file" in result.output
    assert lm_eval_call == {}  # refused before lm-eval starts


@pytest.mark.parametrize("flags", [["--tasks", "file_md_mixed"], ["-t", "file_md_pot"], ["--tasks=file_md_greedy"]])
def test_a_file_task_whose_kinds_do_not_apply_is_refused(tmp_path, lm_eval_call, flags):
    data = write_jsonl(tmp_path / "labels.jsonl", LABELS)
    result = CliRunner().invoke(main, ["eval", "--dataset", str(data), *flags, "--model", "dummy"])
    assert result.exit_code == 2 and "Traceback" not in result.output and lm_eval_call == {}
    assert f"labels.jsonl: --tasks {flags[-1].rpartition('=')[2]} asks for pot, which does not apply to " \
           "multiple-choice questions" in result.output


def test_a_file_of_numbers_and_labels_is_refused_before_lm_eval(tmp_path, lm_eval_call):
    data = write_jsonl(tmp_path / "both.jsonl", [*LABELS, {"question": "What is 2 + 2?", "answer": 4}])
    result = CliRunner().invoke(main, ["eval", "--dataset", str(data), "--model", "dummy"])
    assert result.exit_code == 2 and "numeric and label answers in one file" in result.output and lm_eval_call == {}


@pytest.mark.parametrize("records, options, task, answers", [
    (LABELS, [], "file_md_cot", ["park", "water"]),                        # choices on the rows
    (NLI, ["--choices", "entailment,neutral,contradiction"], "file_md_cot", ["entailment", "neutral"]),
    (YES_NO, [], "file_md_cot", ["yes", "no"]),
    (LABELS, ["--tasks", "file_md_direct"], "file_md_direct", ["park", "water"]),
    ([{"question": r["problem"], "answer": r["solution"]} for r in HELD_OUT], [], "file_md_mixed", [7.0, 30.0, 12.0]),
])
def test_eval_dataset_on_label_files_runs_the_files_task(tmp_path, lm_eval_call, records, options, task, answers):
    """Without --tasks, a label or yes/no file gets its CoT task (a numeric file the mixed one); the
    task's documents are the file's questions with their label sets."""
    from mixdistill_plugin.harness.adapter import load_docs
    from mixdistill_plugin.harness.make_tasks import variants

    data = write_jsonl(tmp_path / "mine.jsonl", records)
    result = CliRunner().invoke(main, ["eval", "--dataset", str(data), *options, "--model", "dummy"])
    assert result.exit_code == 0, result.output
    tasks, metadata = passed(lm_eval_call["args"])
    assert tasks == [task] and metadata["file"] == str(data.resolve())
    (kinds,) = [v.kinds for v in variants() if f"file_md_{v.name}" == task]
    docs = list(load_docs(**metadata, kinds=list(kinds))["test"])  # what lm-eval's task gets from the metadata
    assert [d["answer"] for d in docs[::len(kinds)]] == answers
    if records is NLI:
        assert metadata["choices"] == ["entailment", "neutral", "contradiction"]
        assert docs[0]["choices"] == metadata["choices"] and docs[0]["answer_type"] == "choice"
    if records is LABELS:
        assert docs[1 * len(kinds)]["choices"] == ["sand", "water", "dust"]
        assert "(b) water" in docs[1 * len(kinds)]["question"]
