"""The GPU configs on a machine without the GPU or the model: a clear message, no traceback, fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from mixdistill_plugin.axolotl_plugin import preflight
from mixdistill_plugin.axolotl_plugin.preflight import Problem, check, cuda_settings, gpu_problems, model_problems

GPU_CONFIGS = {"llama2_mixed.yml": "meta-llama/Llama-2-7b-hf", "codellama_mixed.yml": "codellama/CodeLlama-7b-hf"}
# a string, evaluated when a test runs: collecting the tests does not import torch
NO_CUDA = pytest.mark.skipif("__import__('torch').cuda.is_available()", reason="this machine has a CUDA GPU")


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "axolotl_configs" / name).read_text())


def test_what_needs_a_gpu():
    assert cuda_settings(load("llama2_mixed.yml")) == ["attn_implementation: flash_attention_2", "tf32: true"]
    assert cuda_settings(load("smollm2_cpu.yml")) == []  # bf16/fp16/tf32 off, SDPA
    assert cuda_settings({"bf16": "auto", "fp16": True, "load_in_4bit": True, "deepspeed": "zero2.json"}) == [
        "fp16: true", "load_in_4bit: true", "deepspeed: zero2.json"]


@NO_CUDA
def test_no_cuda_gpu_is_named_with_what_to_do():
    (problem,) = gpu_problems(load("llama2_mixed.yml"))
    assert problem.missing.startswith("a CUDA GPU: torch ") and "flash_attention_2, tf32: true" in problem.missing
    assert "NVIDIA GPU" in problem.todo and "axolotl_configs/smollm2_cpu.yml --launcher python" in problem.todo
    assert gpu_problems(load("smollm2_cpu.yml")) == []


def test_model_problems(smollm2, tmp_path, monkeypatch):
    assert model_problems({"base_model": str(smollm2)}) == []
    (tmp_path / "empty").mkdir()
    assert "has no config.json" in model_problems({"base_model": str(tmp_path / "empty")})[0].missing
    assert "no such model folder" in model_problems({"base_model": "./models/not-there"})[0].missing

    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))  # nothing cached
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    (offline,) = model_problems({"base_model": "meta-llama/Llama-2-7b-hf"})
    assert "not in the Hugging Face cache" in offline.missing and "HF_HUB_OFFLINE" in offline.missing
    assert offline.todo.startswith("download it where the hub can be reached (hf download meta-llama/Llama-2-7b-hf "
                                   "--local-dir models/Llama-2-7b-hf)")

    import httpx

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    response = httpx.Response(403, request=httpx.Request("GET", "https://huggingface.co/api/models/x"))
    for error, missing, todo in (
        (GatedRepoError("gated", response=response), "a gated model", "accept its license on https://huggingface.co/"),
        (RepositoryNotFoundError("none", response=response), "no such model on the Hugging Face hub", "check the name"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "the hub cannot be reached (ConnectError", "hf download"),
    ):
        def refuse(self, repo_id, error=error):
            raise error

        monkeypatch.setattr(HfApi, "auth_check", refuse)
        (problem,) = model_problems({"base_model": "meta-llama/Llama-2-7b-hf"})
        assert missing in problem.missing and todo in problem.todo


def test_report_and_opt_out(capsys, monkeypatch):
    monkeypatch.setattr(preflight, "model_problems", lambda cfg: [Problem("a thing", "get it")])
    with pytest.raises(SystemExit) as exit_:
        check({}, "x.yml", model=True, gpu=False)
    assert exit_.value.code == 1
    assert capsys.readouterr().err == ("mixdistill: x.yml asks for what this machine does not have:\n"
                                       "  - missing: a thing\n    to do: get it\n(mixdistill's preflight check; "
                                       "`mixdistill_preflight: false` in the config turns off its model and GPU "
                                       "checks)\n")
    check({"mixdistill_preflight": False}, "x.yml", model=True, gpu=True)  # turned off: no exit


def user_env() -> dict:
    """The user's shell: the environment's bin on PATH, nothing switched off for the check's sake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_OFFLINE", "MIXDISTILL_"))}
    return env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@NO_CUDA
@pytest.mark.parametrize("name", GPU_CONFIGS)
def test_gpu_configs_as_written_get_every_problem_with_what_to_do(name, tmp_path, monkeypatch, capsys):
    """The check `axolotl train` runs before launching, in-process: no GPU, the model neither cached nor
    reachable (the hub offline)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))  # nothing cached
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit) as exit_:
        preflight.check_before_launch(f"axolotl_configs/{name}", {})
    assert exit_.value.code == 1
    report = capsys.readouterr().err
    assert report.startswith(f"mixdistill: axolotl_configs/{name} asks for")
    assert "missing: a CUDA GPU: torch" in report and "to do: train on a machine with an NVIDIA GPU" in report
    assert f"missing: base_model {GPU_CONFIGS[name]}: " in report


@NO_CUDA
@pytest.mark.slow
def test_axolotl_train_as_written_stops_with_the_message(tmp_path):
    """`axolotl train axolotl_configs/llama2_mixed.yml` here: no GPU, no hub (or no access to the gated model)."""
    name = "llama2_mixed.yml"
    start = time.monotonic()
    proc = subprocess.run(["axolotl", "train", f"axolotl_configs/{name}"], cwd=REPO, capture_output=True, text=True,
                          env=user_env(), timeout=600)
    elapsed = time.monotonic() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "axolotl.cli.train" not in output  # stopped before launching training
    report = proc.stderr[proc.stderr.index(f"mixdistill: axolotl_configs/{name} asks for"):]
    assert "missing: a CUDA GPU: torch" in report and "to do: train on a machine with an NVIDIA GPU" in report
    assert f"missing: base_model {GPU_CONFIGS[name]}: " in report
    assert elapsed < 300, elapsed  # 15 to 80 s here, with other work on the 2 cores


@NO_CUDA
@pytest.mark.slow
def test_the_training_process_itself_stops_the_same_way(smollm2, tmp_path):
    """What `accelerate launch -m axolotl.cli.train` runs: the plugin's hooks check on their own."""
    proc = subprocess.run([sys.executable, "-m", "axolotl.cli.train", "axolotl_configs/llama2_mixed.yml"], cwd=REPO,
                          capture_output=True, text=True, env=user_env() | {"AXOLOTL_DO_NOT_TRACK": "1"}, timeout=600)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "missing: base_model meta-llama/Llama-2-7b-hf: " in proc.stderr  # register: the model first

    # the model at hand (the real SmolLM2 in place of Llama-2): training then stops at the GPU, before the data
    config = load("llama2_mixed.yml")
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"id": "a", "question": "1 + 1?", "answer": 2.0, "kind": "cot",
                                "rationale": "1 + 1 = 2. The answer is 2.", "teacher": "gold"}) + "\n")
    config.update(base_model=str(smollm2), dataset_prepared_path=str(tmp_path / "prepared"),
                  output_dir=str(tmp_path / "out"))
    config["datasets"][0]["path"] = str(data)
    path = tmp_path / "llama2_mixed.yml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "axolotl.cli.train", str(path)], capture_output=True, text=True,
                          env=user_env() | {"AXOLOTL_DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "missing: a CUDA GPU" in proc.stderr and "base_model" not in proc.stderr.split("asks for")[-1]
    assert not (tmp_path / "prepared").exists()  # stopped before tokenizing anything


@pytest.mark.parametrize("plugin, setting, name", [
    ("axolotl.integrations.cut_cross_entropy.CutCrossEntropyPlugin", {}, "Cut Cross-Entropy (cut_cross_entropy: true)"),
    ("axolotl.integrations.liger.LigerPlugin", {"liger_fused_linear_cross_entropy": True},
     "Liger's fused linear cross-entropy (liger_fused_linear_cross_entropy: true)"),
])
def test_a_fused_loss_beside_per_kind_weights_is_refused_before_launch(plugin, setting, name, smollm2, tmp_path,
                                                                        monkeypatch, capsys):
    """A fused loss never builds the logits the weighted loss reads: refused at start, with what to set."""
    import yaml

    monkeypatch.delenv(preflight.CHECKED, raising=False)  # restored after the test (the check sets it)

    cfg = yaml.safe_load((REPO / "axolotl_configs" / "smollm2_cpu.yml").read_text())
    cfg |= {"base_model": str(smollm2), "plugins": [*cfg["plugins"], plugin], **setting,
            "mixdistill_loss_weights": {"cot": 1.0, "pot": 2.0}}
    weighted_cfg = tmp_path / "weighted.yml"
    weighted_cfg.write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit):
        preflight.check_before_launch(str(weighted_cfg), {})
    report = capsys.readouterr().err
    assert "missing: a loss that reads the logits" in report and name in report
    key = "cut_cross_entropy" if "Cut" in name else "liger_fused_linear_cross_entropy"
    assert f"to do: set {key}: false" in report
    cfg["mixdistill_loss_weights"] = {"cot": 1.0, "pot": 1.0}  # the stock loss: the fused one is fine
    plain = tmp_path / "plain.yml"
    plain.write_text(yaml.safe_dump(cfg))
    preflight.check_before_launch(str(plain), {})


FUSED = [("axolotl.integrations.cut_cross_entropy.CutCrossEntropyPlugin", {}, "cut_cross_entropy"),
         ("axolotl.integrations.liger.LigerPlugin", {"liger_fused_linear_cross_entropy": True},
          "liger_fused_linear_cross_entropy")]


@pytest.mark.parametrize("plugin, setting, key", FUSED)
@pytest.mark.parametrize("loss", [{"mixdistill_loss_weights": {"cot": 1.0, "pot": 2.0}},
                                  {"mixdistill_loss_normalization": "kind"}], ids=["weights", "kind_alone"])
def test_a_fused_loss_is_refused_beside_per_kind_loss_with_the_preflight_off(plugin, setting, key, loss, capsys):
    """The loss check is about what the run computes, not the machine: `mixdistill_preflight: false`
    turns off the model and GPU checks only. Normalisation per kind alone replaces the loss too."""
    cfg = {"plugins": [preflight.PLUGIN, plugin], **setting, **loss, "mixdistill_preflight": False,
           "base_model": "./models/not-there", "attn_implementation": "flash_attention_2"}
    with pytest.raises(SystemExit) as exit_:
        check(cfg, "x.yml", model=True, gpu=True)
    assert exit_.value.code == 1
    report = capsys.readouterr().err
    assert "missing: a loss that reads the logits" in report and f"to do: set {key}: false" in report
    assert "base_model" not in report and "CUDA" not in report  # the machine's checks are off


def test_liger_cross_entropy_goes_with_per_kind_weights():
    """`liger_cross_entropy` only replaces F.cross_entropy, which the weighted loss never calls
    (tests/test_loss.py runs it with F.cross_entropy replaced)."""
    cfg = {"plugins": [preflight.PLUGIN, "axolotl.integrations.liger.LigerPlugin"], "liger_cross_entropy": True,
           "liger_fused_linear_cross_entropy": False, "mixdistill_loss_weights": {"cot": 1.0, "pot": 2.0},
           "mixdistill_loss_normalization": "kind"}
    assert preflight.loss_problems(cfg) == []
