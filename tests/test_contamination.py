"""Teacher questions that overlap a test set: found by exact text or a shared run of words, dropped
before the teacher is asked."""

from __future__ import annotations

import json

from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.contamination import HeldOut, flags, words
from mixdistill_plugin.records import Question

TEST = [Question(id="t1", question="Tom had 20 apples and gave 8 of them to Sara. How many apples are left?", answer=12, source="mine"),
        Question(id="t2", question="A rope of 12 metres is cut into 4 equal parts. How long is each part?", answer=3, source="mine")]


def q(qid: str, text: str) -> Question:
    return Question(id=qid, question=text, answer=1, source="mine")


def test_words_ignore_case_punctuation_and_spacing_but_keep_numbers_whole():
    assert words("Tom had 1,000.5  apples; how MANY?") == ["tom", "had", "1,000.5", "apples", "how", "many"]


def test_exact_and_ngram_tiers():
    tests = HeldOut({"mine:test": TEST}, n=8)
    found = {f.id: f for f in flags([
        q("same", "tom had 20 apples, and gave 8 of them to Sara -- how many apples are LEFT"),
        q("eight", "Ben owns a rope of 12 metres is cut into 4 pieces."),  # 9 words in a row from t2: two 8-grams
        q("seven", "Ben owns a rope of 12 metres is cut in two."),  # 7 words in a row
        q("other", "How many legs do 3 spiders have?"),
    ], tests)}
    assert set(found) == {"same", "eight"}
    assert (found["same"].tier, found["same"].match_id, found["same"].against) == ("exact", "t1", "mine:test")
    assert (found["eight"].tier, found["eight"].match_id, found["eight"].shared_ngrams) == ("ngram", "t2", 2)
    assert found["eight"].match_text == TEST[1].question


def test_the_command_and_generate_drop_what_it_flags(tmp_path):
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps({"id": t.id, "problem": t.question, "answer": t.answer}) + "\n" for t in TEST))
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"id": i, "problem": text, "answer": 5}) + "\n" for i, text in [
        ("a", "Tom had 20 apples and gave 8 of them to Sara. How many apples are left?"),
        ("b", "There are 2 cats and 3 dogs. How many animals are there?"),
        ("c", "A rope of 12 metres is cut into 4 equal parts, and then one more. How long is it?")]))
    result = CliRunner().invoke(main, ["contamination", str(train), "--against", str(test_file), "--question-field",
                                       "problem", "--out", str(tmp_path / "flags.jsonl")])
    assert result.exit_code == 0, result.output
    assert f"2 of 3 questions flagged ({test_file} exact 1, {test_file} ngram 1)" in result.output
    assert [(r["id"], r["match_id"], r["tier"]) for r in rows(tmp_path / "flags.jsonl")] == [("a", "t1", "exact"),
                                                                                          ("c", "t2", "ngram")]
    out = tmp_path / "teacher"
    generated = CliRunner().invoke(main, ["generate", "--dataset", str(train), "--question-field", "problem",
                                          "--teacher", "gold", "--decontaminate", str(test_file), "--out", str(out),
                                          "--no-progress"])
    assert generated.exit_code == 0, generated.output
    assert "decontaminated: 2 of 3 questions flagged" in generated.stderr
    assert [r["id"] for r in rows(out / "questions.jsonl")] == ["b"]
    assert [r["id"] for r in rows(out / "contamination.jsonl")] == ["a", "c"]
