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
