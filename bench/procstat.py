"""CPU accounting from Linux ``/proc``, for the benches."""

from __future__ import annotations

import os
from pathlib import Path

STAT_FIELDS = ("minflt", "cminflt", "majflt", "cmajflt", "utime", "stime", "cutime", "cstime")


def process_stat(pid: int) -> dict[str, float]:
    """Process ``pid``'s minor/major faults (its own and its reaped children's) and its CPU times in
    seconds (``utime``, ``stime``, ``cutime``, ``cstime``) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # from the state, field 3
    values = dict(zip(STAT_FIELDS, map(int, fields[7:15])))
    tick = os.sysconf("SC_CLK_TCK")
    return {name: value / tick if name.endswith("time") else value for name, value in values.items()}


def busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the machine so far: everything but idle and iowait."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)
