"""The distillation recipes ``make distill RECIPE=...`` compares: what each trains and how it is evaluated.

Every recipe trains on the same teacher folder (``train.jsonl`` with ``cot``, ``pot`` and
``socratic`` records); a recipe says which prompt kinds the student learns from it and how their
losses combine (see :mod:`mixdistill_plugin.training`), which kinds the student answers with at
evaluation, and the lm-eval task that evaluates them (``mixdistill recipes`` prints this table):

| recipe | trains | loss | evaluated by |
| --- | --- | --- | --- |
| ``mixed`` | ``cot`` + ``pot`` | per token | ``*_mixed`` (CoT, PoT, pooled maj@k) |
| ``cot`` / ``pot`` | one kind | per token | ``*_cot`` / ``*_pot`` |
| ``step_by_step`` | ``predict`` + ``explain`` from CoT | ``0.5 * label + 0.5 * rationale`` | ``*_direct`` |
| ``socratic`` | ``decompose`` + ``solve`` from Socratic | per token | ``mixdistill socratic`` |

The kinds of the ``mixed`` recipe are the two the mixed vote pools (:data:`scoring.MIXED`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# lm-eval task names start with the dataset's prefix; lm-eval ships gsm8k_* tasks of its own.
TASK_PREFIXES = {"svamp": "svamp", "gsm8k": "gsm8k_md", "file": "file_md"}


@dataclass(frozen=True)
class Recipe:
    """``kinds`` are trained, ``evaluates`` answer at evaluation in the lm-eval task ``<dataset>_<task>``
    (``task`` empty: in ``mixdistill socratic``'s own loop)."""

    kinds: tuple[str, ...]
    evaluates: tuple[str, ...]
    task: str = ""
    loss_weights: dict[str, float] = field(default_factory=dict)
    normalization: str = "token"

    def axolotl_settings(self) -> dict:
        """The plugin's top-level config keys for this recipe."""
        return {"mixdistill_kinds": list(self.kinds),
                "mixdistill_loss_weights": dict(self.loss_weights) or {k: 1.0 for k in self.kinds},
                "mixdistill_loss_normalization": self.normalization}

    def task_name(self, dataset: str) -> str:
        """The lm-eval task that evaluates this recipe on ``dataset`` (empty: none, see ``task``)."""
        if dataset not in TASK_PREFIXES:
            raise ValueError(f"no lm-eval tasks for dataset {dataset!r}; known: {', '.join(TASK_PREFIXES)}")
        return f"{TASK_PREFIXES[dataset]}_{self.task}" if self.task else ""


RECIPES = {
    "mixed": Recipe(("cot", "pot"), ("cot", "pot"), "mixed"),
    "cot": Recipe(("cot",), ("cot",), "cot"),
    "pot": Recipe(("pot",), ("pot",), "pot"),
    "step_by_step": Recipe(("predict", "explain"), ("predict",), "direct", {"predict": 0.5, "explain": 0.5}, "kind"),
    "socratic": Recipe(("decompose", "solve"), ("socratic",)),
}
