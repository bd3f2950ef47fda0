"""Reading a final answer out of model text, and deciding whether two answers agree.

An answer is a number (``float``) or a label (``str``: a choice's text, a class label, ``yes`` or
``no``, always in :func:`canonical_label` form); "no answer" is ``None``. ``None`` is never equal to
anything, not even another ``None``, and never takes part in a vote. A question's
:class:`AnswerType` says which it expects and, for labels, the labels it may be:

- ``number``: arithmetic word problems (SVAMP, GSM8K);
- ``choice``: multiple choice (CommonsenseQA): the choice's text, its letter ``(d)`` or both;
- ``label``: one of a fixed set (NLI: ``entailment``, ``neutral``, ``contradiction``);
- ``yes_no``: ``yes`` or ``no`` (``true``/``false`` read as them; StrategyQA).

Extraction (:meth:`AnswerType.read`): the text is first cut where a model runs on into a next
few-shot example (a blank line, then ``Q:``, ``Question:``, ``Premise:``...). Then the first
explicit marker, by position in the text: ``\\boxed{...}``, ``#### N``, ``the (final) answer is``
/ ``answer:`` (any case), or ``A:`` at the start of a line; what follows the marker is the answer.
A number written as arithmetic (``The answer is (84 / 2).``) is evaluated by a walk over its
syntax tree that allows only numbers, ``+ - * /`` and parentheses (never ``eval``); an expression
that is not arithmetic on numbers (``(some bags + 4 bags)``, ``(2 ** 100)``) is no answer; else the first number
after the marker counts. A label is the first label, alias or (for ``choice``) letter after the marker.
Without a marker: a choice's bare letter (``d``, ``(d)``, ``D.``), else the last number (or label,
or a choice's letter in parentheses) anywhere in the text.

Numbers may carry ``$``, thousands separators (``1,080``), a sign (``-`` or ``−``), decimals,
exponents, a fraction (``3/4``, ``\\frac{3}{4}``), a percent sign (``25%`` reads as 25) or a unit
word (``18 dollars``).

Equality (:func:`answers_equal`): two whole numbers exactly (``1201587`` != ``1201565``, however
close in relative terms); other numbers by ``math.isclose`` with ``rel_tol`` and ``abs_tol`` both
``DEFAULT_TOLERANCE`` (1e-4), so ``0.3333`` == ``1/3`` and ``7.000000000000001`` == ``7`` but
``0.333`` != ``1/3``; labels by their text; a number never equals a label.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from numbers import Number
from typing import Literal, Sequence, Union

Answer = Union[float, str]
Kind = Literal["number", "choice", "label", "yes_no"]
ANSWER_TYPES: tuple[Kind, ...] = ("number", "choice", "label", "yes_no")
YES_NO = ("yes", "no")

DEFAULT_TOLERANCE = 1e-4

_NUMBER = r"[-−]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s?/\s?\d+(?:\.\d+)?)?%?|[-−]?\.\d+"
NUMBER_RE = re.compile(_NUMBER)
_FRAC_RE = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_MARKERS = [
    re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}"),
    re.compile(r"####\s*([^\n]*)"),
    re.compile(r"(?:final\s+)?answer\s*(?:is|:|=)\s*:?\s*([^\n]*)", re.IGNORECASE),
    re.compile(r"^\s*A\s*:\s*([^\n]*)", re.MULTILINE),
]
# A model that runs on into the next few-shot example: a blank line, then an example's first field.
_RUN_ON = re.compile(r"\n[ \t]*\n\s*(?:Q|Question|Problem|Premise|Hypothesis|Context|Claim)\s*:")
_ARITHMETIC = re.compile(r"[-−+(\s]*(?:\d|\.\d)[\d\s.,+\-−*/×÷()]*")
_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b}
_EXPRESSION = re.compile(r"[\w)]\s*(?:[+×÷]|\*\*?)\s*[\w(]|[\w)]\s+[-−/]\s+[\w(]")
_LETTER = re.compile(r"^\s*\(?([a-z])\)(?![a-z])|^\s*([a-z])\s*(?:$|[.,:;)])", re.IGNORECASE)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def parse_number(text: str) -> float | None:
    """The first number in ``text`` as a float (see the module doc for accepted forms)."""
    text = _FRAC_RE.sub(r"\1/\2", text)
    match = NUMBER_RE.search(text)
    if match is None:
        return None
    return _number_from_token(match.group(0))


def _number_from_token(token: str) -> float | None:
    token = token.replace("−", "-").replace("$", "").replace(",", "").replace(" ", "")
    token = token.rstrip("%")
    try:
        if "/" in token:
            num, den = token.split("/")
            value = float(Fraction(num) / Fraction(den))
        else:
            value = float(token)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def cut_run_on(text: str) -> str:
    """``text`` up to where it runs on into a next few-shot example (see the module doc)."""
    found = _RUN_ON.search(text)
    return text[: found.start()] if found else text


def evaluate_arithmetic(text: str) -> float | None:
    """The value of ``text`` when it is arithmetic on numbers (``(84 / 2)``, ``1,080``, ``3/4``; after
    the last ``=`` if it has one); ``None`` when it is anything else. An AST walk, never ``eval``."""
    text = text.rpartition("=")[2].replace("$", "").replace("−", "-").replace("×", "*").replace("÷", "/")
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    found = _ARITHMETIC.match(text)
    if found is None or len(found.group(0)) > 200:
        return None
    expression = found.group(0).strip().rstrip(".").rstrip()
    try:
        value = _arithmetic(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError, MemoryError):
        return None
    return float(value) if value is not None and math.isfinite(value) else None


def _arithmetic(node: ast.AST) -> Fraction | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _arithmetic(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _arithmetic(node.left), _arithmetic(node.right)
        return None if left is None or right is None else _BINARY[type(node.op)](left, right)
    return None


def _marked(text: str) -> list[str]:
    """What follows each answer marker of ``text``, in the order the markers stand."""
    found = [(m.start(), m.group(1)) for pattern in _MARKERS for m in pattern.finditer(text)]
    return [after for _, after in sorted(found)]


def extract_answer(text: str) -> float | None:
    """The final number of a chain-of-thought ``text``, or ``None`` where it has none."""
    text = _FRAC_RE.sub(r"\1/\2", cut_run_on(text))
    for after_marker in _marked(text):
        value = evaluate_arithmetic(after_marker)
        if value is None and _EXPRESSION.search(after_marker):
            return None  # an expression of words (``(some bags + 4 bags)``): no number, not its first one
        if value is None:
            value = parse_number(after_marker)
        if value is not None:
            return value
    numbers = NUMBER_RE.findall(text)
    for token in reversed(numbers):
        value = _number_from_token(token)
        if value is not None:
            return value
    return None


def canonical_label(text: str) -> str:
    """A label as compared: lower case, single spaces, no surrounding punctuation or quotes."""
    return " ".join(str(text).lower().split()).strip(" .,;:!?\"'`")


@dataclass(frozen=True)
class AnswerType:
    """What a question's answer is: ``kind`` (:data:`ANSWER_TYPES`) and, for labels, ``choices``
    (canonical, in order: a choice's letter is its position) and ``aliases`` (other spellings of a
    choice: ``{"true": "yes"}``)."""

    kind: Kind = "number"
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, kind: str, choices: Sequence[str] = ()) -> "AnswerType":
        """The type ``kind`` (``yes_no`` brings its own choices and aliases)."""
        if kind not in ANSWER_TYPES:
            raise ValueError(f"unknown answer type {kind!r}; known: {', '.join(ANSWER_TYPES)}")
        if kind == "yes_no":
            return cls("yes_no", YES_NO, (("true", "yes"), ("false", "no")))
        labels = tuple(canonical_label(c) for c in choices)
        if kind != "number" and len(set(labels)) < 2:
            raise ValueError(f"a {kind} answer needs at least two different choices, got {list(choices)!r}")
        return cls(kind, labels) if kind != "number" else cls()  # type: ignore[arg-type]

    def read(self, text: str) -> Answer | None:
        """The answer ``text`` gives (see the module doc), or ``None``."""
        if self.kind == "number":
            return extract_answer(text)
        text = cut_run_on(text)
        for after_marker in _marked(text):
            label = self._first_label(after_marker)
            if label is not None:
                return label
        whole = canonical_label(text)
        if whole in self._spellings():
            return self._spellings()[whole]
        if self.kind == "choice" and _LETTER.match(text):  # a bare letter: ``d``, ``(d)``, ``D.``
            return self._first_label(text)
        return self._last_label(text)

    def gold(self, value: object) -> Answer:
        """A gold answer of this type (a ``ValueError`` says why ``value`` is not one)."""
        if self.kind == "number":
            raise TypeError("numbers are checked by records.gold_number")
        if isinstance(value, bool) and self.kind == "yes_no":
            return "yes" if value else "no"
        if not isinstance(value, str):
            raise ValueError(f"expected one of {self.shown_choices()}, got {type(value).__name__} {value!r}")
        label = self._spellings().get(canonical_label(value))
        if label is None:
            raise ValueError(f"{value!r} is not one of {self.shown_choices()}")
        return label

    def sentence(self, answer: Answer) -> str:
        """The sentence that ends a rationale with ``answer``, as the prompts ask for it."""
        if self.kind == "choice":
            return f"So the answer is ({_LETTERS[self.choices.index(str(answer))]}) {answer}."
        return f"{'So the' if self.kind == 'yes_no' else 'The'} answer is {format_answer(answer)}."

    def shown_choices(self) -> str:
        return ", ".join(repr(c) for c in self.choices)

    def _spellings(self) -> dict[str, str]:
        return {**{c: c for c in self.choices}, **dict(self.aliases)}

    def _first_label(self, segment: str) -> str | None:
        if self.kind == "choice":
            letter = _LETTER.match(segment)
            if letter:
                index = _LETTERS.index((letter.group(1) or letter.group(2)).lower())
                if index < len(self.choices):
                    return self.choices[index]
        found = self._mentions(segment)
        return min(found)[2] if found else None

    def _last_label(self, text: str) -> str | None:
        found = self._mentions(text)
        return max(found, key=lambda f: (f[0] + f[1], f[1]))[2] if found else None

    def _mentions(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, -length, label)`` of every spelling in ``text`` (whole words) and, for a choice, every
        letter in parentheses."""
        low = " ".join(text.lower().split())
        found = []
        for spelling, label in self._spellings().items():
            for m in re.finditer(rf"(?<![\w-]){re.escape(spelling)}(?![\w-])", low):
                found.append((m.start(), -len(spelling), label))
        if self.kind == "choice":  # a letter in parentheses: ``the correct choice is (d)``
            for m in re.finditer(r"\(([a-z])\)", low):
                if _LETTERS.index(m.group(1)) < len(self.choices):
                    found.append((m.start(), -3, self.choices[_LETTERS.index(m.group(1))]))
        return found


NUMBER = AnswerType()


def to_answer(value: object) -> float | None:
    """Canonicalise a program's value (number, numeric string, one-element container) to a float."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return extract_answer(value)
    if isinstance(value, dict) and len(value) == 1:
        return to_answer(next(iter(value.values())))
    if isinstance(value, (list, tuple, set, frozenset)) and len(value) == 1:
        return to_answer(next(iter(value)))
    if isinstance(value, Number) or hasattr(value, "__float__"):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None
        return number if math.isfinite(number) else None
    return None


def answers_equal(a: Answer | None, b: Answer | None, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether two answers agree: numbers within ``tolerance`` (relative and absolute), labels by text;
    ``None`` never does."""
    if a is None or b is None:
        return False
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if _whole(a) and _whole(b):
        return a == b
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def _whole(value: float) -> bool:
    """A whole number small enough that a float holds it exactly."""
    return float(value).is_integer() and abs(value) < 2**53


def format_answer(value: Answer | None) -> str:
    """A short display form: ``18`` for 18.0, ``0.75`` for 0.75, a label as it is, ``[no answer]`` for ``None``."""
    if value is None:
        return "[no answer]"
    if isinstance(value, str):
        return value
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
