"""The task registry is the one place a dataset is described: a dataset registered there is loaded,
asked, trained, evaluated and listed by every stage; the shipped label benchmarks go through them too."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.records import Question
from mixdistill_plugin.tasks import Task, load_questions, register_task, unregister_task

TOY = [
    {"id": "t1", "question": "Is snow cold?", "answer": True, "why": "Snow is frozen water."},
    {"id": "t2", "question": "Can a fish climb a tree?", "answer": False, "why": "Fish have no limbs to climb with."},
    {"id": "t3", "question": "Is the sun a star?", "answer": True, "why": "The sun is the star nearest to us."},
]


@pytest.fixture
def toyqa(tmp_path):
    """A yes/no dataset ``toyqa`` registered for one test, with one entry and nothing else."""
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in TOY))

    def read(split: str, data_dir: Path | None) -> list[Question]:
        return [Question(id=r["id"], question=r["question"], answer=r["answer"], answer_type="yes_no", style="yes_no",
                         source="toyqa", annotation=r["why"]) for r in rows(path)]

    register_task(Task("toyqa", "ToyQA", read, "yes_no", "yes_no", "toyqa", ("train", "test"), ("cot",),
                       about="three toy yes/no questions"))
    yield "toyqa"
    unregister_task("toyqa")


def test_a_registered_dataset_reaches_every_stage(toyqa, tmp_path):
    from mixdistill_plugin.harness.make_tasks import render
    from mixdistill_plugin.recipes import RECIPES

    questions, _ = load_questions(toyqa)
    assert [q.answer for q in questions] == ["yes", "no", "yes"]
    runner = CliRunner()
    listed = runner.invoke(main, ["tasks"]).output
    assert "\ntoyqa " in listed and "toyqa_cot, toyqa_direct" in listed
    assert runner.invoke(main, ["tasks", toyqa, "--train-split"]).output == "train\n"
    assert runner.invoke(main, ["recipes", "step_by_step", "--dataset", toyqa]).output == "toyqa_direct\n"
    refused = runner.invoke(main, ["recipes", "mixed", "--dataset", toyqa])
    assert refused.exit_code == 2 and "does not apply to ToyQA (yes/no questions)" in refused.output
    files = render()
    assert {"toyqa_cot.yaml", "toyqa_direct.yaml", "_toyqa_group.yaml"} <= set(files)
    assert "toyqa_mixed.yaml" not in files and "dataset: toyqa" in files["toyqa_cot.yaml"]
    assert RECIPES["cot"].task_name(toyqa) == "toyqa_cot"
    for command in ("generate", "socratic"):  # the --dataset help lists it (socratic: yes/no questions decompose)
        assert "strategyqa, toyqa), or a" in " ".join(runner.invoke(main, [command, "--help"]).output.split())

    out = tmp_path / "teacher"
    result = runner.invoke(main, ["generate", "--dataset", toyqa, "--teacher", "gold", "--out", str(out),
                                  "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "pot: does not apply to yes/no questions; not asked" in result.output
    train = rows(out / "train.jsonl")
    assert [(r["kind"], r["answer"], r["style"]) for r in train] == [("cot", "yes", "yes_no"), ("cot", "no", "yes_no"),
                                                                      ("cot", "yes", "yes_no")]
    assert train[1]["rationale"] == "Fish have no limbs to climb with. So the answer is no."

    # training: the formatter renders the record's prompt in the dataset's style
    from mixdistill_plugin.axolotl_plugin.formatter import render_prompt
    from mixdistill_plugin.records import TrainRecord
    from mixdistill_plugin.training import examples

    (example,) = examples(TrainRecord(**train[0]), ["cot"])
    prompt = render_prompt(example.kind, example.question, "plain", style=example.style)
    assert "Question: Is snow cold?" in prompt and "yes/no question" in prompt
    # evaluation: lm-eval's documents of toyqa_cot carry the same prompt and the task's metrics
    if importlib.util.find_spec("lm_eval"):
        from mixdistill_plugin.harness.adapter import doc_to_text, load_docs

        docs = load_docs(dataset=toyqa, kinds=["cot"])["test"]
        assert len(docs) == 3 and doc_to_text(docs[0]) == prompt
    # scoring: the dataset's label set reads lines that carry none
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": r["id"], "answer": r["answer"], "cot": [r["rationale"]]}) + "\n"
                             for r in train))
    scored = runner.invoke(main, ["score", str(preds), "--json", "--dataset", toyqa])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["cot_acc"] == 100.0


def test_training_and_evaluation_render_one_prompt_for_label_tasks():
    """The formatter's prompt and the lm-eval task's prompt of the same label question are the same bytes."""
    pytest.importorskip("lm_eval")
    from mixdistill_plugin.axolotl_plugin.formatter import render_prompt
    from mixdistill_plugin.harness.adapter import doc_to_text, load_docs
    from mixdistill_plugin.records import TrainRecord
    from mixdistill_plugin.tasks import get_task
    from mixdistill_plugin.training import examples

    for dataset, kinds in (("cqa", ["cot"]), ("esnli", ["predict"]), ("strategyqa", ["cot"])):
        split = get_task(dataset).test_split
        docs = load_docs(dataset=dataset, split=split, kinds=kinds, questions=2)["test"]
        question = load_questions(dataset, split)[0][0]
        record = TrainRecord(id=question.id, question=question.question, answer=question.answer, kind="cot",
                             rationale="r", teacher="gold", style=question.style)
        (example,) = examples(record, kinds)
        assert render_prompt(example.kind, example.question, "plain", style=example.style) == doc_to_text(docs[0])


def test_eval_refuses_a_file_beside_a_task_of_another_dataset(tmp_path):
    data = tmp_path / "mine.jsonl"
    data.write_text(json.dumps({"question": "Is ice cold?", "answer": True}) + "\n")
    result = CliRunner().invoke(main, ["eval", "--dataset", str(data), "--tasks", "svamp_mixed", "--model", "hf"])
    assert result.exit_code == 2
    assert "--tasks svamp_mixed reads another dataset and would ignore the file" in result.output


def test_lm_eval_tasks_refuse_what_does_not_apply(tmp_path):
    pytest.importorskip("lm_eval")
    from mixdistill_plugin.harness.adapter import load_docs

    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"question": "Pick one", "answer": "b", "choices": ["a", "b"]}) + "\n")
    with pytest.raises(ValueError, match="asks for pot, which does not apply to multiple-choice questions"):
        load_docs(file=str(labels), kinds=["cot", "pot"])
    with pytest.raises(ValueError, match="this task evaluates svamp, not the file"):
        load_docs(dataset="svamp", file=str(labels))
    docs = load_docs(file=str(labels), kinds=["cot"])["test"]
    assert docs[0]["answer"] == "b" and docs[0]["choices"] == ["a", "b"] and docs[0]["style"] == "choice"
