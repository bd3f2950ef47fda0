"""``mixdistill socratic``: run a Socratic CoT student (decomposer and solver in turn) and score it."""

from __future__ import annotations

from pathlib import Path

import click

from mixdistill_plugin.commands.options import LazyHelp, data_dir_option, dataset_names, student_options


@click.command()
@student_options(max_gen_toks=64)
@click.option("--solver_model_args", "--solver-model-args", "solver_model_args",
              help="A second student for the solver role (two-student Socratic CoT) [default: the same model].")
@click.option("--dataset", default="svamp", show_default=True, cls=LazyHelp,
              help_from=lambda: f"A dataset of `mixdistill tasks` whose questions take Socratic decompositions "
                                f"({dataset_names('decompose')}), or a file (as for generate).")
@click.option("--split", help="A split of the dataset [default: its test split].")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions.")
@data_dir_option
@click.option("--max-steps", default=8, show_default=True, type=click.IntRange(min=1),
              help="Sub-questions per problem at most (the loop ends earlier when the decomposer stops).")
@click.option("--output_path", "--output-path", "output_path", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Writes results_<time>.json and samples_<dataset>_socratic_<time>.jsonl (lm-eval's layout).")
@click.option("--log-steps/--no-log-steps", default=True, show_default=True, help="Print every step as it is made.")
def socratic(log_steps: bool, **options) -> None:
    """Answer each question with the decomposer and solver roles in turn, greedy, and score it.

    One student plays both roles (trained with mixdistill_kinds: [decompose, solve]), or two
    students do (--solver_model_args for the second, each trained on its own kind).

    Each round asks every open question's decomposer for the next sub-question (in one batch),
    then the solver for its answer; a question ends when its decomposer writes "No more
    sub-questions." or after --max-steps. The answer is the last step's. Prompts are the
    registry's `decompose` and `solve` kinds, rendered as in training; generation goes through
    lm-eval's model backends, so a student runs here exactly as under `mixdistill eval`.

    \b
    mixdistill socratic --model_args pretrained=M,peft=runs/socratic/student --dataset svamp \\
        --limit 30 --apply_chat_template --output_path runs/socratic/eval/distilled

    The samples file has lm-eval's layout, so `mixdistill report` shows socratic_acc beside the
    other recipes' metrics.
    """
    from mixdistill_plugin.harness.models import greedy_student
    from mixdistill_plugin.socratic_eval import SocraticSettings, run

    def show(question, trace) -> None:
        step = trace.steps[-1]
        click.echo(f"[{question.id} step {len(trace.steps)}] {step.question} -> {step.answer}", err=True)

    evaluated = run(SocraticSettings(**options), greedy_student, show if log_steps else None)
    traces = evaluated.result.traces
    ended = sum(t.ended == "done" for t in traces)
    click.echo(f"{evaluated.task}: {len(evaluated.questions)} questions, socratic_acc {evaluated.result.accuracy:.1f}%, "
               f"{ended} ended by the decomposer, {len(traces) - ended} at --max-steps")
