"""Thread names the operating system sees. Python 3.11 keeps a thread's name to itself; written to /proc
they show in `top -H`, perf and `acqsim bench`'s CPU by thread."""

from __future__ import annotations

import threading


def name_this_thread(name: str) -> None:
    """Name the calling thread in /proc (the kernel keeps 15 bytes); silently nothing where there is none."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:  # not Linux, or /proc not writable: a name is only a convenience
        pass
