"""Off-us acquiring: a sale approved by a remote issuer is paid to the merchant from that issuer's
interchange receivable, with the MDR fee (N3, B11); reversals give it back like a purchase's (N7)."""

from __future__ import annotations

from switch.ledger import audit
from switch.wallets.chart import Code, interchange_account_id, interchange_payable_id

from .conftest import ATM, M1, SUSPENDED, settle_and_pay_out

ISSUER = "REMOTEBANK"


def _receivable(wallets, issuer: str = ISSUER, cur: str = "682") -> int:
    """What the remote issuer owes us (debit balance of its interchange receivable)."""
    found = wallets.ledger.lookup_accounts([interchange_account_id(issuer, cur)])
    return found[0].debits_posted - found[0].credits_posted if found else 0


def test_offus_sale_credits_merchant_minus_mdr_from_interchange_receivable(wallets):
    o = wallets.acquire_offus("POS00001:000001:1126100000:0200", ISSUER, M1, "682", 10_000, tid="POS00001")
    assert o.ok and o.kind == "purchase" and o.fee == 175  # N3 MDR 1.75 %, B11 rounding: as a purchase
    assert wallets.merchant_wallets(M1) == [{"currency": "682", "available": 0, "unsettled": 9_825, "receivable": 0}]
    assert _receivable(wallets) == 10_000
    account = wallets.ledger.lookup_accounts([interchange_account_id(ISSUER, "682")])[0]
    assert account.code == Code.INTERCHANGE_RECEIVABLE
    assert audit(wallets.engine) == []


def test_offus_sale_is_idempotent_on_its_key(wallets):
    key = "POS00001:000002:1126100000:0200"
    assert wallets.acquire_offus(key, ISSUER, M1, "682", 10_000, tid="POS00001").ok
    again = wallets.acquire_offus(key, ISSUER, M1, "682", 10_000, tid="POS00001")
    assert again.ok and again.duplicate
    assert wallets.merchant_wallets(M1)[0]["unsettled"] == 9_825 and _receivable(wallets) == 10_000
    assert wallets.acquire_offus(key, ISSUER, M1, "682", 99).status == "duplicate_mismatch"


def test_offus_merchant_checks_as_for_a_purchase(wallets):
    assert wallets.acquire_offus("k1", ISSUER, SUSPENDED, "682", 100).status == "merchant_suspended"  # N8
    assert wallets.acquire_offus("k2", ISSUER, "000000000000099", "682", 100).status == "merchant_unknown"
    assert wallets.acquire_offus("k3", ISSUER, M1, "682", 0).status == "invalid"
    assert _receivable(wallets) == 0


def test_offus_cash_pays_the_atm_owner(wallets):
    o = wallets.acquire_offus("c1", ISSUER, ATM, "682", 20_000, tid="ATM00001", kind="cash")
    assert o.ok and o.kind == "cash"
    assert wallets.merchant_wallets(ATM)[0]["unsettled"] == 20_000  # the ATM owner's contract has no MDR
    assert _receivable(wallets) == 20_000


def test_void_offus_full_and_partial_before_settlement(wallets):
    wallets.acquire_offus("s1", ISSUER, M1, "682", 10_000)
    part = wallets.void("r1", "s1", 4_000)
    assert part.ok and part.fee == 175 - 105  # the fee of what stays (6,000) is kept (N3)
    assert wallets.merchant_wallets(M1)[0]["unsettled"] == 6_000 - 105 and _receivable(wallets) == 6_000
    assert wallets.void("r2", "s1").ok  # the rest
    assert wallets.merchant_wallets(M1)[0]["unsettled"] == 0 and _receivable(wallets) == 0
    assert wallets.void("r3", "s1").detail == "already reversed"
    assert audit(wallets.engine) == []


def test_void_offus_after_settlement_recovered_from_merchant(wallets):
    """N7: after settlement and payout the merchant's wallet owes it (receivable), the issuer owes nothing."""
    wallets.acquire_offus("s1", ISSUER, M1, "682", 10_000)
    settle_and_pay_out(wallets)
    assert wallets.merchant_wallets(M1)[0]["available"] == 0
    assert wallets.void("r1", "s1").ok
    assert wallets.merchant_wallets(M1)[0]["receivable"] == 9_825 and _receivable(wallets) == 0
    assert audit(wallets.engine) == []


def _payable(wallets, issuer: str = ISSUER, cur: str = "682") -> int:
    """What we owe the remote issuer for refunds (credit balance of its interchange payable)."""
    found = wallets.ledger.lookup_accounts([interchange_payable_id(issuer, cur)])
    return found[0].credits_posted - found[0].debits_posted if found else 0


def test_offus_refund_paid_by_the_merchant_owed_to_the_issuer_and_reversible(wallets):
    """N7: from the merchant's wallet, any shortfall to its receivable; the issuer is owed the refund
    in its own payable account, even when it owes us nothing (its receivable stays as it was)."""
    o = wallets.refund_offus("rf1", ISSUER, M1, "682", 2_000, tid="POS00001")
    assert o.ok and o.kind == "refund"
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 0, "unsettled": 0, "receivable": 2_000}
    assert _payable(wallets) == 2_000 and _receivable(wallets) == 0
    account = wallets.ledger.lookup_accounts([interchange_payable_id(ISSUER, "682")])[0]
    assert account.code == Code.INTERCHANGE_PAYABLE
    assert wallets.refund_offus("rf1", ISSUER, M1, "682", 2_000, tid="POS00001").duplicate
    assert wallets.refund_offus("rf2", ISSUER, SUSPENDED, "682", 100).status == "merchant_suspended"  # N8
    assert wallets.void("v1", "rf1").ok  # the terminal's void: the debt it made is cleared
    assert wallets.merchant_wallets(M1)[0]["receivable"] == 0 and _payable(wallets) == 0
    assert audit(wallets.engine) == []


def test_interchange_settlement_clears_what_each_side_owes(wallets):
    """The scheme settles with the issuer: its receivable is paid into the settlement bank account, our
    payable paid out of it; both end at zero, once per day (idempotent), and again the next day only for
    what was booked since."""
    import datetime as dt

    from switch.wallets.chart import system_account_id

    wallets.acquire_offus("s1", ISSUER, M1, "682", 10_000)
    wallets.acquire_offus("s2", ISSUER, M1, "682", 4_000)
    wallets.refund_offus("rf1", ISSUER, M1, "682", 1_500)
    assert wallets.interchange_positions([ISSUER, "NOBODY"]) == [
        {"issuer": ISSUER, "currency": "682", "receivable": 14_000, "payable": 1_500, "net": 12_500}]
    bank = system_account_id("682", "settlement")
    before = wallets.ledger.lookup_accounts([bank])
    done = wallets.settle_interchange(ISSUER, "SAR", dt.date(2026, 11, 27))
    assert done.ok and done.amount == 14_000
    assert _receivable(wallets) == 0 and _payable(wallets) == 0
    after = wallets.ledger.lookup_accounts([bank])[0]
    received = after.debits_posted - (before[0].debits_posted if before else 0)
    paid = after.credits_posted - (before[0].credits_posted if before else 0)
    assert (received, paid) == (14_000, 1_500)
    assert wallets.settle_interchange(ISSUER, "682", dt.date(2026, 11, 27)).duplicate  # same day: once
    assert wallets.settlement_of(ISSUER, "682", dt.date(2026, 11, 27)) == {"issuer": ISSUER, "received": 14_000,
                                                                           "paid": 1_500}
    wallets.acquire_offus("s3", ISSUER, M1, "682", 2_000)
    assert wallets.settle_interchange(ISSUER, "682", dt.date(2026, 11, 28)).amount == 2_000
    assert wallets.interchange_positions([ISSUER])[0]["net"] == 0
    assert audit(wallets.engine) == []


def test_after_the_scheme_settled_a_reversal_chargeback_or_void_is_owed_the_other_way(wallets):
    """Once the interchange is settled, a sale reversed or charged back is owed back to the issuer and a
    voided refund is owed to us: the positions go negative until the next settlement, which moves them
    the other way (nothing refused for a balance limit)."""
    import datetime as dt

    wallets.acquire_offus("s1", ISSUER, M1, "682", 10_000)
    wallets.acquire_offus("s2", ISSUER, M1, "682", 3_000)
    wallets.refund_offus("rf1", ISSUER, M1, "682", 1_000)
    assert wallets.settle_interchange(ISSUER, "682", dt.date(2026, 11, 27)).ok
    assert wallets.void("v1", "s1").ok  # the terminal's reversal, after the scheme settled the sale
    assert wallets.chargeback("cb1", "s2").ok  # N13: the issuer takes the money back
    assert wallets.void("v2", "rf1").ok
    [pos] = wallets.interchange_positions([ISSUER])
    assert (pos["receivable"], pos["payable"]) == (-13_000, -1_000)
    assert wallets.settle_interchange(ISSUER, "682", dt.date(2026, 11, 28)).ok
    assert wallets.settlement_of(ISSUER, "682", dt.date(2026, 11, 28)) == {"issuer": ISSUER, "received": -13_000,
                                                                           "paid": -1_000}
    assert wallets.interchange_positions([ISSUER])[0]["net"] == 0
    assert audit(wallets.engine) == []
