"""HTTP plumbing shared by every provider: reused clients, bounded downloads, error mapping.

* :class:`ClientCache` keeps one SDK/httpx client per (provider, key, base URL,
  event loop) and closes them on :func:`aclose_clients`. Creating a client per
  call costs ~40 ms of CPU for TLS set-up and a new pool each time (see
  ``benchmarks/``), so handlers must go through the cache.
* :func:`download_bytes` streams a URL with a size cap on the shared client.
* :func:`error_from_status` / :func:`error_from_transport` turn HTTP statuses
  and transport failures into the gateway's typed exceptions; providers use
  them for everything that is not provider specific.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import inspect
import socket
import threading
import time
from collections.abc import AsyncGenerator, Callable, Hashable, Mapping
from typing import Any, TypeVar

import httpx

from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    HTTPConnectionError,
    HTTPError,
    RateLimitError,
    TarashException,
    TarashTimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.logging import log_debug

__all__ = [
    "ClientCache",
    "aclose_clients",
    "client_cache",
    "close_clients",
    "download_bytes",
    "error_from_status",
    "error_from_transport",
    "key_fingerprint",
    "parse_retry_after",
    "request_was_sent",
    "shared_async_client",
]

T = TypeVar("T")
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)


def key_fingerprint(api_key: str | None) -> str:
    """A short non-reversible fingerprint of a key, for cache keys (never the key itself)."""
    if not api_key:
        return "-"
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


class ClientCache:
    """Per-event-loop cache of long-lived clients.

    Async clients are bound to the loop that created them, so the cache keeps
    a separate table per running loop (held weakly: a closed, collected loop
    takes its table with it). Sync clients use ``loop_bound=False``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # A plain dict: cached clients reference their loop, so weak keys would never die.
        # Tables of closed loops are dropped on the next lookup.
        self._by_loop: dict[
            asyncio.AbstractEventLoop, dict[Hashable, tuple[Any, Callable[[Any], Any] | None]]
        ] = {}
        self._global: dict[Hashable, tuple[Any, Callable[[Any], Any] | None]] = {}
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}

    def _table(self, loop_bound: bool) -> dict[Hashable, tuple[Any, Callable[[Any], Any] | None]]:
        if not loop_bound:
            return self._global
        loop = asyncio.get_running_loop()
        for stale in [other for other in self._by_loop if other.is_closed()]:
            del self._by_loop[stale]
            self._closers.pop(stale, None)
        table = self._by_loop.get(loop)
        if table is None:
            table = {}
            self._by_loop[loop] = table
        if loop not in self._closers:
            self._closers[loop] = self._closer_for(loop)
        return table

    def _closer_for(self, loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
        """An async generator parked on ``loop`` whose clean-up closes that loop's clients.

        ``asyncio.run`` (and every well-behaved loop owner) calls
        ``loop.shutdown_asyncgens()`` before closing the loop; that finalises this
        generator while the loop still runs, so the cached clients are closed *on
        their own loop* — not later by the garbage collector on a closed one.
        """

        async def closer() -> AsyncGenerator[None, None]:
            try:
                yield
            finally:
                with self._lock:
                    table = self._by_loop.pop(loop, {})
                    entries = list(table.values())
                    table.clear()
                    if self._closers.get(loop) is gen:
                        del self._closers[loop]
                await _close_entries(entries)

        gen = closer()
        step = gen.__anext__()  # registers it with the loop's asyncgen hooks
        with contextlib.suppress(StopIteration):
            step.send(None)  # runs to the yield at once (nothing is awaited before it)
        return gen

    def get(
        self,
        key: Hashable,
        factory: Callable[[], T],
        close: Callable[[T], Any] | None = None,
        *,
        loop_bound: bool = True,
    ) -> T:
        """Return the cached client for ``key``, creating it with ``factory`` on first use."""
        with self._lock:
            table = self._table(loop_bound)
            hit = table.get(key)
            if hit is not None:
                client: T = hit[0]
                return client
            client = factory()
            table[key] = (client, close)
            return client

    async def aclose(self) -> None:
        """Close every client created on the running loop and every loop-free client."""
        with self._lock:
            entries: list[tuple[Any, Callable[[Any], Any] | None]] = []
            try:
                loop = asyncio.get_running_loop()
                table = self._by_loop.pop(loop, {})
                entries.extend(table.values())
                table.clear()  # its loop closer finds nothing left to close
            except RuntimeError:  # pragma: no cover - called outside a loop
                pass
            entries.extend(self._global.values())
            self._global.clear()
        await _close_entries(entries)


async def _close_entries(entries: list[tuple[Any, Callable[[Any], Any] | None]]) -> None:
    for client, close in entries:
        try:
            if close is not None:
                result = close(client)
            else:
                method = getattr(client, "aclose", None) or getattr(client, "close", None)
                if method is None:
                    continue
                result = method()
            if inspect.isawaitable(result):
                await result
        except Exception:  # pragma: no cover - closing is best effort
            log_debug("Closing a cached client failed", {"client": type(client).__name__})


client_cache = ClientCache()
"""The process-wide cache every built-in handler uses."""


def shared_async_client() -> httpx.AsyncClient:
    """The shared httpx client of the running loop (downloads, providers without SDKs)."""
    return client_cache.get(
        ("tarash", "shared-httpx"),
        lambda: httpx.AsyncClient(
            limits=DEFAULT_LIMITS,
            timeout=httpx.Timeout(60.0, connect=15.0),
            follow_redirects=True,
            trust_env=True,
        ),
    )


async def aclose_clients() -> None:
    """Close the cached clients of the running loop (call at application shutdown)."""
    await client_cache.aclose()


def close_clients() -> None:
    """Close the clients the blocking API cached on its background loop."""
    from tarash.tarash_gateway._sync import run_sync

    run_sync(aclose_clients())


def parse_retry_after(headers: Mapping[str, str] | httpx.Headers | None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date)."""
    if not headers:
        return None
    lower = {str(k).lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_status(
    status_code: int,
    message: str,
    *,
    provider: str,
    model: str | None = None,
    request_id: str | None = None,
    raw_response: Any = None,
    headers: Mapping[str, str] | httpx.Headers | None = None,
    retryable: bool | None = None,
) -> TarashException:
    """The typed exception for an HTTP error status (provider-neutral defaults).

    400/422 → :class:`ValidationError`; 401/403 → :class:`AuthenticationError`;
    429 → :class:`RateLimitError` (with ``retry_after``); everything else →
    :class:`HTTPError` (retryable for 408/409/425/5xx). Providers refine this
    for moderation and their own retry hints.
    """
    retry_after = parse_retry_after(headers)
    text = f"HTTP {status_code}: {message}" if message else f"HTTP {status_code}"
    if status_code in (400, 422):
        return ValidationError(text, provider, model, request_id, raw_response, retryable=retryable)
    if status_code in (401, 403):
        return AuthenticationError(text, provider, model, request_id, raw_response, status_code)
    if status_code == 402:
        # Payment required: this account will not succeed now, another provider may.
        return HTTPError(
            text,
            provider,
            model,
            request_id,
            raw_response,
            402,
            retryable=True,
            retry_same_config=False,
        )
    if status_code == 429:
        return RateLimitError(
            text,
            provider,
            model,
            request_id,
            raw_response,
            retryable=True if retryable is None else retryable,
            retry_after=retry_after,
        )
    return HTTPError(
        text,
        provider,
        model,
        request_id,
        raw_response,
        status_code,
        retryable=retryable,
        retry_after=retry_after,
    )


def error_from_transport(
    exc: BaseException,
    *,
    provider: str,
    model: str | None = None,
    timeout_seconds: float | None = None,
) -> TarashException:
    """Map a transport failure (httpx/httpcore/OS/asyncio) to a retryable typed error.

    ``request_sent`` on the result is False only when the request provably never left
    (connection refused, connect timeout, DNS failure, no free pool slot); for a reset,
    a read timeout or a broken answer it is True: the provider may have acted on it.
    """
    name = type(exc).__name__
    sent = not request_never_sent(exc)
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError) or "Timeout" in name:
        return TarashTimeoutError(
            f"request to {provider} timed out ({name})",
            provider,
            model,
            timeout_seconds=timeout_seconds,
            request_sent=sent,
        )
    return HTTPConnectionError(
        f"could not reach {provider}: {name}: {exc}", provider, model, request_sent=sent
    )


_NEVER_SENT_NAMES = frozenset(
    {"ConnectError", "ConnectTimeout", "PoolTimeout", "gaierror", "ConnectionRefusedError"}
)


def request_was_sent(exc: BaseException) -> bool:
    """Whether a request that failed with ``exc`` may have reached the provider.

    False only when the connection was never made (connect errors and timeouts, no
    free pool connection, DNS): such a request can be resent without risk. Anything
    else (read timeout, reset, protocol error, a dropped response) may have been
    processed: a non-idempotent request (a job submission) has an unknown outcome.
    """
    return not request_never_sent(exc)


def request_never_sent(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) failed before any byte of the request left."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True
        if isinstance(current, ConnectionRefusedError | socket.gaierror):
            return True
        if type(current).__name__ in _NEVER_SENT_NAMES:
            return True  # httpcore / aiohttp / SDK-internal equivalents
        current = current.__cause__ or current.__context__
    return False


async def download_bytes(
    url: str,
    *,
    max_bytes: int,
    timeout: float = 60.0,
    headers: Mapping[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
    provider: str = "download",
) -> tuple[bytes, str]:
    """Download ``url`` (streamed, capped at ``max_bytes``); returns ``(bytes, content_type)``.

    The URL and every redirect target are checked by
    :func:`~tarash.tarash_gateway._netpolicy.check_fetch_url` (no private, loopback or
    metadata addresses unless allow-listed); redirects are followed by hand, at most
    ``MAX_REDIRECTS``, and ``headers`` are dropped when a redirect leaves the origin.
    Error messages name the URL without its query and never include the response body.
    """
    from tarash.tarash_gateway._netpolicy import MAX_REDIRECTS, check_fetch_url, describe_url
    from tarash.tarash_gateway.media import MediaTooLargeError, decode_data_uri, sniff_content_type

    if url.startswith("data:"):
        data, ctype = decode_data_uri(url)
        if len(data) > max_bytes:
            raise MediaTooLargeError(f"media is {len(data)} bytes, over the {max_bytes} limit")
        return data, ctype
    http = client or shared_async_client()
    send_headers = dict(headers or {})
    deadline = time.monotonic() + timeout
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            await check_fetch_url(current, provider=provider)
            remaining = max(0.1, deadline - time.monotonic())
            async with http.stream(
                "GET", current, headers=send_headers, timeout=remaining, follow_redirects=False
            ) as response:
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    target = str(response.url.join(location))
                    if _origin(httpx.URL(target)) != _origin(response.url):
                        send_headers = {}  # never carry credentials to another origin
                    current = target
                    continue
                if response.status_code >= 400:
                    # The body is not read into the message: a provider's error page may echo
                    # the request (signed URL tokens, keys) and is noise for a download anyway.
                    raise error_from_status(
                        response.status_code,
                        f"download of {describe_url(current)} failed",
                        provider=provider,
                        headers=response.headers,
                    )
                return await _read_capped(response, max_bytes, sniff_content_type)
        raise HTTPError(
            f"download of {describe_url(url)} redirected more than {MAX_REDIRECTS} times",
            provider,
            retryable=False,
        )
    except MediaTooLargeError:
        raise
    except httpx.HTTPError as exc:
        raise error_from_transport(exc, provider=provider, timeout_seconds=timeout) from None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


async def _read_capped(
    response: httpx.Response, max_bytes: int, sniff: Callable[[bytes], str | None]
) -> tuple[bytes, str]:
    from tarash.tarash_gateway.media import MediaTooLargeError

    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLargeError(
            f"media at URL is {declared} bytes, over the {max_bytes}-byte limit"
        )
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise MediaTooLargeError(f"media at URL exceeds the {max_bytes}-byte limit")
        chunks.append(chunk)
    data = b"".join(chunks)
    ctype = response.headers.get("content-type", "").split(";")[0].strip()
    if not ctype or ctype in ("application/octet-stream", "binary/octet-stream"):
        ctype = sniff(data) or ctype or "application/octet-stream"
    return data, ctype
