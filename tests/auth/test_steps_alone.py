"""Each pipeline step on its own: a context prepared by hand, one step run, its decision checked."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from switch.auth import steps_card as sc
from switch.auth import steps_funds as sf
from switch.auth import steps_message as sm
from switch.auth.context import AuthContext
from tests.auth.harness import card, request


@pytest.fixture
def s(world):
    return world[1]


def ctx_for(s, msg, *, with_card=True):
    ctx = AuthContext(request=msg)
    ctx.terminal = s.store.terminal(msg["41"])
    ctx.merchant = s.store.merchant(ctx.terminal.mid) if ctx.terminal else None
    if with_card:
        sc.card_lookup(ctx, s)
    return ctx


def test_mandatory_fields_per_mti_and_type(s):
    ctx = AuthContext(request={"t": "0200", "3": "310000", "7": "1126120000", "11": "000001", "41": "POS00001",
                               "2": "4761739001010010"})
    sm.mandatory_fields(ctx, s)
    assert ctx.rc is None  # balance inquiry needs no amount
    ctx = AuthContext(request={**ctx.request, "3": "400000", "4": "000000000100", "49": "682"})
    sm.mandatory_fields(ctx, s)
    assert (ctx.rc, ctx.reason) == ("30", "missing field 103")  # transfer needs its destination
    ctx = AuthContext(request={"t": "0400", "3": "000000", "4": "1", "7": "1126120000", "11": "1", "41": "T",
                               "90": "0200"})
    sm.mandatory_fields(ctx, s)
    assert ctx.rc == "30"  # field 90 too short


def test_terminal_and_merchant_steps(s):
    ctx = AuthContext(request=request("good-visa", tid="POS00004"))
    sm.terminal_known(ctx, s)
    assert ctx.rc is None and ctx.terminal.tid == "POS00004"
    sm.merchant_active(ctx, s)
    assert ctx.rc == "05" and "N8" in ctx.reason
    ctx = AuthContext(request=dict(request("good-visa"), **{"42": "000000000000002"}))
    sm.terminal_known(ctx, s)
    assert ctx.rc == "58"  # field 42 names another merchant


def test_type_category_amount_steps(s):
    ctx = ctx_for(s, request("atm-card", proc="000000", tid="ATM00001"), with_card=False)
    sm.type_allowed(ctx, s)
    assert ctx.rc == "12"
    ctx = ctx_for(s, request("good-visa", tid="POS00005"), with_card=False)
    sm.merchant_category(ctx, s)
    assert ctx.rc == "57" and "B13" in ctx.reason
    ctx = ctx_for(s, request("good-visa", tid="POS00005", proc="310000"), with_card=False)
    sm.merchant_category(ctx, s)
    assert ctx.rc is None  # a balance inquiry buys nothing
    ctx = ctx_for(s, request("good-visa", **{"28": "C00000050"}), with_card=False)
    sm.amount_valid(ctx, s)
    assert ctx.rc == "13" and "N6" in ctx.reason
    ctx = ctx_for(s, request("good-visa", **{"49": "368"}), with_card=False)
    sm.amount_valid(ctx, s)
    assert ctx.rc == "13"


def test_card_lookup_status_expiry(s):
    ctx = ctx_for(s, request("bad-luhn", track=False))
    assert ctx.rc == "14" and ctx.reason == "bad check digit"
    ctx = ctx_for(s, request("remote-issuer"))
    assert ctx.rc is None and ctx.remote and ctx.card is None
    for label in ("lost", "stolen", "blocked", "expired", "pin-tries-exceeded"):
        ctx = ctx_for(s, request(label))
        sc.card_status(ctx, s)
        assert ctx.rc == card(label)["expect"], label
    ctx = ctx_for(s, request("good-visa"))
    ctx.now = datetime(2029, 1, 1, tzinfo=UTC)
    sc.expiry(ctx, s)
    assert ctx.rc == "54"
    ctx = ctx_for(s, request("good-visa", track=False, **{"14": "2701"}))
    sc.expiry(ctx, s)
    assert ctx.rc == "54" and "match" in ctx.reason


def test_cvv_and_pin_steps(s):
    ctx = ctx_for(s, request("bad-cvv"))
    sc.cvv(ctx, s)
    assert ctx.rc == "82"
    ctx = ctx_for(s, request("good-visa"))
    sc.cvv(ctx, s)
    sc.pin(ctx, s)
    assert ctx.rc is None
    ctx = ctx_for(s, request("good-visa", pin="0000"))
    sc.pin(ctx, s)
    assert ctx.rc == "55"


def test_limits_step_b4(s):
    """The same amount passes for a verified card and is over the unverified per-transaction limit."""
    ctx = ctx_for(s, request("unverified", amount=250000))
    sf.limits(ctx, s)
    assert ctx.rc == "61"
    ctx = ctx_for(s, request("good-visa", amount=250000))
    sf.limits(ctx, s)
    assert ctx.rc is None
    ctx = ctx_for(s, request("good-visa", amount=250000))
    ctx.card = dataclasses.replace(ctx.card, limits={"purchase": {"daily_count": 0}})
    sf.limits(ctx, s)
    assert ctx.rc == "65"


def test_a_wrong_pin_checked_by_two_processes_counts_one_try(both_world):
    """B5: a terminal retransmits its request to the other switch process, which checks it before the
    first journalled it: one request, one try. Another PIN block under the same STAN counts again."""
    _, s, _ = both_world
    msg = request("good-visa", pin="0000")
    first, second = ctx_for(s, dict(msg)), ctx_for(s, dict(msg))
    sc.pin(first, s)
    sc.pin(second, s)
    assert (first.rc, first.reason) == (second.rc, second.reason) == ("55", "wrong PIN (try 1 of 3)")
    other_block = ctx_for(s, dict(msg, **{"52": request("good-visa", pin="1111")["52"]}))  # same STAN and f7
    sc.pin(other_block, s)
    assert (other_block.rc, other_block.reason) == ("55", "wrong PIN (try 2 of 3)")  # another guess counts
    right = ctx_for(s, request("good-visa"))
    sc.pin(right, s)
    assert right.rc is None and s.store.find_card(card("good-visa")["pan"]).pin_tries == 0  # reset
