"""The student that ``solve`` and ``socratic`` run: what the command line says of it, and the backends
that need more than lm-eval's defaults.

A student is an lm-eval model backend (``hf``, ``vllm``, ``local-completions``, ...; loaded by
:mod:`mixdistill_plugin.harness.models`, which this module does not import) or, for ``solve``, an
OpenAI-compatible chat server asked through the teacher's client. :data:`STUDENT_BACKENDS` says what
sets a backend apart; one it does not name is an lm-eval backend run as lm-eval runs it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudentBackend:
    """``served``: an OpenAI-compatible chat server, asked through the teacher's client (not lm-eval);
    ``seeds_requests``: the sampling seed goes with every request (else torch is seeded before each
    round); ``about``: one line for ``--help``."""

    name: str
    about: str
    served: bool = False
    seeds_requests: bool = False


STUDENT_BACKENDS = {backend.name: backend for backend in (
    StudentBackend("openai", "an OpenAI-compatible chat server: vLLM serve, SGLang, TGI, llama.cpp, Ollama; "
                   "solve only", served=True, seeds_requests=True),
    StudentBackend("hf", "lm-eval's transformers backend"),
    StudentBackend("vllm", "lm-eval's vLLM backend", seeds_requests=True),
)}


def student_backend(name: str) -> StudentBackend:
    """What sets the backend ``name`` apart (nothing, for an lm-eval backend :data:`STUDENT_BACKENDS` does not name)."""
    return STUDENT_BACKENDS.get(name) or StudentBackend(name, "an lm-eval model backend")


def backends_help() -> str:
    """``--model``'s help: the backends of :data:`STUDENT_BACKENDS`, then any other lm-eval backend."""
    return ("The student: " + "; ".join(f"{b.name} ({b.about})" for b in STUDENT_BACKENDS.values())
            + "; or another lm-eval model backend (local-completions, ...), as for `lm_eval --model`.")


def seed_help() -> str:
    """``solve --seed``'s help, naming the backends that send the seed with each request."""
    sent = " and ".join(b.name for b in STUDENT_BACKENDS.values() if b.seeds_requests)
    return (f"Sampling seed: {sent} send seed+round-1 with every request; other lm-eval backends seed torch with "
            "seed+round before each round.")


@dataclass(frozen=True)
class StudentSettings:
    """A student as the command line names it: the backend (``model``) and its ``model_args``, the
    tokens it writes per completion at most, and how lm-eval runs it (``batch_size``, ``device``,
    ``chat``: the prompts in the model's chat template)."""

    model: str
    model_args: str
    max_gen_toks: int
    batch_size: int
    device: str | None
    chat: bool
