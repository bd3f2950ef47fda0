"""The prompt registry: every prompt mixdistill renders comes from here.

A :class:`PromptKind` is one way of reasoning (``cot``, ``pot``, ...): an instruction that doubles
as the task prefix of multi-task training, a label that introduces the model's part, few-shot
exemplars, how the model's text is read back (``reader``: extract from text or execute), and a
stable ``code`` that names the kind in tokenized training data (for per-kind loss weights).
``answer_tokens`` caps what a student writes in the kind at evaluation. A kind with a ``title`` is
one a student answers questions with: ``mixdistill score``, the lm-eval
metrics and ``mixdistill report`` score it as ``<kind>_acc`` and ``<kind>_maj`` (see
:func:`scored_kinds`) under that title.

Two renderings, shared by the teacher, the Axolotl formatter and the lm-eval tasks:

- :func:`prompt_text` is the plain completion prompt (base models). With ``shots=0`` it is the
  *student* prompt, the same string at training and at evaluation; with ``shots>0`` it is the
  few-shot *teacher* prompt.
- :func:`chat_messages` is the chat form: each question (exemplar or real) is a user turn whose
  content is the zero-shot :func:`prompt_text`, each exemplar answer an assistant turn. A chat
  student therefore sees exactly the plain student prompt inside its chat template.

The model's part follows the prompt: :func:`completion_text` gives what a plain model writes
after the prompt (``kind.lead`` then the rationale); in chat form the rationale is the whole
assistant turn.

Kinds a student is trained on without a teacher sampling them name a ``source``, the record kind
they are made from, and a ``target``, the part of that record the student learns to write (see
:mod:`mixdistill_plugin.training`): Distilling step-by-step's ``predict`` (the answer) and
``explain`` (the rationale) come from ``cot`` records; Socratic CoT's ``decompose`` (the next
sub-question) and ``solve`` (a sub-question's answer) from ``socratic`` records.

New kinds are added with :func:`register` (and removed with :func:`unregister`); callers only ever
name a kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Reader = Literal["extract", "execute", "socratic", "none"]
Target = Literal["rationale", "answer", "next_question", "step_answer"]


@dataclass(frozen=True)
class Exemplar:
    question: str
    rationale: str


@dataclass(frozen=True)
class PromptKind:
    name: str
    code: int
    instruction: str
    label: str
    lead: str
    reader: Reader
    exemplars: tuple[Exemplar, ...]
    stop: tuple[str, ...] = ("\nQuestion:",)
    source: str = ""
    target: Target = "rationale"
    title: str = ""
    answer_tokens: int = 256

    @property
    def record_kind(self) -> str:
        """The kind of the ``train.jsonl`` records this kind is trained from."""
        return self.source or self.name


_REGISTRY: dict[str, PromptKind] = {}


def register(kind: PromptKind) -> PromptKind:
    """Add ``kind`` to the registry (its name must be new)."""
    if kind.name in _REGISTRY:
        raise ValueError(f"prompt kind {kind.name!r} is already registered")
    if kind.code < 1 or kind.code in {k.code for k in _REGISTRY.values()}:
        raise ValueError(f"prompt kind {kind.name!r}: code {kind.code} is taken or not positive")
    _REGISTRY[kind.name] = kind
    return kind


def get_kind(name: str) -> PromptKind:
    """The registered kind called ``name``; a ``KeyError`` that lists the known kinds otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown prompt kind {name!r}; known kinds: {', '.join(kind_names())}") from None


def unregister(name: str) -> None:
    """Remove the kind called ``name`` from the registry."""
    get_kind(name)
    del _REGISTRY[name]


def kind_names() -> list[str]:
    return sorted(_REGISTRY)


def scored_kinds() -> list[str]:
    """The kinds with a ``title``, in the order they were registered: the ones scored per question."""
    return [kind.name for kind in _REGISTRY.values() if kind.title]


def _question_block(kind: PromptKind, question: str) -> str:
    return f"Question: {question.strip()}\n{kind.label}"


def prompt_text(kind: str, question: str, *, shots: int = 0) -> str:
    """The plain prompt for ``question``: instruction, ``shots`` exemplars, then the question."""
    spec = get_kind(kind)
    if shots > len(spec.exemplars):
        raise ValueError(f"kind {kind!r} has {len(spec.exemplars)} exemplars, {shots} requested")
    blocks = [spec.instruction]
    for ex in spec.exemplars[:shots]:
        blocks.append(_question_block(spec, ex.question) + completion_text(kind, ex.rationale))
    blocks.append(_question_block(spec, question))
    return "\n\n".join(blocks)


def completion_text(kind: str, rationale: str) -> str:
    """What a plain model writes after :func:`prompt_text`: the kind's lead, then the rationale."""
    return get_kind(kind).lead + rationale.strip()


def chat_messages(kind: str, question: str, *, shots: int = 0) -> list[dict[str, str]]:
    """The chat form of :func:`prompt_text`: exemplars as user/assistant turns, then the question."""
    spec = get_kind(kind)
    messages: list[dict[str, str]] = []
    for ex in spec.exemplars[:shots]:
        messages.append({"role": "user", "content": prompt_text(kind, ex.question)})
        messages.append({"role": "assistant", "content": ex.rationale.strip()})
    messages.append({"role": "user", "content": prompt_text(kind, question)})
    return messages


# The exemplars: one set of questions, solved both ways.
_QUESTIONS = (
    "A bakery sold 48 muffins in the morning and half as many in the afternoon. "
    "Each muffin costs $3. How many dollars did the bakery take in from muffins that day?",
    "Maya had 35 stickers. She gave 8 to her brother and then bought 3 packs of 6 stickers each. "
    "How many stickers does she have now?",
    "A train travels 240 kilometres in 3 hours. At the same speed, how many kilometres does it "
    "travel in 5 hours?",
    "A class of 28 students is split into teams of 4. Each team gets 2 markers, and markers come "
    "in boxes of 5. How many boxes must the teacher open?",
)

COT = register(
    PromptKind(
        name="cot",
        code=1,
        instruction=(
            "Solve the math word problem. Reason step by step in plain words, then finish with "
            'the sentence "The answer is N." where N is a number.'
        ),
        label="Answer:",
        lead=" ",
        reader="extract",
        exemplars=tuple(
            Exemplar(q, r)
            for q, r in zip(
                _QUESTIONS,
                (
                    "In the afternoon the bakery sold 48 / 2 = 24 muffins. Over the whole day it "
                    "sold 48 + 24 = 72 muffins. At $3 each that is 72 * 3 = 216 dollars. "
                    "The answer is 216.",
                    "After giving 8 away Maya has 35 - 8 = 27 stickers. The packs hold "
                    "3 * 6 = 18 stickers. Now she has 27 + 18 = 45 stickers. The answer is 45.",
                    "The speed is 240 / 3 = 80 kilometres per hour. In 5 hours the train covers "
                    "80 * 5 = 400 kilometres. The answer is 400.",
                    "There are 28 / 4 = 7 teams, so 7 * 2 = 14 markers are needed. Two boxes hold "
                    "only 10 markers, so the teacher must open 3 boxes. The answer is 3.",
                ),
            )
        ),
        title="CoT",
    )
)

POT = register(
    PromptKind(
        name="pot",
        code=2,
        instruction=(
            "Solve the math word problem by writing a short Python program. Use clear variable "
            "names and store the final number in a variable named ans."
        ),
        label="Program:",
        lead="\n",
        reader="execute",
        exemplars=tuple(
            Exemplar(q, r)
            for q, r in zip(
                _QUESTIONS,
                (
                    "morning = 48\nafternoon = morning / 2\nprice = 3\n"
                    "ans = (morning + afternoon) * price",
                    "stickers = 35\ngiven_away = 8\npacks = 3\nper_pack = 6\n"
                    "ans = stickers - given_away + packs * per_pack",
                    "distance = 240\nhours = 3\nspeed = distance / hours\nans = speed * 5",
                    "import math\nstudents = 28\nteams = students // 4\nmarkers = teams * 2\n"
                    "ans = math.ceil(markers / 5)",
                ),
            )
        ),
        title="PoT",
    )
)

# Distilling step-by-step: two tasks with prefixes, both made from CoT records.
PREDICT = register(
    PromptKind(
        name="predict",
        code=3,
        instruction="predict: Give the final answer to the math word problem as a number only.",
        label="Answer:",
        lead=" ",
        reader="extract",
        exemplars=tuple(Exemplar(q, a) for q, a in zip(_QUESTIONS, ("216", "45", "400", "3"))),
        stop=("\n",),
        source="cot",
        target="answer",
        title="Direct",
        answer_tokens=16,
    )
)

EXPLAIN = register(
    PromptKind(
        name="explain",
        code=4,
        instruction=(
            "explain: Explain step by step how to solve the math word problem, then finish with the "
            'sentence "The answer is N." where N is a number.'
        ),
        label="Explanation:",
        lead=" ",
        reader="extract",
        exemplars=COT.exemplars,
        source="cot",
        target="rationale",
    )
)

# Socratic CoT: the teacher writes a decomposition, one "sub-question ** answer" line per step
# (GSM8K's Socratic format); the student learns two roles made from it.
SOCRATIC = register(
    PromptKind(
        name="socratic",
        code=5,
        instruction=(
            "Break the math word problem into simple sub-questions and answer them in order. Write one "
            'line per sub-question: the sub-question, then " ** ", then its answer with the calculation. '
            "The answer on the last line must be the number the problem asks for."
        ),
        label="Sub-questions:",
        lead="\n",
        reader="socratic",
        exemplars=tuple(
            Exemplar(q, r)
            for q, r in zip(
                _QUESTIONS,
                (
                    "How many muffins did the bakery sell in the afternoon? ** It sold 48 / 2 = 24 muffins.\n"
                    "How many muffins did it sell that day? ** It sold 48 + 24 = 72 muffins.\n"
                    "How many dollars did the muffins bring in? ** They brought in 72 * 3 = 216 dollars.",
                    "How many stickers did Maya have after giving some away? ** She had 35 - 8 = 27 stickers.\n"
                    "How many stickers were in the packs? ** The packs held 3 * 6 = 18 stickers.\n"
                    "How many stickers does she have now? ** She has 27 + 18 = 45 stickers.",
                    "How fast does the train go? ** It goes 240 / 3 = 80 kilometres per hour.\n"
                    "How far does it go in 5 hours? ** It goes 80 * 5 = 400 kilometres.",
                    "How many teams are there? ** There are 28 / 4 = 7 teams.\n"
                    "How many markers do the teams need? ** They need 7 * 2 = 14 markers.\n"
                    "How many boxes must the teacher open? ** Two boxes hold only 10 markers, so the teacher "
                    "opens 3 boxes.",
                ),
            )
        ),
        title="Socratic",
    )
)

DECOMPOSE = register(
    PromptKind(
        name="decompose",
        code=6,
        instruction=(
            "Break the math word problem into simple sub-questions. Given the problem and the sub-questions "
            'answered so far, ask the next sub-question, or write "No more sub-questions." when the last '
            "answer solves the problem."
        ),
        label="Sub-question:",
        lead=" ",
        reader="none",
        exemplars=(),
        stop=("\n",),
        source="socratic",
        target="next_question",
    )
)

SOLVE = register(
    PromptKind(
        name="solve",
        code=7,
        instruction="Answer the last sub-question of the math word problem in one sentence, showing the calculation.",
        label="Answer:",
        lead=" ",
        reader="extract",
        exemplars=(),
        stop=("\n",),
        source="socratic",
        target="step_answer",
    )
)
