"""Answers beyond numbers: reading labels, choices and yes/no out of real and hand-made model text,
label gold answers in records and `mixdistill score`, and the shipped label benchmarks."""

from __future__ import annotations

import gzip
import json
import re
import sys
import types

import pytest
from click.testing import CliRunner

from mixdistill_plugin.answers import AnswerType, answers_equal, cut_run_on, evaluate_arithmetic, extract_answer
from mixdistill_plugin.cli import main
from mixdistill_plugin.data import SHIPPED
from mixdistill_plugin.tasks import load_questions
from mixdistill_plugin.voting import majority_vote, mixed_vote

CQA = AnswerType.of("choice", ["park", "coloring book", "garden center", "math problem", "gravity"])
NLI = AnswerType.of("label", ["entailment", "neutral", "contradiction"])
YES_NO = AnswerType.of("yes_no")


def recording(name: str) -> list[dict]:
    with gzip.open(SHIPPED / "recordings" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.mark.parametrize("spec, text, expected", [
    (CQA, "Only math problem fits. So the answer is (d) math problem.\n\nQ: What is red?\n(a) park", "math problem"),
    (CQA, "So the answer is (d).", "math problem"),
    (CQA, "So the answer is d.", "math problem"),
    (CQA, "The answer is Garden Center.", "garden center"),
    (CQA, "gravity", "gravity"),
    (CQA, "A: (b)", "coloring book"),
    (CQA, "It could be a park or a coloring book; I pick the coloring book", "coloring book"),  # no marker: the last
    (CQA, "So the answer is (z) nothing.", None),
    (CQA, "(d)", "math problem"),  # a bare letter, as a direct-answer student writes it
    (CQA, "d", "math problem"),
    (CQA, "D.", "math problem"),
    (CQA, "d)", "math problem"),
    (CQA, "(f)", None),  # a letter past the choices
    (CQA, "A man walks to the park.", "park"),  # an article is not a letter
    (CQA, "The correct choice is (d).", "math problem"),  # no marker: the last letter in parentheses
    (NLI, "The packages may not be from lunch.\nAnswer: neutral\n\nPremise: Two women.\nHypothesis: x", "neutral"),
    (NLI, "The answer is contradiction.", "contradiction"),
    (NLI, "Entailment", "entailment"),
    (NLI, "I cannot tell.", None),
    (YES_NO, "Goldfish need cool water. So the answer is no.", "no"),
    (YES_NO, "The answer is yes.", "yes"),
    (YES_NO, "True", "yes"),
    (YES_NO, "The answer: false.", "no"),
    (YES_NO, "Maybe.", None),
])
def test_label_answers_read_from_model_text(spec, text, expected):
    assert spec.read(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("42 / 2 = 21. The answer is (84 / 2).\n\nQ: There are 120 students. The answer is (120 / 3).", 42),
    ("The answer is ((5 + 2) - 6).", 1),
    ("The answer is 84 / 2 = 42.", 42),
    ("The answer is (3 - 10) * 2 dollars.", -14),
    ("The answer is 1,080.", 1080),
    ("The answer is (2 ** 100).", None),  # a power is not plain arithmetic: no answer, not its first number
    ("The answer is (x + 4).", None),  # an expression of words: no answer
    ("The answer is (some bags + 4 bags).", None),
    ("The answer is 18 dollars.", 18),  # a unit word is not an expression
])
def test_numeric_answers_written_as_arithmetic_are_evaluated(text, expected):
    read = extract_answer(text)
    assert read is None if expected is None else read == pytest.approx(expected)


def test_whole_numbers_are_equal_only_when_equal():
    """A relative tolerance would take a seven-digit near miss for the answer; whole numbers compare exactly."""
    assert not answers_equal(1201587.0, 1201565.0) and answers_equal(1201587.0, 1201587)
    assert answers_equal(7.000000000000001, 7.0) and answers_equal(0.3333, 1 / 3) and not answers_equal(0.333, 1 / 3)


def test_arithmetic_is_walked_never_evaluated():
    assert evaluate_arithmetic("(1 + 2) * 3") == 9
    assert evaluate_arithmetic("__import__('os').system('true')") is None
    assert evaluate_arithmetic("1 / 0") is None
    assert evaluate_arithmetic("(" * 300 + "1" + ")" * 300) is None
    assert cut_run_on("Answer: neutral\n\nPremise: a") == "Answer: neutral"


def test_equality_and_votes_over_labels():
    assert answers_equal("neutral", "neutral") and not answers_equal("neutral", "entailment")
    assert not answers_equal("1", 1.0) and not answers_equal(None, None)
    assert majority_vote(["yes", None, "no", "no"]).answer == "no"
    assert majority_vote([None, None]).answer is None
    assert mixed_vote(["tired", "tired", "frozen"], []).answer == "tired"


def paper_reading(before: str) -> str | None:
    """Distilling step-by-step's parse of a PaLM SVAMP output, as its code does it, given the text before
    the first ``Q:``: that must hold ``The answer is`` exactly once, and the answer is the span after it
    from the first ``(`` to the last ``)``."""
    parts = before.rstrip().split("The answer is")
    found = re.search(r"\(.*\)", parts[1]) if len(parts) == 2 else None
    return found.group(0) if found else None


def test_palm_svamp_outputs_read_as_the_paper_reads_them():
    """The paper's parse, redone with the arithmetic walk and compared as the paper compares (with the
    value of SVAMP's equation), reads 586 of the 800 outputs right; Python's ``eval`` in its place also
    takes two answers written ``(x) and (y)`` as y, which is right for both: the paper's 588 (73.5%).
    The reader, compared with SVAMP's answer, reads 594 (74.25%), and every output the two disagree on
    is one of three kinds."""
    svamp = {row["ID"]: row for row in json.loads((SHIPPED / "svamp" / "SVAMP.json").read_text())}
    outputs = recording("svamp_palm_cot")
    ours, paper, kinds = set(), set(), {}
    for o in outputs:
        before = o["text"].split("Q:")[0]
        row, span = svamp[o["id"]], paper_reading(before)
        equation = evaluate_arithmetic(row["Equation"])
        if answers_equal(extract_answer(o["text"]), row["Answer"]):
            ours.add(o["id"])
        if span is not None and evaluate_arithmetic(span) == equation:
            paper.add(o["id"])
        if (o["id"] in ours) == (o["id"] in paper):
            continue
        after = before.split("The answer is")[-1].strip().rstrip(".")
        if "The answer is" not in before:
            kind = "no marker: the reader takes the last number"
        elif equation != row["Answer"]:
            kind = "SVAMP's answer is not its equation's value"
        else:
            assert span != after and evaluate_arithmetic(after) is not None, o
            kind = "the paper reads only the first parenthesised part"
        kinds[kind] = kinds.get(kind, 0) + 1
    assert len(outputs) == 800 and (len(ours), len(paper)) == (594, 586)
    assert kinds == {"the paper reads only the first parenthesised part": 10,
                     "no marker: the reader takes the last number": 1,
                     "SVAMP's answer is not its equation's value": 1}


@pytest.mark.parametrize("dataset, split, name, strict", [
    ("cqa", "train", "cqa_palm_cot", r"So the answer is \(([a-e])\)"),
    ("esnli", "validation", "esnli_palm_cot", r"^Answer: (entailment|neutral|contradiction)\s*$"),
])
def test_palm_label_outputs_agree_with_a_strict_reading(dataset, split, name, strict):
    """Wherever a strict pattern finds PaLM's answer before the run-on, the reader finds the same one."""
    questions = {q.id: q for q in load_questions(dataset, split)[0]}
    outputs = recording(name)
    assert len(outputs) == len(questions)
    checked = right = 0
    for output in outputs:
        question = questions[output["id"]]
        found = re.search(strict, re.split(r"\n\s*\n", output["text"])[0], re.MULTILINE)
        read = question.spec.read(output["text"])
        right += answers_equal(read, question.answer)
        if found:
            checked += 1
            token = found.group(1)
            assert read == (question.spec.choices["abcde".index(token)] if len(token) == 1 else token)
    assert checked > 0.9 * len(outputs)
    assert 0.6 < right / len(outputs) < 0.95  # PaLM is a real teacher: mostly, not always, right


def test_shipped_label_benchmarks_load_with_their_answer_types():
    sizes = {("cqa", "train"): 9741, ("cqa", "test"): 1221, ("esnli", "validation"): 9842, ("esnli", "test"): 9824,
             ("strategyqa", "train"): 2061, ("strategyqa", "dev"): 229}
    for (name, split), size in sizes.items():
        questions, _ = load_questions(name, split)
        assert len(questions) == size and len({q.id for q in questions}) == size
        assert all(answers_equal(q.spec.read(q.spec.sentence(q.answer)), q.answer) for q in questions[:200])
    cqa = load_questions("cqa", "test")[0][0]
    assert cqa.question.splitlines()[1:3] == ["Answer Choices:", "(a) british columbia"] and cqa.answer == "wooded area"
    assert load_questions("strategyqa")[0][0].answer in ("yes", "no")  # its test split is dev
    with pytest.raises(ValueError, match="strategyqa has no split 'test'; its splits: train, dev"):
        load_questions("strategyqa", "test")


def test_anli_loads_from_a_data_folder_and_never_ships(tmp_path):
    from conftest import REPO

    (tmp_path / "anli").mkdir()
    (tmp_path / "anli" / "test.jsonl").write_text((REPO / "tests" / "data" / "anli_tiny.jsonl").read_text())
    questions, _ = load_questions("anli", "test", data_dir=tmp_path)
    assert len(questions) == 12 and {q.answer for q in questions} == {"entailment", "neutral", "contradiction"}
    assert questions[0].question.startswith("Premise: ") and questions[0].style == "nli"
    assert not (SHIPPED / "anli").exists()


def tiny_anli() -> list[dict]:
    from conftest import REPO

    return [json.loads(line) for line in (REPO / "tests" / "data" / "anli_tiny.jsonl").read_text().splitlines()]


def fake_hub(monkeypatch, rows: list[dict] | None = None) -> list[tuple]:
    """``datasets.load_dataset`` replaced: it serves ``rows`` (``None``: fails as offline); the calls it got."""
    calls = []

    def load_dataset(name, split=None):
        calls.append((name, split))
        if rows is None:
            raise ConnectionError("the hub cannot be reached")
        return rows

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    return calls


@pytest.mark.parametrize("split, hub_split", [("test", "test_r1"), ("train", "train_r1"), ("dev", "dev_r1"),
                                              ("dev_r2", "dev_r2"), ("test_r3", "test_r3")])
def test_anli_splits_come_from_the_hub_by_round(monkeypatch, tmp_path, split, hub_split):
    """Without a file in the data folder: train/dev/test are round 1, the others the hub's split of that name."""
    rows = tiny_anli()
    calls = fake_hub(monkeypatch, rows)
    questions, _ = load_questions("anli", split, data_dir=tmp_path)
    assert calls == [("facebook/anli", hub_split)]
    assert [q.id for q in questions] == [row["uid"] for row in rows]
    assert questions[1].answer == "neutral" and questions[0].annotation == rows[0]["reason"]


def test_a_file_in_the_data_folder_is_read_before_the_hub(monkeypatch, tmp_path):
    calls = fake_hub(monkeypatch)
    (tmp_path / "anli").mkdir()
    (tmp_path / "anli" / "dev_r2.jsonl").write_text("".join(json.dumps(row) + "\n" for row in tiny_anli()[:3]))
    questions, _ = load_questions("anli", "dev_r2", data_dir=tmp_path)
    assert [q.answer for q in questions] == ["entailment", "neutral", "contradiction"] and calls == []


def test_without_the_hub_the_error_names_the_file_read_in_its_place(monkeypatch, tmp_path):
    from mixdistill_plugin.data import DataUnavailable

    calls = fake_hub(monkeypatch)
    with pytest.raises(DataUnavailable) as anli:
        load_questions("anli", "test", data_dir=tmp_path)
    message = str(anli.value)
    assert calls == [("facebook/anli", "test_r1")]
    assert message.startswith("cannot load anli/test.jsonl: ") and "(facebook/anli, split test_r1)" in message
    assert "Put anli/test.jsonl in the data folder" in message and "test_r1.jsonl" not in message
    assert "--split" not in message  # no split of ANLI ships
    result = CliRunner().invoke(main, ["generate", "--dataset", "esnli", "--teacher", "gold", "--out", str(tmp_path / "g")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cannot load esnli/train.jsonl" in result.output
    assert "use a split the package ships: --split validation or --split test" in result.output


def write_rows(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_score_reads_label_rows(tmp_path):
    preds = write_rows(tmp_path / "p.jsonl", [
        {"id": 1, "answer": "garden center", "choices": ["park", "garden center", "zoo"],
         "cot": ["So the answer is (b) garden center.", "So the answer is (a).", "The answer is garden center."]},
        {"id": 2, "answer": True, "cot": ["So the answer is no.", "So the answer is yes.", "yes"]},
        {"id": 3, "answer": "neutral", "cot": ["Answer: contradiction", "Answer: contradiction", "Answer: neutral"]},
    ])
    result = CliRunner().invoke(main, ["score", preds, "--json", "--choices", "entailment,neutral,contradiction",
                                       "--details", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert (scored["n"], scored["cot_acc"], scored["cot_maj"]) == (3, pytest.approx(100 / 3), pytest.approx(200 / 3))
    assert scored["pot_acc"] is None and scored["mixed_maj"] is None
    details = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [p["answer"] for p in details[0]["cot"]] == ["garden center", "park", "garden center"]
    assert details[1]["gold"] == "yes" and details[2]["votes"]["cot"]["answer"] == "contradiction"


@pytest.mark.parametrize("row, problem", [
    ({"id": 1, "answer": "zoo", "choices": ["park", "garden"]}, "'zoo' is not one of 'park', 'garden'"),
    ({"id": 1, "answer": "math problem"}, "'math problem' is not a number; a label answer needs its label set"),
    ({"id": 1, "answer": "park", "choices": ["park"]}, "needs at least two different choices"),
    ({"id": 1, "answer": "park", "choices": "park,zoo"}, "field 'choices': expected a list of strings"),
    ({"id": 1, "answer": "park", "choices": ["park", " ", "zoo"]}, "field 'choices': choice 2 of 3 is empty"),
    ({"id": 1, "answer": True, "choices": ["park", "zoo"]}, "field 'answer': true reads as 'yes', which is not one of"),
])
def test_bad_label_rows_name_file_line_and_field(tmp_path, row, problem):
    preds = write_rows(tmp_path / "bad.jsonl", [{"id": 0, "answer": 1, "cot": ["1"]}, row])
    result = CliRunner().invoke(main, ["score", preds])
    assert result.exit_code == 2 and f"bad.jsonl:2: " in result.output and problem in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("dataset, answer, path, expected", [
    ("esnli", "neutral", "Answer: neutral", 100.0),
    ("anli", "entailment", "The answer is contradiction.", 0.0),
    ("strategyqa", "yes", "So the answer is yes.", 100.0),
])
def test_score_takes_the_label_set_from_the_dataset(tmp_path, dataset, answer, path, expected):
    preds = write_rows(tmp_path / "p.jsonl", [{"id": 1, "answer": answer, "cot": [path]}])
    result = CliRunner().invoke(main, ["score", preds, "--json", "--dataset", dataset])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cot_acc"] == expected


@pytest.mark.parametrize("dataset, problem", [
    ("cqa", "p.jsonl:1: field 'answer': 'neutral' is not a number"),  # multiple choice: each line's own choices
    ("nope", "--dataset: unknown dataset 'nope'; known: svamp"),
])
def test_score_refuses_a_dataset_without_one_label_set(tmp_path, dataset, problem):
    preds = write_rows(tmp_path / "p.jsonl", [{"id": 1, "answer": "neutral", "cot": ["Answer: neutral"]}])
    result = CliRunner().invoke(main, ["score", preds, "--dataset", dataset])
    assert result.exit_code == 2 and problem in result.output and "Traceback" not in result.output


def test_true_and_false_answer_choices_yes_and_no(tmp_path):
    rows = [{"id": 1, "answer": True, "choices": ["yes", "no"], "cot": ["So the answer is yes."]},
            {"id": 2, "answer": False, "choices": ["Yes", "No"], "cot": ["So the answer is (b)."]},
            {"id": 3, "answer": False, "choices": ["yes", "no"], "cot": ["So the answer is yes."]}]
    preds = write_rows(tmp_path / "p.jsonl", rows)
    result = CliRunner().invoke(main, ["score", preds, "--json", "--details", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cot_acc"] == pytest.approx(200 / 3)
    assert [json.loads(line)["gold"] for line in (tmp_path / "d.jsonl").read_text().splitlines()] == ["yes", "no", "no"]
    questions, _ = load_questions(write_rows(tmp_path / "q.jsonl", [{k: r[k] for k in ("answer", "choices")} |
                                                                     {"question": f"Question {r['id']}?"} for r in rows]))
    assert [q.answer for q in questions] == ["yes", "no", "no"] and questions[0].answer_type == "choice"


def test_programs_on_label_lines_are_not_scored(tmp_path):
    """PoT does not apply to labels: its metrics are not applicable (-), as for a file without programs."""
    preds = write_rows(tmp_path / "p.jsonl", [
        {"id": 1, "answer": "park", "choices": ["park", "zoo"], "cot": ["So the answer is (a)."], "pot": ["ans = 1"]},
        {"id": 2, "answer": True, "cot": ["So the answer is no."], "pot": ["ans = 'yes'"]},
    ])
    result = CliRunner().invoke(main, ["score", preds])
    assert result.exit_code == 0, result.output
    shown = dict(line.split() for line in result.stdout.splitlines()[1:])
    assert shown == {"cot_acc": "50.00", "pot_acc": "-", "cot_maj": "50.00", "pot_maj": "-", "mixed_maj": "-"}
    assert "p.jsonl: the pot paths of 2 label lines are not scored" in result.stderr
    numbers = write_rows(tmp_path / "n.jsonl", [{"id": 1, "answer": 1, "pot": ["ans = 1"]},
                                                {"id": 2, "answer": "zoo", "choices": ["park", "zoo"], "pot": ["ans = 2"]}])
    scored = json.loads(CliRunner().invoke(main, ["score", numbers, "--json"]).stdout)
    assert scored["pot_acc"] == 50.0  # the numeric line's program counts; the label line has none


def test_an_unknown_label_against_choices_given_on_the_command_line(tmp_path):
    preds = write_rows(tmp_path / "p.jsonl", [{"id": 1, "answer": "maybe", "cot": ["Answer: neutral"]}])
    result = CliRunner().invoke(main, ["score", preds, "--choices", "entailment,neutral,contradiction"])
    assert result.exit_code == 2 and "p.jsonl:1: field 'answer': 'maybe' is not one of 'entailment'" in result.output


def test_strategyqa_socratic_gold_pairs_sub_questions_with_facts():
    from mixdistill_plugin.records import Question
    from mixdistill_plugin.socratic import final_answer
    from mixdistill_plugin.teachers.gold import gold_rationale

    questions, _ = load_questions("strategyqa", "train")
    text = gold_rationale(questions[5], "socratic")
    assert text.splitlines() == [
        "What protein is Shrimp scampi made out of? ** Shrimp scampi is a dish made with shrimp.",
        "What have #1 been found to contain? ** Shrimp have been found to contain microplastics.",
        "Are #2 free from plastic? ** Microplastics are plastic material. So the answer is no."]
    assert final_answer(text, questions[5].spec) == "no" == questions[5].answer
    made = [gold_rationale(q, "socratic") for q in questions]
    assert sum(m is not None for m in made) == 1950  # the others have fewer facts than sub-questions
    assert all(final_answer(m, q.spec) == q.answer for m, q in zip(made, questions) if m)
    short = Question(id="s", question="?", answer=True, answer_type="yes_no", style="yes_no", source="strategyqa",
                     annotation="One fact.", decomposition="A?\nB?\nC?")
    assert gold_rationale(short, "socratic") is None


def test_socratic_refuses_questions_it_has_no_prompts_for():
    result = CliRunner().invoke(main, ["socratic", "--model_args", "pretrained=none", "--dataset", "cqa", "--limit", "2",
                                       "--output_path", "unused"])
    assert result.exit_code == 2 and "Socratic CoT does not apply to multiple-choice questions" in result.output
