"""Teachers and judges register themselves: a package's teacher or judge is found and run exactly as
the built-in ones."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner

from mixdistill_plugin import judges
from mixdistill_plugin.cli import main
from mixdistill_plugin.registry import Registry
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
    register(Backend("echo", lambda options: Echo(), "writes the gold answer", needs_model=False, uses_gold=True))


class FairJudge:
    """A judge that gives every rationale a 4."""

    name = "fair"

    async def replies(self, requests, sampling):
        for request in requests:
            yield Reply(request, texts=[json.dumps({"steps_correct": True, "answer_follows": True,
                                                    "irrelevant_or_missing": "", "reasons": "fair", "score": 4})])


def register_judges(register):
    register(judges.Judge("fair", lambda options: FairJudge(), "grades everything 4"))


def installed(monkeypatch, module, name: str, hook: str) -> None:
    """An installed package whose entry point in the group of the registry ``module.name`` runs
    ``hook`` of this module; ``module.name``: a fresh registry of the same kind."""
    registry = getattr(module, name)
    point = EntryPoint("echo", f"{__name__}:{hook}", registry.group)
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group=None: [point] if group == registry.group else [])
    monkeypatch.setattr(module, name, Registry(registry.what, registry.option, registry.group, registry.builtin))


@pytest.fixture
def echo_installed(monkeypatch):
    installed(monkeypatch, backends, "TEACHERS", "register_teachers")


def test_a_packages_teacher_is_listed_beside_the_built_in_ones(echo_installed):
    assert backends.TEACHERS.names() == ["openai", "hf", "vllm", "gold", "recorded", "echo"]
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


def test_a_teacher_that_writes_from_the_gold_answers_cannot_label_questions_without_them(echo_installed, tmp_path):
    result = CliRunner().invoke(main, ["generate", "--teacher", "echo", "--no-gold", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--no-gold: the echo teacher writes from the gold answers" in result.output
    shown = " ".join(CliRunner().invoke(main, ["generate", "--help"]).output.split())
    assert "The teacher's model (openai, hf, vllm):" in shown


def test_an_unknown_teacher_is_refused_with_the_registered_names(echo_installed, tmp_path):
    result = CliRunner().invoke(main, ["generate", "--teacher", "nope", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "unknown teacher 'nope'; the registered ones: openai, hf, vllm, gold, recorded, echo" in result.output


def test_a_name_is_registered_once(echo_installed):
    backends.TEACHERS.names()
    with pytest.raises(ValueError, match="teacher 'gold' is already registered"):
        backends.TEACHERS.register(Backend("gold", lambda options: Echo(), "again"))


def test_a_packages_judge_is_listed_and_grades_a_teacher_folder(monkeypatch, tmp_path):
    installed(monkeypatch, judges, "JUDGES", "register_judges")
    shown = " ".join(CliRunner().invoke(main, ["grade", "--help"]).output.split())
    assert "hf: a local transformers model (--model PATH); fair: grades everything 4." in shown
    out = tmp_path / "gold"
    made = CliRunner().invoke(main, ["generate", "--dataset", "svamp", "--limit", "2", "--teacher", "gold",
                                     "--out", str(out), "--no-progress"])
    assert made.exit_code == 0, made.output
    graded = CliRunner().invoke(main, ["grade", str(out), "--judge", "fair", "--model", "any", "--no-progress"])
    assert graded.exit_code == 0, graded.output
    grades = [json.loads(line) for line in (out / "grades.jsonl").read_text().splitlines()]
    assert len(grades) == 4 and {(g["judge"], g["grade"]) for g in grades} == {("fair", 4)}  # 2 questions x CoT, PoT
    refused = CliRunner().invoke(main, ["grade", str(out), "--judge", "nope", "--model", "any"])
    assert refused.exit_code == 2 and "unknown judge 'nope'; the registered ones: openai, hf, fair" in refused.output
