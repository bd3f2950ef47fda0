"""Axolotl dataset type ``mixdistill_plugin.axolotl_plugin.formatter``: ``train.jsonl`` records to training tokens.

    datasets:
      - path: runs/svamp-gold/train.jsonl
        ds_type: json
        type: mixdistill_plugin.axolotl_plugin.formatter

(``type: mixdistill_plugin.formatter``, the path of earlier configs, still works.)

Each record (:class:`~mixdistill_plugin.records.TrainRecord`) becomes one or more examples
(:mod:`mixdistill_plugin.training`): by default its own kind, the registry's student prompt followed
by the rationale and EOS (in chat form: the template's assistant turn); with
``mixdistill_kinds: [predict, explain]`` a CoT record yields Distilling step-by-step's two examples,
with ``[decompose, solve]`` a Socratic record yields one per step and role. Labels are -100 on the
prompt unless ``train_on_inputs: true``. Two prompt formats (``mixdistill_prompt_format``, a plugin option):

- ``plain``: :func:`prompts.prompt_text` then :func:`prompts.completion_text` (base models);
- ``chat``: the tokenizer's chat template around the same prompt as the user turn, the rationale
  as the assistant turn (instruct models).

:func:`render_prompt` is the one rendering; the lm-eval tasks render the same string. Each row also
carries ``mixdistill_kind`` (the kind's code) when the plugin is configured, for its per-kind loss
weights (the plugin's collator consumes it; without the plugin rows are plain Axolotl rows). Records
that no kind of ``mixdistill_kinds`` is made from yield nothing; over-long rows are left to Axolotl
(``sequence_len``, ``excess_length_strategy``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

from axolotl.prompt_tokenizers import PromptTokenizingStrategy
from pydantic import ValidationError

from mixdistill_plugin.jsonl import InputError
from mixdistill_plugin.prompts import DEFAULT_STYLE, chat_messages, completion_text, get_kind, prompt_text
from mixdistill_plugin.records import TrainRecord, load_records
from mixdistill_plugin.training import Example, examples

KIND_COLUMN = "mixdistill_kind"
PLUGIN = "mixdistill_plugin.axolotl_plugin.MixDistillPlugin"
PromptFormat = Literal["plain", "chat"]
_HINT = "Each line must be a train.jsonl record (id, question, answer, kind, rationale, teacher)"


def render_prompt(kind: str, question: str, prompt_format: PromptFormat, tokenizer=None,
                  style: str = DEFAULT_STYLE) -> str:
    """The student prompt exactly as the model sees it, in training and in evaluation."""
    if prompt_format == "plain":
        return prompt_text(kind, question, style=style)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("mixdistill_prompt_format: chat needs a tokenizer with a chat template; use plain")
    return tokenizer.apply_chat_template(chat_messages(kind, question, style=style), tokenize=False,
                                         add_generation_prompt=True)


def render_example(kind: str, question: str, rationale: str, prompt_format: PromptFormat,
                   tokenizer=None, style: str = DEFAULT_STYLE) -> tuple[str, str]:
    """``(prompt, completion)``: :func:`render_prompt`, then what the model is trained to write.

    Plain: :func:`prompts.completion_text` (EOS follows as a token). Chat: the assistant turn as
    the template writes it, end-of-turn marker included.
    """
    prompt = render_prompt(kind, question, prompt_format, tokenizer, style)
    if prompt_format == "plain":
        return prompt, completion_text(kind, rationale)
    turn = chat_messages(kind, question, style=style) + [{"role": "assistant", "content": rationale.strip()}]
    full = tokenizer.apply_chat_template(turn, tokenize=False)
    return prompt, full[len(prompt):] if full.startswith(prompt) else rationale.strip()


class MixDistillStrategy(PromptTokenizingStrategy):
    """Tokenizes batches of records; a record may yield several examples (see :mod:`.training`)."""

    def __init__(self, tokenizer, train_on_inputs: bool, sequence_len: int, prompt_format: PromptFormat,
                 kinds: Sequence[str] | None, kind_codes: bool = False) -> None:
        super().__init__(None, tokenizer, train_on_inputs, sequence_len)
        self.prompt_format = prompt_format
        self.kinds = list(kinds) if kinds else None
        self.kind_codes = kind_codes

    @property
    def supports_batched(self) -> bool:
        return True

    def tokenize_prompt(self, prompt: dict) -> dict:
        columns = ["input_ids", "attention_mask", "labels"] + ([KIND_COLUMN] if self.kind_codes else [])
        out: dict[str, list] = {column: [] for column in columns}
        for values in zip(*prompt.values()):
            for example in self._examples(dict(zip(prompt, values))):
                for column, value in self.tokenize_example(example).items():
                    out[column].append(value)
        return out

    def _examples(self, row: dict) -> list[Example]:
        try:
            record = TrainRecord.model_validate(row)
            get_kind(record.kind)
            return examples(record, self.kinds)
        except (ValidationError, KeyError, ValueError) as exc:
            raise ValueError(f"mixdistill formatter: record {row.get('id', '?')!r} is not a train.jsonl "
                             f"record: {exc}. {_HINT}") from None

    def tokenize_example(self, example: Example) -> dict:
        tokenizer, plain = self.tokenizer, self.prompt_format == "plain"
        prompt_str, completion = render_example(example.kind, example.question, example.target, self.prompt_format,
                                                tokenizer, example.style)
        prompt_ids = tokenizer(prompt_str, add_special_tokens=plain)["input_ids"]
        input_ids = tokenizer(prompt_str + completion, add_special_tokens=plain)["input_ids"]
        if input_ids[: len(prompt_ids)] != prompt_ids:  # the boundary merged: keep the prompt's own tokens
            input_ids = prompt_ids + tokenizer(completion, add_special_tokens=False)["input_ids"]
        if tokenizer.eos_token_id not in input_ids[len(prompt_ids):]:  # a chat turn may end with EOS already
            input_ids = input_ids + [tokenizer.eos_token_id]
        labels = list(input_ids)
        if not self.train_on_inputs:
            labels[: len(prompt_ids)] = [-100] * len(prompt_ids)
        row = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels}
        if self.kind_codes:
            row[KIND_COLUMN] = get_kind(example.kind).code
        return row


def check_file(path: str | Path, kinds: Sequence[str] | None = None) -> None:
    """Validate a local ``train.jsonl`` up front, so a bad record is named by file, line and field,
    and a file with nothing for ``kinds`` to train on says which records it lacks."""
    try:
        records, _ = load_records(path, TrainRecord, _HINT)
    except InputError as exc:
        raise ValueError(f"mixdistill formatter: {exc}") from None
    needed = sorted({get_kind(k).record_kind for k in kinds or []})
    if needed and not any(r.kind in needed for r in records):
        raise ValueError(f"mixdistill formatter: {path}: no record of kind {' or '.join(needed)}, which "
                         f"mixdistill_kinds {list(kinds)} are made from. Generate them (e.g. mixdistill generate "
                         f"--{needed[0]}-samples 4) or choose other kinds")


def load(tokenizer, cfg, ds_cfg: dict | None = None) -> MixDistillStrategy:
    """Axolotl's entry point for ``type: mixdistill_plugin.axolotl_plugin.formatter``."""
    path = (ds_cfg or {}).get("path")
    if path and Path(path).is_file():
        check_file(path, cfg.get("mixdistill_kinds"))
    return MixDistillStrategy(
        tokenizer,
        train_on_inputs=bool(cfg.train_on_inputs),
        sequence_len=cfg.sequence_len,
        prompt_format=cfg.get("mixdistill_prompt_format") or "plain",
        kinds=cfg.get("mixdistill_kinds"),
        kind_codes=PLUGIN in (cfg.get("plugins") or []),
    )
