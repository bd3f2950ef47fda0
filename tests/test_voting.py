from mixdistill_plugin.voting import majority_vote


def test_majority_groups_numerically_equal_answers():
    vote = majority_vote([18.0, 18.000001, 17.0, None, 18.0])
    assert (vote.answer, vote.votes, vote.valid) == (18.0, 3, 4)
    assert vote.agreement == 0.75


def test_tie_goes_to_the_earliest_group():
    assert majority_vote([5.0, 7.0, 7.0, 5.0]).answer == 5.0
    assert majority_vote([7.0, 5.0, 5.0, 7.0]).answer == 7.0


def test_all_invalid_is_no_answer():
    vote = majority_vote([None, None])
    assert (vote.answer, vote.votes, vote.valid, vote.agreement) == (None, 0, 0, 0.0)
    assert majority_vote([]).answer is None


def test_invalid_answers_never_vote():
    # lm-eval's majority_vote would count "[invalid]" three times and let it win
    assert majority_vote([None, None, None, 4.0]).answer == 4.0


def test_cot_and_pot_disagreeing_pool_their_votes():
    cot = [10.0, 12.0, 12.0]
    pot = [10.0, 10.0, None]
    assert majority_vote(cot).answer == 12.0
    assert majority_vote(pot).answer == 10.0
    assert majority_vote(cot + pot).answer == 10.0  # 3 votes for 10 against 2 for 12


# The mixed vote's aggregation methods -------------------------------------------------------------

import pytest  # noqa: E402

from mixdistill_plugin.voting import (  # noqa: E402
    DEFAULT_VOTE,
    MIXED_RULES,
    Adaptive,
    VoteMethod,
    adaptive_vote,
    mixed_vote,
    parse_vote,
    settled,
)


def test_weighted_vote_sums_weights_and_keeps_counts():
    vote = majority_vote([3.0, 3.0, 7.0], weights=[1.0, 1.0, 2.5])
    assert (vote.answer, vote.votes, vote.valid) == (7.0, 1, 3)  # 2.5 beats 2.0; votes still count paths
    assert majority_vote([3.0, 7.0], weights=[1.0, 1.0]).answer == 3.0  # equal weight: the earliest group


@pytest.mark.parametrize("method, expected", [
    ("plain", 5.0),       # CoT 5, PoT 6: a 1-1 tie goes to the CoT answer
    ("pot_first", 6.0),   # the same tie goes to the PoT answer
    ("weighted", 6.0),    # one PoT vote (1.5) beats one CoT vote (1.0)
    ("hybrid", 6.0),      # the PoT majority
])
def test_each_method_on_a_one_to_one_tie(method, expected):
    assert mixed_vote([5.0], [6.0], method).answer == expected


def test_methods_differ_where_they_should():
    cot, pot = [5.0, 5.0], [6.0, None]
    assert mixed_vote(cot, pot, "plain").answer == 5.0          # 2 votes to 1
    assert mixed_vote(cot, pot, "pot_first").answer == 5.0      # not a tie: the majority stands
    assert mixed_vote(cot, pot, "weighted").answer == 5.0       # 2.0 against 1.5
    assert mixed_vote(cot, pot, "weighted:pot=2.5").answer == 6.0
    assert mixed_vote(cot, pot, "hybrid").answer == 6.0         # a program answered: PoT decides
    assert mixed_vote(cot, [None, None], "hybrid").answer == 5.0  # no program answered: CoT decides
    assert mixed_vote([None], [None], "hybrid") == majority_vote([])


def test_plain_is_the_pooled_majority_cot_first():
    cot, pot = [10.0, 12.0, 12.0], [10.0, 10.0, None]
    assert mixed_vote(cot, pot, "plain") == majority_vote(cot + pot)
    assert mixed_vote(cot, pot, "pot_first") == majority_vote(pot + cot)


def test_parse_vote():
    assert parse_vote(None) == parse_vote(DEFAULT_VOTE) and DEFAULT_VOTE in MIXED_RULES
    assert parse_vote("pot-first").name == "pot_first"
    assert parse_vote("weighted") == VoteMethod("weighted", 1.0, 1.5)
    assert str(parse_vote("weighted:pot=2, cot=0.5")) == "weighted:cot=0.5,pot=2"
    assert parse_vote(str(parse_vote("weighted:pot=3"))) == parse_vote("weighted:pot=3")  # round trip
    for bad in ("majority", "hybrid:pot=2", "weighted:pot=-1", "weighted:pot=nan", "weighted:sql=1", "weighted:pot"):
        with pytest.raises(ValueError):
            parse_vote(bad)


# Adaptive sampling: stop when CoT and PoT agree ---------------------------------------------------

def test_settled_needs_both_majorities_to_agree():
    assert settled([4.0], [4.0000001]) == 4.0000001
    assert settled([4.0], [5.0]) is None
    assert settled([None], [None]) is None and settled([], [4.0]) is None
    assert settled([4.0, 5.0], [5.0, 5.0]) is None  # CoT's 1-1 tie goes to its first answer, 4
    assert settled([4.0, 5.0, 5.0], [5.0, 5.0]) == 5.0


def test_adaptive_vote_stops_at_the_first_agreement():
    assert adaptive_vote([7.0, 1.0, 1.0], [7.0, 2.0, 2.0]) == Adaptive(7.0, 1, True)  # two paths
    assert adaptive_vote([3.0, 8.0, 8.0], [8.0, 8.0, 1.0]) == Adaptive(8.0, 3, True)  # round 2: CoT tie -> 3
    assert adaptive_vote([3.0, 8.0], [8.0, None]).paths == 4


def test_adaptive_vote_falls_back_to_the_mixed_vote_at_the_cap():
    cot, pot = [1.0, 2.0, 9.0, 9.0], [3.0, 4.0, 9.0, 9.0]
    assert adaptive_vote(cot, pot, max_rounds=2, method="plain") == Adaptive(1.0, 2, False)
    assert adaptive_vote(cot, pot, max_rounds=2, method="pot_first") == Adaptive(3.0, 2, False)
    assert adaptive_vote(cot, pot, max_rounds=3) == Adaptive(9.0, 3, False)  # 1-1-1 ties: CoT says 1, PoT 3
    assert adaptive_vote(cot, pot) == Adaptive(9.0, 4, True)  # the cap defaults to every round logged
    assert adaptive_vote([], [1.0]) == Adaptive(None, 0, False)


def test_hybrid_never_loses_to_pot_maj_question_by_question():
    """Where a program answers, hybrid is the PoT majority; where none does, PoT maj@k is wrong anyway."""
    import random

    rng = random.Random(0)
    values = [1.0, 2.0, 3.0, None]
    for _ in range(2000):
        gold = rng.choice(values[:3])
        cot = [rng.choice(values) for _ in range(rng.randint(0, 4))]
        pot = [rng.choice(values) for _ in range(rng.randint(0, 4))]
        pot_right = majority_vote(pot).answer == gold
        assert not pot_right or mixed_vote(cot, pot, "hybrid").answer == gold


def test_a_new_mixed_rule_is_one_entry_that_score_and_the_report_take(monkeypatch, tmp_path):
    import json

    from click.testing import CliRunner

    from mixdistill_plugin.cli import main
    from mixdistill_plugin.report import vote_methods
    from mixdistill_plugin.voting import MixedRule, majority_vote

    monkeypatch.setitem(MIXED_RULES, "cot_only", MixedRule("CoT alone", lambda cot, pot, how, tol: majority_vote(cot, tol)))
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": 1, "answer": 3, "cot": ["The answer is 3."], "pot": ["ans = 5", "ans = 5"]}) + "\n")
    by_rule = {vote: json.loads(CliRunner().invoke(main, ["--allow-weak-sandbox", "score", str(preds), "--json",
                                                          "--vote", vote]).stdout)["mixed_maj"]
               for vote in ("cot_only", "plain")}
    assert by_rule == {"cot_only": 100.0, "plain": 0.0}
    assert "cot_only" in vote_methods()
    assert "cot_only (CoT alone)" in " ".join(CliRunner().invoke(main, ["score", "--help"]).output.split())
