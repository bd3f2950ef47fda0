"""``mixdistill report``: tables and one plot for one or more runs."""

from __future__ import annotations

from pathlib import Path

import click

from mixdistill_plugin.commands.options import vote_option


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where report.md and report.png go [default: the first RUN].")
@vote_option("The mixed vote of the accuracy table and of adaptive sampling at its cap (the vote table shows them all)")
def report(runs: tuple[Path, ...], out: Path | None, vote) -> None:
    """Write report.md and report.png for RUNS (folders made by `make distill`) and print the tables.

    Teacher yield and coverage per kind come from RUN/teacher/stats.json; student accuracy (CoT
    and PoT single path, maj@k of CoT, PoT and mixed) from the lm-eval samples under RUN/eval/<student>/,
    scored like `mixdistill score`, each with its 95% Wilson interval. Then: paired comparisons of
    the students and recipes (exact McNemar, paired bootstrap interval), the mixed vote by every
    aggregation method, and adaptive sampling (stop when CoT and PoT agree): accuracy against the
    mean number of paths. The plot: accuracy against the number of sampled paths.
    """
    from mixdistill_plugin.report import write_report

    click.echo(write_report(list(runs), out or runs[0], vote))
