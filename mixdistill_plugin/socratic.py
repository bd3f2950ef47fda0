"""Socratic CoT: decompositions, the inputs of the two student roles, and the loop that runs them.

A decomposition is GSM8K's Socratic format: one ``sub-question ** answer`` line per step, the
last answer giving the problem's answer. The student plays two roles (prompt kinds of one model):

- ``decompose``: the problem and the steps so far -> the next sub-question, or :data:`DONE`;
- ``solve``: the problem, the steps so far and a sub-question -> its answer.

Both read the same text, :func:`role_question`, so the training examples made from a
decomposition (:mod:`mixdistill_plugin.training`) and the prompts of :func:`run` are the same
strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

from mixdistill_plugin.answers import NUMBER, NUMBER_RE, Answer, AnswerType, extract_answer, parse_number

DONE = "No more sub-questions."


@dataclass(frozen=True)
class Step:
    question: str
    answer: str


def parse_steps(text: str) -> list[Step] | None:
    """The steps of a decomposition; ``None`` when a line is not ``sub-question ** answer``."""
    steps = []
    for line in text.strip().splitlines():
        if not line.strip():
            continue
        question, sep, answer = line.partition("**")
        if not sep or not question.strip() or not answer.strip():
            return None
        steps.append(Step(question.strip(), answer.strip()))
    return steps or None


def format_steps(steps: Sequence[Step]) -> str:
    return "\n".join(f"{s.question} ** {s.answer}" for s in steps)


def step_answer(answer: str, spec: AnswerType = NUMBER) -> Answer | None:
    """The answer a step's answer gives: for a number, the result of its last ``=``, else the extracted
    answer; for a label (``spec``), the label read from it."""
    if spec.kind != "number":
        return spec.read(answer)
    _, equals, result = answer.rpartition("=")
    found = NUMBER_RE.match(result.strip()) if equals else None
    return parse_number(found.group(0)) if found else extract_answer(answer)


def final_answer(text: str, spec: AnswerType = NUMBER) -> Answer | None:
    """The answer a decomposition reaches: its last step's (:func:`step_answer`)."""
    steps = parse_steps(text)
    return step_answer(steps[-1].answer, spec) if steps else None


def role_question(problem: str, steps: Sequence[Step], sub_question: str | None = None) -> str:
    """What the ``decompose`` role (no ``sub_question``) and the ``solve`` role are asked."""
    lines = [problem.strip()]
    for step in steps:
        lines += [f"Sub-question: {step.question}", f"Answer: {step.answer}"]
    if sub_question is not None:
        lines.append(f"Sub-question: {sub_question.strip()}")
    return "\n".join(lines)


def is_done(sub_question: str) -> bool:
    """Whether the decomposer stopped: it wrote :data:`DONE` (or nothing)."""
    text = sub_question.strip().lower()
    return not text or text.startswith(DONE.lower().rstrip("."))


@dataclass
class Trace:
    """One problem's run of the loop: the steps, why it ended, and the answer reached."""

    problem: str
    steps: list[Step] = field(default_factory=list)
    ended: Literal["done", "max_steps"] = "max_steps"

    def answer(self, spec: AnswerType = NUMBER) -> Answer | None:
        """The answer the last step reached, read as ``spec`` says."""
        return step_answer(self.steps[-1].answer, spec) if self.steps else None


Generate = Callable[[str, list[str]], list[str]]


def run(problems: Sequence[str], generate: Generate, max_steps: int = 8,
        on_step: Callable[[int, Trace], None] | None = None) -> list[Trace]:
    """Alternate the roles on every problem until its decomposer stops (or ``max_steps`` steps).

    ``generate(kind, questions)`` returns the student's text for each question of ``kind``
    (``decompose`` or ``solve``); every round asks all open problems in one batch per role.
    ``on_step(index, trace)`` is called after each answered sub-question.
    """
    traces = [Trace(p) for p in problems]
    open_ = list(range(len(problems)))
    for _ in range(max_steps):
        if not open_:
            break
        subs = generate("decompose", [role_question(traces[i].problem, traces[i].steps) for i in open_])
        asked = []
        for i, sub in zip(open_, subs):
            if is_done(sub):
                traces[i].ended = "done"
            else:
                asked.append((i, sub.strip()))
        answers = generate("solve", [role_question(traces[i].problem, traces[i].steps, sub) for i, sub in asked])
        for (i, sub), answer in zip(asked, answers):
            traces[i].steps.append(Step(sub, answer.strip()))
            if on_step:
                on_step(i, traces[i])
        open_ = [i for i, _ in asked]
    return traces
