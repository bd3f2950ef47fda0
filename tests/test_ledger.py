"""The append-only ledger both `generate` and `grade` resume from."""

from __future__ import annotations

from pydantic import BaseModel

from mixdistill_plugin.ledger import REQUEST_ERROR, Ledger


class Line(BaseModel):
    key: str
    status: str
    value: int = 0


LEDGER = Ledger(Line, key=lambda e: e.key, failed=lambda e: e.status == REQUEST_ERROR, hint="remove the line")


def test_appends_read_back_with_a_torn_last_line_cut_off(tmp_path):
    path = tmp_path / "sub" / "ledger.jsonl"
    with LEDGER.appending(path) as append:
        append([Line(key="a", status="ok", value=1), Line(key="b", status=REQUEST_ERROR)])
        append([Line(key="b", status="ok", value=2)])
    with path.open("ab") as handle:
        handle.write(b'{"key": "c", "sta')  # a crash mid-append
    lines, torn = LEDGER.read(path)
    assert torn and [(e.key, e.status) for e in lines] == [("a", "ok"), ("b", REQUEST_ERROR), ("b", "ok")]
    assert path.read_bytes().endswith(b'"value":2}\n')  # the torn part is gone from the file too
    assert LEDGER.read(path) == (lines, False)
    assert LEDGER.read(tmp_path / "none.jsonl") == ([], False)


def test_a_failed_request_is_asked_again_and_its_answer_takes_its_place():
    lines = [Line(key="a", status=REQUEST_ERROR), Line(key="b", status="ok", value=1), Line(key="a", status="ok", value=2),
             Line(key="c", status=REQUEST_ERROR), Line(key="b", status=REQUEST_ERROR)]
    assert LEDGER.answered(lines) == {"a", "b"}
    latest = {e.key: (e.status, e.value) for e in LEDGER.latest(lines)}
    assert latest == {"a": ("ok", 2), "b": ("ok", 1), "c": (REQUEST_ERROR, 0)}
