"""Reading questions: the shipped benchmarks' files, the hub, and a user's own JSON/JSONL/CSV/Parquet file.

The task registry (:mod:`mixdistill_plugin.tasks`) says which dataset loads how; this module holds
the readers it names. The package ships the benchmarks whose licenses allow it, with those licenses,
in ``mixdistill_plugin/datasets``; a named dataset reads each file from ``data_dir`` (or
``$MIXDISTILL_DATA_DIR``) when it is there, else from the shipped copy, so every machine evaluates
the same split, offline. The Hugging Face hub serves only what is not shipped (GSM8K's train
decompositions, e-SNLI's 549K train split, ANLI), when it can be reached. Readers:

- SVAMP: the literature's split, ``numpy.random.RandomState(0).permutation(1000)`` over the file
  order, the first 800 train, the last 200 test.
- GSM8K: its own train (7473) and test (1319), with its Socratic decompositions
  (``gsm8k/{split}_socratic.jsonl``) attached where available (``Question.decomposition``).
- CommonsenseQA: train (9,741) and test (1,221, the official dev split), five choices, CoS-E explanations.
- e-SNLI: validation (9,842) and test (9,824) shipped, train from the hub; human explanations.
- ANLI: from ``anli/{split}.jsonl`` in the data folder, else the hub (``facebook/anli``).
- StrategyQA: train (2,061) and dev (229), yes/no answers, facts and decompositions.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from pathlib import Path
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

from pydantic import ValidationError

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.answers import canonical_label, parse_number
from mixdistill_plugin.jsonl import InputError, file_text, numbered_lines, parse_line, read_json
from mixdistill_plugin.prompts import premise_and_hypothesis, with_choices
from mixdistill_plugin.records import Question

SHIPPED = Path(__file__).resolve().parent / "datasets"
HUB_SOCRATIC = ("openai/gsm8k", "socratic")
NLI_LABELS = ("entailment", "neutral", "contradiction")  # SNLI's and ANLI's label ids 0, 1, 2


class DataUnavailable(UserError, RuntimeError):
    """A named dataset's file is neither in the data folder nor in the package (nor on the hub)."""


def data_dir_from(option: str | Path | None) -> Path | None:
    value = option or os.environ.get("MIXDISTILL_DATA_DIR")
    return Path(value) if value else None


def dataset_file(relative: str, data_dir: Path | None = None) -> Path | None:
    """``data_dir / relative`` when it exists, else the shipped copy, else ``None``."""
    for folder in (data_dir, SHIPPED):
        if folder is not None and (folder / relative).is_file():
            return folder / relative
    return None


def require_file(relative: str, data_dir: Path | None, what: str) -> Path:
    """:func:`dataset_file`, or a :class:`DataUnavailable` that says where it looked and what to do."""
    path = dataset_file(relative, data_dir)
    if path is None:
        looked = " nor in ".join(str(folder) for folder in (data_dir, SHIPPED) if folder is not None)
        raise DataUnavailable(f"cannot load {what}: no {relative} in {looked}; reinstall mixdistill, "
                              "or point --data-dir / MIXDISTILL_DATA_DIR at a folder that has it")
    return path


def shipped_rows(path: Path) -> list[dict]:
    """The rows of a shipped ``.jsonl`` or ``.jsonl.gz`` file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def svamp(split: str, data_dir: Path | None) -> list[Question]:
    path = require_file("svamp/SVAMP.json", data_dir, f"svamp ({split})")
    problems = json.loads(path.read_text(encoding="utf-8"))
    return _svamp_rows(problems[i] for i in svamp_split_indices(split, len(problems)))


def gsm8k(split: str, data_dir: Path | None) -> list[Question]:
    path = require_file(f"gsm8k/{split}.jsonl", data_dir, f"gsm8k ({split})")
    socratic = dataset_file(f"gsm8k/{split}_socratic.jsonl", data_dir)
    decompositions = [row for _, row in _rows(socratic)] if socratic else _hub_socratic(split)
    return _gsm8k_rows([row for _, row in _rows(path)], split, decompositions)


def cqa(split: str, data_dir: Path | None) -> list[Question]:
    """CommonsenseQA as Distilling step-by-step used it; the answer is the choice's text."""
    rows = shipped_rows(require_file(f"cqa/{split}.jsonl.gz", data_dir, f"cqa ({split})"))
    return [Question(id=row["id"], question=with_choices(row["question"], row["choices"]), answer=row["answer"],
                     answer_type="choice", choices=row["choices"], style="choice", source="cqa",
                     annotation=row.get("abstractive_explanation") or None)
            for row in rows]


def esnli(split: str, data_dir: Path | None) -> list[Question]:
    """e-SNLI: validation and test shipped, train from the hub (``esnli``)."""
    relative = f"esnli/{split}.jsonl"
    path = dataset_file(relative + ".gz", data_dir) or dataset_file(relative, data_dir)
    rows = shipped_rows(path) if path else _hub_rows("esnli", split, relative)
    return _nli_rows(rows, "esnli", split, lambda row: row.get("explanation_1"))


def anli(split: str, data_dir: Path | None) -> list[Question]:
    """ANLI (CC BY-NC 4.0, not shipped): ``anli/<split>.jsonl`` in the data folder, the split named as given
    (``anli/test.jsonl`` for ``test``, ``anli/dev_r2.jsonl`` for ``dev_r2``), else ``facebook/anli``.
    ``train``/``dev``/``test`` are round 1 (as Distilling step-by-step): the hub's ``train_r1``...;
    ``train_r2``... name the other rounds, the hub's splits of the same names."""
    hub_split = split if "_r" in split else f"{split}_r1"  # the registry lists the splits
    relative = f"anli/{split}.jsonl"
    path = dataset_file(relative, data_dir)
    rows = [row for _, row in _rows(path)] if path else _hub_rows("facebook/anli", hub_split, relative)
    return _nli_rows(rows, "anli", split, lambda row: row.get("reason"))


def strategyqa(split: str, data_dir: Path | None) -> list[Question]:
    """StrategyQA: yes/no answers; the facts are the gold CoT, the decomposition the Socratic outline."""
    rows = shipped_rows(require_file(f"strategyqa/{split}.jsonl.gz", data_dir, f"strategyqa ({split})"))
    return [Question(id=row["qid"], question=row["question"], answer=row["answer"], answer_type="yes_no",
                     style="yes_no", source="strategyqa", annotation="\n".join(row.get("facts") or []) or None,
                     decomposition="\n".join(row.get("decomposition") or []) or None)
            for row in rows]


def _nli_rows(rows: Sequence[dict], source: str, split: str, explanation: Callable[[dict], str | None]) -> list[Question]:
    """NLI rows (label ids 0/1/2 or names) as questions; rows without a gold label (id -1) are left out."""
    questions = []
    for i, row in enumerate(rows):
        label = row["label"]
        if isinstance(label, int) and not 0 <= label < len(NLI_LABELS):
            continue
        questions.append(Question(
            id=str(row.get("uid") or f"{source}-{split}-{i}"), question=premise_and_hypothesis(row["premise"], row["hypothesis"]),
            answer=NLI_LABELS[label] if isinstance(label, int) else canonical_label(label), answer_type="label",
            choices=list(NLI_LABELS), style="nli", source=source, annotation=(explanation(row) or "").strip() or None))
    return questions


def _hub_rows(name: str, split: str, relative: str) -> list[dict]:
    """Split ``split`` of ``name`` from the Hugging Face hub, read where the data folder has no ``relative``;
    or a :class:`DataUnavailable` that names that file and the splits the package ships instead."""
    try:
        from datasets import load_dataset

        return list(load_dataset(name, split=split))
    except Exception as exc:  # offline, not installed, unknown split: the message says what to do
        shipped = sorted({p.name.split(".")[0] for p in (SHIPPED / Path(relative).parent).glob("*.jsonl*")},
                         key=lambda s: (s == "test", s))  # a split to train on first
        instead = f", or use a split the package ships: {' or '.join(f'--split {s}' for s in shipped)}" if shipped else ""
        raise DataUnavailable(
            f"cannot load {relative}: it is neither in the data folder nor shipped (its license or size), and the "
            f"hub ({name}, split {split}) gave {type(exc).__name__}: {str(exc)[:200]}. Put {relative} in the data "
            f"folder (--data-dir / MIXDISTILL_DATA_DIR), pass a file of your own as --dataset{instead}") from None


def _hub_socratic(split: str) -> list[dict] | None:
    """GSM8K's Socratic decompositions from the hub (not shipped for the train split), or ``None``."""
    try:
        from datasets import load_dataset

        return list(load_dataset(*HUB_SOCRATIC, split=split))
    except Exception:  # the decompositions are optional: without them there is no gold socratic teacher
        return None


def svamp_split_indices(split: str, size: int = 1000) -> list[int]:
    """The literature's SVAMP split: a seed-0 permutation, first 800 train, last 200 test."""
    import numpy

    order = numpy.random.RandomState(seed=0).permutation(size).tolist()
    cut = size * 4 // 5
    return order[:cut] if split == "train" else order[cut:]


def _svamp_rows(rows: Iterable[dict]) -> list[Question]:
    return [
        Question(
            id=str(p["ID"]),
            question=f"{p['Body'].strip()} {p['Question'].strip()}",
            answer=p["Answer"],
            source="svamp",
            annotation=p["Equation"].strip(),
        )
        for p in rows
    ]


def _gsm8k_rows(rows: list[dict], split: str, socratic: list[dict] | None = None) -> list[Question]:
    """GSM8K rows as questions; ``socratic`` rows (same order) add decompositions where the texts match."""
    socratic = socratic if socratic and len(socratic) == len(rows) else [{}] * len(rows)
    return [
        Question(
            id=f"gsm8k-{split}-{i}",
            question=row["question"],
            answer=row["answer"].rpartition("####")[2],
            source="gsm8k",
            annotation=row["answer"],
            decomposition=soc["answer"] if soc.get("question") == row["question"] else None,
        )
        for i, (row, soc) in enumerate(zip(rows, socratic))
    ]


@dataclass(frozen=True)
class FileFields:
    """How a user's file is read: which field holds the question, the gold answer, the id and the
    choices; ``choices``, one label set for every row that has none; ``skip_bad_rows``: report and skip
    a bad row instead of stopping. A row's answer is a label when the row (or ``choices``) gives
    choices, yes/no when it is a JSON boolean, a number otherwise. ``no_gold``: rows have no answer (one
    that has is refused); a question with choices, or with ``--choices``, takes a label, any other a number."""

    question_field: str = "question"
    answer_field: str = "answer"
    id_field: str | None = None
    choices_field: str = "choices"
    choices: tuple[str, ...] = ()
    skip_bad_rows: bool = False
    no_gold: bool = False  # rows give no answer; one that does is refused (generate --no-gold)

    def as_metadata(self) -> dict:
        """As JSON values (lm-eval's ``--metadata``)."""
        return {**asdict(self), "choices": list(self.choices)}


def from_file(path: Path, fields: FileFields) -> tuple[list[Question], list[InputError]]:
    """The questions of a user's file, and the rows skipped (``fields.skip_bad_rows``; else the first bad
    row raises its ``InputError``)."""
    if not path.exists():
        raise InputError(path, None, None, "no such file, and not a dataset name (mixdistill tasks lists them)")
    if path.is_dir():
        raise InputError(path, None, None, "a folder, not a file", "Give a .jsonl, .json, .csv or .parquet file")
    hint = ("Fix the row, pass --skip-bad-rows to leave it out, or name the fields with "
            "--question-field/--answer-field/--choices-field")
    questions, errors, seen = [], [], set()
    for number, row in _rows(path):
        try:
            if not isinstance(row, dict):
                raise InputError(path, number, None, "expected an object", hint)
            questions.append(_question(path, number, row, fields, seen, hint))
        except InputError as exc:
            if not fields.skip_bad_rows:
                raise
            errors.append(exc)
    return questions, errors


def _question(path: Path, number: int, row: dict, fields: FileFields, seen: set, hint: str) -> Question:
    for field in (fields.question_field, *(() if fields.no_gold else (fields.answer_field,))):
        if row.get(field) in (None, ""):
            raise InputError(path, number, field, "missing", hint)
    if fields.no_gold and row.get(fields.answer_field) not in (None, ""):
        raise InputError(path, number, fields.answer_field, "given, but --no-gold says the questions have no answer",
                         "Drop the field (or name another with --answer-field), or run without --no-gold to check "
                         "against it")
    text = str(row[fields.question_field])
    id_field = fields.id_field or ("id" if row.get("id") not in (None, "") else None)
    if id_field:
        if row.get(id_field) in (None, ""):
            raise InputError(path, number, id_field, "missing", hint)
        qid = str(row[id_field])
    else:  # stable: the same question text gets the same id, wherever it stands
        qid = base = "q-" + hashlib.sha1(text.strip().encode()).hexdigest()[:12]
        suffix = 1
        while qid in seen:
            suffix += 1
            qid = f"{base}-{suffix}"
    if qid in seen:
        raise InputError(path, number, id_field, f"duplicate id {qid!r}", hint)
    seen.add(qid)
    choices = row.get(fields.choices_field) or list(fields.choices)
    if not isinstance(choices, list) or not all(isinstance(c, str) and c.strip() for c in choices):
        raise InputError(path, number, fields.choices_field, "expected a list of non-empty strings", hint)
    answer = row.get(fields.answer_field)
    try:
        if choices:
            return Question(id=qid, question=with_choices(text, choices), answer=answer, answer_type="choice",
                            choices=choices, style="choice", source=path.stem)
        if isinstance(answer, bool):
            return Question(id=qid, question=text, answer=answer, answer_type="yes_no", style="yes_no", source=path.stem)
        if isinstance(answer, str) and answer.strip() and parse_number(answer) is None:
            raise InputError(path, number, fields.answer_field,
                             f"{answer[:40]!r} is not a number; a label answer needs its label set: give rows a "
                             f"{fields.choices_field!r} list, or pass --choices A,B,C", hint)
        return Question(id=qid, question=text, answer=answer, source=path.stem)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = fields.answer_field if error["loc"][0] == "answer" else fields.question_field
        raise InputError(path, number, field, error["msg"].removeprefix("Value error, "), hint) from None


def _rows(path: Path) -> Iterable[tuple[int, object]]:
    """``(row number, row)``: line numbers for JSONL and CSV, item numbers for JSON and Parquet."""
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], Iterable[tuple[int, object]]]] = {
        ".jsonl": lambda p: ((n, parse_line(p, n, line)) for n, line in numbered_lines(p)),
        ".json": _json_rows,
        ".csv": lambda p: enumerate(csv.DictReader(io.StringIO(file_text(p), newline="")), start=2),
        ".parquet": _parquet_rows,
    }
    if suffix not in readers:
        raise InputError(path, None, None, f"unknown file type {suffix!r}; use .jsonl, .json, .csv or .parquet")
    return readers[suffix](path)


def _json_rows(path: Path) -> Iterable[tuple[int, object]]:
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(path, None, None, "expected a JSON list of objects")
    return enumerate(data, start=1)


def _parquet_rows(path: Path) -> Iterable[tuple[int, object]]:
    import pyarrow
    import pyarrow.parquet

    try:
        return enumerate(pyarrow.parquet.read_table(path).to_pylist(), start=1)
    except pyarrow.ArrowException as exc:  # not Parquet, damaged, or unreadable
        why = str(exc).split("': ", 1)[-1].rstrip(".")  # pyarrow's message starts with the path
        raise InputError(path, None, None, f"not a Parquet file that can be read ({why})",
                         "Give a Parquet file, or the rows as .jsonl, .json or .csv") from None
