"""A Socratic CoT student evaluated on questions: the two-role loop, its scores, and its samples and
results files in lm-eval's layout (:mod:`mixdistill_plugin.evallog`, so ``report`` and ``grade`` read
it as any lm-eval run); :func:`run` is the whole of ``mixdistill socratic``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from mixdistill_plugin.answers import Answer
from mixdistill_plugin.errors import UserError
from mixdistill_plugin.evallog import results_of, sample_line, write_run
from mixdistill_plugin.prompts import DEFAULT_STYLE, get_style, style_kinds
from mixdistill_plugin.records import Question
from mixdistill_plugin.scoring import score_answers, summarize
from mixdistill_plugin.socratic import Generate, Trace, format_steps, run as run_loop
from mixdistill_plugin.students import StudentSettings, student_backend
from mixdistill_plugin.tasks import load_questions


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
    traces = run_loop([q.question for q in questions], generate, max_steps, on_step)
    answers = [t.answer(q.spec) for q, t in zip(questions, traces)]
    scores = [score_answers(q.answer, {"socratic": [a]}) for q, a in zip(questions, answers)]
    return Result(traces, answers, summarize(scores, ["socratic_acc"])["socratic_acc"])


def write_result(output_path: Path, task: str, questions: Sequence[Question], result: Result, config: dict) -> Path:
    """The samples (each trace's steps, its answer) and results files of ``result``; the samples file."""
    samples = (sample_line(i, {"id": q.id, "question": q.question, "answer": q.answer, "kind": "socratic",
                               "style": q.style},
                           [format_steps(t.steps)],
                           [{"answer": a, "outcome": "answer" if a is not None else "no_answer",
                             "detail": f"{len(t.steps)} steps, ended: {t.ended}"}],
                           steps=[{"question": s.question, "answer": s.answer} for s in t.steps], ended=t.ended)
               for i, (q, t, a) in enumerate(zip(questions, result.traces, result.answers)))
    results = results_of(task, {"socratic_acc,paths": result.accuracy / 100}, {**config, "n": len(questions)})
    return write_run(output_path, task, samples, results)


@dataclass(frozen=True)
class SocraticSettings(StudentSettings):
    """What ``mixdistill socratic`` is told, each field named as its option: the student (a second one
    for the solver role: ``solver_model_args``), the questions, the loop's ``max_steps``, the folder."""

    solver_model_args: str | None
    dataset: str
    split: str | None
    limit: int | None
    data_dir: Path | None
    max_steps: int
    output_path: Path


# a student behind lm-eval's backends (mixdistill_plugin.harness.models.greedy_student): the settings,
# its model_args and the questions' prompt style -> its greedy completions of (kind, texts)
LoadStudent = Callable[[StudentSettings, str, str], Generate]


@dataclass(frozen=True)
class Evaluated:
    """A Socratic evaluation: its task's name, the questions, their :class:`Result`, the samples file."""

    task: str
    questions: list[Question]
    result: Result
    samples: Path


def run(settings: SocraticSettings, load: LoadStudent,
        on_step: Callable[[Question, Trace], None] | None = None) -> Evaluated:
    """Load the questions and the student(s) (``load``), run the loop on every question, score it, and
    write the samples and results files under ``settings.output_path``. ``on_step(question, trace)``
    after each step."""
    if student_backend(settings.model).served:
        raise UserError(f"--model {settings.model}: socratic runs an lm-eval model backend; serve the student "
                        "and use --model local-chat-completions, or use hf or vllm")
    questions, _ = load_questions(settings.dataset, settings.split, data_dir=settings.data_dir, limit=settings.limit)
    style = socratic_style(questions, settings.dataset)
    decomposer = load(settings, settings.model_args, style)
    solver = load(settings, settings.solver_model_args, style) if settings.solver_model_args else decomposer

    def generate(kind: str, texts: list[str]) -> list[str]:
        return (decomposer if kind == "decompose" else solver)(kind, texts)

    step = None if on_step is None else lambda index, trace: on_step(questions[index], trace)
    result = evaluate(questions, generate, settings.max_steps, step)
    task = f"{Path(settings.dataset).stem}_socratic"
    config = {"model": settings.model, "model_args": settings.model_args,
              "solver_model_args": settings.solver_model_args or settings.model_args,
              "max_steps": settings.max_steps, "max_gen_toks": settings.max_gen_toks, "apply_chat_template": settings.chat}
    return Evaluated(task, questions, result, write_result(settings.output_path, task, questions, result, config))
