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


def test_the_judge_tier_keeps_the_ngram_candidates_it_calls_the_same_problem(tmp_path):
    """A real request loop against the OpenAI-protocol test server, whose judge says SAME only for the story
    about trivia; the exact match is not asked."""
    from openai_server import OpenAIServer, Script

    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps(row) + "\n" for row in [
        {"id": "t1", "question": "Luke played 177 rounds of a trivia game and gained 46 points in each round. "
                                 "How many points did he score?", "answer": 8142},
        {"id": "t2", "question": "How much money does she have left after buying 3 pens at 2 dollars each "
                                 "with her 10 dollars?", "answer": 4},
        {"id": "t3", "question": "A farmer has 12 cows and buys 5 more. How many cows now?", "answer": 17}]))
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in [
        {"id": "a", "question": "Luke scored 84 points after 2 rounds. He played 177 rounds of a trivia game and "
                                "gained 46 points in each round. How many?", "answer": 42},
        {"id": "b", "question": "Ann sold her bike. How much money does she have left after buying 3 pens at 2 "
                                "dollars each?", "answer": 1},
        {"id": "c", "question": "A farmer has 12 cows and buys 5 more. How many cows now?", "answer": 17}]))

    def judge(body: dict) -> str:
        return "SAME" if "trivia" in body["messages"][-1]["content"] else "They are DIFFERENT problems."

    with OpenAIServer(Script(reply_to=judge)) as server:
        result = CliRunner().invoke(main, ["contamination", str(train), "--against", str(test_file), "--judge-model",
                                           "m", "--base-url", server.base_url, "--out", str(tmp_path / "flags.jsonl")])
        asked = [b["messages"][-1]["content"] for b in server.requests]
    assert result.exit_code == 0, result.output
    assert "the judge called 1 ngram candidate(s) different, left out" in result.output
    assert [(r["id"], r["match_id"], r["tier"], r["judge"]) for r in rows(tmp_path / "flags.jsonl")] == [
        ("a", "t1", "ngram", "same"), ("c", "t3", "exact", None)]
    assert len(asked) == 2 and all("Second question:" in text for text in asked)  # the two ngram candidates


def test_a_judge_reply_is_read_as_same_different_or_unreadable():
    from mixdistill_plugin.contamination import read_verdict

    assert [read_verdict(t) for t in ("SAME", "Different.", "same problem", "I cannot tell")] == [
        "same", "different", "same", "unreadable"]
