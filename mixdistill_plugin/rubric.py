"""What a judge is asked about a rationale, and how its reply is read.

:data:`RUBRIC` (worded for the problems of the rationale's prompt style) asks whether the steps are
correct, whether the final answer follows from them, whether anything is irrelevant or missing, and
for a score from 1 to 5 as JSON (:data:`SCHEMA`); :func:`read_grade` reads a reply, in a code fence,
as bare JSON or as a ``score: N`` line. A grade of :data:`HIGH` or more is the judge's verdict
"right"; :data:`LOW` or less "wrong".
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Iterable

from mixdistill_plugin.answers import format_answer
from mixdistill_plugin.prompts import DEFAULT_STYLE, get_style, style_names

LOW, HIGH = 2, 4
SCALE = (1, 5)

# What a rationale of each kind is, in the judge's words; kinds without a rationale (direct answers) are not graded.
KINDS = {
    "cot": "reasoning in plain words, ending with the answer",
    "pot": "a Python program; the value it leaves in `ans` is its answer",
    "socratic": "a decomposition: sub-questions, each followed by `**` and its answer",
}

RUBRIC = """\
You check worked solutions to {problems}. Grade the reasoning, not only the final answer:
a right answer reached by wrong steps is a poor solution. You are not told the expected answer.

Check three things:
1. Steps: is every step correct? Check {steps}.
2. Answer: does the final answer follow from the steps, or does it contradict them or come
   from nowhere?
3. Relevance: is any step irrelevant to the question, or is a needed step missing?

Then score the solution from 1 to 5:
5: every step correct and needed; the answer follows from them.
4: correct and complete, with a minor flaw (unclear wording, an unneeded step).
3: mostly sound, but one real mistake, gap or unsupported jump.
2: serious mistakes or gaps; a right answer would be luck.
1: wrong, unrelated or no reasoning.

Reply with one JSON object and nothing else:
{{"steps_correct": true or false, "answer_follows": true or false,
 "irrelevant_or_missing": "what is irrelevant or missing, or an empty string",
 "reasons": "one or two sentences", "score": 1 to 5}}"""

def rubric(style: str = DEFAULT_STYLE) -> str:
    """:data:`RUBRIC` for the problems of a prompt style (``math word problems``, ``multiple-choice questions``...)
    and what its steps are made of."""
    words = get_style(style)
    return RUBRIC.format(problems=words.problem + "s", steps=words.steps)


SCHEMA = {
    "type": "object",
    "properties": {
        "steps_correct": {"type": "boolean"},
        "answer_follows": {"type": "boolean"},
        "irrelevant_or_missing": {"type": "string"},
        "reasons": {"type": "string"},
        "score": {"type": "integer", "minimum": SCALE[0], "maximum": SCALE[1]},
    },
    "required": ["steps_correct", "answer_follows", "irrelevant_or_missing", "reasons", "score"],
    "additionalProperties": False,
}
# Names the rubric in each grade: the template and every built-in style's wording of it, with the schema.
RUBRIC_ID = hashlib.sha256(("".join(rubric(style) for style in style_names()) + json.dumps(SCHEMA, sort_keys=True))
                           .encode()).hexdigest()[:16]


def judge_messages(rationale) -> list[dict[str, str]]:
    """The chat the judge answers about a rationale (its ``question``, ``kind``, ``text``, ``answer`` and
    ``style``): the rubric, then the problem and the rationale (never the gold answer)."""
    text = rationale.text.strip()
    if rationale.kind == "pot":
        ran = "nothing (no answer)" if rationale.answer is None else format_answer(rationale.answer)
        text += f"\n\n(When run, the program's answer is: {ran}.)"
    user = (f"Problem:\n{rationale.question.strip()}\n\nSolution ({KINDS[rationale.kind]}):\n{text}\n\n"
            "Grade this solution. Reply with the JSON object only.")
    return [{"role": "system", "content": rubric(rationale.style)}, {"role": "user", "content": user}]


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_SCORE_LINE = re.compile(r"(?im)^[\s*#>_-]*(?:score|grade)[\s*_]*[:=][\s*_]*([1-9]\d*)(?:\s*/\s*5)?(?![\d.,]\d)")


def read_grade(text: str) -> dict | None:
    """The grade in a judge's reply: the first JSON object with an integer ``score`` in 1..5 (in a
    code fence or anywhere in the text), else a ``score: N`` line; ``None`` when there is neither."""
    for candidate in [*_FENCE.findall(text), text]:
        for found in _json_objects(candidate):
            grade = _grade_of(found)
            if grade is not None:
                return grade
    match = _SCORE_LINE.search(text)
    if match and SCALE[0] <= int(match.group(1)) <= SCALE[1]:
        return {"grade": int(match.group(1))}
    return None


def _json_objects(text: str) -> Iterable[dict]:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            yield value
        start = text.find("{", end)


def _grade_of(found: dict) -> dict | None:
    score = found.get("score")
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    elif isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int) or not SCALE[0] <= score <= SCALE[1]:
        return None
    grade: dict = {"grade": score}
    for name in ("steps_correct", "answer_follows"):
        if isinstance(found.get(name), bool):
            grade[name] = found[name]
    for name in ("irrelevant_or_missing", "reasons"):
        if isinstance(found.get(name), str):
            grade[name] = found[name][:1000]
    return grade
