"""``mixdistill generate`` and ``mixdistill filter``: verified teacher data."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mixdistill_plugin.commands.options import (LazyHelp, SampledCommand, data_dir_option, dataset_names, field_options,
                                                 server_options, teacher_option, timeout_option, tolerance_option)
from mixdistill_plugin.commands.progress import Bar, end


def _price(ctx: click.Context, param: click.Parameter, value: str | None):
    from mixdistill_plugin.cost import Price

    try:
        return None if value is None else Price.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _model_help() -> str:
    from mixdistill_plugin.teachers.backends import TEACHERS

    needing = [name for name in TEACHERS.names() if TEACHERS.get(name).needs_model]
    return f"The teacher's model ({', '.join(needing)}): a served model's name, or a local model's path."


def _filter_options(f):
    f = click.option("--max-per-question", type=click.IntRange(min=1),
                     help="Keep at most K distinct correct rationales per question and kind.")(f)
    return timeout_option(tolerance_option(f))


@click.command(cls=SampledCommand, samples_after="batch_size")
@click.option("--dataset", default="svamp", show_default=True, cls=LazyHelp,
              help_from=lambda: f"A dataset of `mixdistill tasks` ({dataset_names()}), or a .jsonl/.json/.csv/.parquet "
                                "file of your own questions.")
@click.option("--split", default="train", show_default=True,
              help="A split of the dataset (`mixdistill tasks` lists them; e-SNLI ships validation and test).")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N questions.")
@click.option("--decontaminate", multiple=True, metavar="DATASET:SPLIT|FILE",
              help="Drop the questions that overlap this test set before asking (repeatable; see `mixdistill "
                   "contamination`); the flags go to OUT/contamination.jsonl.")
@click.option("--shard", metavar="I/N", help="Ask only shard I of N (0-based) of the questions, by a hash of their "
              "ids; merge the shards' folders with `mixdistill merge`.")
@data_dir_option
@field_options
@click.option("--no-gold", is_flag=True,
              help="The questions have no gold answers (a file's rows give none; a dataset's are hidden): each is "
                   "labelled by the mixed vote of the teacher's own answers and kept only where they agree enough "
                   "(--min-agreement).")
@click.option("--min-agreement", type=click.FloatRange(0, 1), metavar="SHARE",
              help="--no-gold: the share of a question's completions that must give the vote's answer "
                   "[default: 0.75; on two paths: both agree; measured in docs/teacher-data.md].")
@teacher_option
@click.option("--model", cls=LazyHelp, help_from=_model_help)
@click.option("--recording", "recordings", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="recorded: a JSON Lines file of {\"id\", \"kind\", \"text\"} completions to replay (repeatable) "
                   "[default: the recordings shipped for --dataset].")
@server_options
@click.option("--tokenizer", metavar="NAME_OR_PATH",
              help="openai: count tokens with this tokenizer (the served model's) where the server's replies carry "
                   "no usage; stats.json says how many were counted so.")
@click.option("--price", metavar="PROMPT/COMPLETION", callback=_price,
              help="What a million prompt and completion tokens cost (e.g. 3/15): the run's cost in the summary, "
                   "stats.json and the report.")
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1), help="hf: prompts per batch.")
@click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(min=0))
@click.option("--max-tokens", default=512, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", type=int, help="Sampling seed, where the backend supports one.")
@click.option("--shots", default=4, show_default=True, type=click.IntRange(min=0, max=4), help="Few-shot exemplars.")
@_filter_options
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created; an existing one is resumed).")
@click.option("--dry-run", is_flag=True, help="Print the first prompts and the number of requests, send nothing.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def generate(dry_run: bool, progress: bool, **options) -> None:
    """Ask a teacher for CoT rationales and PoT programs (and Socratic decompositions), keep the correct ones.

    Every completion is checked against the gold answer (CoT answers extracted, programs run in
    the sandboxed executor, a decomposition's last step read) and appended to OUT/raw.jsonl; the correct ones, deduplicated, form
    OUT/train.jsonl, the input of the Axolotl formatter. Run the same command again to resume;
    the summary and OUT/stats.json say whether the output is complete. Exit codes: 0 done (see
    the summary for samples still missing), 1 the teacher is unavailable, 2 bad input, 130 interrupted.
    With --no-gold, questions need no answer: the teacher's own mixed vote labels each one where its
    completions agree enough, and the kept records say so ("label": "teacher", "agreement").

    \b
    mixdistill generate --dataset svamp --teacher gold --out runs/gold
    mixdistill generate --dataset gsm8k --teacher openai --base-url http://localhost:8000/v1 \\
        --model meta-llama/Llama-3.1-405B-Instruct --out runs/405b
    """
    from mixdistill_plugin.generate import GenerateSettings, Hooks, RunFiles, dry_run as plan, run
    from mixdistill_plugin.teachers.backends import TEACHERS

    if not options["samples"]:
        raise click.UsageError("nothing to ask: every --<kind>-samples is 0")
    if options["min_agreement"] is not None and not options["no_gold"]:
        raise click.UsageError("--min-agreement labels questions without gold answers: add --no-gold")
    if options["no_gold"] and TEACHERS.get(options["teacher"]).uses_gold:
        raise click.UsageError(f"--no-gold: the {options['teacher']} teacher writes from the gold answers; "
                               "choose another --teacher")
    settings = GenerateSettings(**options)
    if dry_run:
        _show(plan(settings, lambda message: click.echo(message, err=True)))
        return
    with Bar(progress, "sample", RunFiles(settings.out).raw, "that sample is asked again") as bar:
        def reply(counts, lines: int) -> None:
            bar.update(lines, {f"{k} yield": f"{c / a:.0%}" if a else "-" for k, (c, a) in counts.kinds.items()}
                       if progress else None)

        generated = run(settings, Hooks(start=bar.start, reply=reply, notice=bar.notice))
    files = generated.files
    summary(generated.outcome.summary, files)
    if graded := generated.grade_filter:
        click.echo(f"note: {files.train} held only rationales graded at least {graded['min_grade']}; it is rebuilt "
                   f"from correctness alone. Grade the new completions (mixdistill grade {files.out} ...), then "
                   f"mixdistill filter {files.out} --min-grade {graded['min_grade']} --grades {graded['grades']}",
                   err=True)
    end(generated.outcome, "everything received", files.out)


def _show(plan) -> None:
    """A dry run's first prompts and the requests it would send."""
    for kind, qid, prompt in plan.prompts:
        if plan.chat:
            click.echo(f"--- {kind} prompt (chat messages) for {qid}:")
            click.echo(json.dumps(prompt, indent=2, ensure_ascii=False))
        else:
            click.echo(f"--- {kind} prompt (plain; hf uses the chat template where the model has one) for {qid}:")
            click.echo(prompt)
    click.echo(f"would send {plan.requests} requests for {plan.completions} completions "
               f"({plan.questions} questions, {plan.done} completions already in {plan.raw})")


def summary(stats: dict, files) -> None:
    """The run's summary: complete or what is missing, yield and coverage per kind, tokens, what was kept."""
    if stats["complete"]:
        click.echo(f"complete: {stats['questions']} questions, all {stats['samples']} samples answered")
    else:
        errors = stats.get("errors", {})
        why = "; ".join(f"{n} x {error}" for error, n in list(errors.items())[:3])
        click.echo(f"incomplete: {stats['questions']} questions, {stats['completions']} of {stats['samples']} samples "
                   f"answered, {stats['missing']} missing" + (f" ({stats['request_errors']} failed: {why})" if why else "")
                   + "; run the same command again to ask for them")
    click.echo(f"{'kind':<9}{'completions':>12}{'correct':>9}{'yield':>8}{'kept':>7}{'coverage':>10}")
    for kind, k in stats["kinds"].items():
        pct = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
        click.echo(f"{kind:<9}{k['completions']:>12}{k['correct']:>9}{pct(k['yield']):>8}{k['kept']:>7}{pct(k['coverage']):>10}")
    per_kind = ", ".join(f"{kind} {k['prompt_tokens']} + {k['completion_tokens']}" for kind, k in stats["kinds"].items())
    line = f"tokens: {stats['prompt_tokens']} prompt, {stats['completion_tokens']} completion ({per_kind})"
    if run := stats.get("run"):
        line += (f"; this run: {run['requests']} requests" + (f" ({run['retries']} retries)" if run["retries"] else "")
                 + f" in {run['wall_seconds']:.1f}s"
                 + (f" ({run['requests_per_second']:.1f}/s after {run['startup_seconds']:.1f}s of start-up)"
                    if run.get("requests_per_second") else ""))
    if run and run.get("replies_without_usage"):
        line += (f"; {run['replies_without_usage']} replies carried no token counts, "
                 + (f"{run['tokens_counted_locally']} counted with --tokenizer" if run["tokens_counted_locally"]
                    else "not counted (pass --tokenizer to count them)"))
    click.echo(line)
    if cost := stats.get("cost"):
        click.echo(f"cost: {cost['total']:.4f} at {cost['per_million_tokens']['prompt']:g}/"
                   f"{cost['per_million_tokens']['completion']:g} per million tokens ("
                   + ", ".join(f"{kind} {value:.4f}" for kind, value in cost["kinds"].items()) + ")")
    if labels := stats.get("labels"):
        click.echo(f"labelled by the teacher's vote: {labels['labelled']} of {labels['questions']} questions "
                   f"(agreement at least {labels['min_agreement']:g})")
    click.echo(f"kept {stats['kept']} rationales in {files.train}")


@click.command(name="filter")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_filter_options
@click.option("--min-grade", type=click.IntRange(1, 5),
              help="Keep only the right rationales that the judge graded at least this (1 to 5; see "
                   "`mixdistill grade`); ungraded and unreadable ones are dropped.")
@click.option("--grades", type=click.Path(dir_okay=False, path_type=Path),
              help="The grades of OUT's completions, for --min-grade [default: OUT/grades.jsonl].")
def filter_command(out: Path, max_per_question, tolerance, timeout, min_grade, grades) -> None:
    """Rebuild OUT/train.jsonl from OUT/raw.jsonl without asking the teacher again.

    Every recorded completion is checked again (answers re-read, programs re-run), so a new
    --tolerance, --timeout or --max-per-question takes effect. With --min-grade, a right
    rationale is kept only if the judge graded it that well: right for the right reasons.
    `mixdistill generate` rebuilds train.jsonl from correctness alone: filter again after it.
    """
    from mixdistill_plugin.executor import Executor
    from mixdistill_plugin.generate import RunFiles, refilter

    files = RunFiles(out)
    with Executor(timeout=timeout) as executor:
        if min_grade is None:
            stats = refilter(files, executor, tolerance, max_per_question)
        else:
            from mixdistill_plugin.grading import filter_teacher

            stats = filter_teacher(files, executor, tolerance, max_per_question, min_grade,
                                   grades or out / "grades.jsonl")
    summary(stats, files)
    if kept := stats.get("filters"):
        for kind in stats["kinds"]:
            click.echo(f"{kind}: {kept['right'][kind]} right, {kept['right_and_graded'][kind]} of them graded "
                       f">= {kept['min_grade']}" + (f" ({kept['right_ungraded'][kind]} right but not graded: "
                                                    f"run mixdistill grade {out})" if kept['right_ungraded'][kind] else ""))
