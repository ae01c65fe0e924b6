"""Issue 10: a request whose booking would start after its answer budget (a slow database) books nothing
and is answered 91, in time for the terminal; one within budget is booked as usual."""

from __future__ import annotations

import time

from sqlalchemy import text

from switch.auth.context import AuthContext
from switch.ledger.committer import Committer
from tests.auth.harness import request


def _run(world, msg, deadline):
    runner, services, _ = world
    ctx = AuthContext(request=dict(msg), deadline=deadline)
    answered, job = runner.prepare(ctx)
    assert job is not None and answered is None
    out = []
    Committer(services.store.engine, group=False).submit(job, lambda r, e: out.append((r, e)))
    result, error = out[0]
    assert error is None, error
    return result, ctx


def _events(world) -> int:
    with world[1].store.engine.connect().execution_options(sqlite_readonly=True) as conn:
        return conn.execute(text("SELECT count(*) FROM wallet_events")).scalar()


def test_late_booking_is_refused_with_91_and_books_nothing(world):
    before = _events(world)
    answer, ctx = _run(world, request("good-visa", amount=4321), deadline=time.monotonic() - 0.001)
    assert answer["39"] == "91" and ctx.step == "deadline"
    assert _events(world) == before


def test_booking_within_budget_goes_through(world):
    before = _events(world)
    answer, _ = _run(world, request("good-visa", amount=4322), deadline=time.monotonic() + 30)
    assert answer["39"] == "00"
    assert _events(world) == before + 1
