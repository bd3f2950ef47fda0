"""``mixdistill eval``: lm-eval with mixdistill's tasks already included."""

from __future__ import annotations

import sys

import click


@click.command(name="eval", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                              "help_option_names": []})
@click.argument("lm_eval_args", nargs=-1, type=click.UNPROCESSED)
def eval_command(lm_eval_args: tuple[str, ...]) -> None:
    """Run lm-evaluation-harness with mixdistill's tasks on the task path.

    Every argument goes to `lm_eval` unchanged, after `--include_path <the tasks>`:

    \b
    mixdistill eval --model hf --model_args pretrained=out/merged --tasks svamp_mixed \\
        --confirm_run_unsafe_code --log_samples --output_path results
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
    sys.argv = ["lm-eval", *command, "--include_path", tasks_path(), *args]
    cli_evaluate()
