"""``mixdistill score``'s input lines, read with clear errors and without pydantic (a fast start).

A line is a JSON object: ``id`` (a non-empty string or an integer, unique in the file), ``answer``
(the gold answer: a finite number, a label among ``choices``, or a JSON boolean for yes/no),
optional ``choices``, and a list of texts per scored kind of the registry
(:func:`prompts.scored_kinds`: ``cot``, ``pot``, ``predict`` for Distilling step-by-step's direct
answers, ``socratic`` for Socratic decompositions of ``sub-question ** answer`` lines). Texts and
field names must be Unicode (no lone surrogates); other fields are ignored. The first problem of a
line, in that order, is its ``InputError`` (``FILE:LINE: field: problem``). The value checks here
are the ones :mod:`mixdistill_plugin.records` validates its models with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Number
from pathlib import Path
from typing import Callable, Sequence

from mixdistill_plugin.answers import Answer, AnswerType, parse_number
from mixdistill_plugin.jsonl import InputError, json_type, load_lines, lone_surrogate, shown

_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def unicode_text(text: str) -> str:
    """``text`` if it is Unicode text; a lone surrogate (JSON ``"\\ud800"``) is refused."""
    bad = lone_surrogate(text)
    if bad is not None:
        raise ValueError(f"not valid Unicode: a lone surrogate \\u{ord(text[bad]):04x} at character {bad + 1}")
    return text


def gold_number(value: object) -> object:
    """Accept a finite number or a numeric string (``"1,080"``) as a gold answer."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        number = parse_number(unicode_text(value))
        if number is None:
            raise ValueError(f"expected a number, got {shown(value)}")
        return number
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            digits = len(str(abs(value)))
            raise ValueError(f"expected a number, got a {digits}-digit integer, too large for a float") from None
    elif isinstance(value, Number):
        if not math.isfinite(value):  # type: ignore[arg-type]
            spelled = _NON_FINITE.get(str(value), str(value))
            raise ValueError(f"expected a finite number, got {spelled}"
                             + (" (or a number too large for a float)" if spelled != "NaN" else ""))
    elif value is None or isinstance(value, (list, dict)):
        raise ValueError(f"expected a number, got {json_type(value)}")
    return value


def _prediction_id(value: object) -> object:
    """A prediction's id: a non-empty string of Unicode text, or an integer."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("empty; give every line its own id")
        return unicode_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected a string or an integer, got {json_type(value)}")


def _texts(value: object) -> object:
    """A list of texts; ``null`` stands for none."""
    if value is None:
        return []
    if isinstance(value, str):
        raise ValueError(f"expected a list of strings, got a string; write [{shown(value)}]")
    if not isinstance(value, list):
        raise ValueError(f"expected a list of strings, got {json_type(value)}")
    return value


def _text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {json_type(value)}")
    return unicode_text(value)


def _label_set(value: object) -> object:
    """A question's choices: a list of at least two different strings (``null``: none)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {json_type(value)}")
    empty = [number for number, v in enumerate(value, start=1) if not v.strip()]
    if empty:
        raise ValueError(f"choice {empty[0]} of {len(value)} is empty; every choice needs its text")
    return [unicode_text(v) for v in value]


def label_gold(value: object, kind: str, choices: Sequence[str]) -> Answer:
    """A gold label of answer type ``kind`` among ``choices``; a JSON boolean is the label ``yes`` or ``no``
    (StrategyQA's ``true`` against choices ``yes``/``no``). A ``ValueError`` says what is wrong."""
    spec = AnswerType.of(kind, choices)
    if isinstance(value, bool) and kind != "yes_no":
        try:
            return spec.gold("yes" if value else "no")
        except ValueError:
            raise ValueError(f"{str(value).lower()} reads as {'yes' if value else 'no'!r}, which is not one of "
                             f"{spec.shown_choices()}") from None
    return spec.gold(value)


def gold_answer(value: object, choices: list[str]) -> Answer:
    """A gold answer: one of ``choices`` where there are some (a label; ``true``/``false`` read as
    ``yes``/``no``), a JSON boolean (yes/no), else a number; a ``ValueError`` says what is wrong."""
    if choices:
        return label_gold(value, "choice", choices)
    if isinstance(value, bool):
        return AnswerType.of("yes_no").gold(value)
    if isinstance(value, str) and value.strip() and parse_number(value) is None:
        raise ValueError(f"{shown(value)} is not a number; a label answer needs its label set: give the line "
                         'a "choices" list (or pass --choices, or --dataset for a dataset with one label set)')
    return gold_number(value)


def answer_type_of(answer: Answer, choices: list[str]) -> AnswerType:
    """How answers to a question with gold ``answer`` and ``choices`` are read (see :func:`gold_answer`)."""
    if isinstance(answer, float):
        return AnswerType()
    return AnswerType.of("choice", choices) if choices else AnswerType.of("yes_no")


@dataclass(frozen=True)
class Prediction:
    """One line: its ``id``, gold ``answer`` (a float, or a label), ``choices`` and the paths of each kind."""

    id: str | int
    answer: Answer
    choices: list[str] = field(default_factory=list)
    paths: dict[str, list[str]] = field(default_factory=dict)

    def texts(self, kind: str) -> list[str]:
        """The paths of ``kind``."""
        return self.paths.get(kind, [])

    @property
    def answer_type(self) -> AnswerType:
        return answer_type_of(self.answer, self.choices)


def read_prediction(row: dict, kinds: Sequence[str], choices: Sequence[str] | None = None) -> Prediction:
    """``row`` as a :class:`Prediction`; a ``ValueError`` whose first argument is the field at fault (``None``:
    the line) and second the problem. ``choices``: the label set of label lines that give none (``--choices``)."""
    for name in row:
        if isinstance(name, str):
            try:
                unicode_text(name)
            except ValueError as exc:
                raise ValueError(None, f"field name {shown(name)} is {exc}") from None

    def checked(name: str, check: Callable[[object], object], default: object = None) -> object:
        if name not in row:
            if default is None:
                raise ValueError(name, "missing")
            return default
        try:
            return check(row[name])
        except ValueError as exc:
            raise ValueError(name, str(exc)) from None

    qid = checked("id", _prediction_id)
    label_line = isinstance(row.get("answer"), str) and parse_number(row["answer"]) is None
    given = row.get("choices") if row.get("choices") or not (choices and label_line) else list(choices)
    labels = checked("choices", _label_set, []) if given is row.get("choices") else _label_set(given)
    answer = checked("answer", lambda value: gold_answer(value, labels))
    paths = {}
    for kind in kinds:
        texts = checked(kind, _texts, [])
        for index, text in enumerate(texts):
            try:
                _text(text)
            except ValueError as exc:
                raise ValueError(f"{kind}.{index}", str(exc)) from None
        paths[kind] = texts
    return Prediction(qid, answer if isinstance(answer, str) else float(answer), labels, paths)


def load_predictions(path: str | Path, kinds: Sequence[str], *, skip_invalid: bool = False,
                     choices: Sequence[str] | None = None, hint: str = "") -> tuple[list[Prediction], list[InputError]]:
    """Every line of ``path`` as a :class:`Prediction` (ids unique), and the errors of the lines skipped; the
    first bad line raises its ``InputError`` unless ``skip_invalid``."""
    def read(number: int, row: object) -> Prediction:
        if not isinstance(row, dict):
            raise InputError(path, number, None, f"expected a JSON object, got {json_type(row)}", hint)
        try:
            return read_prediction(row, kinds, choices)
        except ValueError as exc:
            raise InputError(path, number, exc.args[0], exc.args[1], hint) from None

    return load_lines(path, read, skip_invalid=skip_invalid, unique="id", hint=hint)
