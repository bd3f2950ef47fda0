"""Scoring sampled CoT and PoT paths against gold answers: one code path for every scorer.

``mixdistill score`` (:func:`score_item`, from texts and program outcomes) and the lm-eval tasks
(:func:`score_answers`, from the answers their filter read) build the same :class:`ItemScore`, and
:func:`summarize` turns a list of them into the metrics. Metrics (percent, over
all ``n`` items; an item without paths of a kind counts as wrong for that kind, and a metric is
``None`` when no item has a path of its kind):

- ``cot_acc`` / ``pot_acc``: the first path of the kind is correct (single-path accuracy);
- ``cot_maj`` / ``pot_maj``: the majority vote over the kind's paths is correct;
- ``mixed_maj``: the majority vote over all paths, CoT then PoT, is correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from mixdistill_plugin.answers import DEFAULT_TOLERANCE, answers_equal, extract_answer
from mixdistill_plugin.executor import Executor, Outcome
from mixdistill_plugin.prompts import get_kind
from mixdistill_plugin.voting import Vote, majority_vote

METRICS = ("cot_acc", "pot_acc", "cot_maj", "pot_maj", "mixed_maj")


def read_answers(kind: str, texts: Sequence[str], executor: Executor) -> list[tuple[float | None, str, str]]:
    """``(answer, outcome, detail)`` for each text of ``kind``: extracted from text, or executed."""
    if get_kind(kind).reader == "execute":
        return [(o.answer, o.status, o.detail) for o in executor.run(list(texts))]
    return [(a, "answer" if a is not None else "no_answer", "") for a in map(extract_answer, texts)]


@dataclass(frozen=True)
class ItemScore:
    gold: float
    cot_answers: tuple[float | None, ...]
    pot_answers: tuple[float | None, ...]
    cot_vote: Vote
    pot_vote: Vote
    mixed_vote: Vote
    tolerance: float = DEFAULT_TOLERANCE

    def correct(self, metric: str) -> bool:
        """Whether this item counts as correct for ``metric`` (one of :data:`METRICS`)."""
        answer = {
            "cot_acc": self.cot_answers[0] if self.cot_answers else None,
            "pot_acc": self.pot_answers[0] if self.pot_answers else None,
            "cot_maj": self.cot_vote.answer,
            "pot_maj": self.pot_vote.answer,
            "mixed_maj": self.mixed_vote.answer,
        }[metric]
        return answers_equal(answer, self.gold, self.tolerance)

    def has(self, metric: str) -> bool:
        """Whether the item has any path that ``metric`` looks at."""
        kind = metric.partition("_")[0]
        return bool(self.cot_answers) if kind == "cot" else bool(self.pot_answers) if kind == "pot" else bool(
            self.cot_answers or self.pot_answers
        )


def score_item(
    gold: float,
    cot_texts: Sequence[str],
    pot_outcomes: Sequence[Outcome],
    tolerance: float = DEFAULT_TOLERANCE,
) -> ItemScore:
    """Score one question from its CoT texts and its already executed PoT programs."""
    return score_answers(gold, [extract_answer(t) for t in cot_texts], [o.answer for o in pot_outcomes], tolerance)


def score_answers(
    gold: float,
    cot_answers: Sequence[float | None],
    pot_answers: Sequence[float | None],
    tolerance: float = DEFAULT_TOLERANCE,
) -> ItemScore:
    """Score one question from the answers of its CoT and PoT paths (``None``: no answer)."""
    cot, pot = tuple(cot_answers), tuple(pot_answers)
    return ItemScore(
        gold=gold,
        cot_answers=cot,
        pot_answers=pot,
        cot_vote=majority_vote(cot, tolerance),
        pot_vote=majority_vote(pot, tolerance),
        mixed_vote=majority_vote(cot + pot, tolerance),
        tolerance=tolerance,
    )


def paths_by_question(items: Iterable[tuple[str, str, float, Iterable[float | None]]]) -> dict[str, dict]:
    """Regroup per-document answers ``(id, kind, gold, answers)`` into ``{id: {"gold", "cot", "pot"}}``."""
    questions: dict[str, dict] = {}
    for qid, kind, gold, answers in items:
        questions.setdefault(qid, {"gold": gold, "cot": [], "pot": []})[kind].extend(answers)
    return questions


def summarize(scores: Sequence[ItemScore]) -> dict[str, float | int | None]:
    """``n`` and every metric of :data:`METRICS` in percent (``None`` where no item has the kind)."""
    summary: dict[str, float | int | None] = {"n": len(scores)}
    for metric in METRICS:
        if any(s.has(metric) for s in scores):
            summary[metric] = 100.0 * sum(s.correct(metric) for s in scores) / len(scores)
        else:
            summary[metric] = None
    return summary
