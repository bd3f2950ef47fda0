"""The Axolotl formatter and plugin, on the real SmolLM2 tokenizer and model.

The formatter is tested in-process as Axolotl's own tests/prompt_strategies do: the strategy comes
from Axolotl's loader by the config's ``type:`` and runs over a dataset through Axolotl's
``TokenizedPromptDataset`` (:func:`format_in_process`). The real `axolotl` CLI runs in the slow tier,
once per concern: preprocessing gives the in-process rows, the plugin's options are part of Axolotl's
config validation, a bad record is named to the user, the shipped GPU configs preprocess, training
runs, and the training prompt is the lm-eval prompt.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, rows

CPU_CONFIG = REPO / "axolotl_configs" / "smollm2_cpu.yml"
RECORDS = [
    {"id": "a", "question": "Ann has 3 red and 4 blue pens. How many pens does she have?", "answer": 7.0,
     "kind": "cot", "rationale": "She has 3 + 4 = 7 pens. The answer is 7.", "teacher": "gold"},
    {"id": "a", "question": "Ann has 3 red and 4 blue pens. How many pens does she have?", "answer": 7.0,
     "kind": "pot", "rationale": "red = 3\nblue = 4\nans = red + blue", "teacher": "gold"},
    {"id": "b", "question": "A box holds 6 eggs. How many eggs are in 5 boxes?", "answer": 30.0,
     "kind": "cot", "rationale": "5 boxes of 6 eggs is 5 * 6 = 30 eggs. The answer is 30.", "teacher": "gold"},
    {"id": "b", "question": "A box holds 6 eggs. How many eggs are in 5 boxes?", "answer": 30.0,
     "kind": "pot", "rationale": "ans = 5 * 6", "teacher": "gold"},
]


def env() -> dict:
    return dict(os.environ, AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


def write_config(tmp: Path, model: Path, records: list, **overrides) -> Path:
    data = tmp / "train.jsonl"
    data.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    config = yaml.safe_load(CPU_CONFIG.read_text())
    config.update(base_model=str(model), dataset_prepared_path=str(tmp / "prepared"), output_dir=str(tmp / "out"),
                  shuffle_merged_datasets=False)  # prepared rows in record order
    config["datasets"][0]["path"] = str(data)
    config.update(overrides)
    path = tmp / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def axolotl(command: str, config: Path, *extra: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "axolotl.cli.main", command, str(config), *extra],
                          capture_output=True, text=True, env=env(), timeout=timeout)


def prepared_rows(tmp: Path) -> list[dict]:
    import datasets

    (folder,) = [p for p in (tmp / "prepared").iterdir() if p.is_dir()]
    return list(datasets.load_from_disk(str(folder)))


def format_in_process(tokenizer, tmp: Path, records: list, **overrides) -> list[dict]:
    """The rows `axolotl preprocess` makes of ``records`` under the CPU config with ``overrides``,
    in-process: the strategy from Axolotl's own loader (the dataset's ``type:``, given the config and
    the dataset entry, so a local ``train.jsonl`` is checked as in a real run), mapped over the
    records by Axolotl's ``TokenizedPromptDataset``."""
    import datasets
    from axolotl.datasets import TokenizedPromptDataset
    from axolotl.prompt_strategies import load
    from axolotl.utils.dict import DictDefault

    data = tmp / "train.jsonl"
    data.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    config = yaml.safe_load(CPU_CONFIG.read_text())
    config.update(overrides)
    ds_cfg = dict(config["datasets"][0], path=str(data))
    strategy = load(ds_cfg["type"], tokenizer, DictDefault(config), ds_cfg)
    assert strategy is not None, f"Axolotl found no prompt strategy {ds_cfg['type']!r}"
    dataset = datasets.Dataset.from_list([r for r in records if isinstance(r, dict)])
    return list(TokenizedPromptDataset(strategy, dataset, process_count=1))


@pytest.fixture(scope="module")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)


def as_batch(records: list[dict]) -> dict[str, list]:
    """Records as the column batch Axolotl's batched map hands the strategy."""
    return {key: [r[key] for r in records] for key in records[0]}


def unbatch(columns: dict[str, list]) -> list[dict]:
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def bos_text(tokenizer) -> str:
    """The BOS token as text where the tokenizer adds one to plain prompts, else ""."""
    return tokenizer.bos_token if tokenizer("x")["input_ids"][0] == tokenizer.bos_token_id else ""


def split_example(row: dict, tokenizer) -> tuple[str, str]:
    """(the masked prompt, the trained part) of a prepared row, decoded."""
    n_prompt = next(i for i, label in enumerate(row["labels"]) if label != -100)
    assert all(label == -100 for label in row["labels"][:n_prompt])
    assert row["labels"][n_prompt:] == row["input_ids"][n_prompt:]
    decode = lambda ids: tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)  # noqa: E731
    return decode(row["input_ids"][:n_prompt]), decode(row["input_ids"][n_prompt:])


@pytest.mark.parametrize("prompt_format", ["plain", "chat"])
def test_formatter_masks_the_prompt_and_trains_rationale_plus_eos(tokenizer, tmp_path, prompt_format):
    from mixdistill_plugin.harness.adapter import doc_to_text

    prepared = format_in_process(tokenizer, tmp_path, RECORDS, mixdistill_prompt_format=prompt_format)
    assert len(prepared) == 4
    for record, row in zip(RECORDS, prepared):
        prompt, trained = split_example(row, tokenizer)
        task_prompt = doc_to_text({"kind": record["kind"], "question": record["question"]})
        if prompt_format == "plain":
            bos = bos_text(tokenizer)
            assert prompt == bos + task_prompt
            lead = " " if record["kind"] == "cot" else "\n"
            assert trained == lead + record["rationale"] + tokenizer.eos_token
        else:
            chat = [{"role": "user", "content": task_prompt}]
            assert prompt == tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
            assert trained == record["rationale"] + tokenizer.eos_token + "\n"
        assert row["mixdistill_kind"] == {"cot": 1, "pot": 2}[record["kind"]]


@pytest.mark.slow
def test_axolotl_preprocess_makes_the_in_process_rows(smollm2, tokenizer, tmp_path):
    """The real `axolotl preprocess` (the CPU config: chat format, the plugin) gives the rows the
    in-process tests check."""
    config = write_config(tmp_path, smollm2, RECORDS)
    proc = axolotl("preprocess", config, "--no-download")
    assert proc.returncode == 0, proc.stderr[-3000:]
    in_process = tmp_path / "in_process"
    in_process.mkdir()
    expected = format_in_process(tokenizer, in_process, RECORDS)
    columns = ("input_ids", "attention_mask", "labels", "mixdistill_kind")
    assert [{c: row[c] for c in columns} for row in prepared_rows(tmp_path)] == [
        {c: row[c] for c in columns} for row in expected]


@pytest.mark.slow
def test_training_prompt_is_byte_identical_to_the_lm_eval_prompt(smollm2, data, tmp_path):
    """One real lm-eval run and one real Axolotl preprocess on the same SVAMP test questions."""
    from transformers import AutoTokenizer

    out = tmp_path / "lm_eval"
    for chat in (False, True):
        cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={smollm2}",
               "--include_path", str(REPO / "lm_eval_tasks"), "--tasks", "svamp_greedy", "--limit", "2",
               "--gen_kwargs", "max_gen_toks=4", "--confirm_run_unsafe_code", "--log_samples",
               "--output_path", str(out / str(chat))] + (["--apply_chat_template"] if chat else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(env(), MIXDISTILL_DATA_DIR=str(data)))
        assert proc.returncode == 0, proc.stderr[-3000:]
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    for chat in (False, True):
        samples = rows(next((out / str(chat)).glob("*/samples_svamp_greedy_*.jsonl")))
        records = [{"id": s["doc"]["id"], "question": s["doc"]["question"], "answer": s["doc"]["answer"],
                    "kind": s["doc"]["kind"], "rationale": "ans = 1", "teacher": "test"} for s in samples]
        work = tmp_path / f"ax-{chat}"
        work.mkdir()
        config = write_config(work, smollm2, records, mixdistill_prompt_format="chat" if chat else "plain")
        assert axolotl("preprocess", config, "--no-download").returncode == 0
        for sample, row in zip(samples, prepared_rows(work)):
            prompt, _ = split_example(row, tokenizer)
            evaluated = sample["arguments"]["gen_args_0"]["arg_0"]
            if not chat and tokenizer.bos_token and prompt.startswith(tokenizer.bos_token):
                prompt = prompt[len(tokenizer.bos_token):]  # BOS is a token, not part of the prompt text
            assert prompt.encode() == evaluated.encode()


def _losses(output: str) -> list[float]:
    return [float(x) for x in re.findall(r"'loss': '([0-9.]+)'", output)]


@pytest.mark.slow
def test_train_few_steps_and_loss_weights_change_the_loss(smollm2, data, tmp_path):
    from mixdistill_plugin.tasks import load_questions
    from mixdistill_plugin.teachers.gold import gold_rationale

    questions, _ = load_questions("svamp", "train", data_dir=data, limit=12)
    records = [{"id": q.id, "question": q.question, "answer": q.answer, "kind": kind,
                "rationale": gold_rationale(q, kind), "teacher": "gold"} for q in questions for kind in ("cot", "pot")]
    results = {}
    for name, weights in (("equal", {"cot": 1.0, "pot": 1.0}), ("cot_only", {"cot": 1.0, "pot": 0.0})):
        work = tmp_path / name
        work.mkdir()
        config = write_config(work, smollm2, records, max_steps=2, mixdistill_loss_weights=weights,
                              sample_packing=True, micro_batch_size=2)
        proc = axolotl("train", config, "--launcher", "python")
        assert proc.returncode == 0, proc.stderr[-4000:]
        losses = _losses(proc.stdout + proc.stderr)
        assert len(losses) == 2 and all(0 < x < 20 for x in losses)
        assert (work / "out" / "adapter_model.safetensors").stat().st_size > 100_000
        results[name] = losses
    # same seed, same first batch: dropping the PoT tokens from the sum lowers the first loss
    assert results["cot_only"][0] < results["equal"][0]


@pytest.mark.slow
def test_weighted_loss_is_the_specified_weighted_sum(smollm2):
    """On the real model and a real collated batch: sum(w[kind] * CE) / N, and HF's loss at w = 1."""
    import torch
    import torch.nn.functional as F
    from axolotl.utils.collators import DataCollatorForSeq2Seq
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mixdistill_plugin.axolotl_plugin.loss import KindCodes, KindWeightedLoss, weight_table
    from mixdistill_plugin.axolotl_plugin.formatter import KIND_COLUMN, MixDistillStrategy

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    model = AutoModelForCausalLM.from_pretrained(smollm2).eval()
    strategy = MixDistillStrategy(tokenizer, train_on_inputs=False, sequence_len=512, prompt_format="plain",
                                  kinds=None, kind_codes=True)
    features = unbatch(strategy.tokenize_prompt(as_batch(RECORDS)))
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, return_tensors="pt")
    plain = collator([{k: v for k, v in f.items() if k != KIND_COLUMN} for f in features])
    unweighted = KindCodes(collator, weighted=False)([dict(f) for f in features])
    assert unweighted.keys() == plain.keys() and all((unweighted[k] == plain[k]).all() for k in plain)
    batch = KindCodes(collator, weighted=True)(features)
    kinds = batch.pop(KIND_COLUMN)
    labels = batch["labels"]
    assert kinds.shape == labels.shape
    with torch.no_grad():
        outputs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        reference = model(**batch).loss  # transformers' own causal-LM loss
    shift_labels, shift_kinds = labels[:, 1:], kinds[:, 1:]
    logits = outputs.logits[:, :-1].float()  # (N, V) layout as transformers uses: (B, V, T) differs by ~1e-4 on CPU
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), shift_labels.reshape(-1), ignore_index=-100,
                         reduction="none").view_as(shift_labels)
    per_kind = {code: ce[(shift_kinds == code) & (shift_labels != -100)].sum() for code in (1, 2)}
    n = (shift_labels != -100).sum()
    for w_cot, w_pot in ((1.0, 1.0), (0.5, 0.5), (1.0, 0.0), (0.3, 2.0)):
        loss_fn = KindWeightedLoss(weight_table({"cot": w_cot, "pot": w_pot}))
        loss_fn.kinds = kinds
        got = loss_fn(outputs, labels, num_items_in_batch=n)
        assert got.item() == pytest.approx(((w_cot * per_kind[1] + w_pot * per_kind[2]) / n).item(), rel=1e-5)
        if (w_cot, w_pot) == (1.0, 1.0):
            assert got.item() == pytest.approx(reference.item(), rel=1e-5)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"mixdistill_loss_weights": {"cot": -1.0}}, "weights must be finite and >= 0"),
        ({"mixdistill_loss_weights": {"cot": 0.0, "pot": 0.0}}, "all weights are 0"),
        ({"mixdistill_loss_weights": {"essay": 1.0}}, "unknown kind(s) ['essay']"),
        ({"mixdistill_kinds": ["cot", "poetry"]}, "unknown kind(s) ['poetry']"),
        ({"mixdistill_prompt_format": "markdown"}, "mixdistill_prompt_format"),
    ],
)
def test_plugin_options_are_validated(options, message):
    from pydantic import ValidationError

    from mixdistill_plugin.axolotl_plugin.args import MixDistillArgs

    with pytest.raises(ValidationError) as error:
        MixDistillArgs(**options)
    assert message in str(error.value)


@pytest.mark.slow
def test_invalid_option_fails_config_validation_in_axolotl(smollm2, tmp_path):
    config = write_config(tmp_path, smollm2, RECORDS, mixdistill_loss_weights={"cot": -1.0})
    proc = axolotl("preprocess", config, "--no-download", timeout=600)
    assert proc.returncode != 0
    assert "weights must be finite and >= 0" in proc.stdout + proc.stderr


def test_train_only_selected_kinds(tokenizer, tmp_path):
    prepared = format_in_process(tokenizer, tmp_path, RECORDS, mixdistill_kinds=["pot"])
    assert [row["mixdistill_kind"] for row in prepared] == [2, 2]


def test_malformed_record_is_named_by_file_line_and_field(tokenizer, tmp_path):
    bad = dict(RECORDS[1])
    del bad["rationale"]
    with pytest.raises(ValueError) as error:
        format_in_process(tokenizer, tmp_path, [RECORDS[0], bad])
    assert f"{tmp_path / 'train.jsonl'}:2: field 'rationale': missing" in str(error.value)


@pytest.mark.slow
def test_malformed_record_is_named_by_axolotl_preprocess(smollm2, tmp_path):
    bad = dict(RECORDS[1])
    del bad["rationale"]
    config = write_config(tmp_path, smollm2, [RECORDS[0], bad])
    proc = axolotl("preprocess", config, "--no-download", timeout=600)
    assert proc.returncode != 0
    assert f"{tmp_path / 'train.jsonl'}:2: field 'rationale': missing" in proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["llama2_mixed.yml", "codellama_mixed.yml"])
def test_gpu_configs_validate_and_preprocess(smollm2, tmp_path, name):
    """The paper-setting configs as they ship, with only the model and the paths made local."""
    config = yaml.safe_load((REPO / "axolotl_configs" / name).read_text())
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    config.update(base_model=str(smollm2), dataset_prepared_path=str(tmp_path / "prepared"),
                  output_dir=str(tmp_path / "out"))
    config["datasets"][0]["path"] = str(data)
    assert config["sample_packing"] and config["gradient_checkpointing"] and config["bf16"] == "auto"
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    proc = axolotl("preprocess", path, "--no-download")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Success" in proc.stdout + proc.stderr


def test_formatter_without_the_plugin_makes_plain_axolotl_rows(tokenizer):
    from axolotl.utils.dict import DictDefault

    from mixdistill_plugin.axolotl_plugin.formatter import KIND_COLUMN, load

    bare = load(tokenizer, DictDefault({"sequence_len": 256, "train_on_inputs": False}))
    with_plugin = load(tokenizer, DictDefault({"sequence_len": 256, "train_on_inputs": False,
                                               "plugins": ["mixdistill_plugin.axolotl_plugin.MixDistillPlugin"]}))
    (row,) = unbatch(bare.tokenize_prompt(as_batch(RECORDS[:1])))
    assert set(row) == {"input_ids", "attention_mask", "labels"}
    assert with_plugin.tokenize_prompt(as_batch(RECORDS[:1]))[KIND_COLUMN] == [1]


SOCRATIC_RECORD = {"id": "c", "question": RECORDS[0]["question"], "answer": 7.0, "kind": "socratic", "teacher": "gold",
                   "rationale": "How many red pens? ** She has 3 red pens.\nHow many pens in all? ** She has 3 + 4 = 7 pens."}


def test_step_by_step_yields_predict_and_explain_per_cot_record(tokenizer, tmp_path):
    """Plain format: each CoT record -> predict (answer) and explain (rationale); PoT records -> nothing."""
    from mixdistill_plugin.harness.adapter import doc_to_text

    prepared = format_in_process(tokenizer, tmp_path, RECORDS, mixdistill_prompt_format="plain",
                                 mixdistill_kinds=["predict", "explain"])
    bos = bos_text(tokenizer)
    cot = [r for r in RECORDS if r["kind"] == "cot"]
    expected = [(kind, record) for record in cot for kind in ("predict", "explain")]
    assert [row["mixdistill_kind"] for row in prepared] == [3, 4, 3, 4]
    for (kind, record), row in zip(expected, prepared):
        prompt, trained = split_example(row, tokenizer)
        assert prompt == bos + doc_to_text({"kind": kind, "question": record["question"]})  # = the svamp_direct prompt
        target = "7" if record["answer"] == 7.0 else "30"
        assert trained == (f" {target}" if kind == "predict" else " " + record["rationale"]) + tokenizer.eos_token


def test_socratic_yields_both_roles_with_the_loops_prompts(tokenizer, tmp_path):
    """Chat format: decomposer rows (each sub-question, then the stop line) and solver rows (each
    answer); the prompts are those the inference loop renders, byte for byte."""
    from mixdistill_plugin.prompts import chat_messages
    from mixdistill_plugin.records import TrainRecord
    from mixdistill_plugin.socratic import DONE, run

    rows = format_in_process(tokenizer, tmp_path, [SOCRATIC_RECORD, RECORDS[0]], mixdistill_kinds=["decompose", "solve"])
    prepared = [split_example(row, tokenizer) for row in rows]
    eot = tokenizer.eos_token + "\n"
    assert [trained for _, trained in prepared] == [
        "How many red pens?" + eot, "How many pens in all?" + eot, DONE + eot,
        "She has 3 red pens." + eot, "She has 3 + 4 = 7 pens." + eot]
    trained_on = {prompt: trained.removesuffix(eot) for prompt, trained in prepared}

    def student(kind: str, questions: list[str]) -> list[str]:  # renders as `mixdistill socratic` does
        prompts = [tokenizer.apply_chat_template(chat_messages(kind, q), tokenize=False, add_generation_prompt=True)
                   for q in questions]
        return [trained_on[p] for p in prompts]  # KeyError if the loop asked a prompt not trained on

    (trace,) = run([SOCRATIC_RECORD["question"]], student)
    assert trace.ended == "done" and trace.answer() == 7.0
    assert len(TrainRecord.model_validate(SOCRATIC_RECORD).rationale.splitlines()) == len(trace.steps)


def test_socratic_record_alone_trains_the_whole_decomposition(tokenizer, tmp_path):
    """Without derived kinds a Socratic record is one example of its own kind (plain format)."""
    from mixdistill_plugin.prompts import prompt_text

    bos = bos_text(tokenizer)
    row, cot_row = format_in_process(tokenizer, tmp_path, [SOCRATIC_RECORD, RECORDS[0]], mixdistill_prompt_format="plain")
    assert (row["mixdistill_kind"], cot_row["mixdistill_kind"]) == (5, 1)
    assert split_example(row, tokenizer) == (bos + prompt_text("socratic", SOCRATIC_RECORD["question"]),
                                             "\n" + SOCRATIC_RECORD["rationale"] + tokenizer.eos_token)


@pytest.mark.slow
def test_kind_normalised_loss_is_step_by_steps_weighted_sum(smollm2):
    """a * mean CE(predict tokens) + (1 - a) * mean CE(explain tokens), divided by accumulation."""
    import torch
    import torch.nn.functional as F
    from axolotl.utils.collators import DataCollatorForSeq2Seq
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mixdistill_plugin.axolotl_plugin.loss import KindCodes, KindWeightedLoss, weight_table
    from mixdistill_plugin.axolotl_plugin.formatter import KIND_COLUMN, MixDistillStrategy

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    model = AutoModelForCausalLM.from_pretrained(smollm2).eval()
    strategy = MixDistillStrategy(tokenizer, train_on_inputs=False, sequence_len=512, prompt_format="plain",
                                  kinds=["predict", "explain"], kind_codes=True)
    features = unbatch(strategy.tokenize_prompt(as_batch(RECORDS)))
    batch = KindCodes(DataCollatorForSeq2Seq(tokenizer, padding=True, return_tensors="pt"), weighted=True)(features)
    kinds, labels = batch.pop(KIND_COLUMN), batch["labels"]
    with torch.no_grad():
        outputs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    shift_labels, shift_kinds = labels[:, 1:], kinds[:, 1:]
    logits = outputs.logits[:, :-1].float()
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), shift_labels.reshape(-1), ignore_index=-100,
                         reduction="none").view_as(shift_labels)
    mean = {code: ce[(shift_kinds == code) & (shift_labels != -100)].mean() for code in (3, 4)}
    for a, accumulation in ((0.5, 1), (0.8, 1), (0.5, 4)):
        loss_fn = KindWeightedLoss(weight_table({"predict": a, "explain": 1 - a}), "kind")
        loss_fn.kinds, loss_fn.accumulation = kinds, accumulation
        expected = (a * mean[3] + (1 - a) * mean[4]) / accumulation
        assert loss_fn(outputs, labels).item() == pytest.approx(expected.item(), rel=1e-5)


def test_kinds_with_no_records_to_come_from_are_named(tokenizer, tmp_path):
    with pytest.raises(ValueError) as error:
        format_in_process(tokenizer, tmp_path, RECORDS, mixdistill_kinds=["decompose", "solve"])
    assert "no record of kind socratic, which mixdistill_kinds ['decompose', 'solve'] are made from" in str(
        error.value)


def test_earlier_configs_dataset_type_still_loads_the_formatter(smollm2):
    from axolotl.prompt_strategies import load
    from axolotl.utils.dict import DictDefault
    from transformers import AutoTokenizer

    from mixdistill_plugin.axolotl_plugin.formatter import MixDistillStrategy

    config = DictDefault({"sequence_len": 512, "train_on_inputs": False})
    for path in ("mixdistill_plugin.formatter", "mixdistill_plugin.axolotl_plugin.formatter"):
        strategy = load(path, AutoTokenizer.from_pretrained(smollm2), config, {"path": "train.jsonl"})
        assert isinstance(strategy, MixDistillStrategy), path


def test_configs_plugin_name_loads_through_axolotl_and_the_preflight_imports_without_it():
    from axolotl.integrations.base import BasePlugin, load_plugin

    plugin = load_plugin("mixdistill_plugin.axolotl_plugin.MixDistillPlugin")  # as the configs name it
    assert isinstance(plugin, BasePlugin)
    assert plugin.get_input_args() == "mixdistill_plugin.axolotl_plugin.args.MixDistillArgs"
    probe = ("import sys, mixdistill_plugin.axolotl_plugin.preflight, mixdistill_plugin.axolotl_plugin.args; "
             "print(sorted(m for m in ('axolotl', 'torch', 'transformers') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"


# What the paper-config test changes in a shipped config besides the paths (docs/training.md says why):
# what a CPU cannot do (bf16, TF32, FlashAttention-2, the fused optimizer, Axolotl's CUDA LoRA kernels),
CPU_ONLY = dict(bf16=False, tf32=False, attn_implementation="sdpa", optimizer="adamw_torch",
                lora_mlp_kernel=False, lora_qkv_kernel=False, lora_o_kernel=False)
# what a short test needs (at max_steps 6 the shipped 2 evaluations per epoch of 3 epochs would evaluate
# at the start and after every step; a random model's loss falls visibly in 6 steps only at a higher
# learning rate; CodeLlama's run adds its architecture, in 2 steps), and per-kind weights, which replace
# the loss.
SHORT = dict(max_steps=6, logging_steps=1, evals_per_epoch=None, learning_rate=0.002)
FEWER_STEPS = {"codellama_mixed.yml": dict(max_steps=2)}
WEIGHTS = dict(mixdistill_loss_weights={"cot": 1.0, "pot": 1.5})
# The base models' architecture, scaled down: Llama-2-7B's and CodeLlama-7B's RoPE base, context and
# norm epsilon; their vocabularies (32,000 and 32,016) are the tokenizer's here, SmolLM2's 49,152.
ARCHITECTURE = {"llama2_mixed.yml": dict(rope_theta=10_000.0, max_position_embeddings=4096, rms_norm_eps=1e-5),
                "codellama_mixed.yml": dict(rope_theta=1_000_000.0, max_position_embeddings=16384, rms_norm_eps=1e-5)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ARCHITECTURE)
def test_the_paper_config_trains_on_cpu_with_per_kind_weights(name, smollm2, tmp_path):
    """The shipped config on a randomly initialised Llama of its base model's architecture scaled down
    (2 layers of width 64) with SmolLM2's tokenizer (Llama-2's is gated): packed, the weighted loss in
    use, finite (and falling over Llama-2's 6 steps), adapter saved."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from mixdistill_plugin.tasks import load_questions
    from mixdistill_plugin.teachers.gold import gold_rationale

    shipped = yaml.safe_load((REPO / "axolotl_configs" / name).read_text())
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        **ARCHITECTURE[name]))
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    questions, _ = load_questions("svamp", "train")
    records = [{"id": q.id, "question": q.question, "answer": q.answer, "kind": kind, "teacher": "gold",
                "rationale": gold_rationale(q, kind)} for q in questions for kind in ("cot", "pot")]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records if r["rationale"]))
    config = dict(shipped, **(CPU_ONLY | SHORT | FEWER_STEPS.get(name, {}) | WEIGHTS), base_model=str(tmp_path / "tiny"),
                  output_dir=str(tmp_path / "out"), dataset_prepared_path=str(tmp_path / "prepared"))
    config["datasets"] = [dict(shipped["datasets"][0], path=str(data))]
    assert config["sample_packing"] is True and config["lora_target_linear"] is True
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    proc = axolotl("train", path, "--launcher", "python", timeout=1500)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert len(re.findall(r"mixdistill: the first micro-batch's loss weighted per kind \(pot 1\.5, normalised "
                          r"per token, in chunks of 1024 positions\)", output)) == 1
    (efficiency,) = re.findall(r"sample_packing_eff_est across ranks: \[([0-9.]+)\]", output)
    assert float(efficiency) > 0.5  # the multipack sampler filled the 1,024-token rows
    losses = _losses(output)
    assert len(losses) == config["max_steps"] and all(0 < x < 30 for x in losses)
    if name == "llama2_mixed.yml":
        assert sum(losses[-3:]) / 3 < losses[0], losses  # falling, through the batches' noise
    assert (tmp_path / "out" / "adapter_model.safetensors").stat().st_size > 10_000
