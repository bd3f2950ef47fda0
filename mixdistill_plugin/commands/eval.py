"""``mixdistill eval``: lm-eval with mixdistill's tasks already included."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import click

from mixdistill_plugin.commands.options import field_options


@click.command(name="eval", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                              "help_option_names": []})
@click.option("--repeats", type=click.IntRange(min=1),
              help="k: sampled paths per kind for the sampling tasks (default: the tasks' 10).")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A .jsonl/.json/.csv/.parquet file of your own questions and gold answers, read by the "
                   "file_md_* tasks [default --tasks: file_md_mixed].")
@field_options
@click.argument("lm_eval_args", nargs=-1, type=click.UNPROCESSED)
def eval_command(repeats: int | None, dataset: Path | None, question_field: str, answer_field: str,
                 id_field: str | None, skip_bad_rows: bool, lm_eval_args: tuple[str, ...]) -> None:
    """Run lm-evaluation-harness with mixdistill's tasks on the task path.

    Every other argument goes to `lm_eval` unchanged, after `--include_path <the tasks>`:

    \b
    mixdistill eval --model hf --model_args pretrained=out/merged --tasks svamp_mixed \\
        --confirm_run_unsafe_code --log_samples --output_path results
    mixdistill eval --repeats 4 --model hf --model_args pretrained=M,peft=ADAPTER --tasks svamp_mixed ...
    mixdistill eval --dataset heldout.jsonl --question-field problem --model hf ...   # your own data
    mixdistill eval ls tasks        # lm-eval's own sub-commands work too

    Tasks: svamp_{cot,pot,mixed,greedy,direct}, gsm8k_md_{...}, and file_md_{...} on --dataset; groups
    mixdistill, mixdistill_svamp, mixdistill_gsm8k. `lm_eval --help` lists lm-eval's options.
    """
    from mixdistill_plugin.harness.runner import run_lm_eval
    from mixdistill_plugin.startup import tasks_dir

    args = list(lm_eval_args)
    command = args.pop(0) if args and args[0] in ("run", "ls", "validate") else "run"
    if args in (["-h"], ["--help"]) and command == "run":
        click.echo(click.get_current_context().get_help())
        return
    if dataset is not None:
        if command != "run":
            raise click.UsageError(f"--dataset is for evaluation runs, not `mixdistill eval {command}`")
        args = with_dataset(args, dataset, question_field, answer_field, id_field, skip_bad_rows)
    with tempfile.TemporaryDirectory(prefix="mixdistill-tasks-") as tmp:
        path = None if repeats is None else str(with_repeats(Path(tasks_dir()), Path(tmp), repeats))
        status = run_lm_eval(command, args, path)
    click.get_current_context().exit(status)


def with_dataset(args: list[str], dataset: Path, question_field: str, answer_field: str, id_field: str | None,
                 skip_bad_rows: bool) -> list[str]:
    """lm-eval arguments that point the ``file_md_*`` tasks at ``dataset`` (checked here first)."""
    from mixdistill_plugin.commands import InputProblem
    from mixdistill_plugin.data import load_questions
    from mixdistill_plugin.jsonl import InputError

    fields = {"question_field": question_field, "answer_field": answer_field, "id_field": id_field,
              "skip_bad_rows": skip_bad_rows}
    try:
        questions, skipped = load_questions(str(dataset), **fields)
    except InputError as exc:
        raise InputProblem(str(exc)) from None
    for error in skipped:
        click.echo(f"skipped {error}", err=True)
    if not questions:
        raise InputProblem(f"{dataset}: no questions to evaluate")
    metadata = {"file": str(dataset.resolve()), **fields}
    rest, given = [], {}
    items = iter(args)
    for arg in items:  # merge a --metadata of the user's (ours wins on the same keys)
        if arg == "--metadata" or arg.startswith("--metadata="):
            value = arg.partition("=")[2] if "=" in arg else next(items, "{}")
            try:
                given = json.loads(value)
            except json.JSONDecodeError as exc:
                raise click.UsageError(f"--metadata {value!r} is not a JSON object ({exc.msg})") from None
        else:
            rest.append(arg)
    if not any(a == "--tasks" or a.startswith("--tasks=") for a in rest):
        rest += ["--tasks", "file_md_mixed"]
    return [*rest, "--metadata", json.dumps(given | metadata)]


def with_repeats(source: Path, dest: Path, repeats: int) -> Path:
    """A copy of the task folder whose sampling tasks (all but ``*_greedy``) take ``repeats`` paths."""
    tasks = dest / "tasks"
    shutil.copytree(source, tasks, ignore=shutil.ignore_patterns("__pycache__"))
    for path in tasks.glob("*.yaml"):
        text = path.read_text()
        if re.search(r"^task: ", text, re.MULTILINE) and not path.stem.endswith("_greedy"):
            path.write_text(text + f"repeats: {repeats}\n")
    return tasks
