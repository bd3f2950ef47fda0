"""`mixdistill generate` / `filter` against a real OpenAI-protocol HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main
from openai_server import Fault, OpenAIServer, Script

QUESTIONS = [
    ("Ann has 3 red and 4 blue pens. How many pens does she have?", 7),
    ("A box holds 6 eggs. How many eggs are in 5 boxes?", 30),
    ("Tom had 20 dollars and spent 8. How many dollars are left?", 12),
    ("There are 9 birds and 3 fly away. How many birds remain?", 6),
    ("A rope of 12 metres is cut into 4 equal parts. How long is each part?", 3),
    ("Sara reads 5 pages a day for 7 days. How many pages does she read?", 35),
]


def questions_file(tmp_path: Path, rows=QUESTIONS) -> Path:
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "question": q, "answer": a}) + "\n"
                            for i, (q, a) in enumerate(rows)))
    return path


def script_for(rows=QUESTIONS) -> tuple[Script, dict[tuple[str, str], set[str]]]:
    """Completions per question: right, right again (whitespace only), wrong, crashing, endless."""
    script, expected = Script(), {}
    for i, (q, a) in enumerate(rows):
        script.completions[(q, "cot")] = [
            f"We work it out. The answer is {a}.",
            f"We work  it out.\nThe answer is {a}.",   # the same after whitespace normalisation
            f"Maybe. The answer is {a + 1}.",
            "I cannot tell.",
        ]
        script.completions[(q, "pot")] = [
            f"x = {a}\nans = x",
            f"ans = {a} + 1",
            "ans = 1 / 0",
            "while True:\n    pass",
        ]
        expected[(f"p{i}", "cot")] = {f"We work it out. The answer is {a}."}
        expected[(f"p{i}", "pot")] = {f"x = {a}\nans = x"}
    return script, expected


def kept(out: Path) -> dict[tuple[str, str], set[str]]:
    got: dict = {}
    for row in rows(out / "train.jsonl"):
        got.setdefault((row["id"], row["kind"]), set()).add(row["rationale"])
    return got


def run(args: list[str]):
    return CliRunner().invoke(main, ["generate", "--no-progress", "--timeout", "0.5"] + args)


def raw_lines(out: Path) -> list[dict]:
    return rows(out / "raw.jsonl")


def test_keeps_exactly_the_correct_deduplicated_rationales_despite_faults(tmp_path):
    script, expected = script_for()
    (q0, _), (q1, _), (q2, _), (q3, _), (q4, _), _ = QUESTIONS
    script.faults = {
        (q0, "cot"): Fault("429", times=2),
        (q0, "pot"): Fault("500", times=2),
        (q1, "cot"): Fault("drop", times=1),
        (q1, "pot"): Fault("slow", times=1, seconds=3),
        (q2, "cot"): Fault("malformed", times=99),
        (q3, "pot"): Fault("empty", times=99),
        (q4, "cot"): Fault("500", times=99),
    }
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        result = run(["--dataset", str(questions_file(tmp_path)), "--teacher", "openai", "--model", "m",
                      "--base-url", server.base_url, "--request-timeout", "1", "--retries", "3", "--out", str(out)])
        assert result.exit_code == 0, result.output
        # n samples in one call: one request per (question, kind) besides the retries
        assert {r["n"] for r in server.requests} == {4}
        assert all(r["messages"][0]["role"] == "user" and r["messages"][1]["role"] == "assistant"
                   for r in server.requests)
    failed = {(q2, "cot"), (q3, "pot"), (q4, "cot")}
    assert kept(out) == {k: v for k, v in expected.items() if (QUESTIONS[int(k[0][1:])][0], k[1]) not in failed}
    raw = raw_lines(out)
    errors = {(r["id"], r["kind"]) for r in raw if r["outcome"] == "request_error"}
    assert errors == {("p2", "cot"), ("p3", "pot"), ("p4", "cot")}
    reasons = {(r["id"], r["kind"]): r["error"] for r in raw if r["outcome"] == "request_error"}
    assert reasons[("p2", "cot")].startswith("JSONDecodeError")  # malformed body
    assert reasons[("p3", "pot")] == "the response had no choices with text"
    assert reasons[("p4", "cot")] == "HTTP 500: Error code: 500 - injected 500"  # after the retries
    pot = [r for r in raw if r["kind"] == "pot" and r["id"] == "p0"]
    assert sorted((r["sample"], r["outcome"], r["detail"]) for r in pot) == [
        (0, "answer", ""), (1, "answer", ""), (2, "error", "ZeroDivisionError"), (3, "timeout", "over 0.5s")]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["questions"] == 6 and stats["request_errors"] == 12
    assert stats["kinds"]["cot"]["completions"] == 16 and stats["kinds"]["cot"]["correct"] == 8
    assert stats["kinds"]["cot"]["coverage"] == pytest.approx(4 / 6)
    assert stats["kinds"]["pot"]["kept"] == 5
    assert "kept 9 rationales" in result.output

    # resume against a server that has recovered: only the failed samples are asked again
    script.faults = {}
    with OpenAIServer(script) as server:
        again = run(["--dataset", str(questions_file(tmp_path)), "--teacher", "openai", "--model", "m",
                     "--base-url", server.base_url, "--retries", "0", "--out", str(out)])
        assert again.exit_code == 0, again.output
        asked = {(r["messages"][-1]["content"].split("Question: ")[1].split("\n")[0],
                  "pot" if r["messages"][-1]["content"].endswith("Program:") else "cot") for r in server.requests}
    assert asked == failed
    assert kept(out) == expected


def test_changed_sampling_parameters_are_refused(tmp_path):
    data = str(questions_file(tmp_path))
    script, _ = script_for()
    with OpenAIServer(script) as server:
        base = ["--dataset", data, "--teacher", "openai", "--model", "m", "--base-url", server.base_url]
        out = tmp_path / "run2"
        assert run(base + ["--out", str(out), "--cot-samples", "1", "--pot-samples", "1"]).exit_code == 0
        refused = run(base + ["--out", str(out), "--cot-samples", "1", "--pot-samples", "1", "--temperature", "0.2"])
        assert refused.exit_code == 2
        assert "temperature was 0.7, now 0.2" in refused.output and "Use a new --out" in refused.output
        resumed = run(base + ["--out", str(out), "--cot-samples", "1", "--pot-samples", "1"])
        assert resumed.exit_code == 0 and "this run: 0 requests" in resumed.output


def test_unreachable_server_ends_with_a_clear_message_and_keeps_work(tmp_path):
    script, expected = script_for()
    out = tmp_path / "run"
    data = str(questions_file(tmp_path))
    with OpenAIServer(script) as server:
        first = run(["--dataset", data, "--limit", "2", "--teacher", "openai", "--model", "m",
                     "--base-url", server.base_url, "--out", str(out)])
        assert first.exit_code == 0
    before = (out / "raw.jsonl").read_text()
    down = run(["--dataset", data, "--teacher", "openai", "--model", "m", "--base-url", server.base_url,
                "--retries", "1", "--out", str(out)])
    assert down.exit_code == 1
    assert "could not be reached after 1 retries" in down.output
    assert "run the same command again to resume" in down.output
    assert (out / "raw.jsonl").read_text().startswith(before)
    assert kept(out) == {k: v for k, v in expected.items() if k[0] in ("p0", "p1")}


def test_dry_run_prints_prompts_and_sends_nothing(tmp_path):
    script, _ = script_for()
    with OpenAIServer(script) as server:
        result = run(["--dataset", str(questions_file(tmp_path)), "--teacher", "openai", "--model", "m",
                      "--base-url", server.base_url, "--out", str(tmp_path / "run"), "--dry-run"])
        assert server.requests == []
    assert result.exit_code == 0
    assert "would send 12 requests for 48 completions" in result.output
    assert '"role": "assistant"' in result.output and QUESTIONS[0][0] in result.output


def test_bad_dataset_rows_are_named_or_skipped(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"q": "How many?", "a": 3}\n{"q": "", "a": 4}\n{"q": "And now?", "a": "lots"}\n')
    fields = ["--question-field", "q", "--answer-field", "a"]
    refused = run(["--dataset", str(path), "--teacher", "gold", "--out", str(tmp_path / "o")] + fields)
    assert refused.exit_code == 2
    assert "mine.jsonl:2: field 'q': missing" in refused.output and "--skip-bad-rows" in refused.output
    skipped = run(["--dataset", str(path), "--teacher", "gold", "--out", str(tmp_path / "o"), "--skip-bad-rows",
                   "--dry-run"] + fields)
    assert skipped.exit_code == 0, skipped.output
    assert "mine.jsonl:3: field 'a': expected a number, got 'lots'" in skipped.output
    assert "(1 questions" in skipped.output


def test_filter_rebuilds_with_a_new_tolerance_and_cap(tmp_path):
    rows = [("Split 25 apples among 3 children. How many each?", 25 / 3)]
    script = Script(completions={
        (rows[0][0], "cot"): ["Each gets 8.33 apples. The answer is 8.33.", "The answer is 8.333333."],
        (rows[0][0], "pot"): ["ans = 25 / 3", "print(round(25 / 3, 2))"],
    })
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        assert run(["--dataset", str(questions_file(tmp_path, rows)), "--teacher", "openai", "--model", "m",
                    "--base-url", server.base_url, "--cot-samples", "2", "--pot-samples", "2",
                    "--out", str(out)]).exit_code == 0
    assert kept(out) == {("p0", "cot"): {"The answer is 8.333333."}, ("p0", "pot"): {"ans = 25 / 3"}}
    loose = CliRunner().invoke(main, ["filter", str(out), "--tolerance", "1e-3"])
    assert loose.exit_code == 0, loose.output
    assert {k: len(v) for k, v in kept(out).items()} == {("p0", "cot"): 2, ("p0", "pot"): 2}
    capped = CliRunner().invoke(main, ["filter", str(out), "--tolerance", "1e-3", "--max-per-question", "1"])
    assert capped.exit_code == 0
    assert kept(out) == {("p0", "cot"): {"Each gets 8.33 apples. The answer is 8.33."}, ("p0", "pot"): {"ans = 25 / 3"}}
    assert "raw.jsonl" in CliRunner().invoke(main, ["filter", str(tmp_path)]).output


def _generate_subprocess(data: Path, base_url: str, out: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mixdistill_plugin.cli", "generate", "--no-progress", "--dataset", str(data),
           "--teacher", "openai", "--model", "m", "--base-url", base_url, "--concurrency", "4",
           "--cot-samples", "2", "--pot-samples", "2", "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path):
    rows = [(f"Question number {i}: what is {i} plus {i}?", 2 * i) for i in range(40)]
    script, _ = script_for(rows)
    script.latency = 0.05
    data = questions_file(tmp_path, rows)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    with OpenAIServer(script) as server:
        proc = _generate_subprocess(data, server.base_url, killed)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            raw = killed / "raw.jsonl"
            if raw.exists() and raw.read_text().count("\n") >= 40:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with (killed / "raw.jsonl").open("a") as handle:  # as if the kill had torn the last write
            handle.write('{"id": "p7", "kind": "cot", "sam')
        partial = (killed / "raw.jsonl").read_text().count("\n")
        assert 40 <= partial < 160
        resumed = _generate_subprocess(data, server.base_url, killed)
        output = resumed.communicate(timeout=120)[0].decode()
        assert resumed.returncode == 0, output
        assert "dropped a torn last line" in output
        fresh = _generate_subprocess(data, server.base_url, whole)
        assert fresh.communicate(timeout=120)[0] and fresh.returncode == 0
    assert kept(killed) == kept(whole)
    assert (killed / "train.jsonl").read_text() == (whole / "train.jsonl").read_text()
    keys = [(r["id"], r["kind"], r["sample"]) for r in raw_lines(killed)]
    assert len(keys) == len(set(keys)) == 40 * 2 * 2
