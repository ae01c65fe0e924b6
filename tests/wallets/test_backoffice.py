"""Contracts (N3, N4, B11), calendars and payouts (N8, N9), batch close, dormancy (N16), statements (N5)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switch.ledger import audit
from switch.wallets import cycle_bounds, statement_csv
from switch.wallets.calendar import load_calendar
from switch.wallets.contracts import load_contracts

from .conftest import IQD_M, M1, M5, SUSPENDED

D = dt.date


def test_mdr_percent_fixed_min_max_and_rounding():
    """N3 fee = percent + fixed within [min, max]; B11 rounding per currency (SAR minor, IQD whole)."""
    std, prem = load_contracts()["standard"], load_contracts()["premium"]
    assert std.mdr_fee(10_000, "682") == 175
    assert std.mdr_fee(100, "682") == 10  # minimum
    assert std.mdr_fee(10**8, "SAR") == 50_000  # maximum
    assert std.mdr_fee(5, "682") == 5  # never more than the amount
    assert prem.mdr_fee(10_000, "682") == 170  # 1.20 % + 0.50 SAR fixed
    assert std.mdr_fee(1_234_567, "368") == 22_000  # 21,604.9 fils -> 22 whole dinars
    assert std.mdr_fee(1_000, "IQD") == 0 or std.mdr_fee(1_000, "IQD") % 1000 == 0
    assert std.round_fee(25, 2, "682") == 13  # 12.5 halils: half up
    assert std.round_fee(-25, 2, "682") == -13  # half away from zero, as Decimal's ROUND_HALF_UP


@settings(max_examples=400, deadline=None)
@given(amount=st.integers(0, 10**12), percent=st.decimals(0, 10, places=3), fixed=st.integers(0, 5_000),
       low=st.integers(0, 5_000), high=st.one_of(st.none(), st.integers(0, 10**7)),
       cur=st.sampled_from(["682", "368", "840", "414"]), whole=st.booleans())
def test_mdr_fee_matches_the_decimal_formula(amount, percent, fixed, low, high, cur, whole):
    """N3/B11 in exact integers gives what the rule's Decimal formula gives, for any contract."""
    from dataclasses import replace
    from decimal import ROUND_HALF_UP, Decimal

    from switch.wallets.currency import currency

    c = currency(cur)
    contract = replace(load_contracts()["standard"], mdr_percent=percent, mdr_fixed={c.alpha: fixed},
                       mdr_min={c.alpha: low}, mdr_max={} if high is None else {c.alpha: high},
                       rounding={c.alpha: "whole" if whole else "minor"})
    raw = max(Decimal(amount) * percent / 100 + fixed, Decimal(low))
    if high is not None:
        raw = min(raw, Decimal(high))
    step = Decimal(10) ** c.exponent if whole else Decimal(1)
    rounded = int((raw / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)
    assert contract.mdr_fee(amount, cur) == max(0, min(rounded, amount))


def test_saudi_calendar_sunday_to_thursday_with_holidays():
    cal = load_calendar("SA")
    assert cal.is_business_day(D(2026, 11, 29))  # Sunday
    assert not cal.is_business_day(D(2026, 11, 27))  # Friday
    assert not cal.is_business_day(D(2026, 9, 23))  # National Day
    assert cal.add_business_days(D(2026, 11, 26), 1) == D(2026, 11, 29)
    assert cal.add_business_days(D(2026, 3, 18), 1) == D(2026, 3, 23)  # Eid al-Fitr holiday skipped


def test_payouts_on_business_days_held_while_suspended(wallets, card):
    """N9: payout no later than 10 business days (contract delay 1); N8: suspension stops payouts."""
    wallets.purchase("p1", card, M1, "682", 10_000)
    wallets.purchase("p5", card, M5, "682", 10_000)
    day = D(2026, 11, 26)  # Thursday
    assert [o.amount for o in wallets.run_settlement(day)] == [9_825, 9_830]
    scheduled = {p["mid"]: p for p in wallets.schedule_payouts(day)}
    assert scheduled[M1]["due_on"] == "2026-11-29" and scheduled[M1]["amount"] == 9_825
    assert scheduled[M5]["due_on"] == "2026-12-01"  # merchant override: 3 business days
    cal = load_calendar("SA")
    assert all(cal.business_days_between(day, D.fromisoformat(p["due_on"])) <= 10 for p in scheduled.values())
    assert wallets.merchant_wallets(M1)[0]["available"] == 0  # reserved for the payout
    wallets.set_merchant_status(M1, "suspended", "suspected fraud: documents requested (N8)")
    paid = {p["mid"]: p["status"] for p in wallets.execute_payouts(D(2026, 12, 1))}
    assert paid == {M1: "held", M5: "paid"}
    wallets.set_merchant_status(M1, "active")
    assert [p["status"] for p in wallets.execute_payouts(D(2026, 12, 2))] == ["paid"]
    assert wallets.execute_payouts(D(2026, 12, 3)) == []
    assert [p["status"] for p in wallets.payouts(M1)] == ["paid"]
    assert wallets.schedule_payouts(day, SUSPENDED) == []
    assert audit(wallets.engine) == []


def test_batch_close_in_and_out_of_balance(wallets, card):
    wallets.purchase("p1", card, M1, "682", 1_000, tid="POS00001")
    wallets.purchase("p2", card, M1, "682", 2_000, tid="POS00001")
    wallets.purchase("p3", card, M1, "682", 4_000, tid="POS00001")
    wallets.void("p3r", "p3", tid="POS00001")
    wallets.refund("rf1", card, M1, "682", 500, tid="POS00001")
    wallets.purchase("x1", card, M1, "682", 9_000, tid="POS00002")
    bad = wallets.close_batch("POS00001", "B1", sales_count=3, sales_amount=7_000, refunds_count=1, refunds_amount=500)
    assert not bad.in_balance and (bad.sales_count, bad.sales_amount) == (2, 3_000)
    ok = wallets.close_batch("POS00001", "B1", sales_count=2, sales_amount=3_000, refunds_count=1, refunds_amount=500)
    assert ok.in_balance
    empty = wallets.close_batch("POS00001", "B2", sales_count=0, sales_amount=0, refunds_count=0, refunds_amount=0)
    assert empty.in_balance


def test_batch_close_leaves_out_a_reversed_refund(wallets, card):
    """The terminal voided the refund: neither side counts it."""
    wallets.purchase("p1", card, M1, "682", 1_000, tid="POS00001")
    wallets.refund("rf1", card, M1, "682", 500, tid="POS00001")
    wallets.refund("rf2", card, M1, "682", 300, tid="POS00001")
    assert wallets.void("rf2r", "rf2", tid="POS00001").ok
    bad = wallets.close_batch("POS00001", "B1", sales_count=1, sales_amount=1_000, refunds_count=2, refunds_amount=800)
    assert not bad.in_balance and (bad.refunds_count, bad.refunds_amount) == (1, 500)
    assert wallets.close_batch("POS00001", "B1", sales_count=1, sales_amount=1_000, refunds_count=1,
                               refunds_amount=500).in_balance


def test_the_batch_view_counts_what_the_close_reconciled(wallets, card):
    """The HTTP API's batches: a sale or refund reversed before the close is left out there too."""
    from switch.http.queries import batches

    wallets.purchase("p1", card, M1, "682", 1_000, tid="POS00001")
    wallets.purchase("p2", card, M1, "682", 2_000, tid="POS00001")
    assert wallets.void("p2r", "p2", tid="POS00001").ok
    wallets.refund("rf1", card, M1, "682", 500, tid="POS00001")
    wallets.refund("rf2", card, M1, "682", 300, tid="POS00001")
    assert wallets.void("rf2r", "rf2", tid="POS00001").ok
    assert wallets.close_batch("POS00001", "B1", sales_count=1, sales_amount=1_000, refunds_count=1,
                               refunds_amount=500).in_balance
    [view] = batches(wallets.engine, M1)
    assert (view["sales_count"], view["sales_amount"], view["refunds_count"], view["refunds_amount"]) == \
        (1, 1_000, 1, 500)


def test_periodic_fees_once_per_period(wallets, card):
    """N4: maintenance in two instalments (Q1, Q2 start); POS fee per device on the 26th (N5)."""
    charged = wallets.charge_periodic_fees(D(2026, 4, 26))
    keys = {o.key: o.amount for o in charged}
    assert keys[f"fee:maintenance:{M1}:2026Q1"] == 30_000
    assert keys[f"fee:maintenance:{M1}:2026Q2"] == 30_000
    assert keys[f"fee:pos:{M1}:2026-04"] == 3 * 5_000
    assert keys[f"fee:pos:{M5}:2026-04"] == 2 * 3_000
    assert wallets.charge_periodic_fees(D(2026, 4, 27)) == []  # same periods: nothing new
    assert wallets.merchant_wallets(M1)[0]["receivable"] == 75_000  # empty wallet: the fees are owed (N7)
    assert {o.key for o in wallets.charge_periodic_fees(D(2026, 5, 26))} >= {f"fee:pos:{M1}:2026-05"}
    assert audit(wallets.engine) == []


def test_dormancy_notice_then_write_off(wallets, card, clock):
    """N16: notice after 150 days without a payment, write-off after 180."""
    clock.now = int(dt.datetime(2026, 1, 10, tzinfo=dt.UTC).timestamp()) * 10**9
    wallets.purchase("p1", card, M1, "682", 1_000)
    acts = {a["mid"]: a["action"] for a in wallets.dormancy_run(D(2026, 6, 9))}  # 150 days after
    assert acts[M1] == "notice" and wallets.merchant(M1).dormancy_notice_on == D(2026, 6, 9)
    assert M1 not in {a["mid"] for a in wallets.dormancy_run(D(2026, 6, 10))}
    acts = {a["mid"]: a["action"] for a in wallets.dormancy_run(D(2026, 7, 9))}  # 180 days
    assert acts[M1] == "write_off" and wallets.merchant(M1).status == "written_off"


def test_cycle_bounds_26th_to_26th():
    assert cycle_bounds(D(2026, 11, 26)) == (D(2026, 11, 26), D(2026, 12, 26))
    assert cycle_bounds(D(2026, 11, 25)) == (D(2026, 10, 26), D(2026, 11, 26))
    assert cycle_bounds(D(2026, 1, 3)) == (D(2025, 12, 26), D(2026, 1, 26))


def test_statement_balances_add_up(engine, clock):
    """N5: opening + every line = closing, and closing equals the wallet balances."""
    from switch.wallets import Wallets, load_merchant_fixtures
    load_merchant_fixtures(engine, today=D(2026, 1, 1))
    clock.now = int(dt.datetime(2026, 10, 20, tzinfo=dt.UTC).timestamp()) * 10**9
    wallets = Wallets(engine, clock=clock)
    card = wallets.open_card_account("card:st", "682", 100_000)
    wallets.purchase("p0", card, M1, "682", 5_000)
    wallets.run_settlement(D(2026, 10, 20))
    clock.now = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp()) * 10**9
    wallets.purchase("p1", card, M1, "682", 10_000)
    wallets.refund("rf", card, M1, "682", 20_000)
    wallets.charge_fee("f1", M1, "682", 1_000, note="replacement device (N18)")
    wallets.run_settlement(D(2026, 11, 2))
    st = wallets.cycle_statement(M1, "682", D(2026, 11, 2))
    assert (st["from"], st["to"]) == ("2026-10-26", "2026-11-26")
    assert st["opening"]["available"] == 4_912
    for k in ("available", "unsettled", "receivable", "net"):
        key = "net" if k == "net" else k
        assert st["opening"][key] + sum(line[k] for line in st["lines"]) == st["closing"][key]
    w = wallets.merchant_wallets(M1)[0]
    assert (st["closing"]["available"], st["closing"]["unsettled"], st["closing"]["receivable"]) == (
        w["available"], w["unsettled"], w["receivable"])
    kinds = [line["kind"] for line in st["lines"]]
    assert "purchase" in kinds and "refund" in kinds and "mdr_fee" in kinds and "other_fee" in kinds
    csv_text = statement_csv(st).splitlines()
    assert csv_text[0].startswith("time,transfer_id,kind") and "opening" in csv_text[1] and "closing" in csv_text[-1]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_iqd_wallet_whole_unit_fee(wallets):
    card = wallets.open_card_account("card:iq", "368", 10_000_000)
    o = wallets.purchase("iq1", card, IQD_M, "368", 1_234_567)
    assert o.fee == 22_000
    assert wallets.merchant_wallets(IQD_M)[0]["currency"] == "368"


def test_payout_cancellation_window(wallets, card):
    """N10: cancellable until the end of the business day before execution; funds return, no fee."""
    wallets.purchase("p1", card, M5, "682", 10_000)
    wallets.run_settlement(D(2026, 11, 26))
    (p,) = wallets.schedule_payouts(D(2026, 11, 26), M5)  # due Tue 2026-12-01
    assert wallets.cancel_payout(p["id"], D(2026, 12, 1))["refused"]
    assert wallets.cancel_payout(p["id"], D(2026, 11, 30))["status"] == "cancelled"
    assert wallets.merchant_wallets(M5)[0]["available"] == 9_830
    assert wallets.execute_payouts(D(2026, 12, 2)) == []
    assert wallets.cancel_payout("nope", D(2026, 11, 30))["status"] == "not_found"
    assert audit(wallets.engine) == []
