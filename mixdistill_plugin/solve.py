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
lm-eval nor Axolotl: :func:`run`, the whole of ``mixdistill solve``, is given the loader of
lm-eval's students (:func:`mixdistill_plugin.harness.models.lm_eval_student`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from mixdistill_plugin.answers import DEFAULT_TOLERANCE
from mixdistill_plugin.students import StudentSettings, student_backend
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


@dataclass(frozen=True)
class Asked:
    """A question to solve: its id, its text, and its gold answer when the input gives one."""

    id: str
    question: str
    gold: float | None = None


@dataclass(frozen=True)
class SolveSettings(StudentSettings):
    """What ``mixdistill solve`` is told of the student and the rounds, each field named as its option;
    ``concurrency``: requests in flight to a served student."""

    temperature: float
    seed: int
    concurrency: int
    max_rounds: int
    vote: VoteMethod
    timeout: float


# lm-eval's students (mixdistill_plugin.harness.models.lm_eval_student): the questions, the settings -> a Sample
LoadSample = Callable[[Sequence[Asked], SolveSettings], Sample]


def run(settings: SolveSettings, asked: Sequence[Asked], lm_eval: LoadSample,
        on_round: Callable[[int, list[int]], None] | None = None,
        notice: Callable[[str], None] = lambda message: None) -> list[Solution]:
    """Solve ``asked`` with the student of ``settings`` (a served one, else made by ``lm_eval``), its
    programs run in the sandboxed executor. ``notice``: what a served student's failed requests say."""
    from mixdistill_plugin.executor import Executor
    from mixdistill_plugin.scoring import read_answers

    if student_backend(settings.model).served:
        sample = served_student(asked, settings, notice)
    else:
        sample = lm_eval(asked, settings)
    with Executor(timeout=settings.timeout).start() as executor:
        return solve_in_rounds(len(asked), sample, lambda kind, texts: read_answers(kind, list(texts), executor),
                               settings.max_rounds, settings.vote, on_round=on_round)


def served_student(asked: Sequence[Asked], settings: SolveSettings, notice: Callable[[str], None]) -> Sample:
    """A student behind an OpenAI-compatible chat server, through the teacher's client (retries, faults)."""
    import asyncio

    from mixdistill_plugin.errors import UserError
    from mixdistill_plugin.records import Question
    from mixdistill_plugin.teachers import Request, Sampling
    from mixdistill_plugin.teachers.openai_chat import OpenAITeacher

    args = dict(part.split("=", 1) for part in settings.model_args.split(",") if "=" in part)
    if not args.get("model"):
        raise UserError(f"--model {settings.model} needs --model_args model=NAME[,base_url=http://HOST:PORT/v1]")
    client = OpenAITeacher(args["model"], args.get("base_url"), concurrency=settings.concurrency, notice=notice)
    client.role = "student"  # its messages (a server that is down, a refused key) name the student's server
    # shots=0: the student's own zero-shot prompt as the user turn, the form it was trained on
    sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_gen_toks, seed=settings.seed, shots=0)
    # the client sends questions as records; the gold answer is never sent
    records = [Question(id=a.id, question=a.question, answer=0.0, source="solve") for a in asked]

    def sample(requests: Sequence[tuple[int, str]], number: int) -> list[str]:
        wanted = [Request(records[i], kind, (number - 1,)) for i, kind in requests]  # seed + round - 1

        async def collect() -> dict:
            got = {}
            async for reply in client.replies(wanted, sampling):
                if reply.error:
                    notice(f"{reply.request.question.id} {reply.request.kind} round {number}: {reply.error}")
                got[(reply.request.question.id, reply.request.kind)] = reply.texts[0] if reply.texts else ""
            return got

        got = asyncio.run(collect())
        return [got.get((records[i].id, kind), "") for i, kind in requests]

    return sample
