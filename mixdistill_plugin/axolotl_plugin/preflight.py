"""Before Axolotl loads anything: does this machine have what the config asks for?

Without it, ``axolotl train axolotl_configs/llama2_mixed.yml`` on a machine with no CUDA GPU, or
with no access to the model, ends half a minute in with a traceback deep in transformers or torch.
The check runs on every config that lists the plugin:

- ``axolotl train``: before Axolotl launches the training process (:mod:`mixdistill_plugin.startup`
  wraps its launcher), the model and the GPU;
- in an Axolotl process started some other way (``accelerate launch -m axolotl.cli.train``,
  ``python -m axolotl.cli.train``, ``axolotl preprocess``): the plugin's ``register`` checks the
  model, and its ``load_datasets`` hook, which only training calls, the GPU; a config that
  ``axolotl train`` checked already is not checked again.

Everything missing is reported at once, each with what to do, and the process exits with status 1,
no traceback. ``mixdistill_preflight: false`` in a config turns off the model and GPU checks; the
refusal of per-kind weights beside a fused loss always runs (it is about what the run would
compute, not about the machine).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

PLUGIN = "mixdistill_plugin.axolotl_plugin.MixDistillPlugin"
CHECKED = "MIXDISTILL_PREFLIGHT_CHECKED"  # the config file `axolotl train` checked before launching
FLASH_ATTENTION = ("flash_attention_2", "flash_attention_3")
CPU_ROUTE = ("on this machine, train a small student on the CPU instead: "
             "axolotl train axolotl_configs/smollm2_cpu.yml --launcher python")


@dataclass(frozen=True)
class Problem:
    missing: str
    todo: str


def cuda_settings(cfg: Mapping) -> list[str]:
    """The config's settings that need a CUDA GPU (``bf16: auto`` adapts, so it is not one)."""
    asks = []
    attention = cfg.get("attn_implementation")
    if attention in FLASH_ATTENTION:
        asks.append(f"attn_implementation: {attention}")
    elif cfg.get("flash_attention") is True:
        asks.append("flash_attention: true")
    asks += [f"{key}: true" for key in ("fp16", "tf32", "load_in_8bit", "load_in_4bit") if cfg.get(key) is True]
    if cfg.get("deepspeed"):
        asks.append(f"deepspeed: {cfg['deepspeed']}")
    return asks


def gpu_problems(cfg: Mapping) -> list[Problem]:
    asks = cuda_settings(cfg)
    if not asks:
        return []
    import torch

    if not torch.cuda.is_available():
        return [Problem(f"a CUDA GPU: torch {torch.__version__} finds none, and the config asks for {', '.join(asks)}",
                        "train on a machine with an NVIDIA GPU (compute capability 8.0 or newer, e.g. A100, H100, "
                        f"RTX 30xx/40xx) and a CUDA build of torch; {CPU_ROUTE}")]
    found = []
    capability = torch.cuda.get_device_capability()
    ampere = [a for a in asks if a.startswith(("attn_implementation", "flash_attention", "tf32"))]
    if cfg.get("bf16") is True:
        ampere.append("bf16: true")
    if capability < (8, 0) and ampere:
        found.append(Problem(f"a GPU of compute capability 8.0 or newer for {', '.join(ampere)} "
                             f"({torch.cuda.get_device_name()} has {capability[0]}.{capability[1]})",
                             "set bf16: false, fp16: true, tf32: false and attn_implementation: sdpa"))
    if any(a.startswith(("attn_implementation", "flash_attention")) for a in asks):
        import importlib.util

        if importlib.util.find_spec("flash_attn") is None:
            found.append(Problem("the flash-attn package, which FlashAttention-2 needs",
                                 "pip install flash-attn --no-build-isolation (or set attn_implementation: sdpa)"))
    return found


def weighted(cfg: Mapping) -> bool:
    """Whether the config replaces the loss with the per-kind weighted one (a weight other than 1.0,
    or normalisation per kind)."""
    weights = cfg.get("mixdistill_loss_weights") or {}
    return any(w != 1.0 for w in weights.values()) or cfg.get("mixdistill_loss_normalization") == "kind"


FUSED_LOSSES = {  # Axolotl's losses that never build the logits, and the setting that turns each off
    "axolotl.integrations.cut_cross_entropy.CutCrossEntropyPlugin": ("cut_cross_entropy", True, "Cut Cross-Entropy"),
    "axolotl.integrations.liger.LigerPlugin": ("liger_fused_linear_cross_entropy", False,
                                               "Liger's fused linear cross-entropy"),
}


def loss_problems(cfg: Mapping) -> list[Problem]:
    """The per-kind weighted loss reads the logits (in chunks, see ``loss.py``); a fused loss that
    never builds them cannot go with it, and a silent fallback would change the loss or the memory."""
    if not weighted(cfg):
        return []
    found = []
    for plugin, (key, default, name) in FUSED_LOSSES.items():
        if plugin in (cfg.get("plugins") or []) and cfg.get(key, default):
            found.append(Problem(
                f"a loss that reads the logits: mixdistill_loss_weights / mixdistill_loss_normalization replace the "
                f"loss with one that needs them, and {name} ({key}: true) never builds them",
                f"set {key}: false (the weighted loss computes its cross-entropy in chunks of positions, so the "
                f"batch's fp32 logits never exist at once), or train without per-kind weights "
                f"(mixdistill_loss_weights all 1.0, mixdistill_loss_normalization: token)"))
    return found


def model_problems(cfg: Mapping) -> list[Problem]:
    names = {key: cfg.get(key) for key in ("base_model", "base_model_config", "tokenizer_config")}
    checked, found = set(), []
    for key, name in names.items():
        if isinstance(name, str) and name and name not in checked:
            checked.add(name)
            problem = _model_problem(key, name)
            if problem:
                found.append(problem)
    return found


def _model_problem(key: str, name: str) -> Problem | None:
    path = Path(name).expanduser()
    if path.is_dir():
        if key == "tokenizer_config" or (path / "config.json").is_file():
            return None
        return Problem(f"{key} {name}: the folder has no config.json",
                       "point it at a folder written by save_pretrained, or at a Hugging Face model id")
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or path.exists():
        return Problem(f"{key} {name}: no such model folder",
                       "point it at a model folder, or at a Hugging Face model id (owner/name)")
    from huggingface_hub import HfApi, constants, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return None
    folder = f"models/{name.rsplit('/', 1)[-1]}"
    download = (f"download it where the hub can be reached (hf download {name} --local-dir {folder}), "
                f"bring the folder here and set {key}: {folder}")
    if constants.HF_HUB_OFFLINE or os.environ.get("TRANSFORMERS_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return Problem(f"{key} {name}: not in the Hugging Face cache ({constants.HF_HUB_CACHE}), and the hub is "
                       "switched off (HF_HUB_OFFLINE)", download)
    try:
        HfApi().auth_check(name)
    except GatedRepoError:
        return Problem(f"{key} {name}: a gated model, and this machine's Hugging Face token has no access to it",
                       f"accept its license on https://huggingface.co/{name}, then log in (hf auth login) or set "
                       "HF_TOKEN")
    except RepositoryNotFoundError:
        return Problem(f"{key} {name}: no such model on the Hugging Face hub (or a private one)",
                       "check the name, or log in with a token that can read it (hf auth login)")
    except Exception as exc:  # no network, a proxy, DNS...: the hub cannot answer
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}" if str(exc) else type(exc).__name__
        return Problem(f"{key} {name}: not in the Hugging Face cache ({constants.HF_HUB_CACHE}), and the hub "
                       f"cannot be reached ({reason})", download)
    return None


def report(source: str, problems: list[Problem]) -> str:
    lines = [f"mixdistill: {source} asks for what this machine does not have:"]
    for problem in problems:
        lines += [f"  - missing: {problem.missing}", f"    to do: {problem.todo}"]
    lines.append("(mixdistill's preflight check; `mixdistill_preflight: false` in the config turns off its model and "
                 "GPU checks)")
    return "\n".join(lines) + "\n"


def check(cfg: Mapping, source: str, *, model: bool, gpu: bool) -> None:
    """Exit with the report when something is missing: the loss and the model when ``model``, the GPU
    when ``gpu``; the loss whatever ``mixdistill_preflight`` says."""
    found = loss_problems(cfg) if model else []
    if cfg.get("mixdistill_preflight") is not False:
        found += model_problems(cfg) if model else []
        found += gpu_problems(cfg) if gpu and not cfg.get("use_ray") else []
    if found:
        sys.stdout.flush()
        sys.stderr.write(report(source, found))
        sys.stderr.flush()
        raise SystemExit(1)


def check_before_launch(cfg_file: str, overrides: Mapping) -> None:
    """``axolotl train``: the config file, with the command line's overrides, before any launcher runs."""
    import yaml

    with open(cfg_file, encoding="utf-8") as file:
        cfg = yaml.safe_load(file) or {}
    if not isinstance(cfg, dict) or PLUGIN not in (cfg.get("plugins") or []):
        return
    cfg.update({key: value for key, value in overrides.items() if "__" not in key and value is not None})
    check(cfg, cfg_file, model=True, gpu=True)
    os.environ[CHECKED] = os.path.abspath(cfg_file)


def check_in_process(cfg: Mapping, *, training: bool) -> None:
    """From the plugin's hooks: the model at registration, the GPU when training starts."""
    source = cfg.get("axolotl_config_path") or "the Axolotl config"
    if os.environ.get(CHECKED) and os.environ[CHECKED] == os.path.abspath(str(source)):
        return
    check(cfg, str(source), model=not training, gpu=training)
