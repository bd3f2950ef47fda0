"""Answering new questions with a distilled student: CoT and PoT paths sampled in rounds, stopping
when the two kinds agree (``mixdistill solve``).

Each round asks the student, for every question still open, for one CoT path and one PoT path
(one batch per round), reads their answers (CoT extracted, programs run in the sandboxed
executor), and closes every question whose paths now settle: the majority of its CoT paths and the
majority of its PoT paths name the same answer (:func:`~mixdistill_plugin.voting.settled`). After
``max_rounds`` a question still open gets the mixed vote of all its paths. The answer and the
rounds are :func:`~mixdistill_plugin.voting.adaptive_vote` of the paths sampled, the function
``mixdistill report`` replays on logged evaluations, so a live run and a replay agree path for path.

The student and the reader are functions, so any backend (lm-eval's model classes, an
OpenAI-compatible server, a scripted student in the tests) plugs in. This module imports neither
lm-eval nor Axolotl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from mixdistill_plugin.answers import DEFAULT_TOLERANCE
from mixdistill_plugin.voting import VoteMethod, adaptive_vote, settled

KINDS = ("cot", "pot")
# (question index, kind) requests of one round, and the round's number (1, 2, ...) -> one text each
Sample = Callable[[Sequence[tuple[int, str]], int], Sequence[str]]
# a kind and its texts -> (answer, outcome, detail) for each, as scoring.read_answers gives them
Read = Callable[[str, Sequence[str]], Sequence[tuple[float | None, str, str]]]


@dataclass(frozen=True)
class SampledPath:
    kind: str
    round: int
    text: str
    answer: float | None
    outcome: str
    detail: str = ""


@dataclass
class Solution:
    """One question's ``answer`` (``None`` when no path gave one), the ``rounds`` it took, whether
    the kinds ``agreed`` (``False``: the cap was reached) and every path sampled, in order."""

    answer: float | None = None
    rounds: int = 0
    agreed: bool = False
    paths: list[SampledPath] = field(default_factory=list)

    def answers(self, kind: str) -> list[float | None]:
        return [p.answer for p in self.paths if p.kind == kind]


def solve_in_rounds(count: int, sample: Sample, read: Read, max_rounds: int = 4,
                    vote: str | VoteMethod | None = None, tolerance: float = DEFAULT_TOLERANCE,
                    on_round: Callable[[int, list[int]], None] | None = None) -> list[Solution]:
    """Solve ``count`` questions (indices ``0..count-1``) in at most ``max_rounds`` rounds.

    ``on_round(round, closed)`` is called after each round with the questions it closed.
    """
    if max_rounds < 1:
        raise ValueError("max_rounds must be at least 1")
    solutions = [Solution() for _ in range(count)]
    open_ = list(range(count))
    for number in range(1, max_rounds + 1):
        if not open_:
            break
        requests = [(i, kind) for i in open_ for kind in KINDS]
        texts = list(sample(requests, number))
        if len(texts) != len(requests):
            raise RuntimeError(f"the student answered {len(texts)} of {len(requests)} requests in round {number}")
        for kind in KINDS:
            mine = [(i, text) for (i, k), text in zip(requests, texts) if k == kind]
            for (i, text), (answer, outcome, detail) in zip(mine, read(kind, [t for _, t in mine])):
                solutions[i].paths.append(SampledPath(kind, number, text, answer, outcome, detail))
        closed = []
        for i in open_:
            solutions[i].rounds = number
            if settled(solutions[i].answers("cot"), solutions[i].answers("pot"), tolerance) is not None:
                closed.append(i)
        open_ = [i for i in open_ if i not in set(closed)]
        if on_round:
            on_round(number, closed)
    for solution in solutions:
        result = adaptive_vote(solution.answers("cot"), solution.answers("pot"), solution.rounds, vote, tolerance)
        solution.answer, solution.rounds, solution.agreed = result.answer, result.rounds, result.agreed
    return solutions
