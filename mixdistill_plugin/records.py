"""Record schemas shared by every command (pydantic), and loading them with clear errors."""

from __future__ import annotations

import functools
import math
from numbers import Number
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, create_model,
                      field_validator, model_validator)

from mixdistill_plugin.answers import Answer, AnswerType, parse_number
from mixdistill_plugin.jsonl import InputError, json_type, lone_surrogate, numbered_lines, parse_line
from mixdistill_plugin.prompts import scored_kinds

_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _shown(text: str, limit: int = 40) -> str:
    """``repr(text)``, shortened: safe to print whatever ``text`` holds."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _unicode(text: str) -> str:
    """``text`` if it is Unicode text; a lone surrogate (JSON ``"\\ud800"``) is refused."""
    bad = lone_surrogate(text)
    if bad is not None:
        raise ValueError(f"not valid Unicode: a lone surrogate \\u{ord(text[bad]):04x} at character {bad + 1}")
    return text


def _gold_number(value: object) -> object:
    """Accept a finite number or a numeric string (``"1,080"``) as a gold answer."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        number = parse_number(_unicode(value))
        if number is None:
            raise ValueError(f"expected a number, got {_shown(value)}")
        return number
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            digits = len(str(abs(value)))
            raise ValueError(f"expected a number, got a {digits}-digit integer, too large for a float") from None
    elif isinstance(value, Number):
        if not math.isfinite(value):  # type: ignore[arg-type]
            shown = _NON_FINITE.get(str(value), str(value))
            raise ValueError(f"expected a finite number, got {shown}"
                             + (" (or a number too large for a float)" if shown != "NaN" else ""))
    elif value is None or isinstance(value, (list, dict)):
        raise ValueError(f"expected a number, got {json_type(value)}")
    return value


def _prediction_id(value: object) -> object:
    """A prediction's id: a non-empty string of Unicode text, or an integer."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("empty; give every line its own id")
        return _unicode(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected a string or an integer, got {json_type(value)}")


def _texts(value: object) -> object:
    """A list of texts; ``null`` stands for none."""
    if value is None:
        return []
    if isinstance(value, str):
        raise ValueError(f"expected a list of strings, got a string; write [{_shown(value)}]")
    if not isinstance(value, list):
        raise ValueError(f"expected a list of strings, got {json_type(value)}")
    return value


def _text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {json_type(value)}")
    return _unicode(value)


Texts = Annotated[list[Annotated[str, BeforeValidator(_text)]], BeforeValidator(_texts)]


def _label_set(value: object) -> object:
    """A question's choices: a list of at least two different strings (``null``: none)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {json_type(value)}")
    return [_unicode(v) for v in value]


Choices = Annotated[list[str], BeforeValidator(_label_set)]


def gold_answer(value: object, choices: list[str]) -> Answer:
    """A gold answer: one of ``choices`` where there are some (a label), a JSON boolean (yes/no), else a
    number; a ``ValueError`` says what is wrong."""
    if choices:
        return AnswerType.of("choice", choices).gold(value)
    if isinstance(value, bool):
        return AnswerType.of("yes_no").gold(value)
    if isinstance(value, str) and value.strip() and parse_number(value) is None:
        raise ValueError(f"{_shown(value)} is not a number; a label answer needs its label set: give the line "
                         'a "choices" list (or pass --choices)')
    return _gold_number(value)


def answer_type_of(answer: Answer, choices: list[str]) -> AnswerType:
    """How answers to a question with gold ``answer`` and ``choices`` are read (see :func:`gold_answer`)."""
    if isinstance(answer, float):
        return AnswerType()
    return AnswerType.of("choice", choices) if choices else AnswerType.of("yes_no")


class _Prediction(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int
    choices: Choices = Field(default_factory=list)
    answer: float | str

    _id = field_validator("id", mode="before")(_prediction_id)

    @model_validator(mode="before")
    @classmethod
    def _default_choices(cls, row: object, info: ValidationInfo) -> object:
        """Label lines (a gold answer that is a string and not a number) without their own ``choices`` take
        the command's (``--choices``)."""
        given = (info.context or {}).get("choices")
        label = isinstance(row, dict) and isinstance(row.get("answer"), str) and parse_number(row["answer"]) is None
        if given and label and not row.get("choices"):
            return {**row, "choices": given}
        return row

    @field_validator("answer", mode="before")
    @classmethod
    def _gold(cls, value: object, info: ValidationInfo) -> object:
        return gold_answer(value, info.data.get("choices") or [])

    @property
    def answer_type(self) -> AnswerType:
        return answer_type_of(self.answer, self.choices)

    @model_validator(mode="before")
    @classmethod
    def _unicode_names(cls, row: object) -> object:
        names = [name for name in row if isinstance(name, str)] if isinstance(row, dict) else []
        for name in names:
            try:
                _unicode(name)
            except ValueError as exc:
                raise ValueError(f"field name {_shown(name)} is {exc}") from None
        return row

    def texts(self, kind: str) -> list[str]:
        """The paths of ``kind``."""
        return getattr(self, kind)


@functools.lru_cache(maxsize=None)
def _prediction_model(kinds: tuple[str, ...]) -> type[_Prediction]:
    fields = {kind: (Texts, Field(default_factory=list)) for kind in kinds}
    return create_model("Prediction", __base__=_Prediction, __doc__=prediction_model.__doc__, **fields)


def prediction_model() -> type[_Prediction]:
    """One line of ``mixdistill score`` input: a gold answer and the sampled paths of each scored kind.

    A field per scored kind of the registry (:func:`prompts.scored_kinds`: ``cot``, ``pot``,
    ``predict`` for Distilling step-by-step's direct answers, ``socratic`` for Socratic
    decompositions of ``sub-question ** answer`` lines), each a list of texts. ``id`` is required (a
    string or an integer, unique in a file); the gold answer must be finite; texts must be Unicode
    (no lone surrogates). Other fields are kept and ignored.
    """
    return _prediction_model(tuple(scored_kinds()))


_BUILT_WHEN_USED = ConfigDict(defer_build=True)  # validators are built at first use: commands start faster


class Question(BaseModel):
    """A problem with its gold answer (``None``: none, see :mod:`mixdistill_plugin.labels`), as every
    command sees it.

    ``answer`` is a number, or a label among ``choices`` (:mod:`mixdistill_plugin.answers`);
    ``answer_type`` says how model text is read for it (:attr:`spec`), ``style`` which wording and
    exemplars its prompts use (:mod:`mixdistill_plugin.prompts`). ``annotation`` is the dataset's own
    worked solution or human explanation where it has one (SVAMP ``Equation``, GSM8K solution text,
    CoS-E, e-SNLI, StrategyQA facts), ``decomposition`` its Socratic one (GSM8K's ``socratic``
    configuration, StrategyQA's sub-questions); the ``gold`` teacher turns them into rationales.
    """

    model_config = _BUILT_WHEN_USED

    id: str
    question: str = Field(min_length=1)
    answer_type: Literal["number", "choice", "label", "yes_no"] = "number"
    choices: list[str] = Field(default_factory=list)
    answer: float | str | None  # None: no gold answer (generate --no-gold); the teacher's vote labels it
    source: str
    style: str = "math"
    annotation: str | None = None
    decomposition: str | None = None

    @field_validator("answer", mode="before")
    @classmethod
    def _gold(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        kind = info.data.get("answer_type", "number")
        if kind == "number":
            return _gold_number(value)
        return AnswerType.of(kind, info.data.get("choices") or ()).gold(value)

    @property
    def spec(self) -> AnswerType:
        """How model text is read for this question."""
        return AnswerType.of(self.answer_type, self.choices)


class Completion(BaseModel):
    """One teacher completion as checked against the gold answer: a line of ``raw.jsonl``.

    ``outcome`` is the executor status for PoT (``answer``, ``no_answer``, ``error``, ``timeout``,
    ``blocked``, ``protocol_error``), ``answer``/``no_answer`` for text kinds, and ``request_error``
    when the teacher returned nothing usable (``error`` says why; such samples are asked for again
    on resume).
    """

    model_config = _BUILT_WHEN_USED

    id: str
    kind: str
    sample: int
    text: str
    answer: float | str | None
    outcome: str
    detail: str = ""
    correct: bool
    teacher: str
    latency: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


class TrainRecord(BaseModel):
    """A kept rationale: a line of ``train.jsonl`` and the input of the Axolotl formatter."""

    model_config = _BUILT_WHEN_USED

    id: str
    question: str
    answer: float | str
    kind: str
    rationale: str
    teacher: str
    source: str = ""
    sample: int = 0
    style: str = "math"
    label: Literal["gold", "teacher"] = "gold"  # teacher: no gold answer, ``answer`` is the teacher's vote
    agreement: float | None = None  # label "teacher": the share of the question's completions that gave it


Model = TypeVar("Model", bound=BaseModel)


def validate_row(path: str | Path, number: int, row: object, model: type[Model], hint: str = "",
                 context: dict | None = None) -> Model:
    """``row`` (line ``number`` of ``path``) as ``model`` (validated with ``context``); ``InputError``
    names the line and field."""
    if not isinstance(row, dict):
        raise InputError(path, number, None, f"expected a JSON object, got {json_type(row)}", hint)
    try:
        return model.model_validate(row, context=context)
    except RecursionError:
        raise InputError(path, number, None, "nested too deeply to read", hint) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        problem = "missing" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
        raise InputError(path, number, field, problem, hint) from None


def load_records(
    path: str | Path, model: type[Model], hint: str = "", *, skip_invalid: bool = False, unique: str | None = None,
    context: dict | None = None,
) -> tuple[list[Model], list[InputError]]:
    """Every line of ``path`` as ``model``, and the errors of the lines skipped.

    The first bad line raises its ``InputError`` unless ``skip_invalid``. With ``unique``, a line
    whose field of that name equals (as text) the one of a line already loaded is bad too.
    """
    records, errors, seen = [], [], {}
    for number, line in numbered_lines(path):
        try:
            record = validate_row(path, number, parse_line(path, number, line, hint), model, hint, context)
            if unique is not None:
                _check_unique(path, number, unique, getattr(record, unique), seen, hint)
            records.append(record)
        except InputError as exc:
            if not skip_invalid:
                raise
            errors.append(exc)
    return records, errors


def _check_unique(path, number: int, field: str, value: object, seen: dict, hint: str) -> None:
    shown = _shown(value) if isinstance(value, str) else str(value)
    if str(value) in seen:
        first, before = seen[str(value)]
        spelled = "" if before == shown else f" as {before} ({field}s compare as text)"
        raise InputError(path, number, field, f"duplicate {field} {shown}, first on line {first}{spelled}", hint)
    seen[str(value)] = (number, shown)
