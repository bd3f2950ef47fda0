"""Teachers register themselves: a package's teacher is found and run exactly as the built-in ones."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import main
from mixdistill_plugin.teachers import Reply
from mixdistill_plugin.teachers import backends
from mixdistill_plugin.teachers.backends import Backend


class Echo:
    """A teacher that writes the gold answer as its rationale: right for CoT, a program for PoT."""

    name = "echo"

    async def replies(self, requests, sampling):
        for request in requests:
            answer = f"{request.question.answer:g}"
            text = f"The answer is {answer}." if request.kind == "cot" else f"ans = {answer}"
            yield Reply(request, texts=[text] * len(request.samples))


def register_teachers(register):
    register(Backend("echo", lambda options: Echo(), "writes the gold answer", needs_model=False))


@pytest.fixture
def echo_installed(monkeypatch):
    """An installed package whose entry point in mixdistill.teachers registers ``echo``."""
    point = EntryPoint("echo", f"{__name__}:register_teachers", backends.ENTRY_POINTS)
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group=None: [point] if group == backends.ENTRY_POINTS else [])
    monkeypatch.setattr(backends, "_BACKENDS", {})
    monkeypatch.setattr(backends, "_loaded", False)


def test_a_packages_teacher_is_listed_beside_the_built_in_ones(echo_installed):
    assert backends.backend_names() == ["openai", "hf", "vllm", "gold", "recorded", "echo"]
    shown = " ".join(CliRunner().invoke(main, ["generate", "--help"]).output.split())
    assert "or --recording FILE; echo: writes the gold answer." in shown


def test_a_packages_teacher_runs_through_generate(echo_installed, tmp_path):
    out = tmp_path / "echo"
    result = CliRunner().invoke(main, ["generate", "--dataset", "svamp", "--limit", "3", "--teacher", "echo",
                                       "--cot-samples", "2", "--pot-samples", "1", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["teacher"] == "echo"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kinds"]["cot"]["correct"] == 6 and stats["kinds"]["pot"]["correct"] == 3 and stats["complete"]


def test_an_unknown_teacher_is_refused_with_the_registered_names(echo_installed, tmp_path):
    result = CliRunner().invoke(main, ["generate", "--teacher", "nope", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "unknown teacher 'nope'; the registered ones: openai, hf, vllm, gold, recorded, echo" in result.output


def test_a_name_is_registered_once(echo_installed):
    backends.backend_names()
    with pytest.raises(ValueError, match="teacher 'gold' is already registered"):
        backends.register_teacher(Backend("gold", lambda options: Echo(), "again"))
