"""What the demo prints: a progress line per step, the transactions table and the merchant wallets."""

from __future__ import annotations

import sys


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


def transactions_table(rows: list[dict]) -> str:
    head = f"{'tid':<8} {'operation':<11} {'card':<17} {'entry':<11} {'amount':>9} {'rrn':<12} {'auth':<6} " \
           f"{'outcome':<8} {'expected':<8} ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['tid']:<8} {r['op']:<11} {r['pan']:<17} {r['entry']:<11} "
                     f"{money(r['amount']) if r['amount'] else '':>9} {r.get('rrn') or '':<12} "
                     f"{r.get('approval_code') or '':<6} {r['outcome']:<8} {r['expected']:<8} "
                     f"{'yes' if r['ok'] else 'NO'}")
    return "\n".join(lines)


def wallets_table(wallets: list[dict]) -> str:
    head = f"{'mid':<15} {'merchant':<28} {'cur':<3} {'available':>12} {'unsettled':>12} {'receivable':>12}"
    lines = [head, "-" * len(head)]
    for w in wallets:
        lines.append(f"{w['mid']:<15} {w['name'][:28]:<28} {w['currency']:<3} {money(w['available']):>12} "
                     f"{money(w['unsettled']):>12} {money(w['receivable']):>12}")
    return "\n".join(lines)


def payouts_table(payouts: list[dict]) -> str:
    head = f"{'payout':<36} {'mid':<15} {'cur':<3} {'amount':>12} {'due':<10} {'status':<8}"
    lines = [head, "-" * len(head)]
    for p in payouts:
        lines.append(f"{str(p.get('id')):<36} {p.get('mid', ''):<15} {p.get('currency', ''):<3} "
                     f"{money(p.get('amount')):>12} {str(p.get('due_on') or ''):<10} {str(p.get('status')):<8}")
    return "\n".join(lines)
