"""The program-of-thought executor: a pool of sandboxed worker processes with a batch API.

>>> with Executor(timeout=1.0) as ex:
...     [o.answer for o in ex.run(["ans = 6 * 7", "print(1 / 4)"])]
[42.0, 0.25]

Workers (one per core by default) are long-lived ``python -I`` processes running
:mod:`mixdistill_plugin.sandbox`; programs go to them in small chunks, so a slow program holds up
only its own worker. A worker interrupts a Python-level loop itself at the timeout; a worker that
has not answered ``grace`` seconds after that (stuck in C code, or having defeated its timer) is
killed with its process group and replaced, and the rest of its chunk goes back to the queue. A
worker that dies (``os._exit``, a crash) or writes garbage into its pipe is replaced the same way.
The parent never blocks on a worker: it reads only what ``select`` says is there, parses JSON
(never pickle), and bounds message sizes. Identical program texts in one batch run once.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from mixdistill_plugin.sandbox import write_message

Status = Literal["answer", "no_answer", "error", "timeout", "blocked"]
STATUSES: tuple[Status, ...] = ("answer", "no_answer", "error", "timeout", "blocked")
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_STARTUP_TIMEOUT = 120.0
_MAX_MESSAGE = 1 << 20
_WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
}


@dataclass(frozen=True)
class Outcome:
    """What one program did.

    ``status`` is one of ``answer`` (``answer`` holds the number), ``no_answer`` (it ran but left
    no readable answer), ``error`` (``detail`` is the exception name), ``timeout``, ``blocked``
    (``detail`` says what was refused). ``output`` is what it printed, truncated.
    """

    status: Status
    answer: float | None = None
    detail: str = ""
    output: str = ""


class _ProtocolError(Exception):
    pass


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class _Worker:
    def __init__(self, memory_mb: int, cwd: str) -> None:
        req_r, self.req_w = os.pipe()
        self.res_r, res_w = os.pipe()
        code = (
            f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); "
            f"from mixdistill_plugin.sandbox import main; main({req_r}, {res_w}, {memory_mb})"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", code],
            pass_fds=(req_r, res_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
            env=_WORKER_ENV,
        )
        os.close(req_r)
        os.close(res_w)
        self.buffer = b""
        self.chunk: deque[int] = deque()
        self.ready = False
        self.deadline = time.monotonic() + _STARTUP_TIMEOUT

    def read_messages(self) -> list[object]:
        """The complete messages now in the pipe; ``EOFError`` when the worker is gone."""
        data = os.read(self.res_r, 1 << 16)
        if not data:
            raise EOFError
        self.buffer += data
        messages = []
        while len(self.buffer) >= 4:
            (size,) = struct.unpack(">I", self.buffer[:4])
            if size > _MAX_MESSAGE:
                raise _ProtocolError(f"message of {size} bytes")
            if len(self.buffer) < 4 + size:
                break
            body, self.buffer = self.buffer[4 : 4 + size], self.buffer[4 + size :]
            try:
                messages.append(json.loads(body))
            except ValueError as exc:
                raise _ProtocolError("malformed message") from exc
        return messages

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        os.close(self.req_w)
        os.close(self.res_r)


def _outcome(message: object) -> Outcome:
    if (
        isinstance(message, list)
        and len(message) == 4
        and message[0] in STATUSES
        and (message[1] is None or isinstance(message[1], (int, float)))
        and isinstance(message[2], str)
        and isinstance(message[3], str)
    ):
        answer = None if message[1] is None else float(message[1])
        return Outcome(message[0], answer, message[2], message[3])
    raise _ProtocolError("unexpected message")


class Executor:
    """Runs model-written programs in sandboxed worker processes.

    ``timeout`` is per program (seconds); ``memory_mb`` caps each worker's address space;
    ``grace`` is how long past the timeout a silent worker is given before it is killed.
    Thread-safe: concurrent :meth:`run` calls take turns.
    """

    def __init__(
        self,
        timeout: float = 1.0,
        workers: int | None = None,
        memory_mb: int = 1024,
        chunk_size: int = 32,
        grace: float = 0.5,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.chunk_size = chunk_size
        self.grace = grace
        self.n_workers = workers or default_workers()
        self.restarts = 0
        self._cwd = tempfile.mkdtemp(prefix="mixdistill-exec-")
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker; the executor starts new ones if used again."""
        with self._lock:
            for worker in self._workers:
                worker.kill()
            self._workers.clear()
            shutil.rmtree(self._cwd, ignore_errors=True)

    def start(self) -> "Executor":
        """Start the workers now (they preload numpy and sympy) rather than at the first run."""
        with self._lock:
            os.makedirs(self._cwd, exist_ok=True)
            while len(self._workers) < self.n_workers:
                self._workers.append(_Worker(self.memory_mb, self._cwd))
        return self

    def run_one(self, program: str) -> Outcome:
        return self.run([program])[0]

    def run(self, programs: Sequence[str]) -> list[Outcome]:
        """Run every program; the outcomes come back in the same order."""
        unique = list(dict.fromkeys(programs))
        with self._lock:
            os.makedirs(self._cwd, exist_ok=True)
            by_text = dict(zip(unique, self._run_unique(unique)))
        return [by_text[p] for p in programs]

    def _run_unique(self, programs: list[str]) -> list[Outcome]:
        results: list[Outcome | None] = [None] * len(programs)
        queue: deque[list[int]] = deque(
            list(range(i, min(i + self.chunk_size, len(programs))))
            for i in range(0, len(programs), self.chunk_size)
        )
        while queue and len(self._workers) < min(self.n_workers, len(queue)):
            self._workers.append(_Worker(self.memory_mb, self._cwd))
        while queue or any(w.chunk for w in self._workers):
            for worker in self._workers:
                if worker.ready and queue and not worker.chunk:
                    self._dispatch(worker, queue.popleft(), programs, results, queue)
            active = {w.res_r: w for w in self._workers if w.chunk or not w.ready}
            if not active:
                continue
            wait_for = max(0.0, min(w.deadline for w in active.values()) - time.monotonic())
            readable, _, _ = select.select(list(active), [], [], wait_for)
            for fd in readable:
                worker = active[fd]
                try:
                    for message in worker.read_messages():
                        if not worker.ready:
                            worker.ready = message == "ready"
                        elif worker.chunk:
                            results[worker.chunk.popleft()] = _outcome(message)
                            worker.deadline = time.monotonic() + self.timeout + self.grace
                except EOFError:
                    self._replace(worker, f"WorkerDied (exit {worker.proc.wait()})", results, queue)
                except _ProtocolError as exc:
                    self._replace(worker, f"WorkerProtocolError ({exc})", results, queue)
            now = time.monotonic()
            for worker in [w for w in active.values() if w.deadline <= now and w in self._workers]:
                self._replace(worker, None, results, queue)
        return [r for r in results if r is not None]

    def _dispatch(self, worker: _Worker, chunk: list[int], programs: list[str], results: list, queue: deque) -> None:
        worker.chunk = deque(chunk)
        worker.deadline = time.monotonic() + self.timeout + self.grace
        try:
            write_message(worker.req_w, [self.timeout, [programs[i] for i in chunk]])
        except OSError:  # it died while idle: its chunk goes back untouched
            worker.chunk.clear()
            queue.appendleft(chunk)
            self._replace(worker, None, results, queue)

    def _replace(self, worker: _Worker, error: str | None, results: list, queue: deque) -> None:
        """Record the program the worker was on (``error``, or a timeout), requeue the rest, start anew."""
        if not worker.ready:
            worker.kill()
            self._workers.remove(worker)
            raise RuntimeError(
                "a program executor worker failed to start; "
                "`python -c 'import mixdistill_plugin.sandbox'` shows why"
            )
        if worker.chunk:
            index = worker.chunk.popleft()
            results[index] = (
                Outcome("error", None, error)
                if error
                else Outcome("timeout", None, f"over {self.timeout:g}s (worker killed)")
            )
        if worker.chunk:
            queue.appendleft(list(worker.chunk))
        worker.kill()
        self.restarts += 1
        self._workers[self._workers.index(worker)] = _Worker(self.memory_mb, self._cwd)
