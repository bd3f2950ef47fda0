"""Record schemas shared by every command (pydantic), and loading them with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mixdistill_plugin.answers import parse_number
from mixdistill_plugin.jsonl import InputError, numbered_lines, parse_line


def _gold_number(value: object) -> object:
    """Accept a number or a numeric string (``"1,080"``) as a gold answer."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        number = parse_number(value)
        if number is None:
            raise ValueError(f"expected a number, got {value!r}")
        return number
    return value


class Prediction(BaseModel):
    """One line of ``mixdistill score`` input: a gold answer and the sampled paths of each kind.

    ``predict``: Distilling step-by-step's direct answers; ``socratic``: Socratic decompositions
    (``sub-question ** answer`` lines).
    """

    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    answer: float
    cot: list[str] = Field(default_factory=list)
    pot: list[str] = Field(default_factory=list)
    predict: list[str] = Field(default_factory=list)
    socratic: list[str] = Field(default_factory=list)

    _gold = field_validator("answer", mode="before")(_gold_number)


class Question(BaseModel):
    """A problem with its gold answer, as every command sees it.

    ``annotation`` is the dataset's own worked solution where it has one (SVAMP ``Equation``,
    GSM8K solution text), ``decomposition`` its Socratic one (GSM8K's ``socratic`` configuration);
    the ``gold`` teacher turns them into rationales.
    """

    id: str
    question: str = Field(min_length=1)
    answer: float
    source: str
    annotation: str | None = None
    decomposition: str | None = None

    _gold = field_validator("answer", mode="before")(_gold_number)


class Completion(BaseModel):
    """One teacher completion as checked against the gold answer: a line of ``raw.jsonl``.

    ``outcome`` is the executor status for PoT (``answer``, ``no_answer``, ``error``, ``timeout``,
    ``blocked``), ``answer``/``no_answer`` for text kinds, and ``request_error`` when the teacher
    returned nothing usable (``error`` says why; such samples are asked for again on resume).
    """

    id: str
    kind: str
    sample: int
    text: str
    answer: float | None
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

    id: str
    question: str
    answer: float
    kind: str
    rationale: str
    teacher: str
    source: str = ""
    sample: int = 0


Model = TypeVar("Model", bound=BaseModel)


def validate_row(path: str | Path, number: int, row: object, model: type[Model], hint: str = "") -> Model:
    """``row`` (line ``number`` of ``path``) as ``model``; ``InputError`` names the line and field."""
    if not isinstance(row, dict):
        raise InputError(path, number, None, f"expected a JSON object, got {type(row).__name__}", hint)
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        problem = "missing" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
        raise InputError(path, number, field, problem, hint) from None


def load_records(
    path: str | Path, model: type[Model], hint: str = "", *, skip_invalid: bool = False
) -> tuple[list[Model], list[InputError]]:
    """Every line of ``path`` as ``model``, and the errors of the lines skipped.

    The first bad line raises its ``InputError`` unless ``skip_invalid``.
    """
    records, errors = [], []
    for number, line in numbered_lines(path):
        try:
            records.append(validate_row(path, number, parse_line(path, number, line, hint), model, hint))
        except InputError as exc:
            if not skip_invalid:
                raise
            errors.append(exc)
    return records, errors
