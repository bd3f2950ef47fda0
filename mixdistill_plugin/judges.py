"""Judges for :mod:`mixdistill_plugin.grading`: the teacher backends, asked the rubric instead.

``--judge`` names an entry of :data:`JUDGES`: the built-in ``openai`` (any OpenAI-compatible server,
through the teacher's request loop) and ``hf`` (a local transformers model, its chat template when
it has one), registered by :func:`register_judges` exactly as another package's judges are, through
the ``mixdistill.judges`` entry-point group (see :mod:`mixdistill_plugin.registry`). A judge is any
object with a ``name`` and the teachers' ``replies(requests, sampling)``, asked with
:class:`~mixdistill_plugin.grading.GradeRequest`s.

**Structured output.** The OpenAI judge sends :data:`rubric.SCHEMA` as ``response_format``:
first as OpenAI's ``json_schema`` (OpenAI, vLLM, SGLang, llama.cpp's own server), then, if the
server refuses it (HTTP 400 or 422, or any error naming ``response_format``), as ``json_object`` with the schema (llama-cpp-python,
several gateways), then not at all; the reply is read by :func:`rubric.read_grade` whichever way
it was asked. ``response_format`` names one form to use from the start.

:class:`OpenAIPairJudge` is the contamination check's judge tier (:mod:`mixdistill_plugin.contamination`):
the same request loop, asked whether two questions pose the same problem.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

from mixdistill_plugin.contamination import Flag, read_verdict
from mixdistill_plugin.contamination import judge_messages as pair_messages
from mixdistill_plugin.grading import GradeRequest
from mixdistill_plugin.registry import Registry
from mixdistill_plugin.rubric import SCHEMA, judge_messages
from mixdistill_plugin.teachers import Reply, Sampling
from mixdistill_plugin.teachers.backends import TeacherOptions
from mixdistill_plugin.teachers.hf import HFTeacher
from mixdistill_plugin.teachers.openai_chat import OpenAIChat

RESPONSE_FORMATS = ("json_schema", "json_object", "none")


class OpenAIJudge(OpenAIChat):
    role = "judge"

    def __init__(self, model: str, base_url: str | Sequence[str] | None, *, response_format: str | None = None,
                 **options: object) -> None:
        super().__init__(model, base_url, **options)
        self.formats = list(RESPONSE_FORMATS) if response_format is None else [response_format]

    def body(self, request: GradeRequest, sampling: Sampling) -> dict:
        body = {"model": self.model, "messages": judge_messages(request.rationale),
                "temperature": sampling.temperature, "max_tokens": sampling.max_tokens}
        form = self.formats[0]
        if form == "json_schema":
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "grade", "schema": SCHEMA, "strict": True}}
        elif form == "json_object":
            body["response_format"] = {"type": "json_object", "schema": SCHEMA}
        return body

    def refused(self, status: int, message: str) -> bool:
        """A server that cannot read ``response_format`` may say so with any status (llama-cpp-python: 500)."""
        return "response_format" in message

    async def _ask(self, client, request: GradeRequest, sampling: Sampling) -> tuple[Reply, int]:
        """Ask; a refused ``response_format`` is asked again in the next form (see the module doc)."""
        while True:
            form = self.formats[0]
            reply, choices = await super()._ask(client, request, sampling)
            refused = reply.error is not None and (reply.error.startswith(("HTTP 400", "HTTP 422"))
                                                   or "response_format" in reply.error)
            if not refused or form == "none" or len(self.formats) == 1:
                return reply, choices
            if self.formats[0] == form:  # not yet stepped down by another request meanwhile
                self.formats.pop(0)
                self.notice(f"the judge server refused response_format {form} ({reply.error[:120]}); "
                            f"asking with {self.formats[0]} from now on")


@dataclass(frozen=True)
class PairRequest:
    """One contamination candidate for the judge tier: the ``index``-th flag (one sample)."""

    index: int
    flag: Flag
    samples: tuple[int, ...] = (0,)


class OpenAIPairJudge(OpenAIChat):
    """The contamination judge tier: asks whether a flagged question and its test match are the same problem."""

    role = "judge"

    def body(self, request: PairRequest, sampling: Sampling) -> dict:
        return {"model": self.model, "messages": pair_messages(request.flag), "temperature": sampling.temperature,
                "max_tokens": sampling.max_tokens}


def judge_pairs(judge: OpenAIPairJudge, flags: Sequence[Flag]) -> list[Flag]:
    """``flags`` with the judge's verdict on each ``ngram`` one (exact ones are not asked)."""
    import asyncio

    asked = [PairRequest(i, f) for i, f in enumerate(flags) if f.tier == "ngram"]
    sampling = Sampling(temperature=0.0, max_tokens=8, seed=0, shots=0)

    async def ask() -> dict[int, str]:
        return {reply.request.index: read_verdict(reply.texts[0]) if reply.texts else "unreadable"
                async for reply in judge.replies(asked, sampling)}

    verdicts = asyncio.run(ask()) if asked else {}
    return [replace(f, judge=verdicts[i]) if i in verdicts else f for i, f in enumerate(flags)]


class HFJudge(HFTeacher):
    def render(self, tokenizer, request: GradeRequest, shots: int) -> str:
        messages = judge_messages(request.rationale)
        if tokenizer.chat_template:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(m["content"] for m in messages) + "\n\n"

    def stops(self, request: GradeRequest) -> Sequence[str]:
        return ()


@dataclass(frozen=True)
class JudgeOptions(TeacherOptions):
    """What ``grade``'s command line says to every judge: a teacher's options, and the form of the
    grade to ask an OpenAI-compatible server for."""

    response_format: str | None = None


@dataclass(frozen=True)
class Judge:
    """A judge backend: ``make(options)`` builds it; ``about``: one line for ``--help``."""

    name: str
    make: Callable[[JudgeOptions], object]
    about: str


def _openai(options: JudgeOptions) -> OpenAIJudge:
    return OpenAIJudge(options.model, options.base_url, response_format=options.response_format,
                       concurrency=options.concurrency, retries=options.retries, timeout=options.request_timeout,
                       give_up_after=options.give_up_after)


def _hf(options: JudgeOptions) -> HFJudge:
    return HFJudge(options.model, batch_size=options.batch_size)


def register_judges(register: Callable[[Judge], None]) -> None:
    register(Judge("openai", _openai, "an OpenAI-compatible server (--base-url, --model, $OPENAI_API_KEY)"))
    register(Judge("hf", _hf, "a local transformers model (--model PATH)"))


JUDGES: Registry[Judge] = Registry("judge", "--judge", "mixdistill.judges", "mixdistill_plugin.judges:register_judges")


def make_judge(name: str, options: JudgeOptions) -> object:
    """The judge called ``name``, made from ``options``."""
    return JUDGES.get(name).make(options)
