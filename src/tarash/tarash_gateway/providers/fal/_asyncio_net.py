"""An httpcore network backend on plain asyncio streams (the fal session's pools use it).

Why: httpcore's default asyncio backend goes through anyio, which wraps every
socket read and write in a cancel scope (``fail_after``) and answers the pool's
"is this idle connection readable?" probe with a typed-attribute lookup and a
``select`` syscall. Measured on 1,000 concurrent fal jobs against the emulator
(cProfile, Dec 2026): anyio + sniffio were ≈25 % of the client's CPU and the
readability probes another ≈15 %. This backend does the same with
``asyncio.open_connection`` streams, ``asyncio.timeout`` and the stream's own
EOF state; httpcore's behaviour (HTTP/1.1 parsing, pooling, keep-alive, errors)
is unchanged. The interface is httpcore's public ``AsyncNetworkBackend``
(httpcore 1.0, ``httpcore/_backends/base.py``).
"""

from __future__ import annotations

import asyncio
import ssl
import typing
from collections.abc import Iterable

import httpcore
import httpx

__all__ = ["AsyncioBackend", "asyncio_transport"]

_READ_LIMIT = 256 * 1024
_COALESCE_LIMIT = 64 * 1024
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class _Stream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection as an asyncio reader/writer pair.

    Writes are coalesced: httpcore writes a request's head and body separately and then
    reads the response, so the pieces are kept until the next read (one ``send``
    syscall per request instead of two; a POST's body no longer waits on the head's
    delivery). A write larger than :data:`_COALESCE_LIMIT` is sent at once.
    """

    __slots__ = ("_pending", "_pending_size", "_reader", "_writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: list[bytes] = []
        self._pending_size = 0

    async def _flush(self, timeout: float | None) -> None:
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        self._pending_size = 0
        try:
            self._writer.write(data)
            if timeout is None:
                await self._writer.drain()
            else:
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except (OSError, RuntimeError) as exc:  # RuntimeError: write on a closed transport
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            await self._flush(timeout)
        try:
            if timeout is None:
                return await self._reader.read(max_bytes)
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._pending.append(buffer)
        self._pending_size += len(buffer)
        if self._pending_size >= _COALESCE_LIMIT:
            await self._flush(timeout)

    async def aclose(self) -> None:
        self._pending.clear()
        # No wait for the close handshake: a peer that stopped reading must not hold us.
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            if self._pending:
                await self._flush(timeout)
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            # An idle keep-alive connection is "readable" when the server closed it (EOF,
            # an error) or sent something unasked: httpcore then discards it.
            reader = self._reader
            return (
                reader.at_eof()
                or reader.exception() is not None
                or self._writer.transport.is_closing()
            )
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend on ``asyncio.open_connection`` (see the module docs)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    limit=_READ_LIMIT,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connect timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        _apply(writer, socket_options)
        return _Stream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path, limit=_READ_LIMIT)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connect timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        _apply(writer, socket_options)
        return _Stream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _apply(writer: asyncio.StreamWriter, options: Iterable[SocketOption] | None) -> None:
    sock = writer.get_extra_info("socket")
    for option in options or ():
        sock.setsockopt(*option)


_BACKEND = AsyncioBackend()


def asyncio_transport(
    size: int, ssl_context: ssl.SSLContext, keepalive_expiry: float = 5.0
) -> httpx.AsyncHTTPTransport:
    """An httpx transport of at most ``size`` connections whose pool uses :class:`AsyncioBackend`.

    httpx builds its httpcore pool itself and takes no network backend, so the pool is
    rebuilt with the same settings (``AsyncHTTPTransport`` keeps it in ``_pool``); should a
    future httpx lay it out differently, the transport keeps httpx's own pool.
    """
    limits = httpx.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=keepalive_expiry
    )
    transport = httpx.AsyncHTTPTransport(limits=limits, verify=ssl_context)
    if isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=size,
            max_keepalive_connections=size,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_BACKEND,
        )
    return transport
