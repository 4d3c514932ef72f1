"""Streaming text to speech: audio chunks as the provider produces them.

:func:`stream_tts_async` returns an :class:`AsyncTTSStream` (an async iterator
of ``bytes``); :func:`stream_tts` returns a :class:`TTSStream` (a plain
iterator) for blocking code::

    with stream_tts(config, TTSRequest(text="Hello", voice_id="...")) as audio:
        for chunk in audio:
            player.write(chunk)

    async with stream_tts_async(config, request) as audio:
        async for chunk in audio:
            await websocket.send_bytes(chunk)

Semantics:

* **Validation first.** Every config of the fallback chain is prepared (the
  provider's own validation) when the stream is *created*, before any request
  is sent; an invalid request raises :class:`ValidationError` right there, and
  a provider that cannot stream raises :class:`OperationNotSupportedError`.
* **Retries and fallback only before the first chunk.** Until audio starts
  flowing, a retryable error is retried on the same config (its
  ``RetryPolicy``, Retry-After honoured) and then the next config of the chain
  is tried. Once the first chunk has been handed out the stream is committed
  to that provider: a later failure raises (typed) and is never papered over
  with another provider's audio, which would splice two voices and formats.
* **Timeouts.** ``config.timeout`` bounds the time to the first chunk, and
  then every wait for the next chunk (a stalled stream raises
  :class:`~tarash.tarash_gateway.exceptions.TimeoutError`).
* **Cancellation.** Closing the stream early (``break`` inside ``with`` /
  ``async with``, ``close()`` / ``aclose()``, or task cancellation) closes the
  HTTP response, which cancels the generation upstream.
* **Sync bridge.** :class:`TTSStream` drives the async stream on the gateway's
  single background loop (:mod:`tarash.tarash_gateway._sync`) through a bounded
  buffer: no event loop per call or per chunk, read-ahead of at most
  ``buffer_chunks`` chunks, and back-pressure on the network read.

Providers opt in with ``supports_streaming = True`` and an async-iterator
``stream_tts(ctx, prepared)`` hook. The offline mock streams too: its
synthesised audio is cut into ~100 ms chunks (a mocked real config streams
only if the real provider can).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from types import TracebackType

from tarash.tarash_gateway._sync import portal_loop
from tarash.tarash_gateway.exceptions import (
    GenerationFailedError,
    OperationNotSupportedError,
    TarashException,
    TarashTimeoutError,
)
from tarash.tarash_gateway.jobs import utcnow
from tarash.tarash_gateway.logging import log_debug, log_info, log_warning
from tarash.tarash_gateway.models import (
    OPERATIONS,
    AttemptMetadata,
    AudioGenerationConfig,
    AudioOutputFormat,
    BaseGenerationConfig,
    ExecutionMetadata,
    TTSRequest,
)
from tarash.tarash_gateway.orchestrator import (
    Plan,
    map_exception,
    plan_chain,
    record_failure,
    run_chain,
    submit_outcome,
)
from tarash.tarash_gateway.providers.steps import (
    AttemptContext,
    StepHandler,
    new_request_id,
)
from tarash.tarash_gateway.registry import get_handler

__all__ = [
    "DEFAULT_BUFFER_CHUNKS",
    "AsyncTTSStream",
    "TTSStream",
    "stream_tts",
    "stream_tts_async",
]

_LOG = "streaming"
DEFAULT_BUFFER_CHUNKS = 16
"""How many chunks the sync iterator may read ahead of its consumer."""
_CLOSE_WAIT = 10.0


# ============================================================================ planning


def _plan(config: AudioGenerationConfig, request: TTSRequest) -> list[Plan]:
    """Resolve and prepare every config of the chain (no network); check each can stream."""
    if not isinstance(request, TTSRequest):
        raise TypeError(f"stream_tts needs a TTSRequest, got {type(request).__name__}")
    chain: list[BaseGenerationConfig] = list(config.chain())
    plans = plan_chain(OPERATIONS["tts"], chain, request)
    for plan in plans:
        assert isinstance(plan.config, AudioGenerationConfig)
        _require_streaming(plan.config, plan.handler, plan.is_mock)
    return plans


def _require_streaming(config: AudioGenerationConfig, handler: StepHandler, is_mock: bool) -> None:
    if is_mock:
        if config.provider == "mock":
            return
        try:
            real = get_handler(config.provider)
        except TarashException:
            return
        if real.supports_streaming:
            return
        handler = real
    if not handler.supports_streaming:
        raise OperationNotSupportedError(
            f"provider {config.provider!r} cannot stream speech; use generate_tts "
            "(or put a streaming provider such as elevenlabs or cartesia in the chain)",
            config.provider,
            config.model,
        )


def _stream_format(plan: Plan, request: TTSRequest) -> tuple[str | None, str | None]:
    """(output_format, content_type) the stream will carry, when the provider says."""
    described = plan.handler.stream_format(plan.prepared)
    if described is not None:
        return described
    fmt: AudioOutputFormat = request.output_format
    return fmt.to_provider_string(), fmt.content_type


# ============================================================================ chunks


class _End:
    """Sentinel: the provider's iterator is exhausted."""


_END = _End()


async def _next_chunk(
    handler: StepHandler,
    ctx: AttemptContext,
    iterator: AsyncIterator[bytes],
    wait: float,
    what: str,
) -> bytes | _End:
    """The next non-empty chunk within ``wait`` seconds (typed errors only)."""
    try:
        async with asyncio.timeout(wait):
            while True:
                chunk = await iterator.__anext__()
                if chunk:
                    return bytes(chunk)
    except StopAsyncIteration:
        return _END
    except (TarashException, asyncio.CancelledError):
        raise
    except TimeoutError as exc:
        raise TarashTimeoutError(
            f"{ctx.provider} sent no {what} within {ctx.config.timeout:g}s; "
            "the stream was closed upstream",
            ctx.provider,
            ctx.model,
            timeout_seconds=ctx.config.timeout,
            cancelled_upstream=True,
        ) from exc
    except Exception as exc:
        raise map_exception(handler, ctx, exc) from exc


async def _aclose(iterator: AsyncIterator[bytes] | None) -> None:
    closer = getattr(iterator, "aclose", None)
    if closer is None:
        return
    try:
        await closer()
    except Exception:  # closing is best effort; the error that matters is already raised
        log_debug("Closing a provider stream raised", {"error": repr(sys.exc_info()[1])}, _LOG)


@dataclass
class _Opened:
    """An attempt that produced its first chunk: the stream is committed to it."""

    ctx: AttemptContext
    record: AttemptMetadata
    iterator: AsyncIterator[bytes]
    first: bytes
    started_at: float


async def _open_attempt(plan: Plan, ctx: AttemptContext, record: AttemptMetadata) -> _Opened:
    """One attempt for the engine: open the provider's stream and wait for audio.

    A failure whose request may have reached the provider (a reset, a silent
    stream) is an unknown outcome: it is not retried on the same config, which may
    already have generated (and billed) the speech.
    """
    started_at = time.monotonic()
    iterator: AsyncIterator[bytes] | None = None
    try:
        try:
            iterator = plan.handler.stream_tts(ctx, plan.prepared)
        except TarashException:
            raise
        except Exception as exc:
            raise map_exception(plan.handler, ctx, exc) from exc
        first = await _next_chunk(plan.handler, ctx, iterator, ctx.remaining(), "audio")
        if isinstance(first, _End):
            raise GenerationFailedError(
                f"{ctx.provider} ended the stream without sending audio", ctx.provider, ctx.model
            )
    except TarashException as exc:
        await _aclose(iterator)
        # A timeout closed the stream (cancelling it): RetryPolicy.retry_on_timeout decides.
        if submit_outcome(exc) != "unknown" or isinstance(exc, TarashTimeoutError):
            raise
        # The speech may already have been generated (and billed): not from here again.
        exc.mark_outcome_unknown(None, moving_on=ctx.config.retry.on_unknown_outcome == "fallback")
        raise
    except BaseException:
        await _aclose(iterator)
        raise
    return _Opened(ctx, record, iterator, first, started_at)


# ============================================================================ async stream


class AsyncTTSStream:
    """Async iterator of TTS audio chunks (``bytes``), plus what is known about them.

    Attributes (filled in when the first chunk arrives):
        request_id: Tarash request id of this stream.
        provider / model: The config that is serving the audio.
        output_format: e.g. ``"mp3_44100_128"``; content_type: e.g. ``"audio/mpeg"``.
        warnings: Validation warnings of the serving config.
        bytes_received: Audio bytes handed out so far.
        execution_metadata: Every attempt (retries, fallbacks) with timings.

    Use ``async with`` (or call :meth:`aclose`) so that leaving early cancels
    the upstream request at once.
    """

    def __init__(self, config: AudioGenerationConfig, request: TTSRequest) -> None:
        self.request_id = new_request_id()
        self._plans = _plan(config, request)
        self._request = request
        self.provider: str | None = None
        self.model: str | None = None
        self.output_format: str | None = None
        self.content_type: str | None = None
        self.warnings: list[str] = []
        self.bytes_received = 0
        self.chunks_received = 0
        self.first_chunk_seconds: float | None = None
        self.execution_metadata = ExecutionMetadata(configs_in_chain=len(self._plans))
        self._started = False
        self._gen = self._run()
        log_info(
            "TTS stream requested",
            {
                "request_id": self.request_id,
                "chain": [f"{p.config.provider}:{p.config.model}" for p in self._plans],
            },
            _LOG,
        )

    # -- iterator protocol --------------------------------------------------------------
    def __aiter__(self) -> AsyncTTSStream:
        return self

    async def __anext__(self) -> bytes:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop streaming; an unfinished upstream request is closed (cancelled)."""
        await self._gen.aclose()

    async def __aenter__(self) -> AsyncTTSStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def read_all(self) -> bytes:
        """Every remaining chunk joined (the whole audio when nothing was read yet)."""
        return b"".join([chunk async for chunk in self])

    @property
    def started(self) -> bool:
        """True once audio started flowing (from then on no retry or fallback happens)."""
        return self._started

    # -- engine -------------------------------------------------------------------------
    async def _run(self) -> AsyncGenerator[bytes, None]:
        """The orchestrator's attempt engine up to the first chunk, then committed."""
        plan, opened = await run_chain(
            self._plans,
            request_id=self.request_id,
            metadata=self.execution_metadata,
            attempt=_open_attempt,
            total_timeout=self._plans[0].config.retry.total_timeout,
        )
        try:
            async with contextlib.aclosing(self._commit(plan, opened)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except TarashException as exc:
            exc.attach(execution_metadata=self.execution_metadata)
            raise
        finally:
            self.execution_metadata.ended_at = utcnow()

    async def _commit(self, plan: Plan, opened: _Opened) -> AsyncGenerator[bytes, None]:
        """Hand out the chunks of the attempt that produced audio; failures now raise."""
        ctx, record, iterator = opened.ctx, opened.record, opened.iterator
        self._started = True
        self.provider, self.model = plan.config.provider, plan.config.model
        self.first_chunk_seconds = time.monotonic() - opened.started_at
        if self.output_format is None:
            self.output_format, self.content_type = _stream_format(plan, self._request)
        self.warnings = list(plan.prepared.warnings)
        record.status = "failed"  # until the last chunk is in
        record.ended_at = None
        chunk: bytes | _End = opened.first
        try:
            while not isinstance(chunk, _End):
                self.bytes_received += len(chunk)
                self.chunks_received += 1
                yield chunk
                chunk = await _next_chunk(
                    plan.handler, ctx, iterator, plan.config.timeout, "further audio"
                )
        except TarashException as exc:
            exc.add_note(
                f"the stream had already delivered {self.bytes_received} bytes of audio "
                f"from {ctx.provider}; it is not retried or continued on another provider"
            )
            record_failure(record, exc, ctx)
            self.execution_metadata.successful_attempt = None
            raise
        finally:
            await _aclose(iterator)
            record.ended_at = record.ended_at or utcnow()
        record.status = "success"
        log_info(
            "TTS stream completed",
            {
                "request_id": self.request_id,
                "provider": ctx.provider,
                "bytes": self.bytes_received,
                "chunks": self.chunks_received,
            },
            _LOG,
        )


def stream_tts_async(config: AudioGenerationConfig, request: TTSRequest) -> AsyncTTSStream:
    """Stream speech: an async iterator of audio ``bytes`` chunks (see the module docs).

    The chain is validated now (no network): invalid requests raise
    :class:`ValidationError`, providers that cannot stream raise
    :class:`OperationNotSupportedError`. Iterate with ``async for``; prefer
    ``async with stream_tts_async(...) as audio:`` so that leaving early cancels
    the upstream request immediately.

    Raises (while iterating):
        TarashException: the last error when every config failed before any
            audio, or the error that interrupted a stream already under way.
    """
    return AsyncTTSStream(config, request)


# ============================================================================ sync bridge


class _Bridge:
    """The sync side of a stream: a pump task on the portal loop feeding a bounded buffer.

    Kept apart from :class:`TTSStream` so that the running task never references
    the object the caller holds: dropping the last reference to a half-read
    stream lets it be collected, which cancels the upstream request.
    """

    def __init__(self, stream: AsyncTTSStream, capacity: int) -> None:
        self.stream = stream
        self.capacity = capacity
        self.cond = threading.Condition()
        self.items: deque[bytes] = deque()
        self.finished = False
        self.error: BaseException | None = None
        self.future: concurrent.futures.Future[None] | None = None
        self.stopped = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.space: asyncio.Semaphore | None = None

    def start(self) -> None:
        from tarash.tarash_gateway import _sync

        _sync.warn_if_loop_running(stacklevel=4)  # blocking reads would stall that loop
        loop = portal_loop()
        if threading.current_thread() is _sync._thread:
            raise RuntimeError(
                "the blocking stream_tts was used from inside the gateway's event loop "
                "(a progress callback); use stream_tts_async there"
            )
        self.loop = loop
        self.future = asyncio.run_coroutine_threadsafe(self.pump(), loop)

    async def pump(self) -> None:
        space = self.space = asyncio.Semaphore(self.capacity)
        stream = self.stream
        try:
            while True:
                await space.acquire()
                try:
                    chunk = await stream.__anext__()
                except StopAsyncIteration:
                    break
                with self.cond:
                    self.items.append(chunk)
                    self.cond.notify_all()
        except asyncio.CancelledError:
            pass  # closed by the consumer: fall through to close upstream
        except BaseException as exc:
            self.error = exc
        finally:
            try:
                await stream.aclose()
            except BaseException:  # pragma: no cover - closing is best effort
                log_debug("Closing the TTS stream raised", {"error": repr(sys.exc_info()[1])}, _LOG)
            with self.cond:
                self.finished = True
                self.cond.notify_all()
            self.stopped.set()

    def take(self) -> bytes:
        if self.future is None:
            if self.finished:
                raise StopIteration
            self.start()
        with self.cond:
            while not self.items and not self.finished:
                self.cond.wait()
            if self.items:
                chunk = self.items.popleft()
                if self.loop is not None and self.space is not None:
                    self.loop.call_soon_threadsafe(self.space.release)
                return chunk
            error, self.error = self.error, None
        if error is not None:
            raise error
        raise StopIteration

    def cancel(self) -> None:
        """Ask the pump to stop (non-blocking; safe from a finalizer)."""
        if self.future is not None and not self.stopped.is_set():
            self.future.cancel()

    def close(self) -> None:
        if self.future is None:
            self.finished = True  # never started: nothing was sent upstream
            return
        if not self.stopped.is_set():
            self.future.cancel()
            if not self.stopped.wait(_CLOSE_WAIT):
                log_warning(
                    "TTS stream did not close within the wait budget",
                    {"request_id": self.stream.request_id},
                    _LOG,
                )
        with self.cond:
            self.finished = True
            self.items.clear()
            self.cond.notify_all()


class TTSStream:
    """Blocking iterator of TTS audio chunks, driven on the gateway's background loop.

    Chunks are read ahead into a bounded buffer (``buffer_chunks``); when it is
    full the network read pauses. :meth:`close` (or leaving a ``with`` block,
    or dropping the last reference) cancels the upstream request; ``close``
    waits until it is closed. The attributes of :class:`AsyncTTSStream` are
    available here too.
    """

    def __init__(self, stream: AsyncTTSStream, buffer_chunks: int = DEFAULT_BUFFER_CHUNKS) -> None:
        if buffer_chunks < 1:
            raise ValueError("buffer_chunks must be at least 1")
        self._stream = stream
        self._bridge = _Bridge(stream, buffer_chunks)
        weakref.finalize(self, self._bridge.cancel)

    # -- delegated facts ----------------------------------------------------------------
    @property
    def request_id(self) -> str:
        return self._stream.request_id

    @property
    def provider(self) -> str | None:
        return self._stream.provider

    @property
    def model(self) -> str | None:
        return self._stream.model

    @property
    def output_format(self) -> str | None:
        return self._stream.output_format

    @property
    def content_type(self) -> str | None:
        return self._stream.content_type

    @property
    def warnings(self) -> list[str]:
        return self._stream.warnings

    @property
    def bytes_received(self) -> int:
        return self._stream.bytes_received

    @property
    def first_chunk_seconds(self) -> float | None:
        return self._stream.first_chunk_seconds

    @property
    def execution_metadata(self) -> ExecutionMetadata:
        return self._stream.execution_metadata

    @property
    def started(self) -> bool:
        return self._stream.started

    # -- iterator protocol --------------------------------------------------------------
    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return self._bridge.take()
        except (KeyboardInterrupt, SystemExit):
            self._bridge.close()
            raise

    def read_all(self) -> bytes:
        """Every remaining chunk joined."""
        return b"".join(self)

    def close(self) -> None:
        """Stop streaming and wait (bounded) until the upstream request is closed."""
        self._bridge.close()

    def __enter__(self) -> TTSStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def stream_tts(
    config: AudioGenerationConfig,
    request: TTSRequest,
    *,
    buffer_chunks: int = DEFAULT_BUFFER_CHUNKS,
) -> TTSStream:
    """Blocking :func:`stream_tts_async`: an iterator of audio ``bytes`` chunks.

    Validation happens now; the request is sent on the first ``next()``. Use it
    as a context manager (or call ``close()``) to cancel upstream when leaving
    early. Works from any thread, including one with a running event loop.
    """
    return TTSStream(AsyncTTSStream(config, request), buffer_chunks)
