"""The package's shape: Axolotl code under axolotl_plugin/, lm-eval code under harness/, a core that
imports neither, and no two modules that import each other."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "mixdistill_plugin"
AXOLOTL = "mixdistill_plugin.axolotl_plugin"
HARNESS = "mixdistill_plugin.harness"
# Everything else but these is the core: the CLI and its commands, and the two entry points that
# Axolotl and lm-eval reach by name (the start-up hook; the formatter's path in earlier configs).
OUTSIDE_CORE = (AXOLOTL, HARNESS, "mixdistill_plugin.cli", "mixdistill_plugin.commands", "mixdistill_plugin.startup",
                "mixdistill_plugin.formatter")


def _name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def imports() -> dict[str, set[str]]:
    """Every module of the package (the task folder's utils.py too) and all it imports, at any depth
    of its code (a function's lazy import counts), relative imports resolved."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = _name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
        found[name] = names
    return found


def test_axolotl_and_lm_eval_are_imported_in_their_subpackages_only():
    for module, names in imports().items():
        if any(_within(n, "axolotl") for n in names):
            assert _within(module, AXOLOTL), f"{module} imports Axolotl outside {AXOLOTL}"
        if any(_within(n, "lm_eval") for n in names):
            assert _within(module, HARNESS), f"{module} imports lm-eval outside {HARNESS}"


def test_the_core_reaches_neither_adapter():
    graph = imports()
    ours = {module: {n for n in names if n in graph} for module, names in graph.items()}
    for module in (m for m in graph if not _within(m, *OUTSIDE_CORE)):
        seen, todo = set(), [module]
        while todo:
            for reached in ours[todo.pop()] - seen:
                seen.add(reached)
                todo.append(reached)
        assert not {m for m in seen if _within(m, AXOLOTL, HARNESS)}, f"the core module {module} reaches an adapter"


def test_no_two_modules_import_each_other():
    graph = imports()
    mutual = sorted((a, b) for a, names in graph.items() for b in names
                    if a < b and b in graph and a in graph[b])
    assert not mutual, f"modules that import each other: {mutual}"
