"""The task registry: the one place a dataset is described.

A :class:`Task` says how a dataset loads (its reader in :mod:`mixdistill_plugin.data`; a user's
file goes through :func:`load_questions` with :class:`~mixdistill_plugin.data.FileFields`), its
splits and which of them train and test by default, its answer type, the prompt style its prompts
are worded in (and so which kinds apply: :func:`prompts.style_kinds`), what the ``gold`` teacher can
make of its annotations, and the prefix of its lm-eval tasks. Generation, training, the lm-eval task
files (:mod:`mixdistill_plugin.harness.make_tasks`), ``score``, ``report``, ``grade``, ``mixdistill
tasks`` and the Makefile read it. ``docs/adding-a-task.md`` shows how to add one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mixdistill_plugin import data
from mixdistill_plugin.answers import AnswerType
from mixdistill_plugin.data import FileFields, data_dir_from
from mixdistill_plugin.errors import UserError
from mixdistill_plugin.jsonl import InputError
from mixdistill_plugin.prompts import get_style, style_kinds
from mixdistill_plugin.records import Question

Reader = Callable[[str, "Path | None"], list[Question]]


class UnknownSplit(UserError, ValueError):
    """A split the dataset does not have; the message names those it has."""


@dataclass(frozen=True)
class Task:
    """A dataset: ``read(split, data_dir)`` gives its questions.

    ``prefix`` starts its lm-eval task names (``<prefix>_cot``...; lm-eval ships ``gsm8k_*`` tasks of its
    own, hence ``gsm8k_md``). ``choices``: the label set every question shares (NLI's three labels;
    empty where each question brings its own, as multiple choice does). ``gold`` lists the kinds the
    ``gold`` teacher can write from the dataset's own annotations. ``shipped``: whether its files are in
    the package (else they load from the hub or the data folder).
    """

    name: str
    title: str
    read: Reader
    answer_type: str
    style: str
    prefix: str
    splits: tuple[str, ...]
    gold: tuple[str, ...]
    choices: tuple[str, ...] = ()
    train_split: str = "train"
    test_split: str = "test"
    shipped: bool = True
    about: str = ""

    @property
    def kinds(self) -> list[str]:
        """The prompt kinds that apply to this task's questions."""
        return style_kinds(self.style)

    @property
    def label_set(self) -> tuple[str, ...]:
        """The labels every question of the task may be answered with (empty: none shared)."""
        return AnswerType.of("yes_no").choices if self.answer_type == "yes_no" else self.choices

    @property
    def problem(self) -> str:
        """What one of its questions is, in words (``math word problem``)."""
        return get_style(self.style).problem

    def task_name(self, variant: str) -> str:
        return f"{self.prefix}_{variant}"


_TASKS: dict[str, Task] = {}
FILE = "file"  # the lm-eval tasks on a file of the user's own (file_md_*): not a dataset of the registry
FILE_PREFIX = "file_md"


def register_task(task: Task) -> Task:
    """Add ``task`` (its name and prefix must be new, its style registered)."""
    if task.name in _TASKS or task.name == FILE:
        raise ValueError(f"task {task.name!r} is already registered")
    if task.prefix in {t.prefix for t in _TASKS.values()} | {FILE_PREFIX}:
        raise ValueError(f"task {task.name!r}: lm-eval prefix {task.prefix!r} is taken")
    if (task.answer_type == "label") != bool(task.choices):
        raise ValueError(f"task {task.name!r}: choices are the label set of a label task, and only of one")
    if task.train_split not in task.splits or task.test_split not in task.splits:
        raise ValueError(f"task {task.name!r}: train and test splits must be among {task.splits}")
    get_style(task.style)
    _TASKS[task.name] = task
    return task


def unregister_task(name: str) -> None:
    get_task(name)
    del _TASKS[name]


def get_task(name: str) -> Task:
    """The task called ``name``; a ``KeyError`` that lists the known ones otherwise."""
    try:
        return _TASKS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(task_names())}") from None


def task_names() -> list[str]:
    return list(_TASKS)


def is_task(name: str) -> bool:
    return name in _TASKS


def load_questions(dataset: str, split: str | None = None, *, data_dir: str | Path | None = None,
                   limit: int | None = None, fields: FileFields = FileFields()) -> tuple[list[Question], list[InputError]]:
    """The questions of ``dataset`` (a registered name, or a file read by ``fields``) and the rows skipped.

    ``split`` of a named dataset defaults to its test split; an unknown split is an :class:`UnknownSplit` that
    names the task's splits. A bad row of a file raises its ``InputError`` unless ``fields.skip_bad_rows``.
    With ``fields.no_gold`` the questions come without their answers and annotations.
    """
    if is_task(dataset):
        task = get_task(dataset)
        split = split or task.test_split
        if split not in task.splits:
            raise UnknownSplit(f"--split: {dataset} has no split {split!r}; its splits: {', '.join(task.splits)} "
                             f"(train: {task.train_split}, test: {task.test_split})")
        questions, errors = task.read(split, data_dir_from(data_dir)), []
        if fields.no_gold:  # hidden from the run: the teacher's vote labels the questions
            questions = [q.model_copy(update={"answer": None, "annotation": None, "decomposition": None})
                         for q in questions]
    else:
        questions, errors = data.from_file(Path(dataset), fields)
    return (questions[:limit] if limit is not None else questions), errors


SVAMP = register_task(Task(
    "svamp", "SVAMP", data.svamp, "number", "math", "svamp", ("train", "test"), ("cot", "pot", "socratic"),
    about="the SVAMP test split of the literature (200 questions)"))
GSM8K = register_task(Task(
    "gsm8k", "GSM8K", data.gsm8k, "number", "math", "gsm8k_md", ("train", "test"), ("cot", "pot", "socratic"),
    about="the GSM8K test split (1319 questions)"))
CQA = register_task(Task(
    "cqa", "CommonsenseQA", data.cqa, "choice", "choice", "cqa", ("train", "test"), ("cot",),
    about="CommonsenseQA's test split as Distilling step-by-step used it (the official dev split, 1221 questions)"))
ESNLI = register_task(Task(
    "esnli", "e-SNLI", data.esnli, "label", "nli", "esnli", ("train", "validation", "test"), ("cot",),
    choices=data.NLI_LABELS, train_split="validation", about="the e-SNLI test split (9824 pairs)"))
ANLI = register_task(Task(
    "anli", "ANLI", data.anli, "label", "nli", "anli",
    ("train", "dev", "test", *(f"{s}_r{r}" for r in (1, 2, 3) for s in ("train", "dev", "test"))), ("cot",),
    choices=data.NLI_LABELS, shipped=False,
    about="ANLI round 1's test split (1000 pairs; from the hub or anli/test.jsonl in the data folder)"))
STRATEGYQA = register_task(Task(
    "strategyqa", "StrategyQA", data.strategyqa, "yes_no", "yes_no", "strategyqa", ("train", "dev"), ("cot", "socratic"),
    test_split="dev", about="StrategyQA's dev split (229 questions)"))
