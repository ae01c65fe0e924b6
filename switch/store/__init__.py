"""Storage: one SQLAlchemy engine per process, migrated to the newest schema when opened.

`open_database(url, data_dir)` is the only entry point other code needs:

- no URL: a SQLite file `acqsim.db` under the data directory, in WAL mode with synchronous=FULL, so a
  commit that returned is on disk. Every write transaction starts with BEGIN IMMEDIATE: SQLite allows one
  writer, and taking the write lock up front turns a would-be deadlock (two readers upgrading) into a
  short wait (busy_timeout).
- `postgresql+psycopg://...`: PostgreSQL, the store for several switch processes sharing one database.
  `schema=` puts every table in that schema (created if missing) through the connection's search_path;
  tests use it to run in isolation.

Tables are defined on `metadata` (switch.store.base) by their owning packages; the schema itself is
created only by the Alembic migrations in switch/store/migrations/versions, which ship inside the package
and run programmatically (no alembic.ini). Other components add their tables as new migration files that
chain after the current head.
"""

from __future__ import annotations

from switch.store.base import metadata
from switch.store.engine import open_database, upgrade

__all__ = ["metadata", "open_database", "upgrade"]
