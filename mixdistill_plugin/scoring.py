"""Scoring sampled CoT and PoT paths against gold answers: one code path for every scorer.

``mixdistill score`` (from texts and program outcomes), the lm-eval tasks (from the answers their
filter read) and ``mixdistill socratic`` build the same :class:`ItemScore` with
:func:`score_answers`, and :func:`summarize` turns a list of them into metrics. A metric is
``<kind>_acc`` or ``<kind>_maj`` for any prompt kind (percent, over all ``n`` items; an item without
paths of the kind counts as wrong, and a metric is ``None`` when no item has a path of its kind):

- ``<kind>_acc``: the first path of the kind is correct (single-path accuracy), e.g. ``cot_acc``,
  ``predict_acc`` (Distilling step-by-step's direct answer), ``socratic_acc``;
- ``<kind>_maj``: the majority vote over the kind's paths is correct;
- ``mixed_maj``: the mixed vote over all CoT and PoT paths is correct, by the item's ``vote``
  method (:data:`~mixdistill_plugin.voting.MIXED_RULES`; default
  :data:`~mixdistill_plugin.voting.DEFAULT_VOTE`); ``None`` unless some item has paths of both kinds.

:data:`MIXED` are the kinds of the ``mixed`` recipe; :data:`METRICS` are Mixed Distillation's five,
what ``mixdistill score`` always reports; :func:`metrics_of` names the metrics of any kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from mixdistill_plugin.answers import DEFAULT_TOLERANCE, NUMBER, Answer, AnswerType, answers_equal
from mixdistill_plugin.executor import Executor
from mixdistill_plugin.prompts import get_kind, scored_kinds
from mixdistill_plugin.recipes import RECIPES
from mixdistill_plugin.socratic import final_answer
from mixdistill_plugin.voting import DEFAULT_VOTE, Vote, VoteMethod, majority_vote, mixed_vote, parse_vote

MIXED = RECIPES["mixed"].evaluates


def metrics_of(kinds: Sequence[str], votes: bool = True) -> list[str]:
    """The metrics of paths of ``kinds``: each ``<kind>_acc``; with ``votes`` each ``<kind>_maj`` too,
    and ``mixed_maj`` where ``kinds`` hold :data:`MIXED`."""
    metrics = [f"{kind}_acc" for kind in kinds]
    if votes:
        metrics += [f"{kind}_maj" for kind in kinds] + (["mixed_maj"] if set(MIXED) <= set(kinds) else [])
    return metrics


def all_metrics() -> list[str]:
    """:data:`METRICS`, then the acc and maj of every other scored kind of the registry."""
    return [*METRICS, *(m for kind in scored_kinds() if kind not in MIXED for m in metrics_of([kind]))]


METRICS = tuple(metrics_of(MIXED))


def read_answers(kind: str, texts: Sequence[str], executor: Executor,
                 specs: AnswerType | Sequence[AnswerType] = NUMBER) -> list[tuple[Answer | None, str, str]]:
    """``(answer, outcome, detail)`` for each text of ``kind``: extracted (by its question's answer type,
    ``specs``: one for all texts or one per text), executed, or the last step's."""
    reader = get_kind(kind).reader
    if reader == "execute":
        return [(o.answer, o.status, o.detail) for o in executor.run(list(texts))]
    if reader == "none":
        raise ValueError(f"prompt kind {kind!r} has no answer to read")
    types = [specs] * len(texts) if isinstance(specs, AnswerType) else list(specs)
    read = [spec.read(text) if reader == "extract" else final_answer(text, spec) for spec, text in zip(types, texts)]
    return [(a, "answer" if a is not None else "no_answer", "") for a in read]


@dataclass(frozen=True)
class ItemScore:
    """One question: its gold answer, the answers of its paths per kind, and how the mixed vote is taken."""

    gold: Answer
    answers: Mapping[str, tuple[Answer | None, ...]]
    tolerance: float = DEFAULT_TOLERANCE
    method: str | VoteMethod = DEFAULT_VOTE

    def paths(self, kind: str) -> tuple[Answer | None, ...]:
        """The answers of ``kind``'s paths; ``mixed``: those of each kind of :data:`MIXED` in turn."""
        if kind == "mixed":
            return tuple(a for k in MIXED for a in self.answers.get(k, ()))
        return tuple(self.answers.get(kind, ()))

    def vote(self, kind: str) -> Vote:
        """The majority of ``kind``'s paths; ``mixed``: the mixed vote by this item's method."""
        if kind == "mixed":
            return mixed_vote(*(self.answers.get(k, ()) for k in MIXED), self.method, self.tolerance)
        return majority_vote(self.paths(kind), self.tolerance)

    def correct(self, metric: str) -> bool:
        """Whether this item counts as correct for ``metric`` (``<kind>_acc`` or ``<kind>_maj``)."""
        kind, how = split_metric(metric)
        paths = self.paths(kind)
        answer = (paths[0] if paths else None) if how == "acc" else self.vote(kind).answer
        return answers_equal(answer, self.gold, self.tolerance)

    def has(self, metric: str) -> bool:
        """Whether the item has any path that ``metric`` looks at; ``mixed_maj``: paths of every kind of
        :data:`MIXED` (over CoT paths alone the mixed vote would be ``cot_maj`` under another name)."""
        kind = split_metric(metric)[0]
        if kind == "mixed":
            return all(self.answers.get(k) for k in MIXED)
        return bool(self.paths(kind))


def split_metric(metric: str) -> tuple[str, str]:
    """``"pot_maj"`` -> ``("pot", "maj")``."""
    kind, _, how = metric.rpartition("_")
    if how not in ("acc", "maj") or not kind:
        raise ValueError(f"unknown metric {metric!r}: expected <kind>_acc or <kind>_maj")
    return kind, how


def score_answers(gold: Answer, answers: Mapping[str, Sequence[Answer | None]],
                  tolerance: float = DEFAULT_TOLERANCE, vote: str | VoteMethod | None = None) -> ItemScore:
    """Score one question from the answers of its paths per kind (``None``: no answer); ``vote``: the
    mixed vote's method (default :data:`~mixdistill_plugin.voting.DEFAULT_VOTE`)."""
    return ItemScore(gold, {kind: tuple(paths) for kind, paths in answers.items()}, tolerance, parse_vote(vote))


def paths_by_question(items: Iterable[tuple[str, str, Answer, Iterable[Answer | None]]]) -> dict[str, dict]:
    """Regroup per-document answers ``(id, kind, gold, answers)`` into ``{id: {"gold", "paths": {kind: [...]}}}``."""
    questions: dict[str, dict] = {}
    for qid, kind, gold, answers in items:
        questions.setdefault(qid, {"gold": gold, "paths": {}})["paths"].setdefault(kind, []).extend(answers)
    return questions


def summarize(scores: Sequence[ItemScore], metrics: Sequence[str] = METRICS) -> dict[str, float | int | None]:
    """``n`` and each of ``metrics`` in percent (``None`` where no item has the kind)."""
    summary: dict[str, float | int | None] = {"n": len(scores)}
    for metric in metrics:
        if any(s.has(metric) for s in scores):
            summary[metric] = 100.0 * sum(s.correct(metric) for s in scores) / len(scores)
        else:
            summary[metric] = None
    return summary
