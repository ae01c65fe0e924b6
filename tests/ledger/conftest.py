"""Fixtures: `engine` (SQLite, and PostgreSQL in a unique schema when ACQSIM_TEST_PG_URL is set),
`sqlite_engine` and `pg_schema` come from tests/conftest.py."""

from __future__ import annotations

import os

PG_URL = os.environ.get("ACQSIM_TEST_PG_URL")
