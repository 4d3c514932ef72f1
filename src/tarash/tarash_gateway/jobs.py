"""Durable job references: a job the provider accepted is never forgotten.

A :class:`JobRef` is a small, JSON-serialisable description of an accepted
job — provider, model, operation, the provider's request id and the endpoints
needed to poll, fetch and cancel it. It holds no secret: the API key comes
from the config you pass when you resume or cancel it, from any process.

Submission semantics. Before a submit is sent, a :class:`SubmitIntent` (our
request id, a per-attempt intent id, provider, model, a hash of the payload,
time) goes into the active :class:`JobStore` (state ``intent``). When the
provider answers, the intent record *becomes* the job record (state
``submitted``, :meth:`JobStore.resolve_intent`). A submit that failed before the
provider could have accepted it is marked ``not_sent`` (terminal); a submit whose
outcome is unknown — the request was sent, the answer was lost — is marked
``unknown``: the provider may have accepted it and may bill, so it stays pending,
is listed by :func:`list_pending_jobs` and ``tarash jobs``, and is never resent
automatically.

The orchestrator marks a job finished when the result is in hand, the job
failed or was cancelled. The store is in memory by default;
:class:`SQLiteJobStore` survives crashes and restarts (see its durability notes).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import enum
import hashlib
import json
import math
import os
import queue
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "INTENT_KEY_PREFIX",
    "JobRecord",
    "JobRef",
    "JobState",
    "JobStatus",
    "JobStore",
    "MemoryJobStore",
    "Operation",
    "SQLiteJobStore",
    "StoredState",
    "SubmitIntent",
    "get_job_store",
    "intent_key",
    "job_key",
    "list_pending_jobs",
    "list_pending_jobs_async",
    "payload_hash",
    "payload_hash_async",
    "set_job_store",
    "url_without_userinfo",
]

Operation = Literal["video", "image", "tts", "sts"]
JobState = Literal["queued", "processing", "completed", "failed", "cancelled"]


def utcnow() -> datetime:
    """Timezone-aware UTC now."""
    return datetime.now(UTC)


def url_without_userinfo(url: str | None) -> str | None:
    """``url`` without credentials — ``user:password@`` and secret query parameters
    (``?key=…``, ``?token=…``): they never go into a job store."""
    from tarash.tarash_gateway._secrets import strip_url_credentials

    return strip_url_credentials(url) if url else url


class JobRef(BaseModel):
    """Serializable reference to a job a provider accepted (no secrets inside).

    Attributes:
        provider: Provider name (registry key) that accepted the job.
        model: Model the job runs on.
        operation: ``video`` | ``image`` | ``tts`` | ``sts``.
        provider_request_id: The provider's id for the job.
        request_id: Our request id (the one responses and updates carry).
        endpoints: Provider URLs for status/result/cancel when the provider gave them.
        base_url: The base URL the job was submitted to (proxies, regions, emulators),
            stored without ``user:password@``.
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


StoredState = (
    JobState
    | Literal[
        "submitted",
        "abandoned",
        "cancel_requested",
        "result_pending",
        "intent",
        "unknown",
        "not_sent",
    ]
)
"""A stored record's last known state. Terminal: ``completed``, ``failed``, ``cancelled``,
``not_sent``. Every other state stays *pending*:

* ``intent`` — a submit is about to be sent (or is in flight); after a crash its outcome
  is unknown;
* ``unknown`` — the submit was sent and its outcome is unknown (reset after the request
  was sent, truncated answer, read timeout): the provider may have accepted it and may
  bill. It is never resent automatically;
* ``submitted`` — accepted, being waited for;
* ``abandoned`` — our wait ended (timeout, poll errors, crash of the caller's task) and
  the provider did not confirm a cancel: the job may still run and bill;
* ``cancel_requested`` — a cancel was sent but not confirmed;
* ``result_pending`` — the job completed upstream but its result could not be fetched.

``not_sent`` — the submit failed before the provider could have accepted it (connection
refused, DNS, connect timeout, an HTTP error the provider answered): nothing to bill.
"""

_STORED_STATES = frozenset(
    arg for part in get_args(StoredState) for arg in (get_args(part) or (part,))
)
TERMINAL_STATES: tuple[str, ...] = ("completed", "failed", "cancelled", "not_sent")
INTENT_OUTCOMES: tuple[str, ...] = ("unknown", "not_sent", "completed", "failed")
"""What an intent can end as without becoming a job: ``completed`` and ``failed`` are
the answers of a *direct* operation (an image or speech returned, or refused as failed)."""
INTENT_KEY_PREFIX = "intent:"


class SubmitIntent(BaseModel):
    """A submit we are about to send: written to the store *before* the request goes out.

    Attributes:
        intent_id: Our id of this submit attempt (unique per attempt).
        request_id: Our request id (shared by every attempt and fallback of one call).
        provider: Provider the submit goes to.
        model: Model it runs on.
        operation: ``video`` | ``image`` | ``tts`` | ``sts``.
        payload_hash: :func:`payload_hash` of the provider payload.
        base_url: The base URL the submit goes to, without ``user:password@``.
        attempt_number: Attempt number on this config (1 = first).
        created_at: UTC time the intent was written.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    intent_id: str
    request_id: str
    provider: str
    model: str
    operation: Operation
    payload_hash: str
    base_url: str | None = None
    attempt_number: int = 1
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("base_url")
    @classmethod
    def _strip_userinfo(cls, value: str | None) -> str | None:
        return url_without_userinfo(value)


class JobRecord(BaseModel):
    """A stored job — or a submit intent that has no provider job yet — with its state.

    ``job`` is set once the provider accepted the submit; ``intent`` is set when the
    record started as a :class:`SubmitIntent` (it stays linked after the provider
    answered). At least one of them is set.
    """

    model_config = ConfigDict(defer_build=True)  # schema built on first use, not at import

    job: JobRef | None = None
    intent: SubmitIntent | None = None
    state: StoredState = "submitted"
    updated_at: datetime = Field(default_factory=utcnow)
    error: str | None = None

    @model_validator(mode="after")
    def _job_or_intent(self) -> JobRecord:
        if self.job is None and self.intent is None:
            raise ValueError("a job record needs a job, an intent, or both")
        return self

    @property
    def key(self) -> str:
        """Unique key in a store: :func:`job_key` of the job, else ``intent:<intent_id>``."""
        if self.job is not None:
            return job_key(self.job)
        assert self.intent is not None
        return intent_key(self.intent.intent_id)

    @property
    def intent_id(self) -> str | None:
        """Our id of the submit attempt that produced this record (when it had an intent)."""
        return self.intent.intent_id if self.intent is not None else None

    @property
    def request_id(self) -> str:
        """Our request id."""
        return self.job.request_id if self.job is not None else self._intent.request_id

    @property
    def provider(self) -> str:
        """Provider of the job or intent."""
        return self.job.provider if self.job is not None else self._intent.provider

    @property
    def model(self) -> str:
        """Model of the job or intent."""
        return self.job.model if self.job is not None else self._intent.model

    @property
    def operation(self) -> Operation:
        """Operation of the job or intent."""
        return self.job.operation if self.job is not None else self._intent.operation

    @property
    def submitted_at(self) -> datetime:
        """When the provider accepted the job, else when the intent was written."""
        return self.job.submitted_at if self.job is not None else self._intent.created_at

    @property
    def is_terminal(self) -> bool:
        """Whether the record reached a final state."""
        return self.state in TERMINAL_STATES

    @property
    def _intent(self) -> SubmitIntent:
        assert self.intent is not None
        return self.intent


def job_key(job: JobRef) -> str:
    """``provider:provider_request_id`` — the identity of a job in a store."""
    return f"{job.provider}:{job.provider_request_id}"


def intent_key(intent_id: str) -> str:
    """``intent:<intent_id>`` — the key of a record that has no provider job yet."""
    return f"{INTENT_KEY_PREFIX}{intent_id}"


def _check_intent_outcome(state: str) -> None:
    if state not in INTENT_OUTCOMES:
        raise ValueError(f"an intent's outcome is one of {INTENT_OUTCOMES}, not {state!r}")


# ============================================================================ payload hash

_HASH_TAG = "__tarash_hash__"
_FILE_CHUNK = 1 << 20
_MAX_DEPTH = 64
_file_digests: OrderedDict[tuple[str, int, int, int], dict[str, Any]] = OrderedDict()
_file_digests_lock = threading.Lock()


def _bytes_digest(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    view = memoryview(data)
    return {_HASH_TAG: "bytes", "sha256": hashlib.sha256(view).hexdigest(), "size": view.nbytes}


def _file_digest(path: PurePath) -> dict[str, Any]:
    """Digest of a local file's content (cached by path, size, mtime and inode)."""
    real = Path(path).expanduser()
    try:
        resolved = real.resolve()
        info = resolved.stat()
    except (OSError, RuntimeError):
        return {_HASH_TAG: "file", "path": str(real), "missing": True}
    cache_key = (str(resolved), info.st_size, info.st_mtime_ns, info.st_ino)
    with _file_digests_lock:
        cached = _file_digests.get(cache_key)
        if cached is not None:
            _file_digests.move_to_end(cache_key)
            return cached
    digest = hashlib.sha256()
    try:
        with resolved.open("rb") as handle:
            while chunk := handle.read(_FILE_CHUNK):
                digest.update(chunk)
    except OSError:
        return {_HASH_TAG: "file", "path": str(resolved), "unreadable": True}
    result = {_HASH_TAG: "file", "sha256": digest.hexdigest(), "size": info.st_size}
    with _file_digests_lock:
        _file_digests[cache_key] = result
        while len(_file_digests) > 256:
            _file_digests.popitem(last=False)
    return result


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _canonical(value: Any, depth: int = 0) -> Any:
    """A JSON value that is identical for equal payloads in any process (never a repr)."""
    if depth > _MAX_DEPTH:
        return {_HASH_TAG: "too_deep"}
    nxt = depth + 1
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {_HASH_TAG: "float", "value": repr(value)}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, nxt) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, nxt) for v in value]
    if isinstance(value, set | frozenset):
        items = [_canonical(v, nxt) for v in value]
        return {_HASH_TAG: "set", "items": sorted(items, key=_dumps)}
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes_digest(value)
    from tarash.tarash_gateway.media import MediaInput

    if isinstance(value, MediaInput):
        if value.url is not None:
            source: dict[str, Any] = {"url": value.url}
        elif value.data is not None:
            source = _bytes_digest(value.data)
        elif value.path is not None:
            source = _file_digest(value.path)
        else:
            source = {}
        return {_HASH_TAG: "media", "content_type": value.content_type, "source": source}
    if isinstance(value, PurePath):
        return _file_digest(value)
    if isinstance(value, enum.Enum):
        return _canonical(value.value, nxt)
    if isinstance(value, datetime | date | dt_time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return {
            _HASH_TAG: _type_name(value),
            "fields": _canonical(value.model_dump(), nxt),
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {_HASH_TAG: _type_name(value), "fields": _canonical(fields, nxt)}
    getvalue = getattr(value, "getvalue", None)  # io.BytesIO / io.StringIO
    if callable(getvalue):
        content = getvalue()
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogatepass")
        if isinstance(content, bytes):
            return _bytes_digest(content)
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):
        public = {k: v for k, v in attrs.items() if not k.startswith("_")}
        return {_HASH_TAG: _type_name(value), "fields": _canonical(public, nxt)}
    return {_HASH_TAG: _type_name(value)}


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def payload_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a canonical JSON of a provider payload — equal in every process.

    Keys are sorted; bytes, :class:`~tarash.tarash_gateway.media.MediaInput` values and
    paths are replaced by a digest of their content (a URL by the URL itself); pydantic
    models and dataclasses by their fields; other objects by their type and public
    attributes — never by a ``repr`` that could hold a memory address.

    Local files are read (hashed in 1 MiB chunks, cached by path, size and mtime): inside
    an event loop, call :func:`payload_hash_async` when the payload may hold large files.
    """
    return hashlib.sha256(_dumps(_canonical(payload)).encode("ascii")).hexdigest()


_INLINE_BYTES = 256 * 1024


def _hashing_is_heavy(value: Any, depth: int = 0) -> bool:
    """Whether hashing ``value`` reads a file or digests much data (worth a thread)."""
    if depth > 20:
        return True
    if isinstance(value, Mapping):
        return any(_hashing_is_heavy(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_hashing_is_heavy(v, depth + 1) for v in value)
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value) > _INLINE_BYTES
    if isinstance(value, PurePath):
        return True
    if isinstance(value, str | int | float | bool) or value is None:
        return False
    from tarash.tarash_gateway.media import MediaInput

    if isinstance(value, MediaInput):
        return value.path is not None or len(value.data or b"") > _INLINE_BYTES
    return False


async def payload_hash_async(payload: Mapping[str, Any]) -> str:
    """:func:`payload_hash`, in a worker thread when it reads files or hashes much data
    (small payloads are hashed inline: a thread hop costs more than the hash)."""
    if _hashing_is_heavy(payload):
        return await asyncio.to_thread(payload_hash, payload)
    return payload_hash(payload)


# ============================================================================ stores


@runtime_checkable
class JobStore(Protocol):
    """Where submit intents and accepted jobs are recorded until they finish.

    Records are keyed by provider job (:func:`job_key`) or, before the provider
    answered, by intent (:func:`intent_key`): every retry and fallback of one call keeps
    its own record, so an abandoned job is never overwritten by the next.
    """

    async def record(self, job: JobRef) -> None:
        """Remember a job the provider just accepted (state ``submitted``)."""

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        """Record a state change (terminal states mark the job finished)."""

    async def pending(self) -> list[JobRecord]:
        """Every record not in a terminal state (intents and unknown outcomes included)."""

    async def get(self, request_id: str) -> JobRecord | None:
        """The most recent record by our request id, job key, or intent id."""

    async def record_intent(self, intent: SubmitIntent) -> None:
        """Remember a submit before it is sent (state ``intent``)."""

    async def resolve_intent(self, intent_id: str, job: JobRef) -> None:
        """The provider accepted the submit: the intent record becomes ``job``'s record
        (state ``submitted``, still linked to the intent), atomically. An intent the
        store does not hold is no reason to lose the job: it is recorded anyway."""

    async def update_intent(self, intent_id: str, state: str, error: str | None = None) -> None:
        """Record the outcome of a submit that got no job: ``unknown`` or ``not_sent``.
        An intent that was already resolved into a job (or is not in the store) is left
        as it is."""


class MemoryJobStore:
    """In-process job store (the library's default). Finished records beyond
    ``keep_finished`` are evicted oldest first; pending ones are always kept."""

    def __init__(self, keep_finished: int = 1000) -> None:
        self._records: dict[str, JobRecord] = {}
        # Keys of finished records, oldest first: eviction costs O(1), not a scan of
        # every record (which made each update O(jobs in flight)).
        self._finished: dict[str, None] = {}
        self._lock = threading.Lock()
        self._keep_finished = keep_finished

    def _put(self, record: JobRecord) -> None:
        """Insert at the end (dict order = update order) and evict old finished records
        (oldest first, in O(1))."""
        key = record.key
        self._records.pop(key, None)
        self._finished.pop(key, None)
        self._records[key] = record
        if record.is_terminal:
            self._finished[key] = None
            while len(self._finished) > self._keep_finished:
                stale = next(iter(self._finished))
                del self._finished[stale]
                self._records.pop(stale, None)

    async def record(self, job: JobRef) -> None:
        with self._lock:
            previous = self._records.get(job_key(job))
            intent = previous.intent if previous is not None else None
            self._put(JobRecord(job=job, intent=intent))

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        with self._lock:
            previous = self._records.get(job_key(job))
            intent = previous.intent if previous is not None else None
            self._put(
                JobRecord.model_validate(
                    {"job": job, "intent": intent, "state": state, "error": error}
                )
            )

    async def record_intent(self, intent: SubmitIntent) -> None:
        with self._lock:
            self._put(JobRecord(intent=intent, state="intent"))

    async def resolve_intent(self, intent_id: str, job: JobRef) -> None:
        with self._lock:
            pending = self._records.pop(intent_key(intent_id), None)
            previous = self._records.get(job_key(job))
            intent = pending.intent if pending is not None else None
            if intent is None and previous is not None:
                intent = previous.intent
            self._put(JobRecord(job=job, intent=intent, state="submitted"))

    async def update_intent(self, intent_id: str, state: str, error: str | None = None) -> None:
        _check_intent_outcome(state)
        with self._lock:
            current = self._records.get(intent_key(intent_id))
            if current is None:
                return
            self._put(
                current.model_copy(update={"state": state, "error": error, "updated_at": utcnow()})
            )

    async def pending(self) -> list[JobRecord]:
        with self._lock:
            return [r for r in self._records.values() if not r.is_terminal]

    async def get(self, request_id: str) -> JobRecord | None:
        with self._lock:
            direct = self._records.get(request_id) or self._records.get(intent_key(request_id))
            if direct is not None:
                return direct
            for record in reversed(self._records.values()):
                if request_id in (record.request_id, record.intent_id):
                    return record
            return None

    def close(self) -> None:
        """Nothing to release (symmetry with :class:`SQLiteJobStore`)."""

    async def aclose(self) -> None:
        """Nothing to release."""


# ---------------------------------------------------------------------------- SQLite

_TABLE = "tarash_job_records"
_PENDING_WHERE = "state NOT IN ('completed', 'failed', 'cancelled', 'not_sent')"
_CREATE_TABLE = (
    "CREATE TABLE {name} ("
    " job_key TEXT PRIMARY KEY,"  # provider:provider_request_id, or intent:<intent_id>
    " request_id TEXT NOT NULL,"
    " job TEXT,"  # JobRef JSON (NULL while the record is only an intent)
    " intent_id TEXT,"
    " intent TEXT,"  # SubmitIntent JSON
    " state TEXT NOT NULL,"
    " error TEXT,"
    " updated_at TEXT NOT NULL)"
)
_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_request ON {_TABLE}(request_id)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_intent ON {_TABLE}(intent_id)"
    " WHERE intent_id IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_pending ON {_TABLE}(updated_at) WHERE {_PENDING_WHERE}",
)
_UPSERT_JOB = (
    "INSERT INTO tarash_job_records(job_key, request_id, job, intent_id, intent, state, error,"
    " updated_at) VALUES (?, ?, ?, NULL, NULL, ?, ?, ?)"
    " ON CONFLICT(job_key) DO UPDATE SET request_id=excluded.request_id, job=excluded.job,"
    " state=excluded.state, error=excluded.error, updated_at=excluded.updated_at"
)
_UPSERT_INTENT = (
    "INSERT INTO tarash_job_records(job_key, request_id, job, intent_id, intent, state, error,"
    " updated_at) VALUES (?, ?, NULL, ?, ?, 'intent', NULL, ?)"
    " ON CONFLICT(job_key) DO UPDATE SET intent=excluded.intent,"
    " state='intent', error=NULL, updated_at=excluded.updated_at"
)
_RESOLVE_INTENT = (
    "INSERT INTO tarash_job_records(job_key, request_id, job, intent_id, intent, state, error,"
    " updated_at) VALUES (?, ?, ?, ?, ?, 'submitted', NULL, ?)"
    " ON CONFLICT(job_key) DO UPDATE SET request_id=excluded.request_id,"
    " job=excluded.job, intent_id=excluded.intent_id,"
    " intent=COALESCE(excluded.intent, tarash_job_records.intent), state='submitted',"
    " error=NULL, updated_at=excluded.updated_at"
)
_MAX_BATCH = 2000


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the table, or bring a file written by an older version up to date.

    Safe to run again and from several processes at once: it runs in one ``BEGIN
    IMMEDIATE`` transaction and decides from the table's columns, not from a counter.
    Version 0 (``job TEXT NOT NULL``, no intent columns) is rebuilt into the current
    table with every row kept.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        columns = {row[1]: row for row in conn.execute(f"PRAGMA table_info({_TABLE})")}
        if not columns:
            conn.execute(_CREATE_TABLE.format(name=_TABLE))
        elif "intent_id" not in columns:
            old = f"{_TABLE}_v0"
            conn.execute(f"DROP INDEX IF EXISTS {_TABLE}_request")
            conn.execute(f"ALTER TABLE {_TABLE} RENAME TO {old}")
            conn.execute(_CREATE_TABLE.format(name=_TABLE))
            conn.execute(
                f"INSERT INTO {_TABLE}(job_key, request_id, job, state, error, updated_at)"  # noqa: S608
                f" SELECT job_key, request_id, job, state, error, updated_at FROM {old}"
                " ORDER BY rowid"
            )
            conn.execute(f"DROP TABLE {old}")
        for statement in _INDEXES:
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _decode(row: tuple[Any, ...]) -> JobRecord:
    job, intent, state, error, updated = row
    return JobRecord(
        job=JobRef.model_validate_json(job) if job else None,
        intent=SubmitIntent.model_validate_json(intent) if intent else None,
        state=state,
        error=error,
        updated_at=datetime.fromisoformat(updated),
    )


_Result = concurrent.futures.Future[Any] | asyncio.Future[Any]


@dataclasses.dataclass(slots=True)
class _Op:
    """One unit of work for the writer thread; its result goes back to ``future``."""

    run: Callable[[sqlite3.Connection], Any]
    read: bool
    future: _Result
    loop: asyncio.AbstractEventLoop | None


_CLOSE = object()


def _settle(future: _Result, ok: bool, value: Any) -> None:
    if future.done():  # the awaiting task was cancelled: the write still happened
        return
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except (concurrent.futures.InvalidStateError, asyncio.InvalidStateError):
        pass


def _settle_all(results: list[tuple[_Result, bool, Any]]) -> None:
    for future, ok, value in results:
        _settle(future, ok, value)


class _Writer:
    """The one thread that owns the SQLite connection; writes are group-committed.

    It takes the first queued op, drains every op queued behind it, runs all writes
    in ONE transaction (a savepoint per op, so one bad op fails alone), commits, and
    only then answers each caller. A read first commits the writes queued before it,
    so it sees them (and everything other processes committed).
    """

    def __init__(self, path: Path, synchronous: str, busy_timeout: float) -> None:
        self.path = path
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._queue: queue.SimpleQueue[_Op | object] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self.pid = os.getpid()
        self.transactions = 0
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.thread = threading.Thread(
            target=self._run, args=(ready,), name=f"tarash-jobs-sqlite:{path.name}", daemon=True
        )
        self.thread.start()
        ready.result()  # the file's set-up or migration error, raised to the constructor

    def _open(self) -> sqlite3.Connection:
        import sqlite3  # loaded with the first SQLite store, not with the package

        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        # Several processes opening one file at once (two CLI commands): switching to WAL
        # and the migration take locks that SQLite may refuse at once ("database is
        # locked") instead of waiting; retry within the busy timeout.
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.02
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
                _migrate(conn)
                return conn
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    conn.close()
                    raise
                time.sleep(delay)  # the writer thread's own start-up, never the event loop
                delay = min(0.5, delay * 2)
            except BaseException:
                conn.close()
                raise

    def submit(
        self, run: Callable[[sqlite3.Connection], Any], *, read: bool, loop: bool
    ) -> _Result:
        future: _Result
        running = asyncio.get_running_loop() if loop else None
        future = running.create_future() if running is not None else concurrent.futures.Future()
        with self._close_lock:  # an op is queued before the close sentinel, or refused
            if self._closed:
                raise RuntimeError(f"the job store {self.path} is closed")
            self._queue.put(_Op(run, read, future, running))
        return future

    def close(self, timeout: float = 60.0) -> None:
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_CLOSE)
        if self.thread is not threading.current_thread() and os.getpid() == self.pid:
            self.thread.join(timeout)

    # ----------------------------------------------------------- writer thread

    def _run(self, ready: concurrent.futures.Future[None]) -> None:
        try:
            conn = self._open()
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            stop = False
            while not stop:
                batch = [self._queue.get()]
                while len(batch) < _MAX_BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = self._process(conn, batch)
        finally:
            with self._close_lock:  # however the thread ends, no caller waits forever
                self._closed = True
            self._fail_leftovers()
            conn.close()

    def _process(self, conn: sqlite3.Connection, batch: list[_Op | object]) -> bool:
        writes: list[_Op] = []
        for item in batch:
            if item is _CLOSE:
                self._commit(conn, writes)
                return True
            assert isinstance(item, _Op)
            if item.read:
                self._commit(conn, writes)
                writes = []
                self._answer([self._execute_read(conn, item)])
            else:
                writes.append(item)
        self._commit(conn, writes)
        return False

    @staticmethod
    def _execute_read(conn: sqlite3.Connection, op: _Op) -> tuple[_Op, bool, Any]:
        try:
            return op, True, op.run(conn)
        except Exception as exc:
            return op, False, exc

    def _commit(self, conn: sqlite3.Connection, writes: list[_Op]) -> None:
        if not writes:
            return
        outcomes: list[tuple[_Op, bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in writes:
                conn.execute("SAVEPOINT tarash_op")
                try:
                    value = op.run(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO tarash_op")
                    conn.execute("RELEASE tarash_op")
                    outcomes.append((op, False, exc))
                else:
                    conn.execute("RELEASE tarash_op")
                    outcomes.append((op, True, value))
            conn.execute("COMMIT")
            self.transactions += 1
        except Exception as exc:  # locked past the busy timeout, disk full, I/O error
            if conn.in_transaction:
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
            outcomes = [(op, False, exc) for op in writes]
        self._answer(outcomes)

    @staticmethod
    def _answer(outcomes: list[tuple[_Op, bool, Any]]) -> None:
        """Hand each result to its caller: one wake-up per event loop, not per op."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Result, bool, Any]]] = {}
        for op, ok, value in outcomes:
            if op.loop is None:
                _settle(op.future, ok, value)
            else:
                by_loop.setdefault(op.loop, []).append((op.future, ok, value))
        for loop, results in by_loop.items():
            # a closed loop (RuntimeError): nobody is waiting there any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, results)

    def _fail_leftovers(self) -> None:
        closed = RuntimeError(f"the job store {self.path} is closed")
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Op):
                self._answer([(item, False, closed)])


def _close_writer(holder: list[_Writer | None]) -> None:
    writer = holder[0]
    if writer is not None:
        writer.close()


class SQLiteJobStore:
    """Job store in a SQLite file: accepted jobs survive crashes and restarts.

    One connection, owned by one writer thread; the event loop never blocks on it.
    Writes are *group-committed*: every write queued while a transaction runs goes
    into the next one, so a burst of 1,000 ``record()`` calls costs a handful of
    transactions, and each ``await store.record(job)`` returns only once its row is
    committed. Reads run on the same thread after the writes queued before them.

    Durability (``synchronous="NORMAL"``, the default, in WAL mode): a committed
    record survives the process being killed at any moment (``kill -9``, a crash, an
    OOM kill) — the commit is in the write-ahead log, in the operating system's
    cache, before ``record()`` returns. It does not survive an operating-system crash
    or a power loss, which can roll back the last transactions (the file stays
    consistent). ``synchronous="FULL"`` fsyncs every commit and survives those too, at
    the price of one fsync per group commit. WAL needs a local filesystem (not NFS/SMB).

    The file can be shared by several processes (SQLite's file locking; each waits up
    to ``busy_timeout`` seconds for another's transaction). Call :meth:`close` or
    :meth:`aclose` when done; at interpreter exit queued writes are flushed.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 30.0,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be 'NORMAL' or 'FULL'")
        self.path = Path(path)
        self.synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._holder: list[_Writer | None] = [None]
        self._start_lock = threading.Lock()
        self._start()
        self._finalizer = weakref.finalize(self, _close_writer, self._holder)

    def _start(self) -> _Writer:
        with self._start_lock:
            writer = self._holder[0]
            if writer is not None and writer.pid == os.getpid():
                return writer
            # first use, or a forked child: a SQLite connection never crosses a fork
            writer = _Writer(self.path, self.synchronous, self._busy_timeout)
            self._holder[0] = writer
            return writer

    @property
    def transactions(self) -> int:
        """Write transactions committed by this store so far (group commits)."""
        writer = self._holder[0]
        return writer.transactions if writer is not None else 0

    def _writer(self) -> _Writer:
        writer = self._holder[0]
        if writer is None:
            raise RuntimeError(f"the job store {self.path} is closed")
        if writer.pid != os.getpid():
            writer = self._start()
        return writer

    async def _call(self, run: Callable[[sqlite3.Connection], Any], *, read: bool = False) -> Any:
        future = self._writer().submit(run, read=read, loop=True)
        assert isinstance(future, asyncio.Future)
        return await future

    # ----------------------------------------------------------- writes

    async def record(self, job: JobRef) -> None:
        await self.update(job, "submitted")

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        if state not in _STORED_STATES:  # reject unknown states before queueing
            JobRecord.model_validate({"job": job, "state": state})
        params = (job_key(job), job.request_id, job.to_json(), state, error, utcnow().isoformat())

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(_UPSERT_JOB, params)

        await self._call(run)

    async def record_intent(self, intent: SubmitIntent) -> None:
        params = (
            intent_key(intent.intent_id),
            intent.request_id,
            intent.intent_id,
            intent.model_dump_json(),
            utcnow().isoformat(),
        )

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(_UPSERT_INTENT, params)

        await self._call(run)

    async def resolve_intent(self, intent_id: str, job: JobRef) -> None:
        pending_key, key, now = intent_key(intent_id), job_key(job), utcnow().isoformat()
        job_json = job.to_json()

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                f"SELECT intent FROM {_TABLE} WHERE job_key = ?",  # noqa: S608
                (pending_key,),
            ).fetchone()
            conn.execute(f"DELETE FROM {_TABLE} WHERE job_key = ?", (pending_key,))  # noqa: S608
            conn.execute(
                _RESOLVE_INTENT,
                (key, job.request_id, job_json, intent_id, row[0] if row else None, now),
            )

        await self._call(run)

    async def update_intent(self, intent_id: str, state: str, error: str | None = None) -> None:
        _check_intent_outcome(state)
        params = (state, error, utcnow().isoformat(), intent_key(intent_id))

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE {_TABLE} SET state = ?, error = ?, updated_at = ? WHERE job_key = ?",  # noqa: S608
                params,
            )

        await self._call(run)

    # ----------------------------------------------------------- reads

    def _select(self, where: str, params: tuple[Any, ...]) -> Callable[[sqlite3.Connection], Any]:
        def run(conn: sqlite3.Connection) -> list[JobRecord]:
            rows = conn.execute(
                f"SELECT job, intent, state, error, updated_at FROM {_TABLE} {where}",  # noqa: S608
                params,
            ).fetchall()
            return [_decode(row) for row in rows]

        return run

    async def pending(self) -> list[JobRecord]:
        where = f"WHERE {_PENDING_WHERE} ORDER BY updated_at, rowid"
        records: list[JobRecord] = await self._call(self._select(where, ()), read=True)
        return records

    async def get(self, request_id: str) -> JobRecord | None:
        where = (
            "WHERE request_id = ? OR job_key = ? OR intent_id = ?"
            " ORDER BY updated_at DESC, rowid DESC LIMIT 1"
        )
        rows: list[JobRecord] = await self._call(
            self._select(where, (request_id, request_id, request_id)), read=True
        )
        return rows[0] if rows else None

    # ----------------------------------------------------------- lifecycle

    def flush(self, timeout: float | None = 60.0) -> None:
        """Block until every write queued so far is committed (not from the event loop)."""
        future = self._writer().submit(lambda conn: None, read=True, loop=False)
        assert isinstance(future, concurrent.futures.Future)
        future.result(timeout)

    def close(self) -> None:
        """Commit what is queued, close the connection and stop the writer thread."""
        self._finalizer()
        self._holder[0] = None

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    def __repr__(self) -> str:
        return f"SQLiteJobStore({str(self.path)!r})"


# ============================================================================ active store

_store: JobStore = MemoryJobStore()


def set_job_store(store: JobStore) -> None:
    """Use ``store`` for every job accepted from now on (e.g. ``SQLiteJobStore("jobs.db")``)."""
    global _store
    _store = store


def get_job_store() -> JobStore:
    """The active job store."""
    return _store


async def list_pending_jobs_async(store: JobStore | None = None) -> list[JobRecord]:
    """Every record not finished in ``store`` (default: the active store): accepted jobs
    still out there, and submits whose outcome is ``unknown`` (they may have been accepted
    and may bill; they were not resent) — oldest first."""
    records = await (store or get_job_store()).pending()
    return sorted(records, key=lambda r: r.updated_at)


def list_pending_jobs(store: JobStore | None = None) -> list[JobRecord]:
    """Blocking version of :func:`list_pending_jobs_async`."""
    from tarash.tarash_gateway._sync import run_sync

    return run_sync(list_pending_jobs_async(store))
