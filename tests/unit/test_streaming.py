"""Semantics of ``stream_tts`` / ``stream_tts_async`` with scripted in-process providers.

Provider-specific streaming (ElevenLabs, Cartesia) is tested against their
emulators in ``tests/providers``; here the engine itself: validation first,
retry/fallback only before the first chunk, timeouts, cancellation, the sync
bridge (portal loop, bounded read-ahead) and the mock's streaming.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import pytest

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    MockConfig,
    MockResponse,
    OperationNotSupportedError,
    RateLimitError,
    RetryPolicy,
    STSRequest,
    TimeoutError,
    TTSRequest,
    ValidationError,
    generate_tts,
    register_provider,
    stream_tts,
    stream_tts_async,
)
from tarash.tarash_gateway._sync import portal_loop, run_sync
from tarash.tarash_gateway.exceptions import TarashException
from tarash.tarash_gateway.jobs import Operation
from tarash.tarash_gateway.models import BaseGenerationConfig, BaseGenerationRequest
from tarash.tarash_gateway.providers.base import AttemptContext, BaseProviderHandler, Prepared
from tarash.tarash_gateway.streaming import AsyncTTSStream, TTSStream
from tests.conftest import FAST_RETRY, NO_RETRY

pytestmark = pytest.mark.timeout(30)


@dataclass
class Script:
    """What one attempt of a scripted provider does."""

    chunks: int = 3
    error_before: TarashException | Exception | None = None
    error_after: int | None = None  # raise ``error`` after this many chunks
    error: TarashException | Exception | None = None
    first_delay: float = 0.0
    delay: float = 0.0
    stall_after: int | None = None  # sleep forever after this many chunks


@dataclass
class Streamer(BaseProviderHandler):
    """A streaming provider driven by a list of per-attempt scripts."""

    label: str = "a"
    scripts: list[Script] = field(default_factory=list)
    calls: int = 0
    pulled: int = 0
    closed: list[int] = field(default_factory=list)
    loops: list[asyncio.AbstractEventLoop] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)

    name: ClassVar[str] = "streamer"
    operations: ClassVar[frozenset[Operation]] = frozenset({"tts"})
    requires_api_key: ClassVar[bool] = False
    supports_streaming: ClassVar[bool] = True

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        assert isinstance(request, TTSRequest)
        if request.voice_id == "invalid":
            raise ValidationError("bad voice", config.provider, config.model, field="voice_id")
        return {"text": request.text}, None

    def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        self.calls += 1
        script = self.scripts.pop(0) if self.scripts else Script()
        return self._run(script)

    async def _run(self, script: Script) -> AsyncIterator[bytes]:
        sent = 0
        try:
            if script.first_delay:
                await asyncio.sleep(script.first_delay)
            if script.error_before is not None:
                raise script.error_before
            for index in range(script.chunks):
                if script.error_after is not None and index == script.error_after:
                    assert script.error is not None
                    raise script.error
                if script.stall_after is not None and index == script.stall_after:
                    await asyncio.sleep(3600)
                self.pulled += 1
                self.loops.append(asyncio.get_running_loop())
                self.threads.append(threading.current_thread().name)
                yield f"{self.label}{index};".encode()
                sent += 1
                if script.delay:
                    await asyncio.sleep(script.delay)
        finally:
            self.closed.append(sent)

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        if isinstance(exc, httpx.ConnectError):
            return HTTPConnectionError(f"mapped: {exc}", ctx.provider, ctx.model)
        return None


class NoStream(BaseProviderHandler):
    name: ClassVar[str] = "nostream"
    operations: ClassVar[frozenset[Operation]] = frozenset({"tts"})
    requires_api_key: ClassVar[bool] = False

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        return {}, None


@pytest.fixture
def a() -> Streamer:
    handler = Streamer(label="a")
    register_provider("stream-a", handler)
    return handler


@pytest.fixture
def b() -> Streamer:
    handler = Streamer(label="b")
    register_provider("stream-b", handler)
    return handler


def cfg(provider: str = "stream-a", **kw: Any) -> AudioGenerationConfig:
    fields: dict[str, Any] = {"provider": provider, "model": "m", "retry": FAST_RETRY, "timeout": 5}
    fields.update(kw)
    return AudioGenerationConfig(**fields)


REQ = TTSRequest(text="hello", voice_id="v")


async def collect(stream: AsyncIterator[bytes], into: list[bytes]) -> None:
    """Append every chunk to ``into`` (what arrived stays there if the stream fails)."""
    async for chunk in stream:
        into.append(chunk)


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


# ====================================================================== happy paths


def test_sync_stream_yields_chunks_and_facts(a: Streamer) -> None:
    with stream_tts(cfg(), REQ) as audio:
        assert isinstance(audio, TTSStream)
        assert a.calls == 0  # nothing is sent before the first next()
        chunks = list(audio)
    assert chunks == [b"a0;", b"a1;", b"a2;"]
    assert audio.provider == "stream-a" and audio.model == "m"
    assert audio.output_format == "mp3_44100_128" and audio.content_type == "audio/mpeg"
    assert audio.bytes_received == 9 and audio.started
    meta = audio.execution_metadata
    assert meta.total_attempts == 1 and meta.successful_attempt == 1
    assert meta.attempts[0].status == "success" and meta.ended_at is not None
    assert a.closed == [3]


async def test_async_stream_yields_chunks(a: Streamer) -> None:
    audio = stream_tts_async(cfg(), REQ)
    assert isinstance(audio, AsyncTTSStream)
    assert [c async for c in audio] == [b"a0;", b"a1;", b"a2;"]
    assert audio.first_chunk_seconds is not None


async def test_read_all(a: Streamer) -> None:
    assert await stream_tts_async(cfg(), REQ).read_all() == b"a0;a1;a2;"
    assert stream_tts(cfg(), REQ).read_all() == b"a0;a1;a2;"


# ====================================================================== validation first


def test_validation_errors_raise_at_creation_for_any_config(a: Streamer, b: Streamer) -> None:
    with pytest.raises(ValidationError):
        stream_tts(cfg(), TTSRequest(text="x", voice_id="invalid"))
    # The fallback (a mocked ElevenLabs multilingual v2) rejects language_code: found at once.
    fallback = AudioGenerationConfig(
        provider="elevenlabs", model="eleven_multilingual_v2", mock=True
    )
    with pytest.raises(ValidationError) as info:
        stream_tts_async(
            cfg(fallback_configs=[fallback]), TTSRequest(text="x", voice_id="v", language_code="de")
        )
    assert info.value.field == "language_code"
    assert a.calls == b.calls == 0


def test_provider_that_cannot_stream_is_rejected_before_any_call(a: Streamer) -> None:
    register_provider("nostream", NoStream())
    with pytest.raises(OperationNotSupportedError) as info:
        stream_tts(cfg("nostream"), REQ)
    assert "cannot stream" in info.value.message
    with pytest.raises(OperationNotSupportedError):
        stream_tts(cfg(fallback_configs=[cfg("nostream")]), REQ)
    assert a.calls == 0


def test_mocked_config_of_a_non_streaming_provider_is_rejected() -> None:
    register_provider("nostream", NoStream())
    with pytest.raises(OperationNotSupportedError):
        stream_tts(cfg("nostream", mock=True), REQ)


def test_custom_handler_without_step_interface_is_rejected() -> None:
    class Plain:
        def generate_tts(self, config: Any, request: Any, on_progress: Any = None) -> Any:
            raise AssertionError("not called")

    register_provider("plain-tts", Plain())
    with pytest.raises(OperationNotSupportedError):
        stream_tts(cfg("plain-tts"), REQ)


def test_wrong_request_type_and_operation() -> None:
    class VideoOnly(NoStream):
        operations: ClassVar[frozenset[Operation]] = frozenset({"video"})

    with pytest.raises(TypeError):
        stream_tts(cfg("mock"), STSRequest(audio=b"RIFF0000WAVEfmt ", voice_id="v"))  # type: ignore[arg-type]
    register_provider("video-only", VideoOnly())
    with pytest.raises(OperationNotSupportedError, match="does not support tts"):
        stream_tts(cfg("video-only"), REQ)


# ====================================================================== before the first chunk


def test_retry_before_first_chunk_honours_retry_after(a: Streamer) -> None:
    a.scripts = [Script(error_before=RateLimitError("slow", "stream-a", "m", retry_after=0.1))]
    started = time.monotonic()
    audio = stream_tts(cfg(), REQ)
    assert audio.read_all() == b"a0;a1;a2;"
    assert time.monotonic() - started >= 0.1
    assert a.calls == 2 and a.closed == [0, 3]
    assert [x.error_type for x in audio.execution_metadata.attempts] == ["RateLimitError", None]


def test_fallback_before_first_chunk(a: Streamer, b: Streamer) -> None:
    error = HTTPError("unavailable", "stream-a", "m", status_code=503)
    a.scripts = [Script(error_before=error)] * 3
    audio = stream_tts(cfg(fallback_configs=[cfg("stream-b")]), REQ)
    assert audio.read_all() == b"b0;b1;b2;"
    assert audio.provider == "stream-b"
    assert a.calls == 3 and b.calls == 1
    meta = audio.execution_metadata
    assert meta.fallback_triggered and meta.successful_attempt == 4
    assert [(x.provider, x.status) for x in meta.attempts][-1] == ("stream-b", "success")


def test_non_retryable_error_before_audio_stops_the_chain(a: Streamer, b: Streamer) -> None:
    a.scripts = [Script(error_before=ValidationError("nope", "stream-a", "m"))]
    with pytest.raises(ValidationError) as info:
        stream_tts(cfg(fallback_configs=[cfg("stream-b")]), REQ).read_all()
    assert b.calls == 0 and a.calls == 1
    assert info.value.execution_metadata is not None
    assert info.value.execution_metadata.total_attempts == 1


def test_sdk_exceptions_go_through_the_providers_map_error(a: Streamer) -> None:
    a.scripts = [Script(error_before=httpx.ConnectError("refused"))]
    audio = stream_tts(cfg(), REQ)
    assert audio.read_all() == b"a0;a1;a2;"
    assert audio.execution_metadata.attempts[0].error_type == "HTTPConnectionError"


def test_unknown_exceptions_are_an_unknown_outcome_not_retried(a: Streamer) -> None:
    """An unexpected exception before audio: typed, and — since the speech may already
    have been generated and billed — never re-requested from the same config."""
    a.scripts = [Script(error_before=KeyError("weird"))]
    with pytest.raises(GenerationFailedError) as info:
        stream_tts(cfg(), REQ).read_all()  # the default policy allows 2 retries
    assert info.value.outcome_unknown
    assert "KeyError" in info.value.message
    assert info.value.execution_metadata is not None
    assert info.value.execution_metadata.total_attempts == 1


def test_reset_before_audio_is_not_retried_but_falls_back(a: Streamer, b: Streamer) -> None:
    a.scripts = [Script(error_before=httpx.ReadError("connection reset by peer"))]
    audio = stream_tts(cfg(fallback_configs=[cfg("stream-b")]), REQ)
    assert audio.read_all() == b"b0;b1;b2;"
    attempts = audio.execution_metadata.attempts
    assert [(x.provider, x.error_type) for x in attempts] == [
        ("stream-a", "HTTPConnectionError"),
        ("stream-b", None),
    ]


def test_empty_stream_is_a_retryable_failure(a: Streamer, b: Streamer) -> None:
    a.scripts = [Script(chunks=0)]
    audio = stream_tts(cfg(retry=NO_RETRY, fallback_configs=[cfg("stream-b")]), REQ)
    assert audio.read_all() == b"b0;b1;b2;"
    assert audio.execution_metadata.attempts[0].error_type == "GenerationFailedError"


def test_time_to_first_chunk_timeout_closes_upstream_and_falls_back(
    a: Streamer, b: Streamer
) -> None:
    a.scripts = [Script(first_delay=5.0)]
    started = time.monotonic()
    audio = stream_tts(cfg(timeout=0.3, fallback_configs=[cfg("stream-b")]), REQ)
    assert audio.read_all() == b"b0;b1;b2;"
    assert time.monotonic() - started < 2.0
    assert a.calls == 1  # timeouts are not retried in place by default
    assert a.closed == [0]  # the slow attempt was closed (cancelled upstream)
    first = audio.execution_metadata.attempts[0]
    assert first.error_type == "TarashTimeoutError" and first.cancelled_upstream is True


def test_retry_on_timeout_policy_retries_in_place(a: Streamer) -> None:
    a.scripts = [Script(first_delay=5.0)]
    policy = RetryPolicy(max_retries=1, initial_delay=0, retry_on_timeout=True)
    assert stream_tts(cfg(timeout=0.2, retry=policy), REQ).read_all() == b"a0;a1;a2;"
    assert a.calls == 2


# ====================================================================== after the first chunk


def test_failure_after_first_chunk_raises_without_retry_or_fallback(
    a: Streamer, b: Streamer
) -> None:
    a.scripts = [
        Script(chunks=5, error_after=2, error=HTTPConnectionError("reset", "stream-a", "m"))
    ]
    got: list[bytes] = []
    with pytest.raises(HTTPConnectionError) as info:
        got.extend(stream_tts(cfg(fallback_configs=[cfg("stream-b")]), REQ))
    assert got == [b"a0;", b"a1;"]
    assert a.calls == 1 and b.calls == 0
    assert any("already delivered 6 bytes" in note for note in info.value.__notes__)
    meta = info.value.execution_metadata
    assert meta is not None and meta.successful_attempt is None
    assert meta.attempts[0].status == "failed"


async def test_async_failure_after_first_chunk(a: Streamer, b: Streamer) -> None:
    a.scripts = [Script(chunks=3, error_after=1, error=httpx.ConnectError("gone"))]
    got: list[bytes] = []
    with pytest.raises(HTTPConnectionError):
        await collect(stream_tts_async(cfg(fallback_configs=[cfg("stream-b")]), REQ), got)
    assert got == [b"a0;"] and b.calls == 0


def test_stall_after_audio_started_times_out(a: Streamer) -> None:
    a.scripts = [Script(chunks=4, stall_after=1)]
    got: list[bytes] = []
    with pytest.raises(TimeoutError) as info:
        got.extend(stream_tts(cfg(timeout=0.3), REQ))
    assert got == [b"a0;"]
    assert "further audio" in info.value.message
    assert a.closed == [1] and a.calls == 1


def test_error_comes_after_the_buffered_chunks(a: Streamer) -> None:
    a.scripts = [
        Script(chunks=4, error_after=3, error=HTTPError("x", "stream-a", "m", status_code=500))
    ]
    audio = stream_tts(cfg(), REQ, buffer_chunks=8)
    first = next(audio)
    wait_until(lambda: a.closed)  # the pump read everything (and the error) ahead
    assert [first, next(audio), next(audio)] == [b"a0;", b"a1;", b"a2;"]
    with pytest.raises(HTTPError):
        next(audio)
    with pytest.raises(StopIteration):
        next(audio)


# ====================================================================== cancellation


def test_sync_close_cancels_upstream_before_returning(a: Streamer) -> None:
    a.scripts = [Script(chunks=100, delay=0.02)]
    audio = stream_tts(cfg(), REQ, buffer_chunks=1)
    assert next(audio) == b"a0;"
    audio.close()
    assert len(a.closed) == 1 and a.closed[0] < 100  # closed by the time close() returned
    with pytest.raises(StopIteration):
        next(audio)


def test_leaving_a_with_block_early_cancels(a: Streamer) -> None:
    a.scripts = [Script(chunks=100, delay=0.02)]
    with stream_tts(cfg(), REQ) as audio:
        for _ in audio:
            break
    assert len(a.closed) == 1 and a.closed[0] < 100


def test_closing_before_iteration_sends_nothing(a: Streamer) -> None:
    audio = stream_tts(cfg(), REQ)
    audio.close()
    assert list(audio) == [] and a.calls == 0


def test_garbage_collected_sync_stream_cancels_upstream(a: Streamer) -> None:
    a.scripts = [Script(chunks=1000, delay=0.01)]
    audio = stream_tts(cfg(), REQ, buffer_chunks=1)
    next(audio)
    del audio
    gc.collect()
    wait_until(lambda: a.closed)
    assert a.closed[0] < 1000


async def test_async_with_break_cancels_upstream(a: Streamer) -> None:
    a.scripts = [Script(chunks=100, delay=0.01)]
    async with stream_tts_async(cfg(), REQ) as audio:
        async for _ in audio:
            break
    assert len(a.closed) == 1 and a.closed[0] < 100


async def test_task_cancellation_closes_upstream(a: Streamer) -> None:
    a.scripts = [Script(chunks=100, delay=0.05)]
    got: list[bytes] = []

    async def consume() -> None:
        async for chunk in stream_tts_async(cfg(), REQ):
            got.append(chunk)

    task = asyncio.create_task(consume())
    while not got:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(a.closed) == 1 and a.closed[0] < 100


async def test_task_cancellation_before_the_first_chunk_closes_upstream(a: Streamer) -> None:
    a.scripts = [Script(first_delay=5.0)]
    task = asyncio.create_task(stream_tts_async(cfg(), REQ).read_all())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert a.closed == [0]


# ====================================================================== the sync bridge


def test_sync_bridge_runs_on_the_portal_loop_without_new_loops(
    a: Streamer, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = portal_loop()
    created: list[int] = []
    original = asyncio.new_event_loop

    def counting() -> asyncio.AbstractEventLoop:
        created.append(1)
        return original()

    monkeypatch.setattr(asyncio, "new_event_loop", counting)
    a.scripts = [Script(chunks=50)]
    assert len(stream_tts(cfg(), REQ).read_all()) > 0
    assert created == []
    assert set(map(id, a.loops)) == {id(loop)}
    assert set(a.threads) == {"tarash-gateway-sync"}


def test_read_ahead_is_bounded(a: Streamer) -> None:
    a.scripts = [Script(chunks=50)]
    audio = stream_tts(cfg(), REQ, buffer_chunks=2)
    next(audio)
    time.sleep(0.2)  # give the pump every chance to over-read
    assert a.pulled <= 1 + 2
    for taken in range(2, 6):
        next(audio)
        time.sleep(0.05)
        assert a.pulled <= taken + 2
    audio.close()


def test_buffer_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        stream_tts(cfg("mock", model="mock-tts"), REQ, buffer_chunks=0)


def test_blocking_stream_inside_the_portal_loop_is_refused(a: Streamer) -> None:
    async def inside() -> bytes:
        return next(stream_tts(cfg(), REQ))

    with pytest.raises(RuntimeError, match="stream_tts_async"):
        run_sync(inside())


async def test_blocking_stream_works_from_a_thread_with_a_running_loop(a: Streamer) -> None:
    assert stream_tts(cfg(), REQ).read_all() == b"a0;a1;a2;"


# ====================================================================== the mock streams too


def test_mock_stream_matches_generate_tts() -> None:
    config = AudioGenerationConfig(provider="mock", model="mock-tts")
    request = TTSRequest(
        text="The mock can stream as well, in small pieces.", output_format="pcm_16000"
    )
    with stream_tts(config, request) as audio:
        chunks = list(audio)
    whole = generate_tts(config, request)
    assert b"".join(chunks) == whole.audio_bytes
    assert len(chunks) > 5
    assert all(len(c) <= 3200 for c in chunks)  # ~100 ms of 16 kHz s16le
    assert audio.output_format == "pcm_16000" and audio.content_type == "audio/pcm"
    assert audio.provider == "mock"


async def test_mocked_elevenlabs_config_streams_offline_and_validates_as_elevenlabs() -> None:
    config = AudioGenerationConfig(provider="elevenlabs", model="eleven_flash_v2_5", mock=True)
    async with stream_tts_async(
        config, TTSRequest(text="offline", voice_id="v", output_format="wav_16000")
    ) as audio:
        data = await audio.read_all()
    assert data[:4] == b"RIFF"
    assert audio.content_type == "audio/wav"
    assert audio.execution_metadata.attempts[0].is_mock
    with pytest.raises(ValidationError):
        stream_tts_async(config, TTSRequest(text="x", voice_id="v", output_format="flac_44100"))


def test_mock_scripted_errors_retry_then_stream() -> None:
    mock = MockConfig(
        enabled=True,
        selection="sequence",
        responses=[MockResponse(error="rate_limit", retry_after=0.01), MockResponse()],
    )
    config = AudioGenerationConfig(provider="mock", model="mock-tts", mock=mock, retry=FAST_RETRY)
    audio = stream_tts(config, TTSRequest(text="again", output_format="wav_16000"))
    assert audio.read_all()[:4] == b"RIFF"
    assert [x.error_type for x in audio.execution_metadata.attempts] == ["RateLimitError", None]


def test_mock_failure_falls_back_to_another_streamer(b: Streamer) -> None:
    mock = MockConfig(enabled=True, responses=[MockResponse(error="server_error")])
    primary = AudioGenerationConfig(
        provider="mock",
        model="mock-tts",
        mock=mock,
        retry=NO_RETRY,
        fallback_configs=[cfg("stream-b")],
    )
    audio = stream_tts(primary, REQ)
    assert audio.read_all() == b"b0;b1;b2;"
    assert audio.provider == "stream-b"
