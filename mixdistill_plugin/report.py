"""``mixdistill report``: teacher yield and student accuracy of one or more runs, a table and a plot.

A run folder (what ``make distill`` writes) holds ``teacher/stats.json`` and
``eval/<student>/.../samples_<task>_<date>.jsonl`` (lm-eval's ``--log_samples``; ``<student>`` is
e.g. ``base`` or ``distilled``). Accuracies are computed from the logged per-path answers with
:func:`scoring.score_answers`, the code ``mixdistill score`` and the lm-eval metrics use, so the
numbers are theirs; ``mixdistill socratic`` writes its samples in the same layout. Columns are the
metrics any evaluation has (Mixed Distillation's five, the direct answer of Distilling
step-by-step, Socratic CoT's). The plot shows majority-vote accuracy against the number of paths
per kind (1..k): CoT, PoT, mixed (n CoT + n PoT paths pooled), direct, Socratic (one path).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from mixdistill_plugin.jsonl import numbered_lines, parse_line, write_atomic
from mixdistill_plugin.scoring import METRICS, paths_by_question, score_answers, summarize

_SAMPLES = re.compile(r"samples_(?P<task>.+)_(?P<stamp>\d{4}-\d{2}-\d{2}T[\d\-.]+)\.jsonl$")
COLUMNS = {"cot_acc": "CoT", "pot_acc": "PoT", "cot_maj": "CoT maj@k", "pot_maj": "PoT maj@k", "mixed_maj": "Mixed maj@k",
           "predict_acc": "Direct", "predict_maj": "Direct maj@k", "socratic_acc": "Socratic"}
PLOTTED = {"cot_maj": "tab:blue", "pot_maj": "tab:orange", "mixed_maj": "tab:green", "predict_maj": "tab:red",
           "socratic_maj": "tab:purple"}


@dataclass
class Evaluation:
    """One student's logged answers on one task: per question, gold and each kind's path answers."""

    run: str
    student: str
    task: str
    questions: dict[str, dict] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return max((len(paths) for q in self.questions.values() for paths in q["paths"].values()), default=0)

    def accuracy(self, metric: str, paths: int | None = None) -> float | None:
        """Percent correct for ``metric`` using the first ``paths`` paths of each kind (all by default)."""
        return summarize([score_answers(q["gold"], {kind: a[:paths] for kind, a in q["paths"].items()})
                          for q in self.questions.values()], [metric])[metric]


def _answer(logged) -> float | None:
    value = logged if isinstance(logged, dict) else ast.literal_eval(logged)
    return value["answer"]


def load_evaluations(run: Path) -> list[Evaluation]:
    """The latest samples file of each (student, task) under ``run/eval``."""
    latest: dict[tuple[str, str], tuple[str, Path]] = {}
    for path in sorted((run / "eval").glob("*/**/samples_*.jsonl")):
        match = _SAMPLES.search(path.name)
        if match:
            student = path.relative_to(run / "eval").parts[0]
            key = (student, match["task"])
            if key not in latest or match["stamp"] > latest[key][0]:
                latest[key] = (match["stamp"], path)
    evaluations = []
    for (student, task), (_, path) in sorted(latest.items()):
        samples = [parse_line(path, number, line) for number, line in numbered_lines(path)]
        items = [(s["doc"]["id"], s["doc"]["kind"], float(s["doc"]["answer"]),
                  [_answer(p) for p in s["filtered_resps"][0]]) for s in samples]
        evaluations.append(Evaluation(run.name, student, task, paths_by_question(items)))
    return evaluations


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def teacher_table(runs: Sequence[Path]) -> list[str]:
    lines = ["| run | teacher | questions | kind | completions | yield % | kept | coverage % |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for run in runs:
        stats_path = run / "teacher" / "stats.json"
        if not stats_path.exists():
            continue
        stats = json.loads(stats_path.read_text())
        config_path = run / "teacher" / "config.json"
        teacher = json.loads(config_path.read_text())["teacher"] if config_path.exists() else "?"
        for kind, k in stats["kinds"].items():
            share = {name: None if k[name] is None else 100 * k[name] for name in ("yield", "coverage")}
            lines.append(f"| {run.name} | {teacher} | {stats['questions']} | {kind} | {k['completions']} | "
                         f"{_pct(share['yield'])} | {k['kept']} | {_pct(share['coverage'])} |")
    return lines


def accuracy_table(evaluations: Sequence[Evaluation]) -> list[str]:
    """One row per evaluation; the columns of :data:`COLUMNS` that any evaluation has."""
    metrics = [m for m in COLUMNS if any(ev.accuracy(m) is not None for ev in evaluations)] or list(METRICS)
    lines = ["| run | student | task | questions | k | " + " | ".join(COLUMNS[m] for m in metrics) + " |",
             "| --- | --- | --- | ---: | ---: | " + " | ".join("---:" for _ in metrics) + " |"]
    for ev in evaluations:
        cells = " | ".join(_pct(ev.accuracy(m)) for m in metrics)
        lines.append(f"| {ev.run} | {ev.student} | {ev.task} | {len(ev.questions)} | {ev.k} | {cells} |")
    return lines


def plot(evaluations: Sequence[Evaluation], path: Path) -> None:
    """Majority-vote accuracy against paths per kind, one line per (run, student, kind)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    styles, markers = ["-", "--", ":", "-."], ["o", "s", "^", "D"]
    labels = sorted({(ev.run, ev.student) for ev in evaluations})
    for ev in evaluations:
        index = labels.index((ev.run, ev.student))  # one line style and marker per (run, student)
        style, marker = styles[index % len(styles)], markers[index // len(styles) % len(markers)]
        xs = list(range(1, ev.k + 1))
        for metric, color in PLOTTED.items():
            ys = [ev.accuracy(metric, n) for n in xs]
            if xs and all(y is not None for y in ys):
                name = metric.removesuffix("_maj")
                ax.plot(xs, ys, style, color=color, marker=marker, label=f"{ev.run}/{ev.student} {ev.task}: {name}")
    ax.set_xticks(range(1, max((ev.k for ev in evaluations), default=1) + 1))
    ax.set_ylim(-2, 102)
    ax.set_xlabel("sampled paths per kind (mixed: that many CoT + that many PoT)")
    ax.set_ylabel("majority-vote accuracy (%)")
    ax.set_title("Accuracy against the number of sampled paths")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(runs: Sequence[Path], out: Path) -> str:
    """Write ``report.md`` and ``report.png`` into ``out``; the markdown."""
    evaluations = [ev for run in runs for ev in load_evaluations(run)]
    out.mkdir(parents=True, exist_ok=True)
    plot(evaluations, out / "report.png")
    text = "\n".join(
        ["# mixdistill report", "", "## Teacher data", "", *teacher_table(runs), "",
         "## Student accuracy (%)", "",
         "CoT / PoT / Direct / Socratic: the first path. maj@k: majority over k paths of the kind; Mixed: over k CoT + k PoT.",
         "", *accuracy_table(evaluations), "", "![accuracy against sampled paths](report.png)", ""]
    )
    write_atomic(out / "report.md", text)
    return text
