"""The ledger's shortcuts for bookings inside a request's job (switch.ledger.unit), and the hold sweep."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from switch.ledger import Account, AccountFlags, Ledger, PendingStatus, Transfer, TransferFlags, unit
from tests.ledger.test_ledger import Clock, L


@pytest.fixture
def ledger(sqlite_engine):
    led = Ledger(sqlite_engine, clock=Clock())
    led.create_accounts([Account(1, L, 10), Account(2, L, 20, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
                         Account(3, L, 30)])
    led.create_transfers([Transfer(100, 1, 2, 1000, ledger=L, code=1)])
    return led


def _in_job(ledger: Ledger, work):
    return unit.run_job(ledger.engine, lambda conn: work())


def test_fresh_booking_in_a_job_is_part_of_the_job(ledger):
    def job():
        assert ledger.create_transfers([Transfer(200, 2, 3, 300, ledger=L, code=1)], fresh=True) == ["ok"]
        raise RuntimeError("the request failed after booking")

    with pytest.raises(RuntimeError):
        _in_job(ledger, job)
    # No savepoint of its own: the job's rollback took the booking with it.
    assert ledger.lookup_transfers([200]) == []
    assert ledger.lookup_accounts([2])[0].debits_posted == 0
    assert _in_job(ledger, lambda: ledger.create_transfers([Transfer(200, 2, 3, 300, ledger=L, code=1)],
                                                           fresh=True)) == ["ok"]
    assert ledger.lookup_accounts([2])[0].debits_posted == 300


def test_fresh_booking_with_a_used_id_fails_the_job_instead_of_answering_exists(ledger):
    # A caller that breaks the promise (an id already booked) gets an error, never a second booking.
    with pytest.raises((IntegrityError, ledger.engine.dialect.dbapi.IntegrityError)):
        _in_job(ledger, lambda: ledger.create_transfers([Transfer(100, 1, 2, 1000, ledger=L, code=1)], fresh=True))
    assert ledger.lookup_accounts([2])[0].credits_posted == 1000
    # Outside a job the flag changes nothing: the id is looked up and answered `exists`.
    assert ledger.create_transfers([Transfer(100, 1, 2, 1000, ledger=L, code=1)], fresh=True) == ["exists"]


def test_overdue_holds_are_swept_at_most_once_a_second(ledger):
    clock, s = ledger.clock, 10**9
    card = lambda id_, amount, **kw: Transfer(id_, 2, 3, amount, ledger=L, code=1, **kw)  # noqa: E731
    clock.now += 2 * s
    assert ledger.create_transfers([card(300, 700, flags=TransferFlags.PENDING, timeout=2)]) == ["ok"]  # swept
    clock.now += int(1.5 * s)
    assert ledger.create_transfers([card(301, 50)]) == ["ok"]  # a second later: swept again, nothing due
    clock.now += int(0.7 * s)
    # The hold is due, but the last sweep was 0.7 s ago: it still counts against the card (1000 - 750)...
    assert ledger.create_transfers([card(302, 300)]) == ["exceeds_credits"]
    assert ledger.pending_status(300) is PendingStatus.PENDING
    # ...until the next sweep, at most a second later; posting it now is refused as expired.
    clock.now += int(0.4 * s)
    assert ledger.create_transfers([card(303, 300)]) == ["ok"]
    assert ledger.pending_status(300) is PendingStatus.EXPIRED
    post = Transfer(304, pending_id=300, flags=TransferFlags.POST_PENDING_TRANSFER, amount=0)
    assert ledger.create_transfers([post]) == ["pending_transfer_expired"]
