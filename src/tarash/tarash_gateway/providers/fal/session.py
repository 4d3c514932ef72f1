"""One fal session per (API key, base URL, settings, event loop): SDK client, bounded pools, URLs.

How the official SDK is used, and why not its high-level calls
-------------------------------------------------------------
``fal_client.AsyncClient`` has no base-URL argument: ``submit`` /
``status`` / ``result`` / ``cancel`` / ``upload`` build their URLs from the
module globals ``QUEUE_URL_FORMAT``, ``REST_URL`` and ``CDN_URL``. Patching
those per call is unsafe as soon as two configs (a proxy and fal itself, or
an emulator) run concurrently. The SDK calls also retry on their own (up to
10 attempts, switched by the process-wide ``MAX_ATTEMPTS``) while our
orchestrator alone must decide retries, and ``AsyncClient``'s httpx pool
keeps 20 keep-alive connections out of 100, which under concurrency makes
httpcore close and reopen connections on nearly every request.

So a session keeps the SDK's ``AsyncClient`` (key and default timeout, as
the cache contract asks) and speaks the queue protocol itself, with the
SDK's own pieces: its credential scheme (``fal_client.auth.AuthCredentials``),
its ``User-Agent``, its backup-domain transport when talking to fal's hosts,
its ``FalClientHTTPError`` for every HTTP error and its ``AppId`` parsing
for the ``owner/alias`` status URLs. Every URL is absolute and built from
:class:`FalEndpoints` — ``config.base_url`` (one host serving queue, storage
and CDN paths, as proxies and the emulator do) or the SDK's defaults, each
overridable through ``provider_config`` (``queue_url``, ``rest_url``,
``cdn_url``). Nothing global is ever modified.

Concurrency
-----------
httpcore rescans every connection of a pool (with a readability syscall per
idle one) and every queued request on each request start and end, so one
big pool costs more CPU per request the more connections it holds (≈4 ms
per request with 64 connections against ≈1 ms with 4, measured here) and
collapses with ~1000 queued requests (its clean-up pass is even quadratic in the
idle connections: 32-connection stream pools cost 3x the CPU of 8-connection ones
in the 1,000-job benchmark). So there are three separate gates, and
no kind of request ever waits behind another kind:

* **short** requests (submit, status, result, cancel, storage token) wait on a
  gate of ``max_concurrency`` (default 64; requests about running jobs go
  before new submissions, :class:`PriorityGate`) and then run on one of
  several small pools of :data:`REQUEST_SHARD_SIZE` connections, so no pool
  ever queues and every scan is short;
* **long** transfers (media uploads, audio downloads) wait on their own gate of
  ``max_transfers`` (default 16) and run on their own pools;
* **status streams** (SSE, one long request per job) use their own pools of
  :data:`STREAM_SHARD_SIZE` connections; at most ``max_streams`` (default
  :func:`auto_max_streams`, from the open-file limit) run at once and further
  jobs are polled instead (a stream never waits for a slot).

A slot is held for the one HTTP exchange only (the gate is released as soon
as the response body is read). The wait for a slot is bounded by the caller's
``wait_limit``: past it, :class:`GateTimeout` is raised — the request was never
sent, so retrying it is safe — instead of silently eating the job's budget.
Every wait is measured (:func:`gate_wait` of a response, :class:`GateStats`).
A task cancelled while it waits leaves the gate as it found it.

All pools of a session share one TLS context; the most recently used pool is
picked first, so keep-alive connections are reused. The pools run on a plain
asyncio network backend (:mod:`._asyncio_net`) rather than httpcore's anyio one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_GATE_WAIT",
    "DEFAULT_MAX_STREAMS",
    "DEFAULT_MAX_TRANSFERS",
    "REQUEST_SHARD_SIZE",
    "STREAM_SHARD_SIZE",
    "FalEndpoints",
    "FalProtocolError",
    "FalSession",
    "FalSettings",
    "GateStats",
    "GateTimeout",
    "PoolShard",
    "PriorityGate",
    "ShardedPool",
    "auto_max_streams",
    "fal_http_error",
    "gate_wait",
]

DEFAULT_MAX_CONCURRENCY = 64
DEFAULT_MAX_STREAMS = 1024
"""Stream slots when the open-file limit cannot be read (else see :func:`auto_max_streams`)."""
DEFAULT_MAX_TRANSFERS = 16
DEFAULT_MAX_GATE_WAIT = 60.0
REQUEST_SHARD_SIZE = 4
STREAM_SHARD_SIZE = 8
_AUTO_STREAMS_CAP = 16_384
DEFAULT_STREAM_IDLE_TIMEOUT = 15.0
_GATE_WAIT_KEY = "tarash_gate_wait"
_FAL_HOSTS = ("fal.run", "queue.fal.run", "rest.fal.ai", "v3.fal.media", "fal.media")
_TOKEN_MARGIN = 60.0


class GateTimeout(Exception):
    """No slot of a session's request gate came free within the caller's wait limit.

    The request was never sent (``request_sent`` is False): retrying it is safe.
    """

    request_sent = False

    def __init__(self, gate: str, waited: float, in_use: int, capacity: int) -> None:
        super().__init__(
            f"no free fal {gate} request slot within {waited:.2f}s "
            f"({in_use}/{capacity} in use); the request was not sent"
        )
        self.gate = gate
        self.waited = waited


class FalProtocolError(Exception):
    """fal (or something in between) answered with a body we cannot use."""

    def __init__(self, message: str, raw: Any = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.status_code = status_code


# --------------------------------------------------------------------------- settings + URLs


@dataclass(frozen=True)
class FalSettings:
    """``provider_config`` options of the fal provider (validated in ``prepare``)."""

    queue_url: str | None = None
    rest_url: str | None = None
    cdn_url: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_streams: int | None = None  # None: auto_max_streams()
    max_transfers: int = DEFAULT_MAX_TRANSFERS
    max_gate_wait: float = DEFAULT_MAX_GATE_WAIT
    stream_idle_timeout: float = DEFAULT_STREAM_IDLE_TIMEOUT
    priority: str | None = None
    start_timeout: float | None = None

    @classmethod
    def from_provider_config(cls, config: Mapping[str, Any]) -> FalSettings:
        """Parse ``provider_config``; raises ``ValueError`` naming the bad key."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"unknown fal provider_config key(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for name in ("queue_url", "rest_url", "cdn_url"):
            url = config.get(name)
            if url is not None:
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    raise ValueError(f"provider_config[{name!r}] must be an http(s) URL")
                values[name] = url.rstrip("/")
        for name, low, high in (
            ("max_concurrency", 1, 1000),
            ("max_streams", 0, 100_000),
            ("max_transfers", 1, 1000),
        ):
            if name in config:
                value = config[name]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int)
                    or not low <= value <= high
                ):
                    raise ValueError(f"provider_config[{name!r}] must be an int in {low}..{high}")
                values[name] = value
        for name in ("stream_idle_timeout", "start_timeout", "max_gate_wait"):
            if config.get(name) is not None:
                value = config[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ValueError(f"provider_config[{name!r}] must be a positive number")
                values[name] = float(value)
        if config.get("priority") is not None:
            if config["priority"] not in ("normal", "low"):
                raise ValueError("provider_config['priority'] must be 'normal' or 'low'")
            values["priority"] = config["priority"]
        return cls(**values)


def auto_max_streams() -> int:
    """Default stream slots: three quarters of the process's open-file limit (less 512
    descriptors for everything else), between 64 and 16,384.

    Each status stream holds a connection (a file descriptor) for a job's whole run; the
    old fixed cap of 1,024 sent most jobs of a 10,000-job burst to polling, which costs
    several requests per job instead of one.
    """
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - non-POSIX
        return DEFAULT_MAX_STREAMS
    if soft == resource.RLIM_INFINITY:
        return _AUTO_STREAMS_CAP
    return max(64, min(_AUTO_STREAMS_CAP, (soft - 512) * 3 // 4))


@dataclass(frozen=True)
class FalEndpoints:
    """Absolute base URLs (no trailing slash) of the queue, storage REST API and CDN."""

    queue: str
    rest: str
    cdn: str

    @classmethod
    def resolve(cls, base_url: str | None, settings: FalSettings) -> FalEndpoints:
        """``base_url`` for everything, else the SDK's defaults; ``provider_config`` wins."""
        if base_url:
            queue = rest = cdn = base_url.rstrip("/")
        else:
            from fal_client import client as fal_sdk

            queue = str(fal_sdk.QUEUE_URL_FORMAT).rstrip("/")
            rest = str(fal_sdk.REST_URL).rstrip("/")
            cdn = str(fal_sdk.CDN_URL).rstrip("/")
        return cls(
            queue=settings.queue_url or queue,
            rest=settings.rest_url or rest,
            cdn=settings.cdn_url or cdn,
        )

    def submit_url(self, app_id: str) -> str:
        """``POST`` target of a queue submission (the full endpoint id, sub-path included)."""
        return f"{self.queue}/{app_id.strip('/')}"

    def request_url(self, app_id: str, request_id: str) -> str:
        """Base URL of a request: ``{queue}/[namespace/]{owner}/{alias}/requests/{id}``.

        Status, result and cancel use only owner/alias (fal's sub-path rule).
        """
        from fal_client.client import AppId

        app = AppId.from_endpoint_id(app_id)
        prefix = f"{app.namespace}/" if app.namespace else ""
        return f"{self.queue}/{prefix}{app.owner}/{app.alias}/requests/{request_id}"


# --------------------------------------------------------------------------- errors


def fal_http_error(response: httpx.Response) -> Exception:
    """The SDK's ``FalClientHTTPError`` for an error response (as its own client raises it)."""
    from fal_client import FalClientHTTPError

    message: Any = response.text
    error_type = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("detail", response.text)
        error_type = body.get("error_type")
    if error_type is None:
        error_type = response.headers.get("x-fal-error-type")
    return FalClientHTTPError(
        message,
        response.status_code,
        dict(response.headers),
        response=response,
        error_type=error_type,
    )


def parse_json(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a response, or :class:`FalProtocolError`."""
    try:
        data = json.loads(response.content)
    except ValueError as exc:
        raise FalProtocolError(
            f"fal returned malformed JSON (HTTP {response.status_code}, "
            f"{len(response.content)} bytes): {response.text[:200]!r}",
            response.text[:2000],
            response.status_code,
        ) from exc
    if not isinstance(data, dict):
        raise FalProtocolError(
            f"fal returned JSON that is not an object (HTTP {response.status_code})",
            data,
            response.status_code,
        )
    return data


# --------------------------------------------------------------------------- TLS context

_ssl_lock = threading.Lock()
_ssl_context: ssl.SSLContext | None = None


def _shared_ssl_context() -> ssl.SSLContext:
    """One verified TLS context for every fal pool (building one costs ~40 ms of CPU)."""
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            _ssl_context = httpx.create_ssl_context(trust_env=True)
        return _ssl_context


# --------------------------------------------------------------------------- admission


@dataclass
class GateStats:
    """What one gate's callers waited (for benchmarks and diagnostics)."""

    admitted: int = 0
    waited: int = 0
    wait_seconds: float = 0.0
    max_wait: float = 0.0
    timeouts: int = 0
    cancelled: int = 0


class PriorityGate:
    """At most ``capacity`` holders; waiting work on started jobs goes before new submissions.

    When the pool is saturated (hundreds of jobs at once), a finished job's
    result fetch or a status poll should not queue behind submissions that
    have not started yet: that is what keeps completion-to-return delay low.
    FIFO within each priority. :meth:`acquire` returns how long it waited and
    raises :class:`GateTimeout` past ``timeout``; a caller cancelled while it
    waits leaves no trace (no slot taken, no stale waiter).
    """

    def __init__(self, capacity: int, name: str = "short") -> None:
        self.capacity = capacity
        self.name = name
        self.stats = GateStats()
        self._free = capacity
        self._high: deque[asyncio.Future[None]] = deque()
        self._low: deque[asyncio.Future[None]] = deque()

    @property
    def in_use(self) -> int:
        """Slots currently held."""
        return self.capacity - self._free

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return len(self._high) + len(self._low)

    async def acquire(self, *, high: bool, timeout: float | None = None) -> float:
        """Wait for a slot (``high``: ahead of every waiting low-priority caller).

        Returns the seconds waited; raises :class:`GateTimeout` after ``timeout``.
        """
        stats = self.stats
        if self._free > 0 and not self._high and (high or not self._low):
            self._free -= 1
            stats.admitted += 1
            return 0.0
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        queue = self._high if high else self._low
        queue.append(future)
        started = loop.time()
        try:
            if timeout is None:
                await future
            else:
                async with asyncio.timeout(max(0.0, timeout)):
                    await future
        except BaseException as exc:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we gave up
            else:
                future.cancel()
                with contextlib.suppress(ValueError):  # release() may have dropped it
                    queue.remove(future)
            waited = loop.time() - started
            if isinstance(exc, TimeoutError):
                stats.timeouts += 1
                raise GateTimeout(self.name, waited, self.in_use, self.capacity) from None
            stats.cancelled += 1
            raise
        waited = loop.time() - started
        stats.admitted += 1
        stats.waited += 1
        stats.wait_seconds += waited
        stats.max_wait = max(stats.max_wait, waited)
        return waited

    def release(self) -> None:
        """Hand the slot to the next waiter (high priority first), or free it."""
        for queue in (self._high, self._low):
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    return
        self._free += 1


def gate_wait(response: httpx.Response) -> float:
    """Seconds the request behind ``response`` waited for a gate slot (0 when it did not)."""
    value = response.extensions.get(_GATE_WAIT_KEY, 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


# --------------------------------------------------------------------------- session


@dataclass
class PoolShard:
    """One small httpx connection pool and how many of its slots are in use."""

    client: httpx.AsyncClient
    active: int = 0


class ShardedPool:
    """Slots over several small httpx pools (see the module docs for why)."""

    def __init__(self, make_client: Any, shard_size: int, capacity: int) -> None:
        self._make_client = make_client
        self.shard_size = shard_size
        self.capacity = capacity
        self.active = 0
        self.shards: list[PoolShard] = []
        self._open: list[PoolShard] = []  # shards with a free slot, most recently used last

    def try_acquire(self) -> PoolShard | None:
        """A slot, or ``None`` when ``capacity`` slots are in use."""
        if self.active >= self.capacity:
            return None
        if not self._open:
            shard = PoolShard(self._make_client(self.shard_size))
            self.shards.append(shard)
            self._open.append(shard)
        shard = self._open[-1]
        shard.active += 1
        self.active += 1
        if shard.active >= self.shard_size:
            self._open.pop()
        return shard

    def release(self, shard: PoolShard) -> None:
        """Give a slot back."""
        if shard.active >= self.shard_size:
            self._open.append(shard)
        shard.active -= 1
        self.active -= 1

    async def aclose(self) -> None:
        """Close every pool."""
        shards, self.shards, self._open = self.shards, [], []
        for shard in shards:
            await shard.client.aclose()


@dataclass
class _CdnToken:
    header: str
    expires_at: float


@dataclass
class FalSession:
    """Cached per (key, base URL, provider_config, loop); see the module docs."""

    api_key: str
    endpoints: FalEndpoints
    settings: FalSettings
    default_timeout: float = 120.0
    sdk: Any = field(init=False, repr=False)
    gate: PriorityGate = field(init=False, repr=False)
    transfer_gate: PriorityGate = field(init=False, repr=False)
    requests: ShardedPool = field(init=False, repr=False)
    transfers: ShardedPool = field(init=False, repr=False)
    streams: ShardedPool = field(init=False, repr=False)
    _token: _CdnToken | None = field(default=None, init=False, repr=False)
    _token_lock: asyncio.Lock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import fal_client
        from fal_client.auth import AuthCredentials

        self.sdk = fal_client.AsyncClient(key=self.api_key, default_timeout=self.default_timeout)
        self._auth_header = str(AuthCredentials("Key", self.api_key).header_value)
        self._user_agent = str(getattr(fal_client.client, "USER_AGENT", "fal-client (python)"))
        self._direct: dict[int, httpx.AsyncBaseTransport] = {}
        self.gate = PriorityGate(self.settings.max_concurrency, "short")
        self.transfer_gate = PriorityGate(self.settings.max_transfers, "transfer")
        self._token_lock = asyncio.Lock()
        self.requests = ShardedPool(
            self._new_client, REQUEST_SHARD_SIZE, self.settings.max_concurrency
        )
        self.transfers = ShardedPool(
            self._new_client, REQUEST_SHARD_SIZE, self.settings.max_transfers
        )
        max_streams = self.settings.max_streams
        self.streams = ShardedPool(
            self._new_client,
            STREAM_SHARD_SIZE,
            auto_max_streams() if max_streams is None else max_streams,
        )

    # -- clients ---------------------------------------------------------------------
    def _targets_fal(self) -> bool:
        hosts = {httpx.URL(u).host for u in (self.endpoints.queue, self.endpoints.rest)}
        return any(h in _FAL_HOSTS for h in hosts)

    def _new_client(self, size: int) -> httpx.AsyncClient:
        from tarash.tarash_gateway.providers.fal._asyncio_net import asyncio_transport

        inner = asyncio_transport(size, _shared_ssl_context())
        transport: httpx.AsyncBaseTransport = inner
        if self._targets_fal():
            from fal_client.client import AsyncBackupDomainTransport

            transport = AsyncBackupDomainTransport(transport=inner)
        client = httpx.AsyncClient(
            transport=transport,
            headers={"Authorization": self._auth_header, "User-Agent": self._user_agent},
            timeout=httpx.Timeout(self.default_timeout, connect=15.0),
        )
        # Short requests skip the client's auth/redirect/cookie/hook layers and go to the
        # transport straight away (≈0.45 ms less CPU per job in the 1,000-job benchmark),
        # unless the client has mounts (proxies) it would route to. With a custom
        # transport httpx mounts no environment proxy, so this is the normal case.
        if not getattr(client, "_mounts", True):
            self._direct[id(client)] = transport
        return client

    def wait_limit(self, remaining: float) -> float:
        """How long a request may wait for a slot: ``max_gate_wait``, at most half of
        what is left of the attempt (so the request itself keeps the other half)."""
        return max(0.05, min(self.settings.max_gate_wait, 0.5 * remaining))

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        high_priority: bool = True,
        gate: Literal["short", "transfer"] = "short",
        wait_limit: float | None = None,
    ) -> httpx.Response:
        """One request through a gate (see the module docs); raises for HTTP errors.

        ``high_priority=False`` (submissions, uploads) lets requests about jobs that
        already run (status, result, cancel) go first when the gate is saturated.
        ``wait_limit`` bounds the wait for a slot (:class:`GateTimeout` past it); the
        wait is reported by :func:`gate_wait` of the response. The slot is held for
        this one exchange only (its body is read before the slot is given back).
        """
        request_timeout = httpx.Timeout(timeout, connect=min(timeout, 15.0))
        admission, pool = (
            (self.gate, self.requests) if gate == "short" else (self.transfer_gate, self.transfers)
        )
        waited = await admission.acquire(high=high_priority, timeout=wait_limit)
        shard = pool.try_acquire()
        assert shard is not None  # the gate admits at most `capacity` requests
        try:
            client = shard.client
            request = client.build_request(
                method,
                url,
                json=json_body,
                content=content,
                headers=headers,
                params=params,
                timeout=request_timeout,
            )
            direct = self._direct.get(id(client))
            if direct is None:
                response = await client.send(request)
            else:
                response = await direct.handle_async_request(request)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                response.request = request
        finally:
            pool.release(shard)
            admission.release()
        if waited:
            response.extensions[_GATE_WAIT_KEY] = waited
        if response.status_code >= 400:
            raise fal_http_error(response)
        return response

    @contextlib.asynccontextmanager
    async def transfer_slot(self, wait_limit: float | None = None) -> AsyncIterator[float]:
        """Hold a slot of the transfer gate around a download made elsewhere; yields the wait."""
        waited = await self.transfer_gate.acquire(high=True, timeout=wait_limit)
        try:
            yield waited
        finally:
            self.transfer_gate.release()

    # -- streams ---------------------------------------------------------------------
    def acquire_stream(self) -> PoolShard | None:
        """A pool slot for one status stream, or ``None`` when streams are off or full."""
        return self.streams.try_acquire()

    def release_stream(self, shard: PoolShard) -> None:
        """Give a stream slot back."""
        self.streams.release(shard)

    @contextlib.asynccontextmanager
    async def open_stream(
        self, shard: PoolShard, url: str, timeout: httpx.Timeout
    ) -> AsyncIterator[httpx.Response]:
        """``GET url`` on a stream slot, the response body left unread (like ``client.stream``)."""
        client = shard.client
        request = client.build_request("GET", url, timeout=timeout)
        direct = self._direct.get(id(client))
        if direct is None:
            response = await client.send(request, stream=True)
        else:
            response = await direct.handle_async_request(request)
            response.request = request
        try:
            yield response
        finally:
            await response.aclose()

    # -- storage ---------------------------------------------------------------------
    async def _cdn_auth(
        self, timeout: float, *, refresh: bool = False, wait_limit: float | None = None
    ) -> str:
        async with self._token_lock:
            token = self._token
            if token is not None and not refresh and token.expires_at > time.time():
                return token.header
            response = await self.request(
                "POST",
                f"{self.endpoints.rest}/storage/auth/token",
                params={"storage_type": "fal-cdn-v3"},
                json_body={},
                timeout=timeout,
                high_priority=False,
                wait_limit=wait_limit,
            )
            data = parse_json(response)
            try:
                header = f"{data['token_type']} {data['token']}"
                expires = datetime.fromisoformat(str(data["expires_at"])).timestamp()
            except (KeyError, ValueError) as exc:
                raise FalProtocolError(
                    "fal storage token response lacks token/token_type/expires_at", data
                ) from exc
            self._token = _CdnToken(header, expires - _TOKEN_MARGIN)
            return header

    async def upload(
        self,
        data: bytes,
        content_type: str,
        file_name: str,
        timeout: float,
        wait_limit: float | None = None,
    ) -> str:
        """Upload bytes to fal's CDN (token + ``POST /files/upload``); returns the access URL."""
        from fal_client import FalClientHTTPError

        for attempt in (1, 2):
            auth = await self._cdn_auth(timeout, refresh=attempt == 2, wait_limit=wait_limit)
            try:
                response = await self.request(
                    "POST",
                    f"{self.endpoints.cdn}/files/upload",
                    content=data,
                    headers={
                        "Authorization": auth,
                        "Content-Type": content_type,
                        "X-Fal-File-Name": file_name,
                    },
                    timeout=timeout,
                    high_priority=False,
                    gate="transfer",
                    wait_limit=wait_limit,
                )
            except FalClientHTTPError as exc:
                if exc.status_code == 401 and attempt == 1:
                    continue  # the storage token expired early: fetch a new one once
                raise
            body = parse_json(response)
            url = body.get("access_url")
            if not isinstance(url, str) or not url:
                raise FalProtocolError("fal CDN upload response has no access_url", body)
            return url
        raise AssertionError("unreachable")  # pragma: no cover

    # -- lifecycle -------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close every pool (the client cache calls this on ``aclose_clients``)."""
        await self.requests.aclose()
        await self.transfers.aclose()
        await self.streams.aclose()
        self._direct.clear()
