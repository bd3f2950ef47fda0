"""What the lm-eval tasks in ``tasks/`` call: data, prompts, the answer filter, the metrics.

Every task works the same way, whatever kinds it asks for:

1. :func:`load_docs` loads the questions with the package's own loader (the shipped SVAMP and
   GSM8K, or a user's file for the ``file_md_*`` tasks) and makes one document per (question,
   kind): the mixed task has two per question, and ``--limit`` counts documents.
2. :func:`doc_to_text` renders the registry's student prompt for the document's kind (plain, or
   the user turn under ``--apply_chat_template``), the same string the Axolotl formatter trains on.
3. The model answers ``repeats`` times (k paths). :class:`ReadAnswers`, the task's filter, reads
   every path: CoT answers extracted, PoT programs run in the sandboxed executor, all documents
   of the task in one batch. ``--log_samples`` shows each path's answer, outcome and detail.
4. :func:`process_results` passes each document's answers on, once per metric of the task (any
   ``<kind>_acc``, ``<kind>_maj`` or ``mixed_maj``, see :mod:`mixdistill_plugin.scoring`); every
   metric has the one aggregation :func:`accuracy`, which groups the documents of a question back
   together and scores them exactly as ``mixdistill score`` does (as fractions, lm-eval's
   convention, where ``score`` prints percent). ``mixed_maj`` takes the mixed vote by ``--metadata '{"vote": METHOD}'``
   (:data:`~mixdistill_plugin.voting.MIXED_RULES`; default :data:`~mixdistill_plugin.voting.DEFAULT_VOTE`).
5. Standard errors: lm-eval computes one only for aggregations it knows (``mean``, a fixed list of
   bootstrappable functions); :func:`install_stderr` teaches it ours, each of which carries its own
   (``sqrt(p (1 - p) / (n - 1))`` over questions, lm-eval's formula for a mean of 0/1 scores).
"""

from __future__ import annotations

import logging
from typing import Sequence

from lm_eval.api.filter import Filter

from mixdistill_plugin.answers import DEFAULT_TOLERANCE, AnswerType
from mixdistill_plugin.executor import Executor
from mixdistill_plugin.prompts import DEFAULT_STYLE, check_kinds, prompt_text
from mixdistill_plugin.scoring import MIXED, ItemScore, metrics_of, paths_by_question, read_answers, score_answers
from mixdistill_plugin.stats import stderr
from mixdistill_plugin.voting import parse_vote

Item = tuple[str, str, float | str, list, str, str]  # question id, kind, gold, path answers, mixed vote method, metric

FILE_HINT = ("the file_md_* tasks evaluate a question/answer file of your own: pass "
             "--metadata '{\"file\": \"PATH\"}' to lm_eval, or run mixdistill eval --dataset PATH")


def load_docs(dataset: str | None = None, split: str = "test", kinds: Sequence[str] = MIXED, votes: bool = True,
              data_dir: str | None = None, file: str | None = None,
              question_field: str = "question", answer_field: str = "answer", id_field: str | None = None,
              choices_field: str = "choices", choices: Sequence[str] = (), skip_bad_rows: bool = False,
              vote: str | None = None, questions: int | None = None, **_: object):
    """The task's documents: one per (question, kind), as a ``DatasetDict`` with a ``test`` split.

    lm-eval passes the task's ``dataset_kwargs`` and its metadata (``--metadata``, and the model
    arguments). ``kinds`` are the task's kinds; each document carries the task's metrics
    (:func:`scoring.metrics_of` ``kinds``, with the majority votes where ``votes``). ``dataset`` names a
    dataset of the task registry (the ``svamp_*``, ``cqa_*``... tasks set it; ``data_dir`` or
    ``$MIXDISTILL_DATA_DIR`` may hold copies of its files); such a task refuses a ``file`` (it would
    evaluate its dataset, not the file). The ``file_md_*`` tasks set none and read ``file``: a
    ``.jsonl``/``.json``/``.csv``/``.parquet`` of question/answer rows, with the field options of
    ``mixdistill generate``; a bad row stops the run unless ``skip_bad_rows``. A kind that does not
    apply to the questions (PoT to label answers) stops the run too. ``questions`` (``--metadata '{"questions": N}'``) keeps the first N questions,
    each with all its documents, where lm-eval's ``--limit`` counts documents.
    """
    import datasets

    from mixdistill_plugin.data import FileFields
    from mixdistill_plugin.tasks import load_questions

    method = str(parse_vote(vote))  # an unknown method stops the run before the model loads

    if dataset and file:
        raise ValueError(f"this task evaluates {dataset}, not the file {file}: a file of your own is evaluated by "
                         "the file_md_* tasks (mixdistill eval --dataset FILE)")
    source = dataset or file
    if not source:
        raise ValueError(FILE_HINT)
    fields = FileFields(question_field, answer_field, id_field, choices_field, tuple(choices), skip_bad_rows)
    found, skipped = load_questions(source, split if dataset else None, data_dir=data_dir, fields=fields)
    for error in skipped:
        logging.getLogger(__name__).warning("skipped %s", error)
    found = found[:questions]
    check_kinds(kinds, found, source)
    metrics = metrics_of(kinds, votes)
    docs = [
        {"id": q.id, "question": q.question, "answer": q.answer, "answer_type": q.answer_type, "choices": q.choices,
         "style": q.style, "kind": kind, "metrics": metrics, "vote": method}
        for q in found for kind in kinds
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def doc_to_text(doc: dict) -> str:
    return prompt_text(doc["kind"], doc["question"], style=doc.get("style", DEFAULT_STYLE))


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
                specs = [answer_type(docs[i]) for i in mine for _ in resps[i]]
                found = iter(read_answers(kind, [t for i in mine for t in resps[i]], executor, specs))
                for i in mine:
                    read[i] = [dict(zip(("answer", "outcome", "detail"), next(found))) for _ in resps[i]]
        return read


def answer_type(doc: dict) -> AnswerType:
    """How a document's paths are read (documents written before answer types: numbers)."""
    return AnswerType.of(doc.get("answer_type", "number"), doc.get("choices") or ())


def process_results(doc: dict, results: list[list[dict]]) -> dict[str, Item]:
    """``results`` holds one entry per request; the document's one request carries its k paths."""
    (paths,) = results
    answers = [p["answer"] for p in paths]
    gold = doc["answer"] if isinstance(doc["answer"], str) else float(doc["answer"])
    return {metric: (doc["id"], doc["kind"], gold, answers, doc.get("vote"), metric) for metric in doc["metrics"]}


def item_scores(items: Sequence[Item], tolerance: float = DEFAULT_TOLERANCE) -> list[ItemScore]:
    """One :class:`ItemScore` per question, from the documents (kinds) of that question."""
    votes = {item[0]: item[4] for item in items}
    questions = paths_by_question(item[:4] for item in items)
    return [score_answers(q["gold"], q["paths"], tolerance, votes[qid]) for qid, q in questions.items()]


def _right(items: Sequence[Item]) -> tuple[int, int]:
    """How many questions are right for the items' metric, of how many."""
    scores = item_scores(items)
    return sum(s.correct(items[0][5]) for s in scores) if scores else 0, len(scores)


def accuracy(items: Sequence[Item]) -> float:
    """Every metric's aggregation: the share of questions right for the metric the items carry."""
    right, n = _right(items)
    return right / n if n else 0.0


def _accuracy_stderr(items: Sequence[Item]) -> float:
    """The standard error of :func:`accuracy` (see :func:`install_stderr`)."""
    return stderr(*_right(items))


accuracy.stderr = _accuracy_stderr


def install_stderr() -> None:
    """Make lm-eval report our aggregations' own standard errors (it prints ``N/A`` for any aggregation
    but ``mean``, ``acc_all`` and a fixed list of bootstrappable ones). lm-eval asks
    ``stderr_for_metric(metric=<the aggregation>, bootstrap_iters=...)`` once per metric after the run
    (``evaluator_utils.TaskOutput.calculate_aggregate_metric``); the wrapper answers with the
    aggregation's ``stderr`` where it has one, and asks lm-eval's own function otherwise.
    ``--bootstrap_iters 0`` still turns standard errors off."""
    import lm_eval.evaluator_utils as evaluator_utils

    original = evaluator_utils.stderr_for_metric
    if getattr(original, "mixdistill", False):
        return

    def stderr_for_metric(metric, bootstrap_iters):
        own = getattr(metric, "stderr", None)
        if own is not None and callable(metric):
            return own if bootstrap_iters > 0 else None
        return original(metric, bootstrap_iters)

    stderr_for_metric.mixdistill = True
    evaluator_utils.stderr_for_metric = stderr_for_metric


install_stderr()

