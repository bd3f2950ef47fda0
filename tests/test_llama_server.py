"""A real llama.cpp server (llama-cpp-python) serving the SmolLM2 GGUF on 127.0.0.1: `mixdistill generate`
completes against it in one run although it ignores `n`, and lm-eval's chat-completions backend
evaluates it on svamp_mixed (the vLLM-serve workflow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import LLAMA_MODEL as MODEL
from conftest import rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.executor import STATUSES
from mixdistill_plugin.prompts import prompt_text

QUESTIONS = [("Ann has 3 red pens and 4 blue pens. How many pens does she have?", 7),
             ("A box holds 6 eggs. How many eggs are in 5 boxes?", 30)]


@pytest.mark.slow
def test_generate_completes_in_one_run_against_llama_cpp(llama_server, tmp_path):
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps({"id": f"p{i}", "question": q, "answer": a}) + "\n"
                            for i, (q, a) in enumerate(QUESTIONS)))
    out = tmp_path / "teacher"
    result = CliRunner().invoke(main, [
        "generate", "--no-progress", "--teacher", "openai", "--model", MODEL, "--base-url", llama_server,
        "--dataset", str(data), "--cot-samples", "2", "--pot-samples", "2", "--shots", "1", "--max-tokens", "32",
        "--concurrency", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "complete: 2 questions, all 8 samples answered" in result.output
    # llama.cpp answers one choice whatever `n` asks: noticed at the first reply, then one sample per request
    assert "answered n=2 with one choice (it ignores `n`)" in result.output
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["complete"], stats["missing"], stats["request_errors"]) == (True, 0, 0)
    assert stats["run"]["samples_per_request"] == "one (the server ignores n)"
    assert stats["run"]["requests"] == 8 and stats["run"]["failed"] == 0
    raw = rows(out / "raw.jsonl")
    assert sorted((r["id"], r["kind"], r["sample"]) for r in raw) == [
        (f"p{i}", kind, s) for i in range(2) for kind in ("cot", "pot") for s in range(2)]
    assert all(r["text"] and r["teacher"] == f"openai:{MODEL}" and 0 < r["completion_tokens"] <= 32 for r in raw)
    assert all(r["outcome"] in STATUSES for r in raw)


@pytest.mark.slow
def test_lm_eval_chat_completions_backend_evaluates_the_served_model(llama_server, data, tmp_path):
    out = tmp_path / "eval"
    # lm-eval's own CLI: the installed package's start-up hook puts svamp_mixed on its task index
    cmd = [sys.executable, "-m", "lm_eval", "--model", "local-chat-completions", "--model_args",
           f"base_url={llama_server}/chat/completions,model={MODEL},tokenizer_backend=None",
           "--tasks", "svamp_mixed", "--limit", "2", "--apply_chat_template",
           "--gen_kwargs", "max_gen_toks=16", "--confirm_run_unsafe_code", "--log_samples", "--output_path", str(out)]
    env = dict(os.environ, MIXDISTILL_DATA_DIR=str(data), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = out.glob("*/results_*.json")
    results = json.loads(results_file.read_text())["results"]["svamp_mixed"]
    metrics = ("cot_acc", "pot_acc", "cot_maj", "pot_maj", "mixed_maj")
    assert all(0.0 <= results[f"{m},paths"] <= 1.0 for m in metrics)
    samples = rows(next(out.glob("*/samples_svamp_mixed_*.jsonl")))
    assert sorted(s["doc"]["kind"] for s in samples) == ["cot", "pot"]  # one question: its CoT and PoT documents
    item = {"id": samples[0]["doc"]["id"], "answer": samples[0]["doc"]["answer"]}
    for sample in samples:
        # the chat template applied: the registry's prompt went to the server as the user's message
        (encoded,) = sample["arguments"]["gen_args_0"]["arg_0"]
        messages = [(m["role"], m["content"]) for m in json.loads(encoded)]
        assert messages == [("user", prompt_text(sample["doc"]["kind"], sample["doc"]["question"]))]
        (paths,) = sample["resps"]
        assert len(paths) == 10 and all(isinstance(p, str) and p for p in paths)  # the task's 10 sampled paths
        item[sample["doc"]["kind"]] = paths
    # the metrics are the ones `mixdistill score` gives for the same paths
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps(item) + "\n")
    scored = json.loads(CliRunner().invoke(main, ["score", str(preds), "--json"]).stdout)
    for metric in metrics:
        assert scored[metric] == pytest.approx(100 * results[f"{metric},paths"], abs=1e-9), metric
