"""What the lm-eval tasks in ``lm_eval_tasks/`` call: data, prompts, the answer filter, the metrics.

Every task works the same way, whatever kinds it asks for:

1. :func:`load_docs` loads the questions with the package's own loader (``$MIXDISTILL_DATA_DIR``,
   else the hub) and makes one document per (question, kind): the mixed task has two per
   question, and ``--limit`` counts documents.
2. :func:`doc_to_text` renders the registry's student prompt for the document's kind (plain, or
   the user turn under ``--apply_chat_template``), the same string the Axolotl formatter trains on.
3. The model answers ``repeats`` times (k paths). :class:`ReadAnswers`, the task's filter, reads
   every path: CoT answers extracted, PoT programs run in the sandboxed executor, all documents
   of the task in one batch. ``--log_samples`` shows each path's answer, outcome and detail.
4. :func:`process_results` passes each document's answers on; each metric's aggregation groups the
   documents of a question back together and scores them with :mod:`mixdistill_plugin.scoring`,
   exactly as ``mixdistill score`` does (as fractions, lm-eval's convention, where ``score``
   prints percent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from lm_eval.api.filter import Filter

from mixdistill_plugin.answers import DEFAULT_TOLERANCE
from mixdistill_plugin.executor import Executor
from mixdistill_plugin.prompts import prompt_text
from mixdistill_plugin.scoring import ItemScore, paths_by_question, read_answers, score_answers
from mixdistill_plugin.startup import tasks_dir

TASKS_DIR = Path(tasks_dir())
Item = tuple[str, str, float, list]


def tasks_path() -> str:
    """The folder of mixdistill's lm-eval tasks (what ``--include_path`` needs)."""
    return str(TASKS_DIR)


def load_docs(dataset: str = "svamp", split: str = "test", kinds: Sequence[str] = ("cot", "pot"),
              metrics: Sequence[str] = (), data_dir: str | None = None, **_: object):
    """The task's documents: one per (question, kind), as a ``DatasetDict`` with a ``test`` split.

    ``data_dir`` (also ``--metadata '{"data_dir": ...}'``) defaults to ``$MIXDISTILL_DATA_DIR``.
    """
    import datasets

    from mixdistill_plugin.data import load_questions

    questions, _ = load_questions(dataset, split, data_dir=data_dir)  # None: $MIXDISTILL_DATA_DIR, then the hub
    docs = [
        {"id": q.id, "question": q.question, "answer": q.answer, "kind": kind, "metrics": list(metrics)}
        for q in questions for kind in kinds
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def doc_to_text(doc: dict) -> str:
    return prompt_text(doc["kind"], doc["question"])


class ReadAnswers(Filter):
    """Each path's answer: ``{"answer", "outcome", "detail"}`` (one executor batch per kind)."""

    def __init__(self, timeout: float = 1.0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout

    def apply(self, resps, docs):
        resps = [list(r) for r in resps]
        read: list[list[dict]] = [[] for _ in resps]
        with Executor(timeout=self.timeout) as executor:
            for kind in dict.fromkeys(doc["kind"] for doc in docs):
                mine = [i for i, doc in enumerate(docs) if doc["kind"] == kind]
                found = iter(read_answers(kind, [t for i in mine for t in resps[i]], executor))
                for i in mine:
                    read[i] = [dict(zip(("answer", "outcome", "detail"), next(found))) for _ in resps[i]]
        return read


def process_results(doc: dict, results: list[list[dict]]) -> dict[str, Item]:
    """``results`` holds one entry per request; the document's one request carries its k paths."""
    (paths,) = results
    item: Item = (doc["id"], doc["kind"], float(doc["answer"]), [p["answer"] for p in paths])
    return {metric: item for metric in doc["metrics"]}


def item_scores(items: Sequence[Item], tolerance: float = DEFAULT_TOLERANCE) -> list[ItemScore]:
    """One :class:`ItemScore` per question, from the documents (kinds) of that question."""
    return [score_answers(q["gold"], q["paths"], tolerance) for q in paths_by_question(items).values()]


def _accuracy(metric: str):
    def aggregate(items: Sequence[Item]) -> float:
        scores = item_scores(items)
        return sum(s.correct(metric) for s in scores) / len(scores) if scores else 0.0

    aggregate.__name__ = metric
    return aggregate


cot_acc = _accuracy("cot_acc")
pot_acc = _accuracy("pot_acc")
cot_maj = _accuracy("cot_maj")
pot_maj = _accuracy("pot_maj")
mixed_maj = _accuracy("mixed_maj")
predict_acc = _accuracy("predict_acc")
predict_maj = _accuracy("predict_maj")
