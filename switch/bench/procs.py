"""Child processes of a benchmark: servers that print `listening <kind> host:port`, and the generator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence

_LISTENING = re.compile(r"listening (\S+) ([^:\s]+):(\d+)")


class Server:
    """A server child process; `ports` maps listener kind to port once it has started."""

    def __init__(self, argv: Sequence[str], env: dict | None = None, wait_for: Sequence[str] = ("iso8583",),
                 timeout: float = 60.0):
        self.proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.ports: dict[str, int] = {}
        self.stderr_tail: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            for line in self.proc.stdout:
                m = _LISTENING.search(line)
                if m:
                    self.ports.setdefault(m[1], int(m[3]))
                if all(kind in self.ports for kind in wait_for):
                    break
        finally:
            timer.cancel()
        if not all(kind in self.ports for kind in wait_for):
            self.stop()
            raise RuntimeError(f"{argv[2:4]} did not start: {''.join(self.stderr_tail[-5:]).strip()}")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line])[-50:]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def cpu_plan(processes: int) -> tuple[list[set[int]], set[int]] | None:
    """(one CPU per switch process, the CPUs left for the generator), or None when there are too few CPUs
    to give the generator one of its own. A switch is GIL-bound: on one core its threads keep their caches
    warm (about 10 % less CPU per transaction measured), and the generator no longer evicts them. Each
    child pins itself (`--cpus`): a preexec_fn is not safe in the bench's threaded parent."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(allowed) <= processes:
        return None
    return [{cpu} for cpu in allowed[:processes]], set(allowed[processes:])


def cpus_flag(cpus: set[int] | None) -> list[str]:
    """`--cpus LIST` for a child that should run on `cpus` (none: it runs where the parent may)."""
    return ["--cpus", ",".join(map(str, sorted(cpus)))] if cpus else []


def run_generator(plan_path: str, port: int, rate: float, duration: float, dialect: str,
                  cpus: set[int] | None = None) -> dict:
    argv = python_module("switch.bench.loadgen", plan_path, "--port", str(port), "--rate", str(rate),
                         "--duration", str(duration), "--dialect", dialect, *cpus_flag(cpus))
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 600 if duration else 3600)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)
