"""Shared fixtures: the data folder (../shared/data or MIXDISTILL_DATA_DIR) and one executor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mixdistill_plugin.executor import Executor

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("MIXDISTILL_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data() -> Path:
    path = data_dir()
    if not (path / "svamp" / "SVAMP.json").exists():
        pytest.skip(f"no dataset copy at {path}; set MIXDISTILL_DATA_DIR to a folder laid out like ../shared/data")
    return path


@pytest.fixture(scope="session")
def executor():
    with Executor(timeout=1.0) as ex:
        yield ex
