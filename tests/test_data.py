"""The benchmark data shipped in the package: the literature's split, offline, from any folder; overrides."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from mixdistill_plugin import data as data_module
from mixdistill_plugin.data import SHIPPED, DataUnavailable
from mixdistill_plugin.tasks import load_questions

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def test_named_datasets_load_the_shipped_split_offline_from_any_folder(tmp_path):
    """A fresh interpreter in an empty folder, no data folder set, the hub switched off."""
    code = """
import json, sys
from mixdistill_plugin.tasks import load_questions
out = {}
for name, split in (("svamp", "train"), ("svamp", "test"), ("gsm8k", "test")):
    questions, _ = load_questions(name, split)
    out[f"{name}/{split}"] = [q.id for q in questions]
    out[f"{name}/{split}/decomposed"] = sum(q.decomposition is not None for q in questions)
out["hub library imported"] = "datasets" in sys.modules
questions, _ = load_questions("gsm8k", "train")
out["gsm8k/train"] = len(questions)
out["gsm8k/train/decomposed"] = sum(q.decomposition is not None for q in questions)
print(json.dumps(out))
"""
    env = {k: v for k, v in os.environ.items() if k != "MIXDISTILL_DATA_DIR"} | OFFLINE
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    train, test = out["svamp/train"], out["svamp/test"]
    assert (len(train), len(test), len(set(train) | set(test))) == (800, 200, 1000)
    # the literature's test split (a seed-0 permutation of SVAMP.json), pinned by its ids
    assert test[:3] == ["chal-153", "chal-529", "chal-697"] and test[-1] == "chal-685"
    assert hashlib.sha256(" ".join(sorted(test)).encode()).hexdigest()[:16] == "d1eeb975c9731b39"
    assert len(out["gsm8k/test"]) == 1319 and out["gsm8k/test/decomposed"] == 1319
    assert not out["hub library imported"]  # shipped data never touches the hub
    assert out["gsm8k/train"] == 7473 and out["gsm8k/train/decomposed"] == 0  # hub only for these, offline here


def test_data_dir_overrides_file_by_file(tmp_path, monkeypatch):
    problems = json.loads((SHIPPED / "svamp" / "SVAMP.json").read_text())[:5]
    (tmp_path / "svamp").mkdir()
    (tmp_path / "svamp" / "SVAMP.json").write_text(json.dumps(problems))
    mine, _ = load_questions("svamp", "train", data_dir=tmp_path)
    assert len(mine) == 4 and {q.id for q in mine} < {p["ID"] for p in problems}
    monkeypatch.setenv("MIXDISTILL_DATA_DIR", str(tmp_path))
    assert len(load_questions("svamp", "test")[0]) == 1  # the environment variable, the same way
    assert len(load_questions("gsm8k", "test")[0]) == 1319  # not in the folder: the shipped copy

    # a folder holding what is not shipped: GSM8K train decompositions, matched by question text
    rows = [json.loads(line) for line in (SHIPPED / "gsm8k" / "train.jsonl").read_text().split("\n")[:3]]
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    socratic = [{"question": r["question"], "answer": f"How much? ** {r['answer']}"} for r in rows]
    (tmp_path / "gsm8k" / "train_socratic.jsonl").write_text("".join(json.dumps(r) + "\n" for r in socratic))
    questions, _ = load_questions("gsm8k", "train")
    assert [q.decomposition for q in questions] == [s["answer"] for s in socratic]


def test_a_missing_shipped_file_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("MIXDISTILL_DATA_DIR", raising=False)
    monkeypatch.setattr(data_module, "SHIPPED", tmp_path / "gone")
    with pytest.raises(DataUnavailable, match=r"no svamp/SVAMP.json in .*gone; reinstall mixdistill, or point "
                                              r"--data-dir / MIXDISTILL_DATA_DIR at a folder that has it"):
        load_questions("svamp", "test")


def test_the_shipped_files_carry_their_licenses():
    for name, holder in (("svamp", "Arkil Patel"), ("gsm8k", "OpenAI")):
        text = (SHIPPED / name / "LICENSE").read_text()
        assert text.startswith("MIT License") and holder in text
    assert sorted(p.name for p in (SHIPPED / "gsm8k").iterdir()) == [
        "LICENSE", "test.jsonl", "test_socratic.jsonl", "train.jsonl"]
    assert sorted(p.name for p in (SHIPPED / "svamp").iterdir()) == ["LICENSE", "SVAMP.json"]


def test_nothing_refers_to_a_data_folder_beside_the_repository():
    needle = "../" + "shared"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    found = [name for name in files if name and (REPO / name).is_file() and not name.startswith("mixdistill_plugin/datasets/")
             and needle in (REPO / name).read_text(encoding="utf-8", errors="replace")]
    assert found == []
    assert "MIXDISTILL_DATA_DIR" not in (REPO / "Makefile").read_text()
