"""The append-only ledger of a resumable run: ``generate``'s ``raw.jsonl``, ``grade``'s ``grades.jsonl``.

Each line is one reply for one key (a sample of a question and kind; a rationale to grade),
appended as it arrives, one ``write`` per batch. A run that is killed loses at most the replies in
flight; a torn last line is left out when the file is read (reading never changes the file: another
command may read a ledger while its run appends) and cut off when the ledger is next appended to.
A line whose request failed (status :data:`REQUEST_ERROR`, :func:`request_failed`) is history, not
an answer: its key is asked again, and a later line for it takes its place. Nothing is rewritten, so
a run resumes by reading the ledger, planning what is missing, and appending.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Generic, Hashable, Iterable, Iterator, Sequence, TypeVar

from pydantic import BaseModel

from mixdistill_plugin.records import load_records

REQUEST_ERROR = "request_error"

Entry = TypeVar("Entry", bound=BaseModel)


def request_failed(status: str) -> bool:
    """Whether a line's status says that its request failed (the line is history; its key is asked again)."""
    return status == REQUEST_ERROR


@dataclass(frozen=True)
class Ledger(Generic[Entry]):
    """A kind of ledger: the line ``model``, the ``key`` a line answers, whether a line ``failed``
    (it is asked again), and the ``hint`` shown for a damaged line."""

    model: type[Entry]
    key: Callable[[Entry], Hashable]
    failed: Callable[[Entry], bool]
    hint: str

    def read(self, path: Path) -> tuple[list[Entry], bool]:
        """The lines of ``path`` (none if it does not exist), leaving out a torn last line (an append cut
        short by a crash, or still being written; ``True`` if there was one). The file is not changed."""
        if not path.exists():
            return [], False
        entries = load_records(path, self.model, self.hint, drop_torn=True)[0]
        with path.open("rb") as handle:
            return entries, _torn(handle)

    def answered(self, entries: Iterable[Entry]) -> set[Hashable]:
        """The keys that have an answer (a line that did not fail)."""
        return {self.key(e) for e in entries if not self.failed(e)}

    def latest(self, entries: Sequence[Entry]) -> list[Entry]:
        """One line per key: its answer, else the last failed request for it."""
        by_key: dict[Hashable, Entry] = {}
        for entry in entries:
            before = by_key.get(self.key(entry))
            if before is None or self.failed(before):
                by_key[self.key(entry)] = entry
        return list(by_key.values())

    @contextmanager
    def appending(self, path: Path) -> Iterator[Callable[[Sequence[Entry]], None]]:
        """A function that appends lines to ``path``, all of one call in one write, flushed; a torn last
        line is cut off first (its key has no answer, so it is asked again)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+b") as handle:  # writes go to the end, wherever the reads were
            if _torn(handle):
                handle.seek(0)
                handle.truncate(handle.read().rfind(b"\n") + 1)

            def append(entries: Sequence[Entry]) -> None:
                handle.write("".join(e.model_dump_json() + "\n" for e in entries).encode())
                handle.flush()

            yield append


def _torn(handle: BinaryIO) -> bool:
    """Whether the last line of the open file lacks its newline."""
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return False
    handle.seek(end - 1)
    return handle.read(1) != b"\n"


@dataclass
class Outcome:
    """How a resumable run ended: its ``summary`` (written beside the ledger), and why it stopped
    early (``failure``: the server's message; ``interrupted``: the interrupt, to raise again once
    the summary is written)."""

    summary: dict
    failure: str | None = None
    interrupted: KeyboardInterrupt | None = None
