"""Questions of teacher data that overlap a test set: found before the teacher is asked, written out.

Two tiers, each a cheap, exact test on words:

- ``exact``: the same question once normalised (case, punctuation and spacing ignored);
- ``ngram``: a run of :data:`NGRAM` normalised words that also occurs in a test question (open-r1
  checks 8-grams; :data:`NGRAM` is chosen on SVAMP in docs/teacher-data.md).

A flag names the question, the test set and the test question it matches (its id and text), the
tier, and for ``ngram`` how many n-grams the two share.

An optional third tier, a judge model (``mixdistill contamination --judge-model``), is asked about
each ``ngram`` candidate: the same problem (the same situation and the same quantity asked for, in
other words or with other numbers), or a different one that shares a phrase? Its verdict goes into
the flag (``judge``: ``same``, ``different``, or ``unreadable``), and the candidates it calls
different are left out of the flags. Exact matches need no judge.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from mixdistill_plugin.data import FileFields
from mixdistill_plugin.records import Question

NGRAM = 8
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")


def words(text: str) -> list[str]:
    """``text`` as lower-case words and numbers (``3.5`` and ``1,000`` stay one word), punctuation gone."""
    return _WORD.findall(text.lower())


def _grams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


@dataclass(frozen=True)
class Flag:
    """A question that overlaps test question ``match_id`` of the test set ``against``."""

    id: str
    question: str
    tier: str
    against: str
    match_id: str
    match_text: str
    shared_ngrams: int = 0
    judge: str | None = None  # the judge tier's verdict: same, different, unreadable (None: not asked)

    def as_row(self) -> dict:
        return asdict(self)


JUDGE_INSTRUCTION = (
    "You check benchmark contamination. Two questions follow. Answer SAME if they pose the same problem: "
    "the same situation asking the same thing, even if the wording or details such as numbers or names differ. "
    "Answer DIFFERENT if they only share some phrasing. Reply with the one word SAME or DIFFERENT.")


def judge_messages(flag: Flag) -> list[dict[str, str]]:
    """The chat the judge tier sends about one candidate."""
    return [{"role": "system", "content": JUDGE_INSTRUCTION},
            {"role": "user", "content": f"First question:\n{flag.question}\n\nSecond question:\n{flag.match_text}"}]


def read_verdict(text: str) -> str:
    """``same`` or ``different`` from the judge's reply (its first such word), else ``unreadable``."""
    found = re.search(r"\b(same|different)\b", text.lower())
    return found.group(1) if found else "unreadable"


class HeldOut:
    """The test questions to check against, indexed once: normalised texts and n-grams."""

    def __init__(self, sets: dict[str, Sequence[Question]], n: int = NGRAM) -> None:
        self.n = n
        self.questions: dict[tuple[str, str], Question] = {}
        self.exact: dict[str, tuple[str, str]] = {}
        self.grams: dict[tuple[str, ...], set[tuple[str, str]]] = defaultdict(set)
        for name, questions in sets.items():
            for q in questions:
                key = (name, q.id)
                self.questions[key] = q
                tokens = words(q.question)
                self.exact.setdefault(" ".join(tokens), key)
                for gram in _grams(tokens, n):
                    self.grams[gram].add(key)

    def flag(self, question: Question) -> Flag | None:
        """The flag of ``question``: its exact match, else the test question it shares most n-grams with."""
        tokens = words(question.question)
        key = self.exact.get(" ".join(tokens))
        tier, count = "exact", 0
        if key is None:
            shared = Counter(k for gram in _grams(tokens, self.n) for k in self.grams.get(gram, ()))
            if not shared:
                return None
            key, count = min(shared.items(), key=lambda item: (-item[1], item[0]))
            tier = "ngram"
        match = self.questions[key]
        return Flag(question.id, question.question, tier, key[0], match.id, match.question, count)


def flags(questions: Sequence[Question], tests: HeldOut) -> list[Flag]:
    """The flags of ``questions``, in their order."""
    return [flag for flag in map(tests.flag, questions) if flag is not None]


def test_sets(specs: Sequence[str], data_dir: Path | None, fields: FileFields) -> dict[str, list[Question]]:
    """The test sets ``specs`` name (``DATASET:SPLIT`` of the task registry, or a file read with ``fields``),
    by spec."""
    from mixdistill_plugin.tasks import is_task, load_questions

    sets = {}
    for spec in specs:
        name, _, split = spec.partition(":")
        if is_task(name):
            sets[spec] = load_questions(name, split or None, data_dir=data_dir)[0]
        else:
            sets[spec] = load_questions(spec, fields=fields)[0]
    return sets


def write_flags(path: Path, found: Sequence[Flag]) -> None:
    """``found`` as JSON Lines, one flag a line (written atomically)."""
    from mixdistill_plugin.jsonl import write_jsonl_atomic

    write_jsonl_atomic(path, (f.as_row() for f in found))


def describe(found: Sequence[Flag], total: int) -> str:
    """``N of M questions flagged`` and the counts per test set and tier."""
    counts = Counter((f.against, f.tier) for f in found)
    parts = ", ".join(f"{against} {tier} {n}" for (against, tier), n in sorted(counts.items()))
    return f"{len(found)} of {total} questions flagged" + (f" ({parts})" if parts else "")
