"""The server's database: schema, migrations, and every query, on SQLAlchemy Core.

The same code runs on SQLite (one instance, the embedded default) and PostgreSQL.
Blocking DB-API calls run on a small thread pool (one thread for SQLite, which has
one writer anyway), so the event loop never waits on the disk.

Times are UNIX seconds (floats): portable across both databases and cheap to compare.

Migrations are numbered and recorded in ``tarash_migrations``; each one is written so
that running it again does nothing (``CREATE … IF NOT EXISTS`` through
``metadata.create_all(checkfirst=True)``). They run inside ``BEGIN IMMEDIATE`` on SQLite
and under ``pg_advisory_xact_lock`` on PostgreSQL, so two processes starting together
apply each migration once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["ACTIVE_STATES", "TERMINAL_STATES", "Database", "metadata"]

T = TypeVar("T")

metadata = sa.MetaData()

migrations_table = sa.Table(
    "tarash_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)

meta_table = sa.Table(
    "tarash_meta",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

keys = sa.Table(
    "tarash_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("models", sa.Text, nullable=False, default="[]"),  # JSON list; [] = all
    sa.Column("budget_usd", sa.Float, nullable=True),
    sa.Column("spent_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

jobs = sa.Table(
    "tarash_jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("model_alias", sa.String(300), nullable=False),
    sa.Column("provider", sa.String(100), nullable=True),  # of the config in use
    sa.Column("request", sa.Text, nullable=False),  # the library request, JSON
    sa.Column("options", sa.Text, nullable=False, default="{}"),  # route details (formats)
    sa.Column("chain_index", sa.Integer, nullable=False, default=0),  # fallback position
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("job_ref", sa.Text, nullable=True),  # JobRef JSON once accepted
    sa.Column("intent_id", sa.String(64), nullable=True),  # library intent of the submit
    sa.Column("attempts", sa.Integer, nullable=False, default=0),  # steps taken
    sa.Column("submits", sa.Integer, nullable=False, default=0),  # submits sent
    sa.Column("progress", sa.Integer, nullable=False, default=0),
    sa.Column("next_poll_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.Float, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("result", sa.Text, nullable=True),  # JSON: items (file or url), metadata
    sa.Column("error", sa.Text, nullable=True),  # JSON: {code, message, type}
    sa.Column("callback_url", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("completed_at", sa.Float, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)
sa.Index("ix_tarash_jobs_due", jobs.c.state, jobs.c.next_poll_at)
sa.Index("ix_tarash_jobs_key", jobs.c.key_id, jobs.c.created_at)

job_events = sa.Table(
    "tarash_job_events",
    metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

idempotency = sa.Table(
    "tarash_idempotency",
    metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("idem_key", sa.String(255), primary_key=True),
    sa.Column("route", sa.String(100), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("job_id", sa.String(64), nullable=True),  # NULL while being accepted
    sa.Column("created_at", sa.Float, nullable=False),
)

webhook_endpoints = sa.Table(
    "tarash_webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.Text, nullable=False),  # whsec_… (needed to sign)
    sa.Column("event_types", sa.Text, nullable=False),  # JSON list
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)

webhook_deliveries = sa.Table(
    "tarash_webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # the webhook-id header
    sa.Column("job_id", sa.String(64), nullable=False),
    sa.Column("endpoint_id", sa.String(40), nullable=True),  # NULL: the job's callback_url
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("event_type", sa.String(60), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending|delivered|failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.Float, nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float, nullable=True),
)
sa.Index(
    "ix_tarash_deliveries_due", webhook_deliveries.c.state, webhook_deliveries.c.next_attempt_at
)

# Server job states. `submitting`: the intent is stored and the submit may be in flight;
# found after a crash it becomes `unknown` (the provider may have accepted it and may
# bill) and is never resent. `streaming`: a speech stream served inline.
ACTIVE_STATES = ("queued", "in_progress", "fetching", "cancelling")
TERMINAL_STATES = ("completed", "failed", "cancelled", "unknown")


def _migration_1(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)
    conn.execute(
        sa.text(
            "INSERT INTO tarash_meta (name, value) SELECT 'url_secret', :v "
            "WHERE NOT EXISTS (SELECT 1 FROM tarash_meta WHERE name = 'url_secret')"
        ),
        {"v": secrets.token_hex(32)},
    )


def _migration_2(conn: Connection) -> None:
    from tarash.tarash_gateway.server.pg import install_notify_triggers

    install_notify_triggers(conn)  # PostgreSQL: NOTIFY on due jobs and new events
    from tarash.tarash_gateway.server.webhooks_in import provider_events

    provider_events.create(conn, checkfirst=True)  # inbound webhook dedupe


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "jobs, keys, events, idempotency, webhooks", _migration_1),
    (2, "LISTEN/NOTIFY triggers, provider webhook dedupe", _migration_2),
]


class Database:
    """One engine and the queries the server runs (each in its own transaction)."""

    def __init__(self, url: str) -> None:
        url = sqlalchemy_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # Every DB thread may hold one connection; a little headroom for startup.
            kwargs.update(pool_size=8, max_overflow=4, pool_pre_ping=True)
        self.engine: Engine = sa.create_engine(url, **kwargs)
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin_immediate)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1 if self.is_sqlite else 8, thread_name_prefix="tarash-db"
        )

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in one transaction on the DB thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._tx, fn)

    def _tx(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    def run_sync(self, fn: Callable[[Connection], T]) -> T:
        """Blocking form (CLI commands, startup)."""
        return self._tx(fn)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()

    # ------------------------------------------------------------------ migrations

    def migrate(self) -> list[int]:
        """Apply the migrations not applied yet; safe to run again and concurrently."""
        applied: list[int] = []
        with self.engine.begin() as conn:
            if not self.is_sqlite and conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7243190417)"))
            migrations_table.create(conn, checkfirst=True)
            done = {row[0] for row in conn.execute(sa.select(migrations_table.c.version))}
            for version, name, step in MIGRATIONS:
                if version in done:
                    continue
                step(conn)
                conn.execute(
                    migrations_table.insert().values(
                        version=version, name=name, applied_at=time.time()
                    )
                )
                applied.append(version)
        return applied

    def meta(self, name: str) -> str:
        with self.engine.begin() as conn:
            value = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.name == name)
            ).scalar_one()
        return str(value)


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` (the libpq form users type) → SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level, so that SQLAlchemy's BEGIN below is the only one.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed job survives power loss too
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # One writer: take the write lock at BEGIN, so a read-then-write claim cannot race.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def dumps(value: Any) -> str:
    """Compact JSON for the text columns."""
    return json.dumps(value, separators=(",", ":"), default=str)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def rows(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


def first(result: sa.CursorResult[Any]) -> dict[str, Any] | None:
    row = result.first()
    return None if row is None else dict(row._mapping)


def now() -> float:
    return time.time()


def in_(column: Any, values: Sequence[str]) -> Any:
    return column.in_(list(values))
