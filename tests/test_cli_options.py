"""Options several commands share read the same everywhere; `eval --help` lists every task there is."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import REPO
from mixdistill_plugin.cli import main


def _options(command) -> dict[str, tuple]:
    return {param.opts[0]: (param.help, param.default, repr(param.type)) for param in command.params
            if isinstance(param.opts, list) and param.opts and param.opts[0].startswith("--")}


def test_shared_options_have_one_declaration():
    commands = {name: _options(command) for name, command in main.commands.items()}
    for option in ("--timeout", "--tolerance", "--data-dir"):
        declared = {name: spec[option] for name, spec in commands.items() if option in spec}
        assert len(declared) >= 2 and len(set(declared.values())) == 1, (option, declared)


def test_eval_help_lists_every_task_and_group():
    shown = CliRunner().invoke(main, ["eval", "--help"]).output
    tasks = [p.stem for p in (REPO / "mixdistill_plugin" / "harness" / "tasks").glob("*.yaml") if not p.name.startswith("_")]
    assert len(tasks) == 23 and all(task in shown for task in tasks)
    assert "cqa_cot" in shown and "mixdistill_strategyqa" in shown
    assert "gsm8k_md_direct" in shown and "mixdistill_gsm8k" in shown
