"""Shared harness for local provider emulators.

Every provider emulator is a real HTTP server on 127.0.0.1 (aiohttp) running in its own
background thread with its own event loop, so sync and async clients in the same test can
talk to it. The harness gives each emulator, for free:

* auth checking before any handler (``api_key`` + ``auth`` specs, provider-shaped 401 body);
* recording of every request (``emulator.requests``, ``last()``, ``find()``, ``wait_for()``);
* per-test fault injection (``inject_status``, ``inject_delay``, ``inject_drop``,
  ``inject_malformed``, ``inject_silent``, ``inject_custom`` or the generic ``inject``),
  either before the handler runs (the request is not processed) or ``after=True``
  (the handler runs — a job is created — and the fault then spoils its answer);
* seeded random faults (``inject_random(rate, choices)`` with ``fault_spec(...)``
  choices, ``seed_faults(seed)``): each matching request faults with probability
  ``rate``, the kind drawn from ``choices``; one RNG per emulator, so a run with the
  same seed and the same request order faults the same requests;
* scripted jobs for polled APIs (``JobScript`` / ``ScriptedJob`` / ``emulator.create_job``);
* binary file serving (``add_file`` → ``/__files__/{id}``);
* SSE and chunked-bytes streaming helpers (``sse_response``, ``SSEStream``, ``stream_bytes``);
* pytest fixture factory (``emulator_fixture``) and a process entry point (``run_main``).

Minimal emulator::

    class Acme(Emulator):
        name = "acme"
        api_key = "acme-key"
        auth = (Auth.bearer(),)

        def error_body(self, status: int, message: str) -> Any:
            return {"error": {"message": message}}

        @route("POST", "/v1/things")
        async def create(self, request: web.Request) -> web.StreamResponse:
            body = recorded(request).json
            return web.json_response({"id": "t1", "echo": body})

    if __name__ == "__main__":
        run_main(Acme)  # python -m tests.emulators.acme --port 8080
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import email.message
import email.utils
import hmac
import inspect
import json
import math
import random
import re
import signal
import socket
import threading
import time
import types
import uuid
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import parse_qsl, quote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    import pytest

__all__ = [
    "Abort",
    "Auth",
    "Emulator",
    "Fault",
    "FaultKind",
    "JobScript",
    "JobSnapshot",
    "JobState",
    "RecordedFile",
    "RecordedRequest",
    "SSEEvent",
    "SSEStream",
    "ScriptedJob",
    "emulator_fixture",
    "follow_job",
    "recorded",
    "route",
    "run_main",
    "sse_response",
    "stream_bytes",
]

HOST = "127.0.0.1"
"""The only interface emulators ever bind."""
_BACKLOG = 4096  # accept bursts of thousands of connections (benchmarks) without SYN retries

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CustomFaultHandler = Callable[
    [web.Request, "RecordedRequest"],
    "Awaitable[web.StreamResponse | None] | web.StreamResponse | None",
]
E = TypeVar("E", bound="Emulator")
_H = TypeVar("_H", bound=Callable[..., Awaitable[web.StreamResponse]])

# Header names whose values are always redacted in repr() of recorded requests.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "xi-api-key",
        "x-goog-api-key",
        "x-hume-api-key",
        "api-subscription-key",
        "x-key",
    }
)
_REDACTED = "<redacted>"


# --------------------------------------------------------------------------------------
# Auth
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Auth:
    """How a provider expects its API key: a header (optionally with a scheme) or a query param.

    ``Auth.bearer()`` → ``Authorization: Bearer <k>``; ``Auth.key()`` → ``Authorization: Key <k>``;
    ``Auth.token()`` → ``Authorization: Token <k>``; ``Auth.header("xi-api-key")`` → raw value;
    ``Auth.query("key")`` → ``?key=<k>``. An emulator lists several to accept any of them.
    """

    header: str | None = "Authorization"
    scheme: str | None = "Bearer"
    query: str | None = None

    @classmethod
    def bearer(cls, header: str = "Authorization") -> Auth:
        return cls(header=header, scheme="Bearer")

    @classmethod
    def key(cls, header: str = "Authorization") -> Auth:
        return cls(header=header, scheme="Key")

    @classmethod
    def token(cls, header: str = "Authorization") -> Auth:
        return cls(header=header, scheme="Token")

    @classmethod
    def with_header(cls, name: str, scheme: str | None = None) -> Auth:
        return cls(header=name, scheme=scheme)

    @classmethod
    def query_param(cls, name: str) -> Auth:
        return cls(header=None, scheme=None, query=name)

    def extract(self, request: web.BaseRequest) -> str | None:
        """The key the client sent this way, or None."""
        if self.query is not None:
            return request.query.get(self.query)
        if self.header is None:
            return None
        raw = request.headers.get(self.header)
        if raw is None:
            return None
        if self.scheme is None:
            return raw.strip()
        scheme, _, value = raw.strip().partition(" ")
        if scheme.lower() != self.scheme.lower():
            return None
        return value.strip()


# --------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------


@dataclass(repr=False, eq=False)
class RecordedFile:
    """One uploaded file of a multipart form."""

    field: str
    filename: str | None
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"RecordedFile(field={self.field!r}, filename={self.filename!r}, "
            f"content_type={self.content_type!r}, size={self.size})"
        )


@dataclass(repr=False, eq=False)
class RecordedRequest:
    """Everything an emulator saw of one request. Headers are case-insensitive.

    ``repr()`` redacts auth header values and auth query params; the attributes keep them.
    """

    index: int
    method: str
    path: str
    query: dict[str, str]
    query_lists: dict[str, list[str]]
    headers: CIMultiDictProxy[str]
    body: bytes
    content_type: str
    received_at: float
    match_info: dict[str, str] = field(default_factory=dict)
    json: Any = None
    is_json: bool = False
    json_error: str | None = None
    form: dict[str, str] = field(default_factory=dict)
    form_lists: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, RecordedFile] = field(default_factory=dict)
    file_lists: dict[str, list[RecordedFile]] = field(default_factory=dict)
    status: int | None = None
    fault: Fault | None = None
    secret_headers: frozenset[str] = SENSITIVE_HEADERS
    secret_query: frozenset[str] = frozenset()

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def url(self) -> str:
        """Path plus query (secrets included)."""
        if not self.query_lists:
            return self.path
        pairs = [f"{k}={quote(v)}" for k, vs in self.query_lists.items() for v in vs]
        return self.path + "?" + "&".join(pairs)

    def redacted_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            if name.lower() in self.secret_headers:
                scheme, sep, _ = value.partition(" ")
                value = f"{scheme} {_REDACTED}" if sep and len(scheme) <= 10 else _REDACTED
            out[name] = value
        return out

    def redacted_query(self) -> dict[str, str]:
        return {k: (_REDACTED if k in self.secret_query else v) for k, v in self.query.items()}

    def __repr__(self) -> str:
        parts = [
            f"#{self.index}",
            f"{self.method} {self.path}",
            f"query={self.redacted_query()!r}",
            f"headers={self.redacted_headers()!r}",
            f"body={len(self.body)}B",
        ]
        if self.is_json:
            parts.append(f"json={self.json!r}")
        if self.form:
            parts.append(f"form={self.form!r}")
        if self.files:
            parts.append(f"files={list(self.files.values())!r}")
        parts.append(f"status={self.status}")
        if self.fault is not None:
            parts.append(f"fault={self.fault.kind.value}")
        return "RecordedRequest(" + ", ".join(parts) + ")"


try:  # aiohttp >= 3.12 has typed request keys; older versions accept plain strings.
    _RECORD_KEY: Any = web.RequestKey("tarash_emulator_record", RecordedRequest)
except AttributeError:  # pragma: no cover - older aiohttp
    _RECORD_KEY = "tarash_emulator_record"


def recorded(request: web.BaseRequest) -> RecordedRequest:
    """The RecordedRequest of the request being handled (parsed JSON / form / files).

    Use this in handlers instead of ``await request.post()``: the harness has already read the
    body (``await request.read()`` / ``request.json()`` still work, multipart does not).
    """
    rec = request.get(_RECORD_KEY)
    if not isinstance(rec, RecordedRequest):
        raise RuntimeError("request was not recorded by an Emulator")
    return rec


def _parse_multipart(body: bytes, boundary: str) -> list[tuple[str, str | None, str, bytes]]:
    """Parse multipart/form-data into (name, filename, content_type, data) tuples."""
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    parts: list[tuple[str, str | None, str, bytes]] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        # Drop transport padding up to and including the CRLF after the delimiter.
        _, nl, rest = chunk.partition(b"\r\n")
        if not nl:
            continue
        head, sep, data = rest.partition(b"\r\n\r\n")
        if not sep:
            if rest.startswith(b"\r\n"):  # part without headers
                head, data = b"", rest[2:]
            else:
                continue
        msg = email.message.Message()
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                msg[name.strip()] = value.strip()
        disposition = msg.get("Content-Disposition", "")
        field_name = msg.get_param("name", header="content-disposition")
        if not disposition or field_name is None:
            continue
        filename = msg.get_filename()
        ctype = msg.get("Content-Type", "text/plain" if filename is None else "")
        parts.append((email.utils.collapse_rfc2231_value(field_name), filename, ctype, data))
    return parts


# --------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------


class FaultKind(StrEnum):
    STATUS = "status"  # answer with a status code + provider-shaped body + extra headers
    DELAY = "delay"  # sleep, then let the normal handler answer
    DROP = "drop"  # close the TCP connection without (or mid-way through) a response
    MALFORMED = "malformed"  # HTTP 200, application/json, truncated / invalid JSON
    SILENT = "silent"  # 200 + headers (+ partial_body), then nothing for `hold` seconds
    CUSTOM = "custom"  # call a user function; it returns a response or None (pass through)


_DEFAULT_MALFORMED = b'{"status": "COMPLETED", "result": {"url": "http://127.0.0.1/tr'


@dataclass(repr=False, eq=False)
class Fault:
    """One scripted fault. Matches in injection order; ``times=None`` never runs out.

    Any fault may carry ``delay`` (seconds slept before acting, via asyncio.sleep).
    ``after=True``: the normal handler runs first (its side effects happen: a job is
    created, a cancel is applied) and the fault then replaces, truncates, holds
    (``delay``) or drops its answer. ``rate`` < 1 fires on that share of matching
    requests (seeded RNG of the emulator); ``choices`` makes the fault a random pick
    among other (unregistered) faults, see :meth:`Emulator.inject_random`.
    """

    kind: FaultKind
    method: str | None = None
    path: re.Pattern[str] | None = None
    times: int | None = 1
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0
    handler: CustomFaultHandler | None = None
    partial_body: bytes | None = None
    reset: bool = False
    after: bool = False
    hold: float = 30.0
    rate: float = 1.0
    choices: tuple[Fault, ...] = ()
    label: str | None = None
    fired: list[RecordedRequest] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many requests this fault has fired on."""
        return len(self.fired)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.count)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.count >= self.times

    def matches(self, rec: RecordedRequest) -> bool:
        if self.exhausted:
            return False
        if self.method is not None and self.method.upper() != rec.method.upper():
            return False
        return self.path is None or self.path.search(rec.path) is not None

    def __repr__(self) -> str:
        path = self.path.pattern if self.path is not None else None
        return (
            f"Fault({self.label or self.kind.value}, method={self.method}, path={path!r}, "
            f"status={self.status}, delay={self.delay}, after={self.after}, rate={self.rate}, "
            f"fired={self.count}, times={self.times})"
        )


class Abort(Exception):
    """Raise from a handler (or a helper it calls) to answer with ``response`` immediately."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


# --------------------------------------------------------------------------------------
# Scripted jobs
# --------------------------------------------------------------------------------------


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobScript:
    """Lifecycle of a polled job: queued → running (progress, logs) → succeeded | failed.

    ``queued`` / ``running`` are seconds of wall clock (``time.monotonic``) since creation, or,
    with ``by_polls=True``, numbers of ``snapshot()`` calls (status polls) spent in each phase.
    ``queue_position`` is the position reported on the first queued poll; it counts down to 0.
    """

    queued: float = 0.0
    running: float = 0.0
    outcome: Literal["succeeded", "failed"] = "succeeded"
    result: Any = None
    error: Any = None
    logs: tuple[str, ...] = ()
    queue_position: int = 0
    by_polls: bool = False

    @classmethod
    def success(
        cls,
        result: Any = None,
        *,
        queued: float = 0.0,
        running: float = 0.0,
        logs: Iterable[str] = (),
        queue_position: int = 0,
        by_polls: bool = False,
    ) -> JobScript:
        return cls(
            queued=queued,
            running=running,
            outcome="succeeded",
            result=result,
            logs=tuple(logs),
            queue_position=queue_position,
            by_polls=by_polls,
        )

    @classmethod
    def failure(
        cls,
        error: Any = None,
        *,
        queued: float = 0.0,
        running: float = 0.0,
        logs: Iterable[str] = (),
        queue_position: int = 0,
        by_polls: bool = False,
    ) -> JobScript:
        return cls(
            queued=queued,
            running=running,
            outcome="failed",
            error=error if error is not None else "job failed",
            logs=tuple(logs),
            queue_position=queue_position,
            by_polls=by_polls,
        )

    @property
    def total(self) -> float:
        return self.queued + self.running


@dataclass(frozen=True)
class JobSnapshot:
    """What a status endpoint should report right now."""

    id: str
    state: JobState
    queue_position: int | None
    progress: float
    logs: tuple[str, ...]
    result: Any
    error: Any
    polls: int
    elapsed: float

    @property
    def done(self) -> bool:
        return self.state.terminal


class ScriptedJob:
    """A job following a JobScript. Thread-safe; ``snapshot()`` counts as one status poll."""

    def __init__(
        self,
        job_id: str,
        script: JobScript,
        *,
        payload: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = job_id
        self.script = script
        self.payload = payload
        self.data: dict[str, Any] = {}  # free space for the emulator (e.g. produced bytes)
        self._clock = clock
        self.created_at = clock()
        self.polls = 0
        self._lock = threading.Lock()
        self._cancelled: JobSnapshot | None = None
        self._finished_at: float | None = None

    # -- public API --------------------------------------------------------------------
    def snapshot(self) -> JobSnapshot:
        """Report the job state, counting one poll (advances poll-driven scripts)."""
        with self._lock:
            self.polls += 1
            return self._compute()

    def peek(self) -> JobSnapshot:
        """Report the job state without counting a poll."""
        with self._lock:
            return self._compute()

    @property
    def state(self) -> JobState:
        return self.peek().state

    def cancel(self) -> bool:
        """Cancel unless already finished. Returns whether the job was cancelled now."""
        with self._lock:
            snap = self._compute()
            if snap.done:
                return False
            now = self._clock()
            self._cancelled = JobSnapshot(
                id=self.id,
                state=JobState.CANCELLED,
                queue_position=None,
                progress=snap.progress,
                logs=snap.logs,
                result=None,
                error=None,
                polls=snap.polls,
                elapsed=now - self.created_at,
            )
            self._finished_at = now
            return True

    @property
    def finished_at(self) -> float | None:
        """Monotonic time at which the job reached a terminal state (None while running).

        Time-driven scripts finish at ``created_at + queued + running`` even if nobody polls,
        so ``detected_at - finished_at`` measures a client's detection delay.
        """
        with self._lock:
            if self._finished_at is not None:
                return self._finished_at
            if not self.script.by_polls:
                end = self.created_at + self.script.total
                if self._clock() >= end:
                    return end
            return None

    # -- internals ---------------------------------------------------------------------
    def _compute(self) -> JobSnapshot:
        now = self._clock()
        elapsed = now - self.created_at
        if self._cancelled is not None:
            return dataclasses.replace(self._cancelled, polls=self.polls, elapsed=elapsed)
        s = self.script
        position = float(max(self.polls - 1, 0)) if s.by_polls else elapsed
        if position < s.queued:
            frac = position / s.queued
            qpos = max(0, s.queue_position - math.floor(frac * (s.queue_position + 1)))
            return self._snap(JobState.QUEUED, qpos, 0.0, (), elapsed)
        if position < s.total:
            if s.by_polls:
                step = position - s.queued
                frac = (step + 1) / (s.running + 1)
            else:
                frac = (position - s.queued) / s.running
            progress = round(min(99.0, max(0.0, 100.0 * frac)), 1)
            n_logs = min(len(s.logs), math.floor(frac * len(s.logs)) + 1) if s.logs else 0
            return self._snap(JobState.RUNNING, None, progress, s.logs[:n_logs], elapsed)
        if s.by_polls and self._finished_at is None and self.polls > 0:
            self._finished_at = now
        state = JobState.SUCCEEDED if s.outcome == "succeeded" else JobState.FAILED
        return self._snap(state, None, 100.0, s.logs, elapsed)

    def _snap(
        self,
        state: JobState,
        qpos: int | None,
        progress: float,
        logs: tuple[str, ...],
        elapsed: float,
    ) -> JobSnapshot:
        return JobSnapshot(
            id=self.id,
            state=state,
            queue_position=qpos,
            progress=progress,
            logs=logs,
            result=self.script.result if state is JobState.SUCCEEDED else None,
            error=self.script.error if state is JobState.FAILED else None,
            polls=self.polls,
            elapsed=elapsed,
        )

    def __repr__(self) -> str:
        return f"ScriptedJob({self.id!r}, state={self.state.value}, polls={self.polls})"


async def follow_job(
    job: ScriptedJob, interval: float = 0.05, *, max_duration: float = 60.0
) -> AsyncIterator[JobSnapshot]:
    """Yield ``job.snapshot()`` every ``interval`` s until terminal (bounded by max_duration)."""
    deadline = time.monotonic() + max_duration
    while True:
        snap = job.snapshot()
        yield snap
        if snap.done or time.monotonic() >= deadline:
            return
        await asyncio.sleep(interval)


# --------------------------------------------------------------------------------------
# Streaming helpers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event. ``data`` that is not a str is JSON-encoded."""

    data: Any = ""
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {c}" for c in self.comment.splitlines() or [""])
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        if data or self.comment is None:
            lines.extend(f"data: {line}" for line in data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode("utf-8")


class SSEStream:
    """Imperative SSE writer: ``s = await SSEStream.open(request)``; ``await s.send(data)``."""

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response

    @classmethod
    async def open(
        cls,
        request: web.BaseRequest,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> SSEStream:
        resp = web.StreamResponse(status=status)
        resp.headers["Content-Type"] = "text/event-stream; charset=utf-8"
        resp.headers["Cache-Control"] = "no-cache"
        resp.headers.update(headers or {})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        return cls(resp)

    async def send(self, data: Any = "", **fields: Any) -> None:
        event = data if isinstance(data, SSEEvent) else SSEEvent(data=data, **fields)
        await self.response.write(event.encode())

    async def close(self) -> web.StreamResponse:
        await self.response.write_eof()
        return self.response


async def sse_response(
    request: web.BaseRequest,
    events: Iterable[Any] | AsyncIterable[Any],
    *,
    interval: float = 0.0,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Stream ``events`` (SSEEvent, str or JSON-able) as text/event-stream, then end."""
    stream = await SSEStream.open(request, status=status, headers=headers)
    async for item in _aiter(events):
        await stream.send(item)
        if interval:
            await asyncio.sleep(interval)
    return await stream.close()


async def stream_bytes(
    request: web.BaseRequest,
    chunks: Iterable[bytes] | AsyncIterable[bytes],
    *,
    content_type: str = "application/octet-stream",
    interval: float = 0.0,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Stream binary chunks with chunked transfer encoding (e.g. streaming TTS audio)."""
    resp = web.StreamResponse(status=status)
    resp.headers["Content-Type"] = content_type
    resp.headers.update(headers or {})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    async for chunk in _aiter(chunks):
        await resp.write(chunk)
        if interval:
            await asyncio.sleep(interval)
    await resp.write_eof()
    return resp


async def _aiter(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


# --------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------

_ROUTES_ATTR = "__emulator_routes__"


class ChunkedStreams:
    """Scripted chunked streaming for audio emulators (mix into an :class:`Emulator`).

    ``chunk_delay`` seconds before each chunk, ``break_next_stream(n)`` makes the next
    stream drop its connection after ``n`` chunks, and every stream is recorded in
    ``stream_events`` (chunks sent, completed, who disconnected). Call
    :meth:`reset_streams` from ``on_reset``.
    """

    stream_chunks: int
    chunk_delay: float
    stream_events: list[dict[str, Any]]
    _break_after: list[int]

    def reset_streams(self, chunks: int = 4) -> None:
        self.stream_chunks = chunks
        self.chunk_delay = 0.0
        self.stream_events = []
        self._break_after = []

    def break_next_stream(self, after_chunks: int = 1) -> None:
        """Make the next streamed response drop its connection after ``after_chunks`` chunks."""
        self._break_after.append(after_chunks)

    async def send_chunked(
        self, request: web.Request, chunks: list[bytes], headers: dict[str, str]
    ) -> web.StreamResponse:
        event: dict[str, Any] = {
            "path": request.path,
            "chunks": len(chunks),
            "sent": 0,
            "completed": False,
            "disconnected": False,
        }
        self.stream_events.append(event)
        break_after = self._break_after.pop(0) if self._break_after else None
        resp = web.StreamResponse(status=200, headers=headers)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            for index, chunk in enumerate(chunks):
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
                if break_after is not None and index >= break_after:
                    if request.transport is not None:
                        request.transport.abort()
                    event["disconnected"] = "server"
                    await asyncio.sleep(5)
                    return resp
                await resp.write(chunk)
                event["sent"] = index + 1
            await resp.write_eof()
            event["completed"] = True
        except (asyncio.CancelledError, ConnectionResetError):
            event["disconnected"] = event["disconnected"] or "client"
            raise
        return resp


def route(method: str, path: str, **kwargs: Any) -> Callable[[_H], _H]:
    """Register an emulator method as a handler: ``@route("GET", "/v1/jobs/{job_id}")``."""

    def decorate(func: _H) -> _H:
        registered: list[tuple[str, str, dict[str, Any]]] = list(getattr(func, _ROUTES_ATTR, []))
        registered.append((method.upper(), path, kwargs))
        setattr(func, _ROUTES_ATTR, registered)
        return func

    return decorate


# --------------------------------------------------------------------------------------
# Emulator
# --------------------------------------------------------------------------------------


class Emulator:
    """Base class of every local provider emulator (see the module docstring).

    Subclasses set ``name``, ``api_key``, ``auth``, override ``error_body()`` (provider error
    shape) and register handlers with ``@route`` or by overriding ``routes()``.
    """

    name: str = "emulator"
    api_key: str | None = "test-key"  # None disables the auth check
    auth: tuple[Auth, ...] = (Auth.bearer(),)
    public_paths: tuple[str, ...] = (r"^/__files__/", r"^/__health__$")
    default_job_script: JobScript = JobScript.success(queued=0.05, running=0.1)
    max_body_size: int = 256 * 1024 * 1024
    shutdown_timeout: float = 0.5
    echo_key_in_errors: bool = False
    """When True, every error response (status >= 400) echoes the credential the client sent
    (and the raw Authorization header) in every string of its body and in an
    ``X-Echo-Credential`` header — as some providers do — to prove the gateway redacts it."""

    def __init__(
        self,
        *,
        api_key: str | types.EllipsisType | None = ...,
        port: int = 0,
        echo_key_in_errors: bool | None = None,
    ) -> None:
        if echo_key_in_errors is not None:
            self.echo_key_in_errors = echo_key_in_errors
        if not isinstance(api_key, types.EllipsisType):
            self.api_key = api_key
        self._port = port
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._fault_rng = random.Random(0)
        self._files: dict[str, tuple[bytes, str, str | None]] = {}
        self._script_queue: deque[JobScript] = deque()
        self.jobs: dict[str, ScriptedJob] = {}
        self.job_script: JobScript = self.default_job_script
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._public = [re.compile(p) for p in self.public_paths]

    # -- to override -------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        """Handlers of this emulator; by default every ``@route``-decorated method."""
        found: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for klass in reversed(type(self).__mro__):
            for attr_name, attr in vars(klass).items():
                specs = getattr(attr, _ROUTES_ATTR, None)
                if specs:
                    found[attr_name] = specs
                elif attr_name in found and callable(attr):
                    del found[attr_name]  # overridden without @route
        defs: list[web.RouteDef] = []
        for attr_name, specs in found.items():
            handler = getattr(self, attr_name)
            for method, path, kwargs in specs:
                if method == "GET":
                    defs.append(web.get(path, handler, **kwargs))
                else:
                    defs.append(web.route(method, path, handler, **kwargs))
        return defs

    def error_body(self, status: int, message: str) -> Any:
        """The provider's JSON error shape (used for 401s, status faults, error_response)."""
        return {"error": {"code": status, "message": message}}

    def unauthorized_response(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer to a request without the right key (checked before any handler)."""
        return self.error_response(401, "Invalid or missing API key")

    def check_auth(self, request: web.BaseRequest) -> bool:
        if self.api_key is None:
            return True
        expected = self.api_key.encode()
        for spec in self.auth:
            got = spec.extract(request)
            if got is not None and hmac.compare_digest(got.encode(), expected):
                return True
        return False

    def new_id(self, prefix: str = "") -> str:
        """Fresh id (override for provider-shaped ids)."""
        return prefix + uuid.uuid4().hex

    def on_reset(self) -> None:
        """Hook: clear subclass state in reset()."""

    # -- helpers for handlers ----------------------------------------------------------
    def error_response(
        self, status: int, message: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        msg = message if message is not None else _reason(status)
        return _make_response(status, self.error_body(status, msg), headers, None)

    def abort(self, status: int, message: str | None = None) -> Abort:
        """``raise self.abort(404, "no such job")`` from anywhere inside a handler."""
        return Abort(self.error_response(status, message))

    def url(self, path: str) -> str:
        return self.base_url + ("" if path.startswith("/") else "/") + path

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError(f"{self.name} emulator is not running; call start() first")
        return self._base_url

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def start(self, timeout: float = 10.0) -> str:
        """Bind 127.0.0.1 (port 0 = free port), serve in a background thread; return base_url."""
        if self._thread is not None:
            return self.base_url
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, self._port))
            sock.listen(_BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve_thread,
            args=(loop, sock, ready, errors),
            name=f"emulator-{self.name}-{port}",
            daemon=True,
        )
        thread.start()
        if not ready.wait(timeout):
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            raise TimeoutError(f"{self.name} emulator did not start within {timeout}s")
        if errors:
            thread.join(timeout)
            raise RuntimeError(f"{self.name} emulator failed to start") from errors[0]
        self._loop, self._thread = loop, thread
        self._base_url = f"http://{HOST}:{port}"
        return self._base_url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread (bounded by ``timeout``)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None
        self._base_url = None
        if thread.is_alive():
            raise RuntimeError(f"{self.name} emulator thread did not stop within {timeout}s")

    def __enter__(self: E) -> E:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget recorded requests, faults, jobs, files and per-test job scripts."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._files.clear()
            self._script_queue.clear()
            self.jobs.clear()
            self.job_script = self.default_job_script
            self.on_reset()

    def serve(self) -> None:
        """Run in the foreground until SIGINT/SIGTERM; print base_url once ready."""
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        self.start()
        print(self.base_url, flush=True)
        try:
            while not stop.wait(0.5) and self.running:
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _serve_thread(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        ready: threading.Event,
        errors: list[BaseException],
    ) -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(
            self._build_app(),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self.shutdown_timeout,
        )
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock, backlog=_BACKLOG).start())
        except BaseException as exc:
            errors.append(exc)
            sock.close()
            with contextlib.suppress(Exception):
                loop.run_until_complete(runner.cleanup())
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):  # best-effort shutdown, bounded
                loop.run_until_complete(
                    asyncio.wait_for(runner.cleanup(), self.shutdown_timeout + 5.0)
                )
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=2.0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            sock.close()

    def _build_app(self) -> web.Application:
        @web.middleware
        async def harness_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._handle(request, handler)

        app = web.Application(middlewares=[harness_middleware], client_max_size=self.max_body_size)
        app.router.add_get("/__health__", self._health)
        app.router.add_get("/__files__/{file_id}", self._serve_file)
        app.router.add_get("/__files__/{file_id}/{filename}", self._serve_file)
        app.router.add_routes(self.routes())
        return app

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True, "emulator": self.name})

    # -- request pipeline: record → auth → fault → handler ------------------------------
    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        rec = await self._record(request)
        request[_RECORD_KEY] = rec
        try:
            if not self._is_public(request.path) and not self.check_auth(request):
                resp = self.unauthorized_response(request)
            else:
                fault = self._take_fault(rec)
                if fault is None:
                    resp = await handler(request)
                else:
                    resp = await self._apply_fault(fault, request, rec, handler)
        except Abort as abort:
            resp = abort.response
        except web.HTTPException as exc:
            rec.status = exc.status
            raise
        except Exception:
            rec.status = 500  # aiohttp answers 500 for handler bugs
            raise
        rec.status = resp.status
        if self.echo_key_in_errors and resp.status >= 400:
            resp = self._echo_credentials(request, resp)
        return resp

    def _sent_credentials(self, request: web.BaseRequest) -> list[str]:
        sent = [c for spec in self.auth if (c := spec.extract(request))]
        for name in ("Authorization", "X-Api-Key", "xi-api-key", "api-key", "X-Goog-Api-Key"):
            value = request.headers.get(name)
            if value:
                sent.append(f"{name}: {value}")
        if self.api_key:
            sent.append(self.api_key)
        return list(dict.fromkeys(sent))

    def _echo_credentials(
        self, request: web.BaseRequest, resp: web.StreamResponse
    ) -> web.StreamResponse:
        """Rewrite an error response so that it carries the client's credentials."""
        if not isinstance(resp, web.Response) or not isinstance(resp.body, bytes):
            return resp  # streamed/prepared responses are left as they are
        sent = self._sent_credentials(request)
        if not sent:
            return resp
        note = " [echo: you sent " + " | ".join(sent) + "]"

        def infect(value: Any) -> Any:
            if isinstance(value, str):
                return value + note
            if isinstance(value, list):
                return [infect(v) for v in value]
            if isinstance(value, dict):
                return {k: infect(v) for k, v in value.items()}
            return value

        body = resp.body
        try:
            parsed = json.loads(body)
        except ValueError:
            new_body = body + note.encode("utf-8", "replace")
        else:
            infected = infect(parsed)
            if isinstance(infected, dict):
                infected.setdefault("echo", note)
            new_body = json.dumps(infected).encode()
        headers = CIMultiDict(resp.headers)
        headers.pop("Content-Length", None)
        headers["X-Echo-Credential"] = sent[0].replace("\r", " ").replace("\n", " ")
        return web.Response(status=resp.status, body=new_body, headers=headers)

    def _is_public(self, path: str) -> bool:
        return any(p.search(path) for p in self._public)

    def _take_fault(self, rec: RecordedRequest) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.matches(rec):
                    continue
                if fault.rate < 1.0 and self._fault_rng.random() >= fault.rate:
                    continue
                fault.fired.append(rec)
                if fault.choices:
                    fault = fault.choices[self._fault_rng.randrange(len(fault.choices))]
                    fault.fired.append(rec)
                rec.fault = fault
                return fault
        return None

    async def _apply_fault(
        self, fault: Fault, request: web.Request, rec: RecordedRequest, handler: Handler
    ) -> web.StreamResponse:
        if fault.after:
            return await self._apply_fault_after(fault, request, handler)
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        kind = fault.kind
        if kind is FaultKind.DELAY:
            return await handler(request)
        if kind is FaultKind.STATUS:
            status = fault.status if fault.status is not None else 500
            body = (
                fault.body if fault.body is not None else self.error_body(status, _reason(status))
            )
            return _make_response(status, body, fault.headers, fault.content_type)
        if kind is FaultKind.MALFORMED:
            status = fault.status if fault.status is not None else 200
            body = fault.body if fault.body is not None else _DEFAULT_MALFORMED
            if not isinstance(body, bytes):
                body = str(body).encode()
            return _make_response(
                status, body, fault.headers, fault.content_type or "application/json"
            )
        if kind is FaultKind.DROP:
            return await self._drop(fault, request)
        if kind is FaultKind.SILENT:
            return await self._silent(fault, request)
        if fault.handler is None:
            raise RuntimeError("custom fault without handler")
        result = fault.handler(request, rec)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return await handler(request)
        return result

    async def _apply_fault_after(
        self, fault: Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Run the real handler (side effects happen), then spoil its answer."""
        resp = await handler(request)
        body = resp.body if isinstance(resp, web.Response) else None
        if not isinstance(body, bytes):
            return resp  # a streamed answer was already sent: nothing left to spoil
        kind = fault.kind
        if kind is FaultKind.DELAY:
            await asyncio.sleep(fault.delay)  # held past the client's timeout
            return resp
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if kind is FaultKind.STATUS:
            status = fault.status if fault.status is not None else 500
            out = fault.body if fault.body is not None else self.error_body(status, _reason(status))
            return _make_response(status, out, fault.headers, fault.content_type)
        if kind is FaultKind.MALFORMED:
            cut = body[: max(1, len(body) // 2)] if fault.body is None else fault.body
            data = cut if isinstance(cut, bytes) else str(cut).encode()
            return _make_response(
                resp.status, data, fault.headers, fault.content_type or resp.content_type
            )
        if kind is FaultKind.DROP:
            partial = body[: len(body) // 2] if fault.partial_body is None else fault.partial_body
            spec = dataclasses.replace(
                fault, partial_body=partial or None, status=resp.status, fired=[]
            )
            return await self._drop(spec, request)
        if kind is FaultKind.SILENT:
            return await self._silent(fault, request)
        return resp

    async def _silent(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        """Answer 200 with headers (and ``partial_body``), then send nothing for ``hold`` s."""
        resp = web.StreamResponse(status=fault.status or 200, headers=fault.headers)
        resp.content_type = fault.content_type or "text/event-stream"
        await resp.prepare(request)
        if fault.partial_body:
            await resp.write(fault.partial_body)
        await asyncio.sleep(fault.hold)
        transport = request.transport
        if transport is not None:
            transport.close()
        return resp

    async def _drop(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        if fault.partial_body is not None:
            resp = web.StreamResponse(status=fault.status or 200, headers=fault.headers)
            resp.content_type = fault.content_type or "application/octet-stream"
            resp.content_length = len(fault.partial_body) + 1024 * 1024
            await resp.prepare(request)
            await resp.write(fault.partial_body)
        transport = request.transport
        if transport is not None:
            if fault.reset:
                transport.abort()
            else:
                transport.close()
        # connection_lost cancels this handler (handler_cancellation=True); bounded fallback.
        await asyncio.sleep(5.0)
        raise ConnectionResetError("emulator dropped the connection")

    async def _record(self, request: web.Request) -> RecordedRequest:
        body = await request.read()
        ctype = request.headers.get("Content-Type", "")
        query_lists: dict[str, list[str]] = {}
        for k, v in request.query.items():
            query_lists.setdefault(k, []).append(v)
        secret_headers = SENSITIVE_HEADERS | {
            a.header.lower() for a in self.auth if a.header is not None
        }
        rec = RecordedRequest(
            index=0,
            method=request.method,
            path=request.path,
            query={k: vs[-1] for k, vs in query_lists.items()},
            query_lists=query_lists,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            body=body,
            content_type=ctype,
            received_at=time.monotonic(),
            match_info=dict(request.match_info),
            secret_headers=frozenset(secret_headers),
            secret_query=frozenset(a.query for a in self.auth if a.query is not None),
        )
        mime = ctype.split(";", 1)[0].strip().lower()
        if body and (mime == "application/json" or mime.endswith("+json")):
            try:
                rec.json = json.loads(body)
                rec.is_json = True
            except ValueError as exc:
                rec.json_error = str(exc)
        elif mime == "application/x-www-form-urlencoded":
            for k, v in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
                rec.form_lists.setdefault(k, []).append(v)
        elif mime == "multipart/form-data":
            msg = email.message.Message()
            msg["Content-Type"] = ctype
            boundary = msg.get_boundary()
            if boundary:
                for name, filename, part_type, data in _parse_multipart(body, boundary):
                    if filename is None:
                        text = data.decode("utf-8", errors="replace")
                        rec.form_lists.setdefault(name, []).append(text)
                    else:
                        f = RecordedFile(name, filename, part_type, data)
                        rec.file_lists.setdefault(name, []).append(f)
        rec.form = {k: vs[-1] for k, vs in rec.form_lists.items()}
        rec.files = {k: fs[-1] for k, fs in rec.file_lists.items()}
        with self._cond:
            rec.index = len(self._requests)
            self._requests.append(rec)
            self._cond.notify_all()
        return rec

    # -- recorded requests -------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Copy of every request received since start/reset, in arrival order."""
        with self._lock:
            return list(self._requests)

    def find(
        self,
        path: str | None = None,
        method: str | None = None,
        *,
        status: int | None = None,
        where: Callable[[RecordedRequest], bool] | None = None,
    ) -> list[RecordedRequest]:
        """Requests whose path matches regex ``path`` (re.search), method, status, predicate."""
        pattern = re.compile(path) if path is not None else None
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.search(r.path) is not None)
            and (status is None or r.status == status)
            and (where is None or where(r))
        ]

    def last(self, path: str | None = None, method: str | None = None) -> RecordedRequest:
        found = self.find(path, method)
        if not found:
            seen = [f"{r.method} {r.path}" for r in self.requests]
            raise LookupError(f"no {method or ''} request matching {path!r}; received: {seen}")
        return found[-1]

    def count(self, path: str | None = None, method: str | None = None) -> int:
        return len(self.find(path, method))

    def wait_for(
        self,
        path: str | None = None,
        method: str | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Block (bounded) until ``count`` matching requests arrived; return them.

        From async tests use ``await asyncio.to_thread(emulator.wait_for, ...)``.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.find(path, method)
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(found)}/{count} requests matching {method} {path!r} after {timeout}s"
                    )
                self._cond.wait(left)

    # -- faults ------------------------------------------------------------------------
    def inject(
        self,
        kind: FaultKind | str = FaultKind.STATUS,
        *,
        path: str | re.Pattern[str] | None = None,
        method: str | None = None,
        times: int | None = 1,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
        retry_after: float | str | None = None,
        handler: CustomFaultHandler | None = None,
        partial_body: bytes | None = None,
        reset: bool = False,
        after: bool = False,
        hold: float = 30.0,
        rate: float = 1.0,
        choices: Iterable[Fault] = (),
        label: str | None = None,
    ) -> Fault:
        """Script a fault for the next ``times`` matching requests (None = every one).

        ``path`` is a regex searched in the request path; ``method`` is exact. Faults are
        tried in injection order; the first live match fires (after the auth check).
        """
        fault = self.fault_spec(
            kind,
            path=path,
            method=method,
            times=times,
            status=status,
            body=body,
            headers=headers,
            content_type=content_type,
            delay=delay,
            retry_after=retry_after,
            handler=handler,
            partial_body=partial_body,
            reset=reset,
            after=after,
            hold=hold,
            rate=rate,
            choices=choices,
            label=label,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    @staticmethod
    def fault_spec(
        kind: FaultKind | str = FaultKind.STATUS,
        *,
        path: str | re.Pattern[str] | None = None,
        method: str | None = None,
        times: int | None = None,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
        retry_after: float | str | None = None,
        handler: CustomFaultHandler | None = None,
        partial_body: bytes | None = None,
        reset: bool = False,
        after: bool = False,
        hold: float = 30.0,
        rate: float = 1.0,
        choices: Iterable[Fault] = (),
        label: str | None = None,
    ) -> Fault:
        """A :class:`Fault` that is not registered (a choice of :meth:`inject_random`)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        hdrs = dict(headers or {})
        if retry_after is not None:
            hdrs["Retry-After"] = str(retry_after)
        fault = Fault(
            kind=FaultKind(kind),
            method=method.upper() if method else None,
            path=re.compile(path) if isinstance(path, str) else path,
            times=times,
            status=status,
            body=body,
            headers=hdrs,
            content_type=content_type,
            delay=delay,
            handler=handler,
            partial_body=partial_body,
            reset=reset,
            after=after,
            hold=hold,
            rate=rate,
            choices=tuple(choices),
            label=label,
        )
        if fault.kind is FaultKind.CUSTOM and handler is None:
            raise ValueError("custom faults need handler=")
        return fault

    def seed_faults(self, seed: int) -> None:
        """Reseed the RNG of random faults (same seed + same request order = same faults)."""
        with self._lock:
            self._fault_rng = random.Random(seed)

    def inject_random(
        self,
        rate: float,
        choices: Iterable[Fault],
        *,
        path: str | re.Pattern[str] | None = None,
        method: str | None = None,
        times: int | None = None,
        label: str | None = None,
    ) -> Fault:
        """Fault a share ``rate`` of the matching requests, each with a random pick of
        ``choices`` (built with :meth:`fault_spec`). Returns the parent fault: its
        ``fired`` lists every faulted request, each choice's ``fired`` its own."""
        picks = tuple(choices)
        if not picks:
            raise ValueError("inject_random needs at least one choice")
        return self.inject(
            FaultKind.CUSTOM,
            path=path,
            method=method,
            times=times,
            rate=rate,
            choices=picks,
            handler=_never_called,
            label=label or "random",
        )

    def inject_status(
        self,
        status: int,
        body: Any = None,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        headers: Mapping[str, str] | None = None,
        retry_after: float | str | None = None,
        content_type: str | None = None,
    ) -> Fault:
        """Answer with ``status``; body defaults to ``error_body(status, reason)``."""
        return self.inject(
            FaultKind.STATUS,
            path=path,
            method=method,
            times=times,
            status=status,
            body=body,
            headers=headers,
            retry_after=retry_after,
            content_type=content_type,
        )

    def inject_delay(
        self,
        seconds: float,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
    ) -> Fault:
        """Sleep ``seconds`` (without blocking other requests), then answer normally."""
        return self.inject(FaultKind.DELAY, path=path, method=method, times=times, delay=seconds)

    def inject_drop(
        self,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        partial_body: bytes | None = None,
        reset: bool = False,
    ) -> Fault:
        """Close the connection with no response (or after ``partial_body`` of a 200)."""
        return self.inject(
            FaultKind.DROP,
            path=path,
            method=method,
            times=times,
            partial_body=partial_body,
            reset=reset,
        )

    def inject_malformed(
        self,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        body: bytes | str | None = None,
        status: int = 200,
    ) -> Fault:
        """HTTP 200 with application/json and a truncated JSON body."""
        return self.inject(
            FaultKind.MALFORMED, path=path, method=method, times=times, body=body, status=status
        )

    def inject_silent(
        self,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        hold: float = 30.0,
        partial_body: bytes | None = None,
        content_type: str = "text/event-stream",
    ) -> Fault:
        """200 with headers (and ``partial_body``), then silence for ``hold`` seconds."""
        return self.inject(
            FaultKind.SILENT,
            path=path,
            method=method,
            times=times,
            hold=hold,
            partial_body=partial_body,
            content_type=content_type,
        )

    def inject_custom(
        self,
        handler: CustomFaultHandler,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
    ) -> Fault:
        """``handler(request, recorded)`` returns a response, or None to pass through."""
        return self.inject(FaultKind.CUSTOM, path=path, method=method, times=times, handler=handler)

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- jobs --------------------------------------------------------------------------
    @property
    def next_job_script(self) -> JobScript:
        """Script the next created job will follow; assigning queues a one-shot script."""
        with self._lock:
            return self._script_queue[0] if self._script_queue else self.job_script

    @next_job_script.setter
    def next_job_script(self, script: JobScript) -> None:
        self.queue_job_scripts(script)

    def queue_job_scripts(self, *scripts: JobScript) -> None:
        """One-shot scripts used by the next jobs in order, then ``job_script`` again."""
        with self._lock:
            self._script_queue.extend(scripts)

    def create_job(
        self,
        payload: Any = None,
        *,
        job_id: str | None = None,
        script: JobScript | None = None,
    ) -> ScriptedJob:
        with self._lock:
            if script is None:
                script = self._script_queue.popleft() if self._script_queue else self.job_script
            job = ScriptedJob(job_id or self.new_id(), script, payload=payload)
            self.jobs[job.id] = job
            return job

    def get_job(self, job_id: str) -> ScriptedJob:
        """The job, or raise Abort with a provider-shaped 404."""
        job = self.jobs.get(job_id)
        if job is None:
            raise self.abort(404, f"job {job_id} not found")
        return job

    # -- files -------------------------------------------------------------------------
    def add_file(
        self,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        filename: str | None = None,
    ) -> str:
        """Serve ``data`` at an absolute URL on this emulator (no auth needed)."""
        file_id = uuid.uuid4().hex
        with self._lock:
            self._files[file_id] = (data, content_type, filename)
        suffix = f"/{quote(filename)}" if filename else ""
        return f"{self.base_url}/__files__/{file_id}{suffix}"

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        entry = self._files.get(request.match_info["file_id"])
        if entry is None:
            return self.error_response(404, "file not found")
        data, ctype, filename = entry
        headers = {}
        if filename:
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return web.Response(body=data, content_type=ctype, headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


async def _never_called(request: web.Request, rec: RecordedRequest) -> None:
    """Handler of a random fault's parent: a choice always fires in its place."""
    raise AssertionError("a random fault fires one of its choices")  # pragma: no cover


def _make_response(
    status: int, body: Any, headers: Mapping[str, str] | None, content_type: str | None
) -> web.Response:
    if isinstance(body, bytes):
        data, default_type = body, "application/octet-stream"
    elif isinstance(body, str):
        data, default_type = body.encode(), "text/plain; charset=utf-8"
    else:
        data, default_type = json.dumps(body).encode(), "application/json"
    hdrs = CIMultiDict(headers or {})
    if content_type is not None or "Content-Type" not in hdrs:
        hdrs["Content-Type"] = content_type or default_type
    return web.Response(status=status, body=data, headers=hdrs)


# --------------------------------------------------------------------------------------
# pytest + process entry points
# --------------------------------------------------------------------------------------


def emulator_fixture(
    cls: type[E],
    *,
    scope: Literal["function", "module", "session"] = "function",
    **kwargs: Any,
) -> Any:
    """Build a pytest fixture yielding a running ``cls(**kwargs)``.

    ``scope="function"``: a fresh server per test (simplest, ~ms per test).
    ``scope="module"`` / ``"session"`` (preferred for speed in big suites): one server per
    module / session, ``reset()`` before each test; the fixture itself stays function-scoped.

    In a conftest.py or test module: ``fal = emulator_fixture(FalEmulator, scope="module")``.
    """
    import pytest

    if scope == "function":

        @pytest.fixture
        def _fresh_emulator() -> Iterator[E]:
            with cls(**kwargs) as emu:
                yield emu

        return _fresh_emulator

    shared: dict[str, E] = {}

    @pytest.fixture
    def _shared_emulator(request: pytest.FixtureRequest) -> E:
        owner = request.node.getparent(pytest.Module) if scope == "module" else None
        key = owner.nodeid if owner is not None else "<session>"
        emu = shared.get(key)
        if emu is None:
            emu = cls(**kwargs)
            emu.start()
            shared[key] = emu

            def _stop(emu: E = emu, key: str = key) -> None:
                shared.pop(key, None)
                emu.stop()

            if owner is not None:
                owner.addfinalizer(_stop)
            else:
                request.config.add_cleanup(_stop)
        emu.reset()
        return emu

    return _shared_emulator


def run_main(emulator_cls: type[Emulator], argv: list[str] | None = None) -> None:
    """Process entry point: ``python -m tests.emulators.<module> --port N [--api-key K]``.

    Binds 127.0.0.1:N (0 = free port), prints the base URL on stdout once ready, serves until
    SIGINT/SIGTERM.
    """
    parser = argparse.ArgumentParser(description=f"{emulator_cls.name} emulator on {HOST}")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    parser.add_argument("--api-key", default=None, help="expected API key (default: built-in)")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without a key")
    args = parser.parse_args(argv)
    api_key: str | types.EllipsisType | None = ...
    if args.no_auth:
        api_key = None
    elif args.api_key is not None:
        api_key = args.api_key
    emulator_cls(api_key=api_key, port=args.port).serve()
