"""Tables in the docs that restate the code say what the code does."""

from __future__ import annotations

import re

from click.testing import CliRunner

from conftest import REPO
from mixdistill_plugin.cli import main


def test_the_readme_command_table_lists_every_command():
    readme = (REPO / "README.md").read_text()
    listed = re.findall(r"^\| `mixdistill ([a-z-]+)` \|", readme, flags=re.MULTILINE)
    assert sorted(listed) == main.list_commands(None)


def test_the_recipe_table_in_the_docs_is_what_mixdistill_recipes_prints():
    docs = (REPO / "docs" / "recipes.md").read_text()
    blocks = re.findall(r"```\n\$ mixdistill recipes(.*?)\n(.*?)```", docs, flags=re.DOTALL)
    assert [args for args, _ in blocks] == ["", " --dataset cqa", " --every-dataset"]
    for args, block in blocks:
        assert block == CliRunner().invoke(main, ["recipes", *args.split()]).stdout


def test_the_readme_dataset_table_is_the_task_registry():
    from mixdistill_plugin.harness.make_tasks import task_names
    from mixdistill_plugin.recipes import RECIPES
    from mixdistill_plugin.tasks import task_names as datasets

    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("| dataset | answers | shipped splits |"):].split("\n\n")[0].splitlines()[2:]
    cells = {row.split("|")[1].strip(" `"): [c.strip() for c in row.split("|")[1:-1]] for row in table}
    assert list(cells) == datasets()
    for dataset, row in cells.items():
        assert row[3] == ", ".join(f"`{t}`" for t in task_names(dataset))
        applies = []
        for name, recipe in RECIPES.items():
            try:
                recipe.check(dataset)
                applies.append(name)
            except ValueError:
                pass
        assert row[4] == ("all" if len(applies) == len(RECIPES) else ", ".join(applies))


def test_the_places_layout_md_names_for_adding_an_entry_exist():
    import importlib

    docs = (REPO / "docs" / "layout.md").read_text()
    section = docs[docs.index("## Adding a kind, a dataset, a teacher, a judge, a vote"):].split("\n## ")[0]
    names = re.findall(r"`(mixdistill_plugin(?:\.[A-Za-z_]+)+)`", section)
    tests = re.findall(r"`(tests/test_[a-z_]+\.py)`", section)
    assert len(names) >= 10 and len(tests) == 7
    for name in names:
        module, _, attribute = name.rpartition(".")
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            assert hasattr(importlib.import_module(module), attribute), name
    for test in tests:
        assert (REPO / test).exists(), test


def test_the_training_docs_list_every_override_of_the_paper_config_test():
    import yaml

    from test_axolotl import CPU_ONLY, FEWER_STEPS, SHORT, WEIGHTS

    docs = (REPO / "docs" / "training.md").read_text()
    table = docs[docs.index("| the test sets | why |"):].split("\n\n")[0].splitlines()[2:]
    listed = [yaml.safe_load(re.match(r"\| `([^`]*)`", row)[1]) for row in table]
    assert FEWER_STEPS == {"codellama_mixed.yml": {"max_steps": 2}} and "2 for `codellama_mixed.yml`" in docs
    assert {key: value for row in listed for key, value in row.items()} == CPU_ONLY | SHORT | WEIGHTS
    assert len(listed) == len(CPU_ONLY | SHORT | WEIGHTS)
