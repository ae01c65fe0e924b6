"""switch.ledger.unit: one transaction per request's job, group commit on SQLite, plain-SQL helpers."""

from __future__ import annotations

import threading

import pytest

from switch.ledger import Account, Ledger, Transfer, audit, unit
from switch.ledger.committer import Committer
from switch.store import open_database
from tests.ledger.conftest import Boom, three_accounts


@pytest.fixture
def engine(tmp_path):
    eng = three_accounts(tmp_path, 1_000)
    yield eng
    eng.dispose()


def _submit_all(committer: Committer, jobs) -> list:
    """Queue every job, wait for all; [(result, error)] in submission order."""
    out: list = [None] * len(jobs)
    done = threading.Event()
    left = [len(jobs)]
    lock = threading.Lock()

    def finish(i, result, error):
        out[i] = (result, error)
        with lock:
            left[0] -= 1
            if not left[0]:
                done.set()

    for i, job in enumerate(jobs):
        committer.submit(job, lambda r, e, i=i: finish(i, r, e))
    assert done.wait(30)
    return out


def test_group_jobs_in_order_never_overdraw_and_fail_alone(engine):
    """Jobs book in submission order inside shared commits; a failing job rolls back alone (its
    ledger transfers too), the others are kept; no overdraft across the group."""
    led = Ledger(engine)
    committer = Committer(engine, group=True)
    assert committer.group

    def pay(i: int, fail: bool = False):
        def job(conn):
            r = led.create_transfers([Transfer(100 + i, 2, 3, 100, ledger=682, code=1)])[0]
            if fail:
                raise Boom(i)
            return r
        return job

    jobs = [pay(i, fail=(i == 3)) for i in range(14)]
    out = _submit_all(committer, jobs)
    committer.stop()
    assert isinstance(out[3][1], Boom)
    ok = [r for r, e in out if e is None and r == "ok"]
    # 1000 on the account: ten payments of 100 fit; the failed one (3) booked nothing, so the 11th is refused.
    assert len(ok) == 10
    assert [r for r, e in out if e is None][10:] == ["exceeds_credits"] * 3
    assert led.lookup_transfers([103]) == []
    assert led.lookup_accounts([2])[0].debits_posted == 1_000
    assert committer.jobs == 14 and committer.groups >= 1
    assert audit(engine) == []


def test_done_only_after_commit(engine):
    """When a job's done() runs, a fresh connection already sees its work (durable before the answer)."""
    led = Ledger(engine)
    committer = Committer(engine, group=True)
    seen = []

    def job(conn):
        return led.create_transfers([Transfer(500, 2, 3, 7, ledger=682, code=1)])[0]

    def done(result, error):
        seen.append((result, error, [t.id for t in Ledger(engine).lookup_transfers([500])]))

    committer.submit(job, done)
    committer.stop()
    assert seen == [("ok", None, [500])]


def test_direct_mode_and_reads_inside_a_job(engine):
    """Direct mode (PostgreSQL's) runs the job in its own transaction on the caller's thread; inside a
    job, unit.read hands out the job's connection, so reads see the job's own writes."""
    led = Ledger(engine)
    committer = Committer(engine, group=False)
    raw = unit.raw_sql(engine)

    def job(conn):
        led.create_transfers([Transfer(600, 2, 3, 5, ledger=682, code=1)])
        with unit.read(engine) as c:
            assert c is conn
        return raw.rows("SELECT amount FROM ledger_transfers WHERE id = ?", (600,))

    out = []
    committer.submit(job, lambda r, e: out.append((r, e)))
    assert out == [([(5,)], None)]
    assert unit.current(engine) is None


def test_savepoint_undoes_only_its_block(engine):
    raw = unit.raw_sql(engine)

    def job(conn):
        raw.execute("UPDATE ledger_accounts SET user_data_32 = 1 WHERE id = 3", (), conn)
        with pytest.raises(Boom), unit.savepoint(conn):
            raw.execute("UPDATE ledger_accounts SET user_data_32 = 2 WHERE id = 3", (), conn)
            raise Boom
        return raw.rows("SELECT user_data_32 FROM ledger_accounts WHERE id = 3", (), conn)

    assert unit.run_job(engine, job) == [(1,)]
    assert raw.rows("SELECT user_data_32 FROM ledger_accounts WHERE id = 3") == [(1,)]


def test_pg_direct_job_rolls_back_on_error(pg_url):
    """PostgreSQL: a failing job leaves nothing behind; the ledger's own retry still works inside jobs."""
    import uuid

    schema = f"t_unit_{uuid.uuid4().hex[:8]}"
    eng = open_database(pg_url, schema=schema)
    try:
        led = Ledger(eng)
        led.create_accounts([Account(1, 682, 1), Account(2, 682, 2)])
        committer = Committer(eng)
        assert not committer.group

        def job(conn):
            led.create_transfers([Transfer(10, 1, 2, 3, ledger=682, code=1)])
            raise Boom

        out = []
        committer.submit(job, lambda r, e: out.append(e))
        assert isinstance(out[0], Boom)
        assert led.lookup_transfers([10]) == []
        committer.submit(lambda conn: led.create_transfers([Transfer(11, 1, 2, 3, ledger=682, code=1)]),
                         lambda r, e: out.append((r, e)))
        assert out[1] == (["ok"], None)
    finally:
        from sqlalchemy import text

        eng.dispose()
        admin = open_database(pg_url, migrate=False)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_locked_database_at_begin_is_sqlalchemys_operational_error(tmp_path):
    """The SQLite BEGIN runs on the driver directly (issue 9); a lock it cannot get still surfaces as the
    SQLAlchemy error the CLI turns into a one-line message, not as a bare sqlite3 error."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    engine = open_database(None, tmp_path)
    holder = sqlite3.connect(tmp_path / "acqsim.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA busy_timeout=50")
            with pytest.raises(OperationalError, match="locked"):
                conn.begin()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
