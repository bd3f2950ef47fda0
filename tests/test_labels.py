"""Questions with no gold answer (`generate --no-gold`): the teacher's own mixed vote labels them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.answers import answers_equal
from mixdistill_plugin.cli import main
from mixdistill_plugin.labels import teacher_labels
from mixdistill_plugin.records import Completion
from mixdistill_plugin.tasks import load_questions


def generate(*args: str):
    return CliRunner().invoke(main, ["--allow-weak-sandbox", "generate", "--no-progress", *args])


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _completion(qid: str, kind: str, sample: int, answer, outcome: str = "answer") -> Completion:
    return Completion(id=qid, kind=kind, sample=sample, text="t", answer=answer, outcome=outcome, correct=False,
                      teacher="t")


def test_the_label_is_the_mixed_vote_and_a_completion_without_an_answer_counts_against_it():
    labels = teacher_labels([_completion("a", "cot", 0, 5.0), _completion("a", "cot", 1, 5.0),
                             _completion("a", "pot", 0, 5.0), _completion("a", "pot", 1, None, "error"),
                             _completion("b", "cot", 0, 3.0), _completion("b", "pot", 0, 4.0),
                             _completion("c", "cot", 0, None, "request_error")], tolerance=1e-4)
    assert (labels["a"].answer, labels["a"].agreement, labels["a"].completions) == (5.0, 0.75, 4)
    assert (labels["b"].answer, labels["b"].agreement) == (4.0, 0.5)  # a tie goes to the program (pot_first)
    assert "c" not in labels  # a request error is no completion


def test_svamp_with_its_gold_hidden_is_labelled_where_the_recorded_paths_agree(tmp_path):
    out = tmp_path / "no-gold"
    result = generate("--dataset", "svamp", "--teacher", "recorded", "--no-gold", "--limit", "60", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert all(q["answer"] is None and q["annotation"] is None for q in rows(out / "questions.jsonl"))
    assert json.loads((out / "config.json").read_text())["no_gold"] is True
    raw = rows(out / "raw.jsonl")
    answers = {(r["id"], r["kind"]): r["answer"] for r in raw if r["outcome"] != "request_error"}
    kept = rows(out / "train.jsonl")
    assert kept and all(r["label"] == "teacher" and r["agreement"] == 1.0 for r in kept)
    for record in kept:  # both paths of the question gave the label
        assert all(answers_equal(answers.get((record["id"], kind)), record["answer"]) for kind in ("cot", "pot"))
    labelled = {r["id"] for r in kept}
    both = {qid for qid, _ in answers if answers_equal(answers.get((qid, "cot")), answers.get((qid, "pot")))}
    assert labelled == both
    stats = json.loads((out / "stats.json").read_text())
    assert stats["labels"] == {"source": "teacher", "min_agreement": 0.75, "questions": 60, "labelled": len(both)}
    assert f"labelled by the teacher's vote: {len(both)} of 60 questions" in result.output
    gold = {q.id: q.answer for q in load_questions("svamp", "train", limit=60)[0]}
    right = sum(answers_equal(r["answer"], gold[r["id"]]) for r in kept)
    assert right / len(kept) >= 0.9  # agreeing paths are mostly right (bench/labels.py: 95.5% of 800)

    # the labels survive a rebuild, and a resume that forgets --no-gold is refused
    before = (out / "train.jsonl").read_bytes()
    assert CliRunner().invoke(main, ["--allow-weak-sandbox", "filter", str(out)]).exit_code == 0
    assert (out / "train.jsonl").read_bytes() == before
    again = generate("--dataset", "svamp", "--teacher", "recorded", "--limit", "60", "--out", str(out))
    assert again.exit_code == 2 and "no_gold was True, now False" in again.output


def test_a_file_without_answers_labelled_from_a_users_own_recording(tmp_path):
    """A label task (choices) from several recorded CoT samples: 3 of 3 agree, 2 of 3 fall short of 0.75;
    the same text twice is one record, as with gold answers."""
    questions = _write(tmp_path / "q.jsonl", [
        {"id": "x", "question": "Where do fish live?", "choices": ["water", "desert"]},
        {"id": "y", "question": "What is cold?", "choices": ["ice", "fire"]}])
    recording = _write(tmp_path / "r.jsonl", [
        *({"id": "x", "kind": "cot", "text": "Fish need water. So the answer is (a) water."} for _ in range(3)),
        {"id": "y", "kind": "cot", "text": "So the answer is (a) ice."},
        {"id": "y", "kind": "cot", "text": "Ice is frozen water. So the answer is (a) ice."},
        {"id": "y", "kind": "cot", "text": "So the answer is (b) fire."}])
    refused = generate("--dataset", str(questions), "--teacher", "recorded", "--recording", str(recording),
                       "--out", str(tmp_path / "refused"))
    assert refused.exit_code == 2 and "q.jsonl:1: field 'answer': missing" in refused.output
    answered = _write(tmp_path / "answered.jsonl", [{"id": "x", "question": "Where?", "choices": ["a", "b"],
                                                     "answer": "a"}])
    refused = generate("--dataset", str(answered), "--teacher", "recorded", "--recording", str(recording), "--no-gold",
                       "--out", str(tmp_path / "refused"))
    assert refused.exit_code == 2 and (
        "answered.jsonl:1: field 'answer': given, but --no-gold says the questions have no answer") in refused.output
    assert not (tmp_path / "refused").exists()
    out = tmp_path / "out"
    result = generate("--dataset", str(questions), "--teacher", "recorded", "--recording", str(recording), "--no-gold",
                      "--cot-samples", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    kept = rows(out / "train.jsonl")
    assert [(r["id"], r["answer"], r["agreement"]) for r in kept] == [("x", "water", 1.0)]
    lower = generate("--dataset", str(questions), "--teacher", "recorded", "--recording", str(recording), "--no-gold",
                     "--cot-samples", "3", "--min-agreement", "0.6", "--decontaminate", str(answered),
                     "--out", str(tmp_path / "lower"))
    assert lower.exit_code == 0, lower.output  # a test set given to --decontaminate keeps its answers
    assert (tmp_path / "lower" / "contamination.jsonl").read_text() == ""
    kept = rows(tmp_path / "lower" / "train.jsonl")
    assert sorted((r["id"], r["answer"], r["agreement"]) for r in kept) == [
        ("x", "water", 1.0), ("y", "ice", 0.6667), ("y", "ice", 0.6667)]  # the dissenting sample is not kept


@pytest.mark.parametrize("args, message", [
    (["--teacher", "recorded", "--min-agreement", "0.5"], "--min-agreement labels questions without gold answers"),
    (["--teacher", "gold", "--no-gold"], "the gold teacher writes from the gold answers"),
])
def test_no_gold_options_that_cannot_work_are_refused(tmp_path, args, message):
    result = generate("--dataset", "svamp", "--limit", "2", *args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o").exists()
