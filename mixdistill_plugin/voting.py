"""Majority voting over sampled reasoning paths (self-consistency), CoT and PoT alike.

Only valid answers vote (``None`` never does). Answers that are equal within the tolerance of
:func:`~mixdistill_plugin.answers.answers_equal` form one group: each answer joins the first
group, in input order, whose first answer it equals. The largest group wins; a tie goes to the
group whose first vote came earliest in the input (so with ``cot + pot`` paths, a tie goes to the
answer the CoT paths gave first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from mixdistill_plugin.answers import DEFAULT_TOLERANCE, answers_equal


@dataclass(frozen=True)
class Vote:
    """The winning ``answer`` (``None`` when no path had one), its ``votes``, and the ``valid`` votes cast."""

    answer: float | None
    votes: int
    valid: int

    @property
    def agreement(self) -> float:
        """Share of valid votes that went to the winner (0.0 when none was valid)."""
        return self.votes / self.valid if self.valid else 0.0


def majority_vote(answers: Iterable[float | None], tolerance: float = DEFAULT_TOLERANCE) -> Vote:
    groups: list[list[float]] = []
    for answer in answers:
        if answer is None:
            continue
        for group in groups:
            if answers_equal(answer, group[0], tolerance):
                group.append(answer)
                break
        else:
            groups.append([answer])
    if not groups:
        return Vote(None, 0, 0)
    best = max(groups, key=len)  # max keeps the first of equal lengths: the earliest group
    return Vote(best[0], len(best), sum(len(g) for g in groups))
