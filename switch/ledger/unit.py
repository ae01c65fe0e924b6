"""One database transaction per request, and group commit across requests.

Every write a request makes (journal answer, limit counters, wallet event, ledger transfers) runs as one
*job*: a function of a connection. `read(engine)` / `begin(engine)` are what the stores use instead of
`engine.connect()` / `engine.begin()`: inside a job they hand out the job's connection (so a request's
reads see its own writes and those of the requests committed before it in the same group), elsewhere a
fresh connection as before.

`Committer` runs jobs:
- group mode (SQLite: one writer, an fsync per commit): one dedicated thread drains a queue of jobs and
  runs as many as are waiting (up to `max_group`) in one transaction, each job inside its own SAVEPOINT
  so a failing job rolls back alone; one COMMIT, one fsync for all. A job's `done(result, error)` is
  called only after that commit: an answer is never sent before its booking is durable. Jobs run in
  submission order, so requests queued in order (one card's requests) are booked in that order.
- direct mode (PostgreSQL: many processes share the database, row locks order them): each job runs in its
  own transaction on the caller's thread, which keeps lock hold times to one request's work.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

log = logging.getLogger("acqsim.ledger")

Job = Callable[[Connection], Any]
Done = Callable[[Any, BaseException | None], None]

_local = threading.local()


def current(engine: Engine) -> Connection | None:
    """The connection of the job running on this thread for `engine`, if any."""
    conn = getattr(_local, "conn", None)
    if conn is not None and conn.engine is engine:
        return conn
    return None


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection to read with: the current job's, else a fresh deferred (read-only) transaction."""
    conn = current(engine)
    if conn is not None:
        yield conn
        return
    with engine.connect().execution_options(sqlite_readonly=True) as fresh, fresh.begin():
        yield fresh


@contextmanager
def begin(engine: Engine) -> Iterator[Connection]:
    """A write transaction: inside a job a nested part of it, else a new transaction (committed on exit).

    PostgreSQL aborts the whole transaction on any error, so there the nested part is a SAVEPOINT that
    callers which catch an error (a raced unique insert, retried) can roll back alone. SQLite undoes just
    the failing statement, so no savepoint is needed (and none is paid for) there.
    """
    conn = current(engine)
    if conn is None:
        with engine.begin() as fresh:
            yield fresh
        return
    if conn.dialect.name == "sqlite":
        yield conn
        return
    with savepoint(conn):
        yield conn


@contextmanager
def _bound(conn: Connection) -> Iterator[None]:
    previous, previous_driver = getattr(_local, "conn", None), getattr(_local, "driver", None)
    _local.conn, _local.driver = conn, conn.connection.driver_connection
    try:
        yield
    finally:
        _local.conn, _local.driver = previous, previous_driver


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under `conn`; the running job's is kept at hand (SQLAlchemy's property chain
    to it costs about a microsecond, and every hot statement asks)."""
    if conn is getattr(_local, "conn", None):
        return _local.driver
    return conn.connection.driver_connection


@contextmanager
def savepoint(conn: Connection) -> Iterator[None]:
    """A SAVEPOINT as plain SQL (SQLAlchemy's begin_nested costs more than SQLite doing it): undone alone
    when the block raises, released otherwise."""
    depth = getattr(_local, "depth", 0) + 1
    _local.depth = depth
    driver = _driver(conn)
    name = f"acqsim_sp{depth}"
    driver.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        driver.execute(f"ROLLBACK TO SAVEPOINT {name}")
        driver.execute(f"RELEASE SAVEPOINT {name}")
        raise
    else:
        driver.execute(f"RELEASE SAVEPOINT {name}")
    finally:
        _local.depth = depth - 1


def run_job(engine: Engine, job: Job) -> Any:
    """Run one job in its own transaction on this thread (or inside the current job, if one is running)."""
    conn = current(engine)
    if conn is not None:
        return job(conn)
    with engine.begin() as conn, _bound(conn):
        return job(conn)


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
            if item is None:  # stop: everything queued before it is done
                if committing is not None:
                    self._finish(committing)
                self._sync_in.put(None)
                if self._conn is not None:
                    self._conn.close()
                return

    def _prepare(self, group: list) -> list[tuple[Job, Done]]:
        with raw_sql(self.engine).snapshot():
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
        """Run the group's jobs in one transaction, each in a SAVEPOINT; hand its COMMIT to the syncer."""
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
            return group, [(None, exc)] * len(group), exc
        self._sync_in.put(transaction)
        return group, outcomes, None

    def _finish(self, committing: tuple) -> None:
        """Wait for the group's COMMIT, then answer its jobs (only now: their work is durable)."""
        group, outcomes, error = committing
        if error is None:
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


class RawSQL:
    """Hot statements as plain SQL on the DBAPI connection: no expression building, compiling or result
    wrapping per call (SQLAlchemy's cost dominates single-row statements). Write `?` placeholders; they
    become `%s` for psycopg. `conn` is a SQLAlchemy Connection (a job's, to read inside its transaction);
    without one, each thread reads on its own long-lived DBAPI connection (autocommit reads)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self._texts: dict[str, str] = {}
        self._local = threading.local()

    def _text(self, sql: str) -> str:
        text = self._texts.get(sql)
        if text is None:
            text = self._texts[sql] = sql.replace("?", "%s") if self.pg else sql
        return text

    def rows(self, sql: str, params: tuple = (), conn: Connection | None = None) -> list[tuple]:
        conn = conn if conn is not None else current(self.engine)
        if conn is not None:
            # Connection.execute (sqlite3 and psycopg 3): the driver makes and drops the cursor in C.
            return _driver(conn).execute(self._text(sql), params).fetchall()
        raw = self._reader()
        try:
            return raw.driver_connection.execute(self._text(sql), params).fetchall()
        except Exception:
            self._local.raw = None
            try:
                raw.invalidate()
            except Exception:  # noqa: S110 - already broken; the next call opens a new one
                pass
            raise

    def _reader(self) -> Any:
        """This thread's own long-lived read connection (autocommit: each read its own snapshot)."""
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self._local.raw = self.engine.raw_connection()
            if self.pg:
                raw.driver_connection.commit()  # whatever the connect hooks left open
                raw.driver_connection.autocommit = True  # each read its own snapshot, no open transaction
        return raw

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """SQLite: this thread's reads outside a job share one read transaction until the block ends
        (one snapshot set-up, not one per statement). Used around a group's checks: they read committed
        data only, and a card's previous request was committed before its next one was queued."""
        if self.pg:
            yield
            return
        driver = self._reader().driver_connection
        driver.execute("BEGIN")
        try:
            yield
        finally:
            try:
                driver.execute("COMMIT")
            except Exception:  # noqa: S110 - the connection broke meanwhile; rows() opens a new one
                pass

    def executemany(self, sql: str, rows: list[tuple], conn: Connection) -> None:
        driver = _driver(conn)
        if self.pg:
            with driver.cursor() as cur:
                cur.executemany(self._text(sql), rows)
        else:
            driver.executemany(sql, rows)

    def execute(self, sql: str, params: tuple, conn: Connection) -> int:
        """A write inside `conn`'s transaction; returns the row count."""
        return _driver(conn).execute(self._text(sql), params).rowcount


def raw_sql(engine: Engine) -> RawSQL:
    """The engine's shared RawSQL (one set of per-thread read connections per engine)."""
    raw = engine.__dict__.get("_acqsim_raw_sql")
    if raw is None:
        raw = engine.__dict__["_acqsim_raw_sql"] = RawSQL(engine)
    return raw
