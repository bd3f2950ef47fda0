"""Record schemas shared by every command (pydantic), and loading them with clear errors. (``mixdistill
score``'s lines are read without pydantic, for a fast start: :mod:`mixdistill_plugin.predictions`.)"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from mixdistill_plugin.answers import AnswerType
from mixdistill_plugin.jsonl import InputError, json_type, load_lines
from mixdistill_plugin.predictions import gold_number, label_gold

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
            return gold_number(value)
        return label_gold(value, kind, info.data.get("choices") or ())

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


def validate_row(path: str | Path, number: int | None, row: object, model: type[Model], hint: str = "",
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
    context: dict | None = None, drop_torn: bool = False,
) -> tuple[list[Model], list[InputError]]:
    """Every line of ``path`` as ``model``, and the errors of the lines skipped.

    The first bad line raises its ``InputError`` unless ``skip_invalid``. With ``unique``, a line
    whose field of that name equals (as text) the one of a line already loaded is bad too. ``drop_torn``:
    leave out a last line without its newline (:func:`~mixdistill_plugin.jsonl.numbered_lines`).
    """
    return load_lines(path, lambda number, row: validate_row(path, number, row, model, hint, context),
                      skip_invalid=skip_invalid, unique=unique, hint=hint, drop_torn=drop_torn)
