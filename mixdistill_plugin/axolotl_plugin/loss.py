"""Per-kind loss weights: the trainer, the loss function and the collator wrapper they need."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from axolotl.core.trainers.base import AxolotlTrainer

from mixdistill_plugin.axolotl_plugin.formatter import KIND_COLUMN
from mixdistill_plugin.prompts import get_kind, kind_names


def weight_table(weights: dict[str, float]) -> torch.Tensor:
    """Index = kind code (0 = no kind): the weight of each kind's tokens, 1.0 where not given."""
    codes = {name: get_kind(name).code for name in kind_names()}
    table = torch.ones(max(codes.values()) + 1)
    for name, weight in weights.items():
        table[codes[name]] = weight
    return table


class KindWeightedLoss:
    """The weighted causal-LM loss over the shifted labels, normalised per token or per kind.

    - ``token``: ``sum(w[kind] * token cross-entropy) / num_items_in_batch``. With every weight 1.0
      it is the loss transformers computes (same shift, same reduction over the trained tokens of
      the whole accumulated batch).
    - ``kind``: ``sum over kinds of w[kind] * mean cross-entropy of that kind's tokens`` in the
      micro-batch, divided by the accumulation steps: Distilling step-by-step's
      ``a * label_loss + (1 - a) * rationale_loss``, whatever the lengths of labels and rationales.
    """

    def __init__(self, table: torch.Tensor, normalization: str = "token") -> None:
        self.table = table
        self.normalization = normalization
        self.kinds: torch.Tensor | None = None
        self.accumulation = 1

    def __call__(self, outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        shift_logits = logits[:, :-1, :].float()
        shift_labels = labels[:, 1:].to(logits.device)
        shift_kinds = self.kinds[:, 1:].to(logits.device)
        token_loss = F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
                                     ignore_index=-100, reduction="none")
        table, kinds = self.table.to(logits.device), shift_kinds.reshape(-1)
        if self.normalization == "kind":
            trained = shift_labels.reshape(-1) != -100
            means = [table[code] * token_loss[trained & (kinds == code)].mean() for code in kinds[trained].unique()]
            return torch.stack(means).sum() / self.accumulation if means else token_loss.sum() * 0
        total = (token_loss * table[kinds]).sum()
        count = num_items_in_batch if num_items_in_batch is not None else (shift_labels != -100).sum()
        return total / count


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
