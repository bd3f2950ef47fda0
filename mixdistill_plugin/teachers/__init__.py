"""Teacher backends: anything that turns (question, kind, n) requests into completions.

Each backend yields :class:`Reply` objects as they are ready (in any order), one for every sample
asked (a reply's ``request.samples`` are the samples its ``texts`` answer, in order; a reply with
``error`` answers none of them); the generator verifies and records them. A backend raises
:class:`TeacherUnavailable` when going on is pointless (the server has answered nothing for a long
while, the key is refused, a package is missing); replies already yielded are kept. A backend may
keep ``counts`` (``requests`` sent, ``retries``, ``failed`` for good) for the run's statistics.
The backends ``--teacher`` names are registered in :mod:`.backends`; the built-in ones are
``openai`` (an OpenAI-compatible server), ``hf`` (a local transformers model), ``vllm`` (offline
vLLM), ``gold`` (the dataset's own annotations) and ``recorded`` (completions recorded earlier,
replayed).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Coroutine, Protocol, Sequence

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.ledger import Outcome
from mixdistill_plugin.records import Question


class TeacherUnavailable(UserError, RuntimeError):
    """The teacher cannot serve any more requests; the message says what to do. Exit status 1: the
    input was fine, and the run resumes where it stopped."""

    exit_code = 1


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.7
    max_tokens: int = 512
    seed: int | None = None
    shots: int = 4


@dataclass(frozen=True)
class Request:
    question: Question
    kind: str
    samples: tuple[int, ...]


@dataclass
class Reply:
    request: Request
    texts: list[str] = field(default_factory=list)
    latency: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


class Teacher(Protocol):
    name: str

    def replies(self, requests: Sequence[Request], sampling: Sampling) -> AsyncIterator[Reply]: ...


def truncate_at_stop(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the first stop sequence (servers that ignore ``stop`` are cut here)."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut].strip()


def ask_to_the_end(asking: Coroutine, summarize: Callable[[], dict]) -> Outcome:
    """Run ``asking`` (a loop that appends replies to a ledger as they arrive), then ``summarize`` the
    ledger whatever happened; how it ended: done, the model's server gave up (``failure``: its
    message), or the user interrupted (``interrupted``)."""
    outcome = Outcome({})
    try:
        asyncio.run(asking)
    except TeacherUnavailable as exc:
        outcome.failure = str(exc)
    except KeyboardInterrupt as exc:
        outcome.interrupted = exc
    finally:
        outcome.summary = summarize()
    return outcome
