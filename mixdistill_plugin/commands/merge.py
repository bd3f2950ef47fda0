"""``mixdistill merge``: one teacher folder from the folders of ``generate --shard I/N`` runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
def merge(out: Path, shards: tuple[Path, ...]) -> None:
    """Merge the SHARDS' teacher folders into OUT (raw.jsonl, questions, train.jsonl, stats.json).

    The shards must have been run with the same settings but for --shard; OUT gets their config
    without it, so `mixdistill generate` with the same options and --out OUT resumes the merged run
    (asking what no shard has, such as a missing shard's questions). Every raw line of the shards
    (and of OUT) is kept once: merging again, after more shards finish, adds only what is new.

    \b
    for i in 0 1 2 3; do mixdistill generate --dataset gsm8k --shard $i/4 --out runs/t/$i ... & done; wait
    mixdistill merge runs/t/all runs/t/0 runs/t/1 runs/t/2 runs/t/3
    """
    from mixdistill_plugin.commands.generate import summary
    from mixdistill_plugin.generate import RunFiles
    from mixdistill_plugin.merging import merge as merge_shards

    merged = merge_shards(out, shards)
    click.echo(f"merged shards {', '.join(merged.shards)} into {out}")
    if merged.missing:
        click.echo(f"missing shards: {', '.join(merged.missing)} (their questions are not in {out}; merge them when "
                   "they finish, or run generate with --out on the merged folder to ask them there)", err=True)
    summary(merged.stats, RunFiles(out))
