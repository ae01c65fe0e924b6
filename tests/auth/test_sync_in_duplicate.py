"""The reference-data cache is synced once per request, by the duplicate check's own query when nothing
before it reads the cache; otherwise (another step order, a journal that does not read the generation)
the store reads the generation itself. Either way a change is seen by the next request."""

from __future__ import annotations

from sqlalchemy import text

from switch.auth import runner as runner_mod
from switch.auth import steps_message as msg
from switch.auth.context import AuthContext
from tests.auth.harness import request


def spy_sync(store):
    calls = []
    real = store.sync

    def sync(*args):
        calls.append(args)
        real(*args)

    store.sync = sync
    return calls


def block_terminal(services):
    with services.store.engine.begin() as conn:
        conn.execute(text("UPDATE iss_terminals SET status = 'inactive' WHERE tid = 'POS00001'"))


def test_duplicate_check_brings_the_generation(world):
    runner, services, _ = world
    calls = spy_sync(services.store)
    answer, job = runner.prepare(AuthContext(request=request("good-visa", amount=100)))
    assert job is not None and len(calls) == 1 and isinstance(calls[0][0], int)
    block_terminal(services)
    ctx = AuthContext(request=request("good-visa", amount=100))
    runner.prepare(ctx)
    assert ctx.rc == "58", ctx.reason


def test_store_reads_the_generation_when_a_step_before_duplicate_uses_the_cache(world, monkeypatch):
    runner, services, _ = world
    steps = runner_mod.PIPELINES["financial"]
    reordered = (msg.mandatory_fields, msg.terminal_known, msg.duplicate,
                 *[s for s in steps if s not in (msg.mandatory_fields, msg.terminal_known, msg.duplicate)])
    monkeypatch.setitem(runner_mod.PIPELINES, "financial", reordered)
    calls = spy_sync(services.store)
    runner.prepare(AuthContext(request=request("good-visa", amount=100)))
    assert calls == [()]  # read by the store before the checks
    block_terminal(services)
    ctx = AuthContext(request=request("good-visa", amount=100))
    runner.prepare(ctx)
    assert ctx.rc == "58", ctx.reason


def test_a_journal_without_the_generation_query_still_syncs(world):
    runner, services, _ = world

    class PlainJournal:
        def __init__(self, journal):
            self.j = journal

        def check_duplicate(self, ctx):  # ignores ctx.sync
            return None

        def __getattr__(self, name):
            return getattr(self.j, name)

    services.journal = PlainJournal(services.journal)
    calls = spy_sync(services.store)
    runner.prepare(AuthContext(request=request("good-visa", amount=100)))
    assert calls == [()]
