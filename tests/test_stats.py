"""Intervals, paired tests, and the standard errors lm-eval prints for mixdistill's metrics."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from conftest import REPO, rows
from mixdistill_plugin.stats import mcnemar_exact, paired, paired_over_seeds, stderr, wilson
from mixdistill_plugin.voting import DEFAULT_VOTE


def _wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(12, 30), (0, 30), (30, 30), (1, 3), (73, 200)])
def test_wilson_is_the_score_interval(k, n):
    assert wilson(k, n) == pytest.approx(_wilson_by_hand(k, n), abs=1e-9)
    low, high = wilson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_is_not_degenerate_at_zero():
    assert wilson(0, 30)[1] == pytest.approx(0.1135, abs=1e-4)  # the normal interval would say [0, 0]
    assert wilson(0, 0) == (0.0, 1.0)


def test_stderr_is_lm_evals_mean_stderr_on_zero_one_scores():
    from lm_eval.api.metrics import mean_stderr

    scores = [1] * 11 + [0] * 19
    assert stderr(11, 30) == pytest.approx(mean_stderr(scores), rel=1e-12)
    assert math.isnan(stderr(1, 1))


def test_mcnemar_exact_is_a_binomial_test_on_the_discordant_pairs():
    assert mcnemar_exact(2, 7) == pytest.approx(2 * (1 + 9 + 36) / 2 ** 9)  # 2 * P(X <= 2), X ~ Bin(9, 1/2)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(5, 5) == 1.0


def test_paired_counts_difference_and_interval():
    a = [True] * 10 + [False] * 15 + [True] * 5        # 15 of 30
    b = [True] * 10 + [False] * 15 + [False] * 5       # 10 of 30: a alone gets the last 5
    result = paired(a, b)
    assert (result.n, result.only_a, result.only_b) == (30, 5, 0)
    assert result.difference == pytest.approx(5 / 30)
    assert result.low <= result.difference <= result.high and result.low >= 0.0
    assert result.p_value == pytest.approx(2 / 32)
    assert paired(a, b) == result  # a fixed seed: the same interval every time
    same = paired(a, a)
    assert (same.difference, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        paired(a, b[:-1])


def test_paired_over_seeds_averages_each_question_over_the_seeds_and_resamples_questions():
    a = [[True] * 20 + [False] * 10, [True] * 25 + [False] * 5]   # seed 1: 20/30, seed 2: 25/30
    b = [[True] * 10 + [False] * 20, [True] * 25 + [False] * 5]   # seed 1: 10/30, seed 2: the same as a
    result = paired_over_seeds(a, b)
    assert (result.n, result.seeds) == (30, 2)
    assert result.per_seed == pytest.approx((10 / 30, 0.0))
    assert result.difference == pytest.approx(5 / 30)  # the mean of the seeds' differences
    assert 0.0 < result.low < result.difference < result.high
    # a question counts once: seeds that agree question by question add no evidence (60 items would be narrower)
    twice, once = paired_over_seeds([a[0], a[0]], [b[0], b[0]]), paired(a[0], b[0])
    assert (twice.low, twice.high) == pytest.approx((once.low, once.high), abs=0.02)
    as_if_60 = paired(a[0] * 2, b[0] * 2)
    assert twice.high - twice.low > as_if_60.high - as_if_60.low
    same = paired_over_seeds(a, a)
    assert (same.difference, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        paired_over_seeds(a, b[:1])


# lm-eval: a real standard error for every mixdistill metric -------------------------------------

def _items(*questions):
    """lm-eval per-document items (id, kind, gold, answers, vote) for questions (id, gold, cot, pot)."""
    return [item for qid, gold, cot, pot in questions
            for item in ((qid, "cot", gold, cot, "plain"), (qid, "pot", gold, pot, "plain"))]


def test_lm_eval_asks_our_aggregations_for_their_stderr():
    import lm_eval.evaluator_utils as evaluator_utils
    from lm_eval.api.metrics import mean, mean_stderr

    from mixdistill_plugin.harness import adapter

    items = _items(("a", 1.0, [1.0], [1.0]), ("b", 2.0, [5.0], [2.0]), ("c", 3.0, [5.0], [5.0]))
    for metric, right in (("cot_acc", 1), ("pot_acc", 2), ("mixed_maj", 1)):  # mixed, plain: b's tie goes to CoT
        these = [(*item, metric) for item in items]
        assert adapter.accuracy(these) == pytest.approx(right / 3)
        stderr_fn = evaluator_utils.stderr_for_metric(metric=adapter.accuracy, bootstrap_iters=100000)
        assert stderr_fn(these) == pytest.approx(stderr(right, 3))
    assert evaluator_utils.stderr_for_metric(metric=adapter.accuracy, bootstrap_iters=0) is None  # stderr off
    assert evaluator_utils.stderr_for_metric(metric=mean, bootstrap_iters=10) is mean_stderr  # lm-eval's own
    adapter.install_stderr()  # installing twice wraps once
    assert evaluator_utils.stderr_for_metric(metric=mean, bootstrap_iters=10) is mean_stderr


def test_the_vote_reaches_the_aggregation_through_the_documents(data, monkeypatch):
    from mixdistill_plugin.harness import adapter

    monkeypatch.setenv("MIXDISTILL_DATA_DIR", str(data))
    docs = adapter.load_docs("svamp", "test", kinds=["cot", "pot"], vote="hybrid")["test"]
    assert set(docs["vote"]) == {"hybrid"}
    assert set(adapter.load_docs("svamp", "test", kinds=["cot"])["test"]["vote"]) == {DEFAULT_VOTE}
    with pytest.raises(ValueError, match="unknown mixed vote 'majority'"):
        adapter.load_docs("svamp", "test", vote="majority")
    cot = {"id": "t", "kind": "cot", "answer": 5, "metrics": ["mixed_maj"]}
    pot = {**cot, "kind": "pot"}
    for vote, expected in (("plain", 1.0), ("pot_first", 0.0), ("hybrid", 0.0)):  # CoT says 5 (right), PoT 6
        items = [adapter.process_results({**cot, "vote": vote}, [[{"answer": 5.0}]])["mixed_maj"],
                 adapter.process_results({**pot, "vote": vote}, [[{"answer": 6.0}]])["mixed_maj"]]
        assert adapter.accuracy(items) == expected, vote


@pytest.mark.slow
def test_a_real_lm_eval_run_prints_a_stderr_for_every_metric(smollm2, tmp_path):
    cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={smollm2}",
           "--tasks", "svamp_mixed", "--limit", "8", "--batch_size", "32", "--gen_kwargs", "max_gen_toks=24",
           "--confirm_run_unsafe_code", "--log_samples", "--output_path", str(tmp_path), "--seed", "0",
           "--metadata", json.dumps({"vote": "hybrid"})]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=tmp_path,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = [line for line in proc.stdout.splitlines() if "|paths" in line.replace(" ", "")]
    assert len(table) == 5 and not any("N/A" in line for line in table), proc.stdout
    (results_file,) = tmp_path.glob("*/results_*.json")
    results = json.loads(results_file.read_text())["results"]["svamp_mixed"]
    samples = rows(next(tmp_path.glob("*/samples_svamp_mixed_*.jsonl")))
    assert {s["doc"]["vote"] for s in samples} == {"hybrid"} and len(samples) == 8
    for metric in ("cot_acc", "pot_acc", "cot_maj", "pot_maj", "mixed_maj"):
        value, se = results[f"{metric},paths"], results[f"{metric}_stderr,paths"]
        assert isinstance(se, float) and se == pytest.approx(stderr(round(value * 4), 4)), metric
