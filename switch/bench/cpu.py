"""CPU time of another process, from the kernel's own accounting (all threads, user + system)."""

from __future__ import annotations

import os

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of the process (fields 14 and 15 of /proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name may contain spaces; fields after the closing parenthesis are fixed.
    rest = stat[stat.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / _TICKS
