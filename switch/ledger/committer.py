"""The request committer: runs request jobs grouped on one writer thread (SQLite) or each in its own
transaction (PostgreSQL); see switch.ledger.unit for what a job is and how group commit keeps order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from switch.ledger.unit import Done, Job, _bound, current, log, raw_sql, savepoint
from switch.osthread import name_this_thread


class Committer:
    """Runs request jobs: grouped on one writer thread (`group=True`), or each in its own transaction."""

    def __init__(self, engine: Engine, group: bool | None = None, max_group: int = 128,
                 on_group_end: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.on_group_end = on_group_end  # after a group's done() calls (e.g. wake the reactor once)
        self.group = engine.dialect.name == "sqlite" if group is None else group
        self.max_group = max_group
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # C queue: cheap hand-off from the lanes
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None
        self._local = threading.local()  # direct mode: each calling thread's connection
        self._sync_in: queue.SimpleQueue = queue.SimpleQueue()
        self._sync_out: queue.SimpleQueue = queue.SimpleQueue()
        self.groups = 0  # statistics: transactions committed, jobs served
        self.jobs = 0

    def submit(self, job: Job | None, done: Done,
               prepare: Callable[[], tuple[Any, Job | None]] | None = None) -> None:
        """Run `job`; `done(result, None)` or `done(None, error)` follows, after the commit holding it.

        `prepare()` (group mode) runs first on the writer thread but outside the transaction, while the
        previous group's COMMIT (its fsync) is still in flight: it returns (answer, None) when nothing is
        to be written, else (None, job). Its reads see committed data only (one card's requests are kept
        in order by the caller, so a card's previous request is always committed by then)."""
        if not self.group:
            try:
                if prepare is not None:
                    answer, job = prepare()
                    if job is None:
                        done(answer, None)
                        return
                result = self._direct(job)
            except BaseException as exc:  # noqa: B036 - handed to the caller
                done(None, exc)
                return
            done(result, None)
            return
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="ledger-committer", daemon=True)
                    self._thread.start()
                    threading.Thread(target=self._syncer, name="ledger-commit", daemon=True).start()
        self._queue.put((job, done, prepare))

    def _direct(self, job: Job) -> Any:
        """A job in its own transaction on this thread's own connection (kept: no pool checkout and
        reset round trips per request)."""
        if current(self.engine) is not None:
            return job(current(self.engine))
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._local.conn = self.engine.connect()
        with conn.begin(), _bound(conn):
            return job(conn)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the queued jobs, then end the writer thread."""
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
            log.info("committer: %d jobs in %d transactions", self.jobs, self.groups)

    def _loop(self) -> None:
        name_this_thread("committer")
        get, max_group = self._queue.get, self.max_group
        committing = None  # the group whose COMMIT runs on the syncer thread
        while True:
            if committing is not None and self._queue.empty():
                self._finish(committing)
                committing = None
            item = get()
            group = []
            while item is not None:
                group.append(item)
                if len(group) >= max_group:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            jobs = self._prepare(group)  # overlaps the previous group's fsync
            if committing is not None:
                self._finish(committing)
                committing = None
            if jobs:
                committing = self._run(jobs)
                if not committing[3]:  # committed here already (or failed): answer at once
                    self._finish(committing)
                    committing = None
            if item is None:  # stop: everything queued before it is done
                if committing is not None:
                    self._finish(committing)
                self._sync_in.put(None)
                if self._conn is not None:
                    self._conn.close()
                return

    def _prepare(self, group: list) -> list[tuple[Job, Done]]:
        if len(group) > 1:
            with raw_sql(self.engine).snapshot():  # one read snapshot for the group's checks
                jobs, answered = self._checks(group)
        else:  # a lone request (light load): its one read needs no transaction around it
            jobs, answered = self._checks(group)
        if answered:
            self._group_end()
        return jobs

    def _checks(self, group: list) -> tuple[list[tuple[Job, Done]], bool]:
        jobs, answered = [], False
        for job, done, prepare in group:
            if prepare is None:
                jobs.append((job, done))
                continue
            try:
                answer, job = prepare()
            except BaseException as exc:  # noqa: B036 - handed to the caller
                done(None, exc)
                answered = True
                continue
            if job is None:
                done(answer, None)
                answered = True
            else:
                jobs.append((job, done))
        return jobs, answered

    def _syncer(self) -> None:
        """Runs each group's COMMIT (the fsync) so the writer can check the next requests meanwhile."""
        name_this_thread("commit-fsync")
        while True:
            transaction = self._sync_in.get()
            if transaction is None:
                return
            try:
                transaction.commit()
            except BaseException as exc:  # noqa: B036 - handed back to the writer
                self._sync_out.put(exc)
            else:
                self._sync_out.put(None)

    def _connection(self) -> Connection:
        # The writer keeps one connection: no pool checkout, reset and return per group.
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = self.engine.connect()
        return conn

    def _run(self, group: list[tuple[Job, Done]]) -> tuple:
        """Run the group's jobs in one transaction, each in a SAVEPOINT; hand its COMMIT to the syncer (or,
        with nothing else queued, commit here). Returns (group, outcomes, error, handed to the syncer)."""
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn = self._connection()
            transaction = conn.begin()
            try:
                with _bound(conn):
                    for job, _done in group:
                        try:
                            with savepoint(conn):
                                result = job(conn)
                        except BaseException as exc:  # noqa: B036 - handed to the job's caller
                            outcomes.append((None, exc))
                        else:
                            outcomes.append((result, None))
            except BaseException:
                transaction.rollback()
                raise
        except BaseException as exc:  # noqa: B036 - nothing of the group is kept
            return group, [(None, exc)] * len(group), exc, False
        if self._queue.empty():
            # Nothing waiting to be checked meanwhile (light load): commit here rather than pay two thread
            # hand-offs for an overlap that would not happen.
            try:
                transaction.commit()
            except BaseException as exc:  # noqa: B036 - handed to the jobs' callers in _finish
                return group, outcomes, exc, False
            return group, outcomes, None, False
        self._sync_in.put(transaction)
        return group, outcomes, None, True

    def _finish(self, committing: tuple) -> None:
        """Wait for the group's COMMIT, then answer its jobs (only now: their work is durable)."""
        group, outcomes, error, syncing = committing
        if syncing:
            error = self._sync_out.get()
        if error is None:
            self.groups += 1
            self.jobs += len(group)
        else:
            log.error("group commit of %d jobs failed: %s", len(group), error)
            outcomes = [(None, error)] * len(group)
            conn, self._conn = self._conn, None  # start the next group on a fresh connection
            if conn is not None:
                try:
                    conn.invalidate()
                except Exception:  # noqa: S110 - already unusable
                    pass
        for (_job, done), (result, err) in zip(group, outcomes, strict=True):
            try:
                done(result, err)
            except Exception:  # a callback bug must not stop the writer
                log.exception("job callback failed")
        self._group_end()

    def _group_end(self) -> None:
        if self.on_group_end is not None:
            try:
                self.on_group_end()
            except Exception:
                log.exception("group callback failed")
