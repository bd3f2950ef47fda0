"""The inside of an executor worker: runs model-written programs one after another.

Started by :mod:`mixdistill_plugin.executor` as ``python -I`` in its own process session. It reads
batches of programs from one pipe and writes one result per program to another, each message a
4-byte big-endian length and a JSON body (JSON, so that nothing a program writes into the pipe
can run code in the parent). Containment, from the outside in:

- the process boundary: the parent kills and replaces a worker that stops answering;
- resource limits: address space (memory cap), no file growth (``RLIMIT_FSIZE=0``), no core dumps;
- an audit hook (PEP 578) that, while a program runs, refuses process creation, signals to other
  processes, sockets, file writes, reads outside the Python installation, ``ctypes`` and ``gc``
  introspection, whatever route the program took to reach them;
- restricted builtins: imports limited to :data:`ALLOWED_IMPORTS`, no ``open``/``input``/``eval``/
  ``exec``/``compile``/``vars``/``globals``, ``getattr`` and friends refuse dunder names;
- a source check that refuses introspection escapes (``__subclasses__``, ``__globals__``, frame
  attributes, ...) before the program runs;
- ``setitimer`` interrupts Python-level loops at the timeout; stdout is captured and truncated.

It is containment for model-written arithmetic, not a jail for an adversary: run untrusted code
at scale inside a container as well.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import resource
import signal
import struct
import sys
import types

from mixdistill_plugin.answers import extract_answer, to_answer

ALLOWED_IMPORTS = frozenset(
    {
        "math", "cmath", "fractions", "decimal", "statistics", "itertools", "functools",
        "collections", "datetime", "re", "sympy", "numpy", "scipy", "operator", "random",
        "string", "heapq", "bisect", "typing", "dataclasses", "numbers", "calendar", "time",
        "copy", "enum", "array",
    }
)
PRELOAD = ("numpy", "sympy")
ANSWER_VARIABLES = ("ans", "answer", "result")
OUTPUT_LIMIT = 16_384
_FENCE_RE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_LONE_FENCE_RE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_DUNDER_RE = re.compile(r"__\w+__")
_ALLOWED_DUNDERS = frozenset(
    "__name__ __main__ __init__ __str__ __repr__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ "
    "__hash__ __len__ __add__ __sub__ __mul__ __truediv__ __floordiv__ __mod__ __pow__ __neg__ "
    "__abs__ __iter__ __next__ __contains__ __getitem__ __setitem__ __call__ __bool__ __float__ "
    "__int__ __round__ __doc__ __slots__ __post_init__ __enter__ __exit__ __radd__ __rmul__".split()
)
_FRAME_ATTR_RE = re.compile(r"\b(?:f_globals|f_locals|f_builtins|f_back|f_code|gi_frame|cr_frame|ag_frame|tb_frame|co_code)\b")
_BLOCKED_EVENTS = (
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "subprocess.",
    "pty.", "os.kill", "os.killpg", "signal.pthread_kill", "socket.", "os.remove", "os.rmdir",
    "os.rename", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.link", "os.symlink",
    "os.utime", "os.chdir", "os.putenv", "os.unsetenv", "shutil.", "ctypes.", "gc.get_",
    "sys.addaudithook", "builtins.input", "os.setuid", "os.setgid", "resource.setrlimit",
    "urllib.", "http.", "ftplib.", "smtplib.", "webbrowser.", "sqlite3.", "mmap.",
)
_BLOCKED_BUILTINS = ("open", "input", "eval", "exec", "compile", "vars", "globals", "locals",
                     "breakpoint", "help", "memoryview", "__loader__", "__spec__", "__build_class__")


class _Timeout(BaseException):
    """Raised by the interval timer inside a program that runs too long."""


class Blocked(BaseException):
    """Raised when a program reaches for something it may not use."""


class _State:
    active = False
    blocked: str | None = None
    read_roots: tuple[str, ...] = ()


def _block(what: str) -> None:
    if _State.blocked is None:
        _State.blocked = what
    raise Blocked(what)


def _audit(event: str, args: tuple) -> None:
    if not _State.active:
        return
    if event == "open":
        path, mode = args[0], args[1]
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC):
            writing = True
        if writing or not _readable(path):
            _block(f"open {path!r}")
    elif event in ("os.listdir", "os.scandir"):
        if not _readable(args[0]):
            _block(f"{event} {args[0]!r}")
    elif event.startswith(_BLOCKED_EVENTS):
        _block(event)


def _readable(path: object) -> bool:
    if isinstance(path, int):
        return False
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    real = os.path.realpath(str(path))
    return any(real == root or real.startswith(root + os.sep) for root in _State.read_roots)


def _check_source(source: str) -> str | None:
    for match in _DUNDER_RE.finditer(source):
        if match.group(0) not in _ALLOWED_DUNDERS:
            return f"attribute {match.group(0)}"
    match = _FRAME_ATTR_RE.search(source)
    return f"attribute {match.group(0)}" if match else None


_module_snapshots: dict[str, dict] = {}


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    top = name.partition(".")[0]
    if level != 0 or top not in ALLOWED_IMPORTS:
        _block(f"import {name}")
    module = __import__(name, None, None, fromlist, 0)
    if fromlist or "." in name:
        return module
    # `import math` gets a private copy, so `math.pi = 3` does not leak into the next program.
    snapshot = _module_snapshots.setdefault(name, dict(module.__dict__))
    copy = types.ModuleType(name)
    copy.__dict__.update(snapshot)
    return copy


def _refuse_dunder(name: object, what: str) -> None:
    if isinstance(name, str) and name.startswith("__") and name not in _ALLOWED_DUNDERS:
        _block(f"{what} {name}")


def _refusing_dunders(function, what: str):
    """``function(obj, name, ...)`` that refuses dunder names (``getattr(x, "__globals__")``)."""

    def guarded(obj, name, *rest):
        _refuse_dunder(name, what)
        return function(obj, name, *rest)

    return guarded


def _exit(code=None):
    raise SystemExit(code)


def _blocked_builtin(name: str):
    def refuse(*args, **kwargs):
        _block(name)

    return refuse


def _safe_builtins() -> dict:
    safe = {k: v for k, v in vars(builtins).items() if not k.startswith("_")}
    for name in _BLOCKED_BUILTINS:
        safe[name] = _blocked_builtin(name)
    safe.update(
        __import__=_guarded_import, __build_class__=builtins.__build_class__, __name__="builtins",
        **{f.__name__: _refusing_dunders(f, f.__name__) for f in (getattr, setattr, delattr, hasattr)},
        exit=_exit, quit=_exit,
    )
    return safe


class _CappedOutput:
    """A write-only text stream that keeps the first and last part of what is printed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head: list[str] = []
        self.size = 0
        self.tail = ""

    def write(self, text: str) -> int:
        text = str(text)
        if self.size < self.limit:
            self.head.append(text[: self.limit - self.size])
        self.size += len(text)
        self.tail = (self.tail + text)[-1024:]
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self.head)

    def last_line(self) -> str:
        lines = [line for line in self.tail.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def strip_fences(program: str) -> str:
    """The code inside the first markdown fence of ``program``; else ``program`` less lone fence lines."""
    match = _FENCE_RE.search(program)
    if match:
        return match.group(1)
    return _LONE_FENCE_RE.sub("", program)


def _on_alarm(signum, frame):
    raise _Timeout


def run_program(source: str, timeout: float, safe_builtins: dict) -> tuple[str, float | None, str, str]:
    """Run one program: ``(outcome, answer, detail, output)``; see :class:`executor.Outcome`."""
    code_text = strip_fences(source)
    reason = _check_source(code_text)
    if reason:
        return "blocked", None, reason, ""
    try:
        code = compile(code_text, "<program>", "exec")
    except (SyntaxError, ValueError) as exc:
        return "error", None, type(exc).__name__, ""
    out = _CappedOutput(OUTPUT_LIMIT)
    namespace = {"__builtins__": dict(safe_builtins), "__name__": "__main__"}
    outcome: tuple[str, float | None, str] = ("no_answer", None, "")
    _State.blocked = None
    try:
        sys.stdout = sys.stderr = out
        _State.active = True
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(code, namespace)
        except SystemExit:
            pass
        value = _answer_value(namespace, out)
        outcome = ("no_answer", None, "") if value is None else ("answer", value, "")
    except _Timeout:
        outcome = ("timeout", None, f"over {timeout:g}s")
    except Blocked as exc:
        outcome = ("blocked", None, str(exc))
    except BaseException as exc:  # the program's own failure, whatever it is
        outcome = ("error", None, type(exc).__name__)
    finally:
        _end_program()
    if _State.blocked is not None:
        outcome = ("blocked", None, _State.blocked)
    return (*outcome, out.text())


def _end_program() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    _State.active = False
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _answer_value(namespace: dict, out: _CappedOutput) -> float | None:
    solution = namespace.get("solution")
    if isinstance(solution, types.FunctionType) and solution.__code__.co_argcount == 0:
        value = solution()
        if value is not None:
            return to_answer(value)
    for name in ANSWER_VARIABLES:
        if name in namespace and not callable(namespace[name]):
            return to_answer(namespace[name])
    line = out.last_line()
    return extract_answer(line) if line else None


def _limit_resources(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _on_alarm)


def read_message(fd: int) -> object | None:
    """One framed JSON message from ``fd``; ``None`` at end of file."""
    header = _read_exact(fd, 4)
    if header is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body)


def _read_exact(fd: int, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        part = os.read(fd, n - len(data))
        if not part:
            return None
        data += part
    return data


def write_message(fd: int, message: object) -> None:
    """Write ``message`` to ``fd`` as one framed JSON message."""
    body = json.dumps(message).encode()
    data = memoryview(struct.pack(">I", len(body)) + body)
    while data:
        data = data[os.write(fd, data):]


def main(read_fd: int, write_fd: int, memory_mb: int) -> None:
    """Serve batches of ``[timeout, [program, ...]]`` until the parent closes the pipe."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.update(os.path.realpath(p) for p in sys.path if p and os.path.isdir(p))
    _State.read_roots = tuple(sorted(roots))
    for name in PRELOAD:  # so that a program's first `import sympy` does not eat its time
        try:
            __import__(name)
        except ImportError:
            pass
    _limit_resources(memory_mb)
    sys.setrecursionlimit(3000)
    safe = _safe_builtins()
    sys.addaudithook(_audit)
    write_message(write_fd, "ready")
    while (request := read_message(read_fd)) is not None:
        timeout, programs = request
        for source in programs:
            try:
                result = run_program(source, timeout, safe)
            except _Timeout:  # the timer fired between the program's end and its cancellation
                _end_program()
                result = ("timeout", None, f"over {timeout:g}s", "")
            write_message(write_fd, result)
