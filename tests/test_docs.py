"""Tables in the docs that restate the code say what the code does."""

from __future__ import annotations

import re

from click.testing import CliRunner

from conftest import REPO
from mixdistill_plugin.cli import main


def test_the_readme_command_table_lists_every_command():
    readme = (REPO / "README.md").read_text()
    listed = re.findall(r"^\| `mixdistill ([a-z-]+)` \|", readme, flags=re.MULTILINE)
    assert sorted(listed) == sorted(main.commands)


def test_the_recipe_table_in_the_docs_is_what_mixdistill_recipes_prints():
    docs = (REPO / "docs" / "recipes.md").read_text()
    blocks = re.findall(r"```\n\$ mixdistill recipes(.*?)\n(.*?)```", docs, flags=re.DOTALL)
    assert [args for args, _ in blocks] == ["", " --dataset cqa"]
    for args, block in blocks:
        assert block == CliRunner().invoke(main, ["recipes", *args.split()]).stdout
