"""The lm-eval tasks: real `lm_eval` runs on the real SmolLM2 model, parity with `mixdistill score`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO, rows
from mixdistill_plugin.cli import main
from mixdistill_plugin.harness.adapter import ReadAnswers, accuracy, doc_to_text, load_docs, process_results
from mixdistill_plugin.harness.make_tasks import render
from mixdistill_plugin.answers import answers_equal, extract_answer
from mixdistill_plugin.prompts import get_kind, prompt_text
from mixdistill_plugin.scoring import metrics_of
from mixdistill_plugin.voting import majority_vote

VARIANT_METRICS = {  # what the tasks of each variant report, written out
    "cot": ["cot_acc", "cot_maj"],
    "pot": ["pot_acc", "pot_maj"],
    "mixed": ["cot_acc", "pot_acc", "cot_maj", "pot_maj", "mixed_maj"],
    "greedy": ["cot_acc", "pot_acc"],
    "direct": ["predict_acc", "predict_maj"],
}
GENERATED = render()  # every file of the task folder, by name
TASKS = {name.removesuffix(".yaml"): VARIANT_METRICS[name.removesuffix(".yaml").rpartition("_")[2]]
         for name in GENERATED if name.endswith(".yaml") and not name.startswith("_")}
GROUPS = [yaml.safe_load(text)["group"] for name, text in GENERATED.items() if name.endswith("_group.yaml")]
# the real lm-eval run: the numeric benchmarks (the label tasks run in test_lm_eval_discovery and test_distill)
RUN_TASKS = [name for name in TASKS if name.startswith(("svamp_", "gsm8k_md_"))]
AGGREGATIONS = ["cot_acc", "pot_acc", "cot_maj", "pot_maj", "mixed_maj"]


def lm_eval_env(data: Path) -> dict:
    return dict(os.environ, MIXDISTILL_DATA_DIR=str(data), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


@pytest.fixture(scope="module")
def lm_eval_run(smollm2, data, tmp_path_factory):
    """One real `lm_eval` CLI run of every task on SmolLM2, --limit 3, samples logged."""
    out = tmp_path_factory.mktemp("lm_eval")
    cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={smollm2}",
           "--include_path", str(REPO / "lm_eval_tasks"), "--tasks", ",".join(RUN_TASKS), "--limit", "3",
           "--batch_size", "32", "--gen_kwargs", "max_gen_toks=16", "--confirm_run_unsafe_code",
           "--log_samples", "--output_path", str(out), "--seed", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=lm_eval_env(data), timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = out.glob("*/results_*.json")
    samples = {task: rows(next(out.glob(f"*/samples_{task}_*.jsonl"))) for task in RUN_TASKS}
    return json.loads(results_file.read_text())["results"], samples


@pytest.mark.slow
def test_every_task_reports_its_metrics(lm_eval_run):
    results, samples = lm_eval_run
    for task in RUN_TASKS:
        metrics = TASKS[task]
        reported = {k.split(",")[0]: v for k, v in results[task].items()
                    if k.endswith(",paths") and "_stderr" not in k}
        assert set(reported) == set(metrics), task
        assert all(0.0 <= v <= 1.0 for v in reported.values())
        assert len(samples[task]) == 3
        for sample in samples[task]:
            repeats = 1 if task.endswith("greedy") else 10
            assert len(sample["resps"][0]) == repeats
            (paths,) = sample["filtered_resps"]
            assert len(paths) == repeats
            for path in paths:  # every path's answer, outcome and detail are in the log
                assert {"answer", "outcome", "detail"} <= set(_as_dict(path))
            assert sample["arguments"]["gen_args_0"]["arg_0"] == prompt_text(sample["doc"]["kind"], sample["doc"]["question"])


def _as_dict(logged) -> dict:
    return logged if isinstance(logged, dict) else __import__("ast").literal_eval(logged)


@pytest.mark.slow
def test_real_run_scores_equal_mixdistill_score(lm_eval_run, tmp_path):
    results, samples = lm_eval_run
    for task in ("svamp_mixed", "gsm8k_md_mixed", "svamp_greedy"):
        items: dict[str, dict] = {}
        for sample in samples[task]:
            doc = sample["doc"]
            entry = items.setdefault(doc["id"], {"id": doc["id"], "answer": doc["answer"], "cot": [], "pot": []})
            entry[doc["kind"]] += sample["resps"][0]
        preds = tmp_path / f"{task}.jsonl"
        preds.write_text("".join(json.dumps(i) + "\n" for i in items.values()))
        scored = json.loads(CliRunner().invoke(main, ["score", str(preds), "--json"]).stdout)
        for metric in TASKS[task]:
            assert scored[metric] == pytest.approx(100 * results[task][f"{metric},paths"], abs=1e-9), (task, metric)


@pytest.mark.slow
def test_direct_answer_tasks_score_the_answer_alone(lm_eval_run):
    """Distilling step-by-step's student: no rationale asked for, one line read, first path and maj@k."""
    results, samples = lm_eval_run
    for task in ("svamp_direct", "gsm8k_md_direct"):
        first, majority = [], []
        for sample in samples[task]:
            assert sample["arguments"]["gen_args_0"]["arg_1"]["until"] == list(get_kind("predict").stop)
            assert all("\n" not in text for text in sample["resps"][0])
            answers = [extract_answer(text) for text in sample["resps"][0]]
            first.append(answers_equal(answers[0], sample["doc"]["answer"]))
            majority.append(answers_equal(majority_vote(answers).answer, sample["doc"]["answer"]))
        assert results[task]["predict_acc,paths"] == pytest.approx(sum(first) / len(first))
        assert results[task]["predict_maj,paths"] == pytest.approx(sum(majority) / len(majority))


@pytest.mark.slow
def test_chat_template_run_through_mixdistill_eval(smollm2, data, tmp_path):
    cmd = [sys.executable, "-m", "mixdistill_plugin.cli", "eval", "--model", "hf", "--model_args",
           f"pretrained={smollm2}", "--tasks", "svamp_greedy", "--limit", "2", "--apply_chat_template",
           "--gen_kwargs", "max_gen_toks=16", "--confirm_run_unsafe_code", "--log_samples",
           "--output_path", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=lm_eval_env(data), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sample, _) = rows(next(tmp_path.glob("*/samples_svamp_greedy_*.jsonl")))
    prompt = sample["arguments"]["gen_args_0"]["arg_0"]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    messages = [{"role": "user", "content": prompt_text("cot", sample["doc"]["question"])}]
    assert prompt == tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@pytest.mark.slow
def test_unsafe_tasks_need_confirmation(smollm2, data, tmp_path):
    cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={smollm2}",
           "--include_path", str(REPO / "lm_eval_tasks"), "--tasks", "svamp_pot", "--limit", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=lm_eval_env(data), timeout=600)
    assert proc.returncode != 0 and "confirm_run_unsafe_code" in proc.stderr


def _docs(*questions):
    return [{"id": qid, "question": f"Question {qid}?", "answer": gold, "kind": kind,
             "metrics": list(AGGREGATIONS)} for qid, gold, kind in questions]


def _score_with_the_task(docs, resps):
    filtered = ReadAnswers(timeout=1.0).apply(resps, docs)
    items = {m: [] for m in AGGREGATIONS}
    for doc, paths in zip(docs, filtered):
        for metric, item in process_results(doc, [paths]).items():
            items[metric].append(item)
    return {m: accuracy(items[m]) for m in AGGREGATIONS}, filtered


def test_filter_and_aggregation_on_hand_computed_cases(tmp_path):
    docs = _docs(("tie", 5, "cot"), ("tie", 5, "pot"), ("invalid", 3, "cot"), ("invalid", 3, "pot"),
                 ("disagree", 10, "cot"), ("disagree", 10, "pot"))
    resps = [
        ["The answer is 5.", "The answer is 6."],            # tie 5/6 in CoT: the first (5) wins
        ["ans = 6", "ans = 5"],                              # tie in PoT: 6 came first
        ["no idea", "still none"],                           # nothing valid: no vote
        ["ans = 1 / 0", "while True:\n    pass"],            # an error and a timeout: no vote
        ["The answer is 12.", "The answer is 12.", "The answer is 10."],
        ["ans = 10", "ans = 5 * 2", "print('ten')"],         # PoT says 10 twice; pooled 10 wins 3 to 2
    ]
    metrics, filtered = _score_with_the_task(docs, resps)
    assert metrics == pytest.approx({
        "cot_acc": 1 / 3,    # tie
        "pot_acc": 1 / 3,    # disagree
        "cot_maj": 1 / 3,    # tie (5 first); disagree votes 12
        "pot_maj": 1 / 3,    # tie votes 6; disagree 10
        "mixed_maj": 1 / 3,  # tie: 5 and 6 get 2 each, PoT's 6 came first (pot_first); disagree: 10 x3 vs 12 x2
    })
    assert [p["outcome"] for p in filtered[3]] == ["error", "timeout"]
    assert filtered[5][2] == {"answer": None, "outcome": "no_answer", "detail": ""}

    preds = tmp_path / "p.jsonl"
    by_id: dict = {}
    for doc, paths in zip(docs, resps):
        by_id.setdefault(doc["id"], {"id": doc["id"], "answer": doc["answer"]})[doc["kind"]] = paths
    preds.write_text("".join(json.dumps(v) + "\n" for v in by_id.values()))
    scored = json.loads(CliRunner().invoke(main, ["score", str(preds), "--json"]).stdout)
    assert {m: scored[m] for m in AGGREGATIONS} == pytest.approx({m: 100 * v for m, v in metrics.items()})


def test_all_invalid_scores_zero():
    docs = _docs(("q", 1, "cot"), ("q", 1, "pot"))
    metrics, _ = _score_with_the_task(docs, [["none"], ["x = 1"]])
    assert metrics == {m: 0.0 for m in AGGREGATIONS}


def test_docs_prompts_and_yaml_agree_with_the_registry(data, monkeypatch):
    from lm_eval.utils import load_yaml_config

    monkeypatch.setenv("MIXDISTILL_DATA_DIR", str(data))
    docs = load_docs("svamp", "test", kinds=["cot", "pot"])["test"]
    assert len(docs) == 400 and docs[0]["kind"] == "cot" and docs[1]["kind"] == "pot"
    assert docs[0]["id"] == docs[1]["id"] and docs[0]["metrics"] == TASKS["svamp_mixed"]
    assert doc_to_text(docs[1]) == prompt_text("pot", docs[1]["question"])
    assert len(load_docs("gsm8k", "test", kinds=["cot"])["test"]) == 1319
    for name, metrics in TASKS.items():
        config = load_yaml_config(str(REPO / "lm_eval_tasks" / f"{name}.yaml"))  # includes resolved, as lm-eval does
        kinds = config["dataset_kwargs"]["kinds"]
        assert config["task"] == name
        assert [m["metric"] for m in config["metric_list"]] == metrics == metrics_of(kinds, config["dataset_kwargs"].get("votes", True))
        assert config.get("unsafe_code", False) == ("pot" in kinds)
        assert all(tuple(config["generation_kwargs"]["until"]) == get_kind(kind).stop for kind in kinds)


def test_committed_task_files_are_the_generators_output():
    from mixdistill_plugin.harness.make_tasks import render

    files = render()
    folder = REPO / "lm_eval_tasks"
    assert {p.name for p in folder.iterdir() if p.suffix == ".yaml" or p.name.endswith("_yaml")} == set(files)
    assert {name: (folder / name).read_text() for name in files} == files
    assert len(TASKS) == 23 and {"svamp_mixed", "gsm8k_md_direct", "cqa_cot", "esnli_direct", "anli_cot",
                                 "strategyqa_direct", "file_md_mixed"} <= set(TASKS)


@pytest.mark.slow  # indexes every built-in lm-eval task
def test_task_names_do_not_collide_with_lm_eval_builtins():
    import lm_eval.tasks
    from lm_eval.tasks import TaskManager

    # lm-eval's own folder alone (with its defaults, TaskManager also indexes ours)
    builtin = set(TaskManager(include_path=str(Path(lm_eval.tasks.__file__).parent), include_defaults=False).all_tasks)
    ours = set(TASKS) | set(GROUPS)
    assert {"cqa_cot", "esnli_direct", "anli_cot", "strategyqa_cot", "mixdistill_anli", "mixdistill"} <= ours
    assert not ours & builtin
    assert "gsm8k_cot" in builtin  # why the GSM8K tasks carry `md`


def test_questions_limit_questions_not_documents(data, monkeypatch):
    monkeypatch.setenv("MIXDISTILL_DATA_DIR", str(data))
    docs = load_docs("svamp", "test", kinds=["cot", "pot"], questions=3)["test"]
    assert len(docs) == 6 and len(set(docs["id"])) == 3


@pytest.mark.slow  # indexes every built-in lm-eval task
def test_mixdistill_eval_passes_repeats_and_questions_to_lm_eval(monkeypatch):
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import load_yaml_config

    from mixdistill_plugin.harness import runner

    seen = {}

    def run_lm_eval(command, args, include_path=None):
        seen.update(command=command, args=args, include_path=include_path)
        overrides = Path(include_path)
        seen["files"] = sorted(p.name for p in overrides.iterdir())
        seen["mixed"] = load_yaml_config(str(overrides / "svamp_mixed.yaml"))
        seen["index"] = TaskManager(include_path=include_path).task_index
        return 3

    monkeypatch.setattr(runner, "run_lm_eval", run_lm_eval)
    result = CliRunner().invoke(main, ["eval", "--repeats", "4", "--questions", "5", "--tasks", "svamp_mixed",
                                       "--metadata", '{"vote": "hybrid"}'])
    assert result.exit_code == 3  # lm-eval's own exit status
    assert seen["command"] == "run" and seen["args"][:2] == ["--tasks", "svamp_mixed"]
    assert json.loads(seen["args"][seen["args"].index("--metadata") + 1]) == {"vote": "hybrid", "questions": 5}
    assert "svamp_greedy.yaml" not in seen["files"] and {"svamp_mixed.yaml", "file_md_direct.yaml"} <= set(seen["files"])
    assert seen["mixed"]["repeats"] == 4 and seen["mixed"]["dataset_kwargs"]["kinds"] == ["cot", "pot"]
    assert seen["index"]["svamp_mixed"]["yaml_path"].startswith(seen["include_path"])  # the override wins
    assert seen["index"]["svamp_greedy"]["yaml_path"] == str(REPO / "mixdistill_plugin/harness/tasks/svamp_greedy.yaml")
