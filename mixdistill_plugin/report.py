"""``mixdistill report``: teacher yield and student accuracy of one or more runs, a table and a plot.

A run folder (what ``make distill`` writes) holds ``teacher/stats.json`` and
``eval/<student>/.../samples_<task>_<date>.jsonl`` (lm-eval's ``--log_samples``; ``<student>`` is
e.g. ``base`` or ``distilled``). Accuracies are computed from the logged per-path answers with
:func:`scoring.score_answers`, the code ``mixdistill score`` and the lm-eval metrics use, so the
numbers are theirs; ``mixdistill socratic`` writes its samples in the same layout. Columns are the
metrics of the registry's scored kinds that any evaluation has (Mixed Distillation's five, the
direct answer of Distilling step-by-step, Socratic CoT's), titled by their kinds, each with its 95%
Wilson interval (:mod:`mixdistill_plugin.stats`).

Further sections, all from the same logged paths:

- paired comparisons of students and recipes on the questions they share (exact McNemar test,
  paired bootstrap interval of the difference), and over the seeds of runs named ``<name>-seed<N>``
  (:mod:`mixdistill_plugin.seeds`);
- the mixed vote by each aggregation method of :mod:`mixdistill_plugin.voting`, against CoT and
  PoT maj@k and against the share of questions where at least one path is right;
- adaptive sampling (stop when the CoT and PoT majorities agree): accuracy against the mean number
  of paths used, for each cap of rounds, beside the fixed mixed vote on as many rounds.

Where the runs have judge grades (``mixdistill grade``), the rationale-quality section
(:func:`grades_section`) follows the accuracy table.

The plot shows majority-vote accuracy against the number of paths per kind (1..k): each scored kind
(Socratic: one path), mixed (n CoT + n PoT paths pooled), and adaptive sampling at its mean paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from mixdistill_plugin.answers import answers_equal
from mixdistill_plugin.evallog import latest_samples, read_samples
from mixdistill_plugin.grading import GRADES, QUALITY_HEADER, Grade, quality, quality_cells, read_grades
from mixdistill_plugin.jsonl import numbered_lines, parse_line, read_json, write_atomic
from mixdistill_plugin.prompts import get_kind
from mixdistill_plugin.rubric import HIGH, LOW
from mixdistill_plugin.scoring import (METRICS, MIXED, ItemScore, all_metrics, paths_by_question, score_answers,
                                       split_metric, summarize)
from mixdistill_plugin.seeds import group_pairs, same_seed, seed_groups
from mixdistill_plugin.voting import MIXED_RULES, adaptive_vote, parse_vote

def title(metric: str) -> str:
    """A metric's column title: its kind's title (``CoT``), with `` maj@k`` for a majority vote."""
    kind, how = split_metric(metric)
    name = "Mixed" if kind == "mixed" else get_kind(kind).title
    return f"{name} maj@k" if how == "maj" else name


def shown(metric: str, ev: Evaluation) -> bool:
    """Whether ``ev`` has ``metric``; a majority vote only over more than one path."""
    kind, how = split_metric(metric)
    return ev.has(metric) and (how == "acc" or ev.k_of(kind) > 1)


def columns(evaluations: Sequence[Evaluation]) -> list[str]:
    """The metrics the accuracy table shows: those of :func:`scoring.all_metrics` :func:`shown` for any
    evaluation; Mixed Distillation's five when none has any."""
    return [m for m in all_metrics() if any(shown(m, ev) for ev in evaluations)] or list(METRICS)


def plotted() -> list[str]:
    """The metrics the plot draws against the number of paths: every maj@k."""
    return [m for m in all_metrics() if m.endswith("_maj")]


def headline() -> list[str]:
    """The metrics a comparison of two evaluations may use, the first first: the pooled vote, then each
    kind's maj@k, then each kind's first path."""
    metrics = all_metrics()
    return ["mixed_maj", *(m for m in metrics if m.endswith("_maj") and m != "mixed_maj"),
            *(m for m in metrics if m.endswith("_acc"))]


@dataclass
class Evaluation:
    """One student's logged answers on one task: per question, gold and each kind's path answers."""

    run: str
    student: str
    task: str
    questions: dict[str, dict] = field(default_factory=dict)
    vote: str | None = None  # the mixed vote's method (None: voting.DEFAULT_VOTE)

    @property
    def k(self) -> int:
        return max((len(paths) for q in self.questions.values() for paths in q["paths"].values()), default=0)

    def k_of(self, kind: str) -> int:
        """The most paths of ``kind`` (``mixed``: of the kinds of :data:`scoring.MIXED` together) any question has."""
        kinds = MIXED if kind == "mixed" else (kind,)
        return max((sum(len(q["paths"].get(k, ())) for k in kinds) for q in self.questions.values()), default=0)

    @property
    def label(self) -> str:
        return f"{self.run}/{self.student}"

    def scores(self, paths: int | None = None, vote: str | None = None) -> dict[str, ItemScore]:
        """Each question's :class:`ItemScore` from the first ``paths`` paths of each kind (all by default)."""
        return {qid: score_answers(q["gold"], {kind: a[:paths] for kind, a in q["paths"].items()},
                                   vote=vote or self.vote)
                for qid, q in self.questions.items()}

    def has(self, metric: str) -> bool:
        return any(s.has(metric) for s in self.scores().values())

    def correct(self, metric: str, paths: int | None = None, vote: str | None = None) -> dict[str, bool]:
        """Whether each question is right for ``metric``, by question id."""
        return {qid: s.correct(metric) for qid, s in self.scores(paths, vote).items()}

    def accuracy(self, metric: str, paths: int | None = None) -> float | None:
        """Percent correct for ``metric`` using the first ``paths`` paths of each kind (all by default)."""
        return summarize(list(self.scores(paths).values()), [metric])[metric]

    def mixed(self) -> bool:
        """Whether the questions have paths of every kind of :data:`scoring.MIXED` (the mixed vote and
        adaptive sampling apply)."""
        return bool(self.questions) and all(all(q["paths"].get(k) for k in MIXED) for q in self.questions.values())

    def kind_answers(self, kind: str) -> dict[str, tuple[float, list]]:
        return {qid: (q["gold"], list(q["paths"].get(kind, []))) for qid, q in self.questions.items()}


def load_evaluations(run: Path, vote: str | None = None) -> list[Evaluation]:
    """The latest samples file of each (student, task) under ``run/eval``; ``vote``: the mixed vote's method."""
    evals = run / "eval"
    latest = latest_samples(evals, lambda path: path.relative_to(evals).parts[0]) if evals.is_dir() else {}
    evaluations = []
    for (student, task), path in sorted(latest.items()):
        if path.parent == evals:  # a student's files are in its own folder
            continue
        items = [(s.doc["id"], s.doc["kind"], s.gold, s.answers) for s in read_samples(path)]
        evaluations.append(Evaluation(run.name, student, task, paths_by_question(items), vote))
    return evaluations


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _with_interval(right: int, n: int) -> str:
    """``"40.0 [24.6, 57.7]"``: percent correct and its 95% Wilson interval."""
    from mixdistill_plugin.stats import wilson

    low, high = wilson(right, n)
    return f"{100 * right / n:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def _cell(correct: dict[str, bool]) -> str:
    return _with_interval(sum(correct.values()), len(correct)) if correct else "-"


def teacher_table(runs: Sequence[Path]) -> list[str]:
    lines = ["| run | teacher | questions | kind | completions | yield % | kept | coverage % | tokens in / out | cost |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    from mixdistill_plugin.generate import RunFiles

    for run in runs:
        stats_path = run / "teacher" / "stats.json"
        if not stats_path.exists():
            continue
        stats = read_json(stats_path)
        files = RunFiles(run / "teacher")
        teacher = files.read_config().teacher if files.config.exists() else "?"
        for kind, k in stats["kinds"].items():
            share = {name: None if k[name] is None else 100 * k[name] for name in ("yield", "coverage")}
            cost = stats.get("cost", {}).get("kinds", {}).get(kind)
            tokens = k.get("prompt_tokens", 0), k.get("completion_tokens", 0)
            lines.append(f"| {run.name} | {teacher} | {stats['questions']} | {kind} | {k['completions']} | "
                         f"{_pct(share['yield'])} | {k['kept']} | {_pct(share['coverage'])} | "
                         f"{'-' if not any(tokens) else f'{tokens[0]:,} / {tokens[1]:,}'} | "  # none counted
                         f"{'-' if cost is None else f'{cost:.4f}'} |")
    return lines


def accuracy_table(evaluations: Sequence[Evaluation]) -> list[str]:
    """One row per evaluation; the :func:`columns`, each with its interval."""
    metrics = columns(evaluations)
    lines = ["| run | student | task | questions | k | " + " | ".join(title(m) for m in metrics) + " |",
             "| --- | --- | --- | ---: | ---: | " + " | ".join("---:" for _ in metrics) + " |"]
    for ev in evaluations:
        cells = " | ".join(_cell(ev.correct(m)) if ev.has(m) else "-" for m in metrics)
        lines.append(f"| {ev.run} | {ev.student} | {ev.task} | {len(ev.questions)} | {ev.k} | {cells} |")
    return lines


def comparison_pairs(evaluations: Sequence[Evaluation]) -> list[tuple[Evaluation, Evaluation]]:
    """Within each run, every student against ``base``; across runs, the same trained student (not
    ``base``, the same model in every run) of each pair of runs: the recipes against each other (two
    runs of different seeds only in :func:`seeds_table`)."""
    pairs = []
    for ev in evaluations:
        for other in evaluations:
            if other is ev:
                continue
            same_run = other.run == ev.run and other.task == ev.task
            if same_run and other.student == "base" and ev.student != "base":
                pairs.append((ev, other))
            elif (other.run != ev.run and other.student == ev.student != "base" and same_seed(other.run, ev.run)
                  and evaluations.index(other) < evaluations.index(ev)):
                pairs.append((other, ev))
    return pairs


def compared_by(a: Evaluation, b: Evaluation) -> tuple[str, str] | None:
    """The metric each side of a comparison is judged by: its own first of :func:`headline` :func:`shown`,
    the answer its recipe gives (the mixed vote of a mixed student, the CoT vote of a CoT one)."""
    order = headline()
    first = next((m for m in order if shown(m, a)), None)
    second = next((m for m in order if shown(m, b)), None)
    return (first, second) if first and second else None


def comparison_table(evaluations: Sequence[Evaluation]) -> list[str]:
    """Paired comparisons on the questions both evaluations have."""
    from mixdistill_plugin.stats import paired

    lines = ["| A | B | metric | questions | A % | B % | A - B, points [95% CI] | only A right | only B right | McNemar p |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for a, b in comparison_pairs(evaluations):
        metrics = compared_by(a, b)
        if metrics is None:
            continue
        right_a, right_b = a.correct(metrics[0]), b.correct(metrics[1])
        shared = [qid for qid in right_a if qid in right_b]
        if not shared:
            continue
        x, y = [right_a[q] for q in shared], [right_b[q] for q in shared]
        result = paired(x, y)
        name = metrics[0] if metrics[0] == metrics[1] else f"{metrics[0]} / {metrics[1]}"
        lines.append(f"| {a.label} {a.task} | {b.label} {b.task} | {name} | {result.n} | "
                     f"{100 * sum(x) / result.n:.1f} | {100 * sum(y) / result.n:.1f} | "
                     f"{100 * result.difference:+.1f} [{100 * result.low:+.1f}, {100 * result.high:+.1f}] | "
                     f"{result.only_a} | {result.only_b} | {result.p_value:.3f} |")
    return lines if len(lines) > 2 else []


def seeds_table(evaluations: Sequence[Evaluation]) -> list[str]:
    """Paired comparisons over the seeds two groups of seeded runs share (:mod:`mixdistill_plugin.seeds`),
    on the questions every one of those evaluations has."""
    from mixdistill_plugin.stats import paired_over_seeds

    lines = ["| A | B | metric | seeds | questions | A % by seed | B % by seed | A - B by seed | "
             "A - B over seeds, points [95% CI] |",
             "| --- | --- | --- | ---: | ---: | --- | --- | --- | ---: |"]
    for a, b in group_pairs(seed_groups(evaluations)):
        seeds = sorted(set(a.seeds) & set(b.seeds), key=int)
        metrics = compared_by(a.seeds[seeds[0]], b.seeds[seeds[0]])
        if metrics is None:
            continue
        right_a = [a.seeds[s].correct(metrics[0]) for s in seeds]
        right_b = [b.seeds[s].correct(metrics[1]) for s in seeds]
        shared = [q for q in right_a[0] if all(q in r for r in (*right_a, *right_b))]
        if not shared:
            continue
        x, y = [[r[q] for q in shared] for r in right_a], [[r[q] for q in shared] for r in right_b]
        result = paired_over_seeds(x, y)
        name = metrics[0] if metrics[0] == metrics[1] else f"{metrics[0]} / {metrics[1]}"

        def by_seed(values) -> str:
            return " / ".join(f"{100 * v:.1f}" for v in values)

        lines.append(f"| {a.label} {a.task} | {b.label} {b.task} | {name} | {', '.join(seeds)} | {result.n} | "
                     f"{by_seed(sum(r) / result.n for r in x)} | {by_seed(sum(r) / result.n for r in y)} | "
                     f"{' / '.join(f'{100 * d:+.1f}' for d in result.per_seed)} | "
                     f"{100 * result.difference:+.1f} [{100 * result.low:+.1f}, {100 * result.high:+.1f}] |")
    return lines if len(lines) > 2 else []


def vote_methods() -> list[str]:
    """The mixed-vote methods the report compares (``weighted`` with its default weights)."""
    return [str(parse_vote(m)) for m in MIXED_RULES]


def vote_rows(ev: Evaluation) -> list[tuple[str, dict[int, dict[str, bool]]]]:
    """Per aggregation (and the references), per number of paths per kind 1..k: each question's correctness."""
    rows = []
    ks = range(1, ev.k + 1)
    for method in vote_methods():
        rows.append((f"mixed, {method}", {n: ev.correct("mixed_maj", n, method) for n in ks}))
    for kind in MIXED:
        rows.append((title(f"{kind}_maj"), {n: ev.correct(f"{kind}_maj", n) for n in ks}))

    def any_right(n: int) -> dict[str, bool]:
        return {qid: any(answers_equal(a, q["gold"]) for kind in MIXED for a in q["paths"].get(kind, [])[:n])
                for qid, q in ev.questions.items()}

    rows.append(("at least one path right", {n: any_right(n) for n in ks}))
    return rows


def vote_table(evaluations: Sequence[Evaluation]) -> list[str]:
    """The mixed vote by every aggregation method, on each evaluation with CoT and PoT paths."""
    from mixdistill_plugin.stats import paired

    mixed = [ev for ev in evaluations if ev.mixed()]
    if not mixed:
        return []
    k = max(ev.k for ev in mixed)
    lines = ["| run | student | aggregation | " + " | ".join(f"@{n}" for n in range(1, k + 1))
             + f" | @k, 95% CI | vs PoT maj@k: only this / only PoT, p |",
             "| --- | --- | --- | " + " | ".join("---:" for _ in range(k)) + " | ---: | ---: |"]
    for ev in mixed:
        rows = vote_rows(ev)
        cot_title, pot_title = (title(f"{kind}_maj") for kind in MIXED)
        pot = dict(rows)[pot_title][ev.k]
        for name, by_n in rows:
            cells = " | ".join(_pct(100 * sum(by_n[n].values()) / len(by_n[n])) if n in by_n else "-"
                               for n in range(1, k + 1))
            if name.startswith("mixed") or name == cot_title:
                shared = list(pot)
                result = paired([by_n[ev.k][q] for q in shared], [pot[q] for q in shared])
                versus = f"{result.only_a} / {result.only_b}, {result.p_value:.3f}"
            else:
                versus = ""
            lines.append(f"| {ev.run} | {ev.student} | {name} | {cells} | {_cell(by_n[ev.k])} | {versus} |")
    return lines


def adaptive_rows(ev: Evaluation, vote: str | None = None) -> list[dict]:
    """For each cap of rounds 1..k: adaptive accuracy, mean paths used, share settled by agreement."""
    rows = []
    for cap in range(1, ev.k + 1):
        outcomes = {qid: (q["gold"], adaptive_vote(*(q["paths"][k] for k in MIXED), cap, vote or ev.vote))
                    for qid, q in ev.questions.items()}
        n = len(outcomes)
        rows.append({
            "cap": cap,
            "correct": {qid: answers_equal(a.answer, gold) for qid, (gold, a) in outcomes.items()},
            "mean_paths": sum(a.paths for _, a in outcomes.values()) / n,
            "agreed": sum(a.agreed for _, a in outcomes.values()) / n,
            "round1": sum(a.agreed and a.rounds == 1 for _, a in outcomes.values()) / n,
            "fixed": ev.correct("mixed_maj", cap),
        })
    return rows


def adaptive_table(evaluations: Sequence[Evaluation]) -> list[str]:
    mixed = [ev for ev in evaluations if ev.mixed()]
    if not mixed:
        return []
    lines = ["| run | student | rounds at most | adaptive, 95% CI | mean paths used | stopped by agreement % "
             "| agreed in round 1 % | fixed mixed vote, same rounds | its paths |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for ev in mixed:
        for row in adaptive_rows(ev):
            lines.append(f"| {ev.run} | {ev.student} | {row['cap']} | {_cell(row['correct'])} | {row['mean_paths']:.2f} | "
                         f"{100 * row['agreed']:.1f} | {100 * row['round1']:.1f} | {_cell(row['fixed'])} | {2 * row['cap']} |")
    return lines


# One color per plotted metric, in order: matplotlib's tab10 without olive (adaptive sampling's).
_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
           "tab:cyan")


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
        for number, metric in enumerate(plotted()):
            ys = [ev.accuracy(metric, n) for n in xs]
            if xs and all(y is not None for y in ys):
                name = metric.removesuffix("_maj")
                ax.plot(xs, ys, style, color=_COLORS[number % len(_COLORS)], marker=marker,
                        label=f"{ev.run}/{ev.student} {ev.task}: {name}")
        if ev.mixed():  # adaptive sampling: at its mean paths per kind (= mean rounds)
            rows = adaptive_rows(ev)
            ax.plot([r["mean_paths"] / 2 for r in rows], [100 * sum(r["correct"].values()) / len(r["correct"]) for r in rows],
                    style, color="tab:olive", marker=marker, label=f"{ev.run}/{ev.student} {ev.task}: adaptive")
    ax.set_xticks(range(1, max((ev.k for ev in evaluations), default=1) + 1))
    ax.set_ylim(-2, 102)
    ax.set_xlabel("sampled paths per kind (mixed: that many CoT + that many PoT; adaptive: the mean)")
    ax.set_ylabel("majority-vote accuracy (%)")
    ax.set_title("Accuracy against the number of sampled paths")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _student_of(run: Path, grades_file: Path, g: Grade) -> str:
    """The student a student grade belongs to: the first folder under ``run/eval`` of its samples file."""
    try:
        return (grades_file.parent / g.file).resolve().relative_to((run / "eval").resolve()).parts[0]
    except (ValueError, IndexError):
        return g.source


def grades_section(runs: Sequence[Path]) -> list[str]:
    """The report's rationale-quality section for ``runs`` (``make distill`` folders): the grades
    in ``RUN/teacher/grades.jsonl`` and in any ``grades.jsonl`` under ``RUN/eval``, per kind and per
    student, and what each teacher filter kept. Empty when no run has grades."""
    rows, filters = [], []
    for run in runs:
        files = [run / "teacher" / "grades.jsonl", *sorted((run / "eval").rglob("grades.jsonl"))]
        groups: dict[tuple[str, str], list[Grade]] = {}
        for path in files:
            if not path.exists():
                continue
            for g in GRADES.latest(read_grades(path)[0]):
                who = "teacher" if g.file == "raw.jsonl" else _student_of(run, path, g)
                groups.setdefault((who, g.kind), []).append(g)
        for (who, kind), gs in sorted(groups.items(), key=lambda item: (item[0][0] != "teacher", item[0])):
            rows.append(f"| {run.name} | {who} | {kind} | {gs[0].judge} | {quality_cells(quality(gs))} |")
        stats_file = run / "teacher" / "stats.json"
        stats = read_json(stats_file) if stats_file.exists() else {}
        kept = stats.get("filters")
        if kept:
            for kind, k in stats["kinds"].items():
                filters.append(f"| {run.name} | {kind} | {k['completions']} | {kept['right'].get(kind, 0)} | "
                               f"{kept['min_grade']} | {kept['right_and_graded'].get(kind, 0)} | {kept['right_ungraded'].get(kind, 0)} |")
    if not rows and not filters:
        return []
    lines = ["## Rationale quality (judge grades)", "",
             f"Each rationale graded 1 to 5 by a judge model that is not told the gold answer (`mixdistill grade`). "
             f"right %: rationales with a right answer; then the share of right answers graded {LOW} or less, and "
             f"of wrong answers graded {HIGH} or more; judge agreement: a grade of {HIGH} or more for a right "
             f"answer, less for a wrong one, with its 95% Wilson interval.", ""]
    if rows:
        lines += [f"| run | rationales of | kind | judge | {QUALITY_HEADER} |",
                  "| --- | --- | --- | --- |" + " ---: |" * 7, *rows, ""]
    if filters:
        lines += ["Teacher data kept by each filter (`mixdistill filter --min-grade`):", "",
                  "| run | kind | completions | right answer | min grade | right and graded at least that "
                  "| right but not graded |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: |", *filters, ""]
    return lines


def contamination_section(runs: Sequence[Path], evaluations: Sequence[Evaluation]) -> list[str]:
    """Each evaluation of a run whose teacher folder holds ``contamination.jsonl``: the test questions
    some training question overlaps (its flags' ``match_id``) and the others, scored apart."""
    rows = []
    for run in runs:
        path = run / "teacher" / "contamination.jsonl"
        if not path.exists():
            continue
        flags = [parse_line(path, number, line) for number, line in numbered_lines(path)]
        matched = {str(row.get("match_id")) for row in flags if isinstance(row, dict)}
        for ev in (ev for ev in evaluations if ev.run == run.name):
            metric = next((m for m in headline() if ev.has(m)), None)
            if metric is None:
                continue
            correct = ev.correct(metric)
            flagged = {q: c for q, c in correct.items() if q in matched}
            clean = {q: c for q, c in correct.items() if q not in matched}
            rows.append(f"| {ev.run} | {ev.student} | {ev.task} | {metric} | {len(flagged)} | {_cell(flagged)} | "
                        f"{len(clean)} | {_cell(clean)} |")
    if not rows:
        return []
    return ["## Contamination: overlapping and clean test questions", "",
            "Test questions that a question of the run's teacher data overlaps (`teacher/contamination.jsonl`, "
            "`mixdistill contamination`) scored apart from the others, by the first metric of the paired "
            "comparisons each evaluation has; % correct with its 95% Wilson interval.", "",
            "| run | student | task | metric | overlapping | % | clean | % |",
            "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |", *rows, ""]


def write_report(runs: Sequence[Path], out: Path, vote: str | None = None) -> str:
    """Write ``report.md`` and ``report.png`` into ``out``; the markdown. ``vote``: the mixed vote's method."""
    method = str(parse_vote(vote))
    evaluations = [ev for run in runs for ev in load_evaluations(run, method)]
    out.mkdir(parents=True, exist_ok=True)
    plot(evaluations, out / "report.png")
    sections = ["# mixdistill report", "", "## Teacher data", "", *teacher_table(runs), "",
                "## Student accuracy (%)", "",
                "CoT / PoT / Direct / Socratic: the first path. maj@k: majority over k paths of the kind; "
                f"Mixed: the mixed vote ({method}) over k CoT + k PoT. "
                "In brackets: the 95% Wilson score interval.", "", *accuracy_table(evaluations), ""]
    sections += grades_section(runs)  # judge grades beside accuracy, where the runs have any
    sections += contamination_section(runs, evaluations)
    comparisons = comparison_table(evaluations)
    if comparisons:
        sections += ["## Paired comparisons", "",
                     "On the questions both have, each side by the first metric of "
                     f"{', '.join(headline())} it has: the difference in accuracy with its 95% paired "
                     "bootstrap interval (10,000 resamples of the questions) and the exact McNemar p-value "
                     "(a binomial test on the questions only one side gets right).", "", *comparisons, ""]
    over_seeds = seeds_table(evaluations)
    if over_seeds:
        sections += ["## Paired comparisons over seeds", "",
                     "Runs named `<name>-seed<N>` (`make compare SEEDS=...`) are one setting trained and evaluated "
                     "with each seed. Over the seeds both sides have, on the questions every one of them has: each "
                     "seed's accuracy and difference, and the difference averaged over the seeds with its 95% "
                     "bootstrap interval (10,000 resamples of the questions, each question's difference averaged "
                     "over the seeds).", "", *over_seeds, ""]
    votes = vote_table(evaluations)
    if votes:
        sections += ["## The mixed vote, by aggregation", "",
                     "Accuracy (%) with n CoT + n PoT paths (@n). plain: one vote per path, a tie to the CoT answer; "
                     "pot_first: a tie to the PoT answer; weighted: each path votes with its kind's weight; hybrid: the "
                     "PoT majority, the CoT majority when no program yields an answer. Last column: exact McNemar "
                     "against PoT maj@k at k, questions only this aggregation / only PoT maj@k gets right.", "",
                     *votes, ""]
    adaptive = adaptive_table(evaluations)
    if adaptive:
        sections += ["## Adaptive sampling: stop when CoT and PoT agree", "",
                     "Paths come in rounds of one CoT and one PoT path; after each round, sampling stops when the "
                     "majority of the CoT paths and the majority of the PoT paths so far agree. At the cap without "
                     f"agreement the mixed vote ({method}) decides. Replayed on the logged paths, in their order.", "",
                     *adaptive, ""]
    sections += ["![accuracy against sampled paths](report.png)", ""]
    text = "\n".join(sections)
    write_atomic(out / "report.md", text)
    return text
