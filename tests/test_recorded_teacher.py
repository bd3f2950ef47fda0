"""The recorded teacher: a real teacher's outputs replayed through generate's reading, execution,
gold filter, records, stats and resume."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main


def generate(*args: str):
    return CliRunner().invoke(main, ["--allow-weak-sandbox", "generate", "--teacher", "recorded", "--no-progress", *args])


def test_the_shipped_palm_and_codex_recordings_on_svamp_train(tmp_path):
    """PaLM-540B's CoT read right about as often as Distilling step-by-step read it (73.5%; this reader
    is more lenient only where that parse cuts an expression short, test_label_tasks.py), and the Codex
    programs about as often as the PoT paper's run (85.4%, which also counts two seven-digit near
    misses); the one question Codex left out is reported."""
    out = tmp_path / "svamp"
    result = generate("--dataset", "svamp", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "recorded teacher: at most 1 cot completion(s) per question; asking for 1, not 4" in result.stderr
    stats = json.loads((out / "stats.json").read_text())
    cot, pot = stats["kinds"]["cot"], stats["kinds"]["pot"]
    assert cot["completions"] == 800 and 0.735 <= cot["yield"] <= 0.745
    assert pot["completions"] == 799 and abs(pot["yield"] - 0.854) * 799 < 2.5  # within two programs
    assert stats["errors"] == {"not recorded": 1}
    teacher = json.loads((out / "config.json").read_text())["teacher"]
    assert teacher.startswith("recorded:")
    kept = rows(out / "train.jsonl")
    assert len(kept) == cot["kept"] + pot["kept"] and {r["teacher"] for r in kept} == {teacher}
    # PaLM ran on into a next few-shot example; the student learns the rationale up to there, raw.jsonl keeps all
    raw = {(r["id"], r["kind"]): r["text"] for r in rows(out / "raw.jsonl")}
    cots = [r for r in kept if r["kind"] == "cot"]
    assert sum("\n\nQ:" in raw[(r["id"], "cot")] for r in cots) > len(cots) / 2
    assert not any("\nQ:" in r["rationale"] for r in cots)
    assert all(raw[(r["id"], "cot")].startswith(r["rationale"]) for r in cots)


def _recording(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_users_recording_replays_its_samples_and_reports_what_is_missing(tmp_path):
    questions = _recording(tmp_path / "q.jsonl", [{"id": "a", "question": "2 + 3?", "answer": 5},
                                                   {"id": "b", "question": "4 * 4?", "answer": 16},
                                                   {"id": "c", "question": "9 - 1?", "answer": 8}])
    recording = _recording(tmp_path / "mine.jsonl", [
        {"id": "a", "kind": "cot", "text": "2 + 3 = 5. The answer is 5."},
        {"id": "a", "kind": "cot", "text": "The answer is (2 + 4)."},  # an expression, and wrong
        {"id": "b", "kind": "cot", "text": "The answer is 4 * 4.\n\nQuestion: something else"},  # a run-on
        {"id": "a", "kind": "pot", "text": "ans = 2 + 3"},
        {"id": "b", "kind": "pot", "text": "```python\nans = 4 ** 2\n```"},
    ])
    out = tmp_path / "out"
    result = generate("--dataset", str(questions), "--recording", str(recording), "--cot-samples", "3",
                      "--pot-samples", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "at most 2 cot completion(s) per question; asking for 2, not 3" in result.stderr
    raw = {(r["id"], r["kind"], r["sample"]): r for r in rows(out / "raw.jsonl")}
    assert {k: (r["answer"], r["correct"]) for k, r in raw.items() if r["outcome"] != "request_error"} == {
        ("a", "cot", 0): (5.0, True), ("a", "cot", 1): (6.0, False), ("b", "cot", 0): (16.0, True),
        ("a", "pot", 0): (5.0, True), ("b", "pot", 0): (16.0, True)}
    assert {k for k, r in raw.items() if r["outcome"] == "request_error"} == {
        ("b", "cot", 1), ("c", "cot", 0), ("c", "cot", 1), ("c", "pot", 0)}
    assert "incomplete: 3 questions, 5 of 9 samples answered" in result.output

    other = _recording(tmp_path / "other.jsonl", [{"id": "c", "kind": "cot", "text": "The answer is 8."},
                                                  {"id": "c", "kind": "pot", "text": "ans = 8"}])
    refused = generate("--dataset", str(questions), "--recording", str(other), "--cot-samples", "2",
                       "--pot-samples", "1", "--out", str(out))
    assert refused.exit_code == 2 and "this folder holds a run with other sampling parameters (teacher was" in refused.output


def test_a_kind_without_recordings_is_refused_by_name(tmp_path):
    result = generate("--dataset", "svamp", "--socratic-samples", "1", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--teacher recorded has no socratic completions for these questions; pass --socratic-samples 0" in result.output
    assert not (tmp_path / "o").exists()


def test_a_bad_recording_line_is_named(tmp_path):
    recording = tmp_path / "bad.jsonl"
    recording.write_text('{"id": "a", "kind": "cot", "text": "The answer is 5."}\n{"id": "b", "kind": "cot"}\n')
    result = generate("--dataset", "svamp", "--recording", str(recording), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert f"Error: {recording}:2: field 'text': missing." in result.output
    none = generate("--dataset", "strategyqa", "--out", str(tmp_path / "o2"))
    assert none.exit_code == 2 and "no recording ships for 'strategyqa'" in none.output
