"""Majority voting over sampled reasoning paths (self-consistency), CoT and PoT alike.

Only valid answers vote (``None`` never does). Answers that are equal within the tolerance of
:func:`~mixdistill_plugin.answers.answers_equal` form one group: each answer joins the first
group, in input order, whose first answer it equals. The group with the most votes (the largest
summed weight, when answers carry weights) wins; a tie goes to the group whose first vote came
earliest in the input.

**The mixed vote** pools a question's CoT and PoT paths; :func:`mixed_vote` offers four ways
(:data:`MIXED_RULES`), chosen by name (``--vote`` on the command line, ``{"vote": ...}`` as lm-eval
metadata):

- ``plain``: one vote per path, CoT paths first, so a tie goes to the answer the CoT paths gave first;
- ``pot_first``: one vote per path, PoT paths first, so a tie goes to the PoT answer;
- ``weighted``: each path votes with its kind's weight (``weighted:cot=1,pot=1.5``; default
  :data:`DEFAULT_WEIGHTS`), CoT paths first;
- ``hybrid``: the PoT majority, or the CoT majority when no program yields an answer (MAmmoTH's
  hybrid decoding).

**Adaptive sampling** (:func:`settled`, :func:`adaptive_vote`): paths come in rounds of one CoT and
one PoT path; after each round, when the CoT majority and the PoT majority so far name the same
answer, sampling stops with it. A question that reaches the cap of rounds without agreement gets the
mixed vote of all its paths. In round 1 that is the two-sample CoT-PoT agreement check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from mixdistill_plugin.answers import DEFAULT_TOLERANCE, Answer, answers_equal

DEFAULT_VOTE = "pot_first"  # chosen on measured runs: docs/results.md
DEFAULT_WEIGHTS = {"cot": 1.0, "pot": 1.5}


@dataclass(frozen=True)
class Vote:
    """The winning ``answer`` (``None`` when no path had one), its ``votes``, and the ``valid`` votes cast."""

    answer: Answer | None
    votes: int
    valid: int

    @property
    def agreement(self) -> float:
        """Share of valid votes that went to the winner (0.0 when none was valid)."""
        return self.votes / self.valid if self.valid else 0.0


def majority_vote(answers: Iterable[Answer | None], tolerance: float = DEFAULT_TOLERANCE,
                  weights: Iterable[float] | None = None) -> Vote:
    """The majority of ``answers``; ``weights`` (one per answer, default 1) make it a weighted vote."""
    groups: list[list] = []  # [first answer, count, summed weight]
    for answer, weight in zip(answers, weights if weights is not None else _ones()):
        if answer is None:
            continue
        for group in groups:
            if answers_equal(answer, group[0], tolerance):
                group[1] += 1
                group[2] += weight
                break
        else:
            groups.append([answer, 1, weight])
    if not groups:
        return Vote(None, 0, 0)
    best = max(groups, key=lambda g: g[2])  # max keeps the first of equal weights: the earliest group
    return Vote(best[0], best[1], sum(g[1] for g in groups))


def _ones():
    while True:
        yield 1.0


@dataclass(frozen=True)
class VoteMethod:
    """A mixed-vote method: ``name`` (one of :data:`MIXED_RULES`) and, for ``weighted``, each kind's weight."""

    name: str
    cot: float = DEFAULT_WEIGHTS["cot"]
    pot: float = DEFAULT_WEIGHTS["pot"]

    def __str__(self) -> str:
        return f"weighted:cot={self.cot:g},pot={self.pot:g}" if self.name == "weighted" else self.name


def parse_vote(spec: str | VoteMethod | None) -> VoteMethod:
    """``"plain"``, ``"pot_first"``, ``"hybrid"``, ``"weighted"`` or ``"weighted:cot=1,pot=2"``; ``None``: the default."""
    if isinstance(spec, VoteMethod):
        return spec
    spec = DEFAULT_VOTE if spec is None else spec.strip()
    name, _, given = spec.partition(":")
    name = name.strip().replace("-", "_")
    if name not in MIXED_RULES:
        raise ValueError(f"unknown mixed vote {spec!r}: choose one of {', '.join(MIXED_RULES)} "
                         "(weighted takes weights: weighted:cot=1,pot=1.5)")
    if given and name != "weighted":
        raise ValueError(f"mixed vote {name!r} takes no options (got {spec!r})")
    weights = dict(DEFAULT_WEIGHTS)
    for part in filter(None, (p.strip() for p in given.split(","))):
        kind, eq, value = part.partition("=")
        kind = kind.strip()
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not eq or kind not in DEFAULT_WEIGHTS or not weight >= 0 or weight == float("inf"):
            raise ValueError(f"bad weight {part!r} in {spec!r}: expected cot=W or pot=W with a finite W >= 0")
        weights[kind] = weight
    return VoteMethod(name, **weights)


def mixed_vote(cot: Sequence[Answer | None], pot: Sequence[Answer | None], method: str | VoteMethod | None = None,
               tolerance: float = DEFAULT_TOLERANCE) -> Vote:
    """The mixed vote over a question's CoT and PoT path answers, by ``method`` (default :data:`DEFAULT_VOTE`)."""
    how = parse_vote(method)
    return MIXED_RULES[how.name].pool(cot, pot, how, tolerance)


@dataclass(frozen=True)
class MixedRule:
    """A mixed-vote method: ``pool(cot, pot, method, tolerance)`` gives the vote; ``about``: a few words."""

    about: str
    pool: Callable[[Sequence[Answer | None], Sequence[Answer | None], VoteMethod, float], Vote]


def _hybrid(cot: Sequence[Answer | None], pot: Sequence[Answer | None], how: VoteMethod, tolerance: float) -> Vote:
    by_pot = majority_vote(pot, tolerance)
    return by_pot if by_pot.answer is not None else majority_vote(cot, tolerance)


MIXED_RULES = {  # the mixed-vote methods by name: adding one is one entry
    "plain": MixedRule("a tie to CoT", lambda cot, pot, how, tol: majority_vote([*cot, *pot], tol)),
    "pot_first": MixedRule("a tie to PoT", lambda cot, pot, how, tol: majority_vote([*pot, *cot], tol)),
    "weighted": MixedRule("each kind's weight, weighted:cot=1,pot=1.5", lambda cot, pot, how, tol: majority_vote(
        [*cot, *pot], tol, [how.cot] * len(cot) + [how.pot] * len(pot))),
    "hybrid": MixedRule("the PoT majority, the CoT one when no program answers", _hybrid),
}


def settled(cot: Sequence[Answer | None], pot: Sequence[Answer | None],
            tolerance: float = DEFAULT_TOLERANCE) -> Answer | None:
    """The answer when the CoT majority and the PoT majority of the paths so far agree; else ``None``."""
    by_cot = majority_vote(cot, tolerance).answer
    by_pot = majority_vote(pot, tolerance).answer
    return by_pot if by_cot is not None and answers_equal(by_cot, by_pot, tolerance) else None


@dataclass(frozen=True)
class Adaptive:
    """An adaptive vote: the ``answer``, the ``rounds`` used (each one CoT and one PoT path), and
    whether the kinds ``agreed`` (``False``: the cap was reached and the mixed vote decided)."""

    answer: Answer | None
    rounds: int
    agreed: bool

    @property
    def paths(self) -> int:
        return 2 * self.rounds


def adaptive_vote(cot: Sequence[Answer | None], pot: Sequence[Answer | None], max_rounds: int | None = None,
                  method: str | VoteMethod | None = None, tolerance: float = DEFAULT_TOLERANCE) -> Adaptive:
    """Replay adaptive sampling on paths already sampled: path ``i`` of each kind belongs to round ``i + 1``.

    Stops at the first round whose paths so far settle (:func:`settled`); at ``max_rounds`` (default:
    as many rounds as both kinds have paths) without agreement, the mixed vote of those paths decides.
    """
    cap = min(len(cot), len(pot)) if max_rounds is None else min(max_rounds, len(cot), len(pot))
    for rounds in range(1, cap + 1):
        answer = settled(cot[:rounds], pot[:rounds], tolerance)
        if answer is not None:
            return Adaptive(answer, rounds, True)
    return Adaptive(mixed_vote(cot[:cap], pot[:cap], method, tolerance).answer, cap, False)
