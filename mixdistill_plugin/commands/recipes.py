"""``mixdistill recipes``: the distillation recipes, what each trains and what evaluates it."""

from __future__ import annotations

import click

from mixdistill_plugin.recipes import RECIPES, TASK_PREFIXES


@click.command()
@click.argument("recipe", required=False, type=click.Choice(list(RECIPES)))
@click.option("--dataset", default="svamp", show_default=True, type=click.Choice(list(TASK_PREFIXES)),
              help="The dataset whose lm-eval tasks to name (file: the file_md_* tasks on a file of your own).")
def recipes(recipe: str | None, dataset: str) -> None:
    """The recipes `make distill RECIPE=...` runs: the kinds each trains, its loss, the kinds its student
    answers with and what evaluates them on --dataset.

    With RECIPE, only the name of the lm-eval task that evaluates it (what `make distill` passes to
    `mixdistill eval --tasks`), or nothing for a recipe `mixdistill socratic` evaluates.
    """
    if recipe:
        click.echo(RECIPES[recipe].task_name(dataset))
        return
    rows = [("recipe", "trains", "loss", "answers with", "evaluated by")]
    for name, spec in RECIPES.items():
        loss = ", ".join(f"{k} {w:g}" for k, w in spec.loss_weights.items()) or "1 each"
        rows.append((name, " + ".join(spec.kinds), f"{loss}, per {spec.normalization}", " + ".join(spec.evaluates),
                     spec.task_name(dataset) or "mixdistill socratic"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
