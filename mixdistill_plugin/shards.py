"""Teacher data in shards: a deterministic partition of the questions.

``generate --shard I/N`` asks only the questions whose id hashes to shard ``I`` of ``N`` (0-based;
stable under any reordering of the input, the same on every machine); each shard is a resumable
folder of its own whose ``config.json`` records the spec. :mod:`mixdistill_plugin.merging` makes
one folder of the shards' folders.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.records import Question


def parse_shard(spec: str) -> tuple[int, int]:
    """``"I/N"`` as ``(I, N)``, with ``0 <= I < N``; a :class:`UserError` otherwise."""
    index, _, count = spec.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not 0 <= i < n:
        raise UserError(f"--shard {spec}: expected I/N with 0 <= I < N, e.g. 0/4 (Slurm: "
                        "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)")
    return i, n


def shard_of(question_id: str, count: int) -> int:
    """The shard of ``count`` that a question belongs to: a hash of its id, nothing else."""
    return int(hashlib.sha256(question_id.encode("utf-8", "surrogatepass")).hexdigest()[:16], 16) % count


def in_shard(questions: Sequence[Question], spec: str) -> list[Question]:
    """The ``questions`` of shard ``spec`` (``"I/N"``)."""
    index, count = parse_shard(spec)
    return [q for q in questions if shard_of(q.id, count) == index]
