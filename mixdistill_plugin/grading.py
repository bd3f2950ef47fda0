"""Rationale quality: a judge model grades CoT rationales, PoT programs and Socratic decompositions.

Accuracy says whether an answer is right, not whether the reasoning that led to it is. A judge
(any OpenAI-compatible server, through the request loop ``generate`` uses, or a local HF model)
reads the problem and one rationale, without the gold answer, and grades it with :data:`RUBRIC`:
are the steps correct, does the final answer follow from them, is anything irrelevant or missing;
a score from 1 to 5 and short reasons, as JSON (:data:`SCHEMA`, sent as ``response_format`` where
the server takes one). :func:`read_grade` reads the reply; one it cannot read is recorded as
``unreadable`` with the reply, never guessed.

Inputs: a teacher folder (its ``raw.jsonl``) or a folder of student samples (``samples_*.jsonl``
written by lm-eval's ``--log_samples`` or ``mixdistill socratic``). Output: ``grades.jsonl``, one
:class:`Grade` per rationale, appended as replies arrive (resumable like ``generate``: done
rationales are skipped, failed requests asked again, a torn last line dropped) and a summary
(``grades_stats.json``) with the judge's agreement with the answers' correctness.

A grade of :data:`HIGH` or more is the judge's verdict "right"; :data:`LOW` or less "wrong".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from mixdistill_plugin.answers import answers_equal, format_answer
from mixdistill_plugin.evallog import latest_samples, read_samples
from mixdistill_plugin.jsonl import InputError
from mixdistill_plugin.prompts import DEFAULT_STYLE, get_style
from mixdistill_plugin.ledger import REQUEST_ERROR, Ledger
from mixdistill_plugin.teachers import Reply, Sampling

LOW, HIGH = 2, 4
SCALE = (1, 5)
GRADED = "graded"
UNREADABLE = "unreadable"

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
1. Steps: is every step correct? Numbers taken from the problem, each calculation, each
   conclusion (in a program: what each line computes).
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
    """:data:`RUBRIC` for the problems of a prompt style (``math word problems``, ``multiple-choice questions``...)."""
    return RUBRIC.format(problems=get_style(style).problem + "s")


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
RUBRIC_ID = hashlib.sha256((rubric() + json.dumps(SCHEMA, sort_keys=True)).encode()).hexdigest()[:16]


class Graded(BaseModel):
    """What identifies a graded rationale, and whether its answer is right.

    ``file``: where it comes from, relative to the graded folder (``raw.jsonl``, or a samples
    file); ``source``: ``teacher``, or the folder of the samples file (the student);
    ``sample``: the completion's sample number, or the path's index among the document's paths.
    """

    model_config = ConfigDict(defer_build=True)

    file: str
    source: str
    task: str
    id: str
    kind: str
    sample: int
    answer: float | str | None
    correct: bool

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.file, self.id, self.kind, self.sample)


class Rationale(Graded):
    """One rationale to grade: its question and text beside what identifies it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    question: str
    text: str
    style: str = DEFAULT_STYLE


@dataclass(frozen=True)
class GradeRequest:
    """A request of the judge: one rationale, one sample."""

    rationale: Rationale
    samples: tuple[int, ...] = (0,)


class Grade(Graded):
    """One line of ``grades.jsonl``: a rationale's grade (``status: graded``), or an ``unreadable``
    reply (kept in ``reply``), or a failed request (``request_error``, asked again on resume)."""

    judge: str
    rubric: str
    status: str
    grade: int | None = None
    steps_correct: bool | None = None
    answer_follows: bool | None = None
    irrelevant_or_missing: str = ""
    reasons: str = ""
    reply: str = ""
    error: str | None = None
    latency: float = 0.0


GRADES = Ledger(Grade, key=lambda g: g.key, failed=lambda g: g.status == REQUEST_ERROR,
                hint="The file is damaged at this line: remove the line and run mixdistill grade again (it is graded again)")


def judge_messages(rationale: Rationale) -> list[dict[str, str]]:
    """The chat the judge answers: the rubric, then the problem and the rationale (never the gold answer)."""
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


def grade_of_reply(reply: Reply, judge: str) -> Grade:
    """The :class:`Grade` line for a judge's reply to one rationale."""
    rationale: Rationale = reply.request.rationale
    base = rationale.model_dump(include=set(Graded.model_fields)) | dict(
        judge=judge, rubric=RUBRIC_ID, latency=round(reply.latency, 4))
    if reply.error or not reply.texts:
        return Grade(**base, status=REQUEST_ERROR, error=reply.error or "no reply")
    found = read_grade(reply.texts[0])
    if found is None:
        return Grade(**base, status=UNREADABLE, reply=reply.texts[0][:2000])
    return Grade(**base, status=GRADED, **found)


# --- inputs ---------------------------------------------------------------------------------------

def collect(folder: Path, paths: int = 1, limit: int | None = None) -> list[Rationale]:
    """The rationales in ``folder``: a teacher folder's completions (``raw.jsonl``), else the first
    ``paths`` paths of every document in the latest ``samples_<task>_<date>.jsonl`` of each task
    and folder below ``folder``. ``limit``: only the first questions of each file."""
    if (folder / "raw.jsonl").exists():
        return _teacher_rationales(folder, limit)
    latest = latest_samples(folder, lambda path: path.parent)
    if not latest:
        raise InputError(folder, None, None, "no raw.jsonl and no samples_*.jsonl here",
                         "give a teacher folder (mixdistill generate --out) or an evaluation folder "
                         "(lm_eval --log_samples --output_path, mixdistill socratic --output-path)")
    found = []
    for (parent, task), path in sorted(latest.items()):
        source = parent.relative_to(folder).as_posix()
        found += _student_rationales(path, path.relative_to(folder).as_posix(), source if source != "." else folder.name,
                                     task, paths, limit)
    return found


def _teacher_rationales(folder: Path, limit: int | None) -> list[Rationale]:
    from mixdistill_plugin.generate import RAW, read_questions

    if not (folder / "questions.jsonl").exists():
        raise InputError(folder / "questions.jsonl", None, None, "missing",
                         "a teacher folder holds the questions of its raw.jsonl; run mixdistill generate --out again")
    questions = {q.id: q for q in read_questions(folder / "questions.jsonl")}
    order = list(questions)[:limit] if limit else list(questions)
    wanted = {qid: i for i, qid in enumerate(order)}
    completions = [c for c in RAW.latest(RAW.read(folder / "raw.jsonl")[0])
                   if not RAW.failed(c) and c.kind in KINDS and c.id in wanted]
    completions.sort(key=lambda c: (wanted[c.id], c.kind, c.sample))
    return [Rationale(file="raw.jsonl", source="teacher", task="", id=c.id, kind=c.kind, sample=c.sample,
                      question=questions[c.id].question, text=c.text, answer=c.answer, correct=c.correct,
                      style=questions[c.id].style)
            for c in completions]


def _student_rationales(path: Path, file: str, source: str, task: str, paths: int,
                        limit: int | None) -> list[Rationale]:
    found, questions = [], []
    for logged in read_samples(path):
        doc = logged.doc
        if doc["id"] not in questions:
            questions.append(doc["id"])
        if (limit and len(questions) > limit) or doc["kind"] not in KINDS:
            continue
        for i, (text, answer) in enumerate(list(zip(logged.texts, logged.answers))[:paths]):
            found.append(Rationale(file=file, source=source, task=task, id=doc["id"], kind=doc["kind"], sample=i,
                                   question=doc["question"], text=text, answer=answer,
                                   correct=answers_equal(answer, logged.gold), style=doc.get("style", DEFAULT_STYLE)))
    return found


# --- the grades file ------------------------------------------------------------------------------


def stats_path(out: Path) -> Path:
    """Where the summary of ``out`` goes: ``grades.jsonl`` -> ``grades_stats.json``."""
    return out.with_name(out.stem + "_stats.json")


def read_grades(path: Path) -> tuple[list[Grade], bool]:
    """The lines of a grades file, cutting off a torn last line (``True`` if there was one)."""
    return GRADES.read(path)


def check_judge(path: Path, grades: Sequence[Grade], judge: str) -> None:
    """Refuse to mix two judges (or two rubrics) in one grades file."""
    other = next((g for g in grades if (g.judge, g.rubric) != (judge, RUBRIC_ID)), None)
    if other is not None:
        what = f"judge {other.judge!r}" if other.judge != judge else "another version of the rubric"
        raise InputError(path, None, None, f"holds grades by {what}",
                         f"grade into another file with --out, or use --model {other.judge.split(':', 1)[-1]} to resume")


def todo(rationales: Sequence[Rationale], grades: Sequence[Grade]) -> list[Rationale]:
    """The rationales without a grade or an unreadable reply yet."""
    done = GRADES.answered(grades)
    return [r for r in rationales if r.key not in done]


async def ask(judge, rationales: Sequence[Rationale], sampling: Sampling, out: Path,
              on_grade: Callable[[Grade], None]) -> None:
    """Ask ``judge`` to grade ``rationales``; append each grade to ``out`` as its reply arrives (one write)."""
    with GRADES.appending(out) as append:
        async for reply in judge.replies([GradeRequest(r) for r in rationales], sampling):
            grade = grade_of_reply(reply, judge.name)
            append([grade])
            on_grade(grade)


def run_grading(judge, rationales: Sequence[Rationale], sampling: Sampling, out: Path,
                on_grade: Callable[[Grade], None]) -> None:
    asyncio.run(ask(judge, rationales, sampling, out, on_grade))


# --- summaries ------------------------------------------------------------------------------------


def quality(grades: Sequence[Grade]) -> dict:
    """What the grades of some rationales say: counts, the mean grade, the shares of right answers
    graded low and of wrong answers graded high, and the judge's agreement with correctness (a grade
    of :data:`HIGH` or more for a right answer, less for a wrong one) with its 95% Wilson interval."""
    from mixdistill_plugin.stats import wilson

    graded = [g for g in grades if g.status == GRADED]
    right = [g for g in graded if g.correct]
    wrong = [g for g in graded if not g.correct]
    agree = sum((g.grade >= HIGH) == g.correct for g in graded)
    low, high = wilson(agree, len(graded))
    return {
        "rationales": len(grades),
        "graded": len(graded),
        "unreadable": sum(g.status == UNREADABLE for g in grades),
        "request_errors": sum(g.status == REQUEST_ERROR for g in grades),
        "mean_grade": sum(g.grade for g in graded) / len(graded) if graded else None,
        "right": len(right),
        "right_low": sum(g.grade <= LOW for g in right),
        "wrong": len(wrong),
        "wrong_high": sum(g.grade >= HIGH for g in wrong),
        "agreement": agree / len(graded) if graded else None,
        "agreement_ci": [low, high] if graded else None,
    }


def summarize(grades: Sequence[Grade], expected: int) -> dict:
    """The summary written beside a grades file: overall and per (source, task, kind)."""
    lines = GRADES.latest(grades)
    groups: dict[tuple[str, str, str], list[Grade]] = {}
    for g in lines:
        groups.setdefault((g.source, g.task, g.kind), []).append(g)
    summary = {"judge": lines[0].judge if lines else None, "rubric": RUBRIC_ID, "low": LOW, "high": HIGH,
               "expected": expected, **quality(lines)}
    summary["complete"] = summary["graded"] + summary["unreadable"] >= expected
    summary["groups"] = [{"source": s, "task": t, "kind": k, **quality(gs)} for (s, t, k), gs in sorted(groups.items())]
    return summary


def _pct(part: int, whole: int) -> str:
    return "-" if not whole else f"{100 * part / whole:.1f}"


def _agreement(q: dict) -> str:
    if q["agreement"] is None:
        return "-"
    low, high = q["agreement_ci"]
    return f"{100 * q['agreement']:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


QUALITY_HEADER = (f"graded | unreadable | mean grade | right % | right, graded <= {LOW} % | "
                  f"wrong, graded >= {HIGH} % | judge agreement % [95% CI]")


def quality_cells(q: dict) -> str:
    mean = "-" if q["mean_grade"] is None else f"{q['mean_grade']:.2f}"
    return (f"{q['graded']} | {q['unreadable']} | {mean} | {_pct(q['right'], q['graded'])} | "
            f"{_pct(q['right_low'], q['right'])} | {_pct(q['wrong_high'], q['wrong'])} | {_agreement(q)}")


def summary_table(summary: dict) -> list[str]:
    """The summary as a markdown table, one row per (source, task, kind) and one for all."""
    lines = [f"| source | task | kind | {QUALITY_HEADER} |", "| --- | --- | --- |" + " ---: |" * 7]
    for g in summary["groups"]:
        lines.append(f"| {g['source']} | {g['task'] or '-'} | {g['kind']} | {quality_cells(g)} |")
    lines.append(f"| all | | | {quality_cells(summary)} |")
    return lines


# --- filtering teacher data -----------------------------------------------------------------------


def grades_by_completion(path: Path) -> dict[tuple[str, str, int], int | None]:
    """A teacher folder's grades by (question id, kind, sample) (``None``: the reply was unreadable)."""
    if not path.exists():
        raise InputError(path, None, None, "no grades here",
                         "grade the teacher folder first: mixdistill grade FOLDER --model ... --base-url ...")
    return {(g.id, g.kind, g.sample): g.grade for g in GRADES.latest(read_grades(path)[0])
            if g.file == "raw.jsonl" and g.status != REQUEST_ERROR}


def filter_teacher(files, executor, tolerance: float, max_per_question: int | None, min_grade: int,
                   grades_path: Path) -> dict:
    """Rebuild a teacher folder's ``train.jsonl`` from the completions that are right AND graded at
    least ``min_grade``; the stats, with ``filters``: how many each filter kept, per kind."""
    from mixdistill_plugin.generate import build_train, finish, read_questions, recheck

    grades = grades_by_completion(grades_path)
    config, completions = recheck(files, executor, tolerance)

    def graded_well(c) -> bool:
        grade = grades.get((c.id, c.kind, c.sample))
        return grade is not None and grade >= min_grade

    questions = read_questions(files.questions)
    right = build_train(questions, completions, max_per_question)
    graded = build_train(questions, completions, max_per_question, graded_well)
    kinds = list(config.samples)
    filters = {
        "min_grade": min_grade,
        "grades": str(grades_path),
        "right": {k: sum(t.kind == k for t in right) for k in kinds},
        "right_and_graded": {k: sum(t.kind == k for t in graded) for k in kinds},
        "right_ungraded": {k: sum(t.kind == k and grades.get((t.id, t.kind, t.sample)) is None for t in right)
                           for k in kinds},
    }
    return finish(files, config.samples, max_per_question, completions, questions=questions, keep=graded_well,
                  filters=filters)


# --- the report's section -------------------------------------------------------------------------


def _student_of(run: Path, grades_file: Path, g: Grade) -> str:
    """The student a student grade belongs to: the first folder under ``run/eval`` of its samples file."""
    try:
        return (grades_file.parent / g.file).resolve().relative_to((run / "eval").resolve()).parts[0]
    except (ValueError, IndexError):
        return g.source


def report_section(runs: Sequence[Path]) -> list[str]:
    """The report's rationale-quality section for ``runs`` (``make distill`` folders): the grades
    in ``RUN/teacher/grades.jsonl`` and in any ``grades.jsonl`` under ``RUN/eval``, per kind and per
    student, and what each teacher filter kept. Empty when no run has grades."""
    rows, filters = [], []
    for run in runs:
        files = [run / "teacher" / "grades.jsonl", *sorted((run / "eval").rglob("grades.jsonl"))]
        groups: dict[tuple[str, str], list[Grade]] = {}
        for path in files:
            if not path.exists():
                continue
            for g in GRADES.latest(read_grades(path)[0]):
                who = "teacher" if g.file == "raw.jsonl" else _student_of(run, path, g)
                groups.setdefault((who, g.kind), []).append(g)
        for (who, kind), gs in sorted(groups.items(), key=lambda item: (item[0][0] != "teacher", item[0])):
            rows.append(f"| {run.name} | {who} | {kind} | {gs[0].judge} | {quality_cells(quality(gs))} |")
        stats_file = run / "teacher" / "stats.json"
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        kept = stats.get("filters")
        if kept:
            for kind, k in stats["kinds"].items():
                filters.append(f"| {run.name} | {kind} | {k['completions']} | {kept['right'].get(kind, 0)} | "
                               f"{kept['min_grade']} | {kept['right_and_graded'].get(kind, 0)} | {kept['right_ungraded'].get(kind, 0)} |")
    if not rows and not filters:
        return []
    lines = ["## Rationale quality (judge grades)", "",
             f"Each rationale graded 1 to 5 by a judge model that is not told the gold answer (`mixdistill grade`). "
             f"right %: rationales with a right answer; then the share of right answers graded {LOW} or less, and "
             f"of wrong answers graded {HIGH} or more; judge agreement: a grade of {HIGH} or more for a right "
             f"answer, less for a wrong one, with its 95% Wilson interval.", ""]
    if rows:
        lines += [f"| run | rationales of | kind | judge | {QUALITY_HEADER} |",
                  "| --- | --- | --- | --- |" + " ---: |" * 7, *rows, ""]
    if filters:
        lines += ["Teacher data kept by each filter (`mixdistill filter --min-grade`):", "",
                  "| run | kind | completions | right answer | min grade | right and graded at least that "
                  "| right but not graded |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: |", *filters, ""]
    return lines
