"""The ``mixdistill`` command line. Each command imports what it needs when it runs."""

from __future__ import annotations

import click

from mixdistill_plugin import __version__
from mixdistill_plugin.commands.axolotl_config import axolotl_config
from mixdistill_plugin.commands.eval import eval_command
from mixdistill_plugin.commands.generate import filter_command, generate
from mixdistill_plugin.commands.report import report
from mixdistill_plugin.commands.score import score
from mixdistill_plugin.commands.socratic import socratic


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
      axolotl train CONFIG.yml     train the student (type: mixdistill_plugin.formatter)
      mixdistill eval ...          lm-eval with the CoT / PoT / mixed multi-path tasks
      mixdistill report RUN        teacher yield and student accuracy, table and plot
      mixdistill score FILE        score predictions produced anywhere
      mixdistill socratic ...      run and score a Socratic CoT student (decomposer + solver)

    `make distill` runs the whole method end to end; RECIPE=cot|pot|step_by_step|socratic the others.
    """


main.add_command(generate)
main.add_command(filter_command)
main.add_command(axolotl_config)
main.add_command(eval_command)
main.add_command(report)
main.add_command(score)
main.add_command(socratic)


if __name__ == "__main__":
    main()
