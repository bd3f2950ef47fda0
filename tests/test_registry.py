"""The prompt registry is the one source: a kind registered in one place is scored by `mixdistill score`,
the lm-eval tasks' metrics and `mixdistill report`, and the recipes name the evaluation."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import main
from mixdistill_plugin.prompts import PromptKind, register, unregister
from mixdistill_plugin.recipes import RECIPES
from mixdistill_plugin.scoring import MIXED, metrics_of


@pytest.fixture
def hint():
    """A text kind ``hint``, titled "Hint", registered for one test."""
    register(PromptKind("hint", 90, "Give a hint, then the answer.", "Hint:", " ", "extract", (), title="Hint"))
    yield "hint"
    unregister("hint")


def test_a_new_kind_is_scored_by_score(hint, tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": 1, "answer": 4, "cot": ["The answer is 4."],
                                 "hint": ["The answer is 5.", "The answer is 4.", "The answer is 4."]}) + "\n"
                     + json.dumps({"id": 2, "answer": 2, "hint": ["The answer is 2."]}) + "\n")
    result = CliRunner().invoke(main, ["score", str(preds), "--json", "--details", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert (scored["hint_acc"], scored["hint_maj"]) == (50.0, 100.0)
    details = json.loads((tmp_path / "d.jsonl").read_text().splitlines()[0])
    assert [p["answer"] for p in details["hint"]] == [5.0, 4.0, 4.0] and details["votes"]["hint"]["answer"] == 4.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "answer": 1, "hint": "The answer is 1."}\n')
    refused = CliRunner().invoke(main, ["score", str(bad)])
    assert refused.exit_code == 2 and "field 'hint'" in refused.output


def test_a_new_kind_is_scored_by_the_lm_eval_metrics(hint):
    from mixdistill_plugin.harness.adapter import ReadAnswers, accuracy, process_results

    metrics = metrics_of([hint])
    docs = [{"id": qid, "question": "?", "answer": gold, "kind": hint, "metrics": metrics, "vote": "plain"}
            for qid, gold in (("a", 3), ("b", 7))]
    filtered = ReadAnswers().apply([["The answer is 3.", "The answer is 1.", "The answer is 1."],
                                    ["The answer is 8.", "The answer is 7.", "The answer is 7."]], docs)
    items = {m: [process_results(doc, [paths])[m] for doc, paths in zip(docs, filtered)] for m in metrics}
    assert {m: accuracy(items[m]) for m in metrics} == {"hint_acc": 0.5, "hint_maj": 0.5}


def test_a_new_kind_is_a_column_and_a_line_of_the_report(hint, tmp_path):
    samples = tmp_path / "run" / "eval" / "distilled" / "m" / "samples_svamp_hint_2026-01-01T00-00-00.000000.jsonl"
    samples.parent.mkdir(parents=True)
    samples.write_text("".join(json.dumps({"doc": {"id": qid, "question": qid, "answer": 2.0, "kind": hint},
                                           "resps": [["..."] * len(answers)],
                                           "filtered_resps": [[{"answer": a} for a in answers]]}) + "\n"
                               for qid, answers in (("q1", [2.0, 1.0, 2.0]), ("q2", [1.0, 1.0, 2.0]))))
    result = CliRunner().invoke(main, ["report", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("| run | student | task |"))
    assert header.endswith("| Hint | Hint maj@k |")
    from mixdistill_plugin.report import plotted

    assert "hint_maj" in plotted()


def test_a_kind_registered_after_generate_is_imported_gets_its_samples_option(tmp_path, monkeypatch):
    import click

    from mixdistill_plugin import generate

    command = main.get_command(None, "generate")  # made before the kind is registered
    told = []
    monkeypatch.setattr(generate, "dry_run", lambda settings, notice: told.append(settings)
                        or generate.DryRun([], False, 0, 0, 0, 0, tmp_path / "raw.jsonl"))
    register(PromptKind("hint", 90, "Give a hint, then the answer.", "Hint:", " ", "extract", (), title="Hint"))
    try:
        assert "--hint-samples" in [opt for param in command.get_params(click.Context(command)) for opt in param.opts]
        assert "--hint-samples INTEGER RANGE" in CliRunner().invoke(main, ["generate", "--help"]).output
        for asked, samples in ((["--hint-samples", "2"], {"cot": 4, "pot": 4, "hint": 2}),
                               (["--cot-samples", "0", "--pot-samples", "0", "--hint-samples", "3"], {"hint": 3})):
            result = CliRunner().invoke(main, ["generate", "--dry-run", "--out", str(tmp_path), *asked])
            assert result.exit_code == 0 and "would send 0 requests" in result.output, result.output
            assert told.pop().samples == samples
    finally:
        unregister("hint")
    assert "--hint-samples" not in CliRunner().invoke(main, ["generate", "--help"]).output
    assert CliRunner().invoke(main, ["generate", "--dry-run", "--out", str(tmp_path), "--hint-samples", "2"]).exit_code == 2


def test_a_kind_with_one_path_has_no_majority_column(tmp_path):
    samples = tmp_path / "run" / "eval" / "distilled" / "m" / "samples_svamp_socratic_2026-01-01T00-00-00.000000.jsonl"
    samples.parent.mkdir(parents=True)
    samples.write_text(json.dumps({"doc": {"id": "q1", "question": "q1", "answer": 2.0, "kind": "socratic"},
                                   "resps": [["..."]], "filtered_resps": [[{"answer": 2.0}]]}) + "\n")
    result = CliRunner().invoke(main, ["report", str(tmp_path / "run")])
    header = next(line for line in result.output.splitlines() if line.startswith("| run | student | task |"))
    assert header.endswith("| k | Socratic |")


def test_recipes_name_the_task_that_evaluates_them():
    assert MIXED == RECIPES["mixed"].evaluates == ("cot", "pot")
    runner = CliRunner()
    assert runner.invoke(main, ["recipes", "mixed"]).output == "svamp_mixed\n"
    assert runner.invoke(main, ["recipes", "step_by_step", "--dataset", "gsm8k"]).output == "gsm8k_md_direct\n"
    assert runner.invoke(main, ["recipes", "socratic"]).output == "\n"  # its own loop: mixdistill socratic
    for recipe, drawn in (("mixed", "cot pot"), ("direct", "cot"), ("step_by_step", "cot"), ("socratic", "socratic")):
        assert runner.invoke(main, ["recipes", recipe, "--teacher-kinds"]).output == drawn + "\n"
    assert runner.invoke(main, ["recipes", "--teacher-kinds"]).exit_code == 2
    assert runner.invoke(main, ["recipes", "--names"]).output == "mixed cot pot direct step_by_step socratic\n"
    assert runner.invoke(main, ["recipes", "--dataset", "cqa", "--names"]).output == "cot direct step_by_step\n"
    assert runner.invoke(main, ["recipes", "--dataset", "strategyqa", "--names"]).output == (
        "cot direct step_by_step socratic\n")
    assert runner.invoke(main, ["recipes", "mixed", "--names"]).exit_code == 2
    table = runner.invoke(main, ["recipes"]).output.splitlines()
    assert [row.split()[0] for row in table[1:]] == list(RECIPES)
    assert table[4].split()[-1] == table[5].split()[-1] == "svamp_direct" and table[6].endswith("mixdistill socratic")
