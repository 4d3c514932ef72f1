"""Durable job references: a job the provider accepted is never forgotten.

A :class:`JobRef` is a small, JSON-serialisable description of an accepted
job — provider, model, operation, the provider's request id and the endpoints
needed to poll, fetch and cancel it. It holds no secret: the API key comes
from the config you pass when you resume or cancel it, from any process.

The orchestrator records every accepted job in the active :class:`JobStore`
(in memory by default; :class:`SQLiteJobStore` survives restarts) the moment
the provider accepts it, and marks it finished when the result is in hand,
the job failed or was cancelled. ``list_pending_jobs()`` shows what is still
out there after a crash.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "JobRef",
    "JobState",
    "JobStatus",
    "JobStore",
    "MemoryJobStore",
    "Operation",
    "SQLiteJobStore",
    "get_job_store",
    "set_job_store",
]

Operation = Literal["video", "image", "tts", "sts"]
JobState = Literal["queued", "processing", "completed", "failed", "cancelled"]


def utcnow() -> datetime:
    """Timezone-aware UTC now."""
    return datetime.now(UTC)


class JobRef(BaseModel):
    """Serializable reference to a job a provider accepted (no secrets inside).

    Attributes:
        provider: Provider name (registry key) that accepted the job.
        model: Model the job runs on.
        operation: ``video`` | ``image`` | ``tts`` | ``sts``.
        provider_request_id: The provider's id for the job.
        request_id: Our request id (the one responses and updates carry).
        endpoints: Provider URLs for status/result/cancel when the provider gave them.
        base_url: The base URL the job was submitted to (proxies, regions, emulators).
        submitted_at: UTC time the provider accepted the job.
        data: Small provider-specific details needed to resume (never secrets).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    model: str
    operation: Operation
    provider_request_id: str
    request_id: str
    endpoints: dict[str, str] = Field(default_factory=dict)
    base_url: str | None = None
    submitted_at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        """JSON text of the reference (store it anywhere)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> JobRef:
        """Rebuild a reference from :meth:`to_json` output."""
        return cls.model_validate_json(text)


class JobStatus(BaseModel):
    """One observation of a job's state, normalised across providers.

    Attributes:
        state: Normalised state.
        progress_percent: 0–100 when the provider reports progress.
        queue_position: Position in the provider's queue while queued.
        logs: New log lines since the previous observation.
        message: Provider status text or failure reason.
        error: The typed error for a failed job (set by the handler).
        poll_after: Seconds the provider suggests waiting before the next poll.
        raw: The provider's status payload.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    state: JobState
    progress_percent: int | None = None
    queue_position: int | None = None
    logs: list[str] = Field(default_factory=list)
    message: str | None = None
    error: Exception | None = Field(default=None, exclude=True)
    poll_after: float | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Whether the job reached a final state."""
        return self.state in ("completed", "failed", "cancelled")


class JobRecord(BaseModel):
    """A stored job with its last known state."""

    job: JobRef
    state: JobState | Literal["submitted", "abandoned", "cancel_requested"] = "submitted"
    """``abandoned``: our wait ended but the provider did not confirm a cancel, so the job
    may still run (and bill); it stays pending until resumed or cancelled."""
    updated_at: datetime = Field(default_factory=utcnow)
    error: str | None = None


@runtime_checkable
class JobStore(Protocol):
    """Where accepted jobs are recorded until they finish."""

    async def record(self, job: JobRef) -> None:
        """Remember a job the provider just accepted."""

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        """Record a state change (terminal states mark the job finished)."""

    async def pending(self) -> list[JobRecord]:
        """Jobs that were accepted and never reached a terminal state."""

    async def get(self, request_id: str) -> JobRecord | None:
        """The record of one job by our request id."""


class MemoryJobStore:
    """In-process job store (the default)."""

    def __init__(self) -> None:
        self._records: dict[str, JobRecord] = {}
        self._lock = threading.Lock()

    async def record(self, job: JobRef) -> None:
        with self._lock:
            self._records[job.request_id] = JobRecord(job=job)

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        with self._lock:
            self._records[job.request_id] = JobRecord(
                job=job, state=state, error=error, updated_at=utcnow()
            )

    async def pending(self) -> list[JobRecord]:
        with self._lock:
            return [r for r in self._records.values() if r.state not in _TERMINAL]

    async def get(self, request_id: str) -> JobRecord | None:
        with self._lock:
            return self._records.get(request_id)


_TERMINAL = ("completed", "failed", "cancelled")


class SQLiteJobStore:
    """Job store in a SQLite file: accepted jobs survive crashes and restarts.

    Writes run in a worker thread so they never block the event loop.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tarash_jobs ("
                " request_id TEXT PRIMARY KEY, job TEXT NOT NULL, state TEXT NOT NULL,"
                " error TEXT, updated_at TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def _write(self, job: JobRef, state: str, error: str | None) -> None:
        with self._lock, self._connect() as conn:
            conn.execute(
                "INSERT INTO tarash_jobs(request_id, job, state, error, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(request_id) DO UPDATE SET"
                " job=excluded.job, state=excluded.state, error=excluded.error,"
                " updated_at=excluded.updated_at",
                (job.request_id, job.to_json(), state, error, utcnow().isoformat()),
            )

    def _read(self, where: str, params: tuple[Any, ...]) -> list[JobRecord]:
        with self._lock, self._connect() as conn:
            rows = conn.execute(
                f"SELECT job, state, error, updated_at FROM tarash_jobs {where}",  # noqa: S608
                params,
            ).fetchall()
        return [
            JobRecord(
                job=JobRef.model_validate(json.loads(job)),
                state=state,
                error=error,
                updated_at=datetime.fromisoformat(updated),
            )
            for job, state, error, updated in rows
        ]

    async def record(self, job: JobRef) -> None:
        await asyncio.to_thread(self._write, job, "submitted", None)

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        await asyncio.to_thread(self._write, job, state, error)

    async def pending(self) -> list[JobRecord]:
        return await asyncio.to_thread(
            self._read, "WHERE state NOT IN (?, ?, ?) ORDER BY updated_at", _TERMINAL
        )

    async def get(self, request_id: str) -> JobRecord | None:
        rows = await asyncio.to_thread(self._read, "WHERE request_id = ?", (request_id,))
        return rows[0] if rows else None


_store: JobStore = MemoryJobStore()


def set_job_store(store: JobStore) -> None:
    """Use ``store`` for every job accepted from now on (e.g. ``SQLiteJobStore("jobs.db")``)."""
    global _store
    _store = store


def get_job_store() -> JobStore:
    """The active job store."""
    return _store
