"""``mixdistill recipes``: the distillation recipes, what each trains and what evaluates it."""

from __future__ import annotations

import click

from mixdistill_plugin.recipes import RECIPES


def _dataset(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from mixdistill_plugin.tasks import FILE, is_task, task_names

    if value != FILE and not is_task(value):
        raise click.BadParameter(f"{value!r} is not a dataset of `mixdistill tasks` ({', '.join(task_names())}) "
                                 f"nor {FILE!r} (the file_md_* tasks)")
    return value


@click.command()
@click.argument("recipe", required=False, type=click.Choice(list(RECIPES)))
@click.option("--dataset", default="svamp", show_default=True, callback=_dataset,
              help="The dataset whose lm-eval tasks to name (file: the file_md_* tasks on a file of your own).")
@click.option("--teacher-kinds", is_flag=True,
              help="With RECIPE: the kinds of teacher records it draws on instead (what `make distill` asks for).")
@click.option("--every-dataset", is_flag=True,
              help="Instead: which task evaluates each recipe on each dataset of `mixdistill tasks`.")
@click.option("--names", is_flag=True,
              help="Only the names of the recipes that apply to --dataset, on one line (`make compare`'s default RECIPES).")
def recipes(recipe: str | None, dataset: str, teacher_kinds: bool, every_dataset: bool, names: bool) -> None:
    """The recipes `make distill RECIPE=...` runs: the kinds each trains, its loss, the kinds its student
    answers with and what evaluates them on --dataset.

    With RECIPE, only the name of the lm-eval task that evaluates it (what `make distill` passes to
    `mixdistill eval --tasks`), or nothing for a recipe `mixdistill socratic` evaluates; a recipe that
    cannot apply to the dataset (PoT on labels) is refused, exit 2. With RECIPE and --teacher-kinds, the
    kinds of teacher records its student learns from (`step_by_step`: cot), one line. With --names, the
    recipes that apply to --dataset, one line. With --every-dataset, a table of the task that evaluates
    each recipe on each dataset.
    """
    if every_dataset:
        _print(_every_dataset())
        return
    if names:
        if recipe or teacher_kinds:
            raise click.UsageError("--names lists the recipes that apply to --dataset: give no RECIPE nor --teacher-kinds")
        click.echo(" ".join(name for name, spec in RECIPES.items() if _applies(spec, dataset)))
        return
    if teacher_kinds:
        if not recipe:
            raise click.UsageError("--teacher-kinds names the kinds of one RECIPE: give it")
        click.echo(" ".join(RECIPES[recipe].teacher_kinds))
        return
    if recipe:
        try:
            click.echo(RECIPES[recipe].task_name(dataset))
        except ValueError as exc:
            raise click.UsageError(f"recipe {recipe!r} on --dataset {dataset}: {exc}") from None
        return
    rows = [("recipe", "trains", "loss", "answers with", "evaluated by")]
    for name, spec in RECIPES.items():
        loss = ", ".join(f"{k} {w:g}" for k, w in spec.loss_weights.items()) or "1 each"
        evaluated = (spec.task_name(dataset) or "mixdistill socratic") if _applies(spec, dataset) else "does not apply"
        rows.append((name, " + ".join(spec.kinds), f"{loss}, per {spec.normalization}", " + ".join(spec.evaluates),
                     evaluated))
    _print(rows)


def _evaluated_by(recipe: str, dataset: str) -> str:
    spec = RECIPES[recipe]
    return (spec.task_name(dataset) or "socratic") if _applies(spec, dataset) else "-"


def _every_dataset() -> list[tuple[str, ...]]:
    """Rows of recipes, columns of datasets: the task that evaluates the one on the other (``-``: does
    not apply; ``socratic``: the ``mixdistill socratic`` command)."""
    from mixdistill_plugin.tasks import task_names

    datasets = task_names()
    return [("recipe", *datasets)] + [(name, *(_evaluated_by(name, d) for d in datasets)) for name in RECIPES]


def _print(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _applies(spec, dataset: str) -> bool:
    """Whether the recipe ``spec`` applies to ``dataset`` (:meth:`Recipe.check`)."""
    try:
        spec.check(dataset)
    except ValueError:
        return False
    return True
