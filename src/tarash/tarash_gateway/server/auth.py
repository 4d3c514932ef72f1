"""Who is calling: the master key, a virtual key, or nobody (open loopback mode).

With ``TARASH_MASTER_KEY`` set, every request needs ``Authorization: Bearer <key>``.
Virtual keys (``tk-…``) are shown once and stored as their SHA-256; each carries the
models it may use (empty = all) and an optional budget in USD. Without a master key
the server is open and must listen on loopback only (the CLI enforces that).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tarash.tarash_gateway.server import db as dbm

__all__ = [
    "MASTER_KEY_ID",
    "OPEN_KEY_ID",
    "Principal",
    "create_key",
    "hash_key",
    "list_keys",
    "lookup_key",
    "revoke_key",
]

MASTER_KEY_ID = "master"
OPEN_KEY_ID = "open"
KEY_PREFIX = "tk-"


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    key_id: str
    is_admin: bool
    models: tuple[str, ...] = ()
    budget_usd: float | None = None
    spent_usd: float = 0.0
    name: str = field(default="")

    def may_use(self, model: str) -> bool:
        return self.is_admin or not self.models or model in self.models

    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.spent_usd >= self.budget_usd


def hash_key(key: str) -> str:
    """SHA-256 hex of a key (keys are 256-bit random, so no salt or slow hash is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_master(presented: str, master: str) -> bool:
    return hmac.compare_digest(presented.encode(), master.encode())


def create_key(
    conn: Connection, name: str, models: list[str], budget_usd: float | None
) -> tuple[str, dict[str, Any]]:
    """A new virtual key: ``(secret, public record)``; the secret is never stored."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(8)
    row = {
        "id": key_id,
        "name": name,
        "key_hash": hash_key(secret),
        "prefix": secret[:7],
        "models": json.dumps(models),
        "budget_usd": budget_usd,
        "spent_usd": 0.0,
        "created_at": time.time(),
        "revoked_at": None,
    }
    conn.execute(dbm.keys.insert().values(**row))
    return secret, public_key(row)


def public_key(row: dict[str, Any]) -> dict[str, Any]:
    """A key record without its hash."""
    return {
        "id": row["id"],
        "object": "key",
        "name": row["name"],
        "prefix": row["prefix"],
        "models": json.loads(row["models"]),
        "budget_usd": row["budget_usd"],
        "spent_usd": row["spent_usd"],
        "created_at": int(row["created_at"]),
        "revoked": row["revoked_at"] is not None,
    }


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    result = conn.execute(sa.select(dbm.keys).order_by(dbm.keys.c.created_at))
    return [public_key(r) for r in dbm.rows(result)]


def revoke_key(conn: Connection, key_id: str) -> bool:
    result = conn.execute(
        dbm.keys.update()
        .where(dbm.keys.c.id == key_id, dbm.keys.c.revoked_at.is_(None))
        .values(revoked_at=time.time())
    )
    return bool(result.rowcount)


def lookup_key(conn: Connection, secret: str) -> Principal | None:
    """The principal of a live virtual key, else ``None``."""
    row = dbm.first(
        conn.execute(sa.select(dbm.keys).where(dbm.keys.c.key_hash == hash_key(secret)))
    )
    if row is None or row["revoked_at"] is not None:
        return None
    return Principal(
        key_id=row["id"],
        is_admin=False,
        models=tuple(json.loads(row["models"])),
        budget_usd=row["budget_usd"],
        spent_usd=row["spent_usd"],
        name=row["name"],
    )
