"""Provider webhooks in: fal (ED25519 over JWKS keys) and Replicate (Standard Webhooks).

With ``[server] public_url`` set, the submit step asks the provider to call
``{public_url}/v1/provider-webhooks/{provider}/{job id}`` when the job finishes
(:data:`tarash.tarash_gateway.webhook_hint.provider_webhook_url`). A verified call
marks the job due (``next_poll_at = now``, one ``NOTIFY`` wakes a worker on any
instance); the worker still asks the provider itself — the payload is a hint, and
polling stays the backstop for a webhook that never comes. Each delivery is recorded
once in ``tarash_provider_events`` (``(provider, event_id)`` primary key), so retries
are answered ``200`` without touching the job again.

Verification facts (research/gateway-server.md §4, read 2026-12-04):

* fal [D docs.fal.ai/model-apis/model-endpoints/webhooks]: headers
  ``X-Fal-Webhook-Request-Id``, ``X-Fal-Webhook-User-Id``, ``X-Fal-Webhook-Timestamp``
  (epoch seconds), ``X-Fal-Webhook-Signature`` (hex ED25519 signature). The signed
  message is ``request_id \\n user_id \\n timestamp \\n sha256_hex(raw body)``; any key of
  the JWKS at ``https://rest.alpha.fal.ai/.well-known/jwks.json`` (``kty OKP``, ``crv
  Ed25519``, ``x`` base64url) may verify it; keys cached ≤ 24 h; ``|now − ts| ≤ 300 s``.
* Replicate [D replicate.com/docs/topics/webhooks/verify-webhook; V replicate 1.0.7
  ``webhook.py``]: Standard Webhooks — ``webhook-id`` (stable across retries: the dedupe
  key), ``webhook-timestamp``, ``webhook-signature`` (space-separated ``v1,<base64>``);
  HMAC-SHA256 over ``{id}.{timestamp}.{raw body}`` keyed with the base64 part of the
  ``whsec_…`` secret from ``GET /v1/webhooks/default/secret``; ±300 s.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from tarash.tarash_gateway.server import db as dbm

__all__ = [
    "FAL_JWKS_URL",
    "TOLERANCE_SECONDS",
    "FalKeys",
    "WebhookRejected",
    "provider_events",
    "router",
    "verify_fal",
    "verify_replicate",
    "webhook_url_for",
]

_log = logging.getLogger("tarash.server.webhooks_in")

FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"  # docs.fal.ai webhooks, 2026-12-04
TOLERANCE_SECONDS = 300  # both providers' documented window, 2026-12-04
JWKS_TTL_SECONDS = 24 * 3600  # fal: "cache for up to 24 hours"
MAX_BODY = 10 * 1024 * 1024

provider_events = sa.Table(
    "tarash_provider_events",
    dbm.metadata,
    sa.Column("provider", sa.String(40), primary_key=True),
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("job_id", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
)

PROVIDERS = ("fal", "replicate")


class WebhookRejected(Exception):
    """The call is not a verifiable delivery (answered 400/401, never touches a job)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def webhook_url_for(public_url: str, provider: str, job_id: str) -> str:
    return f"{public_url.rstrip('/')}/v1/provider-webhooks/{provider}/{job_id}"


# ============================================================================ fal


class FalKeys:
    """fal's ED25519 public keys from its JWKS URL, cached; refreshed once on a miss."""

    def __init__(self, url: str, ttl: float = JWKS_TTL_SECONDS, timeout: float = 10.0) -> None:
        self.url = url
        self.ttl = ttl
        self.timeout = timeout
        self._keys: list[Ed25519PublicKey] = []
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def keys(self, refresh: bool = False) -> list[Ed25519PublicKey]:
        async with self._lock:
            fresh = time.monotonic() - self._fetched < self.ttl
            if self._keys and fresh and not refresh:
                return self._keys
            if refresh and time.monotonic() - self._fetched < 30:  # at most one refresh / 30 s
                return self._keys
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(self.url)
                    response.raise_for_status()
                    document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                _log.warning("fal JWKS fetch failed: %s", type(exc).__name__)
                if self._keys:
                    return self._keys  # keep the last good set
                raise WebhookRejected(503, "fal signing keys unavailable") from exc
            self._keys = parse_jwks(document)
            self._fetched = time.monotonic()
            return self._keys


def parse_jwks(document: Any) -> list[Ed25519PublicKey]:
    out: list[Ed25519PublicKey] = []
    for key in (document or {}).get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(key, dict) or key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
            continue
        x = key.get("x")
        if not isinstance(x, str):
            continue
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            out.append(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, binascii.Error):
            continue
    return out


def _check_time(timestamp: str, now: float) -> None:
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise WebhookRejected(400, "bad webhook timestamp") from exc
    if abs(now - ts) > TOLERANCE_SECONDS:
        raise WebhookRejected(401, "webhook timestamp outside the 300 s window")


async def verify_fal(
    headers: dict[str, str], body: bytes, keys: FalKeys, now: float | None = None
) -> str:
    """Verify one fal delivery; returns the fal request id it is about."""
    now = time.time() if now is None else now
    try:
        request_id = headers["x-fal-webhook-request-id"]
        user_id = headers["x-fal-webhook-user-id"]
        timestamp = headers["x-fal-webhook-timestamp"]
        signature = bytes.fromhex(headers["x-fal-webhook-signature"])
    except (KeyError, ValueError) as exc:
        raise WebhookRejected(400, "missing or malformed fal webhook headers") from exc
    _check_time(timestamp, now)
    message = "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()
    for refresh in (False, True):  # a key rotated since the cache was filled: fetch again
        for key in await keys.keys(refresh=refresh):
            try:
                key.verify(signature, message)
                return request_id
            except InvalidSignature:
                continue
    raise WebhookRejected(401, "fal webhook signature does not verify")


# ============================================================================ Replicate


def verify_replicate(
    headers: dict[str, str], body: bytes, secret: str, now: float | None = None
) -> str:
    """Verify one Standard Webhooks delivery; returns its ``webhook-id``."""
    now = time.time() if now is None else now
    try:
        webhook_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"].split()
    except KeyError as exc:
        raise WebhookRejected(400, "missing Standard Webhooks headers") from exc
    _check_time(timestamp, now)
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"))
    except binascii.Error as exc:
        raise WebhookRejected(500, "the configured Replicate webhook secret is not base64") from exc
    expected = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for item in signatures:
        version, _, value = item.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value)
        except binascii.Error:
            continue
        if hmac.compare_digest(given, expected):
            return webhook_id
    raise WebhookRejected(401, "Replicate webhook signature does not verify")


# ============================================================================ the route

router = APIRouter()


def _mark_due(
    conn: Connection, provider: str, event_id: str, job_id: str, provider_request_id: str
) -> str:
    """Record the delivery once and make the job due; returns what happened."""
    j = dbm.jobs
    row = dbm.first(
        conn.execute(
            sa.select(j.c.id, j.c.state, j.c.job_ref, j.c.provider).where(j.c.id == job_id)
        )
    )
    if row is None or row["job_ref"] is None:
        return "unknown_job"
    ref = json.loads(row["job_ref"])
    if ref.get("provider") != provider or ref.get("provider_request_id") != provider_request_id:
        return "not_this_job"
    inserted = conn.execute(
        sa.text(
            "INSERT INTO tarash_provider_events (provider, event_id, job_id, received_at) "
            "VALUES (:p, :e, :j, :t) ON CONFLICT DO NOTHING"
        ),
        {"p": provider, "e": event_id[:200], "j": job_id, "t": dbm.now()},
    )
    if not inserted.rowcount:
        return "duplicate"
    t = dbm.now()
    # Only a row no worker holds: a step in flight writes its own next poll time and its
    # own events (two writers appending events to one job could collide on the sequence).
    # A delivery that lands during a step is left to that step and the polling backstop.
    moved = conn.execute(
        j.update()
        .where(
            j.c.id == job_id,
            j.c.state == "in_progress",
            sa.or_(j.c.lease_owner.is_(None), j.c.lease_expires_at < t),
        )
        .values(next_poll_at=t, updated_at=t)
    )
    if not moved.rowcount:
        return "in_step" if row["state"] == "in_progress" else "not_waiting"
    from tarash.tarash_gateway.server.workers import add_event

    add_event(conn, job_id, "job.provider_webhook", {"provider": provider})
    return "due"


@router.post("/v1/provider-webhooks/{provider}/{job_id}", include_in_schema=False)
async def provider_webhook(provider: str, job_id: str, request: Request) -> JSONResponse:
    state = request.app.state
    if provider not in PROVIDERS:
        return JSONResponse({"error": {"message": "unknown provider"}}, status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": {"message": "body too large"}}, status_code=413)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        if provider == "fal":
            keys: FalKeys = state.fal_keys
            provider_request_id = await verify_fal(headers, body, keys)
            # fal sends no delivery id and re-signs retries with a fresh timestamp; a request
            # completes once, so its request id is the dedupe key.
            event_id = provider_request_id
        else:
            secret = state.settings.replicate_webhook_secret
            if secret is None:
                raise WebhookRejected(404, "Replicate webhooks are not configured")
            event_id = verify_replicate(headers, body, secret.get_secret_value())
            try:
                provider_request_id = str(json.loads(body)["id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise WebhookRejected(400, "Replicate webhook body has no prediction id") from exc
    except WebhookRejected as exc:
        _log.warning("rejected a %s webhook for %s: %s", provider, job_id, exc)
        return JSONResponse({"error": {"message": str(exc)}}, status_code=exc.status)
    outcome = await state.db.run(
        lambda c: _mark_due(c, provider, event_id, job_id, provider_request_id)
    )
    if outcome == "due":
        state.engine.notifier.work.set()
        state.engine.notifier.job_changed(job_id)
    return JSONResponse({"received": True, "outcome": outcome})
