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
import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "JobRef",
    "JobState",
    "JobStatus",
    "JobStore",
    "MemoryJobStore",
    "Operation",
    "SQLiteJobStore",
    "StoredState",
    "get_job_store",
    "job_key",
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

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    provider: str
    model: str
    operation: Operation
    provider_request_id: str
    request_id: str
    endpoints: dict[str, str] = Field(default_factory=dict)
    base_url: str | None = None
    submitted_at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("base_url", mode="after")
    @classmethod
    def _no_url_credentials(cls, value: str | None) -> str | None:
        # A reference is stored (SQLite, a queue, a database row): never with user:pass@
        # or ?key=… from the config's base URL; the config supplies them again on resume.
        from tarash.tarash_gateway._secrets import strip_url_credentials

        return strip_url_credentials(value) if value else value

    @field_validator("endpoints", mode="after")
    @classmethod
    def _no_endpoint_credentials(cls, value: dict[str, str]) -> dict[str, str]:
        from tarash.tarash_gateway._secrets import strip_url_credentials

        return {k: strip_url_credentials(v) for k, v in value.items()}

    @field_validator("data", mode="after")
    @classmethod
    def _no_secrets_in_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        from tarash.tarash_gateway._secrets import scrub_secrets

        cleaned: dict[str, Any] = scrub_secrets(value)
        return cleaned

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

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    state: JobState
    progress_percent: int | None = Field(default=None)
    queue_position: int | None = None
    logs: list[str] = Field(default_factory=list)
    message: str | None = None
    error: Exception | None = Field(default=None, exclude=True)
    poll_after: float | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("progress_percent")
    @classmethod
    def _clamp_percent(cls, value: int | None) -> int | None:
        return None if value is None else max(0, min(100, int(value)))

    @property
    def is_terminal(self) -> bool:
        """Whether the job reached a final state."""
        return self.state in ("completed", "failed", "cancelled")


StoredState = JobState | Literal["submitted", "abandoned", "cancel_requested", "result_pending"]
"""A stored job's last known state. Non-terminal ones stay *pending*:

* ``submitted`` — accepted, being waited for;
* ``abandoned`` — our wait ended (timeout, poll errors, crash of the caller's task) and
  the provider did not confirm a cancel: the job may still run and bill;
* ``cancel_requested`` — a cancel was sent but not confirmed;
* ``result_pending`` — the job completed upstream but its result could not be fetched.
"""


class JobRecord(BaseModel):
    """A stored job with its last known state."""

    model_config = ConfigDict(defer_build=True)  # schema built on first use, not at import

    job: JobRef
    state: StoredState = "submitted"
    updated_at: datetime = Field(default_factory=utcnow)
    error: str | None = None

    @property
    def key(self) -> str:
        """Unique key of the provider job (several jobs can share one request id)."""
        return job_key(self.job)


def job_key(job: JobRef) -> str:
    """``provider:provider_request_id`` — the identity of a job in a store."""
    return f"{job.provider}:{job.provider_request_id}"


@runtime_checkable
class JobStore(Protocol):
    """Where accepted jobs are recorded until they finish.

    Records are keyed by provider job (:func:`job_key`): every retry and fallback of one
    call keeps its own record, so an abandoned job is never overwritten by the next.
    """

    async def record(self, job: JobRef) -> None:
        """Remember a job the provider just accepted."""

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        """Record a state change (terminal states mark the job finished)."""

    async def pending(self) -> list[JobRecord]:
        """Jobs that were accepted and never reached a terminal state."""

    async def get(self, request_id: str) -> JobRecord | None:
        """The most recent record of a call by our request id (or by job key)."""


_TERMINAL = ("completed", "failed", "cancelled")


class MemoryJobStore:
    """In-process job store (the default). Finished records beyond ``keep_finished`` are
    evicted oldest first; pending ones are always kept."""

    def __init__(self, keep_finished: int = 1000) -> None:
        self._records: dict[str, JobRecord] = {}
        self._lock = threading.Lock()
        self._keep_finished = keep_finished

    async def record(self, job: JobRef) -> None:
        with self._lock:
            self._records[job_key(job)] = JobRecord(job=job)

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        with self._lock:
            key = job_key(job)
            self._records.pop(key, None)  # re-insert: dict order = update order
            self._records[key] = JobRecord.model_validate(
                {"job": job, "state": state, "error": error}
            )
            finished = [k for k, r in self._records.items() if r.state in _TERMINAL]
            for stale in finished[: max(0, len(finished) - self._keep_finished)]:
                del self._records[stale]

    async def pending(self) -> list[JobRecord]:
        with self._lock:
            return [r for r in self._records.values() if r.state not in _TERMINAL]

    async def get(self, request_id: str) -> JobRecord | None:
        with self._lock:
            if request_id in self._records:
                return self._records[request_id]
            matches = [r for r in self._records.values() if r.job.request_id == request_id]
            return matches[-1] if matches else None


class SQLiteJobStore:
    """Job store in a SQLite file: accepted jobs survive crashes and restarts.

    Writes run in a worker thread so they never block the event loop.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with self._connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tarash_job_records ("
                " job_key TEXT PRIMARY KEY, request_id TEXT NOT NULL, job TEXT NOT NULL,"
                " state TEXT NOT NULL, error TEXT, updated_at TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE INDEX IF NOT EXISTS tarash_job_records_request"
                " ON tarash_job_records(request_id)"
            )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        import sqlite3  # loaded with the first SQLite store, not with the package

        conn = sqlite3.connect(self.path, timeout=10)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def _write(self, job: JobRef, state: str, error: str | None) -> None:
        JobRecord.model_validate({"job": job, "state": state})  # reject unknown states
        with self._lock, self._connection() as conn:
            conn.execute(
                "INSERT INTO tarash_job_records(job_key, request_id, job, state, error,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_key) DO UPDATE SET"
                " job=excluded.job, state=excluded.state, error=excluded.error,"
                " updated_at=excluded.updated_at",
                (job_key(job), job.request_id, job.to_json(), state, error, utcnow().isoformat()),
            )

    def _read(self, where: str, params: tuple[Any, ...]) -> list[JobRecord]:
        with self._lock, self._connection() as conn:
            rows = conn.execute(
                f"SELECT job, state, error, updated_at FROM tarash_job_records {where}",  # noqa: S608
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
        rows = await asyncio.to_thread(
            self._read,
            "WHERE request_id = ? OR job_key = ? ORDER BY updated_at DESC LIMIT 1",
            (request_id, request_id),
        )
        return rows[0] if rows else None


_store: JobStore = MemoryJobStore()


def set_job_store(store: JobStore) -> None:
    """Use ``store`` for every job accepted from now on (e.g. ``SQLiteJobStore("jobs.db")``)."""
    global _store
    _store = store


def get_job_store() -> JobStore:
    """The active job store."""
    return _store
