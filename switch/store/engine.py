"""Engine creation (SQLite durable defaults, PostgreSQL search_path) and programmatic migrations."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from switch.paths import default_data_dir

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_FILE = "acqsim.db"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def open_database(url: str | None = None, data_dir: str | Path | None = None, *,
                  schema: str | None = None, migrate: bool = True) -> Engine:
    """Open (and by default migrate to head) the database: `url`, else SQLite under `data_dir`."""
    if not url:
        directory = Path(data_dir) if data_dir else default_data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{directory / SQLITE_FILE}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3 is the driver we ship
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
        if schema:
            _use_schema(engine, schema)
    if migrate:
        upgrade(engine)
    return engine


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    # An in-memory database exists once per connection: share one connection between threads.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60},
                           poolclass=StaticPool if memory else None)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below emits our own BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # durable when commit returns (issue 4)
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        # Savepoint journals (one per request in a group commit) in memory: on disk each was a temp file
        # created, written and deleted per transaction.
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # Readers may ask for a deferred BEGIN; every other transaction takes the write lock at once.
        statement = "BEGIN" if conn.get_execution_options().get("sqlite_readonly") else "BEGIN IMMEDIATE"
        try:  # on the driver itself: exec_driver_sql costs ~8 us per transaction (one per group commit)
            conn.connection.driver_connection.execute(statement)
        except sqlite3.Error as exc:  # wrapped as exec_driver_sql would: callers see SQLAlchemy's errors
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

    return engine


def _use_schema(engine: Engine, schema: str) -> None:
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"bad schema name {schema!r}")
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.close()
        dbapi_conn.commit()

    engine.dispose()  # connections made before the listener lack the search_path


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the packaged Alembic migrations up to `revision` inside one transaction."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several processes may start at once on one database: migrate one at a time.
            conn.execute(text("SELECT pg_advisory_xact_lock(854103301)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
