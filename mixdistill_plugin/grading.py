"""Rationale quality: a judge model grades CoT rationales, PoT programs and Socratic decompositions.

Accuracy says whether an answer is right, not whether the reasoning that led to it is. A judge
(any OpenAI-compatible server, through the request loop ``generate`` uses, or a local HF model)
reads the problem and one rationale, without the gold answer, and grades it by the rubric of
:mod:`mixdistill_plugin.rubric`: are the steps correct, does the final answer follow from them, is
anything irrelevant or missing; a score from 1 to 5 and short reasons, as JSON. A reply the rubric's
reader cannot read is recorded as ``unreadable`` with the reply, never guessed.

Inputs: a teacher folder (its ``raw.jsonl``) or a folder of student samples (``samples_*.jsonl``
written by lm-eval's ``--log_samples`` or ``mixdistill socratic``). Output: ``grades.jsonl``, one
:class:`Grade` per rationale, appended as replies arrive (resumable like ``generate``: done
rationales are skipped, failed requests asked again, a torn last line dropped) and a summary
(``grades_stats.json``) with the judge's agreement with the answers' correctness. :func:`run` is
the whole stage; ``mixdistill grade`` parses options and prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from mixdistill_plugin.answers import answers_equal
from mixdistill_plugin.evallog import latest_samples, read_samples
from mixdistill_plugin.jsonl import InputError
from mixdistill_plugin.jsonl import write_atomic
from mixdistill_plugin.ledger import REQUEST_ERROR, Ledger, Outcome, request_failed
from mixdistill_plugin.prompts import DEFAULT_STYLE
from mixdistill_plugin.rubric import HIGH, KINDS, LOW, RUBRIC_ID, read_grade
from mixdistill_plugin.teachers import Reply, Sampling, ask_to_the_end

GRADED = "graded"
UNREADABLE = "unreadable"


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


GRADES = Ledger(Grade, key=lambda g: g.key, failed=lambda g: request_failed(g.status),
                hint="The file is damaged at this line: remove the line and run mixdistill grade again (it is graded again)")


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
    """The lines of a grades file, leaving out a torn last line (``True`` if there was one)."""
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


def run(judge, rationales: Sequence[Rationale], sampling: Sampling, out: Path, *,
        start: Callable[[str, int, bool], None] = lambda judge, total, torn: None,
        on_grade: Callable[[Grade], None] = lambda grade: None) -> Outcome:
    """The grading stage: grade the ``rationales`` that ``out`` has no grade for yet (a file of
    another judge or rubric is refused), appending each grade as it arrives; write the summary
    beside ``out``. ``start(the judge's name, rationales to grade, whether a torn line was dropped)``
    is called first."""
    grades, torn = read_grades(out)
    check_judge(out, grades, judge.name)
    wanted = todo(rationales, grades)
    start(judge.name, len(wanted), torn)
    keys = {r.key for r in rationales}

    def summary() -> dict:
        found = summarize([g for g in read_grades(out)[0] if g.key in keys], len(rationales))
        write_atomic(stats_path(out), json.dumps(found, indent=2) + "\n")
        return found

    return ask_to_the_end(ask(judge, wanted, sampling, out, on_grade), summary)


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
        "request_errors": sum(map(GRADES.failed, grades)),
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
            if g.file == "raw.jsonl" and not GRADES.failed(g)}


def filter_teacher(files, executor, tolerance: float, max_per_question: int | None, min_grade: int,
                   grades_path: Path) -> dict:
    """Rebuild a teacher folder's ``train.jsonl`` from the completions that are right AND graded at
    least ``min_grade``; the stats, with ``filters``: how many each filter kept, per kind."""
    from mixdistill_plugin.generate import build_train, counted, finish, labelling_of, read_questions, recheck

    grades = grades_by_completion(grades_path)
    config, completions = recheck(files, executor, tolerance)

    def graded_well(c) -> bool:
        grade = grades.get((c.id, c.kind, c.sample))
        return grade is not None and grade >= min_grade

    questions = read_questions(files.questions)
    labelling = labelling_of(files, config, tolerance)
    labelled, checked, labels = (labelling.apply(questions, completions, counted(completions, config.samples)) if labelling
                                 else (questions, completions, None))
    right = build_train(labelled, checked, max_per_question, labels=labels)
    graded = build_train(labelled, checked, max_per_question, graded_well, labels)
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
                  filters=filters, labelling=labelling)
