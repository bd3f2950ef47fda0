"""The executor's template process: one fresh, contained child per program, forked from a pristine state.

Started by :mod:`mixdistill_plugin.executor` as ``python -I -S`` in its own session, with a clean
environment. It imports the modules programs of its kind may use (:data:`MODULES`: ``light`` for
programs that import nothing, ``base`` for the standard library, ``sci`` for numpy and sympy too),
exercises their lazily loaded parts, enters new user and network namespaces where it can, and then serves batches. The
template never runs model code: for each program it forks a child, which

1. dies with the template (``PR_SET_PDEATHSIG``), sets its rlimits, closes every descriptor but
   its result pipe, enters the Landlock domain and loads the seccomp program
   (:mod:`mixdistill_plugin.containment`), in that order, before it compiles the program;
2. runs the program with a timer, takes its answer (``solution()``, ``ans``/``answer``/``result``,
   or the last printed line) and writes one JSON result to its pipe, then exits at once.

The template reads at most :data:`RESULT_LIMIT` bytes from that pipe, kills the child at the
deadline, and forwards the raw bytes with the exit status; the scoring process validates them
(it trusts nothing a child wrote). Nothing a program does can reach the next one: each starts from
the template's memory as it was before any program ran.

Messages on both pipes are a 4-byte big-endian length and a body. From the executor: JSON
``[timeout, [program, ...]]``. To the executor: ``b"J" + JSON`` once (the layers in force), then
per program ``b"R" + struct(">Hib", index, exit code, flags) + raw result``.
"""

from __future__ import annotations

import builtins
import ctypes
import errno
import gc
import json
import math
import os
import re
import resource
import select
import signal
import struct
import sys
import time
import warnings
from json.encoder import encode_basestring_ascii as _json_string

MODULES = {
    "light": (),
    "base": ("math", "cmath", "fractions", "decimal", "statistics", "itertools", "functools", "collections",
             "datetime", "re", "operator", "random", "string", "heapq", "bisect", "typing", "numbers",
             "calendar", "time", "copy", "enum", "array", "dataclasses"),
    "sci": ("numpy", "sympy"),
}
ANSWER_VARIABLES = ("ans", "answer", "result")
OUTPUT_LIMIT = 16_384
RESULT_LIMIT = 1 << 18
SOURCE_LIMIT = 100_000
TIMED_OUT, OVERSIZED = 1, 2
SETUP_FAILED = 71  # exit code of a child whose containment could not be applied
RESULT_HEADER = struct.Struct(">Hib")

_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 38, 22, 2
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_RESTRICT_SELF = 444, 446
_CLONE_NEWUSER, _CLONE_NEWNET, _CLONE_NEWIPC, _CLONE_NEWUTS = 0x10000000, 0x40000000, 0x08000000, 0x04000000
_FENCE_RE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_LONE_FENCE_RE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)


class _Timeout(BaseException):
    """Raised by the interval timer inside a program that runs too long."""


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _Template:
    """The template's configuration and the containment it hands to each child."""

    def __init__(self, config: dict, landlock_fd: int | None) -> None:
        self.memory = config["memory_mb"] * 1024 * 1024
        self.memory_limit = resource.RLIM_INFINITY  # set by main() once the modules are loaded
        self.landlock_fd = landlock_fd
        self.pid = os.getpid()
        self.linux = sys.platform.startswith("linux")
        libc = ctypes.CDLL(None, use_errno=True)
        # resolved here, once: a symbol looked up in each child would cost every program its time
        self.prctl, self.syscall, self.unshare = (getattr(libc, name, None) for name in ("prctl", "syscall", "unshare"))
        self.filters = {name: _filter(config.get(name)) for name in ("template_bpf", "child_bpf")}
        self.namespaces = _enter_namespaces(self.unshare) if config.get("namespaces", True) and self.linux else ()
        self.landlock_abi = max(self.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, 0, 1), 0) if landlock_fd else 0
        self.seccomp = False

    def lock_down(self) -> None:
        """Limits and the allowlist on the template itself (it needs no file any more): children inherit them.

        Only the CPU limit is set per child: a child's CPU clock starts at zero, the template's does not.
        """
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_limit, self.memory_limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # the template writes only to pipes
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.linux and self.filters["template_bpf"] and self.filters["child_bpf"]:
            self.seccomp = (self.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                            and self.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self.filters["template_bpf"][1]) == 0)

    def contain(self, result_fd: int, timeout: float) -> dict:
        """Apply the per-child layers to this (child) process; raise if one that exists fails."""
        if self.linux:
            self.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.pid:
            os._exit(SETUP_FAILED)
        cpu = math.ceil(timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        applied = {"rlimits": resource.getrlimit(resource.RLIMIT_FSIZE) == (0, 0), "seccomp": False, "landlock": 0}
        if self.linux and not self.seccomp and self.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if self.landlock_fd is not None:
            if self.syscall(_SYS_LANDLOCK_RESTRICT_SELF, self.landlock_fd, 0) != 0:
                raise OSError(ctypes.get_errno(), "landlock_restrict_self")
            applied["landlock"] = self.landlock_abi
        os.closerange(3, result_fd)
        os.closerange(result_fd + 1, 1 << 16)
        if self.seccomp:
            if self.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self.filters["child_bpf"][1]) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
            applied["seccomp"] = True
        return applied


def _filter(hex_program: str | None) -> tuple[ctypes.Array, ctypes.Structure] | None:
    """A ``struct sock_fprog`` for a BPF program given in hex (with the buffer it points into)."""
    if not hex_program:
        return None
    program = bytes.fromhex(hex_program)
    buffer = ctypes.create_string_buffer(program, len(program))
    return buffer, ctypes.pointer(_SockFprog(len(program) // 8, ctypes.addressof(buffer)))


def _mapped_bytes() -> int:
    """This process's virtual memory size (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _enter_namespaces(unshare) -> tuple[str, ...]:
    """New user, network, IPC and UTS namespaces for the template and its children, if allowed."""
    if unshare is not None and unshare(_CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS) == 0:
        return ("user", "net", "ipc", "uts")
    return ()


def _exit(code: object = None) -> None:
    raise SystemExit(code)


def _preload(kind: str) -> None:
    """Import what programs may use and touch what those modules load lazily, while files can be read."""
    builtins.exit = builtins.quit = _exit  # what ``site`` would add; programs call exit()
    if kind == "light":
        return
    for name in MODULES["base"] + (MODULES["sci"] if kind == "sci" else ()):
        __import__(name)
    import datetime
    import decimal

    datetime.datetime.strptime("2024-03-05 10:30", "%Y-%m-%d %H:%M").strftime("%A %B %d")
    time.strptime("5 Mar 2024", "%d %b %Y")
    str(decimal.Decimal("1.10") * 3) + f"{1234567.891:,.2f}" + "%e" % 1.5
    "straße".upper().encode("utf-8").decode("utf-8")
    if kind == "sci":
        import numpy as np
        import sympy

        str(np.linalg.solve(np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([3.0, 5.0])).round(2).tolist())
        float(np.mean(np.arange(10)) + np.sqrt(2.0) + np.percentile([1, 2, 3], 50))
        x, y = sympy.symbols("x y")
        sympy.solve([sympy.Eq(2 * x + y, 7), x - y - 2], [x, y])
        sympy.solve(sympy.Eq(x**2 - 4, 0), x)
        str(sympy.simplify((x**2 - 1) / (x - 1)) + sympy.Rational(1, 3) + sympy.sqrt(8))
        float(sympy.N(sympy.pi * 2)) + float(sympy.nsimplify(0.25)) + float(sympy.factorial(5))
        str(sympy.factor(x**2 - 1)) + str(sympy.expand((x + 1) ** 3)) + str(sympy.Integer(7) / 2)
        sympy.linsolve([x + y - 3, x - y - 1], x, y)
        sympy.floor(sympy.Rational(7, 2)) + sympy.ceiling(sympy.Rational(7, 2)) + sympy.gcd(12, 18)


class _CappedOutput:
    """A write-only text stream that keeps the first :data:`OUTPUT_LIMIT` characters and the last line."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.size = 0
        self.tail = ""

    def write(self, text: str) -> int:
        text = str(text)
        if self.size < OUTPUT_LIMIT:
            self.head.append(text[: OUTPUT_LIMIT - self.size])
        self.size += len(text)
        self.tail = (self.tail + text)[-1024:]
        return len(text)

    def flush(self) -> None:
        pass

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


def _answer_value(namespace: dict, out: _CappedOutput) -> float | str | None:
    """The program's answer: a number, or a text the executor reads a number from."""
    solution = namespace.get("solution")
    if callable(solution) and getattr(getattr(solution, "__code__", None), "co_argcount", 1) == 0:
        value = solution()
        if value is not None:
            return _plain(value)
    for name in ANSWER_VARIABLES:
        if name in namespace and not callable(namespace[name]):
            return _plain(namespace[name])
    return out.last_line() or None


def _plain(value: object) -> float | str | None:
    """A number (``float()`` of any numeric type) or a short text; one-element containers unwrapped."""
    if isinstance(value, (dict, list, tuple, set, frozenset)) and len(value) == 1:
        return _plain(next(iter(value.values() if isinstance(value, dict) else value)))
    if isinstance(value, str):
        return value[:1000]
    if isinstance(value, bool) or not hasattr(value, "__float__"):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def compile_program(source: str) -> tuple[object, list | None]:
    """``(code, None)``, or ``(None, result)`` for a program that does not compile.

    Runs in the template: compiling only parses (no program code runs), and in a fresh child it
    would cost a millisecond of page faults per program. Source is capped at :data:`SOURCE_LIMIT`.
    """
    if len(source) > SOURCE_LIMIT:
        return None, ["error", None, "ProgramTooLong", ""]
    try:
        return compile(strip_fences(source), "<program>", "exec", dont_inherit=True), None
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        return None, ["error", None, type(exc).__name__, ""]


def run_program(code: object, timeout: float) -> list:
    """Run compiled program ``code`` in this process: ``[status, answer, detail, output]``, the answer a
    number or a text to read one from (see ``executor.parse_result``). SIGALRM must call :func:`_on_alarm`."""
    out = _CappedOutput()
    result: list = ["no_answer", None, "", ""]
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        sys.stdout = sys.stderr = out
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        try:
            exec(code, namespace)
        except SystemExit:
            pass
        value = _answer_value(namespace, out)
        if value is not None:
            result = ["answer", value, "", ""]
    except _Timeout:
        result = ["timeout", None, f"over {timeout:g}s", ""]
    except OSError as exc:
        status = "blocked" if exc.errno in (errno.EPERM, errno.EACCES) else "error"
        result = [status, None, f"{type(exc).__name__}: {exc}"[:200], ""]
    except BaseException as exc:  # the program's own failure, whatever it is
        result = ["error", None, type(exc).__name__, ""]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    result[3] = "".join(out.head)
    return result


def encode_result(result: list) -> bytes:
    """``result`` as a JSON array, without the encoder machinery (a child pays for every page it touches)."""
    status, answer, detail, output = result
    if isinstance(answer, float):
        value = repr(answer)  # finite: _plain never returns inf or nan
    else:
        value = "null" if answer is None else _json_string(answer)
    return f'["{status}",{value},{_json_string(detail)},{_json_string(output)}]'.encode()


def _child(template: _Template, code: object, timeout: float, result_fd: int) -> None:
    """The forked child: contain itself, run the program, write its result, exit. Never returns."""
    try:
        template.contain(result_fd, timeout)
    except BaseException:
        os._exit(SETUP_FAILED)
    try:
        try:
            result = run_program(code, timeout)
        except _Timeout:  # the timer fired between the program's end and its cancellation
            result = ["timeout", None, f"over {timeout:g}s", ""]
        data = memoryview(encode_result(result))
        while data:
            data = data[os.write(result_fd, data):]
    finally:
        os._exit(0)


def _wait_child(pid: int, result_r: int, deadline: float, parent_fd: int) -> tuple[int, int, bytes]:
    """Collect a child's result until it has exited and closed its pipe, or kill it at the deadline."""
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    poller = select.poll()
    poller.register(result_r, select.POLLIN)
    poller.register(parent_fd, 0)  # POLLHUP: the executor is gone
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    chunks, size, flags, status = [], 0, 0, None
    open_pipe, running = True, True
    while open_pipe or running:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            flags |= TIMED_OUT
            break
        if pidfd is None and not open_pipe:  # no pidfd (not Linux): look every 5 ms
            reaped, status = os.waitpid(pid, os.WNOHANG)
            running = reaped == 0
            if not running:
                break
            remaining = min(remaining, 0.005)
        for fd, _event in poller.poll(max(remaining, 0) * 1000):
            if fd == result_r:
                data = os.read(result_r, 1 << 16)
                if not data:
                    open_pipe = False
                    poller.unregister(result_r)
                size += len(data)
                chunks.append(data)
            elif fd == pidfd:
                running = False
                poller.unregister(pidfd)
            else:
                os.kill(pid, signal.SIGKILL)
                os._exit(0)
        if size > RESULT_LIMIT:
            flags |= OVERSIZED
            break
    if flags:
        os.kill(pid, signal.SIGKILL)
    if status is None or running:
        status = os.waitpid(pid, 0)[1]
    if pidfd is not None:
        os.close(pidfd)
    return os.waitstatus_to_exitcode(status), flags, b"".join(chunks)[:RESULT_LIMIT]


def run_contained(template: _Template, source: str, timeout: float, grace: float,
                  parent_fd: int) -> tuple[int, int, bytes]:
    """Fork a child for ``source``: ``(exit code, flags, raw result bytes)``."""
    code, failed = compile_program(source)
    if failed is not None:
        return 0, 0, encode_result(failed)
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(result_r)
        _child(template, code, timeout, result_w)
    os.close(result_w)
    try:
        return _wait_child(pid, result_r, time.monotonic() + timeout + grace, parent_fd)
    finally:
        os.close(result_r)


def write_frame(fd: int, body: bytes) -> None:
    data = memoryview(struct.pack(">I", len(body)) + body)
    while data:
        data = data[os.write(fd, data):]


def read_frame(fd: int) -> bytes | None:
    """One framed message from ``fd``; ``None`` at end of file."""
    header = _read_exact(fd, 4)
    return None if header is None else _read_exact(fd, struct.unpack(">I", header)[0])


def _read_exact(fd: int, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        part = os.read(fd, n - len(data))
        if not part:
            return None
        data += part
    return data


def _probe(template: _Template, grace: float) -> dict:
    """Apply the containment in a throwaway child and report what took effect."""
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(result_r)
        try:
            applied = template.contain(result_w, 1.0)
            os.write(result_w, json.dumps(applied).encode())
        finally:
            os._exit(0)
    os.close(result_w)
    data = b""
    while part := os.read(result_r, 1 << 12):
        data += part
    os.close(result_r)
    os.waitpid(pid, 0)
    applied = json.loads(data) if data else {"rlimits": False, "seccomp": False, "landlock": 0}
    return applied | {"namespaces": list(template.namespaces)}


def main(read_fd: int, write_fd: int, landlock_fd: int | None) -> None:
    """Read the configuration, prepare, report the layers, then serve batches until the pipe closes."""
    config = json.loads(read_frame(read_fd))
    template = _Template(config, landlock_fd)
    _preload(config["kind"])
    template.memory_limit = _mapped_bytes() + template.memory  # a program gets memory_mb on top
    template.lock_down()
    grace = config["grace"]
    write_frame(write_fd, b"J" + json.dumps(_probe(template, grace)).encode())
    signal.signal(signal.SIGALRM, _on_alarm)  # inherited by every child; the template sets no timer
    warnings.simplefilter("ignore")  # compiling a program may warn; nobody would read it
    gc.collect()
    gc.freeze()  # children then leave the template's objects (and their pages) untouched
    while (request := read_frame(read_fd)) is not None:
        timeout, programs = json.loads(request)
        for index, source in enumerate(programs):
            code, flags, raw = run_contained(template, source, timeout, grace, read_fd)
            write_frame(write_fd, b"R" + RESULT_HEADER.pack(index, code, flags) + raw)
