"""The teacher backend ``--teacher`` names, made from the command-line options (see :mod:`.teachers`)."""

from __future__ import annotations

from mixdistill_plugin.teachers import TEACHERS, Teacher, TeacherUnavailable


def make_teacher(kind: str, *, model: str | None = None, base_url: str | None = None, concurrency: int = 32,
                 retries: int = 6, request_timeout: float = 120.0, give_up_after: float = 120.0,
                 batch_size: int = 8) -> Teacher:
    """The backend called ``kind`` (see the module table), configured from command-line options."""
    if kind == "gold":
        from mixdistill_plugin.teachers.gold import GoldTeacher

        return GoldTeacher()
    if not model:
        raise TeacherUnavailable(f"--teacher {kind} needs --model")
    if kind == "openai":
        from mixdistill_plugin.teachers.openai_chat import OpenAITeacher

        return OpenAITeacher(model, base_url, concurrency=concurrency, retries=retries, timeout=request_timeout,
                             give_up_after=give_up_after)
    if kind == "hf":
        from mixdistill_plugin.teachers.hf import HFTeacher

        return HFTeacher(model, batch_size=batch_size)
    if kind == "vllm":
        from mixdistill_plugin.teachers.vllm import VLLMTeacher

        return VLLMTeacher(model)
    raise TeacherUnavailable(f"unknown teacher {kind!r}; choose one of {', '.join(TEACHERS)}")
