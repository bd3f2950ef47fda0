"""JSON Lines files: reading with line numbers, appending safely, writing atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator


class InputError(ValueError):
    """Bad input, with the place it was found and what to do about it."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, problem: str, hint: str = "") -> None:
        self.path, self.line, self.field, self.problem = str(path), line, field, problem
        where = self.path + (f":{line}" if line is not None else "")
        what = f"field {field!r}: {problem}" if field else problem
        super().__init__(f"{where}: {what}" + (f". {hint}" if hint else ""))


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each non-blank line of ``path``."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def parse_line(path: str | Path, number: int, line: str, hint: str = "") -> object:
    """The JSON value of one line; ``InputError`` naming the place where it is not valid JSON."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(path, number, None, f"invalid JSON ({exc.msg} at column {exc.colno})", hint) from None


def write_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_jsonl_atomic(path: str | Path, rows: Iterable[object]) -> None:
    write_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
