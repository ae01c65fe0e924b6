"""Every database read of the HTTP API, in one place (they run in worker threads, never on the reactor).

Sources: merchants (ledger helper), wallet_events / wallet_payouts (switch.wallets), iss_cards /
iss_terminals (switch.issuer), auth_requests (the pipeline's journal: one row per answered request).
Nothing here returns card data beyond the masked PAN (6+4).

SQLite note: switch.store starts every transaction with BEGIN IMMEDIATE (the write lock) unless the
connection asks for `sqlite_readonly`; all reads here do, so the web pages never block the switch.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, case, func, select, text

from switch.http.metrics import transaction_type
from switch.issuer import tables as iss
from switch.wallets import tables as wt
from switch.wire.dump import dump, mask_field, mask_pan

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_MASKED_RE = re.compile(r"^\d{6}\*+\d{4}$")


class BadRequest(ValueError):
    """A query parameter that cannot be used (answered 400)."""


def _ro(engine: Engine):
    return engine.execution_options(sqlite_readonly=True).connect()


def _iso(value: Any) -> Any:
    if isinstance(value, Decimal):  # PostgreSQL's SUM(bigint) is numeric; amounts are whole minor units
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(row: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: _iso(v) for k, v in row._mapping.items() if k not in drop}


def safe_masked(value: str | None) -> str | None:
    """A stored masked PAN, re-masked if it is not 6+4 already (belt and braces: never show more)."""
    if not value:
        return value
    return value if _MASKED_RE.match(value) else mask_pan(re.sub(r"\D", "", value) or value)


def parse_time(value: str | None, *, end: bool = False) -> datetime | None:
    """`2026-11-26` (whole day; as an end bound: up to the end of that day) or an ISO 8601 time (UTC if no
    offset)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
            return moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"not a date or ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_limit(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(f"limit must be 1..{MAX_LIMIT}")
    return int(value)


def ping(engine: Engine) -> None:
    with _ro(engine) as conn:
        conn.execute(text("SELECT 1")).scalar()


# -- merchants and terminals ------------------------------------------------------------------------------
def merchants(engine: Engine, mid: str | None = None) -> list[dict]:
    q = select(wt.merchants).order_by(wt.merchants.c.mid)
    if mid is not None:
        q = q.where(wt.merchants.c.mid == mid)
    with _ro(engine) as conn:
        return [_row(r) for r in conn.execute(q)]


def merchant(engine: Engine, mid: str) -> dict | None:
    rows = merchants(engine, mid)
    return rows[0] if rows else None


_TERMINAL_COLUMNS = ("tid", "mid", "kind", "currency", "status", "mac_required", "pin_format")


def terminals(engine: Engine, mid: str | None = None) -> list[dict]:
    # Key columns (tmk, tpk, tak, bdk) are cryptograms under the LMK; still, nobody needs them here.
    t = iss.terminals
    q = select(*(t.c[name] for name in _TERMINAL_COLUMNS)).order_by(t.c.tid)
    if mid is not None:
        q = q.where(t.c.mid == mid)
    with _ro(engine) as conn:
        return [_row(r) for r in conn.execute(q)]


def terminal(engine: Engine, tid: str) -> dict | None:
    t = iss.terminals
    with _ro(engine) as conn:
        row = conn.execute(select(*(t.c[name] for name in _TERMINAL_COLUMNS)).where(t.c.tid == tid)).first()
    return _row(row) if row else None


def terminal_mid(engine: Engine, tid: str) -> str | None:
    with _ro(engine) as conn:
        return conn.execute(select(iss.terminals.c.mid).where(iss.terminals.c.tid == tid)).scalar()


# -- cards (operator only; masked PAN only) ---------------------------------------------------------------
_CARD_COLUMNS = ("card_id", "pan_masked", "issuer_id", "product", "status", "status_reason", "pin_tries",
                 "currency", "kyc_level", "created_at", "updated_at")


def cards(engine: Engine, limit: int = DEFAULT_LIMIT, status: str | None = None) -> list[dict]:
    c = iss.cards
    q = select(*(c.c[name] for name in _CARD_COLUMNS)).order_by(c.c.card_id).limit(limit)
    if status:
        q = q.where(c.c.status == status)
    with _ro(engine) as conn:
        rows = [_row(r) for r in conn.execute(q)]
    for row in rows:
        row["pan_masked"] = safe_masked(row["pan_masked"])
    return rows


def card(engine: Engine, card_id: int) -> dict | None:
    c = iss.cards
    with _ro(engine) as conn:
        row = conn.execute(select(*(c.c[name] for name in _CARD_COLUMNS)).where(c.c.card_id == card_id)).first()
    if row is None:
        return None
    out = _row(row)
    out["pan_masked"] = safe_masked(out["pan_masked"])
    return out


# -- wallets ----------------------------------------------------------------------------------------------
def _wallet_api():
    """switch.wallets' balance function, whichever name it landed under (see docs/requests.md)."""
    import switch.wallets as w

    for name in ("merchant_wallets", "merchant_balances", "wallet_balances", "balances"):
        fn = getattr(w, name, None)
        if callable(fn):
            return fn
    return None


def wallets(engine: Engine, mid: str | None = None) -> list[dict]:
    """Merchant wallet balances (available, unsettled, receivable) per currency, as switch.wallets says."""
    mids = [mid] if mid is not None else [m["mid"] for m in merchants(engine)]
    fn = _wallet_api()
    out: list[dict] = []
    for one in mids:
        if fn is None:
            cur = (merchant(engine, one) or {}).get("currency")
            out.append({"mid": one, "currency": cur, "available": None, "unsettled": None, "receivable": None,
                        "note": "switch.wallets has no balance function yet"})
            continue
        result = fn(engine, one)
        for item in result if isinstance(result, list) else [result]:
            doc = item if isinstance(item, dict) else dict(getattr(item, "__dict__", {}))
            doc = {k: _iso(v) for k, v in doc.items()}
            doc.setdefault("mid", one)
            out.append(doc)
    return out


# -- transactions (the pipeline's journal) ----------------------------------------------------------------
def _txn_select():
    a, c = iss.auth_log, iss.cards
    return (select(a.c.id, a.c.created_at, a.c.tid, a.c.mid, a.c.stan, a.c.mti_class, a.c.proc, a.c.amount,
                   a.c.currency, a.c.rc, a.c.state, a.c.reversed_amount, a.c.txn_ref,
                   func.coalesce(c.c.pan_masked, a.c.pan_masked).label("pan_masked"))  # off-us: no card row
            .select_from(a.outerjoin(c, c.c.card_id == a.c.card_id)))


def _txn_doc(row: Any) -> dict:
    doc = _row(row)
    doc["pan_masked"] = safe_masked(doc.get("pan_masked"))
    doc["type"] = transaction_type({"t": doc.get("mti_class") or "", "3": doc.get("proc") or ""})
    return doc


def transactions(engine: Engine, *, mid: str | None = None, tid: str | None = None, rc: str | None = None,
                 date_from: datetime | None = None, date_to: datetime | None = None,
                 limit: int = DEFAULT_LIMIT, before_id: int | None = None) -> list[dict]:
    """Newest first. `date_to` is exclusive."""
    a = iss.auth_log
    conds = []
    if mid is not None:
        conds.append(a.c.mid == mid)
    if tid:
        conds.append(a.c.tid == tid)
    if rc:
        conds.append(a.c.rc == rc)
    if date_from is not None:
        conds.append(a.c.created_at >= date_from)
    if date_to is not None:
        conds.append(a.c.created_at < date_to)
    if before_id is not None:
        conds.append(a.c.id < before_id)
    q = _txn_select().order_by(a.c.id.desc()).limit(limit)
    if conds:
        q = q.where(and_(*conds))
    with _ro(engine) as conn:
        return [_txn_doc(r) for r in conn.execute(q)]


def transaction(engine: Engine, txn_id: int) -> dict | None:
    """One transaction with its stored answer's fields, masked, and a jPOS-style dump of them."""
    a = iss.auth_log
    with _ro(engine) as conn:
        row = conn.execute(_txn_select().add_columns(a.c.response, a.c.f7).where(a.c.id == txn_id)).first()
    if row is None:
        return None
    doc = _txn_doc(row)
    try:
        stored = json.loads(doc.pop("response") or "{}")
    except ValueError:
        stored = {}
    # The journal keeps the pipeline's answer fields; the server echoes 3, 4, 7, 11, 41, 42, 49 from the
    # request, so the answer as sent is rebuilt from the row's columns (no card data is among them).
    mti = doc.get("mti_class") or ""
    fields = {"t": mti[:2] + str(int(mti[2]) + 1) + mti[3:] if len(mti) == 4 and mti[2].isdigit() else mti,
              "3": doc.get("proc") or "", "4": f"{doc.get('amount') or 0:012d}", "7": doc.pop("f7", "") or "",
              "11": doc.get("stan") or "", "41": doc.get("tid") or "", "42": doc.get("mid") or "",
              "49": doc.get("currency") or ""}
    fields.update({str(k): str(v) for k, v in stored.items()})
    fields = {k: mask_field(k, v) for k, v in fields.items() if v != ""}
    if "55" in fields:
        fields["55"] = f"<{len(fields['55']) // 2} bytes>"
    doc["fields"] = fields
    doc["dump"] = dump(fields, _field_names(), title=f"id {txn_id}") if fields else ""
    return doc


@functools.cache
def _field_names() -> dict | None:
    """Field names for dumps: the default dialect's spec (names are the same in every dialect)."""
    try:
        from switch.wire import load_dialect

        return load_dialect("ascii87").spec
    except Exception:  # names are a nicety; a dump without them is still right
        return None


def transaction_mid(engine: Engine, txn_id: int) -> tuple[bool, str | None]:
    """(exists, mid) of a transaction, for the access check before loading it."""
    with _ro(engine) as conn:
        row = conn.execute(select(iss.auth_log.c.mid).where(iss.auth_log.c.id == txn_id)).first()
    return (row is not None, row.mid if row is not None else None)


# -- batches, settlements, payouts, statements ------------------------------------------------------------
_SALES = ("purchase", "cash", "capture")
_RECONCILED = ("booked", "charged_back")  # states of the events a batch close counted (a chargeback came later)


def batches(engine: Engine, mid: str | None = None) -> list[dict]:
    """Closed batches (switch.wallets close_batch marks events with batch_id): per batch and terminal,
    sales and refunds as the terminal reconciled them."""
    e = wt.events
    counted = e.c.state.in_(_RECONCILED)  # a sale or refund reversed before the close was not in its totals
    is_sale = and_(e.c.kind.in_(_SALES), counted)
    is_refund = and_(e.c.kind == "refund", counted)
    q = (select(e.c.batch_id.label("id"), e.c.mid, e.c.tid, e.c.currency,
                func.sum(case((is_sale, 1), else_=0)).label("sales_count"),
                func.sum(case((is_sale, e.c.amount), else_=0)).label("sales_amount"),
                func.sum(case((is_refund, 1), else_=0)).label("refunds_count"),
                func.sum(case((is_refund, e.c.amount), else_=0)).label("refunds_amount"),
                func.sum(e.c.fee).label("fees"), func.max(e.c.created_ns).label("last_ns"))
         .where(e.c.batch_id.is_not(None), e.c.outcome == "ok")
         .group_by(e.c.batch_id, e.c.mid, e.c.tid, e.c.currency).order_by(func.max(e.c.created_ns).desc()))
    if mid is not None:
        q = q.where(e.c.mid == mid)
    with _ro(engine) as conn:
        rows = [_row(r) for r in conn.execute(q)]
    for row in rows:
        row["last_at"] = _ns_iso(row.pop("last_ns"))
    return rows


def settlements(engine: Engine, mid: str | None = None) -> list[dict]:
    """One row per settlement event of switch.wallets: net moved to available, gross sales, fees, debt
    recovered (N7), and how many card events it settled."""
    e = wt.events
    settled = (select(e.c.settlement_id, e.c.mid, func.count().label("n"))
               .where(e.c.settlement_id.is_not(None), e.c.kind != "settlement")
               .group_by(e.c.settlement_id, e.c.mid).subquery())
    q = (select(e.c.settlement_id.label("id"), e.c.mid, e.c.currency, e.c.amount.label("net"), e.c.detail,
                e.c.created_ns, func.coalesce(settled.c.n, 0).label("count"))
         .select_from(e.outerjoin(settled, and_(settled.c.settlement_id == e.c.settlement_id,
                                                settled.c.mid == e.c.mid)))
         .where(e.c.kind == "settlement", e.c.outcome == "ok").order_by(e.c.created_ns.desc()))
    if mid is not None:
        q = q.where(e.c.mid == mid)
    with _ro(engine) as conn:
        rows = [_row(r) for r in conn.execute(q)]
    for row in rows:
        try:
            detail = json.loads(row.pop("detail") or "{}")
        except ValueError:
            detail = {}
        row.update({k: detail.get(k) for k in ("gross", "fees", "recovered")})
        row["settled_at"] = _ns_iso(row.pop("created_ns"))
    return rows


def _ns_iso(ns: int | None) -> str | None:
    return _iso(datetime.fromtimestamp(ns / 1e9, UTC)) if ns else None


def payouts(engine: Engine, mid: str | None = None, limit: int = DEFAULT_LIMIT) -> list[dict]:
    p = wt.payouts
    q = select(p.c.id, p.c.mid, p.c.currency, p.c.amount, p.c.scheduled_on, p.c.due_on, p.c.status,
               p.c.paid_on).order_by(p.c.due_on.desc(), p.c.id).limit(limit)
    if mid is not None:
        q = q.where(p.c.mid == mid)
    with _ro(engine) as conn:
        return [_row(r) for r in conn.execute(q)]


STATEMENT_COLUMNS = ("time", "kind", "reference", "tid", "state", "currency", "amount", "fee", "net",
                     "batch_id", "settlement_id")


def statement(engine: Engine, mid: str, date_from: datetime | None, date_to: datetime | None) -> list[dict]:
    """Statement lines of a merchant: switch.wallets' statement when it has one, else its wallet events."""
    import switch.wallets as w

    fn = getattr(w, "statement", None)
    if callable(fn):
        # switch.wallets.statement takes whole days, the end day exclusive (as our date_to).
        end = None
        if date_to is not None:
            end = date_to.date() if date_to.time() == time() else date_to.date() + timedelta(days=1)
        lines = fn(engine, mid, date_from.date() if date_from else None, end)
        return [{k: _iso(v) for k, v in (ln if isinstance(ln, dict) else vars(ln)).items()} for ln in lines]
    e = wt.events
    q = select(e.c.key, e.c.kind, e.c.state, e.c.tid, e.c.currency, e.c.amount, e.c.fee, e.c.batch_id,
               e.c.settlement_id, e.c.created_ns).where(e.c.mid == mid).order_by(e.c.created_ns, e.c.key)
    if date_from is not None:
        q = q.where(e.c.created_ns >= int(date_from.timestamp() * 1e9))
    if date_to is not None:
        q = q.where(e.c.created_ns < int(date_to.timestamp() * 1e9))
    with _ro(engine) as conn:
        rows = conn.execute(q).all()
    return [{"time": _iso(datetime.fromtimestamp(r.created_ns / 1e9, UTC)), "kind": r.kind, "reference": r.key,
             "tid": r.tid, "state": r.state, "currency": r.currency, "amount": r.amount, "fee": r.fee,
             "net": r.amount - r.fee, "batch_id": r.batch_id, "settlement_id": r.settlement_id} for r in rows]
