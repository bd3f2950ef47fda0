"""Axolotl plugin ``mixdistill_plugin.axolotl_plugin.MixDistillPlugin``: the formatter's options and
per-kind loss weights (see :mod:`.args`).

    plugins:
      - mixdistill_plugin.axolotl_plugin.MixDistillPlugin
    mixdistill_prompt_format: plain
    mixdistill_loss_weights: {cot: 1.0, pot: 1.0}

Distilling step-by-step (one CoT record, two examples, ``a * label_loss + (1 - a) * rationale_loss``)::

    mixdistill_kinds: [predict, explain]
    mixdistill_loss_weights: {predict: 0.5, explain: 0.5}
    mixdistill_loss_normalization: kind

Weights are applied in the training loss, per token by the kind of its record, never by
duplicating rows. When every weight is 1.0 the plugin changes nothing in training: its collator
wrapper only drops the kind codes the formatter adds to each row.

The plugin seeds Python, NumPy and torch with the config's ``seed`` before the model loads, so the
LoRA weights start the same in every run (Axolotl itself seeds only when it builds the trainer,
after the adapter is made).

Before anything loads, the plugin checks that the machine has the model and the GPU the config asks
for, and otherwise exits with what is missing and what to do (:mod:`.preflight`).
"""

from __future__ import annotations


def __getattr__(name: str):
    """``MixDistillPlugin`` on first use, so that the preflight and the options import without Axolotl."""
    if name == "MixDistillPlugin":
        from mixdistill_plugin.axolotl_plugin.plugin import MixDistillPlugin

        return MixDistillPlugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
