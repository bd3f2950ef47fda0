"""Teacher: any server that speaks the OpenAI chat-completions API (OpenAI, vLLM, SGLang, TGI,
llama.cpp server, Ollama), through the official ``openai`` async client.

The SDK retries 429, 5xx, timeouts and dropped connections ``retries`` times with exponential
backoff (and honours ``Retry-After``). What is left after that:

- the server cannot be reached, or refuses the key or the model: :class:`TeacherUnavailable`;
- any other failed request, a malformed body, empty choices: a :class:`Reply` with ``error``,
  recorded in ``raw.jsonl`` and asked again on the next run.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import AsyncIterator, Sequence

from mixdistill_plugin.prompts import chat_messages, get_kind
from mixdistill_plugin.teachers import Reply, Request, Sampling, TeacherUnavailable, truncate_at_stop


class OpenAITeacher:
    def __init__(self, model: str, base_url: str | None, *, concurrency: int = 32, retries: int = 5,
                 timeout: float = 120.0) -> None:
        self.model = model
        self.base_url = base_url
        self.concurrency = concurrency
        self.retries = retries
        self.timeout = timeout
        self.name = f"openai:{model}"

    async def replies(self, requests: Sequence[Request], sampling: Sampling) -> AsyncIterator[Reply]:
        import openai

        client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
            max_retries=self.retries,
            timeout=self.timeout,
            # the SDK's aiohttp transport: httpx's pool costs milliseconds per request at high concurrency
            http_client=openai.DefaultAioHttpClient(timeout=self.timeout),
        )
        gate = asyncio.Semaphore(self.concurrency)

        async def one(request: Request) -> Reply:
            async with gate:
                return await self._ask(client, request, sampling)

        tasks = [asyncio.ensure_future(one(r)) for r in requests]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.close()

    async def _ask(self, client, request: Request, sampling: Sampling) -> Reply:
        import openai
        from openai.types.chat import ChatCompletion

        kind = get_kind(request.kind)
        start = time.monotonic()
        reply = Reply(request)
        try:
            body = {
                "model": self.model,
                "messages": chat_messages(request.kind, request.question.question, shots=sampling.shots),
                "n": len(request.samples),
                "temperature": sampling.temperature,
                "max_tokens": sampling.max_tokens,
                "stop": list(kind.stop),
            }
            if sampling.seed is not None:
                body["seed"] = sampling.seed
            # The client's own POST (its HTTP pool, retries, errors, typed parsing) without
            # `chat.completions.create`'s parameter transform: ~6 ms of CPU per request on these
            # few-shot messages, a no-op for plain JSON, and the limit at high concurrency.
            response = await client.post("/chat/completions", body=body, cast_to=ChatCompletion)
        except openai.APIConnectionError as exc:  # includes timeouts, after the SDK's retries
            raise TeacherUnavailable(
                f"the teacher server at {client.base_url} could not be reached after {self.retries} retries "
                f"({type(exc).__name__}: {exc}). Check --base-url and that the server is up; "
                "run the same command again to resume."
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
            raise TeacherUnavailable(
                f"the teacher server refused the request ({exc.status_code}: {exc.message}). "
                "Check OPENAI_API_KEY and --model."
            ) from None
        except openai.APIStatusError as exc:
            reply.error = f"HTTP {exc.status_code}: {str(exc.message)[:200]}"
        except (openai.APIError, ValueError) as exc:  # malformed bodies and the like
            reply.error = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            choices = getattr(response, "choices", None) or []
            reply.texts = [truncate_at_stop(c.message.content, kind.stop) for c in choices
                           if getattr(c, "message", None) and isinstance(c.message.content, str)]
            if not reply.texts:
                reply.error = "the response had no choices with text"
            usage = getattr(response, "usage", None)
            reply.prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
            reply.completion_tokens = getattr(usage, "completion_tokens", 0) or 0
        reply.latency = time.monotonic() - start
        return reply
