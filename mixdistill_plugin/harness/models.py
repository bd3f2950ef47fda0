"""Students behind lm-eval's model backends (``hf``, ``vllm``, ``local-completions``, ...), for the
loops one lm-eval task cannot express (``mixdistill socratic``, ``mixdistill solve``): the same
backend classes and prompts as ``mixdistill eval``. lm-eval is imported when a student is loaded, so
``solve`` with a served student does not import it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.prompts import DEFAULT_STYLE, chat_messages, get_kind, prompt_text
from mixdistill_plugin.students import StudentSettings, student_backend

if TYPE_CHECKING:
    from lm_eval.api.model import LM

    from mixdistill_plugin.solve import Asked, Sample, SolveSettings


def load_student(model_name: str, model_args: str, batch_size: int, device: str | None = None) -> LM:
    """lm-eval's ``--model model_name --model_args model_args`` on ``device`` (default: cuda when available);
    a model that cannot be found or read is a :class:`UserError`."""
    from lm_eval.api.registry import get_model

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


def generation(kind: str, max_gen_toks: int, temperature: float = 0.0, seed: int | None = None) -> dict:
    """lm-eval's ``gen_kwargs`` for a completion of ``kind``: stop at the kind's stop sequences, greedy
    unless ``temperature`` is above 0; ``seed``: sent with the request."""
    gen = {"until": list(get_kind(kind).stop), "do_sample": temperature > 0, "max_gen_toks": max_gen_toks}
    if temperature > 0:
        gen["temperature"] = temperature
    if seed is not None:
        gen["seed"] = seed
    return gen


def complete(lm: LM, prompts: Sequence[str], gen_kwargs: Sequence[dict]) -> list[str]:
    """``lm``'s continuation of each prompt, with that prompt's generation settings (lm-eval's ``gen_kwargs``)."""
    from lm_eval.api.instance import Instance

    requests = [Instance("generate_until", {}, (prompt, gen), i) for i, (prompt, gen) in enumerate(zip(prompts, gen_kwargs))]
    return lm.generate_until(requests, disable_tqdm=True) if requests else []


def greedy_student(settings: StudentSettings, model_args: str, style: str) -> Callable[[str, Sequence[str]], list[str]]:
    """The student ``model_args`` names (the backend, batch size, device and chat template of
    ``settings``): a function from a kind and its inputs in ``style`` to the greedy completions
    (``socratic``'s roles)."""
    lm = load_student(settings.model, model_args, settings.batch_size, settings.device)

    def generate(kind: str, texts: Sequence[str]) -> list[str]:
        gen = generation(kind, settings.max_gen_toks)
        return complete(lm, [student_prompt(lm, kind, t, settings.chat, style) for t in texts], [gen] * len(texts))

    return generate


def lm_eval_student(asked: Sequence[Asked], settings: SolveSettings) -> Sample:
    """``solve``'s student behind one of lm-eval's model classes: each round samples the asked
    (question, kind) paths at the settings' temperature; a backend that takes a seed per request gets
    seed+round-1, the others have torch (and random, numpy) seeded with seed+round first."""
    import random

    import numpy as np
    import torch

    lm = load_student(settings.model, settings.model_args, settings.batch_size, settings.device)
    seed, per_request = settings.seed, student_backend(settings.model).seeds_requests

    def sample(requests: Sequence[tuple[int, str]], number: int) -> list[str]:
        random.seed(seed + number)
        np.random.seed(seed + number)
        torch.manual_seed(seed + number)
        gens = [generation(kind, settings.max_gen_toks, settings.temperature, seed + number - 1 if per_request else None)
                for _, kind in requests]
        prompts = [student_prompt(lm, kind, asked[i].question, settings.chat) for i, kind in requests]
        return complete(lm, prompts, gens)

    return sample
