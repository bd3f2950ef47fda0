"""Teacher: rationales made from the dataset's own annotations (``teacher: "gold"``).

The offline default of ``make distill`` and the literature's "human rationale" baseline.

- Label answers (CommonsenseQA, e-SNLI, ANLI, StrategyQA): CoT is the dataset's human explanation
  (CoS-E, e-SNLI's first explanation, ANLI's reason, StrategyQA's facts) followed by the answer
  sentence the prompts ask for (``So the answer is (b) refrigerator.``, ``The answer is neutral.``).
  Socratic (StrategyQA): its human sub-questions, answered by its facts in order, the last step
  holding the facts left over and the answer sentence: a mechanical pairing, not a teacher's (a
  question with fewer facts than sub-questions before the last gets none).

- SVAMP ``Equation`` ``( ( 4.0 - 2.0 ) + 3.0 )``: CoT ``4 - 2 = 2. 2 + 3 = 5. The answer is 5.``;
  PoT ``ans = (4 - 2) + 3``.
- GSM8K solution: CoT is the solution with the calculator markup ``<<...>>`` removed and the last
  line ``#### N`` turned into ``The answer is N.``; PoT is its calculator chain (plus plain
  ``a op b = c`` equations the markup missed) as a multi-line program, each step a variable,
  later steps naming earlier steps where they reuse their values, ``ans`` the step whose value
  the solution's ``#### N`` states (else the last step).
- Socratic (``socratic`` kind): GSM8K's own decomposition (``sub-question ** step`` lines, markup
  and ``#### N`` removed) where the dataset has one; for SVAMP, one step per operation of the
  ``Equation``, the last step asking the problem's own question (``How much is 4 - 2? ** 4 - 2 = 2.``
  then ``How many ...? ** 2 + 3 = 5.``): a mechanical decomposition, not a teacher's.

A rationale is a rationale like any other: the generator checks it against the gold answer and
drops it when it is wrong (algebra in prose, for example, has no chain to run).
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from typing import AsyncIterator, Sequence

from mixdistill_plugin.answers import answers_equal, format_answer, parse_number
from mixdistill_plugin.records import Question
from mixdistill_plugin.teachers import Reply, Request, Sampling

_EQUATION = re.compile(r"[\d\s.()+\-*/]+")  # SVAMP's Equation field: arithmetic and nothing else
_CALC = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
_NUM = r"\d[\d,]*\.?\d*|\.\d+"
_PLAIN_EQ = re.compile(rf"((?:\(\s*)*(?:{_NUM})(?:\s*\)*\s*[-+*/]\s*\(*\s*(?:{_NUM}))+\s*\)*)\s*=\s*(-?(?:{_NUM}))")
_WORD_OPERATORS = (("plus", "+"), ("minus", "-"), ("times", "*"), ("multiplied by", "*"), ("divided by", "/"),
                   ("equals", "="), ("is equal to", "="))
_ASKED = re.compile(r"\b(?:How|What|Which|Who|Find)\b[^.!?]*\?")
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class GoldTeacher:
    name = "gold"

    def most_samples(self, kind: str) -> int:
        """One: an annotation gives one rationale of a kind."""
        return 1

    async def replies(self, requests: Sequence[Request], sampling: Sampling) -> AsyncIterator[Reply]:
        for request in requests:
            text = gold_rationale(request.question, request.kind)
            yield Reply(request, texts=[text] if text else [], error=None if text else "no annotation to use")


def gold_rationale(question: Question, kind: str) -> str | None:
    """The rationale of ``kind`` (``cot``, ``pot`` or ``socratic``) the dataset's annotations give, if any:
    by the annotation's form (an equation, a worked solution with ``####``, a human explanation)."""
    note = question.annotation
    if question.answer_type != "number":  # a human explanation, then the answer as the prompts ask for it
        if kind == "socratic" and note and question.decomposition:
            return _facts_socratic(question.decomposition, note, question.spec.sentence(question.answer))
        return f"{_sentences(note)} {question.spec.sentence(question.answer)}" if kind == "cot" and note else None
    equation = note is not None and _EQUATION.fullmatch(note.strip()) is not None
    if kind == "socratic":
        if question.decomposition:
            return _gsm8k_socratic(question.decomposition)
        return _svamp_socratic(question.question, note) if equation else None
    if not note or kind not in ("cot", "pot"):
        return None
    if equation:
        return _svamp_cot(note, question.answer) if kind == "cot" else f"ans = {_svamp_expression(note)}"
    if "####" in note:
        return _gsm8k_cot(note) if kind == "cot" else _gsm8k_pot(note)
    return None


def _facts_socratic(decomposition: str, facts: str, sentence: str) -> str | None:
    """StrategyQA's sub-questions answered by its facts, in order, the facts left over and the answer
    sentence on the last step; ``None`` when there are fewer facts than sub-questions before the last."""
    questions = [line.strip() for line in decomposition.splitlines() if line.strip()]
    known = [_sentences(line) for line in facts.splitlines() if line.strip()]
    if not questions or len(known) < len(questions) - 1:
        return None
    answers = known[: len(questions) - 1] + [" ".join([*known[len(questions) - 1:], sentence])]
    return "\n".join(f"{q} ** {a}" for q, a in zip(questions, answers))


def _sentences(text: str) -> str:
    """The lines of ``text`` as one paragraph, each ending with a full stop (unless it has its own)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(line if line[-1] in ".!?" else line + "." for line in lines)


def _number(node: ast.AST) -> str:
    value = ast.literal_eval(node)
    return format_answer(float(value))


def _svamp_expression(equation: str) -> str:
    tree = ast.parse(equation.strip(), mode="eval")
    return re.sub(r"\b(\d+)\.0\b", r"\1", ast.unparse(tree))


def _svamp_steps(equation: str) -> list[tuple[str, str]]:
    """``(calculation, result)`` for each operation of a SVAMP equation, innermost first."""
    steps: list[tuple[str, str]] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            value = {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}.get(
                type(node.op), left / right if right else Fraction(0)
            )
            steps.append((f"{_show(left)} {_OPS[type(node.op)]} {_show(right)}", _show(value)))
            return value
        return Fraction(str(ast.literal_eval(node)))

    walk(ast.parse(equation.strip(), mode="eval").body)
    return steps


def _svamp_cot(equation: str, gold: float) -> str:
    steps = [f"{calculation} = {result}." for calculation, result in _svamp_steps(equation)]
    return " ".join(steps + [f"The answer is {format_answer(gold)}."])


def _svamp_socratic(problem: str, equation: str) -> str | None:
    steps = _svamp_steps(equation)
    if not steps:
        return None
    questions = _ASKED.findall(problem)
    asked = questions[-1] if questions else re.split(r"(?<=[.!?])\s+", problem.strip())[-1]
    lines = [f"How much is {calculation}? ** {calculation} = {result}." for calculation, result in steps[:-1]]
    calculation, result = steps[-1]
    return "\n".join(lines + [f"{asked} ** {calculation} = {result}."])


def _gsm8k_socratic(decomposition: str) -> str:
    body = decomposition.rpartition("####")[0] if "####" in decomposition else decomposition
    return "\n".join(_CALC.sub("", line).strip() for line in body.splitlines() if line.strip())


def _show(value: Fraction) -> str:
    return format_answer(float(value)) if value.denominator in (1, 2, 4, 5, 8, 10, 20, 25, 50, 100) else f"{float(value):.4g}"


def _gsm8k_cot(solution: str) -> str:
    body, _, final = solution.rpartition("####")
    return f"{_CALC.sub('', body).strip()}\nThe answer is {final.strip()}."


def _normalise(text: str) -> str:
    text = text.replace("−", "-").replace("–", "-").replace("×", "*").replace("÷", "/").replace("$", "")
    text = re.sub(r"(?<=\d)\s*[xX]\s*(?=[\d(])", " * ", text)
    text = re.sub(r"(?<=\d)%", "", text)
    for words, symbol in _WORD_OPERATORS:  # 200 minus 174 equals 26
        text = re.sub(rf"(?<=\d)\s+{words}\s+(?=[\d.])", f" {symbol} ", text)
    text = re.sub(r"(?<=\d)(?:\s+[A-Za-z][A-Za-z/']*)+(?=\s*[-+*/=])", "", text)  # units: 310 miles/day - 250
    text = re.sub(r"(?<=[\d)])\s*\(", " * (", text)  # implicit multiplication: 27(1/3)
    return re.sub(r"(?<=\d)[a-zA-Z]+\b", "", text)


def _gsm8k_steps(solution: str) -> list[tuple[str, str]]:
    body = solution.rpartition("####")[0]
    steps: list[tuple[str, str]] = []
    for line in body.splitlines():
        found = _CALC.findall(line)
        if found:
            steps += [(expr, shown) for expr, shown in found]
            continue
        steps += _PLAIN_EQ.findall(_normalise(line))
    return [(_normalise(expr).replace(",", ""), shown.replace(",", "")) for expr, shown in steps]


def _gsm8k_pot(solution: str) -> str | None:
    steps = _gsm8k_steps(solution)
    if not steps:
        return None
    gold = parse_number(solution.rpartition("####")[2])
    lines, names = [], {}
    for i, (expr, shown) in enumerate(steps, start=1):
        for value, name in sorted(names.items(), key=lambda item: -len(item[0])):
            expr = re.sub(rf"(?<![\w.]){re.escape(value)}(?![\w.])", name, expr)
        lines.append(f"step_{i} = {expr.strip()}")
        names[shown.strip()] = f"step_{i}"
    answer = next(
        (f"step_{i}" for i, (_, shown) in reversed(list(enumerate(steps, start=1)))
         if answers_equal(parse_number(shown), gold)),
        f"step_{len(steps)}",
    )
    return "\n".join(lines + [f"ans = {answer}"])
