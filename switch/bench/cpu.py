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


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """utime + stime per thread name (the kernel's comm: switch.osthread names the switch's threads; the
    main thread, the reactor, keeps the process's name), in seconds. Threads gone meanwhile are skipped."""
    out: dict[str, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = "reactor" if tid == str(pid) else stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(rest[11]) + int(rest[12])) / _TICKS
    return out
