"""`make distill` at the smallest scale, through the Makefile, and `mixdistill report`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.report import COLUMNS, load_evaluations

SMALL = ["TRAIN_LIMIT=12", "QUESTIONS=3", "K=2", "MAX_GEN_TOKS=24", "AXOLOTL_SET=max_steps=2 micro_batch_size=2"]


def make_distill(run: Path, data: Path, *variables: str) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent.parent
    env = dict(os.environ, MIXDISTILL_DATA_DIR=str(data))
    return subprocess.run(["make", "-C", str(REPO), "distill", f"VENV={venv}", f"RUN={run}", *SMALL, *variables],
                          capture_output=True, text=True, env=env, timeout=1800)


@pytest.fixture(scope="module")
def distilled_run(smollm2, data, tmp_path_factory):
    run = tmp_path_factory.mktemp("distill") / "run"
    proc = make_distill(run, data)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return run, proc.stdout


@pytest.mark.slow
def test_every_artefact_of_the_pipeline(distilled_run):
    run, output = distilled_run
    train = rows(run / "teacher" / "train.jsonl")
    assert len(train) == 24 and {r["kind"] for r in train} == {"cot", "pot"}
    assert (run / "student" / "adapter_model.safetensors").stat().st_size > 100_000
    for student in ("base", "distilled"):
        (results,) = (run / "eval" / student).glob("*/results_*.json")
        metrics = json.loads(results.read_text())["results"]["svamp_mixed"]
        assert {"cot_acc,paths", "mixed_maj,paths"} <= set(metrics)
        assert list((run / "eval" / student).glob("*/samples_svamp_mixed_*.jsonl"))
    report = (run / "report.md").read_text()
    assert "| run | student | task |" in report and "| base |" in report and "| distilled |" in report
    assert "| gold | 12 | cot | 12 | 100.0 | 12 | 100.0 |" in report
    assert report in output  # make distill prints the report at the end
    from PIL import Image

    with Image.open(run / "report.png") as image:
        assert image.size == (800, 500)


@pytest.mark.slow
def test_report_numbers_equal_mixdistill_score(distilled_run, tmp_path):
    run, _ = distilled_run
    evaluations = load_evaluations(run)
    assert [(e.student, e.task, e.k, len(e.questions)) for e in evaluations] == [
        ("base", "svamp_mixed", 2, 3), ("distilled", "svamp_mixed", 2, 3)]
    for ev in evaluations:
        (samples,) = (run / "eval" / ev.student).glob("*/samples_svamp_mixed_*.jsonl")
        items: dict = {}
        for sample in rows(samples):
            doc = sample["doc"]
            items.setdefault(doc["id"], {"id": doc["id"], "answer": doc["answer"], "cot": [], "pot": []})
            items[doc["id"]][doc["kind"]] += sample["resps"][0]
        preds = tmp_path / f"{ev.student}.jsonl"
        preds.write_text("".join(json.dumps(i) + "\n" for i in items.values()))
        scored = json.loads(CliRunner().invoke(main, ["score", str(preds), "--json"]).output)
        assert {m: ev.accuracy(m) for m in COLUMNS} == {m: scored[m] for m in COLUMNS}


@pytest.mark.slow
def test_a_finished_pipeline_is_not_redone(distilled_run, data):
    run, _ = distilled_run
    again = make_distill(run, data)
    assert again.returncode == 0
    assert "axolotl train" not in again.stdout and "mixdistill generate" not in again.stdout
    assert "eval" not in "".join(line for line in again.stdout.splitlines() if line.startswith(".venv"))


def test_report_of_two_runs_side_by_side(tmp_path):
    """Two runs laid out as `make distill` lays them out, made from hand-written samples."""
    def fake_run(name: str, cot_answer: str) -> Path:
        run = tmp_path / name
        samples = run / "eval" / "distilled" / "model" / "samples_svamp_mixed_2026-01-01T00-00-00.000000.jsonl"
        samples.parent.mkdir(parents=True)
        lines = []
        for qid, gold in (("q1", 4.0), ("q2", 9.0)):
            lines.append({"doc": {"id": qid, "answer": gold, "kind": "cot"}, "resps": [[cot_answer]],
                          "filtered_resps": [[repr({"answer": float(cot_answer), "outcome": "answer", "detail": ""})]]})
            lines.append({"doc": {"id": qid, "answer": gold, "kind": "pot"}, "resps": [["x"]],
                          "filtered_resps": [[{"answer": gold, "outcome": "answer", "detail": ""}]]})
        samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return run

    result = CliRunner().invoke(main, ["report", str(fake_run("a", "4")), str(fake_run("b", "9")), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "| a | distilled | svamp_mixed | 2 | 1 | 50.0 | 100.0 | 50.0 | 100.0 | 50.0 |" in result.output
    assert "| b | distilled | svamp_mixed | 2 | 1 | 50.0 | 100.0 | 50.0 | 100.0 | 50.0 |" in result.output
    assert (tmp_path / "report.png").stat().st_size > 10_000
