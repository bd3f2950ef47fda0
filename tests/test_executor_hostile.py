"""Hostile programs against the PoT executor, with containment checked from outside the sandbox.

Each attack is a program that tries to do something outside its sandbox: start processes that
outlive the scorer, switch the executor's own guards off, use syscalls that have no audit event,
read files and other processes' memory maps or environment, change the answers of later programs,
reach the network, signal other processes, exhaust resources, or confuse the scorer through the
result channel. For each one this file checks, from this process, that

1. the effect did not happen: the marker file is absent, the canary folder is unchanged, no
   listener got a connection or a datagram, the sentinel process is alive, running, unsignalled
   and unchanged (nice value, limits, CPU affinity), no process with the attack's marker in its
   command line is left once the scorer has exited, and no secret shows up in any outcome;
2. normal programs run right after it by the same :class:`Executor` get their right answers.

The executor runs inside a separate scorer process (``_SCORER`` below) that uses the public API
and writes the outcomes to a file, so that an attack that kills its parent or its process group
kills the scorer, not pytest; a scorer that did not finish is a failure of every attack it ran.
The attacks aim only at targets made here: temporary folders, sentinel processes started here,
listeners on 127.0.0.1 and abstract Unix sockets opened here. Their loops are bounded, and the
processes they would start are ``sleep`` commands of 45 seconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # about a minute: `make test` runs it, `make test-fast` does not

REPO = Path(__file__).resolve().parent.parent
SECRET_NAME = "MIXDISTILL_HOSTILE_SECRET"
STATUSES = {"answer", "no_answer", "error", "timeout", "blocked", "protocol_error"}
SPOOF = 99.0  # what the answer-spoofing attacks make later programs return
FORGED = 31337.0  # the answer in the result frames the channel attacks forge
RUN_LIMIT = 12.0  # seconds a run of one attack and a few normal programs may take
SHELL = shutil.which("sh") or "/bin/sh"
SLEEP = shutil.which("sleep") or "/bin/sleep"
SETSID = shutil.which("setsid") or "/usr/bin/setsid"
TGKILL = {"x86_64": 234, "aarch64": 131}.get(os.uname().machine)

# --------------------------------------------------------------------------------------------
# Program pieces. Templates use @NAME@ for values filled in here (as Python literals); the
# scorer replaces %SCORER_PID% with its own pid. No dunder or frame attribute is spelled out.

PRE = r"""
import fractions
sys = fractions.sys
B = sys.modules['builtins']
os = sys.modules['os']
D = lambda name: '_' * 2 + name + '_' * 2

def attempt(fn, *args):
    try:
        return fn(*args)
    except BaseException as exc:
        return exc

def ok(value):
    return not isinstance(value, BaseException)

def imp(name):
    if name in sys.modules:
        return sys.modules[name]
    return getattr(sys.modules['_frozen_importlib'], '_gcd_import')(name)

def scorer_pid():
    return attempt(int, '%SCORER_PID%')
"""

# For the routes that do not go through fractions.sys.
MINI = r"""
import operator
D = lambda name: '_' * 2 + name + '_' * 2

def attempt(fn, *args):
    try:
        return fn(*args)
    except BaseException as exc:
        return exc

def ok(value):
    return not isinstance(value, BaseException)

def scorer_pid():
    return attempt(int, '%SCORER_PID%')
"""

# Switches the old design's in-process guards off through sys.modules; nothing elsewhere.
DISARM = r"""
def disarm_namespace(ns):
    state = ns.get('_State') if isinstance(ns, dict) else None
    if state is not None:
        attempt(setattr, state, 'active', False)
        attempt(setattr, state, 'read_roots', tuple(state.read_roots) + ('',))

def disarm():
    for name in list(sys.modules):
        if name.startswith('mixdistill'):
            disarm_namespace(attempt(B.vars, sys.modules[name]))

disarm()
"""

# libc two ways: through ctypes and through cffi (the old design audited only ctypes). Each kit has the
# library, ``cast`` for variadic arguments, ``new(n)`` for a buffer and ``raw(buffer, n)``.
LIBC = r"""
def kits(decls):
    found = []
    ctypes = attempt(imp, 'ctypes')
    lib = attempt(ctypes.CDLL, None) if ok(ctypes) else ctypes
    if ok(lib):
        found.append(type('Kit', (), {'lib': lib, 'cast': staticmethod(lambda t, v: v),
                                      'new': staticmethod(ctypes.create_string_buffer),
                                      'raw': staticmethod(lambda b, n: b.raw[:n])}))
    def from_cffi():
        ffi = imp('cffi').FFI()
        ffi.cdef(decls)
        return type('Kit', (), {'lib': ffi.dlopen(None), 'cast': staticmethod(ffi.cast),
                                'new': staticmethod(lambda n: ffi.new('char[]', n)),
                                'raw': staticmethod(lambda b, n: ffi.buffer(b, n)[:])})
    kit = attempt(from_cffi)
    if ok(kit):
        found.append(kit)
    return found

def with_libc(decls, how):
    return [attempt(how, kit) for kit in kits(decls)]

def inet(port):
    return (2).to_bytes(2, sys.byteorder) + port.to_bytes(2, 'big') + bytes([127, 0, 0, 1]) + bytes(8)

def unix(name):
    return (1).to_bytes(2, sys.byteorder) + name
"""

GRAB = r"""
def read_os(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 20)
    finally:
        os.close(fd)

def grab(path):
    for how in (lambda: B.open(path, 'rb').read(), lambda: imp('io').open(path, 'rb').read(),
                lambda: read_os(path)):
        data = attempt(how)
        if isinstance(data, bytes):
            return data
    return None

def secret_in(data):
    for item in (data or b'').split(b'\0'):
        if item.startswith(@SECRET_NAME@.encode() + b'='):
            return item.split(b'=', 1)[1].decode()
    return None

def leak_environ(pids):
    leaks = []
    for pid in pids:
        if isinstance(pid, int):
            value = secret_in(grab('/proc/%d/environ' % pid))
            if value:
                leaks.append(value)
    if leaks:
        print('leaked', leaks)
        return float(leaks[0])
    return None
"""

# A sleep of 45 s whose command line carries the attack's marker, in a new session, after
# creating the attack's flag file.
SPAWN = r"""
def spawn_shell():
    return attempt(os.system, @CMD@)

def spawn_libc():
    return with_libc('int system(const char *command);', lambda kit: kit.lib.system(@CMD@))

def spawn_fork_exec():
    attempt(imp, 'numpy')  # which loads subprocess, so _posixsubprocess is there
    ps = imp('_posixsubprocess')
    r, w = os.pipe()
    argv = [@SHELLB@, b'-c', @SH@]
    for tail in ((False,), (), (False, False)):
        result = attempt(ps.fork_exec, argv, [@SHELLB@], True, (w,), None, None, -1, -1, -1, -1,
                         -1, -1, r, w, True, True, -1, None, None, None, -1, None, *tail)
        if not isinstance(result, TypeError):
            return result
"""

FRAMES = r"""
def walk(frame):
    found = []
    while frame is not None and len(found) < 64:
        found.append(frame)
        frame = getattr(frame, 'f_' + 'back')
    return found

def disarm_frames(frames):
    real_os = None
    for fr in frames:
        ns = getattr(fr, 'f_' + 'globals')
        state = ns.get('_State')
        if state is not None:
            attempt(setattr, state, 'active', False)
            attempt(setattr, state, 'read_roots', tuple(state.read_roots) + ('',))
        if real_os is None and hasattr(ns.get('os'), 'getppid'):
            real_os = ns['os']
    if real_os is None:  # the frames' own builtins can still import it
        bi = getattr(frames[-1], 'f_' + 'builtins')
        real_os = (bi.get if isinstance(bi, dict) else lambda n: getattr(bi, n))(D('import'))('os')
    return real_os
"""

CHANNEL = r"""
def frame(body):
    return len(body).to_bytes(4, 'big') + body

def spray(data):
    for fd in range(0, 64):
        attempt(os.write, fd, data)
"""

BOUNDED_LOOP = r"""
import time
end = time.monotonic() + 20
while time.monotonic() < end:
    try:
        while time.monotonic() < end:
            pass
    except BaseException:
        pass
"""


@dataclass(frozen=True)
class Attack:
    group: str
    name: str
    template: str
    sentinel: bool = False
    net: bool = False
    no_answer: bool = False  # an answer could only come from the escape itself
    forbidden: tuple[str, ...] = ()  # context values whose text must not show in its outcome


ATTACKS: list[Attack] = []


def attack(group: str, name: str, template: str, **flags) -> None:
    ATTACKS.append(Attack(group, name, template, **flags))


# --- processes that skip the audited calls, and code that runs after the program -----------
attack("process", "posixsubprocess_fork_exec", PRE + SPAWN + "spawn_fork_exec()\n")
attack("process", "cffi_libc_system", PRE + LIBC + SPAWN + r"""
ffi = imp('cffi').FFI()
ffi.cdef('int system(const char *command);')
ffi.dlopen(None).system(@CMD@)
""")
attack("process", "ctypes_libc_system", PRE + r"""
ctypes = attempt(imp, 'ctypes')
for how in (lambda: ctypes.CDLL(None).system(@CMD@), lambda: ctypes.CDLL('libc.so.6').system(@CMD@),
            lambda: ctypes.pythonapi.system(@CMD@)):
    if ok(attempt(how)):
        break
""")
attack("process", "finalizer_del_built_with_type", PRE + LIBC + SPAWN + r"""
def later(self):
    if not ok(spawn_shell()):
        spawn_libc()

Late = type('Late', (), {D('del'): later})
keep = Late()
loop = [Late()]
loop.append(loop)
attempt(lambda: imp('gc').set_threshold(1, 1, 1))  # collected soon after the program
# a finalizer that holds nothing of the program, on objects dropped after it or at exit
Quiet = type('Quiet', (), {D('del'): imp('functools').partial(os.system, @CMD@)})
attempt(setattr, sys.stdout, 'hostile_keep', Quiet())
sys.modules['math'].hostile_keep = Quiet()
""")
attack("process", "atexit_handler", PRE + LIBC + SPAWN + r"""
def at_exit():
    if not ok(spawn_shell()):
        spawn_libc()

imp('atexit').register(at_exit)
threading = sys.modules.get('threading')
if threading is not None:
    attempt(getattr(threading, '_register_atexit'), at_exit)
""")
attack("process", "thread_waits_for_gap", PRE + LIBC + SPAWN + r"""
import time
_thread = imp('_thread')

def lurk():
    end = time.monotonic() + 4.0
    while time.monotonic() < end:
        time.sleep(0.02)
        if isinstance(spawn_shell(), int):
            return

_thread.start_new_thread(lurk, ())
""")

# --- the executor's own guards, reached through allowed modules ------------------------------
attack("tamper", "sysmodules_disarm_then_tcp_connect", PRE + DISARM + r"""
raw = attempt(imp, '_socket')
s = attempt(raw.socket, 2, 1) if ok(raw) else raw
if ok(s):
    attempt(s.settimeout, 1.0)
    attempt(s.connect, ('127.0.0.1', @TCP@))
    attempt(s.sendall, b'escaped')
mod = attempt(imp, 'socket')
if ok(mod):
    attempt(mod.create_connection, ('127.0.0.1', @TCP@), 1.0)
""", net=True)
attack("tamper", "sysmodules_disarm_then_read_parent_environ", PRE + DISARM + GRAB + r"""
value = leak_environ([os.getppid(), scorer_pid(), @TEST_PID@])
if value is not None:
    ans = value
""", no_answer=True)
attack("tamper", "methodcaller_subclasses_then_fork", MINI + r"""
def probe():
    return 0

globs = attempt(operator.attrgetter(D('globals')), probe)
if isinstance(globs, dict):
    bi = globs.get(D('builtins'))
    guard = bi.get(D('import')) if isinstance(bi, dict) else attempt(operator.attrgetter(D('import')), bi)
    inner = attempt(operator.attrgetter(D('globals')), guard)
    if isinstance(inner, dict) and inner.get('_State') is not None:
        attempt(setattr, inner['_State'], 'active', False)
osns = None
subclasses = attempt(operator.methodcaller(D('subclasses')), object)
for cls in subclasses if isinstance(subclasses, list) else []:
    if attempt(operator.attrgetter(D('name')), cls) == '_wrap_close':
        osns = attempt(operator.attrgetter(D('init') + '.' + D('globals')), cls)
        break
if isinstance(osns, dict):
    pid = attempt(operator.methodcaller('fork'), osns['sys'].modules['os'])
    if pid == 0:
        try:
            attempt(osns['setsid'])
            attempt(osns['open'], @FLAG@, osns['O_WRONLY'] | osns['O_CREAT'], 0o600)
            osns['execv'](@SLEEP@, ['sleep', @MARK@])
        finally:
            osns['_exit'](0)
""")
attack("tamper", "generator_frames_then_read_parent_environ", MINI + FRAMES + r"""
def gen():
    yield walk(getattr(me, 'gi_' + 'frame'))  # while it runs: a suspended frame has no caller

me = gen()
os = disarm_frames(next(me))
sys = os.sys
B = sys.modules['builtins']

def imp(name):
    return sys.modules.get(name) or getattr(sys.modules['_frozen_importlib'], '_gcd_import')(name)
""" + GRAB + r"""
value = leak_environ([os.getppid(), scorer_pid(), @TEST_PID@])
if value is not None:
    ans = value
""", no_answer=True)
attack("tamper", "traceback_frames_then_udp_and_environ", MINI + FRAMES + r"""
try:
    raise ValueError('look around')
except ValueError as err:
    tb = operator.attrgetter(D('traceback'))(err)
os = disarm_frames(walk(getattr(tb, 'tb_' + 'frame')))
sys = os.sys
B = sys.modules['builtins']

def imp(name):
    return sys.modules.get(name) or getattr(sys.modules['_frozen_importlib'], '_gcd_import')(name)

raw = attempt(imp, '_socket')
s = attempt(raw.socket, 2, 2) if ok(raw) else raw
if ok(s):
    attempt(s.sendto, b'escaped', ('127.0.0.1', @UDP@))
""" + GRAB + r"""
value = leak_environ([os.getppid(), scorer_pid(), @TEST_PID@])
if value is not None:
    ans = value
""", net=True, no_answer=True)

# --- syscalls with no audit event, aimed at a canary folder and a sentinel process -----------
attack("syscall", "mknod_in_tmp", PRE + r"""
attempt(os.mknod, @DIR@ + '/node', 0o100600)
attempt(os.mknod, @DIR@ + '/node2')
""")
attack("syscall", "mkfifo_in_tmp", PRE + "attempt(os.mkfifo, @DIR@ + '/fifo')\n")
attack("syscall", "setxattr_on_canary", PRE + r"""
attempt(os.setxattr, @CANARY@, 'user.hostile', b'1')
attempt(os.removexattr, @CANARY@, 'user.keep')
attempt(os.setxattr, @DIR@, 'user.hostile', b'1')
""")
attack("syscall", "pidfd_send_signal_sentinel", PRE + r"""
signal = imp('signal')
fd = attempt(os.pidfd_open, @SPID@)
if ok(fd):
    attempt(signal.pidfd_send_signal, fd, signal.SIGUSR1)
    attempt(signal.pidfd_send_signal, fd, signal.SIGTERM)
""", sentinel=True)
attack("syscall", "setpriority_sentinel", PRE + r"""
attempt(os.setpriority, os.PRIO_PROCESS, @SPID@, 19)
attempt(os.setpriority, os.PRIO_PGRP, @SPID@, 18)
""", sentinel=True)
attack("syscall", "prlimit_sentinel", PRE + r"""
resource = imp('resource')
attempt(resource.prlimit, @SPID@, resource.RLIMIT_NOFILE, (17, 17))
attempt(resource.prlimit, @SPID@, resource.RLIMIT_FSIZE, (12345, 12345))
""", sentinel=True)
attack("syscall", "sched_setaffinity_sentinel", PRE + "attempt(os.sched_setaffinity, @SPID@, {0})\n",
       sentinel=True)
attack("syscall", "libc_path_syscalls", PRE + LIBC + r"""
def touch(kit):
    kit.lib.creat(@FLAG@.encode(), 0o600)
    kit.lib.chmod(@CANARY@.encode(), 0o777)
    kit.lib.mkdir((@DIR@ + '/sub').encode(), 0o700)
    kit.lib.rename(@CANARY@.encode(), (@CANARY@ + '.moved').encode())

with_libc('int creat(const char *, unsigned int); int rename(const char *, const char *);'
          'int chmod(const char *, unsigned int); int mkdir(const char *, unsigned int);', touch)
""")

# Raw system calls through libc's syscall() (numpy, in the sci template, has loaded ctypes), each with
# arguments the kernel would refuse (EINVAL, EFAULT, EBADF, ESRCH) or that do nothing harmful: the
# seccomp filter must refuse them all first, with EPERM (clone3 with ENOSYS, which the filter answers
# so that glibc falls back to clone). x86-64 numbers; elsewhere the list is empty.
RAW_SYSCALLS = {"io_uring_setup": (425, 1, 0), "userfaultfd": (323, 0), "perf_event_open": (298, 0, 0, -1, -1, 0),
                "bpf": (321, 0, 0, 0), "ptrace": (101, 3, 0, 0, 0), "process_vm_readv": (310, 1, 0, 0, 0, 0, 0),
                "pidfd_getfd": (438, -1, 0, 0), "memfd_create": (319, 0, 0), "clone3": (435, 0, 0),
                "unshare": (272, 0), "keyctl": (250, 0, 0), "mount": (165, 0, 0, 0, 0, 0), "socket": (41, 2, 1, 0),
                "open_by_handle_at": (304, -1, 0, 0), "openat2": (437, -100, 0, 0, 0), "setns": (308, -1, 0),
                "kexec_load": (246, 0, 0, 0, 0), "init_module": (175, 0, 0, 0), "pivot_root": (155, 0, 0),
                "swapon": (167, 0, 0), "add_key": (248, 0, 0, 0, 0, 0)} if os.uname().machine == "x86_64" else {}
attack("syscall", "raw_syscalls_through_libc", PRE + r"""
imp('numpy')
ctypes = attempt(imp, 'ctypes')
lib = attempt(lambda: ctypes.CDLL(None, use_errno=True)) if ok(ctypes) else ctypes
reached = []
if ok(lib):
    for name, (number, *args) in @SYSCALLS@.items():
        result = attempt(lib.syscall, ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
        if ok(result) and (result >= 0 or ctypes.get_errno() != (38 if name == 'clone3' else 1)):
            reached.append(name)
if reached:
    print('reached the kernel:', reached)
""", forbidden=("REACHED",))

# --- reads outside the Python installation ---------------------------------------------------
PLANTED = dict(forbidden=("TOKEN",), no_answer=True)
attack("read", "planted_file_open_builtin", r"""
data = open(@PLANTED@).read()
print(data)
ans = len(data)
""", **PLANTED)
attack("read", "planted_file_real_builtins_open", PRE + r"""
data = B.open(@PLANTED@).read()
print(data)
ans = len(data)
""", **PLANTED)
attack("read", "planted_file_io_open", PRE + r"""
data = imp('io').open(@PLANTED@, encoding='utf-8').read()
print(data)
ans = len(data)
""", **PLANTED)
attack("read", "planted_file_os_open", PRE + GRAB + r"""
data = read_os(@PLANTED@)
print(data)
ans = len(data)
""", **PLANTED)
attack("read", "planted_file_pathlib", PRE + r"""
attempt(imp, 'numpy')  # which loads pathlib
pathlib = imp('pathlib')
listing = attempt(lambda: [p.name for p in pathlib.Path(@PLANTED_DIR@).iterdir()])
print(listing)
data = pathlib.Path(@PLANTED@).read_text()
print(data)
ans = len(data)
""", **PLANTED)
attack("read", "planted_file_os_stat", PRE + r"""
st = os.stat(@PLANTED@)
print(st)
ans = st.st_size
""", **PLANTED)
attack("read", "planted_dir_os_listdir", PRE + r"""
names = attempt(os.listdir, @PLANTED_DIR@)
if not ok(names):
    names = attempt(lambda: [e.name for e in os.scandir(@PLANTED_DIR@)])
print(names)
ans = len(names)
""", **PLANTED)
attack("read", "planted_file_libc", PRE + LIBC + r"""
def read(kit):
    fd = kit.lib.open(@PLANTED@.encode(), 0)
    buf = kit.new(4096)
    n = kit.lib.read(fd, buf, 4096)
    if fd >= 0 and n > 0:
        return kit.raw(buf, n)

for data in with_libc('int open(const char *, int, ...); long read(int, char *, unsigned long);', read):
    if isinstance(data, bytes):
        print(data.decode())
        ans = len(data)
""", **PLANTED)
attack("read", "repo_readme", PRE + GRAB + r"""
data = grab(@README@)
print(data[:400].decode())
ans = len(data)
""", no_answer=True, forbidden=("README_TEXT",))
attack("read", "repo_git_config", PRE + GRAB + r"""
print(attempt(os.listdir, @REPO@))
data = grab(@GITCONFIG@)
if data is not None:
    print(data.decode())
    ans = len(data)
else:
    ans = os.stat(@GITCONFIG@).st_size
""", no_answer=True, forbidden=("GIT_TEXT",))
attack("read", "proc_parent_environ", PRE + GRAB + r"""
value = leak_environ([os.getppid(), scorer_pid(), @TEST_PID@])
if value is not None:
    ans = value
""", no_answer=True)
attack("read", "proc_sentinel_cmdline", PRE + GRAB + r"""
data = grab('/proc/%d/cmdline' % @SPID@)
print(data.replace(b'\0', b' ').decode())
ans = len(data)
""", sentinel=True, no_answer=True, forbidden=("SENTINEL_TOKEN",))
attack("read", "proc_parent_maps", PRE + GRAB + r"""
data = grab('/proc/%d/maps' % os.getppid()) or grab('/proc/%d/maps' % scorer_pid())
print(data[:3000].decode())
ans = len(data)
""", no_answer=True, forbidden=("MAPS_TEXT",))
attack("read", "os_uname", PRE + r"""
u = os.uname()
print(u.sysname, u.nodename, u.release, u.version, u.machine)
""", forbidden=("UNAME_VERSION",))
attack("read", "home_folder", PRE + r"""
names = attempt(os.listdir, @HOME@)
if not ok(names):
    attempt(imp, 'numpy')  # which loads pathlib
    names = [p.name for p in imp('pathlib').Path.home().iterdir()]
print(names)
ans = len(names)
""", no_answer=True, forbidden=("HOME_NAMES",))

# --- answers of later programs ---------------------------------------------------------------
attack("spoof", "math_module", PRE + r"""
for mod in (sys.modules['math'], fractions.math):
    mod.floor = lambda x: 99
    mod.sqrt = lambda x: 0
""")
attack("spoof", "fractions_class", PRE + r"""
F = sys.modules['fractions'].Fraction
attempt(B.setattr, F, D('mul'), lambda a, b: 99)
sys.modules['fractions'].Fraction = lambda *a, **k: 99
""")
attack("spoof", "decimal_context", PRE + r"""
decimal = imp('decimal')
decimal.getcontext().prec = 1
decimal.getcontext().rounding = decimal.ROUND_DOWN
attempt(setattr, decimal.DefaultContext, 'prec', 1)
decimal.setcontext(decimal.Context(prec=1, rounding=decimal.ROUND_DOWN))
""")
attack("spoof", "numpy_functions", PRE + r"""
numpy = imp('numpy')
for name in ('sum', 'mean', 'array', 'median'):
    attempt(setattr, numpy, name, lambda *a, **k: 99)
""")
attack("spoof", "collections_counter", PRE + r"""
imp('collections').Counter.most_common = lambda self, n=None: [('z', 99)]
""")
attack("spoof", "builtins_module", PRE + r"""
for name in ('float', 'round', 'abs', 'sum', 'max'):
    setattr(B, name, lambda *a, **k: 99)
for name in ('ans', 'answer', 'result'):
    setattr(B, name, 99)
""")
attack("spoof", "program_builtins_dict_via_frames", MINI + r"""
try:
    raise ValueError('look around')
except ValueError as err:
    frame = getattr(operator.attrgetter(D('traceback'))(err), 'tb_' + 'frame')

def fake(*args, **kwargs):
    return 99

def fake_print(*args, **kwargs):
    kwargs.pop('file', None)
    original_print('99', **kwargs)

original_print = print
interpreter_builtins = operator.attrgetter(D('self') + '.' + D('dict'))(len)
depth = 0
while frame is not None and depth < 64:
    for space in (getattr(frame, 'f_' + 'locals'), getattr(frame, 'f_' + 'globals')):
        for value in list(space.values()):
            if isinstance(value, dict) and 'len' in value and 'print' in value and value is not interpreter_builtins:
                for name in ('round', 'abs', 'sum', 'len', 'max', 'int', 'float'):
                    value[name] = fake
                value['print'] = fake_print
                value['ans'] = 99
    frame = getattr(frame, 'f_' + 'back')
    depth += 1
""")
attack("spoof", "meta_path_finder", PRE + r"""
machinery = imp('importlib.machinery')
names = ('math', 'statistics', 'fractions', 'decimal', 'random', 'collections')

class Loader:
    def create_module(self, spec):
        fake = type(sys)(spec.name)
        for attr in ('floor', 'sqrt', 'median', 'mean', 'seed', 'randint', 'Fraction', 'Decimal', 'Counter'):
            setattr(fake, attr, lambda *a, **k: 99)
        return fake

    def exec_module(self, module):
        pass

class Finder:
    def find_spec(self, name, path=None, target=None):
        return machinery.ModuleSpec(name, Loader()) if name in names else None

sys.meta_path.insert(0, Finder())
for name in names:
    attempt(sys.modules.pop, name)
""")
attack("spoof", "recursion_limit", PRE + "sys.setrecursionlimit(25)\n")
attack("spoof", "random_seed", PRE + r"""
rnd = imp('random')
rnd.seed(0)
rnd.seed = lambda *a, **k: None
rnd.randint = lambda a, b: 99
attempt(setattr, rnd.Random, 'seed', lambda self, *a, **k: None)
attempt(setattr, getattr(rnd, '_inst'), '_randbelow', lambda n: 0)
""")
attack("spoof", "sympy_solve", PRE + r"""
sympy = imp('sympy')
sympy.solve = lambda *a, **k: [99]
""")
attack("spoof", "json_result_encoder", PRE + r"""
json = imp('json')
json.dumps = lambda *a, **k: '["answer", 99, "", ""]'
attempt(setattr, json.JSONEncoder, 'encode', lambda self, o: '["answer", 99, "", ""]')
""")
attack("spoof", "executor_answer_readers", PRE + r"""
for name in list(sys.modules):
    if name.startswith('mixdistill'):
        mod = sys.modules[name]
        for attr in dir(mod):
            low = attr.lower()
            if attr.startswith('_' * 2) or not any(w in low for w in ('answer', 'number', 'extract', 'outcome')):
                continue
            value = attempt(getattr, mod, attr)
            if callable(value) and not isinstance(value, type):
                attempt(setattr, mod, attr, lambda *a, **k: 99.0)
""")
attack("spoof", "background_thread_patches", PRE + r"""
import time
_thread = imp('_thread')

def meddle():
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        attempt(setattr, sys.modules['math'], 'floor', lambda x: 99)
        attempt(setattr, B, 'round', lambda *a, **k: 99)
        attempt(setattr, sys.modules['statistics'], 'median', lambda *a, **k: 99)
        attempt(setattr, sys.modules['collections'].Counter, 'most_common', lambda self, n=None: [('z', 99)])
        time.sleep(0.005)

_thread.start_new_thread(meddle, ())
""")

# --- network ----------------------------------------------------------------------------------
attack("network", "tcp_connect_socket_module", r"""
import socket
s = socket.create_connection(('127.0.0.1', @TCP@), 1.0)
s.sendall(b'escaped')
""", net=True)
attack("network", "tcp_connect_raw_socket", PRE + r"""
s = imp('_socket').socket(2, 1)
s.settimeout(1.0)
s.connect(('127.0.0.1', @TCP@))
s.sendall(b'escaped')
""", net=True)
attack("network", "tcp_connect_after_disarm", PRE + DISARM + r"""
s = imp('_socket').socket(2, 1)
s.settimeout(1.0)
s.connect(('127.0.0.1', @TCP@))
s.sendall(b'escaped')
""", net=True)
attack("network", "tcp_connect_libc", PRE + LIBC + r"""
def connect(kit):
    fd = kit.lib.socket(2, 1, 0)
    kit.lib.connect(fd, inet(@TCP@), 16)
    kit.lib.send(fd, b'escaped', 7, 0)

with_libc('int socket(int, int, int); int connect(int, const char *, unsigned int);'
          'long send(int, const char *, unsigned long, int);', connect)
""", net=True)
attack("network", "udp_sendto_after_disarm", PRE + DISARM + r"""
s = imp('_socket').socket(2, 2)
s.sendto(b'escaped', ('127.0.0.1', @UDP@))
""", net=True)
attack("network", "udp_sendto_libc", PRE + LIBC + r"""
def send(kit):
    fd = kit.lib.socket(2, 2, 0)
    kit.lib.sendto(fd, b'escaped', 7, 0, inet(@UDP@), 16)

with_libc('int socket(int, int, int); long sendto(int, const char *, unsigned long, int, const char *, unsigned int);', send)
""", net=True)
attack("network", "unix_abstract_after_disarm", PRE + DISARM + r"""
raw = imp('_socket')
s = raw.socket(1, 1)
attempt(s.connect, @UNIX@)
attempt(s.sendall, b'escaped')
d = raw.socket(1, 2)
attempt(d.sendto, b'escaped', @UNIXDG@)
""", net=True)
attack("network", "unix_abstract_libc", PRE + LIBC + r"""
def reach(kit):
    fd = kit.lib.socket(1, 1, 0)
    kit.lib.connect(fd, unix(@UNIX@), 2 + len(@UNIX@))
    dg = kit.lib.socket(1, 2, 0)
    kit.lib.sendto(dg, b'escaped', 7, 0, unix(@UNIXDG@), 2 + len(@UNIXDG@))

with_libc('int socket(int, int, int); int connect(int, const char *, unsigned int);'
          'long sendto(int, const char *, unsigned long, int, const char *, unsigned int);', reach)
""", net=True)
attack("network", "dns_lookup_after_disarm", PRE + DISARM + LIBC + r"""
mod = attempt(imp, 'socket')
infos = attempt(mod.getaddrinfo, 'localhost', @TCP@) if ok(mod) else mod
print(infos)
if ok(infos):
    ans = len(infos)
ctypes = attempt(imp, 'ctypes')
lib = attempt(ctypes.CDLL, None) if ok(ctypes) else ctypes
if ok(lib):
    lib.gethostbyname.restype = ctypes.c_void_p
    if attempt(lib.gethostbyname, b'localhost'):
        ans = 1
""", net=True, no_answer=True)
attack("network", "dns_query_to_local_resolver", PRE + DISARM + LIBC + r"""
query = bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + b'\x07example\x03com\x00' + bytes([0, 1, 0, 1])
s = attempt(lambda: imp('_socket').socket(2, 2))
if ok(s):
    attempt(s.sendto, query, ('127.0.0.1', @DNS@))
def ask(kit):
    fd = kit.lib.socket(2, 2, 0)
    kit.lib.sendto(fd, query, len(query), 0, inet(@DNS@), 16)

with_libc('int socket(int, int, int); long sendto(int, const char *, unsigned long, int, const char *, unsigned int);', ask)
""", net=True)

# --- signals to other processes ---------------------------------------------------------------
attack("signals", "os_kill_sentinel", PRE + r"""
attempt(os.kill, @SPID@, 10)
attempt(os.kill, @SPID@, 15)
attempt(os.kill, @SPID@, 19)
""", sentinel=True)
attack("signals", "os_kill_sentinel_after_disarm", PRE + DISARM + r"""
attempt(os.kill, @SPID@, 10)
attempt(os.kill, @SPID@, 15)
attempt(os.kill, @SPID@, 19)
""", sentinel=True)
attack("signals", "sigkill_sentinel_after_disarm", PRE + DISARM + "attempt(os.kill, @SPID@, 9)\n",
       sentinel=True)
attack("signals", "killpg_sentinel_after_disarm", PRE + DISARM + r"""
attempt(os.killpg, @SPID@, 12)
attempt(os.killpg, attempt(os.getpgid, @SPID@), 1)
""", sentinel=True)
attack("signals", "pidfd_sigkill_sentinel", PRE + r"""
signal = imp('signal')
fd = os.pidfd_open(@SPID@)
signal.pidfd_send_signal(fd, signal.SIGUSR2)
signal.pidfd_send_signal(fd, signal.SIGKILL)
""", sentinel=True)
attack("signals", "libc_kill_sentinel", PRE + LIBC + r"""
def signal_it(kit):
    kit.lib.kill(@SPID@, 12)
    kit.lib.kill(@SPID@, 19)

with_libc('int kill(int, int);', signal_it)
""", sentinel=True)
if TGKILL is not None:
    attack("signals", "libc_tgkill_sentinel", PRE + LIBC + r"""
with_libc('long syscall(long, ...);', lambda kit: kit.lib.syscall(
    kit.cast('long', @TGKILL@), kit.cast('long', @SPID@), kit.cast('long', @SPID@), kit.cast('long', 10)))
""", sentinel=True)
attack("signals", "pthread_kill_own_threads", PRE + r"""
signal = imp('signal')
_thread = imp('_thread')
attempt(signal.pthread_kill, _thread.get_ident(), signal.SIGTERM)
attempt(signal.pthread_kill, _thread.get_ident(), signal.SIGKILL)
""")

# --- the scorer itself: each runs in its own scorer, which must survive -----------------------
PARENTS = r"""
def parents():
    pids = [os.getppid(), scorer_pid()]
    return [p for p in pids if isinstance(p, int) and p > 1]
"""
attack("parent", "os_kill_parent_sigkill", PRE + PARENTS + r"""
for pid in parents():
    attempt(os.kill, pid, 9)
""" + DISARM + r"""
for pid in parents():
    attempt(os.kill, pid, 9)
""")
attack("parent", "killpg_parent_group", PRE + PARENTS + DISARM + r"""
for pid in parents():
    group = attempt(os.getpgid, pid)
    if isinstance(group, int) and group > 1:
        attempt(os.killpg, group, 9)
attempt(os.killpg, 0, 9)
""")
attack("parent", "pidfd_sigkill_parent", PRE + PARENTS + r"""
signal = imp('signal')
for pid in parents():
    fd = attempt(os.pidfd_open, pid)
    if ok(fd):
        attempt(signal.pidfd_send_signal, fd, signal.SIGKILL)
""")
attack("parent", "libc_kill_parent", PRE + PARENTS + LIBC + r"""
for pid in parents():
    with_libc('int kill(int, int);', lambda kit: kit.lib.kill(pid, 9))
""")
attack("parent", "attrgetter_disarm_then_kill_parent", MINI + r"""
def probe():
    return 0

globs = attempt(operator.attrgetter(D('globals')), probe)
inner = None
if isinstance(globs, dict):
    bi = globs.get(D('builtins'))
    guard = bi.get(D('import')) if isinstance(bi, dict) else attempt(operator.attrgetter(D('import')), bi)
    inner = attempt(operator.attrgetter(D('globals')), guard)
if isinstance(inner, dict) and inner.get('_State') is not None:
    attempt(setattr, inner['_State'], 'active', False)
osmod = inner.get('os') if isinstance(inner, dict) else None
if osmod is None:
    for cls in attempt(operator.methodcaller(D('subclasses')), object) or []:
        if attempt(operator.attrgetter(D('name')), cls) == '_wrap_close':
            osmod = attempt(operator.attrgetter(D('init') + '.' + D('globals')), cls)['sys'].modules['os']
            break
for pid in (osmod.getppid(), scorer_pid()):
    if isinstance(pid, int) and pid > 1:
        attempt(operator.methodcaller('kill', pid, 9), osmod)
""")

# --- resources: each runs in a run of its own, which must end in time ------------------------
attack("resources", "memory_bomb_string", "s = 'x' * 10 ** 10\nans = len(s)\n", no_answer=True)
attack("resources", "memory_list_growing", r"""
chunks = []
for _ in range(300):
    chunks.append(b'y' * 10 ** 7)
ans = len(chunks)
""", no_answer=True)
attack("resources", "cpu_loop_catching_timeout", BOUNDED_LOOP)
attack("resources", "fork_bomb_plain", PRE + r"""
for _ in range(5):
    pid = attempt(os.fork)
    if pid == 0:
        try:
            os.execv(@SLEEP@, ['sleep', @MARK@])
        finally:
            os._exit(0)
""")
attack("resources", "fork_bomb_after_disarm", PRE + DISARM + r"""
child = False
for _ in range(5):
    pid = attempt(os.fork)
    if pid == 0:
        child = True
if child:
    try:
        attempt(os.setsid)
        os.execv(@SLEEP@, ['sleep', @MARK@])
    finally:
        os._exit(0)
""")
attack("resources", "spawn_bomb_posixsubprocess", PRE + LIBC + SPAWN + r"""
for _ in range(20):
    spawn_fork_exec()
""")
attack("resources", "huge_output", r"""
print('z' * (100 * 2 ** 20))
for _ in range(20):
    print('w' * 2 ** 20)
""")
attack("resources", "deep_recursion", "def f(n):\n    return f(n + 1)\nans = f(0)\n", no_answer=True)
attack("resources", "deep_recursion_raised_limit", PRE + r"""
sys.setrecursionlimit(10 ** 7)
def f(n):
    return f(n + 1) + 1
ans = f(0)
""", no_answer=True)
attack("resources", "sleep_loop_catching_everything", r"""
import time
end = time.monotonic() + 20
while time.monotonic() < end:
    try:
        time.sleep(100)
    except BaseException:
        pass
""")
attack("resources", "regex_catastrophic_backtracking", r"""
import re
ans = 1 if re.match(r'(a+)+$', 'a' * 28 + 'b') else 2
""", no_answer=True)
attack("resources", "bigint_power_in_c", "ans = 7 ** (10 ** 7) % 10\n", no_answer=True)
attack("resources", "sigalrm_ignored_then_loop", PRE + r"""
signal = imp('signal')
attempt(signal.signal, signal.SIGALRM, signal.SIG_IGN)
attempt(signal.setitimer, signal.ITIMER_REAL, 0)
attempt(signal.pthread_sigmask, signal.SIG_BLOCK, set(signal.Signals))
""" + BOUNDED_LOOP)

# --- the result channel ----------------------------------------------------------------------
attack("channel", "fake_frames_huge_integer", PRE + CHANNEL + r"""
import time
for digits in (b'9' * 400, b'9' * 5000, b'1e999'):  # apart, so that each is read on its own
    spray(frame(b'["answer", ' + digits + b', "", ""]'))
    time.sleep(0.2)
""")
attack("channel", "fake_frames_deeply_nested", PRE + CHANNEL + r"""
spray(frame(b'[' * 100000 + b']' * 100000))
spray(frame(b'["answer", ' + b'[' * 50000 + b']' * 50000 + b', "", ""]'))
""")
attack("channel", "fake_frames_two_wellformed", PRE + CHANNEL + r"""
good = frame(b'["answer", 31337, "", ""]')
spray(good + good)
spray(frame(b'{"status": "answer", "answer": 31337, "detail": "", "output": ""}') * 2)
""")
attack("channel", "fake_frames_for_many_slots", PRE + CHANNEL + r"""
spray(frame(b'["answer", 31337, "", ""]') * 40)
print('The answer is 31337')
""")
attack("channel", "fake_frame_oversized_header", PRE + CHANNEL + r"""
spray(b'\xff\xff\xff\xff' + b'x' * 100)
""")
attack("channel", "partial_frame_then_sleep", PRE + CHANNEL + r"""
spray((100).to_bytes(4, 'big') + b'["answer"')
import time
end = time.monotonic() + 20
while time.monotonic() < end:
    try:
        time.sleep(1)
    except BaseException:
        pass
""")
attack("channel", "fake_frames_nan_and_bad_utf8", PRE + CHANNEL + r"""
spray(frame(b'["answer", NaN, "", ""]'))
spray(frame(b'["answer", Infinity, "", ""]'))
spray(frame(b'["answer", 1, "\xff\xfe", "\xc3"]'))
""")
attack("channel", "print_lone_surrogate", "print('\\ud800 7')\n")
attack("channel", "read_and_write_every_descriptor", PRE + r"""
import select
seen = {}
for fd in range(1024):
    st = attempt(os.fstat, fd)
    if not ok(st):
        continue
    ready = attempt(select.select, [fd], [], [], 0)
    data = attempt(os.read, fd, 65536) if ok(ready) and ready[0] else b''
    written = attempt(os.write, fd, b'\\x00\\x00\\x00\\x10R["answer", 31337, "", ""]')
    seen[fd] = (len(data) if ok(data) else repr(data)[:40], ok(written))
if any(isinstance(n, int) and n > 0 for n, _ in seen.values()):
    print('reached the kernel: read another process\'s pipe', seen)
""", forbidden=("REACHED",))
attack("channel", "close_all_fds_then_loop", PRE + r"""
for fd in range(0, 1024):
    attempt(os.close, fd)
""" + BOUNDED_LOOP)

# --- program texts: oversized in every shape, compiler bombs, framing and NUL bytes ------------
# Each is refused or fails on its own; the normal programs in its chunk must still be right.
attack("text", "short_lines_40mb", "x = 1\n" * 7_000_000 + "ans = 1\n", no_answer=True)
attack("text", "one_line_literal_30mb", "s = '" + "a" * 30_000_000 + "'\nans = 1\n", no_answer=True)
attack("text", "lines_over_the_line_limit", "x=1\n" * 20_000 + "ans = 1\n", no_answer=True)
attack("text", "bytes_over_the_limit_in_few_lines", "s = '" + "\u00e9" * 60_000 + "'\nans = 1\n", no_answer=True)
attack("text", "nested_brackets", "ans = " + "[" * 40_000 + "]" * 40_000 + "\n", no_answer=True)
attack("text", "unary_minus_chain", "ans = " + "-" * 90_000 + "1\n", no_answer=True)
attack("text", "long_sum", "ans = " + "1+" * 45_000 + "1\n", no_answer=True)
attack("text", "nested_blocks", "".join(" " * i + "if 1:\n" for i in range(150)) + " " * 150 + "ans = 1\n",
       no_answer=True)
attack("text", "nul_bytes", "ans = 1\x00" + "\x00" * 5_000 + "\n", no_answer=True)
attack("text", "framing_bytes", "s = '\u0000\u0000\u0000\u0010R\u0000\u0001'\nans = 31337\n", no_answer=True)
attack("text", "frame_header_lookalikes", "s = '\u00ff\u00ff\u00ff\u007fR'\nprint(s * 1000)\nans = 2\n")
attack("text", "lone_surrogates", "s = '\ud800\udfff'\nprint(s)\nans = 3\n")

GROUPS = list(dict.fromkeys(a.group for a in ATTACKS))
ISOLATED = {"parent", "channel"}  # each attack in a scorer of its own
BY_ID = {f"{a.group}-{a.name}": a for a in ATTACKS}

# --------------------------------------------------------------------------------------------
# Normal programs and their answers.

_counter = iter(range(10 ** 6))


def normal(numpy: bool = True) -> tuple[str, float]:
    """A distinct normal program and its answer (one kind in seven uses numpy, if ``numpy``)."""
    n = next(_counter)
    a, b = 100 + n, 2 + n % 9
    kind = n % (7 if numpy else 6)
    program, value = [
        (f"ans = {a} * {b}", a * b),
        (f"import math\nans = math.floor({a} / {b})", a // b),
        (f"def solution():\n    return {a} + {b}", a + b),
        (f"print({a} - {b})", a - b),
        (f"from fractions import Fraction\nans = Fraction({a}, {b}) * {b}", a),
        (f"numbers = [{a}, {b}]\nans = sum(numbers) / len(numbers)", (a + b) / 2),
        (f"import numpy as np\nans = float(np.array([{a}, {b}]).sum())", a + b),
    ][kind]
    return f"{program}\n# normal {n}", float(value)


# The kinds of normal program each answer-spoofing attack aims at.
SPOOF_NORMALS = [
    ("math", "import math\nans = math.floor(7.5) + math.sqrt(16)", 11.0),
    ("math_from", "from math import floor, sqrt\nans = floor(7.5) + sqrt(16)", 11.0),
    ("fractions", "from fractions import Fraction\nans = Fraction(3, 8) * 2", 0.75),
    ("decimal", "from decimal import Decimal\nans = Decimal(10) / Decimal(8)", 1.25),
    ("numpy", "import numpy as np\nans = np.sum([1, 2, 3]) + np.array([4, 5]).mean()", 10.5),
    ("numpy_from", "from numpy import sum as total\nans = total([1, 2, 3])", 6.0),
    ("counter", "from collections import Counter\nans = Counter('abracadabra').most_common(1)[0][1]", 5.0),
    ("builtins", "ans = float('2.5') + int('3') + round(1.4) + abs(-2) + sum([1, 1]) + len('abc') + max(1, 2)", 15.5),
    ("print", "print(len('hello') * 3)", 15.0),
    ("fresh_names", "try:\n    value = ans\nexcept NameError:\n    value = 4\nprint(value)", 4.0),
    ("statistics", "import statistics\nans = statistics.median([5, 1, 3])", 3.0),
    ("recursion", "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\nans = depth(200)", 200.0),
    ("random", "import random\nrandom.seed(12345)\nans = random.randint(1, 10 ** 6)",
     float(random.Random(12345).randint(1, 10 ** 6))),
    ("sympy", "from sympy import Symbol, solve\nx = Symbol('x')\nans = solve(2 * x - 14, x)[0]", 7.0),
    ("solution", "def solution():\n    return 6 * 7", 42.0),
]


def right(outcome: dict | None, expected: float) -> bool:
    return (outcome is not None and outcome["status"] == "answer" and isinstance(outcome["answer"], float)
            and math.isclose(outcome["answer"], expected, rel_tol=1e-6, abs_tol=1e-6))


def shown(outcome: dict | None) -> str:
    if outcome is None:
        return "no outcome"
    return f"{outcome['status']} {outcome['answer']!r} {outcome['detail'][:120]!r}"


# --------------------------------------------------------------------------------------------
# Things outside the sandbox: the scorer, sentinels, listeners, canary folders, markers.

_SCORER = r"""
import json, os, sys, time
spec_path, out_path = sys.argv[1], sys.argv[2]
with open(spec_path, encoding="utf-8") as f:
    spec = json.load(f)
from mixdistill_plugin.executor import Executor

def save(report):
    with open(out_path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(report, f)
    os.replace(out_path + ".tmp", out_path)

def cut(text):
    return text if len(text) <= 100_000 else text[:50_000] + text[-50_000:]

def record(o):
    texts = [str(o.detail), str(o.output), repr(o.answer)]
    answer = float(o.answer) if isinstance(o.answer, (int, float)) and not isinstance(o.answer, bool) else (
        None if o.answer is None else repr(o.answer))
    return {"status": str(o.status), "answer": answer, "detail": cut(str(o.detail)), "output": cut(str(o.output)),
            "output_len": len(str(o.output)), "leaks": [s for s in spec["secrets"] if any(s in t for t in texts)]}

report = {"pid": os.getpid(), "runs": [], "closed": False}
save(report)
with Executor(timeout=spec["timeout"], workers=spec["workers"]) as ex:
    for run in spec["runs"]:
        time.sleep(run["pause"])
        programs = [p.replace("%SCORER_PID%", str(os.getpid())) for p in run["programs"]]
        start = time.monotonic()
        try:
            outcomes = ex.run(programs)
            entry = {"outcomes": [record(o) for o in outcomes]}
        except BaseException as exc:
            entry = {"crash": f"{type(exc).__name__}: {exc}"[:2000]}
        entry["seconds"] = time.monotonic() - start
        report["runs"].append(entry)
        save(report)
report["closed"] = True
save(report)
"""

_SENTINEL = r"""
import os, signal, sys, time
log = sys.argv[1]
def note(signum, frame):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, b"%d\n" % signum)
    os.close(fd)
for name in ("SIGTERM", "SIGUSR1", "SIGUSR2", "SIGHUP", "SIGINT", "SIGQUIT", "SIGALRM", "SIGCONT",
             "SIGWINCH", "SIGPIPE", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGXCPU", "SIGXFSZ"):
    signal.signal(getattr(signal, name), note)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    time.sleep(0.05)
"""


class Sentinel:
    """A process started here that records each catchable signal it gets into a file."""

    LIMITS = ("RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_STACK",
              "RLIMIT_CORE")

    def __init__(self, log: Path, token: str) -> None:
        self.log = log
        self.token = token
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SENTINEL, str(self.log), "240", token],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        assert self.proc.stdout.readline() == b"ready\n"
        self.pid = self.proc.pid
        self.baseline = self.state()

    def state(self) -> dict:
        state: dict = {"alive": self.proc.poll() is None}
        if state["alive"]:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            state["run state"] = "stopped" if fields[0] in "tT" else "running"
            state["nice"] = os.getpriority(os.PRIO_PROCESS, self.pid)
            state["limits"] = {n: resource.prlimit(self.pid, getattr(resource, n)) for n in self.LIMITS}
            state["affinity"] = sorted(os.sched_getaffinity(self.pid))
        state["signals"] = self.log.read_text().split() if self.log.exists() else []
        return state

    def changes(self) -> list[str]:
        now = self.state()
        return [f"sentinel {key}: {self.baseline.get(key)!r} -> {now.get(key)!r}"
                for key in self.baseline if now.get(key) != self.baseline[key]]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class Listeners:
    """TCP, UDP and a fake DNS resolver on 127.0.0.1, and abstract Unix sockets, all made here."""

    def __init__(self, token: str) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.dns.bind(("127.0.0.1", 0))
        self.unix_name = b"\0mixdistill-hostile-" + token.encode()
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_name)
        self.unix.listen(16)
        self.unixdg_name = self.unix_name + b"-dgram"
        self.unixdg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.unixdg.bind(self.unixdg_name)
        self.sockets = [self.tcp, self.udp, self.dns, self.unix, self.unixdg]
        for s in self.sockets:
            s.setblocking(False)

    def events(self) -> list[str]:
        got = []
        for name, listener in (("tcp", self.tcp), ("abstract unix", self.unix)):
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    break
                conn.close()
                got.append(f"the {name} listener accepted a connection")
        for name, sock in (("udp", self.udp), ("dns", self.dns), ("abstract unix datagram", self.unixdg)):
            while True:
                try:
                    data = sock.recv(65536)
                except OSError:
                    break
                got.append(f"the {name} socket received {data[:40]!r}")
        return got

    def close(self) -> None:
        for s in self.sockets:
            s.close()


def snapshot(folder: Path) -> dict:
    """Everything an attack could change in its canary folder (atimes aside)."""

    def describe(path: Path) -> tuple:
        st = path.lstat()
        try:
            xattrs = {n: os.getxattr(path, n, follow_symlinks=False) for n in os.listxattr(path, follow_symlinks=False)}
        except OSError:
            xattrs = None
        data = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else None
        return (stat.filemode(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns, xattrs, data)

    state = {".": describe(folder)}
    state.update({entry.name: describe(entry) for entry in folder.iterdir()})
    return state


_marks: set[str] = set()


def new_mark() -> str:
    """A sleep length in seconds, unique to one attack: its processes carry it on their command line."""
    while True:
        mark = f"45.{secrets.randbelow(10 ** 6):06d}"
        if mark not in _marks:
            _marks.add(mark)
            return mark


def processes_with(marks: list[str], wait: float = 2.0) -> dict[str, list[int]]:
    """The live processes whose command line holds one of ``marks``, after up to ``wait`` s for them
    to go; those found are killed (they are this test's own escapes)."""
    deadline = time.monotonic() + wait
    while True:
        found: dict[str, list[int]] = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            for mark in marks:
                if mark.encode() in cmdline and int(pid) != os.getpid():
                    found.setdefault(mark, []).append(int(pid))
        if not found or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    for pids in found.values():
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return found


@dataclass
class Target:
    """The harmless things one attack aims at, and how to see whether it reached them."""

    attack: Attack
    folder: Path
    planted: Path
    mark: str = field(default_factory=new_mark)
    sentinel: Sentinel | None = None
    net: Listeners | None = None

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True)
        self.flag = self.folder / "flag"
        self.canary = self.folder / "canary.txt"
        self.canary.write_text("intact\n")
        self.canary.chmod(0o644)
        try:
            os.setxattr(self.canary, "user.keep", b"intact")
        except OSError:
            pass
        token = secrets.token_hex(8)
        if self.attack.sentinel:
            self.sentinel = Sentinel(self.folder.with_name(self.folder.name + ".signals"), f"sentinel-token-{token}")
        if self.attack.net:
            self.net = Listeners(token)
        self.before = snapshot(self.folder)

    def values(self) -> dict[str, object]:
        sh = f": > {self.flag}; exec {SLEEP} {self.mark}"
        values = {
            "DIR": str(self.folder), "FLAG": str(self.flag), "CANARY": str(self.canary), "MARK": self.mark,
            "SLEEP": SLEEP, "SHELLB": SHELL.encode(), "SH": sh.encode(),
            "CMD": f"{SETSID} {SHELL} -c '{sh}' </dev/null >/dev/null 2>&1 &".encode(),
            "TEST_PID": os.getpid(), "PLANTED": str(self.planted), "PLANTED_DIR": str(self.planted.parent),
            "README": str(REPO / "README.md"), "GITCONFIG": str(REPO / ".git" / "config"), "REPO": str(REPO),
            "HOME": str(Path.home()), "SECRET_NAME": SECRET_NAME, "TGKILL": TGKILL, "SYSCALLS": RAW_SYSCALLS,
        }
        if self.sentinel:
            values["SPID"] = self.sentinel.pid
        if self.net:
            values.update(TCP=self.net.tcp.getsockname()[1], UDP=self.net.udp.getsockname()[1],
                          DNS=self.net.dns.getsockname()[1], UNIX=self.net.unix_name, UNIXDG=self.net.unixdg_name)
        return values

    def program(self, suffix: str = "") -> str:
        text = self.attack.template
        for key, value in self.values().items():
            text = text.replace(f"@{key}@", repr(value))
        assert "@" not in text.replace("%SCORER_PID%", ""), text
        return text + suffix

    def forbidden(self, secret: str) -> list[str]:
        """Texts that only a successful escape could put into an outcome."""
        texts = {
            "TOKEN": [self.planted.read_text().strip()],
            "README_TEXT": [max((REPO / "README.md").read_text().splitlines(), key=len)[:60]],
            "GIT_TEXT": ["repositoryformatversion"],
            "SENTINEL_TOKEN": [self.sentinel.token] if self.sentinel else [],
            "MAPS_TEXT": [" r-xp ", " r--p "],
            "UNAME_VERSION": [os.uname().version],
            "HOME_NAMES": [f"'{n}'" for n in os.listdir(Path.home()) if len(n) > 3 and n not in sys.base_prefix],
            "REACHED": ["reached the kernel:"],
        }
        return [secret] + [t for key in self.attack.forbidden for t in texts[key]]

    def effects(self) -> list[str]:
        """What happened outside: canary folder, sentinel, listeners (markers are checked apart)."""
        found = []
        after = snapshot(self.folder)
        for name in sorted(set(self.before) | set(after)):
            if self.before.get(name) != after.get(name):
                found.append(f"the canary folder changed: {name}: {self.before.get(name)} -> {after.get(name)}")
        if self.sentinel:
            found += self.sentinel.changes()
        if self.net:
            found += self.net.events()
        return found

    def release(self) -> None:
        if self.sentinel:
            self.sentinel.stop()
        if self.net:
            self.net.close()


@dataclass
class Scorer:
    runs: list[dict]
    closed: bool
    returncode: int | None
    log: str

    def problems(self) -> list[str]:
        found = []
        if self.returncode != 0 or not self.closed:
            found.append(f"the scorer did not finish (exit {self.returncode}): {self.log[-1500:]}")
        for i, run in enumerate(self.runs):
            if "crash" in run:
                found.append(f"run {i} crashed the scorer: {run['crash']}")
        return found

    def outcome(self, run: int, slot: int) -> dict | None:
        if run >= len(self.runs) or "outcomes" not in self.runs[run]:
            return None
        outcomes = self.runs[run]["outcomes"]
        return outcomes[slot] if slot < len(outcomes) else None


def start_scorer(folder: Path, runs: list[dict], workers: int, secrets_: list[str]) -> tuple:
    folder.mkdir(parents=True, exist_ok=True)
    script, spec, out, log = (folder / n for n in ("scorer.py", "spec.json", "report.json", "scorer.log"))
    script.write_text(_SCORER)
    spec.write_text(json.dumps({"timeout": 1.0, "workers": workers, "runs": runs, "secrets": secrets_}))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with open(log, "wb") as handle:
        proc = subprocess.Popen([sys.executable, str(script), str(spec), str(out)], cwd=folder, env=env,
                                stdin=subprocess.DEVNULL, stdout=handle, stderr=handle, start_new_session=True)
    return proc, out, log


def finish_scorer(proc, out: Path, log: Path, limit: float = 150.0) -> Scorer:
    try:
        returncode = proc.wait(limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the scorer's own process group, started above
        returncode = proc.wait()
    report = json.loads(out.read_text()) if out.exists() else {"runs": [], "closed": False}
    return Scorer(report["runs"], report["closed"], returncode, log.read_text(errors="replace"))


# --------------------------------------------------------------------------------------------
# Campaigns: one group of attacks with their normal programs, run and judged.


@dataclass
class Campaign:
    scorers: list[Scorer] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)  # per attack
    group_problems: list[str] = field(default_factory=list)


class Plan:
    """Runs for one scorer, with where each attack and each normal program sits."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.attacks: dict[str, tuple[int, int]] = {}
        self.normals: dict[str, list[tuple[int, int, float, str]]] = {}  # owner -> (run, slot, answer, kind)

    def new_run(self, pause: float = 0.0) -> None:
        self.runs.append({"pause": pause, "programs": []})

    def add_attack(self, key: str, program: str) -> None:
        self.attacks.setdefault(key, (len(self.runs) - 1, len(self.runs[-1]["programs"])))
        self.runs[-1]["programs"].append(program)

    def add_normal(self, owner: str, program: str, answer: float, kind: str = "") -> None:
        self.normals.setdefault(owner, []).append((len(self.runs) - 1, len(self.runs[-1]["programs"]), answer, kind))
        self.runs[-1]["programs"].append(program)


def _judge_outcomes(scorer: Scorer, plan: Plan, targets: dict[str, Target], secret: str,
                    campaign: Campaign, strict_normals: bool = True) -> list[str]:
    """Judge one scorer's outcomes. Charged to the attack: its own outcome (a valid status, no
    answer that only a leak could give, no secret or forbidden text, a finite answer, bounded
    output) and, with ``strict_normals``, the normal programs of its block. Charged to every
    attack of the scorer, and returned: the scorer's own failures and what reached other slots
    (a secret, a forged answer, a flood of output)."""
    shared = scorer.problems()
    owner = {slot: key.removesuffix(" again") for key, slot in plan.attacks.items()}
    own: dict[str, list[str]] = {key: [] for key in owner.values()}
    for i, run in enumerate(scorer.runs):
        if "outcomes" not in run:
            continue
        if len(run["outcomes"]) != len(plan.runs[i]["programs"]):
            shared.append(f"run {i}: {len(run['outcomes'])} outcomes for {len(plan.runs[i]['programs'])} programs")
        for slot, o in enumerate(run["outcomes"]):
            found = []
            if o["status"] not in STATUSES:
                found.append(f"status {o['status']!r}")
            if o["answer"] is not None and not (isinstance(o["answer"], float) and math.isfinite(o["answer"])):
                found.append(f"answer {o['answer']!r} is not a finite number")
            if o["leaks"] or o["answer"] == float(secret):
                found.append(f"a secret came back: {shown(o)} {o['output'][:200]!r}")
            if o["output_len"] > 1_000_000:
                found.append(f"{o['output_len']} characters of output came back")
            key = owner.get((i, slot))
            if key is None:
                if o["answer"] == FORGED:
                    found.append(f"the forged answer reached a normal program: {shown(o)}")
                shared += [f"run {i} slot {slot}: {f}" for f in found]
            else:
                target = targets[key]
                if target.attack.no_answer and o["status"] == "answer":
                    found.append(f"the attack itself got an answer, only possible by getting out: {shown(o)}")
                texts = o["detail"] + "\n" + o["output"]
                found += [f"its outcome shows {t!r}" for t in target.forbidden(secret) if t in texts]
                own[key] += found
    for key in own:
        if strict_normals:
            for run_i, slot_i, answer, _ in plan.normals.get(key, []):
                n = scorer.outcome(run_i, slot_i)
                if not right(n, answer):
                    own[key].append(f"a normal program right after it: expected {answer:g}, got {shown(n)}")
        campaign.problems.setdefault(key, []).extend(shared + own[key])
    return shared


def _judge_effects(targets: dict[str, Target], campaign: Campaign) -> None:
    time.sleep(0.3)  # let any signal still on its way arrive
    survivors = processes_with([t.mark for t in targets.values()])
    for key, target in targets.items():
        found = target.effects()
        if target.mark in survivors:
            found.append(f"processes with its marker outlived the scorer: {survivors[target.mark]}")
        campaign.problems.setdefault(key, []).extend(found)


def run_group(group: str, folder: Path, secret: str) -> Campaign:
    attacks = [a for a in ATTACKS if a.group == group]
    planted_dir = folder / f"planted-{secrets.token_hex(6)}"
    planted_dir.mkdir()
    planted = planted_dir / f"secret-{secrets.token_hex(6)}.txt"
    planted.write_text(f"planted-token-{secrets.token_hex(8)}\n")
    targets = {f"{a.group}-{a.name}": Target(a, folder / a.name, planted) for a in attacks}
    secrets_ = [secret, planted.read_text().strip()] + [t.sentinel.token for t in targets.values() if t.sentinel]
    campaign = Campaign()
    try:
        if group in ISOLATED:
            _run_isolated(targets, folder, secret, secrets_, campaign)
        else:
            plan = {"spoof": _plan_spoof, "resources": _plan_resources}.get(group, _plan_standard)(targets)
            proc, out, log = start_scorer(folder / "scorer", plan.runs, 1 if group == "spoof" else 2, secrets_)
            scorer = finish_scorer(proc, out, log)
            campaign.scorers.append(scorer)
            shared = _judge_outcomes(scorer, plan, targets, secret, campaign, strict_normals=group != "spoof")
            if group == "spoof":
                _judge_spoof(scorer, plan, campaign)
            if group == "resources":
                _judge_time(scorer, plan, campaign)
            finals = plan.normals.get("final", [])
            wrong = [(a, shown(scorer.outcome(r, s))) for r, s, a, _ in finals if not right(scorer.outcome(r, s), a)]
            campaign.group_problems += shared + [f"final normal programs wrong: {wrong}"] * bool(wrong)
        _judge_effects(targets, campaign)
    finally:
        for target in targets.values():
            target.release()
    return campaign


def _judge_time(scorer: Scorer, plan: Plan, campaign: Campaign) -> None:
    """An attack that has a run to itself (and a few normal programs) must not hold it up."""
    for key, (run, _) in plan.attacks.items():
        seconds = scorer.runs[run]["seconds"] if run < len(scorer.runs) else None
        if seconds is not None and seconds > RUN_LIMIT:
            campaign.problems[key].append(f"its run (it and its normal programs) took {seconds:.1f} s")


def _plan_standard(targets: dict[str, Target]) -> Plan:
    plan = Plan()
    plan.new_run()
    for key, target in targets.items():
        plan.add_attack(key, target.program())
        for _ in range(2):
            plan.add_normal(key, *normal())
    plan.new_run(pause=0.6)  # a gap between programs, for what waits for one
    for _ in range(10):
        plan.add_normal("final", *normal())
    return plan


def _plan_resources(targets: dict[str, Target]) -> Plan:
    plan = Plan()
    for key, target in targets.items():
        plan.new_run()
        plan.add_attack(key, target.program())
        for _ in range(3):
            plan.add_normal(key, *normal())
    plan.new_run(pause=0.3)
    for _ in range(10):
        plan.add_normal("final", *normal())
    return plan


def _spoof_block(plan: Plan, owner: str, tag: str) -> None:
    for kind, program, answer in SPOOF_NORMALS:
        plan.add_normal(owner, f"{program}\n# {tag}", answer, kind)


def _plan_spoof(targets: dict[str, Target]) -> Plan:
    """One worker. The same run: normal programs, then each attack followed by every kind of normal
    program; a second run with the attacks interleaved with normal programs; a last run of normals."""
    plan = Plan()
    plan.new_run()
    _spoof_block(plan, "baseline", "baseline")
    for key, target in targets.items():
        plan.add_attack(key, target.program())
        _spoof_block(plan, key, f"after {key}")
    plan.new_run()
    for i, (key, target) in enumerate(targets.items()):
        plan.add_attack(key + " again", target.program("\n# again"))
        for j in range(2):
            kind, program, answer = SPOOF_NORMALS[(2 * i + j) % len(SPOOF_NORMALS)]
            plan.add_normal("interleaved", f"{program}\n# interleaved {i} {j}", answer, kind)
    plan.new_run(pause=0.3)
    _spoof_block(plan, "final", "final")
    return plan


def _judge_spoof(scorer: Scorer, plan: Plan, campaign: Campaign) -> None:
    """An attack is charged with the normal programs that are wrong right after it but were right
    right before it (so that one leak is not charged to every attack after it); the group test
    asks for every normal program to be right."""
    keys = [k for k in plan.attacks if not k.endswith(" again")]

    def wrong(owner: str) -> dict[str, str]:
        return {kind: shown(scorer.outcome(r, s)) for r, s, a, kind in plan.normals.get(owner, [])
                if not right(scorer.outcome(r, s), a)}

    before = wrong("baseline")
    everything = {"baseline": before}
    for key in keys:
        now = wrong(key)
        for kind in sorted(set(now) - set(before)):
            campaign.problems[key].append(f"the {kind} normal program right after it: {now[kind]}")
        before = everything[key] = now
    everything["interleaved"] = wrong("interleaved")
    campaign.group_problems += [f"wrong normal programs after {owner}: {w}" for owner, w in everything.items() if w]


def _run_isolated(targets: dict[str, Target], folder: Path, secret: str, secrets_: list[str],
                  campaign: Campaign) -> None:
    """Each attack in a scorer of its own with one worker, two scorers at a time: for attacks on
    the scorer itself, whose failure would otherwise be charged to every attack beside them."""
    jobs = []
    for key, target in targets.items():
        plan = Plan()
        plan.new_run()
        plan.add_attack(key, target.program())
        for _ in range(2):
            plan.add_normal(key, *normal(numpy=False))
        plan.new_run(pause=0.3)
        for _ in range(4):
            plan.add_normal(key, *normal(numpy=False))
        jobs.append((key, plan))
    for first in range(0, len(jobs), 2):
        started = [(key, plan, start_scorer(folder / f"scorer-{key}", plan.runs, 1, secrets_))
                   for key, plan in jobs[first:first + 2]]
        for key, plan, (proc, out, log) in started:
            scorer = finish_scorer(proc, out, log)
            campaign.scorers.append(scorer)
            shared = _judge_outcomes(scorer, plan, {key: targets[key]}, secret, campaign)
            _judge_time(scorer, plan, campaign)
            campaign.group_problems += [f"{key}: {p}" for p in shared]


# --------------------------------------------------------------------------------------------
# Tests.


@pytest.fixture(scope="module")
def secret():
    """A secret in this process's environment (so in the scorer's): no outcome may show it."""
    value = str(secrets.randbelow(9 * 10 ** 8) + 10 ** 8)
    old = os.environ.get(SECRET_NAME)
    os.environ[SECRET_NAME] = value
    yield value
    if old is None:
        os.environ.pop(SECRET_NAME, None)
    else:
        os.environ[SECRET_NAME] = old


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory, secret):
    done: dict[str, Campaign] = {}

    def get(group: str) -> Campaign:
        if group not in done:
            done[group] = run_group(group, tmp_path_factory.mktemp(group), secret)
        return done[group]

    return get


@pytest.mark.parametrize("key", list(BY_ID))
def test_attack_is_contained(campaigns, key):
    problems = campaigns(BY_ID[key].group).problems[key]
    assert not problems, f"{key}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("group", GROUPS)
def test_scorer_survives_and_later_programs_are_right(campaigns, group):
    campaign = campaigns(group)
    assert campaign.scorers and not campaign.group_problems, "\n".join(campaign.group_problems)


# Attacks run with no sandbox, and what the checks must then report.
SELF_CHECK = {
    "syscall-mknod_in_tmp": "canary folder changed: node",
    "syscall-setxattr_on_canary": "user.hostile",
    "signals-os_kill_sentinel": "sentinel run state",  # its SIGSTOP may come before the others are noted
    "syscall-pidfd_send_signal_sentinel": "sentinel signals",
    "signals-pidfd_sigkill_sentinel": "sentinel alive",
    "syscall-setpriority_sentinel": "sentinel nice",
    "syscall-prlimit_sentinel": "sentinel limits",
    "network-tcp_connect_raw_socket": "tcp listener accepted",
    "network-udp_sendto_libc": "udp socket received",
    "network-unix_abstract_libc": "abstract unix listener accepted",
    "process-posixsubprocess_fork_exec": "marker",
    "read-proc_parent_environ": "output shows",
    "syscall-raw_syscalls_through_libc": "output shows 'reached the kernel:'",
}


def test_the_checks_see_an_escape(tmp_path, secret):
    """Each checker flags the same attack run with no sandbox at all (plain ``python -I -c``)."""
    planted = tmp_path / "planted.txt"
    planted.write_text("planted-token-selfcheck\n")
    targets = {key: Target(BY_ID[key], tmp_path / key, planted) for key in SELF_CHECK}
    # under a parent started with the secret, as the scorer is
    wrapper = "import subprocess, sys; subprocess.run([sys.executable, '-I', '-c', sys.argv[1]])"
    try:
        runs = {}
        for key, target in targets.items():
            with open(tmp_path / f"{key}.out", "wb") as handle:  # a file: what the attack starts may keep it open
                runs[key] = subprocess.Popen([sys.executable, "-I", "-c", wrapper, target.program()],
                                             stdout=handle, stderr=handle, stdin=subprocess.DEVNULL)
        for proc in runs.values():
            proc.wait(60)
        time.sleep(0.3)
        survivors = processes_with([t.mark for t in targets.values()], wait=0)
        found = {}
        for key, target in targets.items():
            text = (tmp_path / f"{key}.out").read_text(errors="replace")
            found[key] = (target.effects() + [f"output shows {t!r}" for t in target.forbidden(secret) if t in text]
                          + [f"marker {target.mark}"] * (target.mark in survivors))
    finally:
        for target in targets.values():
            target.release()
    missed = {key: found[key] for key, expected in SELF_CHECK.items() if not any(expected in f for f in found[key])}
    assert not missed, missed


# The CLI attacks: a mix of all groups, the scorer-killing ones included.
CLI_ATTACKS = [
    "process-posixsubprocess_fork_exec", "process-cffi_libc_system", "process-ctypes_libc_system",
    "process-finalizer_del_built_with_type",
    "process-thread_waits_for_gap", "tamper-sysmodules_disarm_then_tcp_connect",
    "tamper-sysmodules_disarm_then_read_parent_environ", "tamper-generator_frames_then_read_parent_environ",
    "syscall-mknod_in_tmp", "syscall-setxattr_on_canary", "syscall-pidfd_send_signal_sentinel",
    "syscall-prlimit_sentinel", "syscall-libc_path_syscalls", "read-planted_file_os_open",
    "read-planted_file_os_stat", "read-repo_readme", "read-proc_parent_environ", "spoof-builtins_module",
    "spoof-json_result_encoder", "spoof-executor_answer_readers", "network-tcp_connect_libc",
    "network-unix_abstract_after_disarm", "signals-os_kill_sentinel_after_disarm", "signals-libc_kill_sentinel",
    "parent-os_kill_parent_sigkill", "parent-pidfd_sigkill_parent", "parent-killpg_parent_group",
    "resources-memory_bomb_string", "resources-cpu_loop_catching_timeout", "resources-huge_output",
    "channel-fake_frames_huge_integer", "channel-fake_frames_deeply_nested", "channel-fake_frames_two_wellformed",
    "channel-fake_frames_nan_and_bad_utf8", "channel-print_lone_surrogate", "channel-close_all_fds_then_loop",
]


def _strict_json(line: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_cli_scores_every_normal_line_among_attacks(tmp_path, secret):
    planted = tmp_path / "planted.txt"
    planted.write_text(f"planted-token-{secrets.token_hex(8)}\n")
    targets = {key: Target(BY_ID[key], tmp_path / key, planted) for key in CLI_ATTACKS}
    lines, normals = [], {}
    try:
        for i, (key, target) in enumerate(targets.items()):
            lines.append({"id": f"attack-{key}", "answer": 7, "pot": [target.program()]})
            program, answer = normal()
            normals[f"normal-{i}"] = answer
            lines.append({"id": f"normal-{i}", "answer": answer, "pot": [program]})
            if i % 5 == 0:  # a normal program first and an attack after it, in one line
                program, answer = normal()
                normals[f"mixed-{i}"] = answer
                lines.append({"id": f"mixed-{i}", "answer": answer, "pot": [program, target.program(f"\n# {i}")],
                              "cot": [f"The answer is {answer:g}."]})
        predictions, details = tmp_path / "predictions.jsonl", tmp_path / "details.jsonl"
        predictions.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        cli = REPO / ".venv" / "bin" / "mixdistill"
        result = subprocess.run([str(cli), "score", str(predictions), "--details", str(details), "--json"],
                                capture_output=True, timeout=300, cwd=tmp_path, start_new_session=True,
                                env=dict(os.environ, PYTHONPATH=str(REPO)))
        time.sleep(0.3)
        survivors = processes_with([t.mark for t in targets.values()])
        effects = {key: t.effects() for key, t in targets.items()}
    finally:
        for target in targets.values():
            target.release()
    stdout, stderr = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert result.returncode == 0, f"exit {result.returncode}: {stderr[-2000:]}"
    _strict_json(stdout.strip().splitlines()[-1])
    text = details.read_bytes().decode("utf-8")
    rows = [_strict_json(line) for line in text.split("\n") if line.strip()]
    assert [r["id"] for r in rows] == [line["id"] for line in lines]
    wrong = {r["id"]: r["pot"] for r in rows if r["id"] in normals and not r["correct"]["pot_acc"]}
    assert not wrong, wrong
    assert all(r["correct"]["cot_acc"] for r in rows if r["id"].startswith("mixed-"))
    assert secret not in text and secret not in stdout and secret not in stderr
    assert {k: v for k, v in effects.items() if v} == {}
    assert survivors == {}
