"""The append-only ledger both `generate` and `grade` resume from, and the atomic writes beside it."""

from __future__ import annotations

import os
import stat

from pydantic import BaseModel

from mixdistill_plugin.jsonl import write_atomic
from mixdistill_plugin.ledger import REQUEST_ERROR, Ledger, request_failed


class Line(BaseModel):
    key: str
    status: str
    value: int = 0


LEDGER = Ledger(Line, key=lambda e: e.key, failed=lambda e: request_failed(e.status), hint="remove the line")


def test_a_torn_last_line_is_left_out_on_read_and_the_file_is_not_changed(tmp_path):
    path = tmp_path / "sub" / "ledger.jsonl"
    with LEDGER.appending(path) as append:
        append([Line(key="a", status="ok", value=1), Line(key="b", status=REQUEST_ERROR)])
        append([Line(key="b", status="ok", value=2)])
    with path.open("ab") as handle:
        handle.write(b'{"key": "c", "sta')  # a crash mid-append, or a run still writing
    before = path.read_bytes()
    lines, torn = LEDGER.read(path)
    assert torn and [(e.key, e.status) for e in lines] == [("a", "ok"), ("b", REQUEST_ERROR), ("b", "ok")]
    assert path.read_bytes() == before  # a reader never cuts what a writer may still be appending
    assert LEDGER.read(path) == (lines, True)
    assert LEDGER.read(tmp_path / "none.jsonl") == ([], False)


def test_appending_cuts_a_torn_last_line_off_first(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b'{"key": "a", "status": "ok", "value": 1}\n{"key": "c", "sta')
    with LEDGER.appending(path) as append:
        append([Line(key="c", status="ok", value=3)])
    assert path.read_bytes() == b'{"key": "a", "status": "ok", "value": 1}\n{"key":"c","status":"ok","value":3}\n'
    assert LEDGER.read(path) == ([Line(key="a", status="ok", value=1), Line(key="c", status="ok", value=3)], False)


def test_appending_to_a_whole_ledger_keeps_every_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b'{"key": "a", "status": "ok", "value": 1}\n')
    with LEDGER.appending(path) as append:
        append([Line(key="b", status="ok")])
    assert [e.key for e in LEDGER.read(path)[0]] == ["a", "b"]


def test_a_failed_request_is_asked_again_and_its_answer_takes_its_place():
    lines = [Line(key="a", status=REQUEST_ERROR), Line(key="b", status="ok", value=1), Line(key="a", status="ok", value=2),
             Line(key="c", status=REQUEST_ERROR), Line(key="b", status=REQUEST_ERROR)]
    assert LEDGER.answered(lines) == {"a", "b"}
    latest = {e.key: (e.status, e.value) for e in LEDGER.latest(lines)}
    assert latest == {"a": ("ok", 2), "b": ("ok", 1), "c": (REQUEST_ERROR, 0)}


def test_an_atomic_write_keeps_the_umask_permissions(tmp_path):
    """The temporary file is made private; the output it becomes is not."""
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "report.md", "# report\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
