"""`mixdistill solve`: CoT and PoT sampled in rounds until they agree, with a scripted student, a
scripted OpenAI-protocol server, and the real SmolLM2 through lm-eval's HF model class."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import main
from mixdistill_plugin.solve import SampledPath, solve_in_rounds
from mixdistill_plugin.voting import adaptive_vote


class ScriptedStudent:
    """Round r of question i, kind k: ``script[i][k][r - 1]`` (a number read as the answer, or None)."""

    def __init__(self, script):
        self.script = script
        self.asked: list[tuple[int, list]] = []

    def sample(self, requests, number):
        self.asked.append((number, list(requests)))
        return [f"{kind}:{self.script[i][kind][number - 1]}" for i, kind in requests]

    @staticmethod
    def read(kind, texts):
        out = []
        for text in texts:
            value = text.split(":", 1)[1]
            out.append((None, "error", "ZeroDivisionError") if value == "None" else (float(value), "answer", ""))
        return out


SCRIPT = [
    {"cot": [7, 1, 1, 1], "pot": [7, 2, 2, 2]},          # agree at once: 2 paths
    {"cot": [3, 8, 8, 8], "pot": [8, 8, 1, 1]},          # round 2: CoT's 3-8 tie goes to 3; round 3: 8 and 8
    {"cot": [1, 2, 3, 4], "pot": [5, 6, 7, 8]},          # never: the cap, then the mixed vote
    {"cot": [4, 4, 4, 4], "pot": [None, None, 4, 4]},    # programs fail twice; round 3 agrees
]


def test_rounds_stop_when_cot_and_pot_agree_and_ask_only_open_questions():
    student = ScriptedStudent(SCRIPT)
    closed_per_round = []
    solutions = solve_in_rounds(len(SCRIPT), student.sample, student.read, max_rounds=4, vote="plain",
                                on_round=lambda number, closed: closed_per_round.append((number, closed)))
    assert [(s.answer, s.rounds, s.agreed, len(s.paths)) for s in solutions] == [
        (7.0, 1, True, 2), (8.0, 3, True, 6), (1.0, 4, False, 8), (4.0, 3, True, 6)]
    # each round asks one CoT and one PoT path of every question still open, and nothing else
    assert student.asked == [
        (1, [(0, "cot"), (0, "pot"), (1, "cot"), (1, "pot"), (2, "cot"), (2, "pot"), (3, "cot"), (3, "pot")]),
        (2, [(1, "cot"), (1, "pot"), (2, "cot"), (2, "pot"), (3, "cot"), (3, "pot")]),
        (3, [(1, "cot"), (1, "pot"), (2, "cot"), (2, "pot"), (3, "cot"), (3, "pot")]),
        (4, [(2, "cot"), (2, "pot")]),
    ]
    assert closed_per_round == [(1, [0]), (2, []), (3, [1, 3]), (4, [])]
    assert solutions[3].paths[:2] == [SampledPath("cot", 1, "cot:4", 4.0, "answer", ""),
                                      SampledPath("pot", 1, "pot:None", None, "error", "ZeroDivisionError")]
    # a live run and the report's replay of the same paths agree
    for row, solution in zip(SCRIPT, solutions):
        replay = adaptive_vote([float(a) if a is not None else None for a in row["cot"]],
                               [float(a) if a is not None else None for a in row["pot"]], 4, "plain")
        assert (replay.answer, replay.rounds, replay.agreed) == (solution.answer, solution.rounds, solution.agreed)


def test_the_cap_on_rounds_and_the_vote_at_the_cap():
    student = ScriptedStudent(SCRIPT)
    solutions = solve_in_rounds(len(SCRIPT), student.sample, student.read, max_rounds=2, vote="pot_first")
    assert [(s.answer, s.rounds, s.agreed) for s in solutions] == [
        (7.0, 1, True), (8.0, 2, False), (5.0, 2, False), (4.0, 2, False)]
    assert max(number for number, _ in student.asked) == 2
    assert [len(s.paths) for s in solutions] == [2, 4, 4, 4]
    one = solve_in_rounds(len(SCRIPT), ScriptedStudent(SCRIPT).sample, ScriptedStudent.read, max_rounds=1, vote="plain")
    assert [s.answer for s in one] == [7.0, 3.0, 1.0, 4.0]  # one round: CoT-PoT agreement, else CoT first
    with pytest.raises(ValueError):
        solve_in_rounds(1, student.sample, student.read, max_rounds=0)


def test_a_student_that_answers_too_few_requests_is_an_error():
    with pytest.raises(RuntimeError, match="answered 1 of 2 requests in round 1"):
        solve_in_rounds(1, lambda requests, number: ["x"], ScriptedStudent.read)


# Through an OpenAI-protocol server -----------------------------------------------------------------

QUESTIONS = {
    "Tom has 3 bags with 4 apples each. How many apples does he have?": (
        ["3 * 4 = 12. The answer is 12.", "The answer is 13."],
        ["ans = 3 * 4", "ans = 3 + 4"]),
    "A shelf holds 9 books and 6 are taken away. How many are left?": (
        ["9 + 6 = 15. The answer is 15.", "9 - 6 = 3. The answer is 3.", "The answer is 3."],
        ["ans = 9 - 6", "ans = 9 - 6", "ans = 9 - 6"]),
}


def test_solve_through_an_openai_compatible_server(tmp_path):
    from openai_server import OpenAIServer, Script

    script = Script(completions={(q, kind): texts for q, (cot, pot) in QUESTIONS.items()
                                 for kind, texts in (("cot", cot), ("pot", pot))})
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": f"q{i}", "question": q, "answer": gold}) + "\n"
                                 for i, (q, gold) in enumerate(zip(QUESTIONS, (12, 3)))))
    with OpenAIServer(script) as server:
        result = CliRunner().invoke(main, ["solve", str(questions), "--model", "openai", "--model_args",
                                           f"model=student,base_url={server.base_url}", "--json", "--seed", "0",
                                           "--max-rounds", "3"])
        log = list(server.log)
        bodies = list(server.requests)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["answer"], r["rounds"], r["paths_used"], r["stopped"], r["correct"]) for r in records] == [
        ("q0", 12.0, 1, 2, "agreement", True),   # round 1: 12 and 12
        ("q1", 3.0, 3, 6, "agreement", True)]    # 15 against 3; then CoT's 15-3 tie goes to 15; then 3 and 3
    assert [(p["kind"], p["round"], p["answer"]) for p in records[1]["paths"]] == [
        ("cot", 1, 15.0), ("pot", 1, 3.0), ("cot", 2, 3.0), ("pot", 2, 3.0), ("cot", 3, 3.0), ("pot", 3, 3.0)]
    # one request per path, seeded seed + round - 1: the server's texts[seed] is the round's sample
    assert sorted((a.key[1], a.seed) for a in log) == [("cot", 0), ("cot", 0), ("cot", 1), ("cot", 2),
                                                        ("pot", 0), ("pot", 0), ("pot", 1), ("pot", 2)]
    assert all(b["messages"][0]["role"] == "user" and len(b["messages"]) == 1 for b in bodies)  # zero-shot student prompt
    assert "4.00 paths each on average (at most 6)" in result.stderr and "accuracy 100.0% (2/2)" in result.stderr


def test_solve_reads_plain_lines_from_stdin_and_prints_the_paths():
    from openai_server import OpenAIServer, Script

    question = next(iter(QUESTIONS))
    script = Script(completions={(question, "cot"): ["The answer is 12."], (question, "pot"): ["ans = 1 / 0", "ans = 12"]})
    with OpenAIServer(script) as server:
        result = CliRunner().invoke(main, ["solve", "-", "--model", "openai", "--model_args",
                                           f"model=m,base_url={server.base_url}"], input=question + "\n\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "q1: 12  (CoT and PoT agree in round 2; 4 paths)"
    assert lines[1] == "  round 1 cot: The answer is 12. -> 12"
    assert lines[2] == "  round 1 pot: ans = 1 / 0 -> error (ZeroDivisionError)"
    assert lines[4] == "  round 2 pot: ans = 12 -> 12"


def test_solve_refuses_bad_input(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no question field"}\n')
    result = CliRunner().invoke(main, ["solve", str(bad), "--model", "openai", "--model_args", "model=m"])
    assert result.exit_code == 2 and "expected an object with a 'question' text" in result.output
    result = CliRunner().invoke(main, ["solve", "-", "--model", "openai", "--model_args", "base_url=x"], input="Q?\n")
    assert result.exit_code == 2 and "needs --model_args model=NAME" in result.output
    result = CliRunner().invoke(main, ["solve", "-", "--model_args", "m", "--vote", "majority"], input="Q?\n")
    assert result.exit_code == 2 and "unknown mixed vote" in result.output


# The real student ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_solve_with_the_real_smollm2_through_lm_evals_hf_class(smollm2, data, tmp_path):
    from mixdistill_plugin.tasks import load_questions

    questions, _ = load_questions("svamp", "test", data_dir=data, limit=3)
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps({"id": q.id, "question": q.question, "answer": q.answer}) + "\n" for q in questions))
    args = ["solve", str(path), "--model", "hf", "--model_args", f"pretrained={smollm2}", "--apply_chat_template",
            "--max-rounds", "2", "--max-gen-toks", "48", "--device", "cpu", "--json", "--seed", "3"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert [r["id"] for r in records] == [q.id for q in questions]
    for record in records:
        assert 1 <= record["rounds"] <= 2 and record["paths_used"] == 2 * record["rounds"] == len(record["paths"])
        kinds = [(p["kind"], p["round"]) for p in record["paths"]]
        assert kinds == [(k, r) for r in range(1, record["rounds"] + 1) for k in ("cot", "pot")]
        assert all(p["text"] and p["outcome"] for p in record["paths"])  # real texts; programs really ran
        cot = [p["answer"] for p in record["paths"] if p["kind"] == "cot"]
        pot = [p["answer"] for p in record["paths"] if p["kind"] == "pot"]
        replay = adaptive_vote(cot, pot, record["rounds"])
        assert (replay.answer, replay.agreed) == (record["answer"], record["stopped"] == "agreement")
    assert "paths each on average" in first.stderr and "accuracy" in first.stderr
    again = CliRunner().invoke(main, args)
    assert again.stdout == first.stdout  # seeded per round: the same paths again
