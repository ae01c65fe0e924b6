"""Fixtures: a fresh SQLite database per test; PostgreSQL in a unique schema when ACQSIM_TEST_PG_URL is set."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from switch.store import open_database

PG_URL = os.environ.get("ACQSIM_TEST_PG_URL")


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = open_database(None, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema():
    """A unique schema name on ACQSIM_TEST_PG_URL, dropped afterwards."""
    if not PG_URL:
        pytest.skip("ACQSIM_TEST_PG_URL is not set: PostgreSQL tests skipped")
    schema = "t_ledger_" + uuid.uuid4().hex[:12]
    yield schema
    engine = open_database(PG_URL, migrate=False)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = open_database(None, tmp_path)
        yield eng
        eng.dispose()
        return
    schema = request.getfixturevalue("pg_schema")
    eng = open_database(PG_URL, schema=schema)
    yield eng
    eng.dispose()
