"""Per-kind loss weights: the trainer, the loss function and the collator wrapper they need."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from axolotl.core.trainers.base import AxolotlTrainer
from axolotl.utils.logging import get_logger

from mixdistill_plugin.axolotl_plugin.formatter import KIND_COLUMN
from mixdistill_plugin.prompts import get_kind, kind_names

LOG = get_logger("axolotl.integrations.mixdistill")  # Axolotl shows INFO only from loggers named axolotl.*


def weight_table(weights: dict[str, float]) -> torch.Tensor:
    """Index = kind code (0 = no kind): the weight of each kind's tokens, 1.0 where not given."""
    codes = {name: get_kind(name).code for name in kind_names()}
    table = torch.ones(max(codes.values()) + 1)
    for name, weight in weights.items():
        table[codes[name]] = weight
    return table


CHUNK_TOKENS = 1024  # positions whose fp32 logits exist at once (1024 x 128,256 x 4 B = 0.5 GB)
IGNORE = -100


def _chunks(labels: torch.Tensor, chunk_tokens: int) -> Iterator[tuple[int, int, int]]:
    """(row, start, end) of each chunk of positions, row by row."""
    for row in range(labels.size(0)):
        for start in range(0, labels.size(1), chunk_tokens):
            yield row, start, min(start + chunk_tokens, labels.size(1))


class _ChunkedCrossEntropy(torch.autograd.Function):
    """Each position's cross-entropy from the logits (all but the last position) and its label,
    ``chunk_tokens`` positions at a time in fp32; backward writes each chunk's gradient into one
    gradient of the logits, in their dtype. Its own log-softmax: never ``F.cross_entropy``, which
    Liger's ``liger_cross_entropy`` replaces globally with a kernel that writes in place."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, labels: torch.Tensor, chunk_tokens: int) -> torch.Tensor:
        lse = torch.empty(labels.shape, dtype=torch.float32, device=logits.device)
        loss = torch.zeros(labels.shape, dtype=torch.float32, device=logits.device)
        for row, start, end in _chunks(labels, chunk_tokens):
            chunk, target = logits[row, start:end].float(), labels[row, start:end]
            lse[row, start:end] = torch.logsumexp(chunk, dim=-1)
            picked = chunk.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            loss[row, start:end] = torch.where(target != IGNORE, lse[row, start:end] - picked, 0.0)
        ctx.save_for_backward(logits, labels, lse)
        ctx.chunk_tokens = chunk_tokens
        return loss.reshape(-1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        logits, labels, lse = ctx.saved_tensors
        grad_loss = grad_loss.reshape(labels.shape)
        grad = torch.zeros_like(logits, memory_format=torch.contiguous_format)
        for row, start, end in _chunks(labels, ctx.chunk_tokens):
            target = labels[row, start:end]
            scale = torch.where(target != IGNORE, grad_loss[row, start:end].float(), 0.0)
            softmax = (logits[row, start:end].float() - lse[row, start:end, None]).exp_()
            softmax.scatter_add_(-1, target.clamp(min=0).unsqueeze(-1), softmax.new_full((end - start, 1), -1.0))
            grad[row, start:end] = softmax.mul_(scale.unsqueeze(-1))
        return grad, None, None


def token_cross_entropy(logits: torch.Tensor, shift_labels: torch.Tensor, chunk_tokens: int = CHUNK_TOKENS) -> torch.Tensor:
    """Each position's cross-entropy against the next token's label, flattened row by row (0 where the
    label is ignored), as ``F.cross_entropy(logits[:, :-1].float().reshape(...), ...)`` gives it.

    Computed ``chunk_tokens`` positions at a time over the model's own logits: only one chunk's fp32
    logits and softmax exist at once, in the forward and in the backward pass, which keeps one
    logsumexp per position; the gradient of the logits is one tensor in their dtype, its last
    position 0.
    """
    return _ChunkedCrossEntropy.apply(logits, shift_labels.to(logits.device), chunk_tokens)


class KindWeightedLoss:
    """The weighted causal-LM loss over the shifted labels, normalised per token or per kind, its
    cross-entropy computed in chunks of positions (:func:`token_cross_entropy`).

    - ``token``: ``sum(w[kind] * token cross-entropy) / num_items_in_batch``. With every weight 1.0
      it is the loss transformers computes (same shift, same reduction over the trained tokens of
      the whole accumulated batch).
    - ``kind``: ``sum over kinds of w[kind] * mean cross-entropy of that kind's tokens`` in the
      micro-batch, divided by the accumulation steps: Distilling step-by-step's
      ``a * label_loss + (1 - a) * rationale_loss``, whatever the lengths of labels and rationales.
    """

    def __init__(self, table: torch.Tensor, normalization: str = "token", chunk_tokens: int = CHUNK_TOKENS) -> None:
        self.table = table
        self.normalization = normalization
        self.chunk_tokens = chunk_tokens
        self.kinds: torch.Tensor | None = None
        self.accumulation = 1
        self.reported = False

    def __call__(self, outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        shift_labels = labels[:, 1:].to(logits.device)
        shift_kinds = self.kinds[:, 1:].to(logits.device)
        token_loss = token_cross_entropy(logits, shift_labels, self.chunk_tokens)
        loss = self._reduce(token_loss, shift_labels.reshape(-1), shift_kinds.reshape(-1), num_items_in_batch)
        if not self.reported:  # once: the run's log shows that the weights reach the loss
            self.reported = True
            LOG.info(f"mixdistill: the first micro-batch's loss weighted per kind ({self.weights()}, normalised per "
                     f"{self.normalization}, in chunks of {self.chunk_tokens} positions): {loss.item():.4f}")
        return loss

    def _reduce(self, token_loss: torch.Tensor, labels: torch.Tensor, kinds: torch.Tensor,
                num_items_in_batch) -> torch.Tensor:
        table = self.table.to(token_loss.device)
        if self.normalization == "kind":
            trained = labels != IGNORE
            means = [table[code] * token_loss[trained & (kinds == code)].mean() for code in kinds[trained].unique()]
            return torch.stack(means).sum() / self.accumulation if means else token_loss.sum() * 0
        count = num_items_in_batch if num_items_in_batch is not None else (labels != IGNORE).sum()
        return (token_loss * table[kinds]).sum() / count

    def weights(self) -> str:
        """The weights other than 1.0, by kind name: ``pot 1.5``, or ``all 1.0``."""
        named = [f"{name} {self.table[get_kind(name).code].item():g}" for name in kind_names()
                 if self.table[get_kind(name).code] != 1.0]
        return ", ".join(named) or "all 1.0"


class KindWeightedTrainer(AxolotlTrainer):
    """AxolotlTrainer that keeps the per-row kind code and hands it to :class:`KindWeightedLoss`."""

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if KIND_COLUMN not in self._signature_columns:
            self._signature_columns.append(KIND_COLUMN)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        kinds = inputs.pop(KIND_COLUMN)
        if isinstance(self.compute_loss_func, KindWeightedLoss):
            self.compute_loss_func.kinds = kinds
            self.compute_loss_func.accumulation = getattr(self, "current_gradient_accumulation_steps", 1) or 1
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)


class KindCodes:
    """Wraps Axolotl's collator and consumes the rows' kind codes.

    ``weighted``: each row's code becomes a padded per-token tensor (packed rows concatenated like
    their tokens) for :class:`KindWeightedLoss`; otherwise the codes are dropped and the batch is
    exactly what Axolotl's collator makes.
    """

    def __init__(self, collator, weighted: bool) -> None:
        self.collator = collator
        self.weighted = weighted

    def __call__(self, features, return_tensors=None):
        packed = isinstance(features[0], list)
        groups = features if packed else [[f] for f in features]
        codes = [[f.pop(KIND_COLUMN, None) for f in group] for group in groups]
        batch = self.collator(features) if return_tensors is None else self.collator(features, return_tensors)
        if not self.weighted:
            return batch
        if any(code is None for group in codes for code in group):
            raise RuntimeError(
                f"mixdistill_loss_weights need the {KIND_COLUMN!r} column, which this prepared dataset lacks "
                "(it was prepared without the mixdistill plugin): clear dataset_prepared_path and run again"
            )
        rows = [np.concatenate([np.full(len(f["input_ids"]), code, dtype=np.int64) for f, code in zip(group, gc)])
                for group, gc in zip(groups, codes)]
        width = batch["input_ids"].shape[1]
        left = getattr(getattr(self.collator, "tokenizer", None), "padding_side", "right") == "left"
        padded = [np.pad(r[:width], (width - min(len(r), width), 0) if left else (0, width - min(len(r), width)))
                  for r in rows]
        batch[KIND_COLUMN] = torch.as_tensor(np.stack(padded))
        return batch
