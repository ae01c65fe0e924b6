"""Wallet-level invariants on top of the ledger audit (acqsim ledger audit runs both)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from switch.ledger import tables as T
from switch.wallets import tables as W
from switch.wallets.chart import Code


def audit_wallets(engine: Engine) -> list[dict]:
    """Control and chargeback accounts net to zero (every balancing chain closed); every booked event's
    main transfer exists."""
    a, e, t = T.accounts.c, W.events.c, T.transfers.c
    out = []
    with engine.connect().execution_options(sqlite_readonly=True) as conn, conn.begin():
        for row in conn.execute(select(T.accounts).where(a.code.in_((Code.CONTROL, Code.CHARGEBACKS)))):
            if row.debits_posted != row.credits_posted or row.debits_pending or row.credits_pending:
                out.append({"check": "control_account_not_zero", "account": row.id,
                            "detail": f"zero-balance account {row.id} (code {row.code}) holds "
                                      f"{row.credits_posted - row.debits_posted}"})
        missing = conn.execute(select(e.key, e.transfer_id).select_from(
            W.events.outerjoin(T.transfers, t.id == e.transfer_id)).where(
            e.outcome == "ok", e.transfer_id.is_not(None), t.id.is_(None))).all()
    out += [{"check": "event_without_transfer", "event": key,
             "detail": f"event {key} is ok but its transfer {tid} is missing"} for key, tid in missing]
    return out
