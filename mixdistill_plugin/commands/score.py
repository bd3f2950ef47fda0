"""``mixdistill score``: accuracy and majority votes for predictions produced anywhere."""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Real
from pathlib import Path

import click

from mixdistill_plugin.answers import format_answer
from mixdistill_plugin.commands.options import timeout_option, tolerance_option, vote_option

FIX = "Fix the line, or pass --skip-invalid to leave it out"


@click.command()
@click.argument("predictions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--details", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one JSON line per item: answers, program outcomes, votes, correctness.")
@timeout_option
@tolerance_option
@click.option("--skip-invalid", is_flag=True, help="Skip malformed lines (and say how many) instead of stopping.")
@click.option("--workers", type=click.IntRange(min=1), help="Executor processes [default: one per core].")
@click.option("--choices", metavar="A,B,...", help="The label set of lines without a \"choices\" list, e.g. "
              "entailment,neutral,contradiction.")
@click.option("--dataset", metavar="NAME", help="Take the label set of lines without a \"choices\" list from this "
              "dataset of `mixdistill tasks` (esnli, anli: the NLI labels; strategyqa: yes, no).")
@vote_option("How mixed_maj pools CoT and PoT paths")
def score(predictions: Path, as_json: bool, details: Path | None, timeout: float, tolerance: float,
          skip_invalid: bool, workers: int | None, choices: str | None, dataset: str | None, vote) -> None:
    """Score PREDICTIONS, a JSONL file of {"id", "answer", "cot": [...], "pot": [...]} lines.

    "answer" is the gold answer: a number (or a string that reads as one), true/false (a yes/no
    question), or a label, one of the line's "choices" (a list of strings; --choices for lines
    without one), read in model text as the choice's text or its letter "(b)". "cot" holds
    chain-of-thought texts, "pot" Python programs (run in the sandboxed executor). Either list may
    be absent. Reports single-path accuracy (first path)
    and majority-vote accuracy for CoT, PoT and both pooled ("mixed", by --vote), in percent. The other
    recipes' outputs are scored the same way when present: "predict" (direct answers,
    predict_acc/predict_maj) and "socratic" (decompositions, socratic_acc/socratic_maj).

    A bad line (not UTF-8 or JSON, no or a duplicate id, a gold answer that is not a finite
    number, a label without choices or not among them, a field of the wrong type) stops with FILE:LINE and exit code 2, as does a file with
    nothing to score; --skip-invalid skips bad lines and lists them on stderr.
    """
    from mixdistill_plugin.executor import Executor

    labels = [c.strip() for c in choices.split(",") if c.strip()] if choices else _label_set(dataset)
    with Executor(timeout=timeout, workers=workers).start() as executor:  # workers warm up meanwhile
        _score(predictions, as_json, details, tolerance, skip_invalid, executor, vote, labels)


def _label_set(dataset: str | None) -> list[str] | None:
    """The label set ``--dataset`` gives lines without choices (``None``: none)."""
    if dataset is None:
        return None
    from mixdistill_plugin.errors import UserError
    from mixdistill_plugin.tasks import get_task, is_task, task_names

    if not is_task(dataset):
        raise UserError(f"--dataset: unknown dataset {dataset!r}; known: {', '.join(task_names())}")
    return list(get_task(dataset).label_set) or None


def _score(predictions: Path, as_json: bool, details: Path | None, tolerance: float, skip_invalid: bool,
           executor, vote=None, choices: list[str] | None = None) -> None:
    from mixdistill_plugin.errors import UserError
    from mixdistill_plugin.jsonl import json_line, write_jsonl_atomic
    from mixdistill_plugin.prompts import scored_kinds
    from mixdistill_plugin.predictions import load_predictions
    from mixdistill_plugin.scoring import METRICS, MIXED, metrics_of, score_answers, summarize

    name = click.format_filename(predictions)
    items, errors = load_predictions(predictions, scored_kinds(), skip_invalid=skip_invalid, choices=choices,
                                     hint="" if skip_invalid else FIX)
    for error in errors:
        click.echo(f"skipped {error}", err=True)
    skipped = len(errors)
    if skipped:
        click.echo(f"{name}: skipped {skipped} invalid line{'s' * (skipped != 1)}, "
                   f"scoring the other {len(items)}", err=True)
    if not items:
        raise UserError(_nothing_to_score(predictions, name, skipped))
    items = _programs_on_numbers(items, name)
    others = [k for k in scored_kinds() if k not in MIXED and any(item.texts(k) for item in items)]
    kinds = [*MIXED, *others]
    read = {kind: _read(kind, [item.texts(kind) for item in items], [item.answer_type for item in items], executor)
            for kind in kinds}
    scores = [score_answers(item.answer, {kind: [r["answer"] for r in read[kind][i]] for kind in kinds}, tolerance, vote)
              for i, item in enumerate(items)]
    metrics = [*METRICS, *(metric for kind in others for metric in metrics_of([kind]))]
    summary = summarize(scores, metrics)
    unwritten = None
    if details:
        try:
            write_jsonl_atomic(details, (_detail(item, s, {k: read[k][i] for k in kinds}, metrics)
                                         for i, (item, s) in enumerate(zip(items, scores))))
        except OSError as exc:  # the scores are still printed below
            unwritten = f"{click.format_filename(details)}: cannot write the details ({exc.strerror or exc})"
    if as_json:
        click.echo(json_line(summary | ({"skipped": skipped} if skip_invalid else {})))
    else:
        click.echo(f"{name}: {summary['n']} items" + (f", {skipped} invalid lines skipped" if skipped else ""))
        for metric in metrics:
            value = summary[metric]
            click.echo(f"  {metric:<10} {'-' if value is None else f'{value:6.2f}'}")
    if unwritten:
        raise click.ClickException(unwritten)


def _programs_on_numbers(items: list, name: str) -> list:
    """``items`` without the programs (PoT paths) of lines whose gold answer is a label: a program answers
    with a number, so PoT does not apply there; how many lines had some is said on stderr."""
    from mixdistill_plugin.prompts import get_kind, scored_kinds

    executed = [kind for kind in scored_kinds() if get_kind(kind).reader == "execute"]
    dropped = [item for item in items if isinstance(item.answer, str) and any(item.texts(k) for k in executed)]
    if dropped:
        click.echo(f"{name}: the {', '.join(executed)} paths of {len(dropped)} label line{'s' * (len(dropped) != 1)} "
                   "are not scored: a program answers with a number, never a label", err=True)
    return [replace(item, paths={k: v for k, v in item.paths.items() if k not in executed})
            if isinstance(item.answer, str) else item for item in items]


def _nothing_to_score(path: Path, name: str, skipped: int) -> str:
    if skipped:
        why = f"all {skipped} of its lines are invalid (listed above). Fix them and run again"
    else:
        why = "the file is empty" if path.stat().st_size == 0 else "the file has only blank lines"
        why += '. Write one JSON object per line: {"id": ..., "answer": <gold>, "cot": [...], "pot": [...]}'
    return f"{name}: nothing to score: {why}"


def _number(value: object) -> float | None:
    """A finite number as a float; anything else (``NaN``, a string...) is no answer."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _outcome(outcome) -> dict:
    """An executor ``Outcome`` as plain JSON values (its texts may hold anything, even lone surrogates)."""
    def text(value: object) -> str:
        return "" if value is None else value if isinstance(value, str) else str(value)

    return {"status": text(getattr(outcome, "status", "")), "answer": _number(getattr(outcome, "answer", None)),
            "detail": text(getattr(outcome, "detail", "")), "output": text(getattr(outcome, "output", ""))}


def _read(kind: str, texts: list[list[str]], specs: list, executor) -> list[list[dict]]:
    """Each item's paths of ``kind`` read (programs run, all items in one batch; texts by the item's answer
    type, ``specs``): ``{"answer", ...}`` each; a program's ``status``, ``detail`` and ``output``, a
    text's ``shown`` answer."""
    from mixdistill_plugin.prompts import get_kind
    from mixdistill_plugin.scoring import read_answers

    flat = [text for paths in texts for text in paths]
    if get_kind(kind).reader == "execute":
        found = iter([_outcome(o) for o in executor.run(flat)])
    else:
        types = [spec for spec, paths in zip(specs, texts) for _ in paths]
        found = iter([{"answer": a, "shown": format_answer(a)} for a, _, _ in read_answers(kind, flat, executor, types)])
    return [[next(found) for _ in paths] for paths in texts]


def _detail(item, score, read: dict[str, list[dict]], metrics) -> dict:
    votes = {kind: score.vote(kind) for kind in [*read, "mixed"]}
    return {
        "id": item.id,
        "gold": item.answer,
        **read,
        "votes": {kind: {"answer": v.answer, "votes": v.votes, "valid": v.valid, "agreement": v.agreement}
                  for kind, v in votes.items()},
        "correct": {metric: score.correct(metric) for metric in metrics},
    }
