"""Students behind lm-eval's model backends (``hf``, ``vllm``, ``local-completions``, ...), for the
loops one lm-eval task cannot express (``mixdistill socratic``, ``mixdistill solve``): the same
backend classes and prompts as ``mixdistill eval``."""

from __future__ import annotations

from typing import Sequence

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import get_model

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.prompts import DEFAULT_STYLE, chat_messages, prompt_text


def load_student(model_name: str, model_args: str, batch_size: int, device: str | None = None) -> LM:
    """lm-eval's ``--model model_name --model_args model_args`` on ``device`` (default: cuda when available);
    a model that cannot be found or read is a :class:`UserError`."""
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return get_model(model_name).create_from_arg_string(model_args, {"batch_size": batch_size, "device": device})
    except OSError as exc:
        raise UserError(f"--model {model_name} --model_args {model_args}: cannot load the model ({exc})") from None


def student_prompt(lm: LM, kind: str, question: str, chat: bool, style: str = DEFAULT_STYLE) -> str:
    """The registry's student prompt of ``kind`` in ``style``, in ``lm``'s chat template when ``chat``
    (as ``lm_eval --apply_chat_template`` renders a task's prompt)."""
    if chat:
        return lm.apply_chat_template(chat_messages(kind, question, style=style))
    return prompt_text(kind, question, style=style)


def complete(lm: LM, prompts: Sequence[str], gen_kwargs: Sequence[dict]) -> list[str]:
    """``lm``'s continuation of each prompt, with that prompt's generation settings (lm-eval's ``gen_kwargs``)."""
    requests = [Instance("generate_until", {}, (prompt, gen), i) for i, (prompt, gen) in enumerate(zip(prompts, gen_kwargs))]
    return lm.generate_until(requests, disable_tqdm=True) if requests else []
