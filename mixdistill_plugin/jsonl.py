"""JSON Lines files: reading with line numbers, appending safely, writing atomically.

Reading is line by line and never stops at a bad line by itself: a line that is not UTF-8, not
JSON, nested too deeply or holding a number too long to read is an :class:`InputError` naming its
line. Writing (:func:`json_line`) is always strict JSON (RFC 8259) that encodes as UTF-8.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from mixdistill_plugin.errors import UserError

_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(UserError, ValueError):
    """Bad input, with the place it was found and what to do about it."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, problem: str, hint: str = "") -> None:
        self.path, self.line, self.field, self.problem = str(path), line, field, problem
        where = self.path + (f":{line}" if line is not None else "")
        what = f"field {field!r}: {problem}" if field else problem
        super().__init__(f"{where}: {what}" + (f". {hint}" if hint else ""))


def json_type(value: object) -> str:
    """What ``value`` is, in JSON's words: ``a string``, ``a number``, ``a list``, ``null``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text`` (not Unicode text, not encodable), or ``None``."""
    match = _SURROGATE.search(text)
    return None if match is None else match.start()


def unreadable(path: str | Path, exc: OSError, hint: str = "") -> InputError:
    """The :class:`InputError` for a file that cannot be opened: missing, a folder, not allowed..."""
    if isinstance(exc, FileNotFoundError):
        problem = "no such file"
    elif isinstance(exc, IsADirectoryError):
        problem = "a folder, not a file"
    else:
        problem = f"cannot read ({exc.strerror or exc})"
    return InputError(path, None, None, problem, hint)


def file_text(path: str | Path, hint: str = "") -> str:
    """The whole of the file ``path`` as UTF-8 text; an :class:`InputError` naming it when it cannot be read so."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise unreadable(path, exc, hint) from None
    except UnicodeDecodeError as exc:
        raise InputError(path, None, None, f"not valid UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                         f"{exc.start})", hint) from None


def read_json(path: str | Path, hint: str = "") -> object:
    """The JSON value of the file ``path`` (one value, not JSON Lines); an :class:`InputError` naming the
    file (and the line) when it cannot be read or is not JSON."""
    text = file_text(path, hint)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, None, f"invalid JSON ({exc.msg} at column {exc.colno})", hint) from None
    except (RecursionError, ValueError) as exc:  # nested too deeply; an integer too long to convert
        raise InputError(path, None, None, f"cannot be read as JSON ({type(exc).__name__})", hint) from None


def numbered_lines(path: str | Path, drop_torn: bool = False) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each non-blank line of ``path`` (lines end at ``\\n``); ``drop_torn``:
    leave out a last line without its ``\\n`` (an append cut short, or one still being written).

    Each line is decoded on its own, so one that is not UTF-8 spoils only itself: its bad bytes
    come through as lone surrogates (``surrogateescape``), which :func:`parse_line` reports. A
    byte order mark at the start of the file is dropped. A file that cannot be opened is an
    :class:`InputError` naming it.
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise unreadable(path, exc) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if drop_torn and not raw.endswith(b"\n"):
                return
            line = raw.decode("utf-8", "surrogateescape")
            if number == 1:
                line = line.removeprefix("\ufeff")
            if line.strip():
                yield number, line


def parse_line(path: str | Path, number: int, line: str, hint: str = "") -> object:
    """The JSON value of one line; ``InputError`` naming the place where it cannot be read.

    Not UTF-8, not JSON, nested too deeply for the parser, or an integer too long to convert.
    ``NaN`` and ``Infinity`` are read (as Python's json does); the record schemas refuse them
    where a number is used.
    """
    bad = lone_surrogate(line)
    if bad is not None:
        byte = ord(line[bad]) - 0xDC00
        what = f"byte 0x{byte:02x}" if 0x80 <= byte <= 0xFF else f"character U+{ord(line[bad]):04X}"
        raise InputError(path, number, None, f"not valid UTF-8 text ({what} at column {bad + 1})", hint)
    try:
        return json.loads(line.rstrip("\r\n"))  # columns then count on this line, also at its end
    except json.JSONDecodeError as exc:
        raise InputError(path, number, None, f"invalid JSON ({exc.msg} at column {exc.colno})", hint) from None
    except RecursionError:
        raise InputError(path, number, None, "JSON nested too deeply to read", hint) from None
    except ValueError as exc:  # an integer beyond sys.get_int_max_str_digits()
        problem = (f"a number with more than {sys.get_int_max_str_digits()} digits" if "digits" in str(exc)
                   else f"invalid JSON ({exc})")
        raise InputError(path, number, None, problem, hint) from None


def json_line(value: object) -> str:
    """``value`` as one line of strict JSON (RFC 8259) that always encodes as UTF-8.

    ``NaN`` and ``±Infinity`` are written as ``null``; in strings, lone surrogates (a program's
    output may hold them) become U+FFFD and surrogate pairs the character they stand for.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        if not str(exc).startswith("Out of range float"):
            raise
        text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)
    if lone_surrogate(text) is not None:  # ensure_ascii=False leaves them as they are
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _finite(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (other threads may be writing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would make every output private
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_jsonl_atomic(path: str | Path, rows: Iterable[object]) -> None:
    """Replace ``path`` with one :func:`json_line` per row."""
    write_atomic(path, "".join(json_line(row) + "\n" for row in rows))


def shown(text: str, limit: int = 40) -> str:
    """``repr(text)``, shortened: safe to print whatever ``text`` holds."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


T = TypeVar("T")


def load_lines(path: str | Path, read: Callable[[int, object], T], *, skip_invalid: bool = False,
               unique: str | None = None, hint: str = "", drop_torn: bool = False) -> tuple[list[T], list[InputError]]:
    """``read(line number, parsed JSON)`` of every line of ``path``, and the errors of the lines skipped.

    The first bad line raises its ``InputError`` unless ``skip_invalid``. With ``unique``, a line whose
    attribute of that name equals (as text) the one of a line already read is bad too. ``drop_torn``: see
    :func:`numbered_lines`.
    """
    records, errors, seen = [], [], {}
    for number, line in numbered_lines(path, drop_torn):
        try:
            record = read(number, parse_line(path, number, line, hint))
            if unique is not None:
                _check_unique(path, number, unique, getattr(record, unique), seen, hint)
            records.append(record)
        except InputError as exc:
            if not skip_invalid:
                raise
            errors.append(exc)
    return records, errors


def _check_unique(path, number: int, field: str, value: object, seen: dict, hint: str) -> None:
    """An ``InputError`` when ``value`` (as text) is in ``seen`` (value -> first line and spelling); else record it."""
    spelled = shown(value) if isinstance(value, str) else str(value)
    if str(value) in seen:
        first, before = seen[str(value)]
        respelled = "" if before == spelled else f" as {before} ({field}s compare as text)"
        raise InputError(path, number, field, f"duplicate {field} {spelled}, first on line {first}{respelled}", hint)
    seen[str(value)] = (number, spelled)
