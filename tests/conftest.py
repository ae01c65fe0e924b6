"""Shared fixtures. Twisted code under test runs on the global reactor in one background thread for the
whole session; tests talk to it with `call_in_reactor` (or with plain blocking sockets)."""

from __future__ import annotations

import os
import queue
import threading
import uuid

import pytest


@pytest.fixture(scope="session")
def reactor():
    from twisted.internet import reactor as _reactor

    if not _reactor.running:
        thread = threading.Thread(target=_reactor.run, kwargs={"installSignalHandlers": False},
                                  name="reactor", daemon=True)
        thread.start()
        ready = threading.Event()
        _reactor.callFromThread(ready.set)
        assert ready.wait(10), "reactor did not start"
        yield _reactor
        # Reactor shutdown stops its thread pool and fires the shutdown triggers (authoriser lanes, ...);
        # without it their non-daemon threads keep the interpreter from exiting after the last test.
        _reactor.callFromThread(_reactor.stop)
        thread.join(30)
    else:
        yield _reactor


def reactor_caller(reactor, default_timeout: float = 10.0):
    """call(fn, *args, timeout=..., **kw): run fn on the reactor thread, wait for its result (Deferreds
    and coroutines are awaited), re-raise its exception; TimeoutError after `timeout`."""
    from twisted.internet import defer
    from twisted.python.failure import Failure

    def call(fn, *args, timeout: float = default_timeout, **kwargs):
        results: queue.Queue = queue.Queue()

        def run():
            d = defer.maybeDeferred(fn, *args, **kwargs)
            d.addCallback(lambda r: defer.ensureDeferred(r) if hasattr(r, "__await__") else r)
            d.addBoth(results.put)

        reactor.callFromThread(run)
        try:
            result = results.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{getattr(fn, '__name__', fn)} did not finish within {timeout}s") from None
        if isinstance(result, Failure):
            result.raiseException()
        return result

    return call


@pytest.fixture(scope="session")
def call_in_reactor(reactor):
    """call_in_reactor(fn, *args, timeout=10, **kw): see reactor_caller."""
    return reactor_caller(reactor)


@pytest.fixture
def sqlite_engine(tmp_path):
    from switch.store import open_database

    engine = open_database(None, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(request):
    """A unique schema on ACQSIM_TEST_PG_URL (skipped, saying so, when unset), dropped afterwards."""
    from sqlalchemy import text

    from switch.store import open_database

    url = os.environ.get("ACQSIM_TEST_PG_URL")
    if not url:
        pytest.skip("ACQSIM_TEST_PG_URL is not set: PostgreSQL tests skipped")
    schema = f"t_{request.path.parent.name}_{uuid.uuid4().hex[:12]}"
    yield schema
    engine = open_database(url, migrate=False)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """The same test on a fresh SQLite file and on PostgreSQL in its own schema."""
    from switch.store import open_database

    if request.param == "sqlite":
        eng = open_database(None, tmp_path)
    else:
        schema = request.getfixturevalue("pg_schema")  # first: it skips, saying so, without the URL
        eng = open_database(os.environ["ACQSIM_TEST_PG_URL"], schema=schema)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_url():
    """The PostgreSQL URL for tests that need one; skipped, saying so, when ACQSIM_TEST_PG_URL is unset."""
    url = os.environ.get("ACQSIM_TEST_PG_URL")
    if not url:
        pytest.skip("ACQSIM_TEST_PG_URL is not set: PostgreSQL tests skipped")
    return url


def pytest_unconfigure(config):
    """Last resort: say which non-daemon threads would keep the run from exiting, then exit anyway."""
    leftovers = [t.name for t in threading.enumerate()
                 if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if leftovers:
        import sys

        sys.stderr.write(f"conftest: threads still running at exit (not stopped by their owners): {leftovers}\n")
        sys.stderr.flush()
        status = getattr(config, "_acqsim_exitstatus", 0)
        os._exit(int(status))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    session.config._acqsim_exitstatus = exitstatus
