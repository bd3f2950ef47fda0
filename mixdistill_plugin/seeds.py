"""Runs that differ only in their seed, compared over all their seeds at once.

``make compare SEEDS="1 2 3"`` writes one run folder per seed, named ``<name>-seed<N>``. On 30
questions one seed's accuracy moves 3.3 points per question and the training seed alone has moved a
student's accuracy by 20 points, so a comparison of two recipes or teachers on one seed says little.
Here every seed both sides share pairs the same question with itself: the difference is averaged
over seeds per question, and its interval comes from resampling the questions
(:func:`stats.paired_over_seeds`), beside each seed's own difference, so the spread is in view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

SEEDED = re.compile(r"^(?P<name>.+)-seed(?P<seed>\d+)$")


def split_seed(run: str) -> tuple[str, str | None]:
    """``("mixed-gold", "2")`` for ``mixed-gold-seed2``; ``(run, None)`` for a run without a seed."""
    match = SEEDED.match(run)
    return (match["name"], match["seed"]) if match else (run, None)


def same_seed(a: str, b: str) -> bool:
    """Whether runs ``a`` and ``b`` may be paired question by question: not two different seeds."""
    seed_a, seed_b = split_seed(a)[1], split_seed(b)[1]
    return seed_a is None or seed_b is None or seed_a == seed_b


@dataclass(frozen=True)
class Group:
    """One student on one task in every seed of a run name: ``seeds[seed]`` is that seed's evaluation."""

    name: str
    student: str
    task: str
    seeds: dict

    @property
    def label(self) -> str:
        return f"{self.name}-seed*/{self.student}"


def seed_groups(evaluations: Sequence) -> list[Group]:
    """The evaluations of seeded runs, grouped by run name, student and task, in first-seen order."""
    groups: dict[tuple[str, str, str], dict] = {}
    for ev in evaluations:
        name, seed = split_seed(ev.run)
        if seed is not None:
            groups.setdefault((name, ev.student, ev.task), {})[seed] = ev
    return [Group(name, student, task, seeds) for (name, student, task), seeds in groups.items()]


def group_pairs(groups: Sequence[Group]) -> list[tuple[Group, Group]]:
    """As :func:`report.comparison_pairs` does for runs: within a name, each trained student against
    ``base``; across names, the same trained student; only groups with two or more seeds in common."""
    pairs = []
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            if len(set(a.seeds) & set(b.seeds)) < 2:
                continue
            if a.name == b.name and a.task == b.task and "base" in (a.student, b.student) and a.student != b.student:
                pairs.append((b, a) if a.student == "base" else (a, b))
            elif a.name != b.name and a.student == b.student != "base":
                pairs.append((a, b))
    return pairs
