"""Teacher: outputs a real teacher model wrote earlier, replayed (``--teacher recorded``).

A recording is JSON Lines (``.jsonl``, or ``.jsonl.gz``), one line per completion:
``{"id": question id, "kind": "cot" | "pot" | ..., "text": what the model wrote}``; several lines
for one (id, kind) are its samples, in order. The package ships the PaLM-540B few-shot CoT outputs
of Distilling step-by-step (SVAMP train, CommonsenseQA train, e-SNLI validation) and the greedy
Codex PoT programs of Program of Thoughts (SVAMP train), found by dataset; ``--recording FILE``
(repeatable) replays a user's own, e.g. the outputs of a batch job. The text is replayed as it was
written (run-ons, answers as expressions, labels in several spellings): ``generate`` reads, runs
and checks it like any teacher's.

The teacher's name carries a hash of the recordings' content, so a folder's ``config.json`` names
exactly what was replayed and a resume with other recordings is refused. A kind asks for at most as
many samples as some question has recorded; a question with no recording gets a request error
(``not recorded``), never an invented completion.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import AsyncIterator, Sequence

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.jsonl import InputError, json_type, parse_line, unreadable
from mixdistill_plugin.teachers import Reply, Request, Sampling

SHIPPED = Path(__file__).resolve().parent.parent / "datasets" / "recordings"
HINT = 'expected {"id": ..., "kind": ..., "text": ...}, one completion per line'


def shipped_recordings(dataset: str) -> list[Path]:
    """The recordings the package ships for ``dataset`` (``<dataset>_*.jsonl.gz``)."""
    return sorted(SHIPPED.glob(f"{dataset}_*.jsonl.gz"))


def read_recording(path: Path) -> tuple[dict[tuple[str, str], list[str]], bytes]:
    """The texts of ``path`` by (question id, kind), in order, and its bytes (for the hash);
    ``InputError`` at the first line that is not a completion."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from None
    try:
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError) as exc:  # not gzip, or cut short
        raise InputError(path, None, None, f"not a gzip file that can be read ({exc})") from None
    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for number, line in enumerate(data.decode("utf-8", "surrogateescape").split("\n"), start=1):
        if not line.strip():
            continue
        row = parse_line(path, number, line, HINT)
        if not isinstance(row, dict):
            raise InputError(path, number, None, f"expected a JSON object, got {json_type(row)}", HINT)
        for field in ("id", "kind", "text"):
            if not isinstance(row.get(field), (str, int)) or isinstance(row.get(field), bool):
                problem = "missing" if field not in row else f"expected a string, got {json_type(row[field])}"
                raise InputError(path, number, field, problem, HINT)
        texts[(str(row["id"]), str(row["kind"]))].append(str(row["text"]))
    return texts, raw


class RecordedTeacher:
    """Replays the completions of ``recordings`` (their samples in the order they were written)."""

    def __init__(self, recordings: Sequence[Path]) -> None:
        self.texts: dict[tuple[str, str], list[str]] = defaultdict(list)
        digest = hashlib.sha256()
        for path in recordings:
            texts, raw = read_recording(path)
            digest.update(hashlib.sha256(raw).digest())
            for key, found in texts.items():
                self.texts[key] += found
        self.kinds = {kind: max(len(t) for (_, k), t in self.texts.items() if k == kind)
                      for kind in {k for _, k in self.texts}}
        self.name = f"recorded:{digest.hexdigest()[:12]}"
        self.recordings = [str(p) for p in recordings]

    def most_samples(self, kind: str) -> int:
        """The most samples any question has recorded for ``kind`` (0: none)."""
        return self.kinds.get(kind, 0)

    async def replies(self, requests: Sequence[Request], sampling: Sampling) -> AsyncIterator[Reply]:
        for request in requests:
            texts = self.texts.get((request.question.id, request.kind), [])
            got = [texts[s] for s in request.samples if s < len(texts)]
            yield Reply(request, texts=got, error=None if got else "not recorded")


def recorded_teacher(dataset: str | None, recordings: Sequence[Path]) -> RecordedTeacher:
    """The teacher for ``--recording`` files, else for the recordings shipped for ``dataset``."""
    paths = list(recordings) or (shipped_recordings(dataset) if dataset else [])
    if not paths:
        shipped = sorted({p.name.split("_")[0] for p in SHIPPED.glob("*_*.jsonl.gz")})
        raise UserError(f"--teacher recorded: no recording ships for {dataset!r} (recordings ship for "
                        f"{', '.join(shipped)}); give your own with --recording FILE")
    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"--recording {path}: no such file")
    return RecordedTeacher([Path(p) for p in paths])
