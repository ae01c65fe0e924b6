"""One database transaction per request, and group commit across requests.

Every write a request makes (journal answer, limit counters, wallet event, ledger transfers) runs as one
*job*: a function of a connection. `read(engine)` / `begin(engine)` are what the stores use instead of
`engine.connect()` / `engine.begin()`: inside a job they hand out the job's connection (so a request's
reads see its own writes and those of the requests committed before it in the same group), elsewhere a
fresh connection as before.

`Committer` (switch.ledger.committer) runs jobs:
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
