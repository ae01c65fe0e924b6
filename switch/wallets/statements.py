"""Merchant statements (N5): every posted transfer of a period with opening and closing balances.

The billing cycle runs from the 26th to the 26th (N5): a cycle [26th of month M-1 00:00 UTC, 26th of
month M 00:00 UTC). Amounts are signed changes in minor units: available and unsettled are what the
merchant holds, receivable what it owes; net = available + unsettled - receivable.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import func, select

from switch.ledger import TransferFlags
from switch.ledger import tables as T
from switch.wallets import chart
from switch.wallets.chart import Kind
from switch.wallets.currency import currency

_NOT_POSTED = int(TransferFlags.PENDING | TransferFlags.VOID_PENDING_TRANSFER)
ROLES = ("available", "unsettled", "receivable")
COLUMNS = ("time", "transfer_id", "kind", "available", "unsettled", "receivable", "net", "balance")


def cycle_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """The billing cycle (N5) containing `day`: [start 26th, end 26th)."""
    if day.day >= 26:
        start = day.replace(day=26)
    else:
        start = (day.replace(day=1) - dt.timedelta(days=1)).replace(day=26)
    end = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=26)
    return start, end


def _ns(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 10**9


def _sign(role: str, debit: bool) -> int:
    if role == "receivable":  # a debit to the receivable is debt: it lowers what the merchant is worth
        return 1 if debit else -1
    return -1 if debit else 1


def build_statement(engine, mid: str, cur: str, date_from: dt.date, date_to: dt.date) -> dict:
    cur = currency(cur).numeric
    ids = {chart.merchant_account_id(mid, cur, r): r for r in ROLES}
    t = T.transfers.c
    posted = t.flags.op("&")(_NOT_POSTED) == 0
    touches = t.debit_account_id.in_(ids) | t.credit_account_id.in_(ids)
    lo, hi = _ns(date_from), _ns(date_to)
    with engine.connect().execution_options(sqlite_readonly=True) as conn, conn.begin():
        opening = dict.fromkeys(ROLES, 0)
        for col, debit in ((t.debit_account_id, True), (t.credit_account_id, False)):
            q = select(col, func.sum(t.amount)).where(posted, col.in_(ids), t.timestamp < lo).group_by(col)
            for acct, total in conn.execute(q):
                opening[ids[acct]] += _sign(ids[acct], debit) * int(total)
        rows = conn.execute(select(T.transfers).where(posted, touches, t.timestamp >= lo, t.timestamp < hi)
                            .order_by(t.timestamp, t.id)).all()
    lines, running = [], dict(opening)
    for r in rows:
        change = dict.fromkeys(ROLES, 0)
        if r.debit_account_id in ids:
            change[ids[r.debit_account_id]] += _sign(ids[r.debit_account_id], True) * r.amount
        if r.credit_account_id in ids:
            change[ids[r.credit_account_id]] += _sign(ids[r.credit_account_id], False) * r.amount
        for k in ROLES:
            running[k] += change[k]
        net = change["available"] + change["unsettled"] - change["receivable"]
        lines.append({"time": dt.datetime.fromtimestamp(r.timestamp / 1e9, dt.UTC).isoformat(timespec="milliseconds"),
                      "transfer_id": str(r.id), "kind": _kind(r.code), **change, "net": net,
                      "balance": running["available"] + running["unsettled"] - running["receivable"]})
    closing = running
    return {"mid": mid, "currency": cur, "from": date_from.isoformat(), "to": date_to.isoformat(),
            "opening": {**opening, "net": _net(opening)}, "closing": {**closing, "net": _net(closing)},
            "lines": lines}


def _net(b: dict) -> int:
    return b["available"] + b["unsettled"] - b["receivable"]


def _kind(code: int) -> str:
    try:
        return Kind(code).name.lower()
    except ValueError:
        return str(code)


def statement_csv(statement: dict) -> str:
    """CSV: an opening row, one row per line, a closing row."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    o, c = statement["opening"], statement["closing"]
    w.writerow([statement["from"], "", "opening", o["available"], o["unsettled"], o["receivable"], "", o["net"]])
    for line in statement["lines"]:
        w.writerow([line[k] for k in COLUMNS])
    w.writerow([statement["to"], "", "closing", c["available"], c["unsettled"], c["receivable"], "", c["net"]])
    return out.getvalue()
