"""The distillation recipes ``make distill RECIPE=...`` compares, as Axolotl plugin settings.

Every recipe trains on the same teacher folder (``train.jsonl`` with ``cot``, ``pot`` and
``socratic`` records); a recipe only says which prompt kinds the student learns from it and how
their losses combine (see :mod:`mixdistill_plugin.training`):

| recipe | trains | loss | evaluated by |
| --- | --- | --- | --- |
| ``mixed`` | ``cot`` + ``pot`` | per token | ``*_mixed`` (CoT, PoT, pooled maj@k) |
| ``cot`` / ``pot`` | one kind | per token | ``*_cot`` / ``*_pot`` |
| ``step_by_step`` | ``predict`` + ``explain`` from CoT | ``0.5 * label + 0.5 * rationale`` | ``*_direct`` |
| ``socratic`` | ``decompose`` + ``solve`` from Socratic | per token | ``mixdistill socratic`` |
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    kinds: tuple[str, ...]
    loss_weights: dict[str, float] = field(default_factory=dict)
    normalization: str = "token"

    def axolotl_settings(self) -> dict:
        """The plugin's top-level config keys for this recipe."""
        return {"mixdistill_kinds": list(self.kinds),
                "mixdistill_loss_weights": dict(self.loss_weights) or {k: 1.0 for k in self.kinds},
                "mixdistill_loss_normalization": self.normalization}


RECIPES = {
    "mixed": Recipe(("cot", "pot")),
    "cot": Recipe(("cot",)),
    "pot": Recipe(("pot",)),
    "step_by_step": Recipe(("predict", "explain"), {"predict": 0.5, "explain": 0.5}, "kind"),
    "socratic": Recipe(("decompose", "solve")),
}
