"""Questions without a gold answer (``generate --no-gold``): the teacher's own vote labels them.

The Llama-3.1-405B study distills on synthetic questions labelled by the teacher, and Distilling
step-by-step has an "LLM label" setting. Here a question's label is the mixed vote
(:func:`voting.mixed_vote`, the default method) over every answer its teacher completions gave: the
executed PoT programs and the answers read from the CoT rationales (a label task: the CoT answers
alone). Its **agreement** is the share of the question's completions that gave the winning answer;
a completion with no answer (a program that failed, a rationale with no readable answer) counts
against it. A question is labelled only when the agreement reaches ``min_agreement``; its
completions that reach the label are then kept as a gold-checked run keeps the right ones, and each
kept record says that its label came from the teacher and with what agreement.

One sample per question cannot disagree with itself: ask for several (or for both CoT and PoT).
The default threshold, 0.75, is measured (``bench/labels.py``, docs/teacher-data.md): on SVAMP
train with the recorded PaLM-540B CoT and Codex PoT (one path each, gold hidden), the labels of the
questions whose two paths agree are 95.5% right [93.4, 96.9] (572 of 800 questions), against 85.4%
[82.8, 87.7] for the vote of all 800. On two paths any threshold above 0.5 means "both agree"; on
more it asks three in four to agree. With 8 sampled paths of a weak teacher (SmolLM2-135M, at chance
on CommonsenseQA) agreement did not make the labels more right: a threshold filters a teacher that
is mostly right, it cannot make a weak one useful.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from mixdistill_plugin.answers import Answer, answers_equal
from mixdistill_plugin.ledger import request_failed
from mixdistill_plugin.records import Completion, Question
from mixdistill_plugin.voting import mixed_vote

DEFAULT_MIN_AGREEMENT = 0.75  # see the module doc: bench/labels.py


@dataclass(frozen=True)
class TeacherLabel:
    """A question's label by the teacher's vote: the ``answer``, the share of its ``completions`` that
    gave it (``agreement``)."""

    answer: Answer | None
    agreement: float
    completions: int


def teacher_labels(completions: Sequence[Completion], tolerance: float) -> dict[str, TeacherLabel]:
    """Each question's label from its latest completions (request errors left out): the mixed vote of
    its PoT answers and its other kinds' answers (CoT; a decomposition's last answer)."""
    by_question: dict[str, dict[str, list]] = defaultdict(lambda: {"pot": [], "cot": []})
    for c in completions:
        if not request_failed(c.outcome):
            by_question[c.id]["pot" if c.kind == "pot" else "cot"].append(c.answer)
    labels = {}
    for qid, paths in by_question.items():
        vote = mixed_vote(paths["cot"], paths["pot"], tolerance=tolerance)
        total = len(paths["cot"]) + len(paths["pot"])
        labels[qid] = TeacherLabel(vote.answer, vote.votes / total if total else 0.0, total)
    return labels


@dataclass(frozen=True)
class Labelling:
    """How a run without gold answers is labelled: at least ``min_agreement``, answers equal within
    ``tolerance``."""

    min_agreement: float
    tolerance: float

    def apply(self, questions: Sequence[Question], completions: Sequence[Completion],
              latest: Sequence[Completion]) -> tuple[list[Question], list[Completion], dict[str, TeacherLabel]]:
        """The questions with their label as the answer where it reaches ``min_agreement`` (else none), the
        ``completions`` checked against those labels, and the labels that were kept. ``latest``: the
        completions that count in the vote (each sample's latest)."""
        labels = {qid: label for qid, label in teacher_labels(latest, self.tolerance).items()
                  if label.answer is not None and label.agreement >= self.min_agreement}
        labelled = [q.model_copy(update={"answer": labels[q.id].answer if q.id in labels else None}) for q in questions]
        checked = [c.model_copy(update={"correct": c.id in labels and answers_equal(c.answer, labels[c.id].answer,
                                                                                    self.tolerance)})
                   for c in completions]
        return labelled, checked, labels

    def stats(self, questions: Sequence[Question], labels: dict[str, TeacherLabel]) -> dict:
        return {"source": "teacher", "min_agreement": self.min_agreement, "questions": len(questions),
                "labelled": sum(1 for q in questions if q.id in labels)}
