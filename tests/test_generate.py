"""`mixdistill generate` / `filter` against a real OpenAI-protocol HTTP server on 127.0.0.1, with faults."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main
from openai_server import TRANSIENT, Fault, OpenAIServer, Script

MIXDISTILL = Path(sys.executable).parent / "mixdistill"  # the installed console script
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


def openai_args(tmp_path: Path, server, out: Path, rows=QUESTIONS) -> list[str]:
    return ["--dataset", str(questions_file(tmp_path, rows)), "--teacher", "openai", "--model", "m",
            "--base-url", server if isinstance(server, str) else server.base_url, "--out", str(out)]


def raw_lines(out: Path) -> list[dict]:
    return rows(out / "raw.jsonl")


def stats_of(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def samples_of(out: Path) -> dict[tuple[str, str, int], str]:
    """(id, kind, sample) -> text of every answered sample; fails on a sample answered twice."""
    got: dict = {}
    for r in raw_lines(out):
        if r["outcome"] != "request_error":
            key = (r["id"], r["kind"], r["sample"])
            assert key not in got, f"{key} answered twice"
            got[key] = r["text"]
    return got


def status_line(output: str) -> str:
    """The summary's first line: whether the output is complete."""
    return next(line for line in output.splitlines() if line.startswith(("complete:", "incomplete:")))


def asked(server) -> set[tuple[str, str]]:
    return {a.key for a in server.log}


def key_of(i: int, kind: str, rows=QUESTIONS) -> tuple[str, str]:
    return (rows[i][0], kind)


def test_every_transient_fault_is_retried_within_the_run(tmp_path):
    script, expected = script_for()
    faults = {  # one fault kind per (question, kind), each for its first attempts
        key_of(0, "cot"): Fault("429", times=2, seconds=0.3), key_of(0, "pot"): Fault("500", times=2),
        key_of(1, "cot"): Fault("502", times=1), key_of(1, "pot"): Fault("503", times=1, seconds=0.2),
        key_of(2, "cot"): Fault("slow", times=1, seconds=1.5), key_of(2, "pot"): Fault("drop", times=2),
        key_of(3, "cot"): Fault("truncate", times=1), key_of(3, "pot"): Fault("malformed", times=2),
        key_of(4, "cot"): Fault("html", times=1), key_of(4, "pot"): Fault("no_choices", times=1),
        key_of(5, "cot"): Fault("empty", times=1), key_of(5, "pot"): Fault("empty_content", times=2),
    }
    assert {f.kind for f in faults.values()} == set(TRANSIENT)
    script.faults = faults
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        result = run(openai_args(tmp_path, server, out) + ["--request-timeout", "1", "--retries", "3"])
        assert result.exit_code == 0, result.output
    # every fault asked again within the run, exactly as often as it happened
    assert {key: server.attempts[key] for key in faults} == {key: f.times + 1 for key, f in faults.items()}
    # n samples in one call: one answered request per (question, kind)
    assert [a.n for a in server.log if a.outcome == "ok"] == [4] * 12
    # Retry-After honoured: the 429's next attempt came no sooner than it said
    first, second = [a.at for a in server.log if a.key == key_of(0, "cot")][1:3]
    assert second - first >= 0.3
    assert kept(out) == expected
    assert not [r for r in raw_lines(out) if r["outcome"] == "request_error"]
    assert len(samples_of(out)) == 48
    stats = stats_of(out)
    assert (stats["complete"], stats["missing"], stats["request_errors"], stats["completions"]) == (True, 0, 0, 48)
    total_faults = sum(f.times for f in faults.values())
    assert stats["run"]["requests"] == len(server.log) == 12 + total_faults
    assert stats["run"]["retries"] == total_faults and stats["run"]["failed"] == 0
    assert status_line(result.output) == "complete: 6 questions, all 48 samples answered"
    assert f"this run: {12 + total_faults} requests ({total_faults} retries)" in result.output


def test_faults_that_outlast_the_retries_are_recorded_and_asked_again_on_resume(tmp_path):
    script, expected = script_for()
    script.faults = {
        key_of(2, "cot"): Fault("malformed", times=99),
        key_of(3, "pot"): Fault("empty_content", times=99),
        key_of(4, "cot"): Fault("500", times=99),
        key_of(5, "cot"): Fault("drop", times=99),  # dropped connections end nothing while the server is up
        key_of(5, "pot"): Fault("400", times=99),   # refused for good: not asked again within the run
    }
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        result = run(openai_args(tmp_path, server, out) + ["--retries", "2"])
        assert result.exit_code == 0, result.output
    assert {key: server.attempts[key] for key in script.faults} == {
        key_of(2, "cot"): 3, key_of(3, "pot"): 3, key_of(4, "cot"): 3, key_of(5, "cot"): 3, key_of(5, "pot"): 1}
    failed = {("p2", "cot"), ("p3", "pot"), ("p4", "cot"), ("p5", "cot"), ("p5", "pot")}
    assert kept(out) == {k: v for k, v in expected.items() if k not in failed}
    reasons = {(r["id"], r["kind"]): r["error"] for r in raw_lines(out) if r["outcome"] == "request_error"}
    assert reasons == {
        ("p2", "cot"): "malformed reply: JSONDecodeError: Expecting value: line 1 column 37 (char 36)",
        ("p3", "pot"): "the reply's choices held no text (empty completion)",
        ("p4", "cot"): "HTTP 500: injected 500",
        ("p5", "cot"): "the server closed the connection without a complete reply",
        ("p5", "pot"): "HTTP 400: injected 400: this prompt is refused",
    }
    stats = stats_of(out)
    assert (stats["complete"], stats["missing"], stats["request_errors"]) == (False, 20, 20)
    assert stats["errors"]["HTTP 500: injected 500"] == 4
    assert stats["run"]["failed"] == 20 and stats["kinds"]["cot"]["missing"] == 12
    assert status_line(result.output).startswith("incomplete: 6 questions, 28 of 48 samples answered, 20 missing "
                                                 "(20 failed: 4 x ")
    assert "run the same command again to ask for them" in result.output

    # resume against a server that has recovered: only the failed samples are asked, and the run is complete
    script.faults = {}
    with OpenAIServer(script) as server:
        again = run(openai_args(tmp_path, server, out) + ["--retries", "0"])
        assert again.exit_code == 0, again.output
    assert asked(server) == {(QUESTIONS[int(i[1:])][0], kind) for i, kind in failed}
    assert kept(out) == expected
    stats = stats_of(out)
    assert (stats["complete"], stats["missing"], stats["request_errors"], stats["errors"]) == (True, 0, 0, {})
    assert status_line(again.output) == "complete: 6 questions, all 48 samples answered"
    assert "failed requests" not in again.output


@pytest.mark.parametrize("honour_n", [True, False])
def test_one_run_completes_whether_or_not_the_server_honours_n(tmp_path, honour_n):
    script, expected = script_for()
    script.honour_n = honour_n
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        result = run(openai_args(tmp_path, server, out) + ["--concurrency", "4"])
        assert result.exit_code == 0, result.output
    assert kept(out) == expected
    samples = samples_of(out)
    assert len(samples) == 48 and stats_of(out)["complete"]
    # each sample its own text: the k-th choice for a prompt is the k-th scripted text
    assert {samples[("p0", "pot", s)] for s in range(4)} == set(script.completions[key_of(0, "pot")])
    run_stats = stats_of(out)["run"]
    if honour_n:  # the speed of n: one request per (question, kind)
        assert [a.n for a in server.log] == [4] * 12
        assert run_stats["samples_per_request"] == "n" and "ignores" not in result.output
    else:  # n asked until the first reply shows it is ignored (at most one request per worker), then one by one
        assert len(server.log) == 48
        assert 1 <= sum(a.n == 4 for a in server.log) <= 4 and all(a.n in (1, 4) for a in server.log)
        assert run_stats["samples_per_request"] == "one (the server ignores n)"
        assert "answered n=4 with one choice (it ignores `n`)" in result.output
        assert run_stats["requests"] == 48 and run_stats["failed"] == 0


def test_valid_replies_in_unusual_shapes_are_taken_at_once(tmp_path):
    """JSON labelled text/plain, content as a list of text parts: answers, not faults."""
    script, expected = script_for()
    script.content_type, script.content_parts = "text/plain; charset=utf-8", True
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        result = run(openai_args(tmp_path, server, out))
        assert result.exit_code == 0, result.output
    assert len(server.log) == 12 and stats_of(out)["run"]["retries"] == 0
    assert kept(out) == expected


def test_seeded_samples_asked_again_after_a_torn_line_are_the_uninterrupted_ones(tmp_path):
    script, _ = script_for()
    whole, torn = tmp_path / "whole", tmp_path / "torn"
    with OpenAIServer(script) as server:
        assert run(openai_args(tmp_path, server, whole) + ["--seed", "7"]).exit_code == 0
        # every sample its own request, seeded by its index
        assert sorted((a.n, a.seed) for a in server.log) == sorted([(1, 7 + s) for s in range(4)] * 12)
        assert run(openai_args(tmp_path, server, torn) + ["--seed", "7"]).exit_code == 0
        lines = (torn / "raw.jsonl").read_bytes().splitlines(keepends=True)
        (torn / "raw.jsonl").write_bytes(b"".join(lines[:-5]) + lines[-5][:20])  # 5 lost, the last write torn
        resumed = run(openai_args(tmp_path, server, torn) + ["--seed", "7"])
        assert resumed.exit_code == 0, resumed.output
        assert "dropped a torn last line" in resumed.output and "this run: 5 requests" in resumed.output
    assert samples_of(torn) == samples_of(whole)
    assert (torn / "train.jsonl").read_text() == (whole / "train.jsonl").read_text()


def test_a_server_that_goes_away_and_comes_back_is_waited_for(tmp_path):
    questions = [(f"Question number {i}: what is {i} plus {i}?", 2 * i) for i in range(30)]
    script, expected = script_for(questions)
    script.latency = 0.1
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        def outage() -> None:
            while not (out / "raw.jsonl").exists() or (out / "raw.jsonl").read_text().count("\n") < 8:
                time.sleep(0.01)
            server.down()
            time.sleep(2)
            server.up()

        thread = threading.Thread(target=outage)
        thread.start()
        result = run(openai_args(tmp_path, server, out, questions) + ["--concurrency", "4", "--retries", "2",
                                                                       "--give-up-after", "30"])
        thread.join()
    assert result.exit_code == 0, result.output
    assert "cannot reach the teacher server" in result.output and "connection refused" in result.output
    assert kept(out) == expected
    assert len(samples_of(out)) == 30 * 8 and stats_of(out)["complete"]
    # at most the 4 requests in flight when it went down were answered into a cut connection, and asked again
    assert 60 <= server.outcomes()["ok"] <= 64 and len(server.log) == server.outcomes()["ok"]
    assert stats_of(out)["run"]["requests"] > len(server.log)  # the refused attempts, which never reached it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_is_gone_ends_the_run_after_give_up_after(tmp_path):
    script, expected = script_for()
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        first = run(openai_args(tmp_path, server, out) + ["--limit", "2"])
        assert first.exit_code == 0, first.output
    before = (out / "raw.jsonl").read_text()
    start = time.monotonic()
    down = run(openai_args(tmp_path, f"http://127.0.0.1:{_free_port()}/v1", out) + ["--give-up-after", "2"])
    assert 2 <= time.monotonic() - start < 20
    assert down.exit_code == 1
    assert "has answered nothing for 2s (--give-up-after; last: connection refused)" in down.output
    assert "timed out" not in down.output
    assert "run the same command again to resume" in down.output
    assert (out / "raw.jsonl").read_text() == before  # nothing recorded: no request counted as failed
    assert kept(out) == {k: v for k, v in expected.items() if k[0] in ("p0", "p1")}
    stats = stats_of(out)
    assert (stats["complete"], stats["missing"], stats["request_errors"]) == (False, 32, 0)
    assert status_line(down.output) == ("incomplete: 6 questions, 16 of 48 samples answered, 32 missing; "
                                        "run the same command again to ask for them")


def test_refused_key_wrong_model_and_wrong_url_say_what_to_check(tmp_path, monkeypatch):
    script, _ = script_for()
    script.api_key, script.model = "right", "m"
    with OpenAIServer(script) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "wrong")
        key = run(openai_args(tmp_path, server, tmp_path / "a"))
        assert key.exit_code == 1 and "(401: Incorrect API key provided). Check OPENAI_API_KEY" in key.output
        monkeypatch.setenv("OPENAI_API_KEY", "right")
        model = run(openai_args(tmp_path, server, tmp_path / "b") + ["--model", "other"])
        assert model.exit_code == 1 and "The model `other` does not exist" in model.output
        assert "--model (the name the server knows the model by)" in model.output
        url = run(openai_args(tmp_path, server.base_url.removesuffix("/v1"), tmp_path / "c"))
        assert url.exit_code == 1 and "answered 404 to POST http://127.0.0.1" in url.output
        assert "Check --base-url (most servers want the path ending in /v1" in url.output
        assert len(server.log) == 0  # refused before a prompt was read, and not asked again
        assert run(openai_args(tmp_path, server, tmp_path / "d") + ["--limit", "1"]).exit_code == 0


@pytest.mark.parametrize("progress", ["--progress", "--no-progress"])
def test_run_counts_are_right_with_and_without_a_progress_bar(tmp_path, progress):
    script, _ = script_for()
    script.faults = {key_of(0, "cot"): Fault("500", times=1)}
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        result = CliRunner().invoke(main, ["generate", progress, "--timeout", "0.5"] + openai_args(tmp_path, server, out))
        assert result.exit_code == 0, result.output
    run_stats = stats_of(out)["run"]
    assert (run_stats["requests"], run_stats["retries"], run_stats["completions"], run_stats["failed"]) == (13, 1, 48, 0)
    # the rate while asking: from the first request sent to the last reply, start-up reported beside it
    assert run_stats["requests_per_second"] == pytest.approx(13 / run_stats["asking_seconds"], rel=0.01)
    assert 0 < run_stats["startup_seconds"] < run_stats["startup_seconds"] + run_stats["asking_seconds"] <= \
        run_stats["wall_seconds"]


def test_changed_sampling_parameters_are_refused(tmp_path):
    script, _ = script_for()
    with OpenAIServer(script) as server:
        out = tmp_path / "run2"
        base = openai_args(tmp_path, server, out) + ["--cot-samples", "1", "--pot-samples", "1"]
        assert run(base).exit_code == 0
        refused = run(base + ["--temperature", "0.2"])
        assert refused.exit_code == 2
        assert "temperature was 0.7, now 0.2" in refused.output and "Use a new --out" in refused.output
        resumed = run(base)
        assert resumed.exit_code == 0 and "this run: 0 requests" in resumed.output
        assert status_line(resumed.output) == "complete: 6 questions, all 12 samples answered"


def test_dry_run_prints_prompts_and_sends_nothing(tmp_path):
    script, _ = script_for()
    with OpenAIServer(script) as server:
        result = run(openai_args(tmp_path, server, tmp_path / "run") + ["--dry-run"])
        assert server.requests == []
    assert result.exit_code == 0
    assert "would send 12 requests for 48 completions" in result.output
    assert '"role": "assistant"' in result.output and QUESTIONS[0][0] in result.output


def test_a_dry_run_leaves_a_torn_raw_file_as_it_is_and_the_run_then_cuts_the_torn_line(tmp_path):
    out = tmp_path / "run"
    args = ["--dataset", "svamp", "--limit", "3", "--teacher", "gold", "--out", str(out)]
    assert run(args).exit_code == 0
    raw = out / "raw.jsonl"
    whole = raw.read_bytes()
    torn = whole[: whole.rstrip(b"\n").rfind(b"\n") + 1 + 20]  # the last line cut short, as by a kill mid-write
    raw.write_bytes(torn)
    dry = run(args + ["--dry-run"])
    assert dry.exit_code == 0 and "would send 1 requests for 1 completions" in dry.output, dry.output
    assert raw.read_bytes() == torn  # a read-only command changes nothing
    resumed = run(args)
    assert resumed.exit_code == 0 and "dropped a torn last line" in resumed.output
    assert raw.read_bytes().startswith(torn[: torn.rfind(b"\n") + 1]) and raw.read_bytes().endswith(b"}\n")
    assert len(raw.read_bytes().splitlines()) == len(whole.splitlines())


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
    assert "mine.jsonl:3: field 'a': 'lots' is not a number; a label answer needs its label set" in skipped.output
    assert "(1 questions" in skipped.output


def test_filter_rebuilds_with_a_new_tolerance_and_cap(tmp_path):
    rows = [("Split 25 apples among 3 children. How many each?", 25 / 3)]
    script = Script(completions={
        (rows[0][0], "cot"): ["Each gets 8.33 apples. The answer is 8.33.", "The answer is 8.333333."],
        (rows[0][0], "pot"): ["ans = 25 / 3", "print(round(25 / 3, 2))"],
    })
    out = tmp_path / "run"
    with OpenAIServer(script) as server:
        assert run(openai_args(tmp_path, server, out, rows) + ["--cot-samples", "2", "--pot-samples", "2"]).exit_code == 0
    assert kept(out) == {("p0", "cot"): {"The answer is 8.333333."}, ("p0", "pot"): {"ans = 25 / 3"}}
    loose = CliRunner().invoke(main, ["filter", str(out), "--tolerance", "1e-3"])
    assert loose.exit_code == 0, loose.output
    assert {k: len(v) for k, v in kept(out).items()} == {("p0", "cot"): 2, ("p0", "pot"): 2}
    capped = CliRunner().invoke(main, ["filter", str(out), "--tolerance", "1e-3", "--max-per-question", "1"])
    assert capped.exit_code == 0
    assert kept(out) == {("p0", "cot"): {"Each gets 8.33 apples. The answer is 8.33."}, ("p0", "pot"): {"ans = 25 / 3"}}
    assert "raw.jsonl" in CliRunner().invoke(main, ["filter", str(tmp_path)]).output


def _generate(data: Path, base_url: str, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [str(MIXDISTILL), "generate", "--no-progress", "--dataset", str(data), "--teacher", "openai",
           "--model", "m", "--base-url", base_url, "--concurrency", "8", "--cot-samples", "2", "--pot-samples", "2",
           "--out", str(out), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_until(done: Callable[[], bool], proc: subprocess.Popen) -> None:
    """Poll ``done`` while ``proc`` runs, for up to 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not done():
        time.sleep(0.01)


def _wait_for_lines(raw: Path, count: int, proc: subprocess.Popen) -> None:
    _wait_until(lambda: raw.exists() and raw.read_bytes().count(b"\n") >= count, proc)


@pytest.mark.slow
def test_random_faults_and_sigkills_lose_and_duplicate_nothing(tmp_path):
    """Every transient fault at 30% of attempts, five SIGKILLs, a torn last line: the resumed run
    equals an uninterrupted run on a server without faults, sample for sample."""
    questions = [(f"Question number {i}: what is {i} plus {i}?", 2 * i) for i in range(30)]
    script, expected = script_for(questions)
    script.latency = 0.02
    data = questions_file(tmp_path, questions)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    options = ("--seed", "3", "--retries", "12", "--request-timeout", "1", "--timeout", "0.2")
    with OpenAIServer(script) as server:
        fresh = _generate(data, server.base_url, whole, *options)
        assert fresh.communicate(timeout=120)[0] and fresh.returncode == 0
    script.fault_rate, script.random_seconds = 0.3, 1.2
    with OpenAIServer(script) as server:
        for kill in range(5):
            proc = _generate(data, server.base_url, killed, *options)
            raw = killed / "raw.jsonl"
            _wait_for_lines(raw, 15 * (kill + 1), proc)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
        with raw.open("a") as handle:  # as if a kill had torn the last write
            handle.write('{"id": "p7", "kind": "cot", "sam')
        assert 75 <= raw.read_text().count("\n") < 120
        resumed = _generate(data, server.base_url, killed, *options)
        output = resumed.communicate(timeout=180)[0].decode()
        assert resumed.returncode == 0, output
    assert "dropped a torn last line" in output
    assert status_line(output) == "complete: 30 questions, all 120 samples answered"
    faults = server.outcomes()
    assert set(faults) - {"ok"} == set(TRANSIENT)  # every kind of fault happened
    assert samples_of(killed) == samples_of(whole)
    assert (killed / "train.jsonl").read_text() == (whole / "train.jsonl").read_text()
    assert kept(killed) == expected
    stats = stats_of(killed)
    assert (stats["complete"], stats["missing"], stats["request_errors"]) == (True, 0, 0)


@pytest.mark.slow
def test_sigint_exits_130_keeps_everything_and_resumes(tmp_path):
    questions = [(f"Question number {i}: what is {i} plus {i}?", 2 * i) for i in range(40)]
    script, _ = script_for(questions)
    script.latency = 0.5  # 80 requests, 8 at a time: about 5 s in all, so the interrupt lands mid-run
    data = questions_file(tmp_path, questions)
    out = tmp_path / "run"
    # a shell starts a background job with SIGINT ignored, and a command it runs would keep that: while
    # this process handles SIGINT, the command starts with the disposition a terminal gives it
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    with OpenAIServer(script) as server:
        try:
            proc = _generate(data, server.base_url, out, "--timeout", "0.2")
        finally:
            signal.signal(signal.SIGINT, previous)
        # counted where requests arrive, not where the client's batches are written
        _wait_until(lambda: len(server.log) >= 16, proc)
        assert proc.poll() is None and len(server.log) < 80, "the run ended before the interrupt could land"
        os.kill(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 130, output
        assert "interrupted: everything received so far is kept in" in output
        stats = stats_of(out)
        assert stats["complete"] is False and stats["completions"] < 160
        assert stats["completions"] == len(samples_of(out)) and stats["missing"] == 160 - stats["completions"]
        assert status_line(output).startswith(f"incomplete: 40 questions, {stats['completions']} of 160 samples "
                                              f"answered, {stats['missing']} missing; run the same command again")
        resumed = _generate(data, server.base_url, out, "--timeout", "0.2")
        assert resumed.communicate(timeout=120)[0] and resumed.returncode == 0
    assert len(samples_of(out)) == 160 and stats_of(out)["complete"]


def test_tokens_are_counted_per_kind_from_the_servers_usage(tmp_path):
    """The test server reports 50 prompt tokens a request and 20 completion tokens a choice."""
    script, _ = script_for()
    with OpenAIServer(script) as server:
        result = run(openai_args(tmp_path, server, tmp_path / "out") + ["--seed", "1", "--cot-samples", "2",
                                                                         "--pot-samples", "3"])
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    per_kind = {kind: (k["prompt_tokens"], k["completion_tokens"]) for kind, k in stats["kinds"].items()}
    assert per_kind == {"cot": (6 * 2 * 50, 6 * 2 * 20), "pot": (6 * 3 * 50, 6 * 3 * 20)}
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (6 * 5 * 50, 6 * 5 * 20)
    assert "tokens: 1500 prompt, 600 completion (cot 600 + 240, pot 900 + 360)" in result.output
