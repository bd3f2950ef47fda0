"""What contains a model-written program, built once in the scoring process.

Every program runs in a fresh child process forked from a template (:mod:`mixdistill_plugin.template`)
and, before its first line runs, the child puts itself under these kernel mechanisms, none of
which a process can undo once applied:

- ``seccomp``: a syscall allowlist compiled by libseccomp (through ``pyseccomp``). Anything else
  fails with ``EPERM``: no ``fork``/``clone``/``execve`` (so no processes and no threads), no
  sockets, no signals (``kill``, ``tgkill``, ``pidfd_*``), no ``setpriority``, ``prlimit`` only to
  read its own limits, and no path-based file call at all (``open``, ``stat``, ``mknod``, ``chmod``,
  ``setxattr``, ``uname``, ...). ``no_new_privs`` comes with it. This is the required minimum. The
  template loads the allowlist once, with the few calls it needs to fork and reap children added
  (it never runs model code, and never opens a file again); each child inherits it and loads a
  second, small filter that takes those calls away, since the kernel compiles a filter per load.
- ``landlock``: a domain with no filesystem rights, TCP bind/connect refused and, from ABI 6,
  signals and abstract UNIX sockets scoped to the child itself (through ``landlockpy``).
- ``namespaces``: new user and network namespaces for the template and its children, where the
  system allows unprivileged ones.
- ``rlimits``: address space, CPU seconds, no file growth, no core dumps.

:func:`build` returns the seccomp program and the Landlock ruleset; the template reports which
layers it could apply (:class:`Layers`), and the executor refuses to run programs without seccomp
unless told otherwise (``allow_weak=True`` or ``MIXDISTILL_ALLOW_WEAK_SANDBOX=1``).
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass, field

from mixdistill_plugin.errors import UserError

WEAK_ENV = "MIXDISTILL_ALLOW_WEAK_SANDBOX"
REQUIRED = ("seccomp",)

# What a running Python program needs once its modules are loaded: memory, time, signals for its
# own timer, and reads and writes on descriptors it already holds.
ALLOWED_SYSCALLS = (
    "read", "write", "readv", "writev", "close", "lseek", "fcntl", "dup", "dup3",
    "mmap", "munmap", "mprotect", "mremap", "brk", "madvise",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "sigaltstack", "restart_syscall",
    "setitimer", "getitimer", "alarm",
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    "futex", "sched_yield", "sched_getaffinity", "getrandom",
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getrusage", "times",
    "poll", "ppoll", "select", "pselect6",
    "exit", "exit_group",
)
# What the template needs on top, to fork, contain and reap its children; each child takes these
# away from itself (it may read its own limits only).
TEMPLATE_SYSCALLS = (
    "clone", "set_robust_list", "wait4", "waitid", "kill", "pidfd_open", "pipe2",
    "prctl", "landlock_restrict_self", "close_range",
)

# What each layer stops, as `mixdistill doctor` and the documentation list it.
LAYER_STOPS = {
    "fresh process per program": "state left by one program (monkeypatching, threads, finalizers, atexit, "
                                 "globals) reaching another; crashes of the scorer through a worker",
    "seccomp": "new processes, threads and exec (fork, clone, system(), fork_exec); sockets; signals, priority and "
               "limit changes to any process; every path-based file call (open, stat, mknod, mkfifo, setxattr, "
               "chmod, ...); uname; ptrace and other process inspection",
    "landlock": "file reads, writes and creation anywhere (a second wall behind seccomp); TCP bind/connect; "
                "signals and abstract UNIX sockets outside the program's own process (ABI 6+)",
    "namespaces": "network interfaces (the network namespace is empty); privileges outside the sandbox",
    "rlimits": "memory bombs, CPU loops that catch the timer, file growth, core dumps",
}

LAYER_HELP = {
    "seccomp": "install libseccomp (Debian/Ubuntu: libseccomp2; it is part of most systemd systems) "
               "on a Linux kernel with seccomp filters; inside a container, allow seccomp (and "
               "no_new_privs) in its security profile",
    "landlock": "use a Linux kernel >= 5.13 with Landlock in its LSM list (CONFIG_LSM or the lsm= boot option)",
    "namespaces": "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on "
                  "Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0)",
}


class SandboxUnavailable(UserError, RuntimeError):
    """A required containment layer is missing and weaker containment was not allowed."""


@dataclass(frozen=True)
class Layers:
    """The containment layers a template applied to its probe child, and why others are missing."""

    seccomp: bool = False
    landlock: int = 0  # the Landlock ABI in force, 0 when none
    namespaces: tuple[str, ...] = ()
    rlimits: bool = False
    missing: dict[str, str] = field(default_factory=dict)

    def active(self) -> list[str]:
        return [name for name, on in (
            ("fresh process per program", True),
            ("seccomp allowlist + no_new_privs", self.seccomp),
            (f"landlock ABI {self.landlock}", self.landlock > 0),
            (f"namespaces ({', '.join(self.namespaces)})", bool(self.namespaces)),
            ("rlimits", self.rlimits),
        ) if on]

    def summary(self) -> str:
        missing = [name for name in ("seccomp", "landlock", "namespaces") if name in self.missing]
        return "program sandbox: " + ", ".join(self.active()) + (
            f"; missing: {', '.join(missing)}" if missing else "")

    def below_minimum(self) -> list[str]:
        return [name for name in REQUIRED if not getattr(self, name)]

    def refusal(self) -> str:
        lines = [f"The program sandbox cannot start: {', '.join(self.below_minimum())} unavailable."]
        for name in self.below_minimum():
            lines.append(f"  {name}: {self.missing.get(name, 'not applied')}. To enable it: {LAYER_HELP[name]}.")
        lines.append(f"  To run model-written programs with less containment anyway, pass --allow-weak-sandbox "
                     f"or set {WEAK_ENV}=1 (only for programs you trust).")
        return "\n".join(lines)


@dataclass
class Spec:
    """The seccomp programs (the template's allowlist, each child's restriction) and the Landlock ruleset."""

    template_bpf: bytes | None
    child_bpf: bytes | None
    landlock_fd: int | None
    problems: dict[str, str]

    def close(self) -> None:
        if self.landlock_fd is not None:
            os.close(self.landlock_fd)
            self.landlock_fd = None


def build() -> Spec:
    """Compile the seccomp allowlist and create the Landlock ruleset, noting what is unavailable."""
    problems: dict[str, str] = {}
    template_bpf = child_bpf = landlock_fd = None
    try:
        template_bpf, child_bpf = seccomp_programs()
    except Exception as exc:  # no libseccomp, or a platform without seccomp
        problems["seccomp"] = f"libseccomp could not build a filter ({type(exc).__name__}: {exc})"
    try:
        landlock_fd = landlock_ruleset()
    except Exception as exc:
        problems["landlock"] = f"no Landlock ruleset ({type(exc).__name__}: {exc})"
    return Spec(template_bpf, child_bpf, landlock_fd, problems)


def seccomp_programs() -> tuple[bytes, bytes]:
    """The template's allowlist and each child's restriction, as classic BPF programs for this architecture."""
    import pyseccomp as seccomp

    def rule(rules, action, name: str, *args) -> None:
        try:
            rules.add_rule(action, name, *args)
        except (RuntimeError, ValueError, OSError):  # not a syscall on this architecture
            pass

    template = seccomp.SyscallFilter(seccomp.ERRNO(errno.EPERM))
    for name in ALLOWED_SYSCALLS + TEMPLATE_SYSCALLS:
        rule(template, seccomp.ALLOW, name)
    rule(template, seccomp.ALLOW, "prlimit64", seccomp.Arg(0, seccomp.EQ, 0))  # its own limits only
    rule(template, seccomp.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone
    child = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in TEMPLATE_SYSCALLS:
        rule(child, seccomp.ERRNO(errno.EPERM), name)
    rule(child, seccomp.ERRNO(errno.EPERM), "prlimit64", seccomp.Arg(2, seccomp.NE, 0))  # read, never set
    return _bpf(template), _bpf(child)


def _bpf(rules) -> bytes:
    with tempfile.TemporaryFile() as handle:
        rules.export_bpf(handle)
        handle.seek(0)
        return handle.read()


def landlock_ruleset() -> int:
    """A Landlock ruleset granting nothing: every filesystem right and TCP handled, signals scoped."""
    import landlockpy

    if not landlockpy.supported():
        raise OSError("the kernel has no Landlock, or it is disabled")
    ruleset = landlockpy.Ruleset(scoped=landlockpy.Scope.SIGNAL | landlockpy.Scope.ABSTRACT_UNIX_SOCKET)
    return os.dup(ruleset.fileno())  # ours to pass on; the Ruleset object closes its own


def allow_weak_from_env() -> bool:
    return os.environ.get(WEAK_ENV, "").strip().lower() in ("1", "true", "yes")
