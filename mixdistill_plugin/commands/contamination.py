"""``mixdistill contamination``: which questions of teacher data overlap a test set."""

from __future__ import annotations

from pathlib import Path

import click

from mixdistill_plugin.commands.options import data_dir_option, field_options, server_options


def against_option(command):
    return click.option("--against", "against", multiple=True, metavar="DATASET:SPLIT|FILE",
                        help="A test set to check against (repeatable): a dataset of `mixdistill tasks` and its "
                             "split (svamp:test), or a file read with the same field options.")(command)


@click.command()
@click.argument("questions")
@against_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Writes one JSON line per flagged question: its id and text, the test set, the matching test "
                   "question's id and text, the tier (exact, ngram), the n-grams they share and the judge's verdict.")
@click.option("--ngram", default=8, show_default=True, type=click.IntRange(min=3),
              help="Words in a run that counts as overlap.")
@click.option("--judge-model", metavar="MODEL",
              help="Ask this model (an OpenAI-compatible server: --base-url) about each ngram candidate: the same "
                   "problem, or only shared phrasing? Those it calls different are left out.")
@server_options
@data_dir_option
@field_options
def contamination(questions: str, against: tuple[str, ...], out: Path, ngram: int, judge_model, base_url, concurrency,
                  retries, request_timeout, give_up_after, data_dir, fields) -> None:
    """Flag the QUESTIONS that overlap a test set: the same question once normalised (exact), or a
    run of --ngram words shared with a test question (ngram).

    QUESTIONS: a teacher folder (its questions.jsonl), a question file, or DATASET:SPLIT.
    `mixdistill generate --decontaminate SPEC` drops the flagged questions before asking the teacher.

    \b
    mixdistill contamination svamp:train --against svamp:test --out flags.jsonl
    mixdistill contamination runs/405b --against gsm8k:test --against mine_test.jsonl --out flags.jsonl
    mixdistill contamination svamp:train --against svamp:test --judge-model M --base-url URL --out flags.jsonl
    """
    from mixdistill_plugin.contamination import HeldOut, describe, flags as find, test_sets, write_flags
    from mixdistill_plugin.generate import RunFiles, read_questions
    from mixdistill_plugin.tasks import is_task, load_questions

    if not against:
        raise click.UsageError("name at least one test set with --against DATASET:SPLIT or --against FILE")
    folder = RunFiles(Path(questions))
    name, _, split = questions.partition(":")
    if folder.questions.is_file():
        asked = read_questions(folder.questions)
    elif is_task(name):
        asked = load_questions(name, split or None, data_dir=data_dir)[0]
    else:
        asked = load_questions(questions, fields=fields)[0]
    found = find(asked, HeldOut(test_sets(against, data_dir, fields), ngram))
    rejected = 0
    if judge_model:
        from mixdistill_plugin.judges import OpenAIPairJudge, judge_pairs

        judge = OpenAIPairJudge(judge_model, base_url, concurrency=concurrency, retries=retries,
                                timeout=request_timeout, give_up_after=give_up_after)
        judged = judge_pairs(judge, found)
        found = [f for f in judged if f.judge != "different"]
        rejected = len(judged) - len(found)
    write_flags(out, found)
    click.echo(f"{describe(found, len(asked))}; written to {out}"
               + (f"; the judge called {rejected} ngram candidate(s) different, left out" if judge_model else ""))
