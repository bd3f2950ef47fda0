"""`mixdistill report` on hand-made runs: intervals, paired comparisons, the mixed vote by every
aggregation, and adaptive sampling replayed on the logged paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mixdistill_plugin.cli import main
from mixdistill_plugin.report import adaptive_rows, load_evaluations, vote_rows
from mixdistill_plugin.stats import paired, paired_over_seeds, wilson

# question -> (gold, CoT answers, PoT answers) in path order; None: no answer
DISTILLED = {
    "q1": (4.0, [4.0, 4.0], [4.0, 4.0]),    # right everywhere, settled in round 1
    "q2": (9.0, [1.0, 2.0], [9.0, 9.0]),    # 1-1 ties (@1) go to CoT under plain, to PoT otherwise
    "q3": (5.0, [5.0, 5.0], [None, None]),  # no program runs: hybrid falls back to CoT
    "q4": (7.0, [3.0, 3.0], [3.0, 7.0]),    # settled on a wrong answer in round 1
    "q5": (6.0, [6.0, 8.0], [8.0, 8.0]),    # CoT 6 then 8; PoT 8: round 1 disagrees, round 2 ties -> CoT 6
}
BASE = {qid: (gold, [0.0, 0.0], [gold, 0.0] if qid == "q1" else [0.0, 0.0]) for qid, (gold, _, _) in DISTILLED.items()}


def fake_run(root: Path, name: str, students: dict[str, dict]) -> Path:
    """A run folder laid out as `make distill` lays it out, with lm-eval-style samples."""
    run = root / name
    for student, questions in students.items():
        samples = run / "eval" / student / "model" / "samples_svamp_mixed_2026-01-01T00-00-00.000000.jsonl"
        samples.parent.mkdir(parents=True)
        lines = []
        for qid, (gold, cot, pot) in questions.items():
            for kind, answers in (("cot", cot), ("pot", pot)):
                lines.append({"doc": {"id": qid, "question": f"question {qid}", "answer": gold, "kind": kind},
                              "resps": [[f"path {i}" for i in range(len(answers))]],
                              "filtered_resps": [[{"answer": a, "outcome": "answer" if a is not None else "error",
                                                   "detail": ""} for a in answers]]})
        samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return run


def table(output: str, header: str) -> list[list[str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_every_accuracy_carries_its_wilson_interval(tmp_path):
    run = fake_run(tmp_path, "run", {"base": BASE, "distilled": DISTILLED})
    result = CliRunner().invoke(main, ["report", str(run), "--vote", "plain"])
    assert result.exit_code == 0, result.output
    rows = {r[1]: r[5:] for r in table(result.output, "| run | student | task |")}

    def cell(k, n=5):
        low, high = wilson(k, n)
        return f"{100 * k / n:.1f} [{100 * low:.1f}, {100 * high:.1f}]"

    # CoT first path: q1 q3 q5; PoT first: q1 q2; CoT maj: q1 q3 q5 (tie 6/8 -> 6); PoT maj: q1 q2;
    # mixed (plain): q1, q2 (1,2,9,9: 9), q3, q5 (6,8,8,8 -> 8: wrong), q4 (3 x3): 3 right
    assert rows["distilled"] == [cell(3), cell(2), cell(3), cell(2), cell(3)]
    assert rows["base"] == [cell(0), cell(1), cell(0), cell(1), cell(0)]  # q1's one right program is outvoted
    assert "95% Wilson score interval" in result.output and "Mixed: the mixed vote (plain)" in result.output
    assert (run / "report.md").read_text() in result.output


def test_paired_comparison_of_students_and_of_runs(tmp_path):
    first = fake_run(tmp_path, "mixed", {"base": BASE, "distilled": DISTILLED})
    worse = {qid: (row[0], [0.0, 0.0], [0.0, 0.0]) if qid in ("q1", "q2", "q3") else row
             for qid, row in DISTILLED.items()}
    second = fake_run(tmp_path, "other", {"base": BASE, "distilled": worse})
    result = CliRunner().invoke(main, ["report", str(first), str(second), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rows = table(result.output, "| A | B | metric |")
    pairs = {(r[0], r[1]): r[2:] for r in rows}
    assert set(pairs) == {("mixed/distilled svamp_mixed", "mixed/base svamp_mixed"),
                          ("other/distilled svamp_mixed", "other/base svamp_mixed"),
                          ("mixed/distilled svamp_mixed", "other/distilled svamp_mixed")}  # base runs are not compared
    evaluations = {(e.run, e.student): e for run in (first, second) for e in load_evaluations(run)}
    a = evaluations[("mixed", "distilled")].correct("mixed_maj")
    b = evaluations[("other", "distilled")].correct("mixed_maj")
    expected = paired(list(a.values()), [b[q] for q in a])
    cells = pairs[("mixed/distilled svamp_mixed", "other/distilled svamp_mixed")]
    assert cells[:4] == ["mixed_maj", "5", f"{100 * sum(a.values()) / 5:.1f}", f"{100 * sum(b.values()) / 5:.1f}"]
    assert cells[4] == f"{100 * expected.difference:+.1f} [{100 * expected.low:+.1f}, {100 * expected.high:+.1f}]"
    assert cells[5:] == [str(expected.only_a), str(expected.only_b), f"{expected.p_value:.3f}"]
    assert expected.only_a == 3 and expected.only_b == 0 and expected.p_value == pytest.approx(0.25)


def test_a_cot_student_is_compared_by_its_cot_vote_and_shows_no_mixed_vote(tmp_path):
    mixed = fake_run(tmp_path, "mixed", {"distilled": DISTILLED})
    cot_only = {qid: (gold, cot, []) for qid, (gold, cot, _) in DISTILLED.items()}
    cot = fake_run(tmp_path, "cot", {"distilled": cot_only})
    result = CliRunner().invoke(main, ["report", str(mixed), str(cot), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    accuracy = {r[0]: r[5:] for r in table(result.output, "| run | student | task |")}
    assert accuracy["cot"][-1] == "-" and accuracy["mixed"][-1] != "-"  # the Mixed maj@k column
    (row,) = table(result.output, "| A | B | metric |")
    assert row[:3] == ["mixed/distilled svamp_mixed", "cot/distilled svamp_mixed", "mixed_maj / cot_maj"]
    assert row[4:6] == ["60.0", "60.0"]  # mixed (pot_first): q1 q2 q3; CoT vote: q1 q3 q5


def test_runs_of_several_seeds_are_compared_seed_by_seed_and_over_the_seeds(tmp_path):
    worse = {qid: (row[0], [0.0, 0.0], [0.0, 0.0]) if qid in ("q1", "q2") else row for qid, row in DISTILLED.items()}
    runs = [fake_run(tmp_path, f"{name}-seed{seed}", {"base": BASE, "distilled": students})
            for name, by_seed in (("mixed-recorded", {"1": DISTILLED, "2": DISTILLED}),
                                  ("mixed-gold", {"1": worse, "2": DISTILLED}))
            for seed, students in by_seed.items()]
    result = CliRunner().invoke(main, ["report", *map(str, runs), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    # one seed's runs are compared with each other, never with another seed's
    single = {(r[0], r[1]) for r in table(result.output, "| A | B | metric | questions |")}
    assert ("mixed-recorded-seed1/distilled svamp_mixed", "mixed-gold-seed1/distilled svamp_mixed") in single
    assert not any(a.split("/")[0][-1] != b.split("/")[0][-1] for a, b in single)
    over = {(r[0], r[1]): r[2:] for r in table(result.output, "| A | B | metric | seeds |")}
    assert set(over) == {("mixed-recorded-seed*/distilled svamp_mixed", "mixed-recorded-seed*/base svamp_mixed"),
                         ("mixed-gold-seed*/distilled svamp_mixed", "mixed-gold-seed*/base svamp_mixed"),
                         ("mixed-recorded-seed*/distilled svamp_mixed", "mixed-gold-seed*/distilled svamp_mixed")}
    cells = over[("mixed-recorded-seed*/distilled svamp_mixed", "mixed-gold-seed*/distilled svamp_mixed")]
    evaluations = {(e.run, e.student): e.correct("mixed_maj") for run in runs for e in load_evaluations(run)}
    a = [list(evaluations[(f"mixed-recorded-seed{s}", "distilled")].values()) for s in "12"]
    b = [list(evaluations[(f"mixed-gold-seed{s}", "distilled")].values()) for s in "12"]
    expected = paired_over_seeds(a, b)
    assert expected.per_seed[1] == 0.0 and expected.per_seed[0] > 0  # seed 2 alike, seed 1 apart
    assert cells[:3] == ["mixed_maj", "1, 2", "5"]
    assert cells[5] == " / ".join(f"{100 * d:+.1f}" for d in expected.per_seed)
    assert cells[6] == f"{100 * expected.difference:+.1f} [{100 * expected.low:+.1f}, {100 * expected.high:+.1f}]"


def test_the_mixed_vote_by_every_aggregation(tmp_path):
    run = fake_run(tmp_path, "run", {"distilled": DISTILLED})
    (ev,) = load_evaluations(run)
    rows = {name: {n: sorted(q for q, ok in by_n[n].items() if ok) for n in by_n} for name, by_n in vote_rows(ev)}
    assert rows["mixed, plain"] == {1: ["q1", "q3", "q5"], 2: ["q1", "q2", "q3"]}
    assert rows["mixed, pot_first"] == {1: ["q1", "q2", "q3"], 2: ["q1", "q2", "q3"]}  # @1 q5: 6 vs 8 -> 8
    assert rows["mixed, weighted:cot=1,pot=1.5"] == {1: ["q1", "q2", "q3"], 2: ["q1", "q2", "q3"]}
    assert rows["mixed, hybrid"] == {1: ["q1", "q2", "q3"], 2: ["q1", "q2", "q3"]}  # q3 from CoT; q4 PoT 3-7 tie -> 3
    assert rows["PoT maj@k"] == {1: ["q1", "q2"], 2: ["q1", "q2"]}
    assert rows["at least one path right"] == {1: ["q1", "q2", "q3", "q5"], 2: ["q1", "q2", "q3", "q4", "q5"]}
    result = CliRunner().invoke(main, ["report", str(run)])
    lines = table(result.output, "| run | student | aggregation |")
    by_name = {r[2]: r[3:] for r in lines}
    assert by_name["mixed, plain"][:2] == ["60.0", "60.0"]
    assert by_name["at least one path right"][:2] == ["80.0", "100.0"]
    assert by_name["mixed, hybrid"][3] == "1 / 0, 1.000"  # q3 alone against PoT maj@k


def test_adaptive_sampling_replayed_on_the_logged_paths(tmp_path):
    run = fake_run(tmp_path, "run", {"distilled": DISTILLED})
    (ev,) = load_evaluations(run)
    one, two = adaptive_rows(ev, "plain")
    # round 1 settles q1 (4=4) and q4 (3=3); the others fall back to the vote of 1 CoT + 1 PoT path
    assert one["mean_paths"] == 2.0 and one["agreed"] == pytest.approx(2 / 5) and one["round1"] == pytest.approx(2 / 5)
    assert sorted(q for q, ok in one["correct"].items() if ok) == ["q1", "q3", "q5"]  # plain @1: CoT's answer
    # cap 2: q2 (CoT 1,2 -> 1; PoT 9) no; q3 (PoT none) no; q5 (CoT 6,8 -> 6; PoT 8) no -> 3 questions x 4 paths
    assert two["mean_paths"] == pytest.approx((2 + 4 + 4 + 2 + 4) / 5)
    assert two["agreed"] == pytest.approx(2 / 5)
    assert sorted(q for q, ok in two["correct"].items() if ok) == ["q1", "q2", "q3"]
    result = CliRunner().invoke(main, ["report", str(run), "--vote", "plain"])
    rows = table(result.output, "| run | student | rounds at most |")
    assert [r[2:] for r in rows][1][:5] == ["2", f"60.0 [{100 * wilson(3, 5)[0]:.1f}, {100 * wilson(3, 5)[1]:.1f}]",
                                            "3.20", "40.0", "40.0"]
    assert (tmp_path / "run" / "report.png").stat().st_size > 10_000


def test_report_refuses_an_unknown_vote(tmp_path):
    run = fake_run(tmp_path, "run", {"distilled": DISTILLED})
    result = CliRunner().invoke(main, ["report", str(run), "--vote", "majority"])
    assert result.exit_code == 2 and "unknown mixed vote" in result.output


def test_test_questions_a_training_question_overlaps_are_scored_apart(tmp_path):
    run = fake_run(tmp_path, "run", {"base": BASE, "distilled": DISTILLED})
    (run / "teacher").mkdir()
    flags = [{"id": "train-7", "tier": "ngram", "against": "svamp:test", "match_id": qid} for qid in ("q1", "q4")]
    (run / "teacher" / "contamination.jsonl").write_text("".join(json.dumps(f) + "\n" for f in flags))
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    rows = {r[1]: r[3:] for r in table(result.output, "| run | student | task | metric | overlapping |")}
    # mixed_maj (pot_first): the distilled student gets q1, q2, q3 right; the base model none
    assert rows["distilled"] == ["mixed_maj", "2", f"50.0 [{100 * wilson(1, 2)[0]:.1f}, {100 * wilson(1, 2)[1]:.1f}]",
                                 "3", f"66.7 [{100 * wilson(2, 3)[0]:.1f}, {100 * wilson(2, 3)[1]:.1f}]"]
    assert rows["base"][1] == "2" and rows["base"][2].startswith("0.0 [") and rows["base"][4].startswith("0.0 [")
