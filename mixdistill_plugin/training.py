"""What a ``train.jsonl`` record teaches: the training examples it yields for each prompt kind.

A record of kind ``k`` trains kind ``k`` itself (Mixed Distillation: ``cot``, ``pot``). Kinds with
a ``source`` are made from records of that kind (see :mod:`mixdistill_plugin.prompts`):

- ``predict`` / ``explain`` from a ``cot`` record: question -> answer, question -> rationale
  (Distilling step-by-step: one record, two examples);
- ``decompose`` / ``solve`` from a ``socratic`` record: one example per step (the next
  sub-question; its answer), plus the decomposer's final :data:`socratic.DONE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mixdistill_plugin.answers import format_answer
from mixdistill_plugin.prompts import get_kind
from mixdistill_plugin.records import TrainRecord
from mixdistill_plugin.socratic import DONE, parse_steps, role_question


@dataclass(frozen=True)
class Example:
    kind: str
    question: str
    target: str
    style: str = "math"


def trained_kinds(record_kind: str, kinds: Sequence[str] | None) -> list[str]:
    """The kinds a record of ``record_kind`` trains: those of ``kinds`` made from it (default: itself)."""
    if kinds is None:
        return [record_kind]
    return [k for k in kinds if get_kind(k).record_kind == record_kind]


def examples(record: TrainRecord, kinds: Sequence[str] | None = None) -> list[Example]:
    """The examples ``record`` yields for ``kinds`` (``None``: its own kind only)."""
    out: list[Example] = []
    for kind in trained_kinds(record.kind, kinds):
        target = get_kind(kind).target
        if target == "rationale":
            out.append(Example(kind, record.question, record.rationale, record.style))
        elif target == "answer":
            out.append(Example(kind, record.question, format_answer(record.answer), record.style))
        else:
            steps = parse_steps(record.rationale)
            if steps is None:
                raise ValueError(f"record {record.id!r}: rationale is not a 'sub-question ** answer' decomposition")
            for n, step in enumerate(steps):
                if target == "next_question":
                    out.append(Example(kind, role_question(record.question, steps[:n]), step.question, record.style))
                else:
                    out.append(Example(kind, role_question(record.question, steps[:n], step.question), step.answer,
                                       record.style))
            if target == "next_question":
                out.append(Example(kind, role_question(record.question, steps), DONE, record.style))
    return out
