"""The ``mixdistill`` command line. Each command imports what it needs when it runs."""

from __future__ import annotations

import click

from mixdistill_plugin import __version__
from mixdistill_plugin.commands.eval import eval_command
from mixdistill_plugin.commands.generate import filter_command, generate
from mixdistill_plugin.commands.score import score


class InputProblem(click.ClickException):
    """Bad user input: printed as ``Error: <file>:<line>: field ...``, exit code 2."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mixdistill")
def main() -> None:
    """Mixed Distillation: teach a small model to reason in words (CoT) and in code (PoT).

    \b
    Typical flow:
      mixdistill generate ...      teacher CoT + PoT rationales, verified against gold
      mixdistill eval ...          lm-eval with the CoT / PoT / mixed multi-path tasks
      mixdistill score FILE        score predictions produced anywhere
    """


main.add_command(generate)
main.add_command(filter_command)
main.add_command(eval_command)
main.add_command(score)


if __name__ == "__main__":
    main()
