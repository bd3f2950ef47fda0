"""Token counts where a server sends no ``usage`` (``generate --tokenizer``): counted locally.

Some OpenAI-compatible servers (proxies, older llama.cpp builds, batch exports) leave ``usage`` out
of their replies; the run's token totals would read 0. With ``--tokenizer`` the prompt is counted as
the model sees it (the tokenizer's chat template over the request's messages, where it has one; else
the messages' text) and each completion without special tokens. The counts are the teacher's own
only when the tokenizer is the served model's; ``stats.json`` says how many replies were counted so.
"""

from __future__ import annotations

from typing import Callable, Sequence

Counter = Callable[[Sequence[dict], Sequence[str]], tuple[int, int]]


def tokenizer_counter(name: str) -> Counter:
    """``count(messages, texts) -> (prompt tokens, completion tokens)`` with the tokenizer ``name``
    (a local path, or a hub name where the hub is reachable)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name)

    def count(messages: Sequence[dict], texts: Sequence[str]) -> tuple[int, int]:
        if tokenizer.chat_template:
            prompt = len(tokenizer.apply_chat_template(list(messages), tokenize=True, add_generation_prompt=True,
                                                       return_dict=False))
        else:
            prompt = len(tokenizer("\n\n".join(m["content"] for m in messages))["input_ids"])
        completion = sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts)
        return prompt, completion

    return count
