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
