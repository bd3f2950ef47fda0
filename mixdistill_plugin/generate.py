"""Teacher data: ask the teacher, verify every completion, record it, keep the correct ones.

An output folder holds:

- ``config.json``: the sampling parameters; a later run with other parameters is refused.
- ``questions.jsonl``: the questions asked (with gold answers), so the folder is self-contained.
- ``raw.jsonl``: every completion, appended as it arrives (one ``write`` per reply). A run that
  is killed loses at most the replies in flight; a torn last line is dropped on resume.
- ``train.jsonl``: the kept rationales (:class:`TrainRecord`), rebuilt atomically from
  ``raw.jsonl`` at the end of every run and by ``mixdistill filter``.
- ``stats.json``: yields, coverage, tokens, throughput.

Resuming asks only for the (question, kind, sample) triples that have no completion yet; samples
whose request failed (``outcome: request_error``) are asked again. A sample counts as answered
once it has a completion; a request error recorded before it is history, not a failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, fields as dataclass_fields, replace
from pathlib import Path
from typing import Callable, Sequence

from pydantic import BaseModel

from mixdistill_plugin.answers import answers_equal, cut_run_on
from mixdistill_plugin.contamination import Flag, HeldOut, describe, flags, test_sets, write_flags
from mixdistill_plugin.cost import Price
from mixdistill_plugin.data import FileFields
from mixdistill_plugin.errors import UserError
from mixdistill_plugin.executor import Executor
from mixdistill_plugin.jsonl import InputError, read_json, write_atomic, write_jsonl_atomic
from mixdistill_plugin.labels import DEFAULT_MIN_AGREEMENT, Labelling, TeacherLabel
from mixdistill_plugin.ledger import REQUEST_ERROR, Ledger, Outcome, request_failed
from mixdistill_plugin.records import Completion, Question, TrainRecord, load_records, validate_row
from mixdistill_plugin.scoring import read_answers
from mixdistill_plugin.prompts import (DEFAULT_STYLE, chat_messages, get_kind, get_style, prompt_text, style_kinds,
                                       wording)
from mixdistill_plugin.shards import in_shard
from mixdistill_plugin.tasks import load_questions
from mixdistill_plugin.teachers import Reply, Request, Sampling, Teacher, ask_to_the_end
from mixdistill_plugin.teachers.backends import TEACHERS, TeacherOptions, make_teacher

RAW = Ledger(Completion, key=lambda c: (c.id, c.kind, c.sample), failed=lambda c: request_failed(c.outcome),
             hint="The file is damaged at this line: remove the line and run again (that sample will be asked again)")


class RunConfig(BaseModel):
    """What decides the completions of a run; ``generate`` refuses to mix two of them in one folder."""

    dataset: str
    split: str
    teacher: str
    samples: dict[str, int]
    temperature: float
    max_tokens: int
    seed: int | None
    shots: int
    prompts: str
    shard: str | None = None  # "I/N": this folder asks shard I of N (mixdistill_plugin.shards)
    no_gold: bool = False  # the questions have no gold answers: the teacher's vote labels them (labels.py)


class ConfigConflict(UserError, RuntimeError):
    """A folder's run had other settings than the ones given now."""


class RunFiles:
    """The files of an output folder (see the module doc)."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.config = self.out / "config.json"
        self.questions = self.out / "questions.jsonl"
        self.raw = self.out / "raw.jsonl"
        self.train = self.out / "train.jsonl"
        self.stats = self.out / "stats.json"

    def read_config(self) -> RunConfig:
        """The folder's ``config.json``; an :class:`InputError` naming it when it is missing or damaged."""
        hint = ("It holds the settings of the folder's run: restore it, or write it anew by running that run's "
                "`mixdistill generate` command again (after removing a damaged one)")
        return validate_row(self.config, None, read_json(self.config, hint), RunConfig, hint)

    def previous_stats(self) -> dict:
        """``stats.json`` as the folder's last run wrote it (``{}`` when there is none or it cannot be read)."""
        try:
            stats = json.loads(self.stats.read_text())
        except (OSError, ValueError):
            return {}
        return stats if isinstance(stats, dict) else {}


def prompts_fingerprint(kinds: Sequence[str], shots: int, styles: Sequence[str] = ()) -> str:
    """A short hash of the prompt registry entries a run uses (instruction, label, exemplars, and the
    wording of each style other than the kinds' own)."""
    fields = ("name", "instruction", "label", "lead", "reader", "exemplars", "stop")
    parts = [repr([getattr(get_kind(k), f) for f in fields]) for k in sorted(kinds)] + [str(shots)]
    parts += [repr(wording(k, style)) for style in sorted(set(styles) - {DEFAULT_STYLE}) for k in sorted(kinds)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def open_run(files: RunFiles, config: RunConfig, questions: Sequence[Question]) -> list[Question]:
    """Check ``config`` against the folder's (refusing a change) and record it and the questions;
    every question the folder now holds (those of earlier runs too)."""
    files.out.mkdir(parents=True, exist_ok=True)
    if files.config.exists():
        before = files.read_config()
        changed = {k: (v, getattr(config, k)) for k, v in before.model_dump().items() if getattr(config, k) != v}
        if changed:
            what = "; ".join(f"{k} was {old!r}, now {new!r}" for k, (old, new) in changed.items())
            raise ConfigConflict(
                f"{files.config}: this folder holds a run with other sampling parameters ({what}). "
                "Use a new --out, or the same options to resume this run."
            )
    else:
        write_atomic(files.config, config.model_dump_json(indent=2) + "\n")
    known = {q.id: q for q in read_questions(files.questions)} if files.questions.exists() else {}
    known.update((q.id, q) for q in questions)
    write_jsonl_atomic(files.questions, (q.model_dump() for q in known.values()))
    return list(known.values())


def read_questions(path: Path) -> list[Question]:
    return load_records(path, Question)[0]


def read_raw(path: Path) -> tuple[list[Completion], bool]:
    """The completions in ``raw.jsonl``, leaving out a torn last line (``True`` if there was one)."""
    return RAW.read(path)


def plan(questions: Sequence[Question], samples: dict[str, int], done: Sequence[Completion]) -> list[Request]:
    """One request per (question, kind) that still lacks samples, for exactly the missing ones."""
    have = RAW.answered(done)
    requests = []
    for question in questions:
        for kind, n in samples.items():
            missing = tuple(s for s in range(n) if (question.id, kind, s) not in have)
            if missing:
                requests.append(Request(question, kind, missing))
    return requests


def completions_of(replies: Sequence[Reply], teacher: str, executor: Executor, tolerance: float) -> list[Completion]:
    """The ``raw.jsonl`` lines for ``replies``: one per requested sample, errors included.

    Answers are read a kind at a time, so a batch of programs goes to the executor together.
    """
    found: dict[int, list] = {}
    for kind in dict.fromkeys(r.request.kind for r in replies):
        mine = [i for i, r in enumerate(replies) if r.request.kind == kind]
        asked = [(t, replies[i].request.question.spec) for i in mine for t in replies[i].texts[: len(replies[i].request.samples)]]
        texts, specs = [t for t, _ in asked], [spec for _, spec in asked]
        answers = iter(read_answers(kind, texts, executor, specs) if texts else [])
        for i in mine:
            found[i] = [next(answers) for _ in replies[i].texts[: len(replies[i].request.samples)]]
    lines = []
    for i, reply in enumerate(replies):
        request, question = reply.request, reply.request.question
        texts = reply.texts[: len(request.samples)]
        share = len(texts) or 1
        lines += [
            Completion(id=question.id, kind=request.kind, sample=sample, text=text, answer=answer, outcome=outcome,
                       detail=detail, correct=answers_equal(answer, question.answer, tolerance), teacher=teacher,
                       latency=round(reply.latency, 4), prompt_tokens=reply.prompt_tokens // share,
                       completion_tokens=reply.completion_tokens // share)
            for sample, text, (answer, outcome, detail) in zip(request.samples, texts, found[i])
        ]
        error = reply.error or "fewer choices than requested"
        lines += [
            Completion(id=question.id, kind=request.kind, sample=sample, text="", answer=None, outcome=REQUEST_ERROR,
                       correct=False, teacher=teacher, latency=round(reply.latency, 4), error=error)
            for sample in request.samples[len(texts):]
        ]
    return lines


def normalise(text: str) -> str:
    return " ".join(text.split())


def rationale_of(completion: Completion) -> str:
    """What a kept completion teaches: its text as the answer was read from it, so a rationale that ran on
    into a next few-shot example (``\n\nQ: ...``, as recorded PaLM outputs do) is cut there; a program as is."""
    text = completion.text if get_kind(completion.kind).reader == "execute" else cut_run_on(completion.text)
    return text.strip()


def build_train(questions: Sequence[Question], completions: Sequence[Completion],
                max_per_question: int | None = None, keep: Callable[[Completion], bool] | None = None,
                labels: dict[str, TeacherLabel] | None = None) -> list[TrainRecord]:
    """Correct completions (that ``keep`` also keeps, when given), deduplicated per (question, kind),
    at most ``max_per_question`` each; ``labels``: the questions' answers are the teacher's."""
    by_id = {q.id: q for q in questions}
    order = {q.id: i for i, q in enumerate(questions)}
    kept: dict[tuple[str, str], list[tuple[Completion, str]]] = defaultdict(list)
    seen: set[tuple[str, str, str]] = set()
    for c in sorted(completions, key=lambda c: (order.get(c.id, len(order)), c.kind, c.sample)):
        if not c.correct or c.id not in by_id or (keep is not None and not keep(c)):
            continue
        rationale = rationale_of(c)
        key = (c.id, c.kind, normalise(rationale))
        if key in seen or (max_per_question is not None and len(kept[(c.id, c.kind)]) >= max_per_question):
            continue
        seen.add(key)
        kept[(c.id, c.kind)].append((c, rationale))
    return [
        TrainRecord(id=c.id, question=by_id[c.id].question, answer=by_id[c.id].answer, kind=c.kind,
                    rationale=rationale, teacher=c.teacher, source=by_id[c.id].source, sample=c.sample,
                    style=by_id[c.id].style,
                    **({"label": "teacher", "agreement": round(labels[c.id].agreement, 4)} if labels else {}))
        for group in kept.values() for c, rationale in group
    ]


def counted(completions: Sequence[Completion], samples: dict[str, int]) -> list[Completion]:
    """Each sample's latest completion, of the samples a run with ``samples`` asks for."""
    return [c for c in RAW.latest(completions) if c.sample < samples.get(c.kind, 0)]


def compute_stats(questions: Sequence[Question], completions: Sequence[Completion], train: Sequence[TrainRecord],
                  samples: dict[str, int], run: dict | None = None) -> dict:
    """Yield (correct / completions) and coverage (questions with a correct one) per kind; whether
    every sample asked for has a completion (``complete``) and how many do not yet (``missing``)."""
    ids = {q.id for q in questions}
    current = [c for c in counted(completions, samples) if c.id in ids]
    stats: dict = {"questions": len(ids), "samples": len(ids) * sum(samples.values()), "completions": 0,
                   "request_errors": 0, "kinds": {}}
    for kind, n in samples.items():
        mine = [c for c in current if c.kind == kind]
        answered = [c for c in mine if not request_failed(c.outcome)]
        correct = [c for c in answered if c.correct]
        covered = {c.id for c in correct}
        stats["kinds"][kind] = {
            "samples": len(ids) * n,
            "completions": len(answered),
            "missing": len(ids) * n - len(answered),
            "correct": len(correct),
            "yield": len(correct) / len(answered) if answered else None,
            "kept": sum(1 for t in train if t.kind == kind),
            "coverage": len(covered) / len(ids) if ids else None,
            "outcomes": dict(sorted(Counter(c.outcome for c in mine).items())),
            "prompt_tokens": sum(c.prompt_tokens for c in completions if c.kind == kind),
            "completion_tokens": sum(c.completion_tokens for c in completions if c.kind == kind),
        }
        stats["completions"] += len(answered)
        stats["request_errors"] += len(mine) - len(answered)
    stats["missing"] = stats["samples"] - stats["completions"]
    stats["complete"] = stats["missing"] == 0
    errors = Counter(c.error for c in current if request_failed(c.outcome))
    stats["errors"] = dict(errors.most_common())
    any_kind = {t.id for t in train}
    stats["coverage_any"] = len(any_kind) / len(ids) if ids else None
    stats["kept"] = len(train)
    stats["prompt_tokens"] = sum(c.prompt_tokens for c in completions)
    stats["completion_tokens"] = sum(c.completion_tokens for c in completions)
    if run is not None:
        stats["run"] = run
    return stats


def finish(files: RunFiles, samples: dict[str, int], max_per_question: int | None,
           completions: Sequence[Completion] | None = None, run: dict | None = None,
           questions: Sequence[Question] | None = None, keep: Callable[[Completion], bool] | None = None,
           filters: dict | None = None, labelling: Labelling | None = None, price: Price | None = None) -> dict:
    """Rebuild ``train.jsonl`` and ``stats.json`` from the folder (atomically), or from the
    ``completions`` and ``questions`` it holds when given; the stats. ``keep``: a further filter
    of the correct completions; ``filters``: what each filter kept, recorded in the stats;
    ``labelling``: the questions have no gold answers, the teacher's vote labels them; ``price``: the
    stats say what the folder's tokens cost (else the cost a previous run recorded is kept, re-priced)."""
    if questions is None:
        questions = read_questions(files.questions)
    if completions is None:
        completions = read_raw(files.raw)[0]
    labels = None
    if labelling is not None:
        questions, completions, labels = labelling.apply(questions, completions, counted(completions, samples))
    train = build_train(questions, completions, max_per_question, keep, labels)
    write_jsonl_atomic(files.train, (t.model_dump() for t in train))
    stats = compute_stats(questions, completions, train, samples, run)
    if labelling is not None:
        stats["labels"] = labelling.stats(questions, labels)
    if price is None:
        price = recorded_price(files)
    if price is not None:
        stats["cost"] = price.section(stats)
    if filters is not None:
        stats["filters"] = filters
    write_atomic(files.stats, json.dumps(stats, indent=2) + "\n")
    return stats


async def ask(teacher: Teacher, requests: Sequence[Request], sampling: Sampling, files: RunFiles,
              executor: Executor, tolerance: float, on_reply: Callable[[Reply, list[Completion]], None]) -> None:
    """Send ``requests``; verify the replies and append their completions to ``raw.jsonl`` as they arrive.

    Replies that arrive while a batch is being verified form the next batch, verified together
    and appended in one write. A batch with programs is verified in a thread (they run in the
    executor's processes) so that the event loop goes on sending and receiving meanwhile.
    """
    arrived: asyncio.Queue = asyncio.Queue()
    end = object()

    async def receive() -> None:
        try:
            async for reply in teacher.replies(requests, sampling):
                arrived.put_nowait(reply)
        except BaseException as exc:  # noqa: BLE001 - raised again below, in order after the replies before it
            arrived.put_nowait(exc)
            raise
        arrived.put_nowait(end)

    receiver = asyncio.create_task(receive())
    try:
        with RAW.appending(files.raw) as append:
            while True:
                batch = [await arrived.get()]
                while not arrived.empty():
                    batch.append(arrived.get_nowait())
                stop = next((item for item in batch if not isinstance(item, Reply)), None)
                replies = [item for item in batch if isinstance(item, Reply)]
                if replies:
                    if any(get_kind(r.request.kind).reader == "execute" for r in replies):
                        lines = await asyncio.to_thread(completions_of, replies, teacher.name, executor, tolerance)
                    else:  # reading answers out of text takes microseconds: no thread to hand the GIL to
                        lines = completions_of(replies, teacher.name, executor, tolerance)
                    append(lines)
                    by_reply = iter(lines)
                    for reply in replies:
                        on_reply(reply, [next(by_reply) for _ in reply.request.samples])
                if stop is end:
                    return
                if stop is not None:
                    raise stop
    finally:
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)


def applicable(samples: dict[str, int], questions: Sequence[Question]) -> tuple[dict[str, int], dict[str, str]]:
    """``samples`` without the kinds that apply to none of ``questions`` (PoT to label answers), and
    each kind left out with the problems it does not apply to."""
    styles = {q.style for q in questions}
    kept = {k: n for k, n in samples.items() if any(k in style_kinds(style) for style in styles)}
    problems = " or ".join(sorted(get_style(style).problem + "s" for style in styles))
    return kept, {kind: problems for kind in samples if kind not in kept}


def grade_filter(files: RunFiles) -> dict | None:
    """The grade filter ``mixdistill filter --min-grade`` last applied to the folder's ``train.jsonl``."""
    filters = files.previous_stats().get("filters")
    return filters if isinstance(filters, dict) and "min_grade" in filters else None


@dataclass
class Progress:
    """A run's counts as replies arrive: per kind ``[correct, answered]``, replies, completions,
    failed requests; ``asking``: when the first request went out, ``last``: when the last reply came."""

    kinds: dict[str, list[int]]
    replies: int = 0
    completions: int = 0
    failed: int = 0
    asking: float = 0.0
    last: float | None = None

    def add(self, lines: Sequence[Completion]) -> None:
        self.replies += 1
        self.last = time.monotonic()
        for line in lines:
            if request_failed(line.outcome):
                self.failed += 1
            else:
                self.kinds[line.kind][0] += line.correct
                self.kinds[line.kind][1] += 1
                self.completions += 1


@dataclass
class Hooks:
    """What a run tells its caller: ``notice(message)`` of what it leaves out or changes;
    ``start(teacher's name, samples to ask, whether a torn line was dropped)``, then
    ``reply(progress, lines)`` after each reply is recorded."""

    start: Callable[[str, int, bool], None] = lambda teacher, total, torn: None
    reply: Callable[[Progress, int], None] = lambda progress, lines: None
    notice: Callable[[str], None] = lambda message: None


@dataclass(frozen=True)
class GenerateSettings:
    """What ``mixdistill generate`` is told, each field named as its option: the questions
    (``dataset`` ... ``min_agreement``), the teacher (``teacher`` ... ``batch_size``, the fields of
    :class:`TeacherOptions`), the sampling, the filter (``max_per_question``, ``tolerance``,
    ``timeout``) and the folder."""

    dataset: str
    split: str | None
    limit: int | None
    decontaminate: tuple[str, ...]
    shard: str | None
    data_dir: Path | None
    fields: FileFields
    no_gold: bool
    min_agreement: float | None  # None: DEFAULT_MIN_AGREEMENT
    teacher: str
    model: str | None
    recordings: tuple[Path, ...]
    base_url: tuple[str, ...]
    concurrency: int
    retries: int
    request_timeout: float
    give_up_after: float
    tokenizer: str | None
    price: Price | None
    batch_size: int
    samples: dict[str, int]
    temperature: float
    max_tokens: int
    seed: int | None
    shots: int
    max_per_question: int | None
    tolerance: float
    timeout: float
    out: Path

    def teacher_options(self) -> TeacherOptions:
        return TeacherOptions(**{f.name: getattr(self, f.name) for f in dataclass_fields(TeacherOptions)})


@dataclass
class Stage:
    """A run made ready from its settings: the questions to ask, the teacher, the samples asked of
    each kind, the run's config and folder, and the questions flagged by ``--decontaminate``."""

    questions: list[Question]
    teacher: Teacher
    samples: dict[str, int]
    config: RunConfig
    files: RunFiles
    flagged: list[Flag] | None


def prepare(settings: GenerateSettings, notice: Callable[[str], None]) -> Stage:
    """Load the questions (their shard, without the contaminated ones), make the teacher, and settle
    the samples to ask for (the kinds that apply, within what the teacher has)."""
    asked_fields = settings.fields  # --decontaminate's test sets are read as files with answers, whatever --no-gold says
    if settings.no_gold:
        asked_fields = replace(settings.fields, no_gold=True)
        if sum(settings.samples.values()) < 2:
            notice("--no-gold: one sample per question always agrees with itself; ask for more to filter by agreement")
    questions, skipped = load_questions(settings.dataset, settings.split, data_dir=settings.data_dir,
                                        limit=settings.limit, fields=asked_fields)
    if settings.shard:
        questions = in_shard(questions, settings.shard)
    flagged = None
    if settings.decontaminate:
        flagged = flags(questions, HeldOut(test_sets(settings.decontaminate, settings.data_dir, settings.fields)))
        notice(f"decontaminated: {describe(flagged, len(questions))}, not asked")
        dropped = {f.id for f in flagged}
        questions = [q for q in questions if q.id not in dropped]
    teacher = make_teacher(settings.teacher, settings.teacher_options())
    for error in skipped:
        notice(f"skipped {error}")
    samples, left_out = applicable(settings.samples, questions)
    for kind, problems in left_out.items():
        notice(f"{kind}: does not apply to {problems}; not asked")
    if not samples:
        raise UserError(f"nothing to ask: none of {', '.join(left_out)} applies to these questions")
    samples = capped(samples, settings.teacher, teacher, notice)
    styles = sorted({q.style for q in questions})
    config = RunConfig(dataset=settings.dataset, split=settings.split, teacher=teacher.name, samples=samples,
                       temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed,
                       shots=settings.shots, prompts=prompts_fingerprint(list(samples), settings.shots, styles),
                       shard=settings.shard, no_gold=settings.no_gold)
    return Stage(questions, teacher, samples, config, RunFiles(settings.out), flagged)


def capped(samples: dict[str, int], name: str, teacher: Teacher, notice: Callable[[str], None]) -> dict[str, int]:
    """``samples`` within what a teacher with a limited number of completions has (said by ``notice``);
    a kind it has none of is refused by name."""
    most = getattr(teacher, "most_samples", None)
    if most is None:
        return samples
    missing = [kind for kind in samples if most(kind) == 0]
    if missing:
        raise UserError(f"--teacher {name} has no {' or '.join(missing)} completions for these questions; "
                        + " ".join(f"pass --{kind}-samples 0" for kind in missing))
    for kind, n in samples.items():
        if n > most(kind):
            notice(f"{name} teacher: at most {most(kind)} {kind} completion(s) per question; asking for "
                   f"{most(kind)}, not {n}")
    return {kind: min(n, most(kind)) for kind, n in samples.items()}


@dataclass(frozen=True)
class DryRun:
    """What a run would send: the first prompt of each kind (kind, question id, the prompt: chat
    messages, or text where ``chat`` is false), the requests and completions, the questions, and the
    completions already in the folder's ``raw``."""

    prompts: list[tuple[str, str, list[dict[str, str]] | str]]
    chat: bool
    requests: int
    completions: int
    questions: int
    done: int
    raw: Path


def dry_run(settings: GenerateSettings, notice: Callable[[str], None] = lambda message: None) -> DryRun:
    """What :func:`run` would ask for with ``settings``, sending nothing and writing nothing."""
    stage = prepare(settings, notice)
    done = read_raw(stage.files.raw)[0] if stage.files.raw.exists() else []
    requests = plan(stage.questions, stage.samples, done)
    chat = TEACHERS.get(settings.teacher).chat
    prompts = []
    for kind in stage.samples:
        first = next((r for r in requests if r.kind == kind), None)
        if first is not None:
            question, style = first.question.question, first.question.style
            prompts.append((kind, first.question.id, chat_messages(kind, question, style=style, shots=settings.shots)
                            if chat else prompt_text(kind, question, style=style, shots=settings.shots)))
    return DryRun(prompts, chat, len(requests), sum(len(r.samples) for r in requests), len(stage.questions),
                  len(done), stage.files.raw)


@dataclass
class Generated:
    """How a run ended (:class:`Outcome`: its summary is the folder's stats), its folder, and the grade
    filter its ``train.jsonl`` was built with before (now rebuilt from correctness alone)."""

    outcome: Outcome
    files: RunFiles
    grade_filter: dict | None = None


def run(settings: GenerateSettings, hooks: Hooks = Hooks()) -> Generated:
    """The teacher stage: :func:`prepare` the run, write the flags of ``--decontaminate`` to the folder,
    record the config and the questions in the folder (refusing other settings), ask for every sample
    still missing, verify and append each reply, rebuild ``train.jsonl`` and ``stats.json``."""
    started = time.monotonic()
    stage = prepare(settings, hooks.notice)
    files = stage.files
    if stage.flagged is not None:
        files.out.mkdir(parents=True, exist_ok=True)
        write_flags(files.out / "contamination.jsonl", stage.flagged)
    if hasattr(stage.teacher, "notice"):
        stage.teacher.notice = hooks.notice
    graded = grade_filter(files)
    # The executor's processes get ready in the background while the teacher connects.
    executor = Executor(timeout=settings.timeout)
    if any(get_kind(kind).reader == "execute" for kind in stage.samples):
        executor.start()
    with executor:
        return Generated(ask_teacher(stage, settings, executor, started, hooks), files, graded)


def ask_teacher(stage: Stage, settings: GenerateSettings, executor: Executor, started: float, hooks: Hooks) -> Outcome:
    """Ask ``stage``'s teacher for what its folder lacks, recording each reply; rebuild the outputs
    however the asking ends. ``started``: when the run started (for its timings)."""
    config, files, teacher = stage.config, stage.files, stage.teacher
    held = open_run(files, config, stage.questions)
    done, torn = read_raw(files.raw)
    requests = plan(stage.questions, config.samples, done)
    hooks.start(teacher.name, sum(len(r.samples) for r in requests), torn)
    sampling = Sampling(temperature=config.temperature, max_tokens=config.max_tokens, seed=config.seed,
                        shots=config.shots)
    progress = Progress({k: [0, 0] for k in config.samples})
    recorded = list(done)

    def on_reply(reply: Reply, lines: list[Completion]) -> None:
        recorded.extend(lines)
        progress.add(lines)
        hooks.reply(progress, len(lines))

    min_agreement = DEFAULT_MIN_AGREEMENT if settings.min_agreement is None else settings.min_agreement
    labelling = Labelling(min_agreement, settings.tolerance) if config.no_gold else None
    progress.asking = time.monotonic()
    return ask_to_the_end(
        ask(teacher, requests, sampling, files, executor, settings.tolerance, on_reply),
        lambda: finish(files, config.samples, settings.max_per_question, recorded,
                       run=run_stats(teacher, progress, started), questions=held, labelling=labelling,
                       price=settings.price))


def run_stats(teacher: Teacher, progress: Progress, started: float) -> dict:
    """A run's figures: ``wall_seconds`` from the start of the command until the asking ended (the
    outputs are rebuilt after), ``startup_seconds`` until the first request went out,
    ``requests_per_second`` while asking (``asking_seconds``: first request sent to last reply);
    ``replicas``: each replica's requests and connection failures, where there are several."""
    now = time.monotonic()
    counts = getattr(teacher, "counts", {})
    requests = counts.get("requests", progress.replies)
    first = getattr(teacher, "first_sent", None) or progress.asking
    asking = (progress.last or now) - first if progress.replies else 0.0
    figures = {"requests": requests, "retries": counts.get("retries", 0), "completions": progress.completions,
               "failed": progress.failed, "wall_seconds": round(now - started, 3),
               "startup_seconds": round(first - started, 3), "asking_seconds": round(asking, 3),
               "requests_per_second": round(requests / asking, 3) if asking > 0 else None,
               "completions_per_second": round(progress.completions / asking, 3) if asking > 0 else None}
    if hasattr(teacher, "one_per_request"):
        figures["samples_per_request"] = "one (the server ignores n)" if teacher.one_per_request else "n"
    if len(getattr(teacher, "replicas", ())) > 1:
        figures["replicas"] = teacher.replica_counts()
    if counts.get("no_usage"):  # the server sent no token counts: counted with --tokenizer, or not at all
        figures["replies_without_usage"] = counts["no_usage"]
        figures["tokens_counted_locally"] = counts["counted_locally"]
    return figures


def refilter(files: RunFiles, executor: Executor, tolerance: float, max_per_question: int | None) -> dict:
    """Verify every recorded completion again (tolerance, executor) and rebuild the outputs."""
    config, rechecked = recheck(files, executor, tolerance)
    return finish(files, config.samples, max_per_question, rechecked, labelling=labelling_of(files, config, tolerance))


def recorded_price(files: RunFiles) -> Price | None:
    """The price the folder's last run was costed at (``stats.json``), if any."""
    try:
        prices = files.previous_stats()["cost"]["per_million_tokens"]
        return Price(float(prices["prompt"]), float(prices["completion"]))
    except (ValueError, KeyError, TypeError):
        return None


def labelling_of(files: RunFiles, config: RunConfig, tolerance: float) -> Labelling | None:
    """How a folder without gold answers is labelled when its outputs are rebuilt: the threshold its
    last run used (``stats.json``); ``None`` for a folder with gold answers."""
    if not config.no_gold:
        return None
    try:
        before = float(files.previous_stats()["labels"]["min_agreement"])
    except (ValueError, KeyError, TypeError):
        before = DEFAULT_MIN_AGREEMENT
    return Labelling(before, tolerance)


def recheck(files: RunFiles, executor: Executor, tolerance: float) -> tuple[RunConfig, list[Completion]]:
    """The folder's config and its completions verified again (answers re-read, programs re-run)."""
    if not files.raw.exists() or not files.questions.exists():
        raise InputError(files.out, None, None, "no raw.jsonl/questions.jsonl here; run `mixdistill generate --out` first")
    config = files.read_config()
    asked = {q.id: q for q in read_questions(files.questions)}
    completions, _ = read_raw(files.raw)
    rechecked = [c for c in completions if request_failed(c.outcome)]  # still missing, still asked again
    for kind in config.samples:
        mine = [c for c in completions if c.kind == kind and not request_failed(c.outcome) and c.id in asked]
        read = read_answers(kind, [c.text for c in mine], executor, [asked[c.id].spec for c in mine])
        for c, (answer, outcome, detail) in zip(mine, read):
            correct = answers_equal(answer, asked[c.id].answer, tolerance)
            rechecked.append(c.model_copy(update=dict(answer=answer, outcome=outcome, detail=detail, correct=correct)))
    return config, rechecked
