"""``type: mixdistill_plugin.formatter``, the Axolotl dataset type of earlier configs: it loads
:mod:`mixdistill_plugin.axolotl_plugin.formatter`, where the formatter lives."""

from __future__ import annotations


def load(tokenizer, cfg, ds_cfg: dict | None = None):
    """Axolotl's entry point: :func:`mixdistill_plugin.axolotl_plugin.formatter.load`."""
    from mixdistill_plugin.axolotl_plugin.formatter import load as load_formatter

    return load_formatter(tokenizer, cfg, ds_cfg)
