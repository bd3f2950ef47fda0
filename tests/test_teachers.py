"""The gold teacher on the full datasets, and the hf teacher on the real SmolLM2 model."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.executor import STATUSES


def generate(args):
    result = CliRunner().invoke(main, ["generate", "--no-progress"] + args)
    assert result.exit_code == 0, result.output
    return result


def stats_of(out):
    return json.loads((out / "stats.json").read_text())


def test_gold_svamp_full(data, tmp_path):
    for split, size in (("train", 800), ("test", 200)):
        out = tmp_path / split
        generate(["--teacher", "gold", "--dataset", "svamp", "--split", split, "--data-dir", str(data), "--out", str(out)])
        kinds = stats_of(out)["kinds"]
        assert kinds["cot"]["correct"] == size
        raw = rows(out / "raw.jsonl")
        wrong = [r["id"] for r in raw if r["kind"] == "pot" and not r["correct"]]
        assert wrong == (["chal-680"] if split == "train" else [])  # SVAMP's own wrong Answer, see docs/data.md
        assert all(r["teacher"] == "gold" for r in raw)


def test_gold_svamp_rationales_read_well(data, tmp_path):
    generate(["--teacher", "gold", "--dataset", "svamp", "--data-dir", str(data), "--limit", "3", "--out", str(tmp_path)])
    records = rows(tmp_path / "train.jsonl")
    cot = next(r for r in records if r["kind"] == "cot")
    pot = next(r for r in records if r["kind"] == "pot" and r["id"] == cot["id"])
    assert cot["rationale"].endswith(f"The answer is {int(cot['answer'])}.")
    assert pot["rationale"].startswith("ans = ") and ".0" not in pot["rationale"]


@pytest.mark.parametrize("split, pot_floor", [pytest.param("train", 0.966, marks=pytest.mark.slow),  # 7473 questions
                                              ("test", 0.962)])
def test_gold_gsm8k_full_yields(data, tmp_path, split, pot_floor):
    generate(["--teacher", "gold", "--dataset", "gsm8k", "--split", split, "--data-dir", str(data), "--out", str(tmp_path)])
    kinds = stats_of(tmp_path)["kinds"]
    assert kinds["cot"]["yield"] >= 0.999
    assert kinds["pot"]["yield"] >= pot_floor  # measured 0.9667 / 0.9621; misses explained in docs/teacher-data.md
    records = rows(tmp_path / "train.jsonl")
    assert all("<<" not in r["rationale"] for r in records if r["kind"] == "cot")
    assert any("step_2 = step_1" in r["rationale"] for r in records if r["kind"] == "pot")


@pytest.mark.slow
def test_hf_teacher_on_real_smollm2(smollm2, data, tmp_path):
    result = generate(["--teacher", "hf", "--model", str(smollm2), "--dataset", "svamp", "--data-dir", str(data),
                       "--limit", "2", "--cot-samples", "2", "--pot-samples", "1", "--max-tokens", "40",
                       "--batch-size", "2", "--seed", "0", "--out", str(tmp_path)])
    raw = rows(tmp_path / "raw.jsonl")
    assert sorted((r["id"], r["kind"], r["sample"]) for r in raw) == sorted(
        (q, k, s) for q in {r["id"] for r in raw} for k, n in (("cot", 2), ("pot", 1)) for s in range(n))
    assert len({r["id"] for r in raw}) == 2
    assert all(r["teacher"] == "hf:SmolLM2-135M-Instruct" and r["text"] for r in raw)
    assert all(r["outcome"] in STATUSES for r in raw)
    assert all(0 < r["completion_tokens"] <= 40 and r["prompt_tokens"] > 100 for r in raw)
    assert "complete: 2 questions, all 6 samples answered" in result.output
