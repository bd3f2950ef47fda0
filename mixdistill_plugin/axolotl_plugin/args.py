"""The plugin's options: top-level keys of an Axolotl config."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from mixdistill_plugin.prompts import kind_names


def _check_kinds(kinds: list[str] | None, option: str) -> None:
    unknown = [k for k in kinds or [] if k not in kind_names()]
    if unknown:
        raise ValueError(f"{option}: unknown kind(s) {unknown}; known kinds: {kind_names()}")


class MixDistillArgs(BaseModel):
    """Options of ``plugins: [mixdistill_plugin.axolotl_plugin.MixDistillPlugin]``.

    - ``mixdistill_kinds``: the prompt kinds to train (default: each record's own kind). A record
      trains the listed kinds made from it: ``[cot, pot]`` Mixed Distillation, ``[cot]`` CoT only,
      ``[predict, explain]`` Distilling step-by-step from CoT records, ``[decompose, solve]``
      Socratic CoT from socratic records (see :mod:`mixdistill_plugin.training`).
    - ``mixdistill_prompt_format``: ``plain`` (base models) or ``chat`` (the tokenizer's template).
    - ``mixdistill_loss_weights``: per-kind weights of the token loss, e.g. ``{cot: 1.0, pot: 1.0}``;
      kinds left out weigh 1.0, weights of kinds not trained are unused. All 1.0 (the default) is plain Axolotl training. The loss is
      ``sum(weight[kind of token] * token loss) / number of trained tokens``.
    - ``mixdistill_loss_normalization``: ``token`` (the above) or ``kind``: ``sum of weight[kind] *
      mean token loss of the kind``, so ``{predict: a, explain: 1 - a}`` is Distilling
      step-by-step's ``a * label_loss + (1 - a) * rationale_loss`` however short the labels are.
    - ``mixdistill_preflight``: check before loading that the model and the GPU the config asks for
      are there, and stop with what is missing (default ``true``; see :mod:`.preflight`). ``false``
      leaves the refusal of per-kind weights beside a fused loss on.
    """

    mixdistill_kinds: list[str] | None = Field(default=None, min_length=1)
    mixdistill_prompt_format: Literal["plain", "chat"] = "plain"
    mixdistill_loss_weights: dict[str, float] | None = None
    mixdistill_loss_normalization: Literal["token", "kind"] = "token"
    mixdistill_preflight: bool = True

    @field_validator("mixdistill_kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str] | None) -> list[str] | None:
        _check_kinds(kinds, "mixdistill_kinds")
        return kinds

    @field_validator("mixdistill_loss_weights")
    @classmethod
    def _valid_weights(cls, weights: dict[str, float] | None) -> dict[str, float] | None:
        if weights is None:
            return None
        _check_kinds(list(weights), "mixdistill_loss_weights")
        bad = {k: w for k, w in weights.items() if not (math.isfinite(w) and w >= 0)}
        if bad:
            raise ValueError(f"mixdistill_loss_weights: weights must be finite and >= 0, got {bad}")
        if not any(weights.values()):
            raise ValueError("mixdistill_loss_weights: all weights are 0, nothing would be trained")
        return weights
