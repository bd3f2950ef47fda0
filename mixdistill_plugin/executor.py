"""The program-of-thought executor: a pool of template processes with a batch API.

>>> with Executor(timeout=1.0) as ex:
...     [o.answer for o in ex.run(["ans = 6 * 7", "print(1 / 4)"])]
[42.0, 0.25]

Each program runs in a fresh child process forked from a template (:mod:`mixdistill_plugin.template`)
that has never run model code, under the kernel containment of :mod:`mixdistill_plugin.containment`.
Templates come in three kinds (:func:`template_kind`), each started the first time a program needs
it, one of each kind per core at most. Programs go to templates in chunks, so a slow program holds up only its own template.

The scoring process trusts nothing a child wrote: a result must be one JSON array of the expected
shape within a size limit; anything else (malformed, oversized, nested, extra bytes) is that
program's ``protocol_error``. A program text over :data:`MAX_PROGRAM_BYTES` or
:data:`MAX_PROGRAM_LINES` is refused here (``ProgramTooLong``) and never reaches a template. A
template that dies or stops answering is replaced; the program it was running is charged with the
failure (its ``error`` after :data:`_MAX_ATTEMPTS` of them), and every unfinished program of its
chunk runs again alone, so that no program's death is another's outcome. Identical program texts in
one batch run once.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from mixdistill_plugin import containment
from mixdistill_plugin.answers import extract_answer
from mixdistill_plugin.template import (
    MODULES, OVERSIZED, RESULT_HEADER, SETUP_FAILED, SOURCE_LIMIT, TIMED_OUT, write_frame,
)

Status = Literal["answer", "no_answer", "error", "timeout", "blocked", "protocol_error"]
STATUSES: tuple[Status, ...] = ("answer", "no_answer", "error", "timeout", "blocked", "protocol_error")
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_STARTUP_TIMEOUT = 120.0
_TEMPLATE_MARGIN = 5.0  # seconds past a child's own deadline before its template counts as stuck
_MAX_ATTEMPTS = 2
MAX_PROGRAM_BYTES = SOURCE_LIMIT  # UTF-8 bytes of a program text; PoT programs are a few hundred
MAX_PROGRAM_LINES = 2_000
_TEXT_LIMIT = 20_000
_WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "LC_ALL": "C.UTF-8",
}
_announced = False


@dataclass(frozen=True)
class Outcome:
    """What one program did.

    ``status`` is one of ``answer`` (``answer`` holds the number), ``no_answer`` (it ran but left
    no readable answer), ``error`` (``detail`` is the exception name, or how the process ended),
    ``timeout``, ``blocked`` (the sandbox refused something; ``detail`` says what) or
    ``protocol_error`` (its result could not be trusted). ``output`` is what it printed, truncated.
    """

    status: Status
    answer: float | None = None
    detail: str = ""
    output: str = ""


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def template_kind(program: str) -> str:
    """``light`` for a program that imports nothing, ``sci`` for one that mentions numpy or sympy, else ``base``.

    Only a program containing ``import`` can import a module, so the light template (which has
    none loaded, and forks fastest) serves every other program exactly as the others would.
    """
    if "import" not in program:
        return "light"
    return "sci" if any(name in program for name in MODULES["sci"]) else "base"


def too_long(program: str) -> Outcome | None:
    """The ``ProgramTooLong`` outcome of a text over :data:`MAX_PROGRAM_BYTES` or
    :data:`MAX_PROGRAM_LINES` (the detail names the limit); ``None`` for one within both."""
    size = len(program) if len(program) > MAX_PROGRAM_BYTES else len(program.encode("utf-8", "surrogatepass"))
    if size > MAX_PROGRAM_BYTES:
        return Outcome("error", None, f"ProgramTooLong: over {MAX_PROGRAM_BYTES} bytes")
    if program.count("\n") >= MAX_PROGRAM_LINES:
        return Outcome("error", None, f"ProgramTooLong: over {MAX_PROGRAM_LINES} lines")
    return None


def clean_text(text: str) -> str:
    """``text`` as valid Unicode (lone surrogates written as ``\\udXXX``), cut to a bounded length."""
    return text[:_TEXT_LIMIT].encode("utf-8", "backslashreplace").decode("utf-8")


def parse_result(exit_code: int, flags: int, raw: bytes, timeout: float) -> Outcome:
    """The outcome of one child, from how it ended and the bytes it wrote (which prove nothing)."""
    if flags & TIMED_OUT:
        return Outcome("timeout", None, f"over {timeout:g}s (killed)")
    if flags & OVERSIZED:
        return Outcome("protocol_error", None, "result too large")
    if exit_code == SETUP_FAILED:
        return Outcome("error", None, "the sandbox could not be applied")
    if exit_code < 0:
        signum = -exit_code
        if signum in (signal.SIGXCPU, signal.SIGKILL):
            return Outcome("timeout", None, "CPU limit")
        if signum == getattr(signal, "SIGSYS", None):
            return Outcome("blocked", None, "system call refused")
        return Outcome("error", None, f"killed by {signal.Signals(signum).name}")
    if exit_code != 0:
        return Outcome("error", None, f"exit status {exit_code}")
    if not raw:
        return Outcome("error", None, "exited without a result")
    try:
        message = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError, OverflowError):
        return Outcome("protocol_error", None, "malformed result")
    if not (isinstance(message, list) and len(message) == 4 and message[0] in STATUSES
            and isinstance(message[2], str) and isinstance(message[3], str)):
        return Outcome("protocol_error", None, "unexpected result")
    status, answer = message[0], message[1]
    if status == "answer":
        if isinstance(answer, str):
            answer = extract_answer(clean_text(answer))
        elif isinstance(answer, (int, float)) and not isinstance(answer, bool):
            try:
                answer = float(answer)
            except OverflowError:
                return Outcome("protocol_error", None, "unexpected result")
            if not math.isfinite(answer):
                return Outcome("protocol_error", None, "unexpected result")
        else:
            return Outcome("protocol_error", None, "unexpected result")
        if answer is None:
            status = "no_answer"
    elif answer is not None:
        return Outcome("protocol_error", None, "unexpected result")
    return Outcome(status, answer, clean_text(message[2]), clean_text(message[3]))


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class _Template:
    """One template process and the chunk of programs it is working on."""

    def __init__(self, kind: str, config: dict, landlock_fd: int | None) -> None:
        self.kind = kind
        req_r, self.req_w = os.pipe()
        self.res_r, res_w = os.pipe()
        fds = (req_r, res_w) + (() if landlock_fd is None else (landlock_fd,))
        path = [_PACKAGE_PARENT] + [p for p in sys.path if p and os.path.isdir(p) and p != _PACKAGE_PARENT]
        code = (f"import sys; sys.path[:0] = {path!r}; from mixdistill_plugin.template import main; "
                f"main({req_r}, {res_w}, {landlock_fd!r})")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", code], pass_fds=fds, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd="/", env=_WORKER_ENV,
        )
        os.close(req_r)
        os.close(res_w)
        write_frame(self.req_w, json.dumps(config | {"kind": kind}).encode())
        self.buffer = b""
        self.chunk: deque[int] = deque()
        self.layers: dict | None = None
        self.deadline = time.monotonic() + _STARTUP_TIMEOUT

    def frames(self) -> list[bytes]:
        """The complete frames now in the pipe; ``EOFError`` when the template is gone."""
        data = os.read(self.res_r, 1 << 18)
        if not data:
            raise EOFError
        self.buffer += data
        frames = []
        while len(self.buffer) >= 4:
            size = int.from_bytes(self.buffer[:4], "big")
            if len(self.buffer) < 4 + size:
                break
            frames.append(self.buffer[4 : 4 + size])
            self.buffer = self.buffer[4 + size :]
        return frames

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        os.close(self.req_w)
        os.close(self.res_r)


class Executor:
    """Runs model-written programs, each in a fresh contained process.

    ``timeout`` is per program (seconds); ``memory_mb`` is the memory a program may allocate;
    ``grace`` is how long past the timeout a child is given before it is killed. ``allow_weak``
    runs programs even where the sandbox lacks a required layer (default: the
    ``MIXDISTILL_ALLOW_WEAK_SANDBOX`` environment variable). Thread-safe: concurrent :meth:`run`
    calls take turns.
    """

    def __init__(
        self,
        timeout: float = 1.0,
        workers: int | None = None,
        memory_mb: int = 1024,
        chunk_size: int = 32,
        grace: float = 0.5,
        allow_weak: bool | None = None,
        namespaces: bool = True,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.grace = grace
        self.n_workers = workers or default_workers()
        self.allow_weak = containment.allow_weak_from_env() if allow_weak is None else allow_weak
        self.restarts = 0
        self.layers: containment.Layers | None = None
        self._config = {"memory_mb": memory_mb, "grace": grace, "namespaces": namespaces}
        self._spec: containment.Spec | None = None
        self._templates: list[_Template] = []
        self._lock = threading.Lock()

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every template (and so every child); the executor starts new ones if used again."""
        with self._lock:
            for template in self._templates:
                template.kill()
            self._templates.clear()
            if self._spec is not None:
                self._spec.close()
                self._spec = None

    def start(self) -> "Executor":
        """Start the ``light`` templates now, rather than at the first run; they get ready meanwhile."""
        with self._lock:
            self._grow("light", self.n_workers)
        return self

    def check(self) -> containment.Layers:
        """Wait for the started templates and return the layers in force (``SandboxUnavailable`` if too few)."""
        with self._lock:
            if not self._templates:
                self._grow("light", 1)
            while pending := [t for t in self._templates if t.layers is None]:
                self._poll(pending, {}, [], [])
        return self.layers

    def run_one(self, program: str) -> Outcome:
        return self.run([program])[0]

    def run(self, programs: Sequence[str]) -> list[Outcome]:
        """Run every program; the outcomes come back in the same order."""
        unique = list(dict.fromkeys(programs))
        with self._lock:
            by_text = dict(zip(unique, self._run_unique(unique)))
        return [by_text[p] for p in programs]

    def _grow(self, kind: str, wanted: int) -> None:
        if self._spec is None:
            self._spec = containment.build()
            self._config |= {name: None if program is None else program.hex() for name, program in
                             (("template_bpf", self._spec.template_bpf), ("child_bpf", self._spec.child_bpf))}
        while sum(t.kind == kind for t in self._templates) < min(wanted, self.n_workers):
            self._templates.append(_Template(kind, self._config, self._spec.landlock_fd))

    def _check_layers(self, template: _Template, report: dict) -> None:
        """Record the layers a template applied; refuse (every time) when they are below the minimum."""
        global _announced
        template.layers = report
        missing = dict(self._spec.problems)
        if not report.get("seccomp"):
            missing.setdefault("seccomp", "the kernel refused the filter")
        if not report.get("landlock"):
            missing.setdefault("landlock", "not applied")
        if not report.get("namespaces"):
            missing["namespaces"] = "unprivileged user namespaces are not allowed here"
        layers = containment.Layers(bool(report.get("seccomp")), int(report.get("landlock") or 0),
                                    tuple(report.get("namespaces") or ()), bool(report.get("rlimits")), missing)
        self.layers = layers if self.layers is None or layers.below_minimum() else self.layers
        if not _announced:
            _announced = True
            print(f"mixdistill: {self.layers.summary()}", file=sys.stderr)
        if layers.below_minimum() and not self.allow_weak:
            raise containment.SandboxUnavailable(self.layers.refusal())

    def _run_unique(self, programs: list[str]) -> list[Outcome]:
        if self.layers is not None and self.layers.below_minimum() and not self.allow_weak:
            raise containment.SandboxUnavailable(self.layers.refusal())
        results: list[Outcome | None] = [too_long(p) for p in programs]
        attempts = [0] * len(programs)
        queues: dict[str, deque[list[int]]] = {kind: deque() for kind in MODULES}
        for kind in queues:
            mine = [i for i, p in enumerate(programs) if results[i] is None and template_kind(p) == kind]
            queues[kind].extend(mine[i : i + self.chunk_size] for i in range(0, len(mine), self.chunk_size))
            if mine:
                self._grow(kind, len(queues[kind]))
        while any(queues.values()) or any(t.chunk for t in self._templates):
            for template in self._templates:
                queue = queues[template.kind]
                if template.layers is not None and queue and not template.chunk:
                    self._dispatch(template, queue.popleft(), programs, queues)
            busy = [t for t in self._templates if t.chunk or t.layers is None]
            if busy:
                self._poll(busy, queues, results, attempts)
        return [r for r in results if r is not None]

    def _dispatch(self, template: _Template, chunk: list[int], programs: list[str], queues: dict) -> None:
        template.chunk = deque(chunk)
        template.deadline = time.monotonic() + self.timeout + self.grace + _TEMPLATE_MARGIN
        try:
            write_frame(template.req_w, json.dumps([self.timeout, [programs[i] for i in chunk]]).encode())
        except OSError:  # it died while idle: the chunk goes back untouched
            template.chunk.clear()
            queues[template.kind].appendleft(chunk)
            self._replace(template)

    def _poll(self, busy: list[_Template], queues: dict, results: list, attempts: list) -> None:
        by_fd = {t.res_r: t for t in busy}
        wait_for = max(0.0, min(t.deadline for t in busy) - time.monotonic())
        readable, _, _ = select.select(list(by_fd), [], [], wait_for)
        for fd in readable:
            template = by_fd[fd]
            try:
                for frame in template.frames():
                    if frame[:1] == b"J" and template.layers is None:
                        self._check_layers(template, json.loads(frame[1:]))
                    elif frame[:1] == b"R" and template.chunk:
                        _index, code, flags = RESULT_HEADER.unpack_from(frame, 1)
                        results[template.chunk.popleft()] = parse_result(
                            code, flags, frame[1 + RESULT_HEADER.size:], self.timeout)
                        template.deadline = time.monotonic() + self.timeout + self.grace + _TEMPLATE_MARGIN
            except EOFError:
                self._fail(template, queues, results, attempts)
        now = time.monotonic()
        for template in [t for t in busy if t.deadline <= now and t in self._templates]:
            self._fail(template, queues, results, attempts)

    def _fail(self, template: _Template, queues: dict, results: list, attempts: list) -> None:
        """A template died or hung: the program it was running is charged with it (an ``error`` once
        charged :data:`_MAX_ATTEMPTS` times), and its unfinished programs run again, each alone, on a
        new template."""
        if template.layers is None:
            self._templates.remove(template)
            template.kill()
            raise RuntimeError("a program executor template failed to start; `mixdistill doctor` shows why")
        unfinished = list(template.chunk)
        template.chunk.clear()
        if unfinished:
            running = unfinished[0]
            attempts[running] += 1
            if attempts[running] >= _MAX_ATTEMPTS:
                results[running] = Outcome("error", None, "its sandbox process failed")
                unfinished.pop(0)
        queues[template.kind].extendleft([index] for index in reversed(unfinished))
        self._replace(template)

    def _replace(self, template: _Template) -> None:
        template.kill()
        self.restarts += 1
        self._templates[self._templates.index(template)] = _Template(
            template.kind, self._config, self._spec.landlock_fd)
