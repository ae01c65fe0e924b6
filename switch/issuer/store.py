"""Database access for issuers, cards, terminals, merchants (read) and limit counters.

All methods are synchronous and meant for worker threads (never the reactor thread). Updates that race
between switch processes (PIN tries, limit counters) are single atomic UPDATE statements, so two processes
on one PostgreSQL never lose an increment.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from switch.issuer import tables as t
from switch.issuer.model import PIN_TRY_LIMIT, Card, Issuer, Merchant, Product, Terminal
from switch.issuer.pan import PanVault, mask_pan
from switch.ledger import unit

READ = object()  # IssuerStore.sync: read the generation (the caller has not)


class IssuerStore:
    def __init__(self, engine: Engine, vault: PanVault) -> None:
        self.engine = engine
        self.vault = vault
        self._issuers: dict[str, Issuer] = {}
        self._bins: list[tuple[str, str, str, str]] | None = None
        self._products: dict[str, Product] = {}
        # Terminals, merchants and cards (by PAN lookup hash, without the clear PAN) cached per process;
        # dropped whenever ref_generation moved (triggers bump it on any change to those tables).
        self._raw = unit.raw_sql(engine)
        self._generation: int | None = None
        self._terminals: dict[str, Terminal | None] = {}
        self._merchants: dict[str, Merchant | None] = {}
        self._cards: dict[str, Card | None] = {}

    def sync(self, gen: object = READ) -> None:
        """Drop the cached terminals, merchants and cards if any of them changed since the last call (the
        pipeline calls this once per request: one indexed single-row read). `gen`: the ref_generation value
        when the caller read it itself (the journal's duplicate check does, in its own query)."""
        if gen is READ:
            rows = self._raw.rows("SELECT gen FROM ref_generation WHERE id = 1")
            gen = rows[0][0] if rows else None
        if gen != self._generation or gen is None:
            self._terminals, self._merchants, self._cards = {}, {}, {}
            self._generation = gen

    def generation(self) -> int | None:
        """The reference-data generation as last read by the checks (None: not read, or dropped)."""
        return self._generation

    def forget(self) -> None:
        """Drop the cached terminals, merchants and cards (after a change made through this store)."""
        self._terminals, self._merchants, self._cards = {}, {}, {}
        self._generation = None

    # -- reference data (cached: it changes only on fixtures load, which calls refresh) ----------------
    def refresh(self) -> None:
        with unit.read(self.engine) as conn:
            self._issuers = {r.issuer_id: Issuer.from_row(r) for r in conn.execute(select(t.issuers))}
            self._products = {r.code: Product(r.code, r.issuer_id, r.scheme, r.pin_method, r.name or "")
                              for r in conn.execute(select(t.products))}
            self._bins = [(r.low, r.high, r.issuer_id, r.product) for r in conn.execute(select(t.bin_ranges))]
            # Longest prefixes first: a narrower range overrides a wider one.
            self._bins.sort(key=lambda b: -len(b[0]))

    def route_bin(self, pan: str) -> tuple[Issuer, Product] | None:
        if self._bins is None:
            self.refresh()
        for low, high, issuer_id, product in self._bins or ():
            if low <= pan[: len(low)] <= high and issuer_id in self._issuers:
                return self._issuers[issuer_id], self._products[product]
        return None

    def set_route(self, issuer_id: str, host: str, port: int) -> None:
        """Point a remote issuer's route at another host (e.g. a local issuer simulator on a free port);
        its dialect, framing, timeout and zone PIN key stay."""
        with unit.begin(self.engine) as conn:
            row = conn.execute(select(t.issuers.c.route).where(t.issuers.c.issuer_id == issuer_id)).first()
            if row is None or not row.route:
                raise KeyError(f"{issuer_id} is not a remote issuer")
            route = {**json.loads(row.route), "host": host, "port": int(port)}
            conn.execute(update(t.issuers).where(t.issuers.c.issuer_id == issuer_id).values(route=json.dumps(route)))
        self.refresh()  # issuers are cached until a fixtures load

    def issuer(self, issuer_id: str) -> Issuer | None:
        if not self._issuers:
            self.refresh()
        return self._issuers.get(issuer_id)

    def product(self, code: str) -> Product | None:
        if not self._products:
            self.refresh()
        return self._products.get(code)

    # -- cards ------------------------------------------------------------------------------------------
    def find_card(self, pan: str) -> Card | None:
        key = self.vault.lookup_hash(pan)
        cache = self._cards
        if key in cache:
            card = cache[key]
            return _with_pan(card, pan) if card is not None else None
        with unit.read(self.engine) as conn:
            row = conn.execute(select(t.cards).where(t.cards.c.pan_hash == key)).first()
        card = Card.from_row(row, "") if row else None
        if self._generation is not None and self._cards is cache:  # not dropped meanwhile (a change)
            cache[key] = card
        return _with_pan(card, pan) if card is not None else None

    def card_by_id(self, card_id: int) -> Card | None:
        rows = self._raw.rows(_SELECT_CARD_BY_ID, (card_id,))
        if not rows:
            return None
        row = SimpleNamespace(_mapping=dict(zip(_CARD_COLUMNS, rows[0], strict=True)))
        return Card.from_row(row, self.vault.decrypt(row._mapping["pan_enc"]))

    def list_cards(self) -> list[Card]:
        with unit.read(self.engine) as conn:
            rows = conn.execute(select(t.cards).order_by(t.cards.c.card_id)).all()
        return [Card.from_row(r, self.vault.decrypt(r.pan_enc)) for r in rows]

    def add_card(self, *, pan: str, issuer_id: str, product: str, expiry: str, service_code: str, psn: str,
                 pvv: str | None, pin_offset: str | None, account_id: str, currency: str, kyc_level: str,
                 status: str = "active", pin_tries: int = 0, limits: dict | None = None,
                 cardholder: str | None = None) -> int:
        now = datetime.now(UTC)
        with unit.begin(self.engine) as conn:
            res = conn.execute(insert(t.cards).values(
                pan_hash=self.vault.lookup_hash(pan), pan_enc=self.vault.encrypt(pan), pan_masked=mask_pan(pan),
                issuer_id=issuer_id, product=product, expiry=expiry, service_code=service_code, psn=psn,
                pvv=pvv, pin_offset=pin_offset, status=status, pin_tries=pin_tries, account_id=account_id,
                currency=currency, kyc_level=kyc_level, limits=json.dumps(limits) if limits else None,
                cardholder=cardholder, created_at=now, updated_at=now))
            return int(res.inserted_primary_key[0])

    def set_status(self, card_id: int, status: str, reason: str | None = None, *,
                   reset_pin_tries: bool = False) -> None:
        values: dict[str, Any] = {"status": status, "status_reason": reason, "updated_at": datetime.now(UTC)}
        if reset_pin_tries:
            values.update(pin_tries=0, pin_try_key=None)
        with unit.begin(self.engine) as conn:
            conn.execute(update(t.cards).where(t.cards.c.card_id == card_id).values(**values))
        self.forget()

    def set_limits(self, card_id: int, limits: dict) -> None:
        with unit.begin(self.engine) as conn:
            conn.execute(update(t.cards).where(t.cards.c.card_id == card_id)
                         .values(limits=json.dumps(limits) if limits else None, updated_at=datetime.now(UTC)))
        self.forget()

    def set_kyc(self, card_id: int, level: str) -> None:
        with unit.begin(self.engine) as conn:
            conn.execute(update(t.cards).where(t.cards.c.card_id == card_id).values(kyc_level=level))
        self.forget()

    def pin_failed(self, card_id: int, try_key: str | None = None) -> int:
        """Count a wrong PIN atomically; at the limit the card is blocked (B5). Returns the new count. The
        same `try_key` again (the request's keyed digest: one request checked by two switch processes) does
        not count twice: the row lock makes the second update see the first one's key."""
        c = t.cards.c
        counts = c.card_id == card_id
        if try_key is not None:
            counts = and_(counts, or_(c.pin_try_key.is_(None), c.pin_try_key != try_key))
        with unit.begin(self.engine) as conn:
            conn.execute(update(t.cards).where(counts).values(pin_tries=c.pin_tries + 1, pin_try_key=try_key))
            tries = conn.execute(select(t.cards.c.pin_tries).where(t.cards.c.card_id == card_id)).scalar_one()
            if tries >= PIN_TRY_LIMIT:
                conn.execute(update(t.cards).where(and_(t.cards.c.card_id == card_id, t.cards.c.status == "active"))
                             .values(status="blocked", status_reason="pin_tries", updated_at=datetime.now(UTC)))
        self.forget()
        return int(tries)

    def pin_ok(self, card_id: int) -> None:
        """A correct PIN resets the try counter (only while under the limit: a locked card stays locked)."""
        with unit.begin(self.engine) as conn:
            conn.execute(update(t.cards).where(and_(t.cards.c.card_id == card_id, t.cards.c.pin_tries > 0,
                                                    t.cards.c.pin_tries < PIN_TRY_LIMIT))
                         .values(pin_tries=0, pin_try_key=None))
        self.forget()

    # -- terminals and merchants -------------------------------------------------------------------------
    def terminal(self, tid: str) -> Terminal | None:
        cache = self._terminals
        if tid in cache:
            return cache[tid]
        with unit.read(self.engine) as conn:
            row = conn.execute(select(t.terminals).where(t.terminals.c.tid == tid)).first()
        term = Terminal.from_row(row) if row else None
        if self._generation is not None and self._terminals is cache:
            cache[tid] = term
        return term

    def merchant(self, mid: str) -> Merchant | None:
        cache = self._merchants
        if mid in cache:
            return cache[mid]
        from switch.wallets.tables import merchants  # the ledger helper's table

        with unit.read(self.engine) as conn:
            r = conn.execute(select(merchants).where(merchants.c.mid == mid)).first()
        m = None
        if r is not None:
            flags = tuple(f.strip() for f in (r.flags or "").split(",") if f.strip())
            m = Merchant(mid=r.mid, name=r.name, mcc=r.mcc, currency=r.currency, status=r.status, flags=flags,
                         status_reason=r.status_reason or "")
        if self._generation is not None and self._merchants is cache:
            cache[mid] = m
        return m

    # -- limit counters (N15) ------------------------------------------------------------------------------
    def usage(self, card_id: int, category: str, periods: list[str]) -> dict[str, tuple[int, int]]:
        if not periods:
            return {}
        rows = self._raw.rows(_usage_in(_USAGE_SELECT, len(periods)), (card_id, category, *periods))
        return {p: (int(a), int(c)) for p, a, c in rows}

    def take_usage(self, card_id: int, category: str, periods: list[str], amount: int) -> dict[str, tuple[int, int]]:
        """Count one request now (inside the request's job) and return the totals before it: take_usage_in."""
        conn = unit.current(self.engine)
        if conn is not None:  # the request's job: an upsert cannot clash, so no savepoint (PostgreSQL) for it
            return take_usage_in(conn, card_id, category, periods, amount)
        with unit.begin(self.engine) as conn:
            return take_usage_in(conn, card_id, category, periods, amount)

    def undo_usage(self, change: tuple) -> None:
        """Take a counted change (card_id, category, periods, amount, count) back off the counters."""
        card_id, category, periods, amount, count = change
        self.add_usage(card_id, category, periods, -amount, -count)

    def add_usage(self, card_id: int, category: str, periods: list[str], amount: int, count: int = 1) -> None:
        """Add to the period counters; a first row raced by another process is retried as an update."""
        for attempt in range(3):
            try:
                self._add_usage(card_id, category, periods, amount, count)
                return
            except (IntegrityError, self.engine.dialect.dbapi.IntegrityError):
                if attempt == 2:
                    raise

    def _add_usage(self, card_id: int, category: str, periods: list[str], amount: int, count: int) -> None:
        with unit.begin(self.engine) as conn:
            add_usage_in(conn, card_id, category, periods, amount, count)


def _with_pan(card: Card, pan: str) -> Card:
    """A shallow copy of a cached card with this request's clear PAN (the cache holds none). The same as
    dataclasses.replace, which re-runs __init__ over every field and showed in profiles."""
    copy = object.__new__(Card)
    copy.__dict__.update(card.__dict__)
    copy.pan = pan
    return copy


def add_usage_in(conn: Any, card_id: int, category: str, periods: list[str], amount: int, count: int) -> None:
    """Counter update inside the caller's transaction (the journal adds it with the answer).

    One UPDATE for all the periods; only when a period has no row yet (a card's first use in a day or a
    month) are the missing rows looked up and inserted. A row another process inserts meanwhile fails
    the insert, and the caller retries the whole transaction (which then finds it)."""
    n = len(periods)
    if n == 0:
        return
    raw = unit.raw_sql(conn.engine)
    update_sql = _usage_update(raw.pg, n)
    if raw.execute(update_sql, (amount, count, card_id, category, *periods), conn) == n:
        return
    present = {row[0] for row in raw.rows(_usage_in(_USAGE_SELECT, n), (card_id, category, *periods), conn)}
    for period in periods:
        if period not in present:
            raw.execute(_USAGE_INSERT, (card_id, category, period, max(amount, 0), max(count, 0)), conn)


def take_usage_in(conn: Any, card_id: int, category: str, periods: list[str], amount: int,
                  count: int = 1) -> dict[str, tuple[int, int]]:
    """Count a request in its period counters now and return each period's (amount, count) *before* it
    (N15). One statement (an upsert with RETURNING) instead of a read now and an update with the answer;
    on PostgreSQL its row locks make check-and-count atomic across switch processes, so two requests of
    one card can no longer both pass a limit that only one fits. The caller gives the amount back with
    `add_usage_in` if the request ends declined, in the same transaction."""
    if not periods:
        return {}
    raw = unit.raw_sql(conn.engine)
    params = [v for period in periods for v in (card_id, category, period, amount, count)]
    rows = raw.rows(_usage_upsert(len(periods)), tuple(params), conn)
    return {period: (int(total) - amount, int(n) - count) for period, total, n in rows}


@lru_cache(maxsize=16)
def _usage_upsert(n: int) -> str:
    return ('INSERT INTO iss_card_usage (card_id, category, period, amount, "count") VALUES '
            + ", ".join(["(?, ?, ?, ?, ?)"] * n)
            + ' ON CONFLICT (card_id, category, period) DO UPDATE SET amount = iss_card_usage.amount'
              ' + excluded.amount, "count" = iss_card_usage."count" + excluded."count"'
              ' RETURNING period, amount, "count"')


@lru_cache(maxsize=16)
def _usage_in(sql: str, n: int) -> str:
    """`sql` restricted to n periods (the statement text is built once per shape, not per request)."""
    return sql + " AND period IN (" + ", ".join("?" * n) + ")"


def _usage_update(pg: bool, n: int) -> str:
    return _usage_in(_USAGE_UPDATE_PG if pg else _USAGE_UPDATE_SQLITE, n)


_CARD_COLUMNS = tuple(c.name for c in t.cards.columns)
_SELECT_CARD_BY_ID = f"SELECT {', '.join(_CARD_COLUMNS)} FROM iss_cards WHERE card_id = ?"
_USAGE_WHERE = " WHERE card_id = ? AND category = ?"
_USAGE_UPDATE_SQLITE = 'UPDATE iss_card_usage SET amount = amount + ?, "count" = MAX("count" + ?, 0)' + _USAGE_WHERE
_USAGE_UPDATE_PG = 'UPDATE iss_card_usage SET amount = amount + ?, "count" = GREATEST("count" + ?, 0)' + _USAGE_WHERE
_USAGE_INSERT = 'INSERT INTO iss_card_usage (card_id, category, period, amount, "count") VALUES (?, ?, ?, ?, ?)'
_USAGE_SELECT = 'SELECT period, amount, "count" FROM iss_card_usage WHERE card_id = ? AND category = ?'
