"""Teacher data in shards: three shards merged are one run, with faults, a torn shard, a missing one."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.shards import shard_of
from openai_server import Fault, OpenAIServer, Script
from test_generate import MIXDISTILL, QUESTIONS, questions_file, script_for

MORE = QUESTIONS + [(f"A shelf holds {n} books and {n + 2} more arrive. How many books?", 2 * n + 2)
                    for n in range(3, 15)]  # 18 questions


def generate_args(server: OpenAIServer, questions: Path, out: Path, *extra: str) -> list[str]:
    return ["generate", "--dataset", str(questions), "--teacher", "openai", "--model", "m", "--base-url",
            server.base_url, "--seed", "7", "--cot-samples", "2", "--pot-samples", "2", "--retries", "8",
            "--no-progress", "--out", str(out), *extra]


def generate(server: OpenAIServer, questions: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, generate_args(server, questions, out, *extra))


def merge(out: Path, *shards: Path):
    return CliRunner().invoke(main, ["merge", str(out), *map(str, shards)])


def kept(folder: Path) -> list[str]:
    """The folder's records, as a sorted multiset (timings left out)."""
    raw = [{k: v for k, v in r.items() if k not in ("latency", "prompt_tokens", "completion_tokens")}
           for r in rows(folder / "raw.jsonl") if r["outcome"] != "request_error"]
    return sorted(json.dumps(r, sort_keys=True) for r in raw) + sorted(
        json.dumps(r, sort_keys=True) for r in rows(folder / "train.jsonl"))


def _killed_mid_run(server: OpenAIServer, questions: Path, out: Path, *extra: str) -> int:
    """Run the installed `generate` (the options of :func:`generate`) and SIGKILL it once ``raw.jsonl``
    has 6 lines; the lines it had."""
    import signal
    import subprocess

    command = subprocess.Popen([str(MIXDISTILL), *generate_args(server, questions, out, *extra)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_lines(command, out / "raw.jsonl", 6)
    command.send_signal(signal.SIGKILL)
    command.wait()
    return (out / "raw.jsonl").read_bytes().count(b"\n")


def _wait_for_lines(command, raw: Path, lines: int) -> None:
    """Wait until ``raw`` has ``lines`` lines while ``command`` (a running process) writes it."""
    import time

    deadline = time.monotonic() + 60
    while (not raw.exists() or raw.read_bytes().count(b"\n") < lines) and command.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    assert command.poll() is None, "the run ended before it could be interrupted mid-run"


def test_three_shards_merged_are_one_run(tmp_path):
    script, _ = script_for(MORE)
    script.fault_rate, script.random_faults = 0.25, ("500", "drop", "malformed", "empty")
    script.faults = {(MORE[1][0], "cot"): Fault("502", times=2)}
    questions = questions_file(tmp_path, MORE)
    with OpenAIServer(script) as server:
        assert generate(server, questions, tmp_path / "one").exit_code == 0
        shards = [tmp_path / f"shard{i}" for i in (0, 1, 2)]
        for i in (0, 2):
            result = generate(server, questions, shards[i], "--shard", f"{i}/3")
            assert result.exit_code == 0, result.output
        # shard 1's process SIGKILLed mid-run, then its last line torn (a kill mid-write); resumed
        script.latency = 0.1
        killed = _killed_mid_run(server, questions, shards[1], "--shard", "1/3", "--concurrency", "2")
        assert killed < 4 * sum(shard_of(f"p{i}", 3) == 1 for i in range(len(MORE)))  # samples left to ask
        script.latency = 0.0
        raw = shards[1] / "raw.jsonl"
        lines = raw.read_bytes().splitlines(keepends=True)
        raw.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])
        resumed = generate(server, questions, shards[1], "--shard", "1/3")
        assert resumed.exit_code == 0 and "dropped a torn last line" in resumed.output

    ids = [[r["id"] for r in rows(folder / "questions.jsonl")] for folder in shards]
    assert sorted(sum(ids, [])) == sorted(f"p{i}" for i in range(len(MORE))) and all(ids)
    assert all(shard_of(qid, 3) == i for i, mine in enumerate(ids) for qid in mine)
    done = merge(tmp_path / "all", *shards)
    assert done.exit_code == 0, done.output
    assert "complete: 18 questions, all 72 samples answered" in done.output
    assert kept(tmp_path / "all") == kept(tmp_path / "one")
    before = {name: (tmp_path / "all" / name).read_bytes() for name in ("raw.jsonl", "train.jsonl", "questions.jsonl")}
    assert merge(tmp_path / "all", *shards).exit_code == 0  # merging again changes nothing
    assert before == {name: (tmp_path / "all" / name).read_bytes() for name in before}


def test_a_missing_shard_is_reported_and_the_merged_folder_resumes_it(tmp_path):
    script, _ = script_for(MORE)
    questions = questions_file(tmp_path, MORE)
    with OpenAIServer(script) as server:
        assert generate(server, questions, tmp_path / "one").exit_code == 0
        for i in (0, 2):
            assert generate(server, questions, tmp_path / f"shard{i}", "--shard", f"{i}/3").exit_code == 0
        partial = merge(tmp_path / "all", tmp_path / "shard0", tmp_path / "shard2")
        assert partial.exit_code == 0 and "missing shards: 1/3" in partial.stderr
        missing = len(rows(tmp_path / "one" / "questions.jsonl")) - len(rows(tmp_path / "all" / "questions.jsonl"))
        assert missing > 0
        finished = generate(server, questions, tmp_path / "all")  # the same options, no --shard
        assert finished.exit_code == 0, finished.output
    assert kept(tmp_path / "all") == kept(tmp_path / "one")


def test_shards_of_other_settings_are_refused(tmp_path):
    script, _ = script_for()
    questions = questions_file(tmp_path)
    with OpenAIServer(script) as server:
        assert generate(server, questions, tmp_path / "a", "--shard", "0/2").exit_code == 0
        assert generate(server, questions, tmp_path / "b", "--shard", "1/2", "--temperature", "0.2").exit_code == 0
        assert generate(server, questions, tmp_path / "c", "--shard", "1/3").exit_code == 0
    other = merge(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    assert other.exit_code == 2 and "the shards were run with different settings (temperature: 0.7 in" in other.output
    mixed = merge(tmp_path / "m", tmp_path / "a", tmp_path / "c")
    assert mixed.exit_code == 2 and "shards of different partitions: 0/2, 1/3" in mixed.output
    twice = merge(tmp_path / "m", tmp_path / "a", tmp_path / "a")
    assert twice.exit_code == 2 and "the same shard folder twice" in twice.output
    (tmp_path / "copy").mkdir()
    for name in ("config.json", "questions.jsonl", "raw.jsonl"):
        (tmp_path / "copy" / name).write_bytes((tmp_path / "a" / name).read_bytes())
    copied = merge(tmp_path / "m", tmp_path / "a", tmp_path / "copy")
    assert copied.exit_code == 2 and "the same shard twice: 0/2" in copied.output
    bad = CliRunner().invoke(main, ["generate", "--shard", "3/3", "--teacher", "gold", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--shard 3/3: expected I/N with 0 <= I < N" in bad.output
    assert not (tmp_path / "m").exists()


def test_replicas_one_killed_mid_run_lose_and_duplicate_nothing(tmp_path):
    """Three replicas of one model; one goes down mid-run: its requests go to the others."""
    import threading
    import time

    script, _ = script_for(MORE)
    script.latency = 0.05
    questions = questions_file(tmp_path, MORE)
    with OpenAIServer(script) as single:
        assert generate(single, questions, tmp_path / "one").exit_code == 0
    servers = [OpenAIServer(script) for _ in range(3)]
    for server in servers:
        server.__enter__()
    try:
        def kill_the_second() -> None:
            deadline = time.monotonic() + 30
            while len(servers[1].requests) < 8 and time.monotonic() < deadline:
                time.sleep(0.01)
            servers[1].down()

        killer = threading.Thread(target=kill_the_second)
        killer.start()
        replicas = [arg for server in servers for arg in ("--base-url", server.base_url)]
        result = CliRunner().invoke(main, [
            "generate", "--dataset", str(questions), "--teacher", "openai", "--model", "m", *replicas,
            "--seed", "7", "--cot-samples", "2", "--pot-samples", "2", "--concurrency", "6", "--no-progress",
            "--out", str(tmp_path / "replicas")])
        killer.join()
    finally:
        for server in servers:
            server.down()
    assert result.exit_code == 0, result.output
    assert kept(tmp_path / "replicas") == kept(tmp_path / "one")
    stats = json.loads((tmp_path / "replicas" / "stats.json").read_text())
    counts = stats["run"]["replicas"]
    assert list(counts) == [server.base_url for server in servers] and stats["complete"]
    assert all(c["requests"] > 0 for c in counts.values())
    assert sum(c["requests"] for c in counts.values()) == stats["run"]["requests"]
    for tokens in ("prompt_tokens", "completion_tokens"):  # each replica's tokens, adding up to the folder's
        assert all(c[tokens] > 0 for c in counts.values()) and sum(c[tokens] for c in counts.values()) == stats[tokens]
    served = [len(s.requests) for s in servers]
    assert served[1] < min(served[0], served[2])  # the killed one took no more after it went down


def _serve(script: Script, ready) -> None:
    import os

    server = OpenAIServer(script)
    ready.put((os.getpid(), server.base_url))
    server.serve_forever()


def test_three_server_processes_one_sigkilled_mid_run_lose_and_duplicate_nothing(tmp_path):
    """The installed command against three replica processes, the second SIGKILLed mid-run: its
    requests go to the others, and the folder holds what the single server's run does."""
    import multiprocessing
    import os
    import signal
    import subprocess

    script, _ = script_for(MORE)
    script.latency = 0.2  # 72 requests, 6 in flight: about 2.4 s of asking
    questions = questions_file(tmp_path, MORE)
    with OpenAIServer(script) as single:
        assert generate(single, questions, tmp_path / "one").exit_code == 0
    ready = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_serve, args=(script, ready), daemon=True) for _ in range(3)]
    for process in processes:
        process.start()
    urls = dict(ready.get(timeout=30) for _ in processes)  # pid -> base URL
    try:
        out = tmp_path / "replicas"
        command = subprocess.Popen(
            [str(MIXDISTILL), "generate", "--dataset", str(questions), "--teacher", "openai", "--model", "m",
             *(arg for url in urls.values() for arg in ("--base-url", url)), "--seed", "7", "--cot-samples", "2",
             "--pot-samples", "2", "--concurrency", "6", "--no-progress", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _wait_for_lines(command, out / "raw.jsonl", 12)
        os.kill(processes[1].pid, signal.SIGKILL)
        output, _ = command.communicate(timeout=120)
    finally:
        for process in processes:
            process.kill()
    assert command.returncode == 0, output
    assert kept(out) == kept(tmp_path / "one")
    stats = json.loads((out / "stats.json").read_text())
    counts = stats["run"]["replicas"]
    assert stats["complete"] and sum(c["requests"] for c in counts.values()) == stats["run"]["requests"]
    killed = urls[processes[1].pid]
    assert all(c["requests"] > 0 for c in counts.values()), counts
    assert [url for url, c in counts.items() if c["connection_failures"]] == [killed], counts
