"""Invariant checks over the whole ledger (`acqsim ledger audit`)."""

from __future__ import annotations

import time
from collections import defaultdict

from sqlalchemy import Engine, func, select

from switch.ledger import tables as T
from switch.ledger.types import AccountFlags, PendingStatus, TransferFlags

_NOT_POSTED = int(TransferFlags.PENDING | TransferFlags.VOID_PENDING_TRANSFER)
_POST_VOID = int(TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER)
_BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def audit(engine: Engine, now_ns: int | None = None) -> list[dict]:
    """Every broken invariant as a dict {"check", "detail", ...}; an empty list means the ledger is sound.

    Checks: debits equal credits per ledger (posted and pending); each account's four balances equal the
    sums of its transfers; no balance limit is broken; no hold is still pending past its timeout; a
    pending transfer is resolved at most once.
    """
    now_ns = time.time_ns() if now_ns is None else now_ns
    with engine.connect().execution_options(sqlite_readonly=True) as conn, conn.begin():
        accounts = [dict(r._mapping) for r in conn.execute(select(T.accounts))]
        sums = _transfer_sums(conn)
        overdue = conn.execute(select(T.pending.c.id, T.pending.c.expires_at).where(
            T.pending.c.status == PendingStatus.PENDING, T.pending.c.expires_at <= now_ns)).all()
        twice = conn.execute(select(T.transfers.c.pending_id, func.count()).where(
            T.transfers.c.flags.op("&")(_POST_VOID) != 0).group_by(T.transfers.c.pending_id)
            .having(func.count() > 1)).all()
    violations = _ledger_totals(accounts) + _account_sums(accounts, sums) + _limits(accounts)
    violations += [{"check": "hold_expired_unresolved", "transfer": pid, "expires_at": exp,
                    "detail": f"pending transfer {pid} is past its timeout but still pending"} for pid, exp in overdue]
    violations += [{"check": "pending_resolved_twice", "transfer": pid,
                    "detail": f"pending transfer {pid} has {n} post/void transfers"} for pid, n in twice]
    return violations


def _transfer_sums(conn) -> dict[tuple[int, str], int]:
    t, p = T.transfers.c, T.pending.c
    sums: dict[tuple[int, str], int] = defaultdict(int)
    posted = t.flags.op("&")(_NOT_POSTED) == 0
    for side, col in (("debits", t.debit_account_id), ("credits", t.credit_account_id)):
        for acct, total in conn.execute(select(col, func.sum(t.amount)).where(posted).group_by(col)):
            sums[(acct, side + "_posted")] += int(total)
        q = (select(col, func.sum(t.amount)).select_from(T.transfers.join(T.pending, p.id == t.id))
             .where(p.status == PendingStatus.PENDING).group_by(col))
        for acct, total in conn.execute(q):
            sums[(acct, side + "_pending")] += int(total)
    return sums


def _ledger_totals(accounts: list[dict]) -> list[dict]:
    totals: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_BALANCES, 0))
    for a in accounts:
        for b in _BALANCES:
            totals[a["ledger"]][b] += a[b]
    out = []
    for ledger, tot in sorted(totals.items()):
        for kind in ("posted", "pending"):
            if tot["debits_" + kind] != tot["credits_" + kind]:
                out.append({"check": "debits_equal_credits", "ledger": ledger,
                            "detail": f"ledger {ledger}: {kind} debits {tot['debits_' + kind]} != credits {tot['credits_' + kind]}"})
    return out


def _account_sums(accounts: list[dict], sums: dict) -> list[dict]:
    out = []
    known = {a["id"] for a in accounts}
    for a in accounts:
        for b in _BALANCES:
            expected = sums.get((a["id"], b), 0)
            if a[b] != expected:
                out.append({"check": "balance_equals_transfers", "account": a["id"], "balance": b,
                            "stored": a[b], "sum_of_transfers": expected,
                            "detail": f"account {a['id']} {b} is {a[b]}, transfers sum to {expected}"})
    for acct, _b in sorted({k for k in sums if k[0] not in known}):
        out.append({"check": "transfer_account_missing", "account": acct,
                    "detail": f"transfers reference account {acct}, which does not exist"})
    return out


def _limits(accounts: list[dict]) -> list[dict]:
    out = []
    for a in accounts:
        if a["flags"] & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and a["debits_pending"] + a["debits_posted"] > a["credits_posted"]:
            out.append({"check": "limit_debits_exceed_credits", "account": a["id"],
                        "detail": f"account {a['id']} debits exceed credits"})
        if a["flags"] & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and a["credits_pending"] + a["credits_posted"] > a["debits_posted"]:
            out.append({"check": "limit_credits_exceed_debits", "account": a["id"],
                        "detail": f"account {a['id']} credits exceed debits"})
        if min(a[b] for b in _BALANCES) < 0:
            out.append({"check": "negative_balance", "account": a["id"], "detail": f"account {a['id']} has a negative balance field"})
    return out
