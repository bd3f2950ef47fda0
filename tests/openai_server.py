"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API, for tests and benches.

It answers ``POST /v1/chat/completions`` with scripted completions. The question and the kind are
read from the last user message (the registry's student prompt: ``Question: ...`` then ``Answer:``
for CoT or ``Program:`` for PoT). The texts of a (question, kind) come from
``script.completions[(question, kind)]`` in turn, as a sampling server's would: without a seed,
the k-th choice the server writes for that prompt is ``texts[k % len]``; with a ``seed``, choice
``i`` is ``texts[(seed + i) % len]`` (the same request always gets the same answer).
``honour_n=False`` answers one choice whatever ``n`` asks, as llama.cpp, Ollama and some
gateways do.

Faults (:data:`FAULTS`) are injected per (question, kind) for the first ``times`` attempts, or at
random on any attempt (``fault_rate``, one of ``random_faults``); ``down()`` and ``up()`` take
the server off its port (connections refused, open ones cut) and put it back. Every attempt is
logged in ``log``.

A scripted judge: ``reply_to(body)`` writes every choice's content from the request body (for
requests that are not the registry's student prompts); with ``response_formats`` set, a request
whose ``response_format`` type is not listed gets HTTP 400, as a server without structured
output answers.
"""

from __future__ import annotations

import json
import math
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_QUESTION = re.compile(r"Question: (.*)\n(Answer|Program):\s*$", re.DOTALL)
KIND_OF_LABEL = {"Answer": "cot", "Program": "pot"}

# What each fault does to one attempt; every one but "400" is worth another try.
FAULTS = {
    "429": "HTTP 429 with retry-after-ms (and retry-after in whole seconds): `seconds`",
    "500": "HTTP 500",
    "502": "HTTP 502 with an HTML body, as a proxy in front of a dead backend sends",
    "503": "HTTP 503 with retry-after: `seconds`",
    "slow": "answers after `seconds` (past the client's timeout)",
    "drop": "closes the connection without a reply",
    "truncate": "sends the headers and half the body, then closes the connection",
    "malformed": "a 200 whose body is not JSON",
    "html": "a 200 with an HTML page (a captive portal, a misrouted proxy)",
    "no_choices": "a 200 JSON object without `choices`",
    "empty": "a 200 with `choices: []`",
    "empty_content": "a 200 whose choices have empty content",
    "400": "HTTP 400 (the request itself is refused): not worth another try",
}
TRANSIENT = tuple(k for k in FAULTS if k != "400")


@dataclass
class Fault:
    kind: str
    times: int = 1
    seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in FAULTS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(FAULTS)}")


@dataclass
class Script:
    completions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    faults: dict[tuple[str, str], Fault] = field(default_factory=dict)
    latency: float = 0.0
    default: str = "The answer is 0."
    honour_n: bool = True
    fault_rate: float = 0.0
    random_faults: tuple[str, ...] = TRANSIENT
    random_seconds: float = 1.5  # for random "slow", "429" and "503" faults
    rng_seed: int = 0
    content_type: str = "application/json"  # of a 200 (some servers label JSON otherwise)
    content_parts: bool = False  # message content as a list of text parts, as newer APIs may send
    api_key: str | None = None  # when set, requests with another key get 401
    model: str | None = None  # when set, requests for another model get 404
    reply_to: Callable[[dict], str] | None = None  # a scripted judge: the content of each choice
    response_formats: tuple[str, ...] | None = None  # when set, other response_format types get 400
    usage: bool = True  # False: replies carry no "usage" (token counts), as some servers and proxies send


@dataclass
class Attempt:
    at: float
    key: tuple[str, str]
    n: int
    seed: int | None
    outcome: str  # "ok" or the fault


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 refuses bursts of concurrent connections
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (after a slow reply or a dropped connection) is expected here."""


class OpenAIServer:
    """``with OpenAIServer(script) as server: server.base_url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, script: Script, port: int = 0) -> None:
        self.script = script
        self.requests: list[dict] = []
        self.attempts: Counter = Counter()
        self.log: list[Attempt] = []
        self._written: Counter = Counter()
        self._rng = random.Random(script.rng_seed)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._bind(port)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _bind(self, port: int) -> None:
        self.httpd = _QuietServer(("127.0.0.1", port), self._handler)
        self.httpd.daemon_threads = True

    def __enter__(self) -> "OpenAIServer":
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._thread = threading.current_thread()
        self.httpd.serve_forever()

    def down(self) -> None:
        """Stop listening (new connections are refused) and cut every open connection."""
        if self.httpd is None:
            return
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread = None
        self.httpd.server_close()
        self.httpd = None
        with self._lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def up(self) -> None:
        """Listen again on the same port."""
        self._bind(self.port)
        self._start()

    def outcomes(self) -> Counter:
        return Counter(a.outcome for a in self.log)

    def _fault_for(self, key: tuple[str, str], attempt: int) -> Fault | None:
        fault = self.script.faults.get(key)
        if fault and attempt <= fault.times:
            return fault
        if self.script.fault_rate and self._rng.random() < self.script.fault_rate:
            return Fault(self._rng.choice(self.script.random_faults), seconds=self.script.random_seconds)
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    server_state: OpenAIServer

    def setup(self) -> None:
        super().setup()
        with self.server_state._lock:
            self.server_state._connections.add(self.connection)

    def finish(self) -> None:
        with self.server_state._lock:
            self.server_state._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            return self._send(200, {"object": "list", "data": [{"id": self.server_state.script.model or "m",
                                                                 "object": "model"}]})
        return self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        state, script = self.server_state, self.server_state.script
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        if script.api_key and self.headers.get("Authorization") != f"Bearer {script.api_key}":
            return self._send(401, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}})
        if script.model and body.get("model") != script.model:
            return self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist",
                                              "code": "model_not_found"}})
        form = (body.get("response_format") or {}).get("type", "none")
        if script.response_formats is not None and form not in script.response_formats:
            with state._lock:
                state.requests.append(body)
            return self._send(400, {"error": {"message": f"response_format {form} is not supported",
                                              "type": "invalid_request_error"}})
        match = _QUESTION.search(body["messages"][-1]["content"])
        key = (match.group(1), KIND_OF_LABEL[match.group(2)]) if match else ("", "")
        n = body.get("n") or 1
        seed = body.get("seed")
        with state._lock:
            state.requests.append(body)
            state.attempts[key] += 1
            fault = state._fault_for(key, state.attempts[key])
            state.log.append(Attempt(time.monotonic(), key, n, seed, fault.kind if fault else "ok"))
        if script.latency:
            time.sleep(script.latency)
        if fault:
            return self._fault(fault, n)
        texts = script.completions.get(key, [script.default])
        if script.reply_to is not None and not match:
            texts = [script.reply_to(body)]
        count = n if script.honour_n else 1
        with state._lock:
            if seed is None:
                first, state._written[key] = state._written[key], state._written[key] + count
            else:
                first = seed
        reply = _completion(body["model"], len(state.requests), [texts[(first + i) % len(texts)] for i in range(count)])
        if not script.usage:
            del reply["usage"]
        if script.content_parts:
            for choice in reply["choices"]:
                text = choice["message"]["content"]
                choice["message"]["content"] = [{"type": "text", "text": text[:5]}, {"type": "text", "text": text[5:]}]
        self._send_raw(200, json.dumps(reply).encode(), content_type=script.content_type)

    def _fault(self, fault: Fault, n: int) -> None:
        kind = fault.kind
        if kind == "429":
            return self._send(429, {"error": {"message": "injected 429: slow down", "type": "requests"}},
                              {"retry-after-ms": str(round(fault.seconds * 1000)),
                               "retry-after": str(math.ceil(fault.seconds))})
        if kind == "500":
            return self._send(500, {"error": {"message": "injected 500", "type": "server_error"}})
        if kind == "502":
            return self._send_raw(502, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if kind == "503":
            return self._send(503, {"error": {"message": "injected 503: overloaded"}},
                              {"retry-after": f"{fault.seconds:g}"})
        if kind == "slow":
            time.sleep(fault.seconds)
            return self._send(200, _completion("m", 0, ["The answer is too late."] * n))
        if kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if kind == "truncate":
            data = json.dumps(_completion("m", 0, ["The answer is cut off."] * n)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if kind == "malformed":
            return self._send_raw(200, b'{"id": "x", "choices": [{"message": ')
        if kind == "html":
            return self._send_raw(200, b"<html><body>Please log in</body></html>", content_type="text/html")
        if kind == "no_choices":
            return self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m"})
        if kind == "empty":
            return self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []})
        if kind == "empty_content":
            return self._send(200, _completion("m", 0, [""] * n))
        if kind == "400":
            return self._send(400, {"error": {"message": "injected 400: this prompt is refused",
                                              "type": "invalid_request_error"}})
        raise AssertionError(kind)

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict | None = None,
                  content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _completion(model: str, number: int, texts: list[str]) -> dict:
    choices = [{"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
               for i, text in enumerate(texts)]
    return {"id": f"chatcmpl-{number}", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": choices,
            "usage": {"prompt_tokens": 50, "completion_tokens": 20 * len(texts), "total_tokens": 50 + 20 * len(texts)}}
