"""What the demo prints: a progress line per step, the transactions table and the merchant wallets."""

from __future__ import annotations

import sys
from collections.abc import Callable


def money(minor: int | None, exponent: int = 2) -> str:
    if minor is None:
        return ""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 10**exponent}.{minor % 10**exponent:0{exponent}d}"


def progress(i: int, total: int, row: dict) -> None:
    mark = "ok " if row["ok"] else "BAD"
    what = f"{row['op']:<11} {row['pan'] or '':<17} {money(row['amount']) if row['amount'] else '':>8}"
    sys.stderr.write(f"[{i:>2}/{total}] {mark} {row['tid']} {what} -> {row['outcome']:<8} "
                     f"(expected {row['expected']})  {row['note']}\n")
    sys.stderr.flush()


# A column: (title, width, ">" to right-align, value of a row as text).
Column = tuple[str, int, str, Callable[[dict], object]]


def _table(columns: list[Column], rows: list[dict]) -> str:
    head = " ".join(f"{title:{align}{width}}" for title, width, align, _ in columns).rstrip()
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(" ".join(f"{str(get(row))[:width]:{align}{width}}" for _, width, align, get in columns).rstrip())
    return "\n".join(lines)


def transactions_table(rows: list[dict]) -> str:
    return _table([
        ("tid", 8, "<", lambda r: r["tid"]), ("operation", 11, "<", lambda r: r["op"]),
        ("card", 17, "<", lambda r: r["pan"]), ("entry", 11, "<", lambda r: r["entry"]),
        ("amount", 9, ">", lambda r: money(r["amount"]) if r["amount"] else ""),
        ("rrn", 12, "<", lambda r: r.get("rrn") or ""), ("auth", 6, "<", lambda r: r.get("approval_code") or ""),
        ("outcome", 8, "<", lambda r: r["outcome"]), ("expected", 8, "<", lambda r: r["expected"]),
        ("ok", 3, "<", lambda r: "yes" if r["ok"] else "NO"),
    ], rows)


def wallets_table(wallets: list[dict]) -> str:
    return _table([
        ("mid", 15, "<", lambda w: w["mid"]), ("merchant", 28, "<", lambda w: w["name"]),
        ("cur", 3, "<", lambda w: w["currency"]), ("available", 12, ">", lambda w: money(w["available"])),
        ("unsettled", 12, ">", lambda w: money(w["unsettled"])), ("receivable", 12, ">", lambda w: money(w["receivable"])),
    ], wallets)


def payouts_table(payouts: list[dict]) -> str:
    return _table([
        ("payout", 36, "<", lambda p: p.get("id")), ("mid", 15, "<", lambda p: p.get("mid", "")),
        ("cur", 3, "<", lambda p: p.get("currency", "")), ("amount", 12, ">", lambda p: money(p.get("amount"))),
        ("due", 10, "<", lambda p: p.get("due_on") or ""), ("status", 8, "<", lambda p: p.get("status")),
    ], payouts)


def interchange_line(x: dict) -> str:
    from switch.wallets.currency import currency

    exp = currency(x["currency"]).exponent
    return (f"Interchange settled with {x['issuer']} ({x['currency']}): it paid us {money(x['received'], exp)} for "
            f"its cardholders' sales, we paid it {money(x['paid'], exp)} for their refunds")
