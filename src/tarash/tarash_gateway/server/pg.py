"""PostgreSQL-only parts of the server: NOTIFY triggers and the LISTEN wake-up loop.

Many ``tarash serve`` instances share one PostgreSQL and nothing else. Rows are claimed
with ``FOR UPDATE SKIP LOCKED`` and a lease (``workers.Engine._claim``); this module makes
them react early instead of waiting for their next backstop poll:

* a trigger on ``tarash_jobs`` sends ``NOTIFY tarash_work`` when a row becomes claimable
  now (inserted, released with a due ``next_poll_at``, marked due by a provider webhook);
* a trigger on ``tarash_job_events`` sends ``NOTIFY tarash_job, '<job id>'``, so an SSE
  stream or a waiting ``GET`` on *another* instance wakes at once.

Notifications are delivered at commit and are best effort (lost while the listener
reconnects, dropped if the queue fills) — every waiter still re-reads the table on a
timer, so they only shorten latency, never decide correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["JOB_CHANNEL", "WORK_CHANNEL", "Listener", "install_notify_triggers", "libpq_url"]

_log = logging.getLogger("tarash.server.pg")

WORK_CHANNEL = "tarash_work"
JOB_CHANNEL = "tarash_job"

# Claimable within half a second: the dispatcher's claim will find it.
_TRIGGERS = f"""
CREATE OR REPLACE FUNCTION tarash_notify_work() RETURNS trigger AS $$
BEGIN
  IF NEW.state IN ('queued', 'in_progress', 'fetching', 'cancelling')
     AND NEW.lease_owner IS NULL
     AND NEW.next_poll_at <= extract(epoch FROM clock_timestamp()) + 0.5 THEN
    PERFORM pg_notify('{WORK_CHANNEL}', '');
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS tarash_jobs_notify_ins ON tarash_jobs;
CREATE TRIGGER tarash_jobs_notify_ins AFTER INSERT ON tarash_jobs
  FOR EACH ROW EXECUTE FUNCTION tarash_notify_work();

DROP TRIGGER IF EXISTS tarash_jobs_notify_upd ON tarash_jobs;
CREATE TRIGGER tarash_jobs_notify_upd AFTER UPDATE ON tarash_jobs
  FOR EACH ROW
  WHEN (OLD.lease_owner IS DISTINCT FROM NEW.lease_owner
        OR OLD.next_poll_at IS DISTINCT FROM NEW.next_poll_at)
  EXECUTE FUNCTION tarash_notify_work();

CREATE OR REPLACE FUNCTION tarash_notify_job() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('{JOB_CHANNEL}', NEW.job_id);
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS tarash_job_events_notify ON tarash_job_events;
CREATE TRIGGER tarash_job_events_notify AFTER INSERT ON tarash_job_events
  FOR EACH ROW EXECUTE FUNCTION tarash_notify_job();
"""


def install_notify_triggers(conn: Connection) -> None:
    """Migration step (PostgreSQL only; a no-op on SQLite, where one process serves)."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(_TRIGGERS)


def libpq_url(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://`` URL → the libpq form psycopg connects with."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    return "postgresql://" + rest if head.startswith("postgresql") else url


class Listener:
    """``LISTEN`` on one dedicated autocommit connection; reconnects with bounded backoff."""

    def __init__(
        self,
        url: str,
        on_work: Callable[[], None],
        on_job: Callable[[str], None],
        *,
        max_backoff: float = 5.0,
    ) -> None:
        self.conninfo = libpq_url(str(sa.make_url(url).render_as_string(hide_password=False)))
        self.on_work = on_work
        self.on_job = on_job
        self.max_backoff = max_backoff
        self.connected = asyncio.Event()
        self.received = 0

    async def run(self) -> None:
        import psycopg

        backoff = 0.1
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=10
                )
            except (psycopg.Error, OSError) as exc:
                _log.warning("LISTEN connection failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(self.max_backoff, backoff * 2)
                continue
            try:
                async with conn:
                    await conn.execute(f"LISTEN {WORK_CHANNEL}")
                    await conn.execute(f"LISTEN {JOB_CHANNEL}")
                    self.connected.set()
                    backoff = 0.1
                    # Anything committed while we were away is found by the backstop poll.
                    self.on_work()
                    async for note in conn.notifies():
                        self.received += 1
                        if note.channel == JOB_CHANNEL:
                            self.on_job(note.payload)
                        else:
                            self.on_work()
            except psycopg.Error as exc:
                _log.warning("LISTEN connection lost (%s); reconnecting", type(exc).__name__)
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(backoff)
            backoff = min(self.max_backoff, backoff * 2)
