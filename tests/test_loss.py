"""The weighted loss in chunks equals the whole-batch loss it replaces, value and gradient."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional


def whole_batch(logits, labels, kinds, table, normalization):
    """The weighted loss as it was computed before chunking: one fp32 copy of all the logits."""
    shift = logits[:, :-1, :].float()
    target, kind = labels[:, 1:], kinds[:, 1:].reshape(-1)
    token = F.cross_entropy(shift.reshape(-1, shift.size(-1)), target.reshape(-1), ignore_index=-100, reduction="none")
    if normalization == "kind":
        trained = target.reshape(-1) != -100
        return torch.stack([table[c] * token[trained & (kind == c)].mean() for c in kind[trained].unique()]).sum()
    return (token * table[kind]).sum() / (target != -100).sum()


@pytest.mark.parametrize("normalization", ["token", "kind"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_chunked_loss_and_gradient_equal_the_whole_batch_ones(normalization, dtype, chunk):
    from mixdistill_plugin.axolotl_plugin.loss import KindWeightedLoss, weight_table

    generator = torch.Generator().manual_seed(chunk)
    batch, length, vocab = 3, 41, 97
    logits = torch.randn(batch, length, vocab, generator=generator).to(dtype).requires_grad_()
    labels = torch.randint(0, vocab, (batch, length), generator=generator)
    labels[0, :9] = -100  # a prompt
    labels[2, 30:] = -100  # padding
    kinds = torch.randint(1, 4, (batch, length), generator=generator)
    table = weight_table({"cot": 0.3, "pot": 1.7})
    loss = KindWeightedLoss(table, normalization, chunk_tokens=chunk)
    loss.kinds = kinds
    chunked = loss({"logits": logits}, labels)
    (grad,) = torch.autograd.grad(chunked, logits)
    reference = whole_batch(logits, labels, kinds, table, normalization)
    (expected,) = torch.autograd.grad(reference, logits)
    assert torch.allclose(chunked, reference, rtol=1e-6, atol=1e-6)
    assert grad.dtype == dtype and torch.allclose(grad.float(), expected.float(), rtol=1e-5, atol=1e-7)
