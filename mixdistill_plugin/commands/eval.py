"""``mixdistill eval``: lm-eval with mixdistill's tasks already included."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import click

from mixdistill_plugin.commands.options import field_options


@click.command(name="eval", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                              "help_option_names": []})
@click.option("--repeats", type=click.IntRange(min=1),
              help="k: sampled paths per kind for the sampling tasks (default: the tasks' 10).")
@click.option("--questions", type=click.IntRange(min=1),
              help="Only the first N questions, each with all its kinds' documents (lm-eval's --limit counts "
                   "documents: the mixed task has two per question).")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A .jsonl/.json/.csv/.parquet file of your own questions and gold answers (numbers, labels "
                   "with choices, or true/false), read by the file_md_* tasks [default --tasks: file_md_mixed for "
                   "numbers, file_md_cot for labels].")
@field_options
@click.argument("lm_eval_args", nargs=-1, type=click.UNPROCESSED)
def eval_command(repeats: int | None, questions: int | None, dataset: Path | None, fields,
                 lm_eval_args: tuple[str, ...]) -> None:
    """Run lm-evaluation-harness with mixdistill's tasks on the task path.

    Every other argument goes to `lm_eval` unchanged, after `--include_path <the tasks>`:

    \b
    mixdistill eval --model hf --model_args pretrained=out/merged --tasks svamp_mixed \\
        --confirm_run_unsafe_code --log_samples --output_path results
    mixdistill eval --repeats 4 --model hf --model_args pretrained=M,peft=ADAPTER --tasks svamp_mixed ...
    mixdistill eval --dataset heldout.jsonl --question-field problem --model hf ...   # your own data
    mixdistill eval ls tasks        # lm-eval's own sub-commands work too

    `lm_eval --help` lists lm-eval's options; the tasks follow.
    """
    from mixdistill_plugin.harness.runner import run_lm_eval, sampling_overrides

    args = list(lm_eval_args)
    command = args.pop(0) if args and args[0] in ("run", "ls", "validate") else "run"
    if args in (["-h"], ["--help"]) and command == "run":
        click.echo(click.get_current_context().get_help() + "\n\n" + task_list())
        return
    if command != "run" and (dataset or questions):
        raise click.UsageError(f"--dataset and --questions are for evaluation runs, not `mixdistill eval {command}`")
    if dataset is not None:
        args = with_dataset(args, dataset, fields)
    if questions is not None:
        args = with_metadata(args, {"questions": questions})
    with tempfile.TemporaryDirectory(prefix="mixdistill-tasks-") as tmp:
        path = None if repeats is None else sampling_overrides(Path(tmp), repeats)
        status = run_lm_eval(command, args, path)
    click.get_current_context().exit(status)


def task_list() -> str:
    """The tasks and groups mixdistill's task folder holds (file_md_*: on --dataset), one line per dataset."""
    from mixdistill_plugin.harness.make_tasks import datasets, group_name, task_names

    lines = ["Tasks:"] + [f"  {', '.join(task_names(d))}" for d in datasets()]
    return "\n".join([*lines, f"Groups: mixdistill, {', '.join(group_name(d) for d in datasets() if group_name(d))}"])


def with_dataset(args: list[str], dataset: Path, fields) -> list[str]:
    """lm-eval arguments that point the ``file_md_*`` tasks at ``dataset`` (checked here first). A task
    that reads a dataset of the registry is refused: it would evaluate that dataset, not the file; so is
    a file task whose kinds do not apply to the file's questions (PoT on labels)."""
    from mixdistill_plugin.errors import UserError
    from mixdistill_plugin.harness.make_tasks import variants
    from mixdistill_plugin.prompts import check_kinds
    from mixdistill_plugin.tasks import FILE_PREFIX, load_questions

    questions, skipped = load_questions(str(dataset), fields=fields)
    for error in skipped:
        click.echo(f"skipped {error}", err=True)
    if not questions:
        raise UserError(f"{dataset}: no questions to evaluate")
    tasks = _tasks(args)
    others = [name for name in tasks if not name.startswith(FILE_PREFIX + "_")]
    if others:
        raise click.UsageError(
            f"--dataset {dataset} is evaluated by the {FILE_PREFIX}_* tasks; --tasks {','.join(others)} reads another "
            f"dataset and would ignore the file. Use --tasks {FILE_PREFIX}_cot (or _mixed, _pot, _direct, _greedy), "
            "or leave --tasks out")
    if not tasks:
        numbers = all(q.answer_type == "number" for q in questions)
        tasks = [f"{FILE_PREFIX}_mixed" if numbers else f"{FILE_PREFIX}_cot"]
        args = [*args, "--tasks", tasks[0]]
    kinds = {f"{FILE_PREFIX}_{variant.name}": variant.kinds for variant in variants()}
    for task in tasks:  # a name lm-eval does not know is lm-eval's to report
        check_kinds(kinds.get(task, ()), questions, str(dataset), f"--tasks {task}")
    return with_metadata(args, {"file": str(dataset.resolve()), **fields.as_metadata()})


def _tasks(args: list[str]) -> list[str]:
    """The task names ``args`` give lm-eval, read as lm-eval reads them: ``--tasks`` or ``-t`` (``--tasks=A``,
    ``-tA``), each with one value or several, each value a comma-separated list; repeated flags add up."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--tasks", "-t", nargs="+", action="extend", default=[])
    try:
        known, _ = parser.parse_known_args(args)
    except argparse.ArgumentError:  # a flag with no value: lm-eval reports it
        return []
    return [name for value in known.tasks for name in value.split(",") if name]


def with_metadata(args: list[str], metadata: dict) -> list[str]:
    """``args`` with ``metadata`` merged into their ``--metadata`` (ours wins on the same keys)."""
    rest, given = [], {}
    items = iter(args)
    for arg in items:
        if arg == "--metadata" or arg.startswith("--metadata="):
            value = arg.partition("=")[2] if "=" in arg else next(items, "{}")
            try:
                given = json.loads(value)
            except json.JSONDecodeError as exc:
                raise click.UsageError(f"--metadata {value!r} is not a JSON object ({exc.msg})") from None
        else:
            rest.append(arg)
    return [*rest, "--metadata", json.dumps(given | metadata)]
