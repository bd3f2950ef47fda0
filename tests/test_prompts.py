import re

import pytest

from mixdistill_plugin.answers import answers_equal, extract_answer
from mixdistill_plugin.prompts import (
    PromptKind,
    chat_messages,
    completion_text,
    get_kind,
    kind_names,
    prompt_text,
    register,
)


def test_student_prompt_is_instruction_then_question():
    text = prompt_text("cot", "  Tom has 3 cats. How many legs?  ")
    assert text == get_kind("cot").instruction + "\n\nQuestion: Tom has 3 cats. How many legs?\nAnswer:"
    assert prompt_text("pot", "Q?").endswith("Question: Q?\nProgram:")


def test_teacher_prompt_carries_exemplars_solved_in_the_kind():
    text = prompt_text("pot", "Q?", shots=4)
    assert text.count("Question:") == 5
    assert text.startswith(get_kind("pot").instruction)
    for ex in get_kind("pot").exemplars:
        assert "Program:\n" + ex.rationale in text
    with pytest.raises(ValueError):
        prompt_text("cot", "Q?", shots=99)


def test_chat_messages_wrap_the_plain_student_prompt():
    messages = chat_messages("cot", "Q?", shots=2)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[-1]["content"] == prompt_text("cot", "Q?")
    assert messages[1]["content"] == get_kind("cot").exemplars[0].rationale


def test_exemplars_are_correct_both_ways(executor):
    cot, pot = get_kind("cot"), get_kind("pot")
    assert [e.question for e in cot.exemplars] == [e.question for e in pot.exemplars]
    outcomes = executor.run([e.rationale for e in pot.exemplars])
    for c, o in zip(cot.exemplars, outcomes):
        assert answers_equal(extract_answer(c.rationale), o.answer)


def test_completion_follows_the_label():
    assert completion_text("cot", " It is 4. ") == " It is 4."
    assert completion_text("pot", "ans = 4\n") == "\nans = 4"


def test_new_kinds_register_without_touching_callers():
    register(PromptKind("test_direct", 99, "Give only the number.", "Answer:", " ", "extract", ()))
    assert "test_direct" in kind_names()
    assert prompt_text("test_direct", "Q?") == "Give only the number.\n\nQuestion: Q?\nAnswer:"
    with pytest.raises(ValueError):
        register(PromptKind("test_direct", 98, "", "", "", "extract", ()))
    with pytest.raises(ValueError, match="code 1"):
        register(PromptKind("test_other", 1, "", "", "", "extract", ()))
    with pytest.raises(KeyError, match="known kinds"):
        get_kind("nope")


@pytest.mark.parametrize("style", ["choice", "nli", "yes_no"])
def test_label_styles_speak_of_their_own_domain(style):
    """Neither the prompts of a label style nor the grading rubric for it speak of numbers or calculations,
    and the rubric names the style's own problems."""
    from mixdistill_plugin.prompts import get_style
    from mixdistill_plugin.rubric import rubric

    words = get_style(style)
    texts = [rubric(style)] + [w.instruction for w in words.wordings.values()]
    texts += [e.question + " " + e.rationale for w in words.wordings.values() for e in w.exemplars]
    for text in texts:
        assert not re.search(r"\b(numbers?|calculations?|math|equations?|programs?)\b", text, re.IGNORECASE), text
    assert f"worked solutions to {words.problem}s" in texts[0] and words.steps in texts[0]

