"""Teacher: a local transformers model, batched generation on CPU or GPU.

Prompts use the tokenizer's chat template when it has one (:func:`prompts.chat_messages`), the
plain few-shot prompt otherwise (:func:`prompts.prompt_text`). Requests are grouped by the number
of samples they want and generated ``batch_size`` prompts at a time, left-padded.
"""

from __future__ import annotations

import asyncio
import time
from itertools import groupby
from typing import AsyncIterator, Sequence

from mixdistill_plugin.prompts import chat_messages, get_kind, prompt_text
from mixdistill_plugin.teachers import Reply, Request, Sampling, TeacherUnavailable, truncate_at_stop


class HFTeacher:
    def __init__(self, model: str, *, batch_size: int = 8) -> None:
        self.model_path = model
        self.batch_size = batch_size
        self.name = f"hf:{model.rstrip('/').rsplit('/', 1)[-1]}"

    def _load(self):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise TeacherUnavailable(f"--teacher hf needs torch and transformers ({exc}); run `make install`") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_path, padding_side="left")
            device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = torch.bfloat16 if device == "cuda" else torch.float32
            model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=dtype).to(device).eval()
        except OSError as exc:
            raise TeacherUnavailable(f"cannot load the model at {self.model_path}: {exc}") from None
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return torch, tokenizer, model

    def render(self, tokenizer, request: Request, shots: int) -> str:
        question = request.question.question
        if tokenizer.chat_template:
            messages = chat_messages(request.kind, question, style=request.question.style, shots=shots)
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return prompt_text(request.kind, question, style=request.question.style, shots=shots)

    def stops(self, request: Request) -> Sequence[str]:
        """Where a completion of ``request`` ends."""
        return get_kind(request.kind).stop

    async def replies(self, requests: Sequence[Request], sampling: Sampling) -> AsyncIterator[Reply]:
        torch, tokenizer, model = await asyncio.to_thread(self._load)
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        ordered = sorted(requests, key=lambda r: len(r.samples))
        for n, group in groupby(ordered, key=lambda r: len(r.samples)):
            group = list(group)
            for start in range(0, len(group), self.batch_size):
                batch = group[start : start + self.batch_size]
                for reply in await asyncio.to_thread(self._generate, torch, tokenizer, model, batch, n, sampling):
                    yield reply

    def _generate(self, torch, tokenizer, model, batch: list[Request], n: int, sampling: Sampling) -> list[Reply]:
        start = time.monotonic()
        prompts = [self.render(tokenizer, r, sampling.shots) for r in batch]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=not tokenizer.chat_template)
        inputs = inputs.to(model.device)
        sample = sampling.temperature > 0
        with torch.no_grad():
            output = model.generate(
                **inputs,
                max_new_tokens=sampling.max_tokens,
                do_sample=sample,
                temperature=sampling.temperature if sample else None,
                top_p=None,
                top_k=None,
                num_return_sequences=n,
                pad_token_id=tokenizer.pad_token_id,
            )
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        latency = (time.monotonic() - start) / len(batch)
        replies = []
        for i, request in enumerate(batch):
            mine = texts[i * n : (i + 1) * n]
            stops = self.stops(request)
            replies.append(Reply(
                request,
                texts=[truncate_at_stop(t, stops) for t in mine],
                latency=latency,
                prompt_tokens=int(inputs["attention_mask"][i].sum()),
                completion_tokens=int((new_tokens[i * n : (i + 1) * n] != tokenizer.pad_token_id).sum()),
            ))
        return replies
