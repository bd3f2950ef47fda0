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
from mixdistill_plugin.report import load_evaluations
from mixdistill_plugin.scoring import METRICS

SMALL = ["TRAIN_LIMIT=12", "QUESTIONS=3", "K=2", "MAX_GEN_TOKS=24", "AXOLOTL_SET=max_steps=2 micro_batch_size=2"]


VENV = Path(sys.executable).parent.parent


def make(*args: str, cwd: Path = REPO, timeout: int = 1800) -> subprocess.CompletedProcess:
    """`make` on this environment (-o: never reinstall it), with no data folder set: the shipped data.

    Run as a user's own top-level make, also under `make test` (whose MAKELEVEL would add make's
    "Entering directory" lines to the output)."""
    inherited = {"MIXDISTILL_DATA_DIR", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(["make", "-o", f"{VENV}/.installed", f"VENV={VENV}", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=timeout)


def make_distill(run: Path, *variables: str) -> subprocess.CompletedProcess:
    return make("distill", f"RUN={run}", *SMALL, *variables)


@pytest.fixture(scope="module")
def distilled_run(smollm2, tmp_path_factory):
    run = tmp_path_factory.mktemp("distill") / "run"
    proc = make_distill(run)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return run, proc.stdout


@pytest.mark.slow
def test_every_artefact_of_the_pipeline(distilled_run):
    run, output = distilled_run
    train = rows(run / "teacher" / "train.jsonl")
    assert len(train) == 24 and {r["kind"] for r in train} == {"cot", "pot"}  # the kinds the mixed recipe learns
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
        scored = json.loads(CliRunner().invoke(main, ["score", str(preds), "--json"]).stdout)
        assert {m: ev.accuracy(m) for m in METRICS} == {m: scored[m] for m in METRICS}


@pytest.mark.slow
def test_a_finished_pipeline_is_not_redone(distilled_run):
    run, _ = distilled_run
    again = make_distill(run)
    assert again.returncode == 0
    assert "axolotl train" not in again.stdout and "mixdistill generate" not in again.stdout
    assert "eval" not in "".join(line for line in again.stdout.splitlines() if line.startswith(".venv"))


@pytest.mark.slow
def test_make_distill_twice_gives_identical_results(distilled_run, tmp_path):
    """Training (Axolotl's seed, data order) and sampling (lm-eval's seed) are seeded: a second run in
    another folder trains the same adapter and samples the same paths, so it reports the same numbers."""
    first, _ = distilled_run
    second = tmp_path / first.name
    proc = make_distill(second)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    adapter = Path("student", "adapter_model.safetensors")
    assert (first / adapter).read_bytes() == (second / adapter).read_bytes()
    for student in ("base", "distilled"):
        def paths(run: Path) -> list:
            (samples,) = (run / "eval" / student).glob("*/samples_svamp_mixed_*.jsonl")
            return sorted((s["doc"]["id"], s["doc"]["kind"], s["resps"]) for s in rows(samples))

        assert paths(first) == paths(second)

    def tables(run: Path) -> list[str]:
        return [line for line in (run / "report.md").read_text().splitlines() if line.startswith("|")]

    assert tables(first) == tables(second)


@pytest.fixture(scope="module")
def recipe_runs(distilled_run, tmp_path_factory):
    """Two more recipes on the same teacher data (gold, deterministic), at the same small scale."""
    runs = {"mixed": distilled_run[0]}
    for recipe in ("step_by_step", "socratic"):
        run = tmp_path_factory.mktemp(recipe) / recipe
        proc = make_distill(run, f"RECIPE={recipe}", "MAX_STEPS=2")
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
        runs[recipe] = run
    return runs


@pytest.mark.slow
def test_recipes_train_their_kinds_and_the_report_compares_them(recipe_runs, tmp_path):
    import yaml

    teacher = {recipe: rows(run / "teacher" / "train.jsonl") for recipe, run in recipe_runs.items()}
    # each recipe's teacher asked for the kinds it learns from alone, the same records as any other's
    assert {recipe: {r["kind"] for r in records} for recipe, records in teacher.items()} == {
        "mixed": {"cot", "pot"}, "step_by_step": {"cot"}, "socratic": {"socratic"}}
    assert teacher["step_by_step"] == [r for r in teacher["mixed"] if r["kind"] == "cot"]
    for recipe, kinds in (("step_by_step", ["predict", "explain"]), ("socratic", ["decompose", "solve"])):
        config = yaml.safe_load((recipe_runs[recipe] / "axolotl.yml").read_text())
        assert config["mixdistill_kinds"] == kinds
        assert (recipe_runs[recipe] / "student" / "adapter_model.safetensors").exists()
    assert yaml.safe_load((recipe_runs["step_by_step"] / "axolotl.yml").read_text())[
        "mixdistill_loss_normalization"] == "kind"
    result = CliRunner().invoke(main, ["report", *map(str, recipe_runs.values()), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| run | student | task |"))
    assert lines[start].endswith("| CoT | PoT | CoT maj@k | PoT maj@k | Mixed maj@k | Direct | Direct maj@k | Socratic |")
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[tuple(cells[:3])] = cells[5:]
    assert set(table) == {(run, student, task) for run, task in (("run", "svamp_mixed"), ("step_by_step", "svamp_direct"),
                                                                   ("socratic", "svamp_socratic"))
                          for student in ("base", "distilled")}
    for (_, _, task), cells in table.items():  # each run fills only its own metrics' columns
        assert [c != "-" for c in cells] == {"svamp_mixed": [True] * 5 + [False] * 3,
                                             "svamp_direct": [False] * 5 + [True, True, False],
                                             "svamp_socratic": [False] * 7 + [True]}[task]
    evaluations = {(e.run, e.student): e for run in recipe_runs.values() for e in load_evaluations(run)}
    socratic = evaluations[("socratic", "distilled")]
    assert socratic.k == 1 and len(socratic.questions) == 3
    from PIL import Image

    with Image.open(tmp_path / "report.png") as image:
        assert image.size == (800, 500)


def test_report_of_two_runs_side_by_side(tmp_path):
    """Two runs laid out as `make distill` lays them out, made from hand-written samples."""
    def fake_run(name: str, cot_answer: str) -> Path:
        run = tmp_path / name
        samples = run / "eval" / "distilled" / "model" / "samples_svamp_mixed_2026-01-01T00-00-00.000000.jsonl"
        samples.parent.mkdir(parents=True)
        lines = []
        for qid, gold in (("q1", 4.0), ("q2", 9.0)):
            lines.append({"doc": {"id": qid, "question": qid, "answer": gold, "kind": "cot"}, "resps": [[cot_answer]],
                          "filtered_resps": [[repr({"answer": float(cot_answer), "outcome": "answer", "detail": ""})]]})
            lines.append({"doc": {"id": qid, "question": qid, "answer": gold, "kind": "pot"}, "resps": [["x"]],
                          "filtered_resps": [[{"answer": gold, "outcome": "answer", "detail": ""}]]})
        samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return run

    result = CliRunner().invoke(main, ["report", str(fake_run("a", "4")), str(fake_run("b", "9")), "--out", str(tmp_path),
                                       "--vote", "plain"])
    assert result.exit_code == 0, result.output
    half, full = "50.0 [9.5, 90.5]", "100.0 [34.2, 100.0]"  # with their 95% Wilson intervals
    # one path of each kind: CoT, PoT and the mixed vote of the two (no per-kind maj@k columns at k = 1)
    assert "| run | student | task | questions | k | CoT | PoT | Mixed maj@k |" in result.output
    assert f"| a | distilled | svamp_mixed | 2 | 1 | {half} | {full} | {half} |" in result.output
    assert f"| b | distilled | svamp_mixed | 2 | 1 | {half} | {full} | {half} |" in result.output
    assert (tmp_path / "report.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.timeout(10800)
def test_make_distill_at_its_defaults_in_a_fresh_clone(tmp_path):
    """`make distill` as the README gives it, in a clone with nothing beside it, offline: the data ships
    in the package, the student is exported from the installed wheel (10 minutes on 2 idle cores, over an
    hour when they are shared)."""
    clone = tmp_path / "mixdistill"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixdistill"]
    proc = make("distill", cwd=clone, timeout=10700)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    report = (clone / "runs" / "mixed" / "report.md").read_text()
    assert "| gold | 800 | cot | 800 | 100.0 |" in report  # all 800 SVAMP train questions, from the package
    for student in ("base", "distilled"):
        assert f"| mixed | {student} | svamp_mixed | 30 | 4 |" in report
    assert (clone / "runs" / "mixed" / "student" / "adapter_model.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("dataset, recipe, task, split, kinds", [
    ("cqa", "step_by_step", "cqa_direct", "train", {"cot"}),
    ("esnli", "cot", "esnli_cot", "validation", {"cot"}),
    ("strategyqa", "socratic", "strategyqa_socratic", "train", {"socratic"}),
])
def test_make_distill_on_the_label_datasets(smollm2, tmp_path, dataset, recipe, task, split, kinds):
    """Each text-label benchmark end to end at the smallest scale: the human explanations as the gold
    teacher (its train split explicit: e-SNLI trains on validation), the recipe's student, its task
    (StrategyQA's Socratic student through `mixdistill socratic`, its last answer read as yes/no)."""
    run = tmp_path / "run"
    proc = make_distill(run, f"DATASET={dataset}", f"RECIPE={recipe}")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert f"--dataset {dataset} --split {split} --teacher gold" in proc.stdout
    assert "--pot-samples 0" in proc.stdout  # no recipe on labels learns from programs: none are asked
    train = rows(run / "teacher" / "train.jsonl")
    assert {r["kind"] for r in train} == kinds and all(isinstance(r["answer"], str) for r in train)
    evaluations = load_evaluations(run)
    assert [(e.student, e.task, len(e.questions)) for e in evaluations] == [("base", task, 3), ("distilled", task, 3)]
    report = (run / "report.md").read_text()
    assert f"| base | {task} | 3 |" in report and "## Paired comparisons" in report


@pytest.mark.slow
@pytest.mark.parametrize("dataset, recipe, task, extra, kinds, label", [
    ("svamp", "mixed", "svamp_mixed", (), {"cot", "pot"}, "gold"),
    ("cqa", "step_by_step", "cqa_direct", (), {"cot"}, "gold"),
    ("svamp", "mixed", "svamp_mixed", ("NO_GOLD=1",), {"cot", "pot"}, "teacher"),
])
def test_make_distill_from_the_recorded_teacher(smollm2, tmp_path, dataset, recipe, task, extra, kinds, label):
    """The shipped PaLM-540B CoT (and Codex PoT) outputs as the teacher, end to end at the smallest scale;
    with NO_GOLD=1 the teacher's own agreeing vote labels the questions."""
    run = tmp_path / "run"
    proc = make_distill(run, f"DATASET={dataset}", f"RECIPE={recipe}", "TEACHER=recorded", *extra)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert json.loads((run / "teacher" / "config.json").read_text())["teacher"].startswith("recorded:")
    train = rows(run / "teacher" / "train.jsonl")
    assert {r["kind"] for r in train} == kinds and {r["label"] for r in train} == {label}
    assert [(e.student, e.task, len(e.questions)) for e in load_evaluations(run)] == [("base", task, 3),
                                                                                   ("distilled", task, 3)]
    assert "| recorded:" in (run / "report.md").read_text()


@pytest.mark.slow
def test_a_recipe_that_does_not_apply_stops_make_distill_at_once(tmp_path):
    proc = make("distill", f"RUN={tmp_path / 'run'}", "DATASET=esnli", "RECIPE=mixed")
    assert proc.returncode != 0 and not (tmp_path / "run" / "teacher").exists()
    assert "recipe 'mixed' on --dataset esnli: this recipe does not apply to e-SNLI" in proc.stderr


def test_make_compare_runs_every_recipe_from_every_teacher_into_its_own_folder():
    """`make -n`: the commands make would run, none run."""
    plan = make("-n", "compare", "RECIPES=mixed cot", "TEACHERS=recorded gold").stdout
    runs = [line.split("RUN=")[1].split()[0] for line in plan.splitlines() if "RUN=" in line]
    assert "for teacher in recorded gold" in plan and runs == ["runs/$recipe-$teacher"]
    report = [line for line in plan.splitlines() if " report " in line][-1]  # after each run's own
    assert report.split(" report ")[1] == ("runs/mixed-recorded runs/mixed-gold runs/cot-recorded runs/cot-gold "
                                           "--out runs/compare")
    for recipe, asked in (("mixed", "--cot-samples 4 --pot-samples 4 --socratic-samples 0"),
                          ("step_by_step", "--cot-samples 4 --pot-samples 0 --socratic-samples 0"),
                          ("socratic", "--cot-samples 0 --pot-samples 0 --socratic-samples 4")):
        # the teacher is asked for the kinds the recipe learns from alone (a recorded one has no socratic)
        assert asked in make("-n", "distill", f"RECIPE={recipe}", "TEACHER=recorded").stdout
    seeded = make("-n", "compare", "RECIPES=mixed", "TEACHERS=recorded gold", "SEEDS=1 2").stdout
    assert "for seed in 1 2" in seeded and "RUN=runs/$recipe-$teacher-seed$seed" in seeded
    assert seeded.splitlines()[-1].split(" report ")[1] == (
        "runs/mixed-recorded-seed1 runs/mixed-recorded-seed2 runs/mixed-gold-seed1 runs/mixed-gold-seed2 "
        "--out runs/compare")
    plain = make("-n", "compare", "RECIPES=mixed", "DATASET=cqa").stdout
    assert "runs/mixed-cqa --out runs/compare-cqa" in plain and "for teacher in gold" in plain
    applying = make("-n", "compare", "DATASET=cqa")  # by default the recipes that apply: no PoT on labels
    assert applying.returncode == 0 and "for recipe in cot direct step_by_step;" in applying.stdout
    assert applying.stdout.splitlines()[-1].split(" report ")[1] == (
        "runs/cot-cqa runs/direct-cqa runs/step_by_step-cqa --out runs/compare-cqa")


ANLI_PAIRS = [  # (premise, hypothesis, label id, reason): made up here, in ANLI's fields
    ("A dog sleeps on a warm porch in the afternoon.", "An animal is resting.", 0, "A sleeping dog is an animal resting."),
    ("Three friends share a pizza at a small table.", "The friends are eating soup.", 2, "They share pizza, not soup."),
    ("A girl paints a picture of the sea.", "The girl has visited the sea.", 1, "Painting the sea does not say she went."),
    ("The train left the station at noon.", "The train departed.", 0, "Leaving the station is departing."),
    ("A man sings loudly in the shower.", "The man is silent.", 2, "Singing loudly is not being silent."),
    ("Two boys kick a ball in a field.", "The boys are brothers.", 1, "Nothing says how the boys are related."),
]


@pytest.mark.slow
def test_make_distill_direct_on_anli_from_a_data_folder(smollm2, tmp_path):
    """ANLI is never shipped: its splits come from the data folder (MIXDISTILL_DATA_DIR), here a small
    file of made-up pairs, and the `direct` recipe (labels alone) runs end to end on it."""
    folder = tmp_path / "data" / "anli"
    folder.mkdir(parents=True)
    pairs = [{"uid": f"p{i}", "premise": p, "hypothesis": h, "label": label, "reason": why}
             for i, (p, h, label, why) in enumerate(ANLI_PAIRS * 2)]
    (folder / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in pairs))
    (folder / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in pairs[:3]))
    run = tmp_path / "run"
    proc = make_distill(run, "DATASET=anli", "RECIPE=direct", f"MIXDISTILL_DATA_DIR={tmp_path / 'data'}")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    train = rows(run / "teacher" / "train.jsonl")
    assert len(train) == 12 and {r["answer"] for r in train} == {"entailment", "neutral", "contradiction"}
    assert [(e.student, e.task, len(e.questions)) for e in load_evaluations(run)] == [
        ("base", "anli_direct", 3), ("distilled", "anli_direct", 3)]
    assert "| base | anli_direct | 3 |" in (run / "report.md").read_text()
