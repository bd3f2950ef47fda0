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


def batch_of(dtype, seed: int = 0):
    """Logits, labels (a prompt and padding ignored) and kind codes of a small batch."""
    generator = torch.Generator().manual_seed(seed)
    batch, length, vocab = 3, 41, 97
    logits = torch.randn(batch, length, vocab, generator=generator).to(dtype).requires_grad_()
    labels = torch.randint(0, vocab, (batch, length), generator=generator)
    labels[0, :9] = -100
    labels[2, 30:] = -100
    return logits, labels, torch.randint(1, 4, (batch, length), generator=generator)


@pytest.mark.parametrize("normalization", ["token", "kind"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_chunked_loss_and_gradient_equal_the_whole_batch_ones(normalization, dtype, chunk):
    from mixdistill_plugin.axolotl_plugin.loss import KindWeightedLoss, weight_table

    logits, labels, kinds = batch_of(dtype, seed=chunk)
    table = weight_table({"cot": 0.3, "pot": 1.7})
    loss = KindWeightedLoss(table, normalization, chunk_tokens=chunk)
    loss.kinds = kinds
    chunked = loss({"logits": logits}, labels)
    (grad,) = torch.autograd.grad(chunked, logits)
    reference = whole_batch(logits, labels, kinds, table, normalization)
    (expected,) = torch.autograd.grad(reference, logits)
    assert torch.allclose(chunked, reference, rtol=1e-6, atol=1e-6)
    assert grad.dtype == dtype and torch.allclose(grad.float(), expected.float(), rtol=1e-5, atol=1e-7)


def test_liger_replacing_torchs_cross_entropy_changes_nothing(monkeypatch):
    """`liger_cross_entropy: true` makes F.cross_entropy Liger's in-place kernel: the loss never calls it."""
    from mixdistill_plugin.axolotl_plugin.loss import KindWeightedLoss, weight_table

    logits, labels, kinds = batch_of(torch.bfloat16)
    table = weight_table({"cot": 0.3, "pot": 1.7})
    reference = whole_batch(logits, labels, kinds, table, "token")
    (expected,) = torch.autograd.grad(reference, logits)

    def replaced(*args, **kwargs):
        raise AssertionError("F.cross_entropy called")

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", replaced)
    loss = KindWeightedLoss(table, "token", chunk_tokens=16)
    loss.kinds = kinds
    value = loss({"logits": logits}, labels)
    (grad,) = torch.autograd.grad(value, logits)
    assert torch.allclose(value, reference, rtol=1e-6, atol=1e-6)
    assert torch.allclose(grad.float(), expected.float(), rtol=1e-5, atol=1e-7)


def test_kind_normalisation_divides_by_accumulation_not_by_the_items():
    """Under gradient accumulation the trainer passes num_items_in_batch: per-token normalisation
    divides by it, per-kind normalisation by the accumulation steps alone."""
    from mixdistill_plugin.axolotl_plugin.loss import KindWeightedLoss, weight_table

    logits, labels, kinds = batch_of(torch.float32, seed=1)
    table = weight_table({"cot": 0.3, "pot": 1.7})
    trained = int((labels[:, 1:] != -100).sum())
    for normalization, expected in (("kind", whole_batch(logits, labels, kinds, table, "kind") / 3),
                                    ("token", whole_batch(logits, labels, kinds, table, "token") * trained / 250)):
        loss = KindWeightedLoss(table, normalization, chunk_tokens=16)
        loss.kinds, loss.accumulation = kinds, 3
        value = loss({"logits": logits}, labels, num_items_in_batch=torch.tensor(250))
        (grad,) = torch.autograd.grad(value, logits)
        (expected_grad,) = torch.autograd.grad(expected, logits)
        assert torch.allclose(value, expected, rtol=1e-6, atol=1e-6), normalization
        assert torch.allclose(grad, expected_grad, rtol=1e-5, atol=1e-7), normalization


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_backward_allocates_one_tensor_the_size_of_the_logits(dtype):
    """Every new storage at least as large as the logits, counted at the dispatcher: none in the
    forward pass, one in the backward pass (the gradient, in the logits' dtype)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    from mixdistill_plugin.axolotl_plugin.loss import KindWeightedLoss, weight_table

    logits, labels, kinds = batch_of(dtype)

    def storages(tree) -> list[int]:
        return [t.untyped_storage().data_ptr() for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]

    class LargeAllocations(TorchDispatchMode):
        """The outputs of each operation whose storage is new (not an input's: no view, no in-place
        result) and holds at least as many bytes as the logits."""

        def __init__(self) -> None:
            super().__init__()
            self.new = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            given = set(storages((args, kwargs)))
            self.new += [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)
                         and t.untyped_storage().data_ptr() not in given and t.untyped_storage().nbytes() >= logits.nbytes]
            return out

    loss = KindWeightedLoss(weight_table({"cot": 0.3, "pot": 1.7}), "token", chunk_tokens=16)
    loss.kinds = kinds
    with LargeAllocations() as forward:
        value = loss({"logits": logits}, labels)
    with LargeAllocations() as backward:
        (grad,) = torch.autograd.grad(value, logits)
    assert forward.new == []
    (allocated,) = backward.new
    assert allocated.untyped_storage().data_ptr() == grad.untyped_storage().data_ptr() and grad.dtype == dtype
