"""The ``mixdistill`` command line. Each command imports what it needs when it runs."""

from __future__ import annotations

import os

import click

from mixdistill_plugin import __version__
from mixdistill_plugin.commands.axolotl_config import axolotl_config
from mixdistill_plugin.commands.contamination import contamination
from mixdistill_plugin.commands.doctor import doctor
from mixdistill_plugin.commands.eval import eval_command
from mixdistill_plugin.commands.generate import filter_command, generate
from mixdistill_plugin.commands.grade import grade
from mixdistill_plugin.commands.merge import merge
from mixdistill_plugin.commands.recipes import recipes
from mixdistill_plugin.commands.report import report
from mixdistill_plugin.commands.score import score
from mixdistill_plugin.commands.socratic import socratic
from mixdistill_plugin.commands.solve import solve
from mixdistill_plugin.commands.tasks import tasks
from mixdistill_plugin.containment import WEAK_ENV
from mixdistill_plugin.errors import UserError


class _Commands(click.Group):
    """Every command's :class:`UserError` (bad input, missing data, a refused setting, an unusable
    teacher or sandbox) is printed here, one way: ``Error: <message>``, no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            problem = click.ClickException(str(exc))
            problem.exit_code = exc.exit_code
            raise problem from None


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
      mixdistill tasks             the datasets (SVAMP, GSM8K, CommonsenseQA, e-SNLI, ANLI, StrategyQA)

    `make distill` runs the whole method end to end; RECIPE=cot|pot|direct|step_by_step|socratic the
    others, DATASET=cqa|esnli|strategyqa|gsm8k other datasets.
    """
    if allow_weak_sandbox:
        os.environ[WEAK_ENV] = "1"


main.add_command(generate)
main.add_command(filter_command)
main.add_command(merge)
main.add_command(contamination)
main.add_command(grade)
main.add_command(axolotl_config)
main.add_command(eval_command)
main.add_command(report)
main.add_command(recipes)
main.add_command(tasks)
main.add_command(score)
main.add_command(socratic)
main.add_command(solve)
main.add_command(doctor)


if __name__ == "__main__":
    main()
