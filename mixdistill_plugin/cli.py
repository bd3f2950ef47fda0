"""The ``mixdistill`` command line. Each command imports what it needs when it runs."""

from __future__ import annotations

import importlib
import os

import click

from mixdistill_plugin import __version__
from mixdistill_plugin.containment import WEAK_ENV
from mixdistill_plugin.errors import UserError


COMMANDS = {  # each command's module is imported only when it runs (or when --help lists them all)
    "generate": "generate:generate",
    "filter": "generate:filter_command",
    "merge": "merge:merge",
    "contamination": "contamination:contamination",
    "grade": "grade:grade",
    "axolotl-config": "axolotl_config:axolotl_config",
    "eval": "eval:eval_command",
    "report": "report:report",
    "recipes": "recipes:recipes",
    "tasks": "tasks:tasks",
    "score": "score:score",
    "socratic": "socratic:socratic",
    "solve": "solve:solve",
    "doctor": "doctor:doctor",
}


class _Commands(click.Group):
    """The commands of :data:`COMMANDS`, each loaded when asked for. Every command's :class:`UserError`
    (bad input, missing data, a refused setting, an unusable teacher or sandbox) is printed here, one
    way: ``Error: <message>``, no traceback; an interrupt a command does not handle itself exits 130."""

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context | None, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(f"mixdistill_plugin.commands.{module}"), attribute)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            problem = click.ClickException(str(exc))
            problem.exit_code = exc.exit_code
            raise problem from None
        except KeyboardInterrupt:  # before a command's own handling (or in one without): 130, as a shell's ^C
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(130) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mixdistill")
@click.option("--allow-weak-sandbox", is_flag=True,
              help=f"Run model-written programs even where the sandbox lacks a required layer "
                   f"(see `mixdistill doctor`); the same as {WEAK_ENV}=1.")
def main(allow_weak_sandbox: bool) -> None:
    """Mixed Distillation: teach a small model to reason in words (CoT) and in code (PoT).

    \b
    Typical flow:
      mixdistill generate ...      teacher CoT + PoT rationales, verified against gold
      mixdistill grade FOLDER ...  a judge model grades rationales (teacher or student), 1 to 5
      mixdistill filter OUT ...    keep right rationales (--min-grade: and graded well)
      mixdistill merge OUT SHARD.. one teacher folder from `generate --shard I/N` folders
      mixdistill contamination ... questions of teacher data that overlap a test set
      axolotl train CONFIG.yml     train the student (see axolotl_configs/)
      mixdistill eval ...          lm-eval with the CoT / PoT / mixed multi-path tasks
      mixdistill report RUN        teacher yield and student accuracy, table and plot
      mixdistill score FILE        score predictions produced anywhere
      mixdistill socratic ...      run and score a Socratic CoT student (decomposer + solver)
      mixdistill solve FILE ...    answer new questions: CoT and PoT in rounds until they agree
      mixdistill doctor            the program sandbox's layers on this machine
      mixdistill tasks             the datasets: answers, splits, kinds, lm-eval tasks

    `make distill` runs the whole method end to end; RECIPE=cot|pot|direct|step_by_step|socratic the
    others, DATASET=cqa|esnli|strategyqa|gsm8k other datasets.
    """
    if allow_weak_sandbox:
        os.environ[WEAK_ENV] = "1"


if __name__ == "__main__":
    main()
