"""Wallets core: account set-up, the idempotent event booking machinery, merchants and balances."""

from __future__ import annotations

import collections
import datetime as dt
import json
import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, update

from switch.ledger import Account, Ledger, Transfer, TransferFlags, id_from, unit
from switch.wallets import chart
from switch.wallets import tables as W
from switch.wallets.contracts import Contract, load_contracts
from switch.wallets.currency import currency
from switch.wallets.outcome import DUPLICATE_MISMATCH, NO_ACCOUNT, OK, Outcome, status_from_results

LINKED = TransferFlags.LINKED


class _Stored(Exception):
    """The event key was stored by a concurrent request: roll back and answer the stored outcome."""


class Conflict(Exception):
    """The original event changed state under us (concurrent reversal, settlement): try again."""


@dataclass(frozen=True)
class Merchant:
    mid: str
    name: str
    mcc: str
    currency: str
    status: str
    flags: tuple[str, ...]
    contract: str
    pos_devices: int
    calendar: str
    payout_delay_days: int
    status_reason: str
    dormancy_notice_on: object
    opened_on: object

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Guard:
    """Inside the booking transaction: UPDATE wallet_events SET values WHERE key=key AND state IN states."""
    key: str
    states: tuple[str, ...]
    values: dict
    unsettled_only: bool = False
    seen: tuple = ()  # (state, settlement_id, amount, transfer_id) when we read the original

    @classmethod
    def of(cls, orig, states: tuple[str, ...], values: dict, unsettled_only: bool = False) -> Guard:
        return cls(orig.key, states, values, unsettled_only,
                   (orig.state, orig.settlement_id, orig.amount, orig.transfer_id))


class WalletsCore:
    def __init__(self, engine: Engine, *, ledger: Ledger | None = None, contracts_path: str | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.engine = engine
        self.ledger = ledger or Ledger(engine, clock=clock)
        self.clock = clock
        self.contracts = load_contracts(contracts_path)
        self._known: set[int] = set()
        self._known_wallets: set[tuple[str, str]] = set()
        # Merchants cached while the reference-data generation (bumped by triggers on any change to the
        # merchants table) stays as read: `generation()` answers it, or None to read every time.
        self.generation: Callable[[], object] | None = None
        self._merchants: dict[str, tuple[object, Merchant | None]] = {}

    # -- accounts -------------------------------------------------------------------------------------
    def _ensure(self, accounts: Sequence[Account]) -> None:
        todo = [a for a in accounts if a.id not in self._known]
        if not todo:
            return
        for a, r in zip(todo, self.ledger.create_accounts(todo), strict=True):
            if r not in ("ok", "exists"):
                raise RuntimeError(f"account {a.id}: {r}")
            self._known.add(a.id)

    def ensure_merchant_wallet(self, mid: str, cur: str) -> None:
        if (mid, cur) in self._known_wallets:  # every booking asks: answer from memory once created
            return
        self._ensure(chart.system_accounts(cur) + chart.merchant_accounts(mid, cur))
        self._known_wallets.add((mid, cur))

    def open_card_account(self, card_ref: str, cur: str, opening_balance: int = 0) -> int:
        """The cardholder account of `card_ref` in `cur` (B2), funded once with `opening_balance`."""
        account = chart.card_account(card_ref, cur)
        self._ensure(chart.system_accounts(cur) + [account])
        if opening_balance > 0:
            r = self.ledger.create_transfers([self._t(id_from("open", card_ref, cur), chart.system_account_id(cur, "issuer_funding"),
                                                      account.id, opening_balance, cur, chart.Kind.FUNDING)])[0]
            if r not in ("ok", "exists", "exists_with_different_amount"):
                raise RuntimeError(f"funding {card_ref}: {r}")
        return account.id

    def card_balance(self, account_id: int) -> tuple[int, int] | None:
        """(ledger balance, available) of a cardholder account; available excludes holds."""
        found = self.ledger.lookup_accounts([account_id])
        if not found:
            return None
        a = found[0]
        return a.credits_posted - a.debits_posted, a.credits_posted - a.debits_posted - a.debits_pending

    def merchant_wallets(self, mid: str) -> list[dict]:
        """One dict per currency: available, unsettled (posted, not yet settled), receivable (owed by the merchant)."""
        out = []
        for cur in self.merchant_currencies(mid):
            ids = [chart.merchant_account_id(mid, cur, r) for r in ("available", "unsettled", "receivable")]
            accts = {a.id: a for a in self.ledger.lookup_accounts(ids)}
            av, un, rc = (accts.get(i) for i in ids)
            out.append({"currency": currency(cur).numeric,
                        "available": av.credits_posted - av.debits_posted - av.debits_pending if av else 0,
                        "unsettled": un.credits_posted - un.debits_posted if un else 0,
                        "receivable": rc.debits_posted - rc.credits_posted if rc else 0})
        return out

    # -- merchants ------------------------------------------------------------------------------------
    def merchant(self, mid: str) -> Merchant | None:
        generation = self.generation() if self.generation is not None else None
        if generation is not None:
            cached = self._merchants.get(mid)
            if cached is not None and cached[0] == generation:
                return cached[1]
        m = self._read_merchant(mid)
        if generation is not None:
            self._merchants[mid] = (generation, m)
        return m

    def _read_merchant(self, mid: str) -> Merchant | None:
        rows = unit.raw_sql(self.engine).rows(_SELECT_MERCHANT, (mid,))
        if not rows:
            return None
        m = dict(zip(_MERCHANT_FIELDS, rows[0], strict=True))
        m["flags"] = tuple(f for f in (m["flags"] or "").split(",") if f)
        for day in ("dormancy_notice_on", "opened_on"):
            m[day] = self._date(m[day])
        return Merchant(**m)

    @staticmethod
    def _date(value: object) -> object:
        """A DATE column read with plain SQL: SQLite gives its ISO text, PostgreSQL a date."""
        if value is None or isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value)[:10])

    def merchants(self) -> list[Merchant]:
        with unit.read(self.engine) as conn:
            return [_merchant(r) for r in conn.execute(select(W.merchants).order_by(W.merchants.c.mid))]

    def merchant_currencies(self, mid: str) -> list[str]:
        m = self.merchant(mid)
        with unit.read(self.engine) as conn:
            seen = set(conn.execute(select(W.events.c.currency).where(W.events.c.mid == mid).distinct()).scalars())
        if m:
            seen.add(currency(m.currency).numeric)
        return sorted(c for c in seen if c)

    def contract(self, m: Merchant) -> Contract:
        return self.contracts[m.contract]

    def set_merchant_status(self, mid: str, status: str, reason: str = "") -> bool:
        """N8 suspend / reactivate, N16 write-off; the reason is told to the merchant."""
        with unit.begin(self.engine) as conn:
            n = conn.execute(update(W.merchants).where(W.merchants.c.mid == mid).values(
                status=status, status_reason=reason)).rowcount
        return n == 1

    # -- events ---------------------------------------------------------------------------------------
    def stored(self, key: str) -> Outcome | None:
        rows = unit.raw_sql(self.engine).rows(_SELECT_OUTCOME, (key,))
        return _outcome_from(dict(zip(_OUTCOME_FIELDS, rows[0], strict=True))) if rows else None

    def event_row(self, key: str):
        rows = unit.raw_sql(self.engine).rows(_SELECT_EVENT, (key,))
        return EventRow(*rows[0]) if rows else None

    def _t(self, id_: int, dr: int, cr: int, amount: int, cur: str, kind: int, flags: int = 0, **kw) -> Transfer:
        return Transfer(id_, dr, cr, amount, ledger=currency(cur).ledger, code=int(kind), flags=int(flags), **kw)

    def _book(self, key: str, kind: str, transfers: list[Transfer], row: dict, *, guard: Guard | None = None,
              status: str | None = None, on_ok: Callable[[Connection, dict], None] | None = None) -> Outcome:
        """Book `transfers` and store the event row in one transaction; the same key answers the stored outcome.

        `status` preset means a decision taken before booking (nothing to book, answer stored as given).
        """
        raw = unit.raw_sql(self.engine)
        # PostgreSQL: a key stored already (by us or by another process meanwhile) makes our event insert or
        # our transfers (ids derived from the key) clash, and the ledger then tries again with every check;
        # so the first attempt reads neither the key nor the ids (three round trips fewer per booking).
        optimistic = raw.pg and guard is None and on_ok is None
        if not optimistic:
            previous = self.stored(key)
            if previous is not None:
                return _check_duplicate(previous, kind, row.get("amount", 0))
        box: dict = {}
        # Inside a request's job on SQLite, `stored()` above already read under the write lock this
        # transaction holds: nobody can have stored the key since. Elsewhere, check again in the transaction.
        recheck = not (unit.current(self.engine) is not None and not raw.pg)
        attempts = [0]

        def hook(conn: Connection, results: list, booked: dict) -> None:
            first_clean = optimistic and attempts[0] == 0 and all(r == OK for r in results)
            attempts[0] += 1
            if recheck and not first_clean and raw.rows(_SELECT_KEY, (key,), conn):
                raise _Stored
            st, detail = (status, row.get("detail_text", "")) if status else status_from_results(results)
            values = {"outcome": st, "state": row.get("state", "booked") if st == OK else "failed"}
            if guard is not None:
                # The original changed since we read it (e.g. settled, reversed): decide again.
                _apply_guard(conn, guard) if st == OK else _check_guard(conn, guard)
            if st == OK and on_ok is not None:
                on_ok(conn, {"booked": booked, "row": row})
            full = _row(key, kind, row, values, self.clock(), detail)
            raw.execute(_INSERT_EVENT, _event_values(full), conn)
            box["outcome"] = _outcome_from(full)

        try:
            # Only a guard, an on_ok hook or the recheck can raise for us to catch and retry. Without them,
            # inside a job whose transaction found the key unused, the transfer ids (derived from the key)
            # are new: the booking can be a plain part of the job (switch.ledger create_transfers fresh).
            self.ledger.create_transfers(transfers if status is None else [], hook=hook,
                                         fresh=not (recheck or guard is not None or on_ok is not None),
                                         optimistic=optimistic)
        except _Stored:
            return _check_duplicate(self.stored(key), kind, row.get("amount", 0))
        if box["outcome"].status == NO_ACCOUNT:
            # Accounts we took as created may have been rolled back with a failed request: check again.
            self._known.clear()
            self._known_wallets.clear()
        return box["outcome"]

    def _retrying(self, operation: Callable[[], Outcome]) -> Outcome:
        for _ in range(10):
            try:
                return operation()
            except Conflict:
                continue
        raise RuntimeError("event kept conflicting with concurrent updates")


_EVENT_COLUMNS = tuple(c.name for c in W.events.columns)
_event_values = operator.itemgetter(*_EVENT_COLUMNS)  # an event dict -> its row tuple, in C
_INSERT_EVENT = (f"INSERT INTO wallet_events ({', '.join(chr(34) + c + chr(34) for c in _EVENT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})")
_SELECT_KEY = 'SELECT "key" FROM wallet_events WHERE "key" = ?'
_OUTCOME_FIELDS = ("outcome", "key", "kind", "amount", "fee", "detail")
_SELECT_OUTCOME = 'SELECT outcome, "key", kind, amount, fee, detail FROM wallet_events WHERE "key" = ?'
_SELECT_EVENT = (f"SELECT {', '.join(chr(34) + c + chr(34) for c in _EVENT_COLUMNS)} FROM wallet_events "
                 'WHERE "key" = ?')
EventRow = collections.namedtuple("EventRow", _EVENT_COLUMNS)  # a wallet_events row, read with plain SQL
_MERCHANT_FIELDS = tuple(c.name for c in W.merchants.columns)
_SELECT_MERCHANT = f"SELECT {', '.join(_MERCHANT_FIELDS)} FROM merchants WHERE mid = ?"


def _apply_guard(conn: Connection, g: Guard) -> None:
    sets = ", ".join(f'"{k}" = ?' for k in g.values)
    sql = (f'UPDATE wallet_events SET {sets} WHERE "key" = ? AND state IN ({", ".join("?" * len(g.states))})'
           f" AND amount = ? AND transfer_id {'IS NULL' if g.seen[3] is None else '= ?'}")
    params = (*g.values.values(), g.key, *g.states, g.seen[2], *(() if g.seen[3] is None else (g.seen[3],)))
    if g.unsettled_only:
        sql += " AND settlement_id IS NULL"
    if unit.raw_sql(conn.engine).execute(sql, params, conn) != 1:
        raise Conflict(g.key)


def _check_guard(conn: Connection, g: Guard) -> None:
    """A failed booking is stored only if the original is as we read it; else decide again."""
    now = unit.raw_sql(conn.engine).rows(
        'SELECT state, settlement_id, amount, transfer_id FROM wallet_events WHERE "key" = ?', (g.key,), conn)
    if not now or tuple(now[0]) != g.seen:
        raise Conflict(g.key)


def _row(key: str, kind: str, row: dict, values: dict, now: int, detail: str) -> dict:
    extra = row.get("detail") or {}
    if detail:
        extra = {**extra, "ledger_result": detail}
    base = {c: row.get(c) for c in ("mid", "tid", "currency", "card_account", "transfer_id", "original_key",
                                     "batch_id", "settlement_id")}
    return {**base, "key": key, "kind": kind, "amount": int(row.get("amount", 0)), "fee": int(row.get("fee", 0)),
            "created_ns": now, "detail": json.dumps(extra, sort_keys=True) if extra else "{}", **values}


def _outcome_from(full: dict) -> Outcome:
    text = full["detail"]
    detail = json.loads(text) if text and text != "{}" else {}  # most events carry no detail
    return Outcome(full["outcome"], full["key"], full["kind"], full["amount"], full["fee"],
                   detail=str(detail.get("note") or detail.get("ledger_result") or ""))


def _outcome(row) -> Outcome:
    return _outcome_from(dict(row._mapping))


def _check_duplicate(previous: Outcome, kind: str, amount: int) -> Outcome:
    """Same key again: the stored answer; a different request under a used key is refused (ISO 94)."""
    if previous.kind != kind or (amount and previous.amount and amount != previous.amount and previous.ok
                                 and kind not in ("settlement",)):
        return Outcome(DUPLICATE_MISMATCH, previous.key, kind, duplicate=True,
                       detail=f"key already used by a {previous.kind} of {previous.amount}")
    return previous.as_duplicate()


def _merchant(row) -> Merchant:
    m = dict(row._mapping)
    m["flags"] = tuple(f for f in (m["flags"] or "").split(",") if f)
    return Merchant(**m)
