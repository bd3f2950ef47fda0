"""`mixdistill grade` and `filter --min-grade` against a scripted judge (an OpenAI-protocol server on
127.0.0.1 whose grades the test writes), and the report's rationale-quality section."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.report import grades_section
from mixdistill_plugin.rubric import read_grade
from openai_server import Fault, OpenAIServer, Script

MIXDISTILL = Path(sys.executable).parent / "mixdistill"
QUESTIONS = [("Ann has 3 red and 4 blue pens. How many pens does she have?", 7),
             ("A box holds 6 eggs. How many eggs are in 5 boxes?", 30),
             ("Tom had 20 dollars and spent 8. How many dollars are left?", 12)]


def teacher_folder(tmp_path: Path, questions=QUESTIONS) -> Path:
    """A teacher folder made by `mixdistill generate`: per question a careful and a guessed CoT
    rationale (both right), a right and a wrong program."""
    script = Script()
    for q, a in questions:
        script.completions[(q, "cot")] = [f"Add them carefully. The answer is {a}.", f"I guess. The answer is {a}."]
        script.completions[(q, "pot")] = [f"ans = {a}", f"ans = {a} + 1"]
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps({"id": f"p{i}", "question": q, "answer": a}) + "\n"
                            for i, (q, a) in enumerate(questions)))
    out = tmp_path / "teacher"
    with OpenAIServer(script) as server:
        result = CliRunner().invoke(main, ["generate", "--no-progress", "--dataset", str(data), "--teacher", "openai",
                                           "--model", "m", "--base-url", server.base_url, "--cot-samples", "2",
                                           "--pot-samples", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def scripted_grade(solution: str) -> int:
    return 5 if "carefully" in solution else 2 if "guess" in solution else 4


def judge_reply(body: dict) -> str:
    """5 for a careful rationale, 2 for a guess, 4 for a program; the eggs' guess gets a reply with
    no grade in it, Tom's careful one a plain `Score: 4` line."""
    user = body["messages"][-1]["content"]
    solution = user.split("):\n", 1)[1]
    if "eggs" in user and "guess" in solution:
        return "Looks fine to me."
    if "Tom" in user and "carefully" in solution:
        return "The steps add up.\nScore: 4"
    grade = scripted_grade(solution)
    return json.dumps({"steps_correct": grade > 3, "answer_follows": True, "irrelevant_or_missing": "",
                       "reasons": f"scripted {grade}", "score": grade})


def grade(folder: Path, server: OpenAIServer, *extra: str):
    return CliRunner().invoke(main, ["grade", str(folder), "--model", "judge", "--base-url", server.base_url,
                                     "--no-progress", "--concurrency", "4", *extra])


def by_key(path: Path) -> dict[tuple, dict]:
    return {(g["id"], g["kind"], g["sample"]): g for g in rows(path)}


@pytest.mark.parametrize("text, expected", [
    ('{"steps_correct": true, "answer_follows": true, "irrelevant_or_missing": "", "reasons": "ok", "score": 5}',
     {"grade": 5, "steps_correct": True, "answer_follows": True, "irrelevant_or_missing": "", "reasons": "ok"}),
    ('Here you go:\n```json\n{"reasons": "a {brace} in text", "score": "3"}\n```\nThanks.',
     {"grade": 3, "reasons": "a {brace} in text"}),
    ('I think {this} is good. {"score": 2.0, "steps_correct": "no"}', {"grade": 2}),
    ("The steps are fine.\n**Score:** 4/5", {"grade": 4}),
    ("grade = 1", {"grade": 1}),
    ('{"score": 7}', None),
    ('{"score": true}', None),
    ("Score: 3.5", None),
    ("Score: 0", None),
    ("The solution is excellent, 5 stars", None),
    ('{"score": 4', None),
    ("", None),
])
def test_read_grade(text, expected):
    assert read_grade(text) == expected


def test_grade_teacher_folder_then_filter_by_grade(tmp_path):
    teacher = teacher_folder(tmp_path)
    script = Script(reply_to=judge_reply)
    with OpenAIServer(script) as server:
        result = grade(teacher, server)
        assert result.exit_code == 0, result.output
        sent = list(server.requests)
        again = grade(teacher, server)  # resumed: everything is graded or recorded as unreadable
        assert again.exit_code == 0 and len(server.requests) == len(sent)
    assert len(sent) == 12
    first = sent[0]
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["schema"]["required"][-1] == "score"
    assert first["temperature"] == 0 and first["messages"][0]["role"] == "system"
    # the judge sees the problem and the rationale, and for a program the answer it runs to
    wrong_program = next(b for b in sent if "ans = 7 + 1" in b["messages"][1]["content"])
    assert "When run, the program's answer is: 8." in wrong_program["messages"][1]["content"]

    grades = by_key(teacher / "grades.jsonl")
    assert len(grades) == 12 and all(g["judge"] == "openai:judge" and g["file"] == "raw.jsonl" for g in grades.values())
    assert grades[("p1", "cot", 1)]["status"] == "unreadable"
    assert grades[("p1", "cot", 1)]["reply"] == "Looks fine to me." and grades[("p1", "cot", 1)]["grade"] is None
    assert grades[("p2", "cot", 0)]["grade"] == 4 and grades[("p2", "cot", 0)]["reasons"] == ""  # read from `Score: 4`
    assert grades[("p0", "cot", 0)]["reasons"] == "scripted 5" and grades[("p0", "cot", 0)]["steps_correct"] is True
    assert {k: g["grade"] for k, g in grades.items() if k[1] == "pot"} == {
        (f"p{i}", "pot", s): 4 for i in range(3) for s in range(2)}
    assert [grades[(f"p{i}", "pot", 1)]["correct"] for i in range(3)] == [False] * 3

    assert "complete: 11 of 12 rationales graded, 1 unreadable replies, 0 failed requests" in result.output
    assert "judge agreement with correctness: 54.5% [95% CI 28.0, 78.7] of 11 graded rationales" in result.output
    summary = json.loads((teacher / "grades_stats.json").read_text())
    assert (summary["graded"], summary["unreadable"], summary["right"], summary["right_low"], summary["wrong"],
            summary["wrong_high"]) == (11, 1, 8, 2, 3, 3)
    assert summary["mean_grade"] == pytest.approx(42 / 11) and summary["complete"] is True
    kinds = {g["kind"]: g for g in summary["groups"]}
    assert kinds["cot"]["mean_grade"] == pytest.approx(3.6) and kinds["cot"]["agreement"] == pytest.approx(3 / 5)
    assert (kinds["pot"]["wrong_high"], kinds["pot"]["agreement"]) == (3, 0.5)

    filtered = CliRunner().invoke(main, ["filter", str(teacher), "--min-grade", "4"])
    assert filtered.exit_code == 0, filtered.output
    train = rows(teacher / "train.jsonl")
    assert sorted((t["id"], t["kind"], t["rationale"]) for t in train) == sorted(
        [(f"p{i}", "cot", f"Add them carefully. The answer is {a}.") for i, (_, a) in enumerate(QUESTIONS)]
        + [(f"p{i}", "pot", f"ans = {a}") for i, (_, a) in enumerate(QUESTIONS)])
    assert {"question", "answer", "kind", "rationale", "teacher", "source", "sample"} <= set(train[0])
    filters = json.loads((teacher / "stats.json").read_text())["filters"]
    assert (filters["right"], filters["right_and_graded"], filters["right_ungraded"]) == (
        {"cot": 6, "pot": 3}, {"cot": 3, "pot": 3}, {"cot": 1, "pot": 0})
    assert "cot: 6 right, 3 of them graded >= 4 (1 right but not graded: run mixdistill grade" in filtered.output
    strict = CliRunner().invoke(main, ["filter", str(teacher), "--min-grade", "5"])
    assert strict.exit_code == 0 and len(rows(teacher / "train.jsonl")) == 2  # the careful rationales graded 5

    section = "\n".join(grades_section([tmp_path]))  # tmp_path is laid out as a run: teacher/
    assert f"| {tmp_path.name} | teacher | cot | openai:judge | 5 | 1 | 3.60 | 100.0 | 40.0 | - | 60.0 [" in section
    assert f"| {tmp_path.name} | teacher | pot | openai:judge | 6 | 0 | 4.00 | 50.0 | 0.0 | 100.0 | 50.0 [" in section
    assert f"| {tmp_path.name} | cot | 6 | 6 | 5 | 2 | 1 |" in section  # what --min-grade 5 kept

    plain = CliRunner().invoke(main, ["filter", str(teacher)])
    assert plain.exit_code == 0 and len(rows(teacher / "train.jsonl")) == 9
    assert "filters" not in json.loads((teacher / "stats.json").read_text())


def test_generate_after_a_grade_filter_says_the_filter_must_be_applied_again(tmp_path):
    teacher = teacher_folder(tmp_path, QUESTIONS[:1])
    with OpenAIServer(Script(reply_to=judge_reply)) as server:
        assert grade(teacher, server).exit_code == 0
    assert CliRunner().invoke(main, ["filter", str(teacher), "--min-grade", "5"]).exit_code == 0
    assert len(rows(teacher / "train.jsonl")) == 1
    with OpenAIServer(Script()) as server:  # nothing left to ask: the run only rebuilds its outputs
        again = CliRunner().invoke(main, ["generate", "--no-progress", "--dataset", str(tmp_path / "problems.jsonl"),
                                          "--teacher", "openai", "--model", "m", "--base-url", server.base_url,
                                          "--cot-samples", "2", "--pot-samples", "2", "--out", str(teacher)])
        assert again.exit_code == 0, again.output
        assert not server.requests
    assert len(rows(teacher / "train.jsonl")) == 3  # every right rationale again
    assert "held only rationales graded at least 5" in again.stderr
    assert f"mixdistill filter {teacher} --min-grade 5 --grades {teacher / 'grades.jsonl'}" in again.stderr


def test_response_format_falls_back_and_failed_requests_are_asked_again(tmp_path):
    teacher = teacher_folder(tmp_path, QUESTIONS[:1])
    script = Script(reply_to=judge_reply, response_formats=("json_object",),
                    faults={("", ""): Fault("500", times=3)})
    with OpenAIServer(script) as server:
        result = grade(teacher, server, "--retries", "0", "--concurrency", "1")
        assert result.exit_code == 0, result.output
        assert "refused response_format json_schema" in result.output
        assert "asking with json_object from now on" in result.output
        forms = [(b.get("response_format") or {}).get("type") for b in server.requests]
        assert forms[0] == "json_schema" and set(forms[1:]) == {"json_object"}
        assert server.requests[-1]["response_format"]["schema"]["properties"]["score"]["maximum"] == 5
        statuses = [g["status"] for g in rows(teacher / "grades.jsonl")]
        assert statuses.count("request_error") == 3 and statuses.count("graded") == 1
        assert "incomplete: 1 of 4 rationales graded" in result.output
        resumed = grade(teacher, server, "--retries", "0")
        assert resumed.exit_code == 0, resumed.output
        assert "complete: 4 of 4 rationales graded" in resumed.output
    latest = {k: g for k, g in by_key(teacher / "grades.jsonl").items()}
    assert {k: g["grade"] for k, g in latest.items()} == {("p0", "cot", 0): 5, ("p0", "cot", 1): 2,
                                                         ("p0", "pot", 0): 4, ("p0", "pot", 1): 4}


def _sample_line(i: int, qid: str, question: str, gold: float, kind: str, texts: list[str],
                 answers: list[float | None]) -> str:
    """A line as lm-eval's --log_samples writes it (filtered answers as Python reprs)."""
    filtered = [repr({"answer": a, "outcome": "answer" if a is not None else "no_answer", "detail": ""})
                for a in answers]
    return json.dumps({"doc_id": i, "doc": {"id": qid, "question": question, "answer": gold, "kind": kind},
                       "resps": [texts], "filtered_resps": [filtered]}) + "\n"


def eval_folder(run: Path) -> None:
    """Two students' samples in a run folder: the base model guesses, the distilled one is careful."""
    (q0, a0), (q1, a1) = QUESTIONS[:2]
    for student, style in (("base", "I guess."), ("distilled", "Add them carefully.")):
        folder = run / "eval" / student / "models__m"
        folder.mkdir(parents=True)
        (folder / "samples_svamp_mixed_2026-01-01T00-00-00.000000.jsonl").write_text(
            _sample_line(0, "q0", q0, a0, "cot", [f"{style} The answer is {a0}.", f"{style} The answer is 1."], [a0, 1])
            + _sample_line(1, "q0", q0, a0, "pot", [f"ans = {a0}", "ans = 1 / 0"], [a0, None])
            + _sample_line(2, "q1", q1, a1, "cot", [f"{style} The answer is 2.", f"{style} The answer is {a1}."], [2, a1])
            + _sample_line(3, "q1", q1, a1, "pot", [f"ans = {a1} + 1", f"ans = {a1}"], [a1 + 1, a1]))
        # an older file of the same task is left alone
        (folder / "samples_svamp_mixed_2025-01-01T00-00-00.000000.jsonl").write_text("not read\n")


def test_grade_student_samples_per_student_and_kind_in_the_report(tmp_path):
    run = tmp_path / "run"
    eval_folder(run)
    with OpenAIServer(Script(reply_to=judge_reply)) as server:
        result = grade(run / "eval", server, "--paths", "2")
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 16
    grades = rows(run / "eval" / "grades.jsonl")
    assert {(g["source"], g["task"]) for g in grades} == {("base/models__m", "svamp_mixed"),
                                                         ("distilled/models__m", "svamp_mixed")}
    assert all(g["file"].endswith("samples_svamp_mixed_2026-01-01T00-00-00.000000.jsonl") for g in grades)
    base_cot = sorted((g["id"], g["sample"], g["correct"], g["grade"]) for g in grades
                      if g["source"].startswith("base") and g["kind"] == "cot")
    assert base_cot == [("q0", 0, True, 2), ("q0", 1, False, 2), ("q1", 0, False, None), ("q1", 1, True, None)]
    section = "\n".join(grades_section([run]))
    # base: right answers graded low (2; the eggs' replies unreadable); distilled: wrong answers graded high (5)
    assert "| run | base | cot | openai:judge | 2 | 2 | 2.00 | 50.0 | 100.0 | 0.0 | 50.0 [" in section
    assert "| run | distilled | cot | openai:judge | 4 | 0 | 5.00 | 50.0 | 0.0 | 100.0 | 50.0 [" in section
    assert "| run | distilled | pot | openai:judge | 4 | 0 | 4.00 | 50.0 | 0.0 | 100.0 | 50.0 [" in section
    assert "Teacher data kept" not in section
    one = CliRunner().invoke(main, ["grade", str(run / "eval" / "base"), "--model", "judge", "--base-url",
                                    "http://127.0.0.1:9/v1", "--out", str(tmp_path / "g.jsonl"), "--limit", "1",
                                    "--give-up-after", "0.5", "--no-progress"])
    assert one.exit_code == 1 and "has answered nothing for 0.5s" in one.output
    assert "incomplete: 0 of 2 rationales graded" in one.output  # --limit 1: one question, its CoT and PoT path


def test_report_shows_the_grade_section(tmp_path):
    run = tmp_path / "run"
    eval_folder(run)
    with OpenAIServer(Script(reply_to=judge_reply)) as server:
        assert grade(run / "eval", server).exit_code == 0
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    text = (run / "report.md").read_text()
    assert "## Rationale quality (judge grades)" in text
    assert "| run | base | cot | openai:judge | 1 | 1 | 2.00 |" in text


@pytest.mark.parametrize("content, expected", [
    ("not json\n", "samples_x_2026-01-01T00-00-00.0.jsonl:1: invalid JSON"),
    ('{"resps": [["a"]]}\n', "samples_x_2026-01-01T00-00-00.0.jsonl:1: field 'doc': missing. expected a line of "
                             "lm-eval's --log_samples"),
    ('{"doc": {"id": 1, "question": "q", "kind": "cot", "answer": true}}\n', "field 'doc.answer': expected a number or a label"),
    ('{"doc": {"id": 1, "question": "q", "kind": "cot", "answer": 1}, "resps": [["a"]], "filtered_resps": [["?"]]}\n',
     "field 'filtered_resps.0.0': expected {'answer': ..., 'outcome': ...}"),
])
def test_bad_samples_exit_2_with_the_place(tmp_path, content, expected):
    (tmp_path / "samples_x_2026-01-01T00-00-00.0.jsonl").write_text(content)
    result = CliRunner().invoke(main, ["grade", str(tmp_path), "--model", "j", "--base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 2 and expected in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_other_bad_input_exits_2(tmp_path):
    empty = CliRunner().invoke(main, ["grade", str(tmp_path), "--model", "j"])
    assert empty.exit_code == 2 and "no raw.jsonl and no samples_*.jsonl here. give a teacher folder" in empty.output
    teacher = teacher_folder(tmp_path)
    no_grades = CliRunner().invoke(main, ["filter", str(teacher), "--min-grade", "4"])
    assert no_grades.exit_code == 2 and "grades.jsonl: no grades here. grade the teacher folder first" in no_grades.output
    with OpenAIServer(Script(reply_to=judge_reply)) as server:
        assert grade(teacher, server, "--limit", "1").exit_code == 0
        other = CliRunner().invoke(main, ["grade", str(teacher), "--model", "other", "--base-url", server.base_url])
    assert other.exit_code == 2 and "holds grades by judge 'openai:judge'. grade into another file with --out" in other.output
    (teacher / "grades.jsonl").write_text('{"file": "raw.jsonl"}\n')
    damaged = CliRunner().invoke(main, ["filter", str(teacher), "--min-grade", "4"])
    assert damaged.exit_code == 2 and "grades.jsonl:1: field 'source': missing" in damaged.output


def _grade_process(folder: Path, base_url: str) -> subprocess.Popen:
    return subprocess.Popen([str(MIXDISTILL), "grade", str(folder), "--model", "judge", "--base-url", base_url,
                             "--concurrency", "4", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_sigkills_lose_and_duplicate_no_grade(tmp_path):
    questions = [(f"Question number {i}: what is {i} plus {i}?", 2 * i) for i in range(20)]
    teacher = teacher_folder(tmp_path, questions)
    whole = tmp_path / "whole.jsonl"
    script = Script(reply_to=judge_reply, latency=0.02)
    with OpenAIServer(script) as server:
        assert grade(teacher, server, "--out", str(whole)).exit_code == 0
        grades = teacher / "grades.jsonl"
        for kill in range(3):
            proc = _grade_process(teacher, server.base_url)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if grades.exists() and grades.read_bytes().count(b"\n") >= 15 * (kill + 1):
                    break
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        with grades.open("a") as handle:
            handle.write('{"file": "raw.jsonl", "id": "p3", "ki')
        assert 45 <= grades.read_text().count("\n") < 80
        resumed = _grade_process(teacher, server.base_url)
        output = resumed.communicate(timeout=120)[0].decode()
    assert resumed.returncode == 0, output
    assert "dropped a torn last line" in output and "complete: 80 of 80 rationales graded" in output
    lines = rows(grades)
    assert len(lines) == 80 and len({(g["id"], g["kind"], g["sample"]) for g in lines}) == 80
    strip = lambda g: {k: v for k, v in g.items() if k != "latency"}  # noqa: E731
    assert {k: strip(g) for k, g in by_key(grades).items()} == {k: strip(g) for k, g in by_key(whole).items()}


def test_grade_imports_no_heavy_stack(tmp_path):
    teacher = teacher_folder(tmp_path, QUESTIONS[:1])
    with OpenAIServer(Script(reply_to=judge_reply)) as server:
        probe = (
            "import sys, runpy; sys.argv = ['mixdistill', 'grade', %r, '--model', 'j', '--base-url', %r, '--no-progress']\n"
            "try:\n    runpy.run_module('mixdistill_plugin.cli', run_name='__main__')\n"
            "except SystemExit as exc: print('EXIT', exc.code)\n"
            "print('HEAVY', sorted(m for m in ('torch', 'transformers', 'lm_eval', 'axolotl') if m in sys.modules))"
        ) % (str(teacher), server.base_url)
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120).stdout
    assert "complete: 4 of 4 rationales graded" in out and "HEAVY []" in out


def _well_formed(grades: list[dict], judge: str) -> None:
    for g in grades:
        assert g["judge"] == judge and g["status"] in ("graded", "unreadable"), g
        if g["status"] == "graded":
            assert 1 <= g["grade"] <= 5 and g["reply"] == ""
        else:
            assert g["grade"] is None and g["reply"]


@pytest.mark.slow
def test_a_real_judge_grades_a_teacher_folder_end_to_end(llama_server, data, tmp_path):
    """SmolLM2 behind the llama.cpp server grades gold rationales: a weak judge, so the pipeline is
    checked, not the grades."""
    teacher = tmp_path / "teacher"
    made = CliRunner().invoke(main, ["generate", "--dataset", "svamp", "--data-dir", str(data), "--limit", "2",
                                     "--teacher", "gold", "--out", str(teacher), "--no-progress"])
    assert made.exit_code == 0, made.output
    from conftest import LLAMA_MODEL

    result = CliRunner().invoke(main, ["grade", str(teacher), "--model", LLAMA_MODEL, "--base-url", llama_server,
                                       "--max-tokens", "160", "--concurrency", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^complete: \d of 4 rationales graded", result.output, re.MULTILINE), result.output
    # llama-cpp-python's server answers OpenAI's json_schema form with an error naming response_format
    assert "refused response_format json_schema" in result.output
    grades = rows(teacher / "grades.jsonl")
    assert sorted((g["id"], g["kind"]) for g in grades) == sorted(
        (c["id"], c["kind"]) for c in rows(teacher / "raw.jsonl"))
    _well_formed(grades, f"openai:{LLAMA_MODEL}")
    summary = json.loads((teacher / "grades_stats.json").read_text())
    assert summary["graded"] + summary["unreadable"] == 4 and summary["complete"]


@pytest.mark.slow
def test_a_local_hf_judge_grades_student_samples(smollm2, tmp_path):
    run = tmp_path / "run"
    eval_folder(run)
    result = CliRunner().invoke(main, ["grade", str(run / "eval" / "distilled"), "--judge", "hf", "--model",
                                       str(smollm2), "--max-tokens", "48", "--limit", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    grades = rows(run / "eval" / "distilled" / "grades.jsonl")
    assert sorted((g["id"], g["kind"], g["source"]) for g in grades) == [("q0", "cot", "models__m"),
                                                                        ("q0", "pot", "models__m")]
    _well_formed(grades, f"hf:{smollm2.name}")
