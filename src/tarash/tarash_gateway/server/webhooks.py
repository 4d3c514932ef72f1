"""Webhooks out: an outbox table, Standard Webhooks signatures, retries with backoff.

When a job reaches a final state, one delivery row per target (the job's
``callback_url`` and every ``/v1/webhook_endpoints`` entry of the job's key that wants
the event) is written **in the same transaction** as the final state — a webhook exists
only for a committed outcome. The delivery loop claims due rows, POSTs the event and
records the answer; failures are retried with exponential backoff up to
``webhook_max_attempts``.

Signing follows the Standard Webhooks specification (standardwebhooks.com, checked
2026-12-04): headers ``webhook-id``, ``webhook-timestamp`` (UNIX seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` with the
base64 key after ``whsec_`` — the scheme ``openai.webhooks.unwrap`` verifies
(openai 3.60.0 ``lib/_webhooks.py``). Event body: ``{id, object: "event", created_at,
type, data: {id, ...}}``; types ``video.completed`` / ``video.failed`` for videos
(openai ``types/webhooks/webhook_create_params.py``), ``job.completed`` /
``job.failed`` / ``job.cancelled`` / ``job.unknown`` for every job.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from standardwebhooks.webhooks import Webhook

from tarash.tarash_gateway.server import db as dbm

if TYPE_CHECKING:
    from tarash.tarash_gateway.server.workers import Engine

__all__ = ["Webhooks", "event_types_for", "new_secret", "sign"]

_log = logging.getLogger("tarash.server.webhooks")


def new_secret() -> str:
    """A ``whsec_`` secret: 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (``v1,<base64>``)."""
    return str(Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body))


def event_types_for(row: dict[str, Any]) -> list[str]:
    """The event types a final job emits (most specific first)."""
    state = row["state"]
    types = [f"job.{state}"]
    if row["operation"] == "video" and state in ("completed", "failed", "cancelled", "unknown"):
        types.insert(0, "video.completed" if state == "completed" else "video.failed")
    return types


class Webhooks:
    """Outbox writes (inside job transactions) and the delivery loop."""

    def __init__(
        self, db: dbm.Database, url_secret: str, max_attempts: int, backoff: float
    ) -> None:
        self.db = db
        self.url_secret = url_secret
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.client: httpx.AsyncClient | None = None

    def callback_secret(self, key_id: str) -> str:
        """The secret that signs ``callback_url`` deliveries of one key (stable, derived)."""
        digest = hmac.new(self.url_secret.encode(), f"callback:{key_id}".encode(), hashlib.sha256)
        return "whsec_" + base64.b64encode(digest.digest()).decode()

    def enqueue(self, conn: Connection, row: dict[str, Any]) -> None:
        types = event_types_for(row)
        t = dbm.now()
        targets: list[tuple[str | None, str, str]] = []
        if row["callback_url"]:
            targets.append((None, row["callback_url"], types[0]))
        endpoints = dbm.rows(
            conn.execute(
                sa.select(dbm.webhook_endpoints).where(
                    dbm.webhook_endpoints.c.key_id == row["key_id"],
                    dbm.webhook_endpoints.c.deleted.is_(False),
                )
            )
        )
        for ep in endpoints:
            wanted = json.loads(ep["event_types"])
            match = next((ty for ty in types if not wanted or ty in wanted), None)
            if match is not None:
                targets.append((ep["id"], ep["url"], match))
        for endpoint_id, url, event_type in targets:
            delivery_id = "msg_" + secrets.token_hex(12)
            payload = {
                "id": delivery_id,
                "object": "event",
                "created_at": int(t),
                "type": event_type,
                "data": {"id": row["id"], "state": row["state"], "operation": row["operation"]},
            }
            conn.execute(
                dbm.webhook_deliveries.insert().values(
                    id=delivery_id,
                    job_id=row["id"],
                    endpoint_id=endpoint_id,
                    url=url,
                    event_type=event_type,
                    payload=dbm.dumps(payload),
                    state="pending",
                    attempts=0,
                    next_attempt_at=t,
                    created_at=t,
                )
            )

    async def run(self, engine: Engine) -> None:
        """Deliver due webhooks until cancelled."""
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        try:
            while True:
                batch = await self.db.run(lambda c: self._claim(c, engine.worker_id, 16))
                if batch:
                    await asyncio.gather(*(self._deliver(d) for d in batch))
                    continue
                engine.notifier.work.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await engine.notifier.work.wait()
        finally:
            await self.client.aclose()

    def _claim(self, conn: Connection, owner: str, limit: int) -> list[dict[str, Any]]:
        t = dbm.now()
        d = dbm.webhook_deliveries
        due = (
            sa.select(d.c.id)
            .where(
                d.c.state == "pending",
                d.c.next_attempt_at <= t,
                sa.or_(d.c.lease_owner.is_(None), d.c.lease_expires_at < t),
            )
            .order_by(d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = conn.execute(
            d.update()
            .where(d.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_expires_at=t + 60, attempts=d.c.attempts + 1)
            .returning(*d.c)
        )
        rows = dbm.rows(result)
        for row in rows:
            if row["endpoint_id"] is None:
                key_id = conn.execute(
                    sa.select(dbm.jobs.c.key_id).where(dbm.jobs.c.id == row["job_id"])
                ).scalar_one()
                row["secret"] = self.callback_secret(key_id)
            else:
                row["secret"] = conn.execute(
                    sa.select(dbm.webhook_endpoints.c.secret).where(
                        dbm.webhook_endpoints.c.id == row["endpoint_id"]
                    )
                ).scalar_one()
        return rows

    async def _deliver(self, row: dict[str, Any]) -> None:
        assert self.client is not None
        body = row["payload"].encode()
        ts = int(dbm.now())
        headers = {
            "content-type": "application/json",
            "webhook-id": row["id"],
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(row["secret"], row["id"], ts, body),
            "user-agent": "tarash-gateway-webhooks",
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await self.client.post(row["url"], content=body, headers=headers)
            status = response.status_code
            ok = 200 <= status < 300
            if not ok:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            ok = False
            error = f"{type(exc).__name__}: {exc}"[:500]
        t = dbm.now()
        if ok:
            values: dict[str, Any] = {"state": "delivered", "delivered_at": t}
        elif row["attempts"] >= self.max_attempts:
            values = {"state": "failed"}
        else:
            delay = min(3600.0, self.backoff * 2 ** (row["attempts"] - 1))
            values = {"next_attempt_at": t + delay}
        values.update(last_status=status, last_error=error, lease_owner=None, lease_expires_at=None)
        await self.db.run(
            lambda c: c.execute(
                dbm.webhook_deliveries.update()
                .where(dbm.webhook_deliveries.c.id == row["id"])
                .values(**values)
            )
        )
