"""``mixdistill axolotl-config``: a shipped Axolotl config pointed at your data and folders."""

from __future__ import annotations

from pathlib import Path

import click

from mixdistill_plugin.recipes import RECIPES, read_template


def _settings(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    """``--set KEY=VALUE`` options as keys and their YAML values."""
    import yaml

    settings = {}
    for setting in values:
        key, sep, value = setting.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {setting!r}")
        try:
            settings[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            why = getattr(exc, "problem", None) or exc
            raise click.BadParameter(f"{setting!r}: the value is not YAML ({why})") from None
    return settings


@click.command(name="axolotl-config")
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--data", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The train.jsonl of `mixdistill generate` (the first dataset's path).")
@click.option("--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where Axolotl writes the trained adapter or model.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The config to write.")
@click.option("--base-model", help="Replace base_model.")
@click.option("--recipe", type=click.Choice(list(RECIPES)),
              help="Set the plugin's kinds and loss for a recipe (see mixdistill_plugin/recipes.py).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", callback=_settings,
              help="Set a top-level key (VALUE is read as YAML), e.g. --set max_steps=10.")
def axolotl_config(template: Path, data: Path, output_dir: Path, out: Path, base_model: str | None,
                   recipe: str | None, settings: dict) -> None:
    """Write TEMPLATE with its dataset, output and prepared-data paths (and more) replaced.

    The prepared dataset goes beside the output (OUTPUT_DIR-prepared), so a new run never reuses
    another run's tokenization.
    """
    import yaml

    from mixdistill_plugin.jsonl import write_atomic

    config = read_template(template)
    config["datasets"][0]["path"] = str(data)
    config["output_dir"] = str(output_dir)
    config["dataset_prepared_path"] = f"{output_dir}-prepared"
    if base_model:
        config["base_model"] = base_model
    if recipe:
        config.update(RECIPES[recipe].axolotl_settings())
    config.update(settings)
    write_atomic(out, f"# made by `mixdistill axolotl-config` from {template}\n" + yaml.safe_dump(config, sort_keys=False))
    click.echo(str(out))
