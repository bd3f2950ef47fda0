"""Teacher: any server that speaks the OpenAI chat-completions API (OpenAI, vLLM, SGLang, TGI,
llama.cpp server, Ollama): one JSON POST to ``BASE_URL/chat/completions`` per request, over an
aiohttp session, as lm-eval's API models do. (The ``openai`` SDK's request path cost about 1.5 ms
of CPU per request, which capped a 2-core client below 0.8 of the rate 64 requests in flight
allow; its import took another 1 to 2 s.) ``OPENAI_API_KEY``, when set, is sent as the bearer token.

:class:`OpenAIChat` is the request loop (concurrency, samples per request, retries, waiting for the
server); what it asks is its subclass's: :class:`OpenAITeacher` the registry's prompts, the judge of
:mod:`mixdistill_plugin.grading` its rubric.

**Samples per request.** One request per (question, kind) asks ``n`` = the samples it lacks. A
server that answers ``n > 1`` with one choice (llama.cpp, Ollama and several gateways ignore
``n``) is asked one sample per request from then on, and the samples it left out are asked at
once; a reply with some but not all choices has the rest asked again. With a seed, every sample
is a request of its own seeded ``seed + sample``: a sample asked again on resume is the one an
uninterrupted run gets, not a copy of sample 0.

**Faults, retried within the run** with backoff (random, at most 0.5 s doubling up to 10 s;
``Retry-After`` and ``retry-after-ms`` honoured up to 60 s), ``retries`` times per request:
HTTP 408, 409, 429 and 5xx; a 200 whose body is not JSON, has no ``choices``, or whose choices
hold no text; a connection dropped or timed out. A refused connection (nothing listening, the
server restarting) does not use up a request's retries: the request waits for the server. The run
ends (:class:`TeacherUnavailable`) only when the server has answered nothing for ``give_up_after``
seconds while requests fail to connect, are dropped or time out. A request that still fails after
its retries, or that the server refuses (another 4xx), comes back as a :class:`Reply` with
``error``: recorded in ``raw.jsonl`` and asked again on the next run. 401, 403 and 404 end the
run: the key, the model or ``--base-url`` is wrong.

**Replicas.** Several base URLs are replicas of one model: each attempt goes to the replica with the
fewest requests in flight; a replica whose connection fails (refused, dropped, timed out) is left
out for :data:`REPLICA_COOLDOWN` seconds and its request's next attempt goes to another; it is tried
again after. The run gives up only when no replica has answered for ``give_up_after`` seconds.
``replica_counts`` gives each replica's requests and connection failures.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from typing import AsyncIterator, Callable, Protocol, Sequence

from mixdistill_plugin.prompts import chat_messages, get_kind
from mixdistill_plugin.teachers import Reply, Request, Sampling, TeacherUnavailable, truncate_at_stop
from mixdistill_plugin.teachers.tokens import Counter

RETRY_STATUS = frozenset({408, 409, 429})
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 10.0
MAX_RETRY_AFTER = 60.0
DEFAULT_BASE_URL = "https://api.openai.com/v1"
REPLICA_COOLDOWN = 5.0  # seconds a replica whose connection failed is left out


@dataclass
class Replica:
    """One server of the model: where it is, what it has in flight, until when it is left out."""

    base_url: str | None
    in_flight: int = 0
    down_until: float = 0.0
    requests: int = 0
    connection_failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def url(self) -> str:
        return f"{(self.base_url or DEFAULT_BASE_URL).rstrip('/')}/chat/completions"


class Fault(Exception):
    """One attempt failed in a way worth another try. ``counts``: it uses up one of the retries."""

    def __init__(self, message: str, *, counts: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.counts = counts
        self.retry_after = retry_after


class Asked(Protocol):
    """What the loop needs of a request: the samples it asks for (a frozen dataclass)."""

    samples: tuple[int, ...]


class OpenAIChat:
    """The request loop of an OpenAI-compatible client; a subclass says what each request asks
    (:meth:`body`) and where a completion ends (:meth:`stops`). ``role`` names the server in messages."""

    role = "teacher"

    def __init__(self, model: str, base_url: str | Sequence[str] | None, *, concurrency: int = 32, retries: int = 6,
                 timeout: float = 120.0, give_up_after: float = 120.0,
                 notice: Callable[[str], None] | None = None, count_tokens: Counter | None = None) -> None:
        self.model = model
        self.count_tokens = count_tokens  # for replies without usage (teachers.tokens)
        urls = [base_url] if base_url is None or isinstance(base_url, str) else list(base_url) or [None]
        self.replicas = [Replica(url) for url in urls]
        self.base_url = ", ".join(url or DEFAULT_BASE_URL for url in urls)
        self.concurrency = concurrency
        self.retries = retries
        self.timeout = timeout
        self.give_up_after = give_up_after
        self.notice = notice or (lambda message: print(message, file=sys.stderr))
        self.name = f"openai:{model}"
        self.one_per_request = False  # set when the server is seen to ignore `n`
        self.counts = {"requests": 0, "retries": 0, "failed": 0, "no_usage": 0, "counted_locally": 0}
        self.first_sent: float | None = None
        self._last_contact = time.monotonic()
        self._warned_unreachable = False

    def body(self, request: Asked, sampling: Sampling) -> dict:
        """The JSON body asking for ``request`` (``n`` and ``seed`` are added by the loop)."""
        raise NotImplementedError

    def stops(self, request: Asked) -> Sequence[str]:
        """Where a completion of ``request`` ends (for servers that ignore ``stop``)."""
        return ()

    def refused(self, status: int, message: str) -> bool:
        """Whether an error reply refuses the request itself whatever its status: not asked again."""
        return False

    async def replies(self, requests: Sequence[Asked], sampling: Sampling) -> AsyncIterator[Reply]:
        """Every request's samples, as replies arrive; follow-ups for samples a server left out."""
        if not requests:
            return
        import aiohttp

        client = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY') or 'not-needed'}"},
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=0),  # the workers bound the requests in flight
        )
        self._last_contact = time.monotonic()
        work: asyncio.Queue[Request] = asyncio.Queue()
        for request in requests:
            for part in self._split(request, sampling):
                work.put_nowait(part)
        results: asyncio.Queue = asyncio.Queue()
        done = object()

        async def worker() -> None:
            while True:
                request = await work.get()
                try:
                    await self._serve(client, request, sampling, work, results)
                except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                    results.put_nowait(exc)
                    raise
                finally:
                    work.task_done()

        async def all_done() -> None:
            await work.join()
            results.put_nowait(done)

        samples = sum(len(r.samples) for r in requests)
        tasks = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, samples))]
        tasks.append(asyncio.create_task(all_done()))
        try:
            while (item := await results.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.close()

    def _split(self, request: Asked, sampling: Sampling) -> list[Asked]:
        if len(request.samples) > 1 and (sampling.seed is not None or self.one_per_request):
            return [replace(request, samples=(s,)) for s in request.samples]
        return [request]

    async def _serve(self, client, request: Asked, sampling: Sampling, work: asyncio.Queue,
                     results: asyncio.Queue) -> None:
        """Ask for ``request``'s samples; put the reply, and queue any samples the server left out."""
        if len(request.samples) > 1 and self.one_per_request:  # learnt while this one waited
            request, *rest = self._split(request, sampling)
            for part in rest:
                work.put_nowait(part)
        reply, choices = await self._ask(client, request, sampling)
        got = len(reply.texts)
        if reply.error or got >= len(request.samples):
            results.put_nowait(reply)
            return
        if choices == 1 and not self.one_per_request:
            self.one_per_request = True
            self.notice(f"the {self.role} server answered n={len(request.samples)} with one choice (it ignores `n`): "
                        "asking one sample per request from now on")
        results.put_nowait(replace(reply, request=replace(request, samples=request.samples[:got])))
        for part in self._split(replace(request, samples=request.samples[got:]), sampling):
            work.put_nowait(part)

    async def _ask(self, client, request: Asked, sampling: Sampling) -> tuple[Reply, int]:
        """The reply to ``request`` after the retries, and how many choices the server sent."""
        body = self.body(request, sampling)
        if len(request.samples) > 1:
            body["n"] = len(request.samples)
        if sampling.seed is not None:
            body["seed"] = sampling.seed + request.samples[0]
        start = time.monotonic()
        try:
            reply, choices = await self._attempt(client, request, body)
        except Fault as fault:  # the retry machinery only for the requests that need it
            try:
                reply, choices = await self._retry(fault, client, request, body)
            except Fault as last:
                self.counts["failed"] += 1
                reply, choices = Reply(request, error=last.message), 0
        reply.latency = time.monotonic() - start
        return reply, choices

    async def _retry(self, first: Fault, client, request: Asked, body: dict) -> tuple[Reply, int]:
        """The attempts after a failed first one: tenacity's first attempt raises ``first`` again, so
        that the wait, the count of retries and the stop treat it as any other failed attempt."""
        from tenacity import AsyncRetrying, retry_if_exception_type, wait_random_exponential

        pending = [first]
        used = 0
        backoff = wait_random_exponential(multiplier=FIRST_BACKOFF, max=MAX_BACKOFF)

        async def attempt() -> tuple[Reply, int]:
            if pending:
                raise pending.pop()
            return await self._attempt(client, request, body)

        def out_of_retries(state) -> bool:
            nonlocal used
            used += state.outcome.exception().counts
            return used > self.retries

        def wait(state) -> float:
            retry_after = state.outcome.exception().retry_after
            return backoff(state) if retry_after is None else min(retry_after, MAX_RETRY_AFTER)

        def count_retry(state) -> None:
            self.counts["retries"] += 1

        retrying = AsyncRetrying(retry=retry_if_exception_type(Fault), stop=out_of_retries, wait=wait,
                                 before_sleep=count_retry, reraise=True)
        return await retrying(attempt)

    def _pick(self) -> Replica:
        """The replica with the fewest requests in flight among those not left out (else the one
        left out the shortest)."""
        now = time.monotonic()
        up = [r for r in self.replicas if r.down_until <= now] or [min(self.replicas, key=lambda r: r.down_until)]
        return min(up, key=lambda r: r.in_flight)

    def replica_counts(self) -> dict[str, dict[str, int]]:
        return {r.base_url or DEFAULT_BASE_URL: {"requests": r.requests, "connection_failures": r.connection_failures,
                                                 "prompt_tokens": r.prompt_tokens,
                                                 "completion_tokens": r.completion_tokens}
                for r in self.replicas}

    async def _attempt(self, client, request: Asked, body: dict) -> tuple[Reply, int]:
        """One POST: the reply and the number of choices; a :class:`Fault` for anything worth another try."""
        import aiohttp

        stops = self.stops(request)
        if self.first_sent is None:
            self.first_sent = time.monotonic()
        self.counts["requests"] += 1
        replica = self._pick()
        replica.requests += 1
        replica.in_flight += 1
        try:
            async with client.post(replica.url, json=body) as response:
                status, headers, raw = response.status, response.headers, await response.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            replica.connection_failures += 1
            if len(self.replicas) > 1:
                replica.down_until = time.monotonic() + REPLICA_COOLDOWN
            self._connection_fault(exc)
        finally:
            replica.in_flight -= 1
        self._last_contact = time.monotonic()
        if status >= 400:
            message = _server_message(raw, status)
            if status in (401, 403):
                raise TeacherUnavailable(
                    f"the {self.role} server at {replica.url} refused the request ({status}: {message}). "
                    "Check OPENAI_API_KEY (and that the key may use --model)."
                ) from None
            if status == 404:
                raise TeacherUnavailable(
                    f"the {self.role} server answered 404 to POST {replica.url} ({message}). "
                    "Check --base-url (most servers want the path ending in /v1, e.g. http://localhost:8000/v1) "
                    "and --model (the name the server knows the model by)."
                ) from None
            text = f"HTTP {status}: {message}"
            if (status in RETRY_STATUS or status >= 500) and not self.refused(status, message):
                raise Fault(text, retry_after=_retry_after(headers)) from None
            return Reply(request, error=text), 0  # the server refuses this request: asking again won't help
        try:
            data = json.loads(raw)
        except ValueError as exc:  # UnicodeDecodeError included
            raise Fault(f"malformed reply: {type(exc).__name__}: {str(exc)[:120]}") from None
        if not isinstance(data, dict):
            raise Fault(f"malformed reply: not a JSON object: {str(data)[:120]!r}")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise Fault("the reply had no choices")
        texts = []
        for choice in choices:
            message = choice.get("message") if isinstance(choice, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
                content = "".join(part.get("text") or "" for part in content if isinstance(part, dict))
            text = truncate_at_stop(content, stops) if isinstance(content, str) else ""
            if text:
                texts.append(text)
        if not texts:
            raise Fault("the reply's choices held no text (empty completion)")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
        if not usage:
            self.counts["no_usage"] += 1
            if self.count_tokens is not None:
                prompt, completion = self.count_tokens(body.get("messages", []), texts[: len(request.samples)])
                self.counts["counted_locally"] += 1
        replica.prompt_tokens += prompt
        replica.completion_tokens += completion
        reply = Reply(request, texts=texts[: len(request.samples)], prompt_tokens=prompt, completion_tokens=completion)
        return reply, len(choices)

    def _connection_fault(self, exc: BaseException) -> None:
        """Raise what a failed connection means: a fault of this request, a wait for the server, or the end."""
        what, refused = describe_connection_error(exc, self.timeout)
        if time.monotonic() - self._last_contact >= self.give_up_after:
            raise TeacherUnavailable(
                f"the {self.role} server at {self.base_url or 'api.openai.com'} has answered nothing for "
                f"{self.give_up_after:g}s (--give-up-after; last: {what}). Check --base-url and that the "
                "server is up."
            )
        if refused and not self._warned_unreachable:
            self._warned_unreachable = True
            self.notice(f"cannot reach the {self.role} server at {self.base_url} ({what}); waiting for it, "
                        f"for up to {self.give_up_after:g}s without an answer (--give-up-after)")
        raise Fault(what, counts=not refused)


class OpenAITeacher(OpenAIChat):
    """The teacher: the registry's chat prompt of each request's kind, with its few-shot exemplars."""

    def body(self, request: Request, sampling: Sampling) -> dict:
        return {
            "model": self.model,
            "messages": chat_messages(request.kind, request.question.question, style=request.question.style,
                                      shots=sampling.shots),
            "temperature": sampling.temperature,
            "max_tokens": sampling.max_tokens,
            "stop": list(get_kind(request.kind).stop),
        }

    def stops(self, request: Request) -> Sequence[str]:
        return get_kind(request.kind).stop


def describe_connection_error(exc: BaseException, timeout: float) -> tuple[str, bool]:
    """What went wrong, in words, from the innermost cause (aiohttp wraps the socket's error); and
    whether nothing was listening (the connection was refused or never made)."""
    chain = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    names = {type(e).__name__ for e in chain}
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return "connection refused", True
    if "ClientConnectorDNSError" in names or any(isinstance(e, OSError) and getattr(e, "errno", None) in (
            errno.EHOSTUNREACH, errno.ENETUNREACH) for e in chain):
        return f"cannot connect: {chain[-1]}", True
    if names & {"ServerDisconnectedError", "ClientPayloadError", "ClientOSError", "RemoteProtocolError",
                "ReadError", "ConnectionResetError", "BrokenPipeError"}:
        return "the server closed the connection without a complete reply", False
    if any(isinstance(e, (asyncio.TimeoutError, TimeoutError)) for e in chain) or "Timeout" in " ".join(names):
        return f"no reply within {timeout:g}s (--request-timeout)", False
    return f"{type(chain[-1]).__name__}: {str(chain[-1])[:120]}", False


def _retry_after(headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(float(ms) / 1000, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(when.timestamp() - time.time(), 0.0)
    except (TypeError, ValueError, OverflowError):
        return None


def _server_message(raw: bytes, status: int) -> str:
    """The error message in an error reply's body (OpenAI's ``{"error": {"message": ...}}`` or the like)."""
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message)[:200]
    return text.strip()[:200] or f"status {status}"


def _int(value) -> int:
    return value if isinstance(value, int) else 0
