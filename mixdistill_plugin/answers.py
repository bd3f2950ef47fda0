"""Reading a final answer out of model text, and deciding whether two answers agree.

An answer is a ``float``; "no answer" is ``None``. ``None`` is never equal to anything,
not even another ``None``, and never takes part in a vote.

Extraction from chain-of-thought text (:func:`extract_answer`):

1. The first explicit marker, by position in the text: ``\\boxed{...}``, ``#### N``,
   ``the (final) answer is N`` / ``answer: N`` (any case), or ``A: N`` at the start of a line.
   The first number after the marker is the answer.
2. Fallback: the last number anywhere in the text.

Numbers may carry ``$``, thousands separators (``1,080``), a sign (``-`` or ``−``), decimals,
exponents, a fraction (``3/4``, ``\\frac{3}{4}``), a percent sign (``25%`` reads as 25) or a unit
word (``18 dollars``).

Equality (:func:`answers_equal`): ``math.isclose`` with ``rel_tol`` and ``abs_tol`` both
``DEFAULT_TOLERANCE`` (1e-4), so ``0.3333`` == ``1/3`` but ``0.333`` != ``1/3``.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from numbers import Number

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


def extract_answer(text: str) -> float | None:
    """The final answer of a chain-of-thought ``text``, or ``None`` where it has none."""
    text = _FRAC_RE.sub(r"\1/\2", text)
    found = [(m.start(), m.group(1)) for pattern in _MARKERS for m in pattern.finditer(text)]
    for _, after_marker in sorted(found):
        value = parse_number(after_marker)
        if value is not None:
            return value
    numbers = NUMBER_RE.findall(text)
    for token in reversed(numbers):
        value = _number_from_token(token)
        if value is not None:
            return value
    return None


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


def answers_equal(a: float | None, b: float | None, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether two answers agree within ``tolerance`` (relative and absolute); ``None`` never does."""
    if a is None or b is None:
        return False
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def format_answer(value: float | None) -> str:
    """A short display form: ``18`` for 18.0, ``0.75`` for 0.75, ``[no answer]`` for ``None``."""
    if value is None:
        return "[no answer]"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
