"""Ledger: the database side of a batch (load and lock, run, write back, commit once)."""

from __future__ import annotations

import functools
import operator
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from switch.ledger import tables as T
from switch.ledger import unit
from switch.ledger.batch import Batch, PendingState
from switch.ledger.group import GroupCommitter
from switch.ledger.types import (
    ID_MAX,
    Account,
    AccountFlags,
    CreateAccountResult,
    PendingStatus,
    Transfer,
    TransferFlags,
)

Hook = Callable[[Connection, list, dict], None]
_CHUNK = 900  # bound parameters per IN (...) list: below every SQLite build's limit
_SWEEP = 500  # overdue holds released per batch
_SWEEP_EVERY_NS = 1_000_000_000  # bookings look for overdue holds at most this often
_RETRIES = 20
_ACCT_COLS = ("id", "ledger", "code", "flags", "user_data_64", "user_data_32", "debits_pending",
              "debits_posted", "credits_pending", "credits_posted", "timestamp")
_XFER_COLS = tuple(c.name for c in T.transfers.columns)
_POST_VOID = int(TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER)


class Ledger:
    """TigerBeetle-style ledger on a SQLAlchemy engine; thread-safe, one DB transaction per batch."""

    def __init__(self, engine: Engine, clock: Callable[[], int] = time.time_ns,
                 group_commit: bool | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self._pg = engine.dialect.name == "postgresql"
        # SQLite: one writer, one fsync per commit -> concurrent callers share commits. PostgreSQL: each
        # call its own transaction, so row locks are held only for one caller's work.
        use_group = engine.dialect.name == "sqlite" if group_commit is None else group_commit
        self._group = GroupCommitter(engine) if use_group else None
        self._last_ts = 0
        self._swept_at = 0  # ledger time of the last overdue-hold sweep
        self._ts_lock = threading.Lock()
        self._raw = unit.raw_sql(engine)

    # -- accounts -------------------------------------------------------------------------------------
    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        """Create accounts (balances start at zero); `exists` when the same id comes again unchanged."""
        def work(conn: Connection) -> list[CreateAccountResult]:
            found = {a.id: a for a in self._select_accounts(conn, {a.id for a in accounts}, lock=False)}
            results, rows = _account_results(accounts, found, self._now())
            if rows:
                conn.execute(T.accounts.insert(), rows)
            return results
        return self._retry(lambda: self._transaction(work))

    def lookup_accounts(self, ids: Iterable[int]) -> list[Account]:
        """The accounts found, in the order asked (missing ids are left out, as TigerBeetle does)."""
        ids = list(ids)
        with unit.read(self.engine) as conn:
            found = {a.id: a for a in self._select_accounts(conn, set(ids), lock=False)}
        return [found[i] for i in ids if i in found]

    def lookup_transfers(self, ids: Iterable[int]) -> list[Transfer]:
        ids = list(ids)
        with unit.read(self.engine) as conn:
            found = self._select_transfers(conn, set(ids))
        return [found[i] for i in ids if i in found]

    def get_account_transfers(self, account_id: int, since_ns: int = 0, until_ns: int | None = None,
                              limit: int = 10_000) -> list[Transfer]:
        """Transfers debiting or crediting the account, oldest first, timestamp in [since, until)."""
        c = T.transfers.c
        q = select(T.transfers).where((c.debit_account_id == account_id) | (c.credit_account_id == account_id),
                                      c.timestamp >= since_ns)
        if until_ns is not None:
            q = q.where(c.timestamp < until_ns)
        q = q.order_by(c.timestamp, c.id).limit(limit)
        with unit.read(self.engine) as conn:
            return [Transfer(**row._mapping) for row in conn.execute(q)]

    def pending_status(self, transfer_id: int) -> PendingStatus | None:
        with unit.read(self.engine) as conn:
            status = conn.execute(select(T.pending.c.status).where(T.pending.c.id == transfer_id)).scalar()
        return None if status is None else PendingStatus(status)

    # -- transfers ------------------------------------------------------------------------------------
    def create_transfers(self, transfers: Sequence[Transfer], hook: Hook | None = None, *,
                         fresh: bool = False, optimistic: bool = False) -> list:
        """Book a batch in one database transaction; one CreateTransferResult per transfer, in order.

        `hook(conn, results, booked)` runs inside the same transaction after the batch is written
        (`booked`: id -> Transfer as stored, with the amounts actually booked); callers store their own rows
        atomically with the booking. An exception from it rolls everything back and propagates.
        `fresh=True` is a promise from a caller inside a request's job: its hook never raises to be caught,
        and it derived the ids from a key it found unused in this transaction. On SQLite (one writer that
        holds the write lock) the batch then runs as a plain part of the job: no savepoint or retry of its
        own (the job's savepoint undoes it on error) and no look-up of its ids (a clash fails the job).
        `optimistic=True`: the first attempt takes the ids as new (no look-up); one that exists makes the
        insert raise IntegrityError, and the attempts after it (retried as any raced insert) look them up.
        """
        def work(conn: Connection, new_ids: bool = False) -> list:
            batch = self._load(conn, transfers, new_ids=new_ids)
            batch.expire_overdue()
            results = batch.run(list(transfers))
            self._write(conn, batch)
            if hook is not None:
                hook(conn, results, batch.new)
            return results
        if fresh and not self._pg:
            conn = unit.current(self.engine)
            if conn is not None:  # one writer holding the write lock: no race to retry, no savepoint needed
                return work(conn, new_ids=True)
        if optimistic:
            first = [True]

            def attempt(conn: Connection) -> list:
                new_ids, first[0] = first[0], False
                return work(conn, new_ids)
            return self._retry(lambda: self._transaction(attempt))
        return self._retry(lambda: self._transaction(work))

    def expire_pending(self) -> int:
        """Release holds whose timeout has passed; returns how many expired (the server calls it often)."""
        total = 0
        while True:
            def work(conn: Connection) -> int:
                batch = self._load(conn, (), sweep=True)
                batch.expire_overdue()
                self._write(conn, batch)
                return batch.expired
            n = self._retry(lambda: self._transaction(work))
            total += n
            if n < _SWEEP:
                return total

    # -- internals ------------------------------------------------------------------------------------
    def _transaction(self, work: Callable[[Connection], Any]) -> Any:
        conn = unit.current(self.engine)
        if conn is not None:  # part of a request's job: its transaction and commit; a savepoint so that
            with unit.savepoint(conn):  # an error (from a hook, a raced insert) undoes just this batch
                return work(conn)
        if self._group is not None:
            return self._group.run(work)
        with self.engine.begin() as conn:
            return work(conn)

    def _now(self) -> int:
        # Strictly increasing in this process, with room for one ns per transfer of a batch.
        with self._ts_lock:
            now = max(self.clock(), self._last_ts + 1)
            self._last_ts = now + 1_000_000
            return now

    def _retry(self, attempt: Callable):
        dbapi = self.engine.dialect.dbapi
        for n in range(_RETRIES):
            try:
                return attempt()
            except (IntegrityError, dbapi.IntegrityError):
                # Another process inserted one of our ids between our read and our write: run again,
                # now it answers `exists`.
                if n == _RETRIES - 1:
                    raise
            except (DBAPIError, dbapi.Error) as exc:  # plain SQL raises the driver's errors unwrapped
                if not _transient(exc) or n == _RETRIES - 1:
                    raise
            self._swept_at = 0  # a sweep the failed attempt made was rolled back with it: sweep again
            time.sleep(0.001 * (n + 1))
        raise AssertionError("unreachable")

    def _load(self, conn: Connection, transfers: Sequence[Transfer], sweep: bool = False,
              new_ids: bool = False) -> Batch:
        now = self._now()
        pend_ids = {t.pending_id for t in transfers if t.flags & _POST_VOID and t.pending_id}
        if sweep or not 0 <= now - self._swept_at < _SWEEP_EVERY_NS:
            # Overdue holds are released by the bookings that pass by, at most once a second of the
            # ledger's clock (a hold a batch posts or voids is always checked: it is loaded above).
            overdue = {r[0] for r in self._raw.rows(_OVERDUE, (int(PendingStatus.PENDING), now), conn)}
            pend_ids |= overdue
            self._swept_at = now if len(overdue) < _SWEEP else 0
        # A purchase (fresh ids, nothing pending) reads its accounts only: the common case skips the rest.
        wanted = pend_ids if new_ids else {t.id for t in transfers} | pend_ids
        existing = self._select_transfers(conn, wanted) if wanted else {}
        acct_ids = {t.debit_account_id for t in transfers} | {t.credit_account_id for t in transfers}
        for pid in pend_ids:
            p = existing.get(pid)
            if p is not None:
                acct_ids.update((p.debit_account_id, p.credit_account_id))
        acct_ids.discard(0)
        # Lock order: accounts by id, then pending rows by id -> no deadlock between batches.
        accounts = {a.id: a for a in self._select_accounts(conn, acct_ids, lock=True)}
        pendings = {}
        if pend_ids:
            for pid, status, expires_at in self._select_pending(conn, pend_ids):
                p = existing.get(pid)
                if p is not None:
                    pendings[pid] = PendingState(p, status, expires_at, False)
        return Batch(accounts, existing, pendings, now)

    # Plain SQL on the DBAPI connection (switch.ledger.unit.RawSQL): these run for every booking, and
    # building and compiling SQLAlchemy expressions cost far more than SQLite executing them.
    def _select_accounts(self, conn: Connection, ids: set[int], lock: bool) -> list[Account]:
        out = []
        for chunk in _chunks(sorted(i for i in ids if 0 < i < ID_MAX)):
            sql = _accounts_sql(len(chunk), lock and self._pg)
            out.extend(Account(*row) for row in self._raw.rows(sql, tuple(chunk), conn))
        return out

    def _select_transfers(self, conn: Connection, ids: set[int]) -> dict[int, Transfer]:
        out = {}
        for chunk in _chunks(sorted(i for i in ids if 0 < i < ID_MAX)):
            for row in self._raw.rows(_SELECT_TRANSFERS + _in(len(chunk)), tuple(chunk), conn):
                out[row[0]] = Transfer(*row)
        return out

    def _select_pending(self, conn: Connection, ids: set[int]) -> list[tuple]:
        out = []
        for chunk in _chunks(sorted(ids)):
            sql = _SELECT_PENDING + _in(len(chunk)) + " ORDER BY id" + (" FOR UPDATE" if self._pg else "")
            out.extend(tuple(r) for r in self._raw.rows(sql, tuple(chunk), conn))
        return out

    def _write(self, conn: Connection, batch: Batch) -> None:
        raw = self._raw
        if batch.new:
            raw.executemany(_INSERT_TRANSFER, [_xfer_row(t) for t in batch.new.values()], conn)
        new_pending = [(pid, int(s.status), s.expires_at) for pid, s in batch.pendings.items() if s.new]
        if new_pending:
            raw.executemany(_INSERT_PENDING, new_pending, conn)
        changed = [(int(batch.pendings[pid].status), pid) for pid in sorted(batch.dirty_pendings)
                   if pid in batch.pendings and not batch.pendings[pid].new]
        if changed:
            raw.executemany(_UPDATE_PENDING, changed, conn)
        if batch.dirty_accounts:
            accts = batch.accounts
            raw.executemany(_UPDATE_ACCOUNT, [
                (accts[i].debits_pending, accts[i].debits_posted, accts[i].credits_pending, accts[i].credits_posted, i)
                for i in sorted(batch.dirty_accounts)], conn)


_XFER_FIELDS = ("id", "debit_account_id", "credit_account_id", "amount", "pending_id", "ledger", "code", "flags",
                "timeout", "user_data_64", "user_data_32", "timestamp")  # Transfer's field order
_xfer_row = operator.attrgetter(*_XFER_FIELDS)  # Transfer -> row tuple, in C
_SELECT_ACCOUNTS = f"SELECT {', '.join(_ACCT_COLS)} FROM ledger_accounts WHERE id IN "
_SELECT_TRANSFERS = f"SELECT {', '.join(_XFER_FIELDS)} FROM ledger_transfers WHERE id IN "
_SELECT_PENDING = "SELECT id, status, expires_at FROM ledger_pending WHERE id IN "
_OVERDUE = f"SELECT id FROM ledger_pending WHERE status = ? AND expires_at <= ? LIMIT {_SWEEP}"
_INSERT_TRANSFER = (f"INSERT INTO ledger_transfers ({', '.join(_XFER_FIELDS)}) "
                    f"VALUES ({', '.join('?' * len(_XFER_FIELDS))})")
_INSERT_PENDING = "INSERT INTO ledger_pending (id, status, expires_at) VALUES (?, ?, ?)"
_UPDATE_PENDING = "UPDATE ledger_pending SET status = ? WHERE id = ?"
_UPDATE_ACCOUNT = ("UPDATE ledger_accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?, "
                   "credits_posted = ? WHERE id = ?")


def _in(n: int) -> str:
    return "(" + ", ".join("?" * n) + ")"


@functools.lru_cache(maxsize=64)
def _accounts_sql(n: int, for_update: bool) -> str:
    """The accounts read for n ids (text built once per shape: it runs for every booking)."""
    return _SELECT_ACCOUNTS + _in(n) + " ORDER BY id" + (" FOR UPDATE" if for_update else "")


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _transient(exc: Exception) -> bool:
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock not available
        return True
    return "database is locked" in str(orig)


def _account_results(accounts: Sequence[Account], found: dict[int, Account], now: int):
    A = CreateAccountResult
    results, rows, seen = [], [], dict(found)
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    chain_start, chain_failed = None, None
    for i, a in enumerate(accounts):
        if a.id == 0:
            r = A.ID_MUST_NOT_BE_ZERO
        elif a.id >= ID_MAX:
            r = A.ID_MUST_NOT_BE_INT_MAX
        elif a.flags & both == both:
            r = A.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        elif a.id in seen:
            r = _account_exists(a, seen[a.id])
        elif a.ledger == 0:
            r = A.LEDGER_MUST_NOT_BE_ZERO
        elif a.code == 0:
            r = A.CODE_MUST_NOT_BE_ZERO
        else:
            r = A.OK
        linked = a.flags & AccountFlags.LINKED
        if chain_start is None and linked:
            chain_start = i
        if r is A.OK:
            row = {c: getattr(a, c) for c in _ACCT_COLS}
            row.update(debits_pending=0, debits_posted=0, credits_pending=0, credits_posted=0, timestamp=now + i)
            rows.append(row)
            seen[a.id] = a
        elif chain_start is not None and chain_failed is None:
            chain_failed = i
        results.append(r)
        if chain_start is not None and (not linked or i == len(accounts) - 1):
            if linked:  # the batch ended inside a chain
                chain_failed, r = i, A.LINKED_EVENT_CHAIN_OPEN
                results[i] = r
            if chain_failed is not None:
                bad = {accounts[k].id for k in range(chain_start, i + 1) if results[k] is A.OK}
                rows = [row for row in rows if row["id"] not in bad]
                for k in range(chain_start, i + 1):
                    if k != chain_failed:
                        results[k] = A.LINKED_EVENT_FAILED
            chain_start, chain_failed = None, None
    return results, rows


def _account_exists(a: Account, e: Account) -> CreateAccountResult:
    A = CreateAccountResult
    if a.flags != e.flags:
        return A.EXISTS_WITH_DIFFERENT_FLAGS
    if a.user_data_64 != e.user_data_64:
        return A.EXISTS_WITH_DIFFERENT_USER_DATA_64
    if a.user_data_32 != e.user_data_32:
        return A.EXISTS_WITH_DIFFERENT_USER_DATA_32
    if a.ledger != e.ledger:
        return A.EXISTS_WITH_DIFFERENT_LEDGER
    if a.code != e.code:
        return A.EXISTS_WITH_DIFFERENT_CODE
    return A.EXISTS

