"""Options several commands share read the same everywhere; `eval --help` lists every task there is."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import REPO
from mixdistill_plugin.cli import main


def _options(command) -> dict[str, tuple]:
    return {param.opts[0]: (param.help, param.default, repr(param.type)) for param in command.params
            if isinstance(param.opts, list) and param.opts and param.opts[0].startswith("--")}


def test_shared_options_have_one_declaration():
    commands = {name: _options(main.get_command(None, name)) for name in main.list_commands(None)}
    for option in ("--timeout", "--tolerance", "--data-dir", "--model_args", "--apply_chat_template"):
        declared = {name: spec[option] for name, spec in commands.items() if option in spec}
        assert len(declared) >= 2 and len(set(declared.values())) == 1, (option, declared)


def test_each_command_loads_under_its_own_name_and_only_when_asked_for():
    import subprocess
    import sys

    assert all(main.get_command(None, name).name == name for name in main.list_commands(None))
    code = ("import sys; from mixdistill_plugin.cli import main; main.get_command(None, 'score'); "
            "print(sorted(m for m in sys.modules if m.startswith('mixdistill_plugin.commands.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "commands.score'" in loaded and "commands.generate'" not in loaded and "commands.eval'" not in loaded


def test_eval_help_lists_every_task_and_group():
    shown = CliRunner().invoke(main, ["eval", "--help"]).output
    tasks = [p.stem for p in (REPO / "mixdistill_plugin" / "harness" / "tasks").glob("*.yaml") if not p.name.startswith("_")]
    assert len(tasks) == 23 and all(task in shown for task in tasks)
    assert "cqa_cot" in shown and "mixdistill_strategyqa" in shown
    assert "gsm8k_md_direct" in shown and "mixdistill_gsm8k" in shown
