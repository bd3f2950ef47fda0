"""Teacher: offline ``vllm.LLM`` (``pip install vllm``; imported only when chosen).

Uses the model's chat template through ``LLM.chat`` when the tokenizer has one, the plain few-shot
prompt otherwise; one batched call over every request, ``n`` samples each.
"""

from __future__ import annotations

import time
from typing import AsyncIterator, Sequence

from mixdistill_plugin.prompts import chat_messages, get_kind, prompt_text
from mixdistill_plugin.teachers import Reply, Request, Sampling, TeacherUnavailable, truncate_at_stop


class VLLMTeacher:
    def __init__(self, model: str) -> None:
        self.model = model
        self.name = f"vllm:{model.rstrip('/').rsplit('/', 1)[-1]}"

    async def replies(self, requests: Sequence[Request], sampling: Sampling) -> AsyncIterator[Reply]:
        try:
            import vllm
        except ImportError:
            raise TeacherUnavailable(
                "--teacher vllm needs vLLM: `pip install vllm` on a machine with a GPU, "
                "or serve the model with `vllm serve` and use --teacher openai --base-url"
            ) from None
        llm = vllm.LLM(model=self.model, seed=sampling.seed or 0)
        chat = bool(llm.get_tokenizer().chat_template)
        params = [
            vllm.SamplingParams(n=len(r.samples), temperature=sampling.temperature, max_tokens=sampling.max_tokens,
                                stop=list(get_kind(r.kind).stop), seed=sampling.seed)
            for r in requests
        ]
        start = time.monotonic()
        if chat:
            conversations = [chat_messages(r.kind, r.question.question, style=r.question.style, shots=sampling.shots)
                             for r in requests]
            outputs = llm.chat(conversations, params)
        else:
            outputs = llm.generate([prompt_text(r.kind, r.question.question, style=r.question.style, shots=sampling.shots)
                                    for r in requests], params)
        latency = (time.monotonic() - start) / max(len(requests), 1)
        for request, output in zip(requests, outputs):
            stops = get_kind(request.kind).stop
            yield Reply(request, texts=[truncate_at_stop(o.text, stops) for o in output.outputs], latency=latency,
                        prompt_tokens=len(output.prompt_token_ids or []),
                        completion_tokens=sum(len(o.token_ids) for o in output.outputs))
