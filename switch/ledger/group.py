"""Group commit: callers on many threads share one database transaction and one fsync.

SQLite has one writer and synchronous=FULL pays an fsync per commit; so when several worker threads
book at once, the first becomes the leader, runs everyone's work queued so far in one transaction (each
caller's part inside its own SAVEPOINT, so one caller's failure rolls back only its part), commits once,
and wakes the others with their results. Nobody returns before the commit that holds their work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

_MAX_GROUP = 64


class _Request:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[Connection], Any]) -> None:
        self.fn, self.done, self.result, self.error = fn, threading.Event(), None, None


class GroupCommitter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._leading = False
        self.groups = 0  # statistics: transactions committed, requests served
        self.requests = 0

    def run(self, fn: Callable[[Connection], Any]) -> Any:
        """Run fn(conn) inside a shared transaction; returns its result once committed, or raises its error."""
        req = _Request(fn)
        with self._lock:
            self._queue.append(req)
            lead = not self._leading
            if lead:
                self._leading = True
        if lead:
            self._lead()
        req.done.wait()
        if req.error is not None:
            raise req.error
        return req.result

    def _lead(self) -> None:
        while True:
            with self._lock:
                group, self._queue = self._queue[:_MAX_GROUP], self._queue[_MAX_GROUP:]
                if not group:
                    self._leading = False
                    return
            self._execute(group)

    def _execute(self, group: list[_Request]) -> None:
        try:
            with self.engine.begin() as conn:
                for req in group:
                    savepoint = conn.begin_nested()
                    try:
                        req.result = req.fn(conn)
                        savepoint.commit()
                    except BaseException as exc:  # noqa: B036 - handed to the caller's thread
                        savepoint.rollback()
                        req.error = exc
            self.groups += 1
            self.requests += len(group)
        except BaseException as exc:  # noqa: B036 - the commit failed: nobody's work is durable
            for req in group:
                req.error = req.error or exc
                req.result = None
        finally:
            for req in group:
                req.done.set()
