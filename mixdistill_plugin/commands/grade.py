"""``mixdistill grade``: a judge model grades the rationales of a teacher folder or of student samples."""

from __future__ import annotations

from pathlib import Path

import click

from mixdistill_plugin.commands.options import judge_option, server_options
from mixdistill_plugin.commands.progress import Bar, end


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@judge_option
@click.option("--model", required=True, help="The judge: model name (openai) or path (hf).")
@server_options
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1), help="hf: prompts per batch.")
@click.option("--response-format", type=click.Choice(["json_schema", "json_object", "none"]),
              help="openai: how to ask for the JSON grade [default: json_schema, then json_object with the schema, "
                   "then none, as the server refuses each].")
@click.option("--temperature", default=0.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--max-tokens", default=256, show_default=True, type=click.IntRange(min=1))
@click.option("--paths", default=1, show_default=True, type=click.IntRange(min=1),
              help="Student samples: grade the first N paths of each question and kind.")
@click.option("--limit", type=click.IntRange(min=1), help="Grade only the first N questions (of each samples file).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="The grades file [default: FOLDER/grades.jsonl]; its summary goes beside it (<name>_stats.json).")
@click.option("--progress/--no-progress", default=True, show_default=True)
def grade(folder: Path, judge: str, model: str, base_url: tuple[str, ...], concurrency: int, retries: int,
          request_timeout: float, give_up_after: float, batch_size: int, response_format: str | None,
          temperature: float, max_tokens: int, paths: int, limit: int | None, out: Path | None,
          progress: bool) -> None:
    """Grade the rationales in FOLDER with a judge model: steps, answer, relevance; a score 1 to 5.

    FOLDER is a teacher folder (`mixdistill generate --out`: every completion of raw.jsonl) or an
    evaluation folder holding samples_*.jsonl (lm-eval --log_samples, `mixdistill socratic`: the
    latest file of each task). The judge is not told the gold answer; its agreement with the
    answers' correctness (a grade of 4 or 5 for a right answer, 1 to 3 for a wrong one) is printed
    with a 95% interval. Grades are appended to FOLDER/grades.jsonl as they arrive: run the same
    command again to resume. Exit codes: 0 done, 1 the judge is unavailable, 2 bad input, 130 interrupted.

    \b
    mixdistill grade runs/405b --model meta-llama/Llama-3.1-70B-Instruct --base-url http://localhost:8000/v1
    mixdistill grade runs/mixed/eval --model judge --base-url http://localhost:8080/v1 --paths 2
    mixdistill filter runs/405b --min-grade 4
    """
    from mixdistill_plugin.grading import collect, run, stats_path, summary_table
    from mixdistill_plugin.judges import JudgeOptions, make_judge
    from mixdistill_plugin.teachers import Sampling

    out = out or folder / "grades.jsonl"
    rationales = collect(folder, paths, limit)
    backend = make_judge(judge, JudgeOptions(model, base_url, concurrency=concurrency, retries=retries,
                                             request_timeout=request_timeout, give_up_after=give_up_after,
                                             batch_size=batch_size, response_format=response_format))
    with Bar(progress, "rationale", out, "that rationale is graded again", label="judge {}") as bar:
        if hasattr(backend, "notice"):
            backend.notice = bar.notice
        outcome = run(backend, rationales, Sampling(temperature=temperature, max_tokens=max_tokens, shots=0), out,
                      start=bar.start, on_grade=lambda grade: bar.update(1))
    summary = outcome.summary
    state = "complete" if summary["complete"] else "incomplete"
    click.echo(f"{state}: {summary['graded']} of {len(rationales)} rationales graded, {summary['unreadable']} "
               f"unreadable replies, {summary['request_errors']} failed requests (judge {summary['judge']})")
    click.echo("\n".join(summary_table(summary)))
    if summary["agreement"] is not None:
        low, high = summary["agreement_ci"]
        click.echo(f"judge agreement with correctness: {100 * summary['agreement']:.1f}% "
                   f"[95% CI {100 * low:.1f}, {100 * high:.1f}] of {summary['graded']} graded rationales")
    click.echo(f"grades in {out}, summary in {stats_path(out)}")
    end(outcome, "every grade received", out)
    if not summary["complete"]:
        click.echo("some requests failed; run the same command again to ask for them", err=True)
