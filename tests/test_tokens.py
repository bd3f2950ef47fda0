"""Token accounting of a teacher run: a server's usage, local counts where it sends none, the cost."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import main
from mixdistill_plugin.cost import Price
from openai_server import OpenAIServer
from test_generate import QUESTIONS, questions_file, script_for


def generate(server: OpenAIServer, tmp_path, *extra: str):
    return CliRunner().invoke(main, [
        "generate", "--dataset", str(questions_file(tmp_path, QUESTIONS)), "--teacher", "openai", "--model", "m",
        "--base-url", server.base_url, "--cot-samples", "2", "--pot-samples", "1", "--no-progress", *extra])


def test_the_cost_of_a_run_from_the_servers_usage(tmp_path):
    with OpenAIServer(script_for(QUESTIONS)[0]) as server:
        result = generate(server, tmp_path, "--price", "3/15", "--out", str(tmp_path / "run" / "teacher"))
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "run" / "teacher" / "stats.json").read_text())
    assert stats["prompt_tokens"] > 0 and stats["completion_tokens"] > 0 and "replies_without_usage" not in stats["run"]
    expected = (3 * stats["prompt_tokens"] + 15 * stats["completion_tokens"]) / 1e6
    assert stats["cost"]["total"] == pytest.approx(expected)
    assert sum(stats["cost"]["kinds"].values()) == pytest.approx(expected)
    assert f"cost: {expected:.4f} at 3/15 per million tokens" in result.output
    report = CliRunner().invoke(main, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "r")])
    assert report.exit_code == 0
    cot = stats["kinds"]["cot"]
    row = next(line for line in (tmp_path / "r" / "report.md").read_text().splitlines() if "| cot |" in line)
    assert row.endswith(f"| {cot['prompt_tokens']:,} / {cot['completion_tokens']:,} | "
                        f"{stats['cost']['kinds']['cot']:.4f} |")


def test_replies_without_usage_are_said_so_or_counted_with_the_tokenizer(smollm2, tmp_path):
    script = script_for(QUESTIONS)[0]
    script.usage = False
    with OpenAIServer(script) as server:
        uncounted = generate(server, tmp_path, "--out", str(tmp_path / "none" / "teacher"))
        counted = generate(server, tmp_path, "--tokenizer", str(smollm2), "--out", str(tmp_path / "counted"))
    assert uncounted.exit_code == 0 and counted.exit_code == 0, counted.output
    none = json.loads((tmp_path / "none" / "teacher" / "stats.json").read_text())
    assert none["prompt_tokens"] == none["completion_tokens"] == 0
    assert none["run"]["replies_without_usage"] == none["run"]["requests"] and none["run"]["tokens_counted_locally"] == 0
    assert "carried no token counts, not counted (pass --tokenizer to count them)" in uncounted.output
    report = CliRunner().invoke(main, ["report", str(tmp_path / "none"), "--out", str(tmp_path / "r")])
    rows = [line for line in (tmp_path / "r" / "report.md").read_text().splitlines() if "| cot |" in line]
    assert report.exit_code == 0 and len(rows) == 1 and rows[0].endswith("| - | - |")  # no tokens counted, no cost
    stats = json.loads((tmp_path / "counted" / "stats.json").read_text())
    assert stats["run"]["tokens_counted_locally"] == stats["run"]["replies_without_usage"] == stats["run"]["requests"]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    raw = [json.loads(line) for line in (tmp_path / "counted" / "raw.jsonl").read_text().splitlines()]
    # the completions' tokens as the tokenizer counts their text (a reply's count shared out over its samples,
    # rounded down), and the prompts through the chat template: the few-shot prompt, split over the samples
    texts = sum(len(tokenizer(line["text"], add_special_tokens=False)["input_ids"]) for line in raw)
    assert texts - len(raw) < stats["completion_tokens"] <= texts
    assert all(line["prompt_tokens"] > 100 for line in raw)


@pytest.mark.parametrize("spec, price", [("3/15", Price(3, 15)), ("2", Price(2, 2)), ("0.15/0.6", Price(0.15, 0.6))])
def test_prices_parse(spec, price):
    assert Price.parse(spec) == price


@pytest.mark.parametrize("spec", ["", "a/b", "1/2/3", "-1/2", "inf"])
def test_a_bad_price_is_refused(spec, tmp_path):
    with pytest.raises(ValueError):
        Price.parse(spec)
    result = CliRunner().invoke(main, ["generate", "--teacher", "gold", "--price", spec, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--price" in result.output and not (tmp_path / "o").exists()
