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

**Styles.** A kind's own ``instruction`` and ``exemplars`` are its wording for the ``math`` style
(arithmetic word problems). Other tasks speak of their own domain: a :class:`Style` (registered with
:func:`register_style`) names the problem in words (for the grading rubric) and gives each kind that
applies to it its own instruction and exemplars. A kind applies to a style exactly when the style
words it (:func:`style_kinds`): PoT has no wording for the label styles, so it cannot be asked there.
Every rendering function takes the ``style`` of the question's task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from mixdistill_plugin.errors import UserError

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
    teacher_samples: int = 0  # what `generate` asks a teacher for per question by default (a kind with no source)

    @property
    def record_kind(self) -> str:
        """The kind of the ``train.jsonl`` records this kind is trained from."""
        return self.source or self.name


@dataclass(frozen=True)
class Wording:
    """A kind's instruction and few-shot exemplars in one style."""

    instruction: str
    exemplars: tuple[Exemplar, ...]


@dataclass(frozen=True)
class Style:
    """How the prompts of a family of tasks speak: ``problem`` names what is solved (``math word
    problem``), ``wordings`` the instruction and exemplars of each kind that applies, ``steps`` what a
    grader checks in each step of a rationale (:mod:`mixdistill_plugin.rubric`)."""

    name: str
    problem: str
    wordings: dict[str, Wording]
    steps: str = "each fact taken from the question, each inference and each conclusion"


DEFAULT_STYLE = "math"  # the kinds' own instruction and exemplars
_REGISTRY: dict[str, PromptKind] = {}
_STYLES: dict[str, Style] = {}


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


def register_style(style: Style) -> Style:
    """Add ``style`` (its name must be new; every kind it words must be registered)."""
    if style.name in _STYLES:
        raise ValueError(f"prompt style {style.name!r} is already registered")
    for kind in style.wordings:
        get_kind(kind)
    _STYLES[style.name] = style
    return style


def get_style(name: str) -> Style:
    """The registered style called ``name``; a ``KeyError`` that lists the known styles otherwise."""
    try:
        return _STYLES[name]
    except KeyError:
        raise KeyError(f"unknown prompt style {name!r}; known styles: {', '.join(sorted(_STYLES))}") from None


def style_kinds(style: str) -> list[str]:
    """The kinds that apply to ``style``, in registry order (every kind applies to :data:`DEFAULT_STYLE`)."""
    worded = get_style(style).wordings
    return [name for name in _REGISTRY if name in worded or style == DEFAULT_STYLE]


def style_names() -> list[str]:
    return list(_STYLES)


class KindsDoNotApply(UserError, ValueError):
    """Questions asked in a kind that does not apply to them (PoT on label answers)."""


def check_kinds(kinds: Sequence[str], questions: Sequence, source: str, task: str = "this task") -> None:
    """A :class:`KindsDoNotApply` when a kind of ``kinds`` (what ``task`` asks for) does not apply to the
    style of some of ``questions`` (read from ``source``), or their answers mix numbers and labels."""
    for style in sorted({q.style for q in questions}):
        missing = [kind for kind in kinds if kind not in style_kinds(style)]
        if missing:
            raise KindsDoNotApply(f"{source}: {task} asks for {', '.join(missing)}, which does not apply to "
                                  f"{get_style(style).problem}s; use a task of the kinds that do "
                                  f"({', '.join(style_kinds(style))}), e.g. the *_cot task")
    if len({isinstance(q.answer, str) for q in questions}) > 1:
        raise KindsDoNotApply(f"{source}: numeric and label answers in one file; evaluate them as two files")


def wording(kind: str, style: str = "math") -> Wording:
    """``kind``'s instruction and exemplars in ``style``; a ``KeyError`` when the kind does not apply."""
    spec = get_kind(kind)
    if style == DEFAULT_STYLE:
        return Wording(spec.instruction, spec.exemplars)
    worded = get_style(style).wordings
    if kind not in worded:
        raise KeyError(f"prompt kind {kind!r} does not apply to {get_style(style).problem}s (style {style!r}); "
                       f"kinds that do: {', '.join(style_kinds(style))}")
    return worded[kind]


def kind_names() -> list[str]:
    return sorted(_REGISTRY)


def teacher_kinds() -> list[str]:
    """The kinds a teacher writes (``generate --<kind>-samples``): those trained from their own records."""
    return [name for name, kind in _REGISTRY.items() if not kind.source]


def scored_kinds() -> list[str]:
    """The kinds with a ``title``, in the order they were registered: the ones scored per question."""
    return [kind.name for kind in _REGISTRY.values() if kind.title]


def _question_block(kind: PromptKind, question: str) -> str:
    return f"Question: {question.strip()}\n{kind.label}"


def prompt_text(kind: str, question: str, *, style: str = "math", shots: int = 0) -> str:
    """The plain prompt for ``question``: instruction, ``shots`` exemplars, then the question, worded in
    ``style`` (the question's task's)."""
    spec, words = get_kind(kind), wording(kind, style)
    if shots > len(words.exemplars):
        raise ValueError(f"kind {kind!r} has {len(words.exemplars)} exemplars in style {style!r}, {shots} requested")
    blocks = [words.instruction]
    for ex in words.exemplars[:shots]:
        blocks.append(_question_block(spec, ex.question) + completion_text(kind, ex.rationale))
    blocks.append(_question_block(spec, question))
    return "\n\n".join(blocks)


def completion_text(kind: str, rationale: str) -> str:
    """What a plain model writes after :func:`prompt_text`: the kind's lead, then the rationale."""
    return get_kind(kind).lead + rationale.strip()


def chat_messages(kind: str, question: str, *, style: str = "math", shots: int = 0) -> list[dict[str, str]]:
    """The chat form of :func:`prompt_text`: exemplars as user/assistant turns, then the question."""
    messages: list[dict[str, str]] = []
    for ex in wording(kind, style).exemplars[:shots]:
        messages.append({"role": "user", "content": prompt_text(kind, ex.question, style=style)})
        messages.append({"role": "assistant", "content": ex.rationale.strip()})
    messages.append({"role": "user", "content": prompt_text(kind, question, style=style)})
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
        teacher_samples=4,
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
        teacher_samples=4,
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

# The kinds' own wording: every kind applies to it.
MATH = register_style(Style(DEFAULT_STYLE, "math word problem", {}, "numbers taken from the problem, each calculation, "
                                                                   "each conclusion (in a program: what each line computes)"))


def with_choices(question: str, choices: Sequence[str]) -> str:
    """A multiple-choice question as every prompt shows it: the question, then ``(a) ...`` per choice."""
    lines = [question.strip(), "Answer Choices:"]
    lines += [f"({letter}) {choice.strip()}" for letter, choice in zip("abcdefghijklmnopqrstuvwxyz", choices)]
    return "\n".join(lines)


def premise_and_hypothesis(premise: str, hypothesis: str) -> str:
    """A natural-language-inference pair as every prompt shows it."""
    return f"Premise: {premise.strip()}\nHypothesis: {hypothesis.strip()}"


def _label_style(name: str, problem: str, steps: str, cot: str, predict: str, explain: str,
                 solved: Sequence[tuple[str, str, str]], more: dict[str, Wording] | None = None) -> Style:
    """A style for label answers: what a grader checks in its ``steps``, ``cot``/``predict``/``explain``
    instructions and ``(question, rationale, label)`` exemplars (the rationale for ``cot`` and
    ``explain``, the label for ``predict``); ``more`` words further kinds."""
    reasoned = tuple(Exemplar(q, r) for q, r, _ in solved)
    return register_style(Style(name, problem, {
        "cot": Wording(cot, reasoned),
        "predict": Wording(predict, tuple(Exemplar(q, label) for q, _, label in solved)),
        "explain": Wording(explain, reasoned),
        **(more or {}),
    }, steps))


_CHOICE_ENDING = 'then finish with the sentence "So the answer is (x) choice." naming the letter and the text of the right choice.'
CHOICE = _label_style(
    "choice", "multiple-choice question",
    "what the question asks, each fact about the choices, why the chosen one fits and the others do not",
    "Answer the multiple-choice question. Reason step by step in plain words, " + _CHOICE_ENDING,
    "predict: Answer the multiple-choice question with the text of the right answer choice only.",
    "explain: Explain step by step which answer choice fits the question, " + _CHOICE_ENDING,
    (
        (with_choices("Where would you keep a carton of milk so that it stays cold?",
                      ["cupboard", "refrigerator", "mailbox", "oven", "bookshelf"]),
         "Milk goes bad when it is warm, so it needs a cold place. Of the choices, only a refrigerator keeps "
         "food cold. So the answer is (b) refrigerator.", "refrigerator"),
        (with_choices("After running a long race, how is a person most likely to feel?",
                      ["tired", "frozen", "invisible", "taller", "musical"]),
         "A long race uses up much of the body's energy, and that leaves a person weary. Of the choices, "
         "tired names that feeling. So the answer is (a) tired.", "tired"),
        (with_choices("What do people usually use to cut a sheet of paper?",
                      ["spoon", "pillow", "bucket", "scissors", "sponge"]),
         "Cutting needs a sharp edge. A spoon, a pillow, a bucket and a sponge have none, while scissors have "
         "two blades made for cutting. So the answer is (d) scissors.", "scissors"),
        (with_choices("If you want to find out what happened in the world today, what could you read?",
                      ["dictionary", "recipe", "map", "calendar", "newspaper"]),
         "The events of the day are reported in the news. Of the choices, only a newspaper reports them. "
         "So the answer is (e) newspaper.", "newspaper"),
    ),
)

_NLI_ENDING = 'then finish with the sentence "The answer is L." where L is entailment, neutral or contradiction.'
NLI = _label_style(
    "nli", "premise and hypothesis pair",
    "what the premise says, what the hypothesis claims, each inference from one to the other",
    "Decide whether the premise entails the hypothesis, contradicts it, or neither. Reason briefly in "
    "plain words, " + _NLI_ENDING,
    "predict: Decide whether the premise entails the hypothesis, contradicts it, or neither, in one word: "
    "entailment, neutral or contradiction.",
    "explain: Explain whether the premise entails the hypothesis, contradicts it, or neither, " + _NLI_ENDING,
    (
        (premise_and_hypothesis("A man in a yellow jacket rides a bicycle down a busy street.",
                                "A person is outdoors on a bike."),
         "Riding a bicycle down a street means being outdoors on a bike, and a man is a person. "
         "The answer is entailment.", "entailment"),
        (premise_and_hypothesis("Two children are building a sandcastle on the beach.",
                                "The children are sitting in a classroom."),
         "The children cannot be on a beach and in a classroom at the same time. "
         "The answer is contradiction.", "contradiction"),
        (premise_and_hypothesis("A woman is reading a book on a park bench.",
                                "The woman is waiting for a friend."),
         "Reading on a bench does not say whether she is waiting for anyone. The answer is neutral.", "neutral"),
        (premise_and_hypothesis("A cook is slicing onions in a restaurant kitchen.", "Someone is preparing food."),
         "Slicing onions in a kitchen is preparing food, and a cook is someone. The answer is entailment.",
         "entailment"),
    ),
)

_YES_NO_ENDING = 'then finish with the sentence "So the answer is yes." or "So the answer is no."'
_YES_NO_QUESTIONS = ("Could a goldfish live for a week in a pot of boiling water?", "Is a week longer than five days?",
                     "Can a person walk from London to New York?", "Does ice float on liquid water?")
# Socratic CoT on yes/no questions (StrategyQA): sub-questions that gather the facts, the last answer decides.
_YES_NO_SOCRATIC = {
    "socratic": Wording(
        "Break the yes/no question into simple sub-questions and answer them in order. Write one line per "
        'sub-question: the sub-question, then " ** ", then its answer. The answer on the last line must end with '
        '"So the answer is yes." or "So the answer is no."',
        tuple(Exemplar(q, r) for q, r in zip(_YES_NO_QUESTIONS, (
            "How warm must the water be for a goldfish to live? ** Goldfish need cool water, well below 30 degrees.\n"
            "How hot is boiling water? ** Boiling water is 100 degrees.\n"
            "Can a goldfish live in water that hot? ** No, water that hot kills a fish within moments. "
            "So the answer is no.",
            "How many days are in a week? ** A week has seven days.\n"
            "Is seven more than five? ** Yes, seven is more than five. So the answer is yes.",
            "What lies between London and New York? ** The Atlantic Ocean lies between them.\n"
            "Can a person walk across the Atlantic Ocean? ** No, an ocean cannot be crossed on foot. "
            "So the answer is no.",
            "Is ice more or less dense than liquid water? ** Ice is less dense, because water expands as it freezes.\n"
            "Does something less dense than water float on it? ** Yes, it floats. So the answer is yes.",
        )))),
    "decompose": Wording(
        "Break the yes/no question into simple sub-questions. Given the question and the sub-questions answered "
        'so far, ask the next sub-question, or write "No more sub-questions." when the last answer settles the '
        "question.", ()),
    "solve": Wording(
        "Answer the last sub-question of the yes/no question in one sentence. When the answer settles the "
        'question, end it with "So the answer is yes." or "So the answer is no."', ()),
}
YES_NO = _label_style(
    "yes_no", "yes/no question",
    "each fact used (is it true?), each inference, each sub-question and its answer",
    "Answer the yes/no question. Reason step by step with the facts you know, " + _YES_NO_ENDING,
    "predict: Answer the yes/no question with yes or no only.",
    "explain: Explain step by step, with the facts you know, how to answer the yes/no question, " + _YES_NO_ENDING,
    tuple(zip(_YES_NO_QUESTIONS, (
        "Goldfish live in cool water, and boiling water kills a fish within moments. So the answer is no.",
        "A week has seven days, and seven is more than five. So the answer is yes.",
        "London and New York lie on opposite sides of the Atlantic Ocean, which cannot be crossed on foot. "
        "So the answer is no.",
        "Water expands when it freezes, so ice is less dense than liquid water and floats on it. "
        "So the answer is yes.",
    ), ("no", "yes", "no", "yes"))),
    _YES_NO_SOCRATIC,
)
