"""The split pipeline (read-only checks, then one job with every write) and the reference-data cache.

Cards, terminals and merchants are cached per process and dropped when ref_generation moves; database
triggers move it on any change, however made (another store, the CLI, another process, plain SQL).
"""

from __future__ import annotations

from sqlalchemy import text

from switch.auth.context import AuthContext
from switch.issuer.pan import PanVault
from switch.issuer.store import IssuerStore
from switch.ledger.committer import Committer
from tests.auth.harness import FX, card, request


def run_split(world, msg, committer=None):
    runner, services, _ = world
    ctx = AuthContext(request=dict(msg))
    answered, job = runner.prepare(ctx)
    if job is None:
        return answered, ctx
    out = []
    (committer or Committer(services.store.engine, group=False)).submit(job, lambda r, e: out.append((r, e)))
    if committer is not None:
        committer.stop()
    result, error = out[0]
    assert error is None, error
    return result, ctx


def test_split_run_books_once_and_repeat_gets_stored_answer(world):
    """Group-committed job: approved and journalled; the same request again is answered from the journal."""
    _, services, _ = world
    msg = request("good-visa", amount=1234)
    first, _ = run_split(world, msg, Committer(services.store.engine, group=True))
    assert first["39"] == "00"
    again, ctx = run_split(world, msg)
    assert again == first and ctx.stored_answer is not None
    n = services.store.engine.connect().execute(text("SELECT count(*) FROM wallet_events")).scalar()
    assert n >= 1


def test_card_blocked_elsewhere_is_seen_at_once(world):
    """A card blocked through another store (as the CLI does) is refused by the next request (B6),
    although the pipeline's store cached it a moment earlier."""
    _, services, _ = world
    assert run_split(world, request("good-mc", amount=100))[0]["39"] == "00"
    assert services.store._cards  # cached now
    other = IssuerStore(services.store.engine, PanVault.from_hex(FX.card_data_key()))
    found = other.find_card(card("good-mc")["pan"])
    other.set_status(found.card_id, "blocked", "test")
    resp, ctx = run_split(world, request("good-mc", amount=100))
    assert resp["39"] == "62", (ctx.step, ctx.reason)


def test_terminal_change_by_plain_sql_drops_the_cache(world):
    _, services, _ = world
    assert run_split(world, request("good-visa", amount=100))[0]["39"] == "00"
    with services.store.engine.begin() as conn:
        conn.execute(text("UPDATE iss_terminals SET status = 'inactive' WHERE tid = 'POS00001'"))
    resp, ctx = run_split(world, request("good-visa", amount=100))
    assert resp["39"] == "58", (ctx.step, ctx.reason)


def test_failed_job_answers_96_and_keeps_nothing(world):
    """An error inside the job rolls the whole request back (no booking, no journal row)."""
    runner, services, funds = world
    ctx = AuthContext(request=request("good-visa", amount=777))
    answered, job = runner.prepare(ctx)
    assert answered is None

    def failing(conn):
        job(conn)
        raise RuntimeError("disk full")

    out = []
    Committer(services.store.engine, group=True).submit(failing, lambda r, e: out.append(e))
    import time

    for _ in range(100):
        if out:
            break
        time.sleep(0.05)
    assert isinstance(out[0], RuntimeError)
    assert runner.failed(ctx, out[0])["39"] == "96"
    with services.store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM auth_requests WHERE stan = :s"),
                            {"s": ctx.stan}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM wallet_events WHERE key LIKE :k"),
                            {"k": f"%:{ctx.stan}:%"}).scalar() == 0
