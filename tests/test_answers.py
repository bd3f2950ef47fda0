import pytest

from mixdistill_plugin.answers import answers_equal, extract_answer, format_answer, parse_number, to_answer


@pytest.mark.parametrize(
    "text, expected",
    [
        ("She has 3 + 15 = 18 apples. The answer is 18.", 18),
        ("Step one gives 9.\n#### 18", 18),
        ("Q: how many?\nA: 18", 18),
        ("So the total is \\boxed{18}.", 18),
        ("The final answer is $1,080.00.", 1080),
        ("The answer is 18 dollars.", 18),
        ("The temperature drops to -7 degrees. The answer is -7.", -7),
        ("The answer is −12.", -12),
        ("Each gets 2.5 pies. The answer is 2.5", 2.5),
        ("The answer is 3/4.", 0.75),
        ("\\boxed{\\frac{3}{4}}", 0.75),
        ("The discount is 25%. The answer is 25%.", 25),
        ("Answer: 1,234,567", 1234567),
        ("First 4 + 4 = 8, then 8 * 2 = 16 marbles in total.", 16),  # fallback: the last number
        ("The answer is 7. Question: Tom has 3 cats. The answer is 3.", 7),  # the first marker wins
        ("The answer is .5", 0.5),
    ],
)
def test_extract_answer_formats(text, expected):
    assert extract_answer(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "I do not know.", "The answer is unclear.", "3/0 is undefined"])
def test_no_answer_is_none(text):
    assert extract_answer(text) is None


def test_marker_without_number_falls_back_to_an_earlier_marker_or_last_number():
    assert extract_answer("We get 12 eggs. The answer is twelve.") == 12


def test_equality_tolerance_and_none():
    assert answers_equal(18.0, 18.00001)
    assert answers_equal(1 / 3, 0.3333)
    assert not answers_equal(0.333, 1 / 3)
    assert not answers_equal(18.0, 18.1)
    assert not answers_equal(1_000_000.0, 1_000_050.0)  # whole numbers compare exactly
    assert answers_equal(1_000_000.0, 1_000_050.5)  # relative 1e-4 for a number that is not whole
    assert not answers_equal(None, None)
    assert not answers_equal(None, 0.0)
    assert answers_equal(0.333, 1 / 3, tolerance=1e-3)


def test_program_values_canonicalise():
    from fractions import Fraction

    assert to_answer(Fraction(3, 4)) == 0.75
    assert to_answer([5]) == 5
    assert to_answer({"x": 4}) == 4
    assert to_answer("The answer is 9") == 9
    assert to_answer([1, 2]) is None
    assert to_answer(True) is None
    assert to_answer(float("nan")) is None
    assert to_answer(object()) is None


def test_parse_number_and_format():
    assert parse_number("$ 1,080") == 1080
    assert parse_number("no digits") is None
    assert format_answer(18.0) == "18"
    assert format_answer(0.75) == "0.75"
    assert format_answer(None) == "[no answer]"
