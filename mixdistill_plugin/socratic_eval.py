"""A Socratic CoT student evaluated on questions: the two-role loop, its scores, and its samples and
results files in lm-eval's layout (so ``report`` and ``grade`` read it as any lm-eval run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from mixdistill_plugin.answers import Answer
from mixdistill_plugin.errors import UserError
from mixdistill_plugin.evallog import write_run
from mixdistill_plugin.prompts import DEFAULT_STYLE, get_style, style_kinds
from mixdistill_plugin.records import Question
from mixdistill_plugin.scoring import score_answers, summarize
from mixdistill_plugin.socratic import Generate, Trace, format_steps, run


@dataclass(frozen=True)
class Result:
    """Each question's trace and answer, and ``socratic_acc`` in percent."""

    traces: list[Trace]
    answers: list[Answer | None]
    accuracy: float


def socratic_style(questions: Sequence[Question], dataset: str) -> str:
    """The one prompt style of ``questions``; a :class:`UserError` where no decomposition prompts word
    it (labels, choices) or the questions mix styles."""
    styles = {q.style for q in questions}
    for style in styles:
        if "decompose" not in style_kinds(style):
            raise UserError(f"Socratic CoT does not apply to {get_style(style).problem}s: no decomposition prompts "
                            "word them (it applies to math word problems and yes/no questions)")
    if len(styles) > 1:
        raise UserError(f"{dataset}: questions of several prompt styles ({', '.join(sorted(styles))}); "
                        "run each kind of question on its own")
    return next(iter(styles), DEFAULT_STYLE)


def evaluate(questions: Sequence[Question], generate: Generate, max_steps: int,
             on_step: Callable[[int, Trace], None] | None = None) -> Result:
    """Run the loop on every question (greedy, as ``generate`` decodes) and score the last steps' answers."""
    traces = run([q.question for q in questions], generate, max_steps, on_step)
    answers = [t.answer(q.spec) for q, t in zip(questions, traces)]
    scores = [score_answers(q.answer, {"socratic": [a]}) for q, a in zip(questions, answers)]
    return Result(traces, answers, summarize(scores, ["socratic_acc"])["socratic_acc"])


def write_result(output_path: Path, task: str, questions: Sequence[Question], result: Result, config: dict) -> Path:
    """The samples (each trace's steps, its answer) and results files of ``result``; the samples file."""
    samples = ({"doc_id": i, "doc": {"id": q.id, "question": q.question, "answer": q.answer, "kind": "socratic",
                                     "style": q.style},
                "resps": [[format_steps(t.steps)]],
                "filtered_resps": [[{"answer": a, "outcome": "answer" if a is not None else "no_answer",
                                     "detail": f"{len(t.steps)} steps, ended: {t.ended}"}]],
                "steps": [{"question": s.question, "answer": s.answer} for s in t.steps], "ended": t.ended}
               for i, (q, t, a) in enumerate(zip(questions, result.traces, result.answers)))
    results = {"results": {task: {"alias": task, "socratic_acc,paths": result.accuracy / 100}},
               "config": {**config, "n": len(questions)}}
    return write_run(output_path, task, samples, results)
