"""Peak memory and time of the per-kind weighted loss against transformers' stock causal-LM loss.

    .venv/bin/python bench/loss.py [--vocab 32000 128256] [--length 1024] [--batch 8]

Each loss runs forward and backward on the same bf16 logits (a model's output at that batch, length
and vocabulary: random values, a quarter of the positions a prompt the labels ignore), in a process
of its own; its peak is the growth of the process's peak resident memory over what the logits and
labels already hold. Printed per vocabulary: `vocab 128256: peak memory weighted/stock = 0.NNx`, then
the time ratio on a line of its own; last, whether the peak ratio is at most 0.5 at every vocabulary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

GOAL = 0.5  # peak memory of the weighted loss over the stock one's, at every vocabulary

RUN = r"""
import json, resource, sys, time
import torch
variant, vocab, length, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
logits = torch.randn(batch, length, vocab, dtype=torch.bfloat16).requires_grad_()
labels = torch.randint(0, vocab, (batch, length))
labels[:, : length // 4] = -100
kinds = torch.full((batch, length), 1)  # cot's code: weight 1.0, so both losses are equal
if variant == "stock":
    from transformers.loss.loss_utils import ForCausalLMLoss
    loss_fn = lambda: ForCausalLMLoss(logits, labels, vocab)
else:
    from mixdistill_plugin.axolotl_plugin.loss import KindWeightedLoss, weight_table
    weighted = KindWeightedLoss(weight_table({"cot": 1.0, "pot": 1.5}))
    weighted.kinds = kinds
    loss_fn = lambda: weighted({"logits": logits}, labels)
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = peak()
start = time.perf_counter()
loss = loss_fn()
loss.backward()
seconds = time.perf_counter() - start
print(json.dumps({"peak": peak() - before, "seconds": seconds, "loss": float(loss)}))
"""


def run(variant: str, vocab: int, length: int, batch: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", RUN, variant, str(vocab), str(length), str(batch)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", type=int, nargs="+", default=[32000, 128256])
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    gib, worst = 1024 ** 3, 0.0
    print(f"batch {args.batch}, length {args.length}, bf16 logits; forward + backward, each in its own process")
    for vocab in args.vocab:
        stock = run("stock", vocab, args.length, args.batch)
        weighted = run("weighted", vocab, args.length, args.batch)
        assert abs(stock["loss"] - weighted["loss"]) < 1e-3 * abs(stock["loss"]), (stock, weighted)
        print(f"vocab {vocab}: logits {args.batch * args.length * vocab * 2 / gib:.2f} GiB; stock peak "
              f"{stock['peak'] / gib:.2f} GiB in {stock['seconds']:.1f} s, weighted peak {weighted['peak'] / gib:.2f} "
              f"GiB in {weighted['seconds']:.1f} s")
        ratio = weighted["peak"] / stock["peak"]
        print(f"vocab {vocab}: peak memory weighted/stock = {ratio:.2f}x")
        print(f"vocab {vocab}: time weighted/stock = {weighted['seconds'] / stock['seconds']:.2f}x")
        worst = max(worst, ratio)
    print(f"goal <= {GOAL}x: {'met' if worst <= GOAL else 'not met'}")


if __name__ == "__main__":
    main()
