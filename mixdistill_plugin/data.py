"""Loading questions: SVAMP and GSM8K by name, or a user's own JSON/JSONL/CSV/Parquet file.

The package ships the benchmarks (MIT, their licenses beside them) in ``mixdistill_plugin/datasets``:
``svamp/SVAMP.json`` (the 1000 problems) and ``gsm8k/{train,test,test_socratic}.jsonl``. A named
dataset reads each file from ``data_dir`` (or ``$MIXDISTILL_DATA_DIR``) when it is there, else from
the shipped copy, so every machine evaluates the same split, offline. The Hugging Face hub serves
only what is not shipped: the Socratic decompositions of GSM8K's train split (``openai/gsm8k``,
``socratic`` configuration), when it can be reached. Splits:

- SVAMP: the literature's split, ``numpy.random.RandomState(0).permutation(1000)`` over the file
  order, the first 800 train, the last 200 test.
- GSM8K: its own train (7473) and test (1319). Its Socratic decompositions
  (``gsm8k/{split}_socratic.jsonl``) are attached to the questions when available
  (``Question.decomposition``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Iterable, Literal

from pydantic import ValidationError

from mixdistill_plugin.jsonl import InputError, numbered_lines, parse_line
from mixdistill_plugin.records import Question

NAMED = ("svamp", "gsm8k")
Split = Literal["train", "test"]
SHIPPED = Path(__file__).resolve().parent / "datasets"
HUB_SOCRATIC = ("openai/gsm8k", "socratic")


class DataUnavailable(RuntimeError):
    """A named dataset's file is neither in the data folder nor in the package."""


def data_dir_from(option: str | Path | None) -> Path | None:
    value = option or os.environ.get("MIXDISTILL_DATA_DIR")
    return Path(value) if value else None


def load_questions(
    dataset: str,
    split: Split = "train",
    *,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    question_field: str = "question",
    answer_field: str = "answer",
    id_field: str | None = None,
    skip_bad_rows: bool = False,
) -> tuple[list[Question], list[InputError]]:
    """The questions of ``dataset`` (a name of :data:`NAMED` or a file path), and rows skipped.

    A bad row (no question, a gold answer that is not a number) raises its ``InputError`` unless
    ``skip_bad_rows``.
    """
    if dataset in NAMED:
        questions, errors = _named(dataset, split, data_dir_from(data_dir)), []
    else:
        questions, errors = _from_file(Path(dataset), question_field, answer_field, id_field, skip_bad_rows)
    return (questions[:limit] if limit is not None else questions), errors


def dataset_file(relative: str, data_dir: Path | None = None) -> Path | None:
    """``data_dir / relative`` when it exists, else the shipped copy, else ``None``."""
    for folder in (data_dir, SHIPPED):
        if folder is not None and (folder / relative).is_file():
            return folder / relative
    return None


def _named(name: str, split: Split, data_dir: Path | None) -> list[Question]:
    relative = "svamp/SVAMP.json" if name == "svamp" else f"gsm8k/{split}.jsonl"
    path = dataset_file(relative, data_dir)
    if path is None:
        looked = " nor in ".join(str(folder) for folder in (data_dir, SHIPPED) if folder is not None)
        raise DataUnavailable(f"cannot load {name} ({split}): no {relative} in {looked}; reinstall mixdistill, "
                              "or point --data-dir / MIXDISTILL_DATA_DIR at a folder that has it")
    if name == "svamp":
        return _svamp_local(path, split)
    socratic = dataset_file(f"gsm8k/{split}_socratic.jsonl", data_dir)
    decompositions = [row for _, row in _rows(socratic)] if socratic else _hub_socratic(split)
    return _gsm8k_rows([row for _, row in _rows(path)], split, decompositions)


def _hub_socratic(split: Split) -> list[dict] | None:
    """GSM8K's Socratic decompositions from the hub (not shipped for the train split), or ``None``."""
    try:
        from datasets import load_dataset

        return list(load_dataset(*HUB_SOCRATIC, split=split))
    except Exception:  # the decompositions are optional: without them there is no gold socratic teacher
        return None


def svamp_split_indices(split: Split, size: int = 1000) -> list[int]:
    """The literature's SVAMP split: a seed-0 permutation, first 800 train, last 200 test."""
    import numpy

    order = numpy.random.RandomState(seed=0).permutation(size).tolist()
    cut = size * 4 // 5
    return order[:cut] if split == "train" else order[cut:]


def _svamp_local(path: Path, split: Split) -> list[Question]:
    problems = json.loads(path.read_text(encoding="utf-8"))
    return _svamp_rows(problems[i] for i in svamp_split_indices(split, len(problems)))


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


def _gsm8k_rows(rows: list[dict], split: Split, socratic: list[dict] | None = None) -> list[Question]:
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


def _from_file(
    path: Path, question_field: str, answer_field: str, id_field: str | None, skip_bad_rows: bool
) -> tuple[list[Question], list[InputError]]:
    if not path.exists():
        raise InputError(path, None, None, f"no such file, and not a dataset name ({', '.join(NAMED)})")
    hint = "Fix the row, pass --skip-bad-rows to leave it out, or name the fields with --question-field/--answer-field"
    questions, errors, seen = [], [], set()
    for number, row in _rows(path):
        try:
            if not isinstance(row, dict):
                raise InputError(path, number, None, "expected an object", hint)
            questions.append(_question(path, number, row, question_field, answer_field, id_field, seen, hint))
        except InputError as exc:
            if not skip_bad_rows:
                raise
            errors.append(exc)
    return questions, errors


def _question(path, number, row, question_field, answer_field, id_field, seen: set, hint) -> Question:
    for field in (question_field, answer_field):
        if row.get(field) in (None, ""):
            raise InputError(path, number, field, "missing", hint)
    text = str(row[question_field])
    id_field = id_field or ("id" if row.get("id") not in (None, "") else None)
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
    try:
        return Question(id=qid, question=text, answer=row[answer_field], source=path.stem)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = answer_field if error["loc"][0] == "answer" else question_field
        raise InputError(path, number, field, error["msg"].removeprefix("Value error, "), hint) from None


def _rows(path: Path) -> Iterable[tuple[int, object]]:
    """``(row number, row)``: line numbers for JSONL and CSV, item numbers for JSON and Parquet."""
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], Iterable[tuple[int, object]]]] = {
        ".jsonl": lambda p: ((n, parse_line(p, n, line)) for n, line in numbered_lines(p)),
        ".json": _json_rows,
        ".csv": lambda p: enumerate(csv.DictReader(p.open(encoding="utf-8", newline="")), start=2),
        ".parquet": _parquet_rows,
    }
    if suffix not in readers:
        raise InputError(path, None, None, f"unknown file type {suffix!r}; use .jsonl, .json, .csv or .parquet")
    return readers[suffix](path)


def _json_rows(path: Path) -> Iterable[tuple[int, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, None, f"invalid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise InputError(path, None, None, "expected a JSON list of objects")
    return enumerate(data, start=1)


def _parquet_rows(path: Path) -> Iterable[tuple[int, object]]:
    import pyarrow.parquet

    return enumerate(pyarrow.parquet.read_table(path).to_pylist(), start=1)
