"""Distilling step-by-step and Socratic CoT: training examples, gold decompositions, the loop."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.answers import answers_equal
from mixdistill_plugin.cli import main
from mixdistill_plugin.prompts import get_kind, prompt_text
from mixdistill_plugin.records import TrainRecord
from mixdistill_plugin.socratic import DONE, Step, final_answer, parse_steps, role_question, run
from mixdistill_plugin.training import examples

QUESTION = "Ann has 3 red and 4 blue pens. She buys 2 more packs of 5 pens. How many pens does she have?"
COT = TrainRecord(id="a", question=QUESTION, answer=17, kind="cot", teacher="gold",
                  rationale="She has 3 + 4 = 7 pens. The packs hold 2 * 5 = 10. 7 + 10 = 17. The answer is 17.")
SOCRATIC = TrainRecord(id="a", question=QUESTION, answer=17, kind="socratic", teacher="gold",
                       rationale="How many pens does she have at first? ** She has 3 + 4 = 7 pens.\n"
                                 "How many pens does she have now? ** She has 7 + 2 * 5 = 17 pens.")


def test_step_by_step_prefixes_are_in_the_registry():
    assert get_kind("predict").instruction.startswith("predict:")
    assert get_kind("explain").instruction.startswith("explain:")
    assert prompt_text("predict", "Q?").endswith("Question: Q?\nAnswer:")


def test_a_cot_record_yields_the_two_step_by_step_examples():
    predict, explain = examples(COT, ["predict", "explain"])
    assert (predict.kind, predict.question, predict.target) == ("predict", QUESTION, "17")
    assert (explain.kind, explain.question, explain.target) == ("explain", QUESTION, COT.rationale)
    assert examples(COT) == examples(COT, ["cot"]) and [e.kind for e in examples(COT)] == ["cot"]
    assert examples(COT, ["decompose", "solve", "pot"]) == []  # made from other record kinds


def test_a_socratic_record_yields_one_example_per_step_and_role():
    steps = parse_steps(SOCRATIC.rationale)
    decompose = examples(SOCRATIC, ["decompose"])
    assert [e.target for e in decompose] == [steps[0].question, steps[1].question, DONE]
    assert decompose[1].question == f"{QUESTION}\nSub-question: {steps[0].question}\nAnswer: {steps[0].answer}"
    solve = examples(SOCRATIC, ["solve"])
    assert [e.target for e in solve] == [s.answer for s in steps]
    assert solve[1].question == decompose[1].question + f"\nSub-question: {steps[1].question}"
    bad = SOCRATIC.model_copy(update={"rationale": "no separator on this line"})
    with pytest.raises(ValueError, match="sub-question \\*\\* answer"):
        examples(bad, ["solve"])


def test_decompositions_parse_and_give_the_last_steps_result():
    assert final_answer(SOCRATIC.rationale) == 17
    assert final_answer("How much? ** 90 - 15 = 75 bees return in the last 6 hours") == 75
    assert final_answer("How much? ** The answer is 4.") == 4
    assert parse_steps("Q ** A\njust text") is None and final_answer("") is None


def test_the_loop_replays_a_decomposition_with_the_training_prompts():
    """Teacher-forced: a student that writes the training targets reproduces the record exactly,
    and the loop asks exactly the training examples' questions, in the same order per role."""
    targets = {(e.kind, e.question): e.target for e in examples(SOCRATIC, ["decompose", "solve"])}
    asked: list[tuple[str, str]] = []

    def student(kind: str, questions: list[str]) -> list[str]:
        asked.extend((kind, q) for q in questions)
        return [targets[(kind, q)] for q in questions]

    logged = []
    (trace,) = run([QUESTION], student, on_step=lambda i, t: logged.append(len(t.steps)))
    assert trace.steps == parse_steps(SOCRATIC.rationale) and trace.ended == "done" and trace.answer() == 17
    assert sorted(asked) == sorted(targets) and logged == [1, 2]


def test_the_loop_batches_each_role_and_stops_at_max_steps():
    calls = []

    def student(kind, questions):
        calls.append((kind, len(questions)))
        if kind == "decompose":  # the first problem stops after one step, the second never does
            return [DONE if q.startswith("P1") and "Sub-question" in q else "What next?" for q in questions]
        return ["It is 2 + 2 = 4."] * len(questions)

    first, second = run(["P1 problem", "P2 problem"], student, max_steps=3)
    assert (first.ended, len(first.steps), second.ended, len(second.steps)) == ("done", 1, "max_steps", 3)
    assert calls == [("decompose", 2), ("solve", 2), ("decompose", 2), ("solve", 1), ("decompose", 1), ("solve", 1)]
    assert role_question("P", [Step("q", "a")], "next") == "P\nSub-question: q\nAnswer: a\nSub-question: next"


def test_gold_socratic_decompositions(data, tmp_path):
    from mixdistill_plugin.tasks import load_questions
    from mixdistill_plugin.teachers.gold import gold_rationale

    questions, _ = load_questions("gsm8k", "test", data_dir=data)
    texts = [gold_rationale(q, "socratic") for q in questions]
    right = sum(answers_equal(final_answer(t), q.answer) for q, t in zip(questions, texts))
    assert right / len(questions) >= 0.99  # measured 1306 / 1319
    assert texts[0] == ("How many eggs does Janet sell? ** Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n"
                        "How much does Janet make at the farmers' market? ** She makes 9 * 2 = $18 every day at "
                        "the farmer\u2019s market.")
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["generate", "--dataset", "svamp", "--teacher", "gold", "--limit", "40",
                                       "--data-dir", str(data), "--cot-samples", "0", "--pot-samples", "0",
                                       "--socratic-samples", "1", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    kept = rows(out / "train.jsonl")
    assert len(kept) == 40 and all(r["kind"] == "socratic" for r in kept)
    for record in kept:  # one step per operation, the last one asking the problem's own question
        steps = parse_steps(record["rationale"])
        assert steps[-1].question in record["question"] and steps[-1].question.endswith("?")
        assert answers_equal(final_answer(record["rationale"]), record["answer"])
    assert json.loads((out / "stats.json").read_text())["kinds"]["socratic"]["yield"] == 1.0


def test_socratic_run_gives_each_student_its_role_and_writes_lm_evals_layout(tmp_path):
    from mixdistill_plugin.evallog import read_samples
    from mixdistill_plugin.report import load_evaluations
    from mixdistill_plugin.socratic_eval import SocraticSettings, run

    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": QUESTION, "answer": 17}) + "\n"
                         + json.dumps({"id": "b", "question": "Tom has 2 cats. How many cats?", "answer": 3}) + "\n")
    loaded, asked = [], []

    def load(settings, model_args: str, style: str):
        loaded.append((model_args, style))

        def student(kind: str, texts: list[str]) -> list[str]:
            asked.append((model_args, kind))
            if kind == "decompose":
                return ["How many pens?" if "Answer:" not in text else DONE for text in texts]
            return ["He has 2 cats." if "cats" in text else "She has 17 pens." for text in texts]

        return student

    out = tmp_path / "run" / "eval" / "socratic"
    settings = SocraticSettings(model="hf", model_args="pretrained=d", max_gen_toks=8, batch_size=1, device="cpu",
                                chat=False, solver_model_args="pretrained=s", dataset=str(questions), split=None,
                                limit=None, data_dir=None, max_steps=3, output_path=out)
    steps = []
    evaluated = run(settings, load, lambda question, trace: steps.append((question.id, len(trace.steps))))
    assert loaded == [("pretrained=d", "math"), ("pretrained=s", "math")]
    assert {kind for model_args, kind in asked if model_args == "pretrained=d"} == {"decompose"}
    assert {kind for model_args, kind in asked if model_args == "pretrained=s"} == {"solve"}
    assert steps == [("a", 1), ("b", 1)] and evaluated.result.accuracy == 50.0 and evaluated.task == "q_socratic"
    logged = read_samples(evaluated.samples)
    assert [(s.doc["id"], s.gold, s.answers) for s in logged] == [("a", 17.0, [17.0]), ("b", 3.0, [2.0])]
    assert logged[0].texts == ["How many pens? ** She has 17 pens."]
    (results,) = out.glob("results_*.json")
    assert json.loads(results.read_text())["results"]["q_socratic"]["socratic_acc,paths"] == 0.5
    (evaluation,) = load_evaluations(tmp_path / "run")
    assert evaluation.accuracy("socratic_acc") == 50.0


def test_socratic_refuses_a_served_student(tmp_path):
    result = CliRunner().invoke(main, ["socratic", "--model", "openai", "--model_args", "model=m",
                                       "--output-path", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--model openai: socratic runs an lm-eval model backend" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_socratic_command_on_the_real_model(smollm2, data, tmp_path):
    """Two SVAMP questions through `mixdistill socratic` on SmolLM2: it ends, logs every step, and
    writes lm-eval-style results and samples whose score is the shared scoring's."""
    import subprocess
    import sys

    from conftest import REPO
    from mixdistill_plugin.report import load_evaluations

    out = tmp_path / "run" / "eval" / "base"
    cmd = [sys.executable, "-m", "mixdistill_plugin.cli", "socratic", "--model_args", f"pretrained={smollm2}",
           "--dataset", "svamp", "--limit", "2", "--max-steps", "2", "--max-gen-toks", "24", "--data-dir", str(data),
           "--output_path", str(out), "--solver_model_args", f"pretrained={smollm2}"]  # two students: same weights
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (samples_file,) = out.glob("samples_svamp_socratic_*.jsonl")
    samples = rows(samples_file)
    assert len(samples) == 2
    for sample in samples:
        steps = sample["steps"]
        assert 1 <= len(steps) <= 2 and sample["ended"] in ("done", "max_steps")
        if sample["ended"] == "max_steps":
            assert len(steps) == 2
        for n, step in enumerate(steps, start=1):  # each step logged as it was made
            assert f"[{sample['doc']['id']} step {n}] {step['question']} -> {step['answer']}" in proc.stderr
        (path,) = sample["filtered_resps"][0]
        assert path["answer"] == final_answer(sample["resps"][0][0])
    (results_file,) = out.glob("results_*.json")
    results = json.loads(results_file.read_text())
    assert results["config"]["solver_model_args"] == f"pretrained={smollm2}"
    accuracy = results["results"]["svamp_socratic"]["socratic_acc,paths"]
    correct = [answers_equal(s["filtered_resps"][0][0]["answer"], s["doc"]["answer"]) for s in samples]
    assert accuracy == sum(correct) / 2
    (evaluation,) = load_evaluations(tmp_path / "run")
    assert evaluation.task == "svamp_socratic" and evaluation.accuracy("socratic_acc") == 100 * accuracy
