"""The built-in teacher backends, registered as any other package's are (see :mod:`.backends`)."""

from __future__ import annotations

from typing import Callable

from mixdistill_plugin.teachers import Teacher
from mixdistill_plugin.teachers.backends import Backend, TeacherOptions


def _openai(options: TeacherOptions) -> Teacher:
    from mixdistill_plugin.teachers.openai_chat import OpenAITeacher
    from mixdistill_plugin.teachers.tokens import tokenizer_counter

    return OpenAITeacher(options.model, options.base_url, concurrency=options.concurrency, retries=options.retries,
                         timeout=options.request_timeout, give_up_after=options.give_up_after,
                         count_tokens=tokenizer_counter(options.tokenizer) if options.tokenizer else None)


def _hf(options: TeacherOptions) -> Teacher:
    from mixdistill_plugin.teachers.hf import HFTeacher

    return HFTeacher(options.model, batch_size=options.batch_size)


def _vllm(options: TeacherOptions) -> Teacher:
    from mixdistill_plugin.teachers.vllm import VLLMTeacher

    return VLLMTeacher(options.model)


def _gold(options: TeacherOptions) -> Teacher:
    from mixdistill_plugin.teachers.gold import GoldTeacher

    return GoldTeacher()


def _recorded(options: TeacherOptions) -> Teacher:
    from mixdistill_plugin.teachers.recorded import recorded_teacher

    return recorded_teacher(options.dataset, options.recordings)


def register_teachers(register: Callable[[Backend], None]) -> None:
    register(Backend("openai", _openai, "an OpenAI-compatible server (--base-url, --model, $OPENAI_API_KEY)", chat=True))
    register(Backend("hf", _hf, "a local transformers model (--model PATH)"))
    register(Backend("vllm", _vllm, "offline vLLM (--model)"))
    register(Backend("gold", _gold, "the dataset's own annotations", needs_model=False, uses_gold=True))
    register(Backend("recorded", _recorded, "a real teacher's outputs replayed: the shipped PaLM-540B CoT and Codex "
                     "PoT recordings of the dataset, or --recording FILE", needs_model=False))
