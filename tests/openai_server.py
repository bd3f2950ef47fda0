"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API, for tests and benches.

It answers ``POST /v1/chat/completions`` with scripted completions: the question and the kind are
read from the last user message (the registry's student prompt: ``Question: ...`` then
``Answer:`` for CoT or ``Program:`` for PoT); choice ``i`` of a request is
``script[(question, kind)][i % len]``. Faults are injected per (question, kind) for the first
``times`` attempts: ``429`` and ``500`` (with ``retry-after-ms``), ``slow`` (sleeps past the
client's timeout), ``drop`` (closes the connection without a reply), ``malformed`` (a 200 with a
body that is not JSON), ``empty`` (a 200 with no choices).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_QUESTION = re.compile(r"Question: (.*)\n(Answer|Program):\s*$", re.DOTALL)
KIND_OF_LABEL = {"Answer": "cot", "Program": "pot"}


@dataclass
class Fault:
    kind: str
    times: int = 1
    seconds: float = 5.0


@dataclass
class Script:
    completions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    faults: dict[tuple[str, str], Fault] = field(default_factory=dict)
    latency: float = 0.0
    default: str = "The answer is 0."


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 refuses bursts of concurrent connections

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (after a slow reply or a dropped connection) is expected here."""


class OpenAIServer:
    """``with OpenAIServer(script) as server: server.base_url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict] = []
        self.attempts: Counter = Counter()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "OpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_forever(self) -> None:
        self.httpd.serve_forever()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    server_state: OpenAIServer

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        state = self.server_state
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self.path.endswith("/chat/completions"):
            return self._send(404, {"error": {"message": "not found"}})
        match = _QUESTION.search(body["messages"][-1]["content"])
        key = (match.group(1), KIND_OF_LABEL[match.group(2)]) if match else ("", "")
        with state._lock:
            state.requests.append(body)
            state.attempts[key] += 1
            attempt = state.attempts[key]
        if state.script.latency:
            time.sleep(state.script.latency)
        fault = state.script.faults.get(key)
        if fault and attempt <= fault.times:
            return self._fault(fault)
        texts = state.script.completions.get(key, [state.script.default])
        n = body.get("n") or 1
        choices = [
            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": texts[i % len(texts)]}}
            for i in range(n)
        ]
        self._send(200, {
            "id": f"chatcmpl-{len(state.requests)}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "choices": choices,
            "usage": {"prompt_tokens": 50, "completion_tokens": 20 * n, "total_tokens": 50 + 20 * n},
        })

    def _fault(self, fault: Fault) -> None:
        if fault.kind in ("429", "500"):
            return self._send(int(fault.kind), {"error": {"message": f"injected {fault.kind}", "type": "test"}},
                              {"retry-after-ms": "10"})
        if fault.kind == "slow":
            time.sleep(fault.seconds)
            return self._send(200, {"choices": []})
        if fault.kind == "drop":
            self.close_connection = True
            self.connection.close()
            return None
        if fault.kind == "malformed":
            return self._send_raw(200, b'{"id": "x", "choices": [{"message": ')
        if fault.kind == "empty":
            return self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []})
        raise ValueError(fault.kind)

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
