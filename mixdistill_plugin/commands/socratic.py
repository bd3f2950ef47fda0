"""``mixdistill socratic``: run a Socratic CoT student (decomposer and solver in turn) and score it."""

from __future__ import annotations

from pathlib import Path

import click

from mixdistill_plugin.commands.options import data_dir_option, student_options


@click.command()
@click.option("--model", "model_name", default="hf", show_default=True,
              help="An lm-eval model backend (hf, vllm, local-completions, ...), as for `lm_eval --model`.")
@click.option("--model_args", "--model-args", "model_args", required=True,
              help="As for lm_eval, e.g. pretrained=models/base,peft=runs/socratic/student.")
@click.option("--solver_model_args", "--solver-model-args", "solver_model_args",
              help="A second student for the solver role (two-student Socratic CoT) [default: the same model].")
@click.option("--dataset", default="svamp", show_default=True,
              help="A dataset of `mixdistill tasks` whose questions take Socratic decompositions (svamp, gsm8k, "
                   "strategyqa), or a file (as for generate).")
@click.option("--split", help="A split of the dataset [default: its test split].")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions.")
@data_dir_option
@click.option("--max-steps", default=8, show_default=True, type=click.IntRange(min=1),
              help="Sub-questions per problem at most (the loop ends earlier when the decomposer stops).")
@click.option("--max-gen-toks", default=64, show_default=True, type=click.IntRange(min=1),
              help="Tokens per sub-question and per answer.")
@student_options
@click.option("--output_path", "--output-path", "output_path", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Writes results_<time>.json and samples_<dataset>_socratic_<time>.jsonl (lm-eval's layout).")
@click.option("--log-steps/--no-log-steps", default=True, show_default=True, help="Print every step as it is made.")
def socratic(model_name: str, model_args: str, solver_model_args: str | None, dataset: str, split: str, limit: int | None, data_dir: Path | None,
             max_steps: int, max_gen_toks: int, batch_size: int, device: str | None, chat: bool, output_path: Path,
             log_steps: bool) -> None:
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
    from mixdistill_plugin.harness.models import complete, load_student, student_prompt
    from mixdistill_plugin.prompts import get_kind
    from mixdistill_plugin.socratic_eval import evaluate, socratic_style, write_result
    from mixdistill_plugin.tasks import load_questions

    questions, _ = load_questions(dataset, split, data_dir=data_dir, limit=limit)
    style = socratic_style(questions, dataset)
    decomposer = load_student(model_name, model_args, batch_size, device)
    solver = load_student(model_name, solver_model_args, batch_size, device) if solver_model_args else decomposer

    def generate(kind: str, texts: list[str]) -> list[str]:
        lm = decomposer if kind == "decompose" else solver
        gen = {"until": list(get_kind(kind).stop), "do_sample": False, "max_gen_toks": max_gen_toks}
        return complete(lm, [student_prompt(lm, kind, t, chat, style) for t in texts], [gen] * len(texts))

    def show(index: int, trace) -> None:
        step = trace.steps[-1]
        click.echo(f"[{questions[index].id} step {len(trace.steps)}] {step.question} -> {step.answer}", err=True)

    result = evaluate(questions, generate, max_steps, show if log_steps else None)
    task = f"{Path(dataset).stem}_socratic"
    write_result(output_path, task, questions, result,
                 {"model": model_name, "model_args": model_args, "solver_model_args": solver_model_args or model_args,
                  "max_steps": max_steps, "max_gen_toks": max_gen_toks, "apply_chat_template": chat})
    ended = sum(t.ended == "done" for t in result.traces)
    click.echo(f"{task}: {len(questions)} questions, socratic_acc {result.accuracy:.1f}%, "
               f"{ended} ended by the decomposer, {len(result.traces) - ended} at --max-steps")
