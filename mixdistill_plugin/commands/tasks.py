"""``mixdistill tasks``: the datasets of the task registry, what they hold and what evaluates them."""

from __future__ import annotations

import click


def _dataset(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from mixdistill_plugin.tasks import is_task, task_names

    if value is not None and not is_task(value):
        raise click.BadParameter(f"{value!r} is not one of {', '.join(task_names())}")
    return value


@click.command()
@click.argument("dataset", required=False, callback=_dataset)
@click.option("--train-split", is_flag=True, help="Print only DATASET's default training split (for make distill).")
def tasks(dataset: str | None, train_split: bool) -> None:
    """The datasets mixdistill knows: answer type and shared labels, splits (train and test by default),
    the prompt kinds that apply, what the gold teacher writes from the dataset's own annotations and
    the lm-eval tasks on the test split.

    `--dataset NAME` of generate, eval, socratic and `make distill DATASET=NAME` take these names.
    """
    from mixdistill_plugin.harness.make_tasks import task_names as lm_eval_tasks
    from mixdistill_plugin.tasks import get_task, task_names

    if train_split:
        if not dataset:
            raise click.UsageError("--train-split needs a DATASET")
        click.echo(get_task(dataset).train_split)
        return
    rows = [("dataset", "answers", "labels", "splits (train, test)", "kinds", "gold teacher", "lm-eval tasks", "data")]
    for name in [dataset] if dataset else task_names():
        task = get_task(name)
        splits = f"{', '.join(task.splits[:3])}{', ...' if len(task.splits) > 3 else ''} ({task.train_split}, {task.test_split})"
        rows.append((name, task.answer_type, ", ".join(task.label_set) or "per question" * (task.answer_type == "choice")
                     or "-", splits, ", ".join(task.kinds), ", ".join(task.gold), ", ".join(lm_eval_tasks(name)),
                     "shipped" if task.shipped else "hub or data folder"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
