"""The distillation recipes ``make distill RECIPE=...`` compares: what each trains and how it is evaluated.

Every recipe can train on the same teacher folder (``train.jsonl`` with ``cot``, ``pot`` and
``socratic`` records; ``make distill`` asks the teacher only for the kinds a recipe draws on,
:attr:`Recipe.teacher_kinds`); a recipe says which prompt kinds the student learns from it and how their
losses combine (see :mod:`mixdistill_plugin.training`), which kinds the student answers with at
evaluation, and the lm-eval task that evaluates them (``mixdistill recipes`` prints this table):

| recipe | trains | loss | evaluated by |
| --- | --- | --- | --- |
| ``mixed`` | ``cot`` + ``pot`` | per token | ``*_mixed`` (CoT, PoT, pooled maj@k) |
| ``cot`` / ``pot`` | one kind | per token | ``*_cot`` / ``*_pot`` |
| ``direct`` | ``predict`` from CoT records' answers | per token | ``*_direct`` |
| ``step_by_step`` | ``predict`` + ``explain`` from CoT | ``0.5 * label + 0.5 * rationale`` | ``*_direct`` |
| ``socratic`` | ``decompose`` + ``solve`` from Socratic | per token | ``mixdistill socratic`` |

The kinds of the ``mixed`` recipe are the two the mixed vote pools (:data:`scoring.MIXED`). ``direct``
is standard fine-tuning on the labels alone, Distilling step-by-step's baseline. A recipe applies to a
dataset when every kind it trains and evaluates applies to the dataset's prompt style
(:meth:`Recipe.check`): PoT recipes apply to numeric answers only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mixdistill_plugin.jsonl import InputError, file_text
from mixdistill_plugin.prompts import get_kind

TEMPLATE_HINT = "Give an Axolotl config with a `datasets:` list, as those in axolotl_configs/"


@dataclass(frozen=True)
class Recipe:
    """``kinds`` are trained, ``evaluates`` answer at evaluation in the lm-eval task ``<dataset>_<task>``
    (``task`` empty: in ``mixdistill socratic``'s own loop)."""

    kinds: tuple[str, ...]
    evaluates: tuple[str, ...]
    task: str = ""
    loss_weights: dict[str, float] = field(default_factory=dict)
    normalization: str = "token"

    @property
    def teacher_kinds(self) -> tuple[str, ...]:
        """The kinds of teacher records the trained kinds are made from (``step_by_step``: ``cot``)."""
        return tuple(dict.fromkeys(get_kind(kind).record_kind for kind in self.kinds))

    def axolotl_settings(self) -> dict:
        """The plugin's top-level config keys for this recipe."""
        return {"mixdistill_kinds": list(self.kinds),
                "mixdistill_loss_weights": dict(self.loss_weights) or {k: 1.0 for k in self.kinds},
                "mixdistill_loss_normalization": self.normalization}

    def check(self, dataset: str) -> None:
        """A ``ValueError`` that says why, when this recipe cannot apply to ``dataset`` (a registered name;
        ``file``: any file, checked when it is read)."""
        from mixdistill_plugin.tasks import FILE, get_task  # the registry loads when a dataset is named

        if dataset == FILE:
            return
        task = get_task(dataset)
        missing = [kind for kind in (*self.kinds, *self.evaluates) if kind not in task.kinds]
        if missing:
            raise ValueError(f"this recipe does not apply to {task.title} ({task.problem}s): its student learns or "
                             f"answers with {', '.join(dict.fromkeys(missing))}, which {task.title}'s questions do not "
                             f"take; kinds that apply there: {', '.join(task.kinds)}")

    def task_name(self, dataset: str) -> str:
        """The lm-eval task that evaluates this recipe on ``dataset`` (empty: none, see ``task``); a
        ``KeyError`` for an unknown dataset, a ``ValueError`` where the recipe does not apply."""
        from mixdistill_plugin.tasks import FILE, FILE_PREFIX, get_task

        self.check(dataset)
        prefix = FILE_PREFIX if dataset == FILE else get_task(dataset).prefix
        return f"{prefix}_{self.task}" if self.task else ""


RECIPES = {
    "mixed": Recipe(("cot", "pot"), ("cot", "pot"), "mixed"),
    "cot": Recipe(("cot",), ("cot",), "cot"),
    "pot": Recipe(("pot",), ("pot",), "pot"),
    "direct": Recipe(("predict",), ("predict",), "direct"),
    "step_by_step": Recipe(("predict", "explain"), ("predict",), "direct", {"predict": 0.5, "explain": 0.5}, "kind"),
    "socratic": Recipe(("decompose", "solve"), ("socratic",)),
}


def read_template(path: Path) -> dict:
    """The Axolotl config ``path`` (YAML) that ``mixdistill axolotl-config`` fills in for a recipe; an
    :class:`InputError` naming the file (and the line) when it is not YAML or has no ``datasets:`` list."""
    import yaml

    try:
        config = yaml.safe_load(file_text(path, TEMPLATE_HINT))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f" at column {mark.column + 1}" if mark else ""
        raise InputError(path, mark.line + 1 if mark else None, None, f"not YAML ({problem}{where})",
                         TEMPLATE_HINT) from None
    if not isinstance(config, dict):
        raise InputError(path, None, None, "not a mapping of config keys", TEMPLATE_HINT)
    datasets = config.get("datasets")
    if not isinstance(datasets, list) or not datasets or not isinstance(datasets[0], dict):
        raise InputError(path, None, "datasets", "missing" if datasets is None else "expected a list of datasets",
                         TEMPLATE_HINT)
    return config
