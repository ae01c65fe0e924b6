"""Ledger semantics (TigerBeetle): result codes, holds, linked chains, balancing, limits, idempotency."""

from __future__ import annotations

import pytest

from switch.ledger import (
    AMOUNT_MAX,
    Account,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    Ledger,
    PendingStatus,
    Transfer,
    TransferFlags,
    audit,
    id_from,
)

R = CreateTransferResult
F = TransferFlags
L = 682


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000 * 10**9

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def ledger(engine, clock):
    led = Ledger(engine, clock=clock)
    # 1 bank (no limits), 2 card (debits <= credits), 3 merchant, 4 receivable (credits <= debits), 5 other ledger
    assert led.create_accounts([
        Account(1, L, 10), Account(2, L, 20, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
        Account(3, L, 30), Account(4, L, 40, flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
        Account(5, 840, 10),
    ]) == ["ok"] * 5
    assert led.create_transfers([Transfer(100, 1, 2, 1000, ledger=L, code=1)]) == ["ok"]
    return led


def bal(ledger, i):
    a = ledger.lookup_accounts([i])[0]
    return a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted


def t(id_, dr, cr, amount, **kw):
    return Transfer(id_, dr, cr, amount, ledger=kw.pop("ledger", L), code=kw.pop("code", 1), **kw)


def test_account_results(ledger):
    A = CreateAccountResult
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    res = ledger.create_accounts([Account(0, L, 1), Account(1, L, 10), Account(1, L, 11), Account(9, L, 1, flags=both),
                                  Account(9, 0, 1), Account(9, L, 0)])
    assert res == [A.ID_MUST_NOT_BE_ZERO, A.EXISTS, A.EXISTS_WITH_DIFFERENT_CODE, A.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
                   A.LEDGER_MUST_NOT_BE_ZERO, A.CODE_MUST_NOT_BE_ZERO]
    res = ledger.create_accounts([Account(7, L, 1, flags=AccountFlags.LINKED), Account(8, 0, 1)])
    assert res == [A.LINKED_EVENT_FAILED, A.LEDGER_MUST_NOT_BE_ZERO]
    assert ledger.lookup_accounts([7, 8]) == []


def test_validation_codes(ledger):
    cases = [
        (Transfer(0, 1, 3, 1, ledger=L, code=1), R.ID_MUST_NOT_BE_ZERO),
        (Transfer(2**63 - 1, 1, 3, 1, ledger=L, code=1), R.ID_MUST_NOT_BE_INT_MAX),
        (t(201, 1, 3, 1, flags=F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
        (t(202, 0, 3, 1), R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
        (t(203, 1, 0, 1), R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO),
        (t(204, 1, 1, 1), R.ACCOUNTS_MUST_BE_DIFFERENT),
        (t(205, 1, 3, 1, pending_id=5), R.PENDING_ID_MUST_BE_ZERO),
        (t(206, 1, 3, 1, timeout=5), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
        (t(207, 1, 3, -1), R.AMOUNT_MUST_NOT_BE_NEGATIVE),
        (t(208, 1, 3, 1, ledger=0), R.LEDGER_MUST_NOT_BE_ZERO),
        (t(209, 1, 3, 1, code=0), R.CODE_MUST_NOT_BE_ZERO),
        (t(210, 99, 3, 1), R.DEBIT_ACCOUNT_NOT_FOUND),
        (t(211, 1, 99, 1), R.CREDIT_ACCOUNT_NOT_FOUND),
        (t(212, 1, 5, 1), R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER),
        (t(213, 1, 3, 1, ledger=840), R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS),
        (t(214, 2, 3, 1001), R.EXCEEDS_CREDITS),
        (t(215, 1, 4, 1), R.EXCEEDS_DEBITS),
        (t(216, 1, 3, AMOUNT_MAX - 1000), R.OK),
        (t(217, 1, 3, 1), R.OVERFLOWS_DEBITS),
    ]
    assert ledger.create_transfers([c for c, _ in cases]) == [r for _, r in cases]


def test_idempotent_by_id(ledger):
    assert ledger.create_transfers([t(300, 2, 3, 100)]) == [R.OK]
    again = ledger.create_transfers([t(300, 2, 3, 100), t(300, 2, 3, 101), t(300, 1, 3, 100),
                                     t(300, 2, 3, 100, code=2), t(300, 2, 3, 100, flags=F.PENDING)])
    assert again == [R.EXISTS, R.EXISTS_WITH_DIFFERENT_AMOUNT, R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
                     R.EXISTS_WITH_DIFFERENT_CODE, R.EXISTS_WITH_DIFFERENT_FLAGS]
    assert bal(ledger, 2) == (0, 100, 0, 1000)


def test_hold_counts_against_limit_then_partial_post(ledger):
    assert ledger.create_transfers([t(400, 2, 3, 700, flags=F.PENDING, timeout=60)]) == [R.OK]
    assert bal(ledger, 2) == (700, 0, 0, 1000)
    assert ledger.create_transfers([t(401, 2, 3, 400)]) == [R.EXCEEDS_CREDITS]
    post = Transfer(402, pending_id=400, amount=500, flags=F.POST_PENDING_TRANSFER)
    assert ledger.create_transfers([Transfer(403, pending_id=400, amount=701, flags=F.POST_PENDING_TRANSFER),
                                    post]) == [R.EXCEEDS_PENDING_TRANSFER_AMOUNT, R.OK]
    assert bal(ledger, 2) == (0, 500, 0, 1000)
    assert bal(ledger, 3) == (0, 0, 0, 500)
    assert ledger.create_transfers([post]) == [R.EXISTS]
    assert ledger.create_transfers([Transfer(404, pending_id=400, flags=F.VOID_PENDING_TRANSFER)]) == [
        R.PENDING_TRANSFER_ALREADY_POSTED]
    assert ledger.pending_status(400) is PendingStatus.POSTED
    assert audit(ledger.engine) == []


def test_void_full_post_and_not_found(ledger):
    res = ledger.create_transfers([
        t(500, 2, 3, 300, flags=F.PENDING), Transfer(501, pending_id=500, flags=F.VOID_PENDING_TRANSFER),
        t(502, 2, 3, 200, flags=F.PENDING), Transfer(503, pending_id=502, amount=AMOUNT_MAX, flags=F.POST_PENDING_TRANSFER),
        Transfer(504, pending_id=500, flags=F.POST_PENDING_TRANSFER), Transfer(505, pending_id=999, flags=F.VOID_PENDING_TRANSFER),
        Transfer(506, pending_id=100, flags=F.VOID_PENDING_TRANSFER), Transfer(507, flags=F.VOID_PENDING_TRANSFER),
        Transfer(508, pending_id=502, debit_account_id=1, flags=F.VOID_PENDING_TRANSFER),
    ])
    assert res == [R.OK, R.OK, R.OK, R.OK, R.PENDING_TRANSFER_ALREADY_VOIDED, R.PENDING_TRANSFER_NOT_FOUND,
                   R.PENDING_TRANSFER_NOT_PENDING, R.PENDING_ID_MUST_NOT_BE_ZERO,
                   R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID]
    assert bal(ledger, 2) == (0, 200, 0, 1000)
    assert ledger.lookup_transfers([503])[0].amount == 200


def test_hold_expires(ledger, clock):
    assert ledger.create_transfers([t(600, 2, 3, 900, flags=F.PENDING, timeout=30)]) == [R.OK]
    clock.now += 29 * 10**9
    assert ledger.create_transfers([t(601, 2, 3, 200)]) == [R.EXCEEDS_CREDITS]
    clock.now += 2 * 10**9
    assert audit(ledger.engine, now_ns=clock.now)[0]["check"] == "hold_expired_unresolved"
    assert ledger.create_transfers([Transfer(602, pending_id=600, flags=F.POST_PENDING_TRANSFER, amount=AMOUNT_MAX),
                                    t(603, 2, 3, 200)]) == [R.PENDING_TRANSFER_EXPIRED, R.OK]
    assert ledger.pending_status(600) is PendingStatus.EXPIRED
    assert audit(ledger.engine, now_ns=clock.now) == []


def test_expire_pending_sweep(ledger, clock):
    ledger.create_transfers([t(650 + i, 2, 3, 10, flags=F.PENDING, timeout=1) for i in range(5)])
    clock.now += 2 * 10**9
    assert ledger.expire_pending() == 5
    assert bal(ledger, 2) == (0, 0, 0, 1000)


def test_linked_chain_all_or_nothing(ledger):
    res = ledger.create_transfers([t(700, 2, 3, 600, flags=F.LINKED), t(701, 2, 3, 600), t(702, 1, 3, 5)])
    assert res == [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS, R.OK]
    assert bal(ledger, 2) == (0, 0, 0, 1000)
    assert ledger.lookup_transfers([700, 701]) == []
    res = ledger.create_transfers([t(703, 2, 3, 1, flags=F.LINKED), t(704, 2, 3, 1, flags=F.LINKED)])
    assert res == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]
    # A pending created and posted inside a failed chain leaves nothing behind.
    res = ledger.create_transfers([t(705, 2, 3, 10, flags=F.PENDING | F.LINKED),
                                   Transfer(706, pending_id=705, flags=F.POST_PENDING_TRANSFER | F.LINKED, amount=AMOUNT_MAX),
                                   t(707, 1, 4, 1)])
    assert res == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_FAILED, R.EXCEEDS_DEBITS]
    assert ledger.pending_status(705) is None
    assert audit(ledger.engine) == []


def test_balancing_transfers_take_what_is_there(ledger):
    # Receivable 4 owes 300; a recovery of up to 1000 takes only 300 (balancing_credit).
    assert ledger.create_transfers([t(800, 4, 1, 300)]) == [R.OK]
    assert ledger.create_transfers([t(801, 3, 4, 1000, flags=F.BALANCING_CREDIT)]) == [R.OK]
    assert ledger.lookup_transfers([801])[0].amount == 300
    assert ledger.create_transfers([t(802, 2, 3, 5000, flags=F.BALANCING_DEBIT)]) == [R.OK]
    assert ledger.lookup_transfers([802])[0].amount == 1000
    assert ledger.create_transfers([t(802, 2, 3, 5000, flags=F.BALANCING_DEBIT)]) == [R.EXISTS]
    assert audit(ledger.engine) == []


def test_id_from_is_stable():
    assert id_from("TERM0001", "000001", "1126120000") == id_from("TERM0001", "000001", "1126120000")
    assert 0 < id_from("x") < 2**63 - 1


def test_a_retried_attempt_sweeps_again(ledger, clock):
    """An attempt that clashes is rolled back with the overdue holds it released: the retry releases them
    again (optimistic first attempts clash on every duplicate on PostgreSQL)."""
    assert ledger.create_transfers([t(660, 2, 3, 900, flags=F.PENDING, timeout=1), t(661, 2, 3, 50)]) == [R.OK, R.OK]
    clock.now += 5 * 10**9  # the hold is overdue and the last sweep more than a second old
    # Optimistic: the first attempt takes 661 as new and sweeps; its insert clashes; the retry finds 661.
    assert ledger.create_transfers([t(661, 2, 3, 50)], optimistic=True) == [R.EXISTS]
    assert ledger.pending_status(660) is PendingStatus.EXPIRED
    assert audit(ledger.engine, now_ns=clock.now) == []
