"""``mixdistill eval``: lm-eval with mixdistill's tasks already included."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import click


@click.command(name="eval", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                              "help_option_names": []})
@click.option("--repeats", type=click.IntRange(min=1),
              help="k: sampled paths per kind for the sampling tasks (default: the tasks' 10).")
@click.argument("lm_eval_args", nargs=-1, type=click.UNPROCESSED)
def eval_command(repeats: int | None, lm_eval_args: tuple[str, ...]) -> None:
    """Run lm-evaluation-harness with mixdistill's tasks on the task path.

    Every argument but --repeats goes to `lm_eval` unchanged, after `--include_path <the tasks>`:

    \b
    mixdistill eval --model hf --model_args pretrained=out/merged --tasks svamp_mixed \\
        --confirm_run_unsafe_code --log_samples --output_path results
    mixdistill eval --repeats 4 --model hf --model_args pretrained=M,peft=ADAPTER --tasks svamp_mixed ...
    mixdistill eval ls tasks        # lm-eval's own sub-commands work too

    Tasks: svamp_{cot,pot,mixed,greedy}, gsm8k_md_{cot,pot,mixed,greedy}; groups mixdistill,
    mixdistill_svamp, mixdistill_gsm8k. `lm_eval --help` lists lm-eval's options.
    """
    from lm_eval.__main__ import cli_evaluate

    from mixdistill_plugin.lm_eval_adapter import tasks_path

    args = list(lm_eval_args)
    command = [args.pop(0)] if args and args[0] in ("run", "ls", "validate") else ["run"]
    if args in (["-h"], ["--help"]) and command == ["run"]:
        click.echo(click.get_current_context().get_help())
        return
    with tempfile.TemporaryDirectory(prefix="mixdistill-tasks-") as tmp:
        path = tasks_path() if repeats is None else with_repeats(Path(tasks_path()), Path(tmp), repeats)
        sys.argv = ["lm-eval", *command, "--include_path", str(path), *args]
        cli_evaluate()


def with_repeats(source: Path, dest: Path, repeats: int) -> Path:
    """A copy of the task folder whose sampling tasks (all but ``*_greedy``) take ``repeats`` paths."""
    tasks = dest / "tasks"
    shutil.copytree(source, tasks, ignore=shutil.ignore_patterns("__pycache__"))
    for path in tasks.glob("*.yaml"):
        text = path.read_text()
        if re.search(r"^task: ", text, re.MULTILINE) and not path.stem.endswith("_greedy"):
            path.write_text(text + f"repeats: {repeats}\n")
    return tasks
