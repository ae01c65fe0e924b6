"""Card events: idempotency, holds, captures, reversals (N7), refunds, chargebacks (N13), clawback (N14)."""

from __future__ import annotations

from switch.ledger import audit
from switch.wallets import RESPONSE_CODES

from .conftest import ATM, M1, SUSPENDED, settle_and_pay_out


def test_purchase_books_once_with_mdr_fee(wallets, card):
    o = wallets.purchase("POS00001:000001:1126100000", card, M1, "682", 10_000, tid="POS00001")
    assert o.ok and o.response_code == "00" and o.fee == 175 and not o.duplicate  # 1.75 % (N3)
    again = wallets.purchase("POS00001:000001:1126100000", card, M1, "682", 10_000, tid="POS00001")
    assert again.ok and again.duplicate
    assert wallets.card_balance(card) == (90_000, 90_000)
    assert wallets.merchant_wallets(M1) == [{"currency": "682", "available": 0, "unsettled": 9_825, "receivable": 0}]
    other = wallets.purchase("POS00001:000001:1126100000", card, M1, "682", 99, tid="POS00001")
    assert other.status == "duplicate_mismatch" and other.response_code == "94"
    assert audit(wallets.engine) == []


def test_insufficient_funds_answer_is_stored(wallets, card):
    o = wallets.purchase("k-big", card, M1, "682", 100_001)
    assert o.status == "insufficient_funds" and o.response_code == "51"  # B3: no negative card balance
    wallets.fund_card("topup-1", card, "682", 50_000)
    again = wallets.purchase("k-big", card, M1, "682", 100_001)
    assert again.status == "insufficient_funds" and again.duplicate
    assert wallets.card_balance(card) == (150_000, 150_000)


def test_merchant_checks(wallets, card):
    assert wallets.purchase("k1", card, SUSPENDED, "682", 100).status == "merchant_suspended"  # N8
    assert wallets.purchase("k2", card, "000000000000099", "682", 100).status == "merchant_unknown"
    assert wallets.purchase("k3", card, M1, "682", 0).status == "invalid"
    assert RESPONSE_CODES["merchant_suspended"] == "05"


def test_hold_partial_capture_releases_rest(wallets, card):
    assert wallets.authorize_hold("h1", card, M1, "682", 30_000).ok
    assert wallets.card_balance(card) == (100_000, 70_000)
    c = wallets.capture("c1", "h1", 20_000)
    assert c.ok and c.amount == 20_000 and c.fee == 350
    assert wallets.card_balance(card) == (80_000, 80_000)
    assert wallets.capture("c2", "h1").status == "invalid"  # already completed
    assert wallets.capture("c3", "nope").status == "not_found"
    assert wallets.merchant_wallets(M1)[0]["unsettled"] == 19_650
    assert audit(wallets.engine) == []


def test_hold_void_full_and_partial(wallets, card):
    wallets.authorize_hold("h1", card, M1, "682", 30_000)
    assert wallets.void("v1", "h1", 10_000).ok  # partial reversal: 20,000 stays held
    assert wallets.card_balance(card) == (100_000, 80_000)
    assert wallets.capture("c1", "h1").amount == 20_000
    wallets.authorize_hold("h2", card, M1, "682", 5_000)
    assert wallets.void("v2", "h2").ok
    assert wallets.void("v3", "h2").detail == "already reversed"
    assert wallets.card_balance(card) == (80_000, 80_000)
    assert audit(wallets.engine) == []


def test_hold_expires(wallets, card, clock):
    wallets.authorize_hold("h1", card, M1, "682", 30_000, timeout=60)
    clock.advance(61)
    assert wallets.capture("c1", "h1").status == "expired"
    assert wallets.card_balance(card) == (100_000, 100_000)
    assert audit(wallets.engine, now_ns=clock.now) == []


def test_reversal_before_settlement_returns_fee(wallets, card):
    wallets.purchase("p1", card, M1, "682", 10_000)
    r = wallets.void("r1", "p1")
    assert r.ok and r.fee == 175
    assert wallets.card_balance(card) == (100_000, 100_000)
    assert wallets.merchant_wallets(M1)[0]["unsettled"] == 0
    assert wallets.void("r9", "unknown").status == "not_found"
    assert audit(wallets.engine) == []


def test_reversal_after_settlement_and_payout_goes_to_receivable(wallets, card):
    """N7: a cancelled transaction is recovered from the wallet, else from later incoming money."""
    import datetime as dt
    wallets.purchase("p1", card, M1, "682", 10_000)
    settle_and_pay_out(wallets)
    assert wallets.merchant_wallets(M1)[0]["available"] == 0
    assert wallets.void("r1", "p1").ok
    assert wallets.merchant_wallets(M1)[0]["receivable"] == 9_825
    wallets.purchase("p2", card, M1, "682", 20_000)
    wallets.run_settlement(dt.date(2026, 11, 27))
    w = wallets.merchant_wallets(M1)[0]
    assert w["receivable"] == 0 and w["available"] == 20_000 - 350 - 9_825
    assert audit(wallets.engine) == []


def test_refund_reversed_gives_the_merchant_its_money_back(wallets, card):
    """A terminal's void of a refund: the card pays it back, the merchant gets it (wallet)."""
    import datetime as dt
    wallets.purchase("p1", card, M1, "682", 10_000)
    wallets.run_settlement(dt.date(2026, 11, 26))
    assert wallets.refund("rf1", card, M1, "682", 3_000).ok
    assert wallets.merchant_wallets(M1)[0]["available"] == 9_825 - 3_000
    part = wallets.void("v1", "rf1", 1_000)
    assert part.ok and part.kind == "reversal"
    assert wallets.merchant_wallets(M1)[0]["available"] == 9_825 - 2_000
    assert wallets.card_balance(card)[0] == 100_000 - 10_000 + 2_000
    assert wallets.void("v2", "rf1").ok  # the rest
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 9_825, "unsettled": 0, "receivable": 0}
    assert wallets.card_balance(card)[0] == 90_000
    assert wallets.void("v3", "rf1").detail == "already reversed"
    assert wallets.void("v2", "rf1").duplicate  # the same reversal again: its stored answer
    assert wallets.card_balance(card)[0] == 90_000
    assert audit(wallets.engine) == []


def test_refund_reversed_pays_off_the_debt_it_made_first(wallets, card):
    """N7: a refund larger than the wallet left a receivable; its reversal clears that debt first."""
    import datetime as dt
    wallets.purchase("p1", card, M1, "682", 1_000)
    wallets.run_settlement(dt.date(2026, 11, 26))
    assert wallets.refund("rf1", card, M1, "682", 5_000).ok
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 0, "unsettled": 0, "receivable": 4_018}
    assert wallets.void("v1", "rf1").ok
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 982, "unsettled": 0, "receivable": 0}
    assert audit(wallets.engine) == []


def test_refund_the_card_spent_cannot_be_reversed(wallets, card):
    """B3: the card account never goes negative, not even for a void."""
    import datetime as dt
    wallets.purchase("p1", card, M1, "682", 10_000)
    wallets.run_settlement(dt.date(2026, 11, 26))
    assert wallets.refund("rf1", card, M1, "682", 3_000).ok
    assert wallets.purchase("p2", card, M1, "682", 93_000).ok  # spends everything, the refund included
    refused = wallets.void("v1", "rf1")
    assert refused.status == "insufficient_funds" and refused.response_code == "51"
    assert wallets.card_balance(card)[0] == 0
    assert audit(wallets.engine) == []


def test_refund_shortfall_recovered_from_later_credits(wallets, card):
    import datetime as dt
    wallets.purchase("p1", card, M1, "682", 1_000)
    wallets.run_settlement(dt.date(2026, 11, 26))
    assert wallets.merchant_wallets(M1)[0]["available"] == 982
    assert wallets.refund("rf1", card, M1, "682", 5_000).ok
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 0, "unsettled": 0, "receivable": 4_018}
    assert wallets.card_balance(card)[0] == 100_000 - 1_000 + 5_000
    wallets.purchase("p2", card, M1, "682", 3_000)
    wallets.run_settlement(dt.date(2026, 11, 27))
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 0, "unsettled": 0,
                                               "receivable": 4_018 - 2_947}
    assert audit(wallets.engine) == []


def test_chargeback_repaid_at_once(wallets, card):
    """N13: on chargeback the merchant repays the full amount at once."""
    import datetime as dt
    wallets.purchase("p1", card, M1, "682", 10_000)
    wallets.run_settlement(dt.date(2026, 11, 26))
    cb = wallets.chargeback("cb1", "p1")
    assert cb.ok and cb.amount == 10_000
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 0, "unsettled": 0, "receivable": 175}
    assert wallets.card_balance(card)[0] == 100_000
    assert wallets.chargeback("cb2", "p1").status == "invalid"
    assert wallets.void("r1", "p1").status == "invalid"
    assert audit(wallets.engine) == []


def test_clawback_of_mistaken_deposit(wallets, card):
    """N14: a mistaken deposit is taken back; what was already paid out is owed."""
    import datetime as dt
    wallets.purchase("p1", card, M1, "682", 10_000)
    wallets.run_settlement(dt.date(2026, 11, 26))
    o = wallets.clawback("cl1", M1, "682", 12_000, "duplicated deposit of settlement S20261120")
    assert o.ok
    assert wallets.merchant_wallets(M1)[0] == {"currency": "682", "available": 0, "unsettled": 0, "receivable": 2_175}
    assert audit(wallets.engine) == []


def test_cash_withdrawal_and_card_transfer(wallets, card):
    assert wallets.cash_withdrawal("atm1", card, ATM, "682", 20_000, tid="ATM00001").ok
    assert wallets.merchant_wallets(ATM)[0]["unsettled"] == 20_000  # ATM owner's contract has no MDR
    other = wallets.open_card_account("card:test-2", "682", 0)
    t = wallets.card_transfer("x1", card, other, "682", 70_000, fee=500)
    assert t.ok
    assert wallets.card_balance(other) == (70_000, 70_000)
    assert wallets.card_balance(card) == (9_500, 9_500)
    # B3: a fee the balance cannot cover refuses the whole transfer.
    assert wallets.card_transfer("x2", card, other, "682", 9_500, fee=1).status == "insufficient_funds"
    assert wallets.void("x1r", "x1").ok
    assert wallets.card_balance(card) == (80_000, 80_000)
    assert audit(wallets.engine) == []


def test_reversal_of_expired_hold_answers_ok(wallets, card, clock):
    wallets.authorize_hold("h1", card, M1, "682", 30_000, timeout=60)
    clock.advance(61)
    r = wallets.void("v1", "h1")  # not yet swept: the reversal releases it first
    assert r.ok and r.detail == "hold expired"
    assert wallets.event_row("h1").state == "expired"
    assert wallets.card_balance(card) == (100_000, 100_000)
