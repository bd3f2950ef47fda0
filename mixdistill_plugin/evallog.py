"""The files an evaluation leaves, in lm-eval's layout, read and written without importing lm-eval.

``lm_eval --log_samples --output_path DIR`` writes ``samples_<task>_<stamp>.jsonl`` (one line per
document: ``doc``, the paths' texts in ``resps[0]``, their read answers in ``filtered_resps[0]``)
and ``results_<stamp>.json`` under DIR; ``mixdistill socratic`` writes the same two files, so
``report`` and ``grade`` read every student the same way.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Hashable
import re

from mixdistill_plugin.jsonl import InputError, json_type, numbered_lines, parse_line, write_atomic, write_jsonl_atomic

SAMPLES = re.compile(r"samples_(?P<task>.+)_(?P<stamp>\d{4}-\d{2}-\d{2}T[\d\-.]+)\.jsonl$")
HINT = "expected a line of lm-eval's --log_samples (or mixdistill socratic) output"


@dataclass(frozen=True)
class Logged:
    """One logged document: its fields (``id``, ``question``, ``kind`` as text), its gold answer (a
    number as a float, a label as it is), its paths' texts and the answers read from them."""

    doc: dict
    gold: float | str
    texts: list[str]
    answers: list[float | str | None]


def latest_samples(folder: Path, group: Callable[[Path], Hashable]) -> dict[tuple[Hashable, str], Path]:
    """The newest samples file of each (``group(path)``, task) below ``folder``."""
    latest: dict[tuple[Hashable, str], tuple[str, Path]] = {}
    for path in sorted(folder.rglob("samples_*.jsonl")):
        match = SAMPLES.search(path.name)
        if match:
            key = (group(path), match["task"])
            if key not in latest or match["stamp"] > latest[key][0]:
                latest[key] = (match["stamp"], path)
    return {key: path for key, (_, path) in latest.items()}


def read_samples(path: Path) -> list[Logged]:
    """Every document of a samples file; ``InputError`` at the first line that is not one."""
    return [_logged(path, number, parse_line(path, number, line, HINT)) for number, line in numbered_lines(path)]


def _logged(path: Path, number: int, row: object) -> Logged:
    def bad(field: str, problem: str) -> InputError:
        return InputError(path, number, field, problem, HINT)

    if not isinstance(row, dict):
        raise InputError(path, number, None, f"expected a JSON object, got {json_type(row)}", HINT)
    doc = row.get("doc")
    if not isinstance(doc, dict):
        raise bad("doc", "missing" if doc is None else f"expected an object, got {json_type(doc)}")
    for name in ("id", "question", "kind", "answer"):
        if name not in doc:
            raise bad(f"doc.{name}", "missing")
    gold = doc["answer"]
    if not isinstance(gold, (int, float, str)) or isinstance(gold, bool):
        raise bad("doc.answer", f"expected a number or a label, got {json_type(gold)}")
    resps, filtered = row.get("resps"), row.get("filtered_resps")
    if not (isinstance(resps, list) and resps and isinstance(resps[0], list)
            and all(isinstance(t, str) for t in resps[0])):
        raise bad("resps", "expected a list holding the list of the paths' texts")
    if not (isinstance(filtered, list) and filtered and isinstance(filtered[0], list)):
        raise bad("filtered_resps", "expected a list holding the list of the paths' answers")
    answers = []
    for i, logged in enumerate(filtered[0]):
        try:
            value = logged if isinstance(logged, dict) else ast.literal_eval(logged)
            answer = value["answer"]
        except (ValueError, SyntaxError, TypeError, KeyError):
            raise bad(f"filtered_resps.0.{i}", "expected {'answer': ..., 'outcome': ...}") from None
        answers.append(None if answer is None else answer if isinstance(answer, str) else float(answer))
    doc = dict(doc, id=str(doc["id"]), question=str(doc["question"]), kind=str(doc["kind"]))
    return Logged(doc, gold if isinstance(gold, str) else float(gold), resps[0], answers)


def sample_line(doc_id: int, doc: dict, texts: list[str], answers: list[dict], **extra: object) -> dict:
    """One document's line of a samples file: its ``doc`` (``id``, ``question``, ``answer``, ``kind``),
    its paths' ``texts`` (``resps[0]``), the answers read from them (``filtered_resps[0]``: each
    ``{"answer", "outcome", "detail"}``), then the ``extra`` fields."""
    return {"doc_id": doc_id, "doc": doc, "resps": [texts], "filtered_resps": [answers], **extra}


def results_of(task: str, metrics: dict[str, float], config: dict) -> dict:
    """A results file's content: ``task``'s ``metrics`` (keyed ``name,filter`` as lm-eval keys them) and the
    run's ``config``."""
    return {"results": {task: {"alias": task, **metrics}}, "config": config}


def write_run(output_path: Path, task: str, samples: Iterable[dict], results: dict) -> Path:
    """A run's ``samples_<task>_<stamp>.jsonl`` and ``results_<stamp>.json`` under ``output_path``
    (each written atomically); the samples file."""
    stamp = datetime.now().strftime("%Y-%m-%dT%H-%M-%S.%f")
    output_path.mkdir(parents=True, exist_ok=True)
    path = output_path / f"samples_{task}_{stamp}.jsonl"
    write_jsonl_atomic(path, samples)
    write_atomic(output_path / f"results_{stamp}.json", json.dumps(results, indent=2) + "\n")
    return path
