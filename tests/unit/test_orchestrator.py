"""Orchestration on the mock provider: retries, fallback, deadlines, cancel, progress, jobs."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import wave
from pathlib import Path
from typing import Any, ClassVar

import av
import pytest

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobRef,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    OperationNotSupportedError,
    ProviderNotFoundError,
    RateLimitError,
    SQLiteJobStore,
    STSRequest,
    TTSRequest,
    ValidationError,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
    cancel_job_async,
    generate_image,
    generate_image_async,
    generate_sts_async,
    generate_tts,
    generate_video,
    generate_video_async,
    get_job_status_async,
    get_job_store,
    register_provider,
    register_provider_field_mapping,
    set_job_store,
    submit_job_async,
    wait_for_job_async,
)
from tarash.tarash_gateway import TimeoutError as GatewayTimeout
from tarash.tarash_gateway.jobs import JobStatus, MemoryJobStore
from tarash.tarash_gateway.models import RetryPolicy
from tarash.tarash_gateway.providers.base import AttemptContext, BaseProviderHandler, Prepared
from tarash.tarash_gateway.providers.field_mappers import (
    duration_field_mapper,
    passthrough_field_mapper,
)
from tests.conftest import FAST_RETRY, NO_RETRY

FAST_POLL = MockPollingConfig(delay_between_updates=0.02)


@pytest.fixture(autouse=True)
def _recording_models() -> None:
    register_provider_field_mapping(
        "recording", {"m": {"prompt": passthrough_field_mapper("prompt")}}, replace=True
    )


def video_config(**kwargs: Any) -> VideoGenerationConfig:
    kwargs.setdefault("provider", "mock")
    kwargs.setdefault("model", "mock-video")
    kwargs.setdefault("retry", FAST_RETRY)
    mock = kwargs.pop("mock", None)
    if mock is None and kwargs["provider"] == "mock":
        mock = MockConfig(enabled=True, polling=FAST_POLL)
    return VideoGenerationConfig(mock=mock, **kwargs)


def failing(kind: str, *, retry_after: float | None = None) -> MockConfig:
    return MockConfig(
        enabled=True,
        polling=FAST_POLL,
        responses=[MockResponse(error=kind, retry_after=retry_after)],  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------------------- happy paths


async def test_video_on_mock_is_a_real_mp4_with_metadata() -> None:
    updates: list[VideoGenerationUpdate] = []
    response = await generate_video_async(
        video_config(),
        VideoGenerationRequest(prompt="a fox", duration_seconds=2, aspect_ratio="9:16"),
        on_progress=updates.append,
    )
    assert response.is_mock and response.content_type == "video/mp4"
    assert (response.width, response.height) == (180, 320)
    container = av.open(io.BytesIO(await response.read_bytes_async()))
    stream = container.streams.video[0]
    assert (stream.codec_context.width, stream.codec_context.height) == (180, 320)
    assert len(list(container.decode(video=0))) == 24
    meta = response.execution_metadata
    assert meta is not None and meta.total_attempts == 1 and meta.successful_attempt == 1
    assert meta.attempts[0].started_at.tzinfo is not None
    statuses = [u.status for u in updates]
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert "processing" in statuses
    assert updates[-1].result is not None and updates[-1].result.request_id == response.request_id
    assert all(u.request_id == response.request_id for u in updates)
    assert updates[0].job is not None and updates[0].job.provider == "mock"


def test_sync_api_with_async_callback_and_save(tmp_path: Path) -> None:
    seen: list[str] = []

    async def on_progress(update: VideoGenerationUpdate) -> None:
        await asyncio.sleep(0)
        seen.append(update.status)

    response = generate_video(video_config(), VideoGenerationRequest(prompt="x"), on_progress)
    path = response.save(tmp_path)
    assert path.suffix == ".mp4" and path.read_bytes()[4:8] == b"ftyp"
    assert seen[-1] == "completed"


def test_image_tts_sts_on_mock(tmp_path: Path) -> None:
    images = generate_image(
        ImageGenerationConfig(provider="mock", model="mock-image"),
        ImageGenerationRequest(prompt="cat", size="64x32", n=3),
    )
    assert len(images.images) == 3
    png = images.save(tmp_path / "cat.png", index=2)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tts = generate_tts(
        AudioGenerationConfig(provider="mock", model="mock-tts"),
        TTSRequest(text="hello world, this is a test", output_format="wav_16000"),
    )
    with wave.open(io.BytesIO(tts.audio_bytes)) as wav:
        assert wav.getframerate() == 16000
        assert wav.getnframes() == pytest.approx(16000 * tts.duration, abs=2)
    sts = asyncio.run(
        generate_sts_async(
            AudioGenerationConfig(provider="mock", model="mock-sts"),
            STSRequest(audio=tts.audio_bytes, voice_id="v", output_format="pcm_24000"),
        )
    )
    assert sts.content_type == "audio/pcm"
    assert sts.duration == pytest.approx(tts.duration, abs=0.01)


async def test_mock_is_deterministic_by_seed() -> None:
    config = ImageGenerationConfig(provider="mock", model="mock-image")
    a = await generate_image_async(config, ImageGenerationRequest(prompt="x", seed=7))
    b = await generate_image_async(config, ImageGenerationRequest(prompt="y", seed=7))
    c = await generate_image_async(config, ImageGenerationRequest(prompt="x", seed=8))
    assert a.images == b.images != c.images


# ----------------------------------------------------------------------------- retries


async def test_retryable_error_is_retried_then_succeeds() -> None:
    mock = MockConfig(
        enabled=True,
        polling=FAST_POLL,
        selection="sequence",
        responses=[
            MockResponse(error="rate_limit"),
            MockResponse(error="server_error"),
            MockResponse(),
        ],
    )
    response = await generate_video_async(
        video_config(mock=mock), VideoGenerationRequest(prompt="x")
    )
    meta = response.execution_metadata
    assert meta is not None
    assert [a.status for a in meta.attempts] == ["failed", "failed", "success"]
    assert [a.error_type for a in meta.attempts] == ["RateLimitError", "HTTPError", None]
    assert [a.retry_number for a in meta.attempts] == [0, 1, 2]
    assert meta.fallback_triggered is False


async def test_retry_after_is_honoured() -> None:
    mock = MockConfig(
        enabled=True,
        polling=FAST_POLL,
        selection="sequence",
        responses=[MockResponse(error="rate_limit", retry_after=0.3), MockResponse()],
    )
    policy = RetryPolicy(max_retries=1, initial_delay=0.0, max_delay=0.0, max_retry_after=5)
    started = time.monotonic()
    await generate_video_async(
        video_config(mock=mock, retry=policy), VideoGenerationRequest(prompt="x")
    )
    assert time.monotonic() - started >= 0.3


async def test_fallback_after_retries_exhausted_with_full_metadata() -> None:
    config = video_config(
        mock=failing("server_error"),
        fallback_configs=[video_config(model="mock-video:second")],
    )
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    meta = response.execution_metadata
    assert meta is not None
    assert meta.total_attempts == 4 and meta.successful_attempt == 4
    assert meta.fallback_triggered and meta.configs_in_chain == 2
    assert [a.config_index for a in meta.attempts] == [0, 0, 0, 1]
    assert [a.is_fallback for a in meta.attempts] == [False, False, False, True]
    assert response.model == "mock-video:second"


@pytest.mark.parametrize(
    ("kind", "error_type"),
    [
        ("validation", ValidationError),
        ("moderation", ContentModerationError),
        ("authentication", Exception),
    ],
)
async def test_non_retryable_errors_stop_the_chain(kind: str, error_type: type[Exception]) -> None:
    config = video_config(
        mock=failing(kind), fallback_configs=[video_config(model="mock-video:never")]
    )
    with pytest.raises(error_type) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    meta = info.value.execution_metadata  # type: ignore[attr-defined]
    assert meta.total_attempts == 1 and meta.successful_attempt is None
    assert not meta.fallback_triggered


async def test_all_failing_raises_last_error_with_metadata() -> None:
    config = video_config(
        mock=failing("rate_limit"),
        retry=NO_RETRY,
        fallback_configs=[video_config(mock=failing("connection"), retry=NO_RETRY)],
    )
    with pytest.raises(Exception) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert type(info.value).__name__ == "HTTPConnectionError"
    meta = info.value.execution_metadata  # type: ignore[attr-defined]
    assert [a.error_type for a in meta.attempts] == ["RateLimitError", "HTTPConnectionError"]
    assert all(a.ended_at is not None for a in meta.attempts)


async def test_failed_job_after_acceptance_is_retryable_generation_failure() -> None:
    mock = MockConfig(
        enabled=True, polling=FAST_POLL, responses=[MockResponse(error="generation_failed")]
    )
    config = video_config(mock=mock, retry=NO_RETRY, fallback_configs=[video_config()])
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    meta = response.execution_metadata
    assert meta is not None
    first = meta.attempts[0]
    assert first.error_type == "GenerationFailedError" and first.request_id


# ----------------------------------------------------------------------------- deadlines


async def test_timeout_after_acceptance_cancels_upstream_before_fallback() -> None:
    slow = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=5))
    order: list[str] = []

    def on_progress(update: VideoGenerationUpdate) -> None:
        order.append(f"{update.status}:{update.model}")

    config = video_config(
        mock=slow, timeout=0.3, fallback_configs=[video_config(model="mock-video:fallback")]
    )
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x"), on_progress)
    meta = response.execution_metadata
    assert meta is not None
    first = meta.attempts[0]
    assert first.error_type == "TarashTimeoutError" and first.cancelled_upstream is True
    assert meta.total_attempts == 2  # timeouts go to the next config, not a same-config retry
    assert order.index("failed:mock-video") < order.index("queued:mock-video:fallback")
    record = await get_job_store().get(response.request_id)
    assert record is None or record.state != "submitted"


async def test_max_poll_attempts_is_a_deadline_too() -> None:
    slow = MockConfig(
        enabled=True,
        polling=MockPollingConfig(
            delay_between_updates=0.05, status_sequence=["queued"] * 50 + ["completed"]
        ),
    )
    config = video_config(mock=slow, max_poll_attempts=3, retry=NO_RETRY)
    with pytest.raises(GatewayTimeout, match="3 status polls") as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert info.value.cancelled_upstream is True


async def test_caller_cancellation_cancels_upstream() -> None:
    handler = RecordingHandler()
    register_provider("recording", handler)
    config = VideoGenerationConfig(provider="recording", model="m", api_key="k-123456")
    task = asyncio.create_task(generate_video_async(config, VideoGenerationRequest(prompt="x")))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert handler.cancelled == ["job-1"]


# ----------------------------------------------------------------------------- callbacks


async def test_callback_exception_never_affects_the_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(update: VideoGenerationUpdate) -> None:
        raise RuntimeError("user bug")

    config = video_config(fallback_configs=[video_config(model="mock-video:never-used")])
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x"), broken)
    meta = response.execution_metadata
    assert meta is not None and meta.total_attempts == 1 and not meta.fallback_triggered
    assert any("Progress callback raised" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------------------- validation


async def test_chain_is_validated_before_any_attempt() -> None:
    handler = RecordingHandler()
    register_provider("recording", handler)
    register_provider_field_mapping(
        "recording",
        {
            "m": {
                "prompt": passthrough_field_mapper("prompt"),
                "d": duration_field_mapper("int", [5]),
            }
        },
    )
    good = VideoGenerationConfig(provider="recording", model="m", api_key="k-123456")
    bad_fallback = video_config(provider="recording", model="unknown-model", api_key="k-123456")
    config = good.model_copy(update={"fallback_configs": [bad_fallback]})
    with pytest.raises(ValidationError, match="unknown-model"):
        await generate_video_async(config, VideoGenerationRequest(prompt="x", duration_seconds=5))
    assert handler.submitted == 0
    with pytest.raises(ValidationError, match="allowed: 5s"):
        await generate_video_async(good, VideoGenerationRequest(prompt="x", duration_seconds=6))
    with pytest.raises(ValidationError, match="does not support: seed"):
        await generate_video_async(good, VideoGenerationRequest(prompt="x", seed=1))
    assert handler.submitted == 0


async def test_unsupported_param_policy_warn() -> None:
    handler = RecordingHandler(finish=True)
    register_provider("recording", handler)
    register_provider_field_mapping(
        "recording", {"m": {"prompt": passthrough_field_mapper("prompt")}}
    )
    config = VideoGenerationConfig(
        provider="recording", model="m", api_key="k-123456", on_unsupported_param="warn"
    )
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x", seed=3))
    assert any("seed" in w for w in response.warnings)


async def test_mocked_real_config_is_still_validated() -> None:
    register_provider("recording", RecordingHandler())
    register_provider_field_mapping(
        "recording", {"m": {"prompt": passthrough_field_mapper("prompt")}}
    )
    config = VideoGenerationConfig(provider="recording", model="m", mock=True)
    with pytest.raises(ValidationError, match="seed"):
        await generate_video_async(config, VideoGenerationRequest(prompt="x", seed=3))
    response = await generate_video_async(
        config.model_copy(update={"mock": MockConfig(enabled=True, polling=FAST_POLL)}),
        VideoGenerationRequest(prompt="x"),
    )
    assert response.is_mock and response.provider == "recording"


async def test_env_switch_mocks_every_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARASH_GATEWAY_MOCK", "1")
    config = ImageGenerationConfig(provider="no-such-provider-but-mocked", model="x")
    response = await generate_image_async(config, ImageGenerationRequest(prompt="x"))
    assert response.is_mock


async def test_missing_api_key_is_reported_before_any_call() -> None:
    handler = RecordingHandler()
    register_provider("recording", handler)
    register_provider_field_mapping(
        "recording", {"m": {"prompt": passthrough_field_mapper("prompt")}}
    )
    with pytest.raises(Exception, match="no API key"):
        await generate_video_async(
            VideoGenerationConfig(provider="recording", model="m"),
            VideoGenerationRequest(prompt="x"),
        )
    assert handler.submitted == 0


# ----------------------------------------------------------------------------- handlers


class RecordingHandler(BaseProviderHandler):
    """A step handler whose jobs never finish unless ``finish`` is set."""

    name: ClassVar[str] = "recording"
    operations = frozenset({"video"})  # type: ignore[assignment]

    def __init__(self, finish: bool = False) -> None:
        self.finish = finish
        self.submitted = 0
        self.cancelled: list[str] = []

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> JobRef:
        self.submitted += 1
        return ctx.job(f"job-{self.submitted}")

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        if self.finish:
            return JobStatus(state="completed")
        return JobStatus(state="processing", progress_percent=10, poll_after=0.05)

    async def result(self, ctx: AttemptContext, job: JobRef) -> VideoGenerationResponse:
        return ctx.video_response(
            video="https://cdn.example/v.mp4", provider_request_id=job.provider_request_id
        )

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
        self.cancelled.append(job.provider_request_id)
        return True


class SpecHandler:
    """A custom handler exactly as the specification shows it: generate_* only."""

    def __init__(self) -> None:
        self.calls = 0
        self.sync_calls = 0

    def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        self.sync_calls += 1
        return VideoGenerationResponse(request_id="theirs-sync", video="https://x/v.mp4")

    async def generate_video_async(
        self, config: Any, request: Any, on_progress: Any = None
    ) -> VideoGenerationResponse:
        self.calls += 1
        return VideoGenerationResponse(request_id="theirs", video="https://x/v.mp4")


def test_custom_spec_handler_sync_and_async() -> None:
    handler = SpecHandler()
    register_provider("my-provider", handler)
    config = VideoGenerationConfig(provider="my-provider", model="my-model", api_key="k-abcdef")
    response = generate_video(config, VideoGenerationRequest(prompt="x"))
    assert response.video == "https://x/v.mp4"
    assert response.request_id.startswith("tg_")  # ours, not the handler's
    assert response.provider_request_id == "theirs-sync"  # the handler's id is kept
    assert (handler.sync_calls, handler.calls) == (1, 0)  # blocking API → blocking method
    with pytest.raises(OperationNotSupportedError) as info:
        generate_image(
            ImageGenerationConfig(provider="my-provider", model="m"),
            ImageGenerationRequest(prompt="x"),
        )
    assert isinstance(info.value, NotImplementedError)


def test_builtin_operation_not_offered_is_a_typed_error() -> None:
    register_provider("recording", RecordingHandler())
    with pytest.raises(NotImplementedError, match="does not support tts"):
        generate_tts(
            AudioGenerationConfig(provider="recording", model="m", api_key="k-123456"),
            TTSRequest(text="hi"),
        )


def test_unknown_provider() -> None:
    with pytest.raises(ProviderNotFoundError, match="known providers"):
        generate_video(
            VideoGenerationConfig(provider="nope", model="m"), VideoGenerationRequest(prompt="x")
        )


async def test_empty_result_is_a_failed_attempt() -> None:
    class Empty(SpecHandler):
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            return VideoGenerationResponse(request_id="r", video="")

    register_provider("empty", Empty())
    config = VideoGenerationConfig(
        provider="empty", model="m", retry=NO_RETRY, fallback_configs=[video_config()]
    )
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    meta = response.execution_metadata
    assert meta is not None
    assert meta.attempts[0].error_type == "GenerationFailedError"
    assert response.is_mock


# ----------------------------------------------------------------------------- durable jobs


async def test_submit_then_resume_from_serialised_reference(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db")
    set_job_store(store)
    try:
        config = video_config()
        job = await submit_job_async(config, VideoGenerationRequest(prompt="x", duration_seconds=1))
        assert isinstance(job, JobRef)
        pending = await SQLiteJobStore(tmp_path / "jobs.db").pending()
        assert [r.job.request_id for r in pending] == [job.request_id]
        revived = JobRef.from_json(job.to_json())
        status = await get_job_status_async(revived, config)
        assert status.state in ("queued", "processing", "completed")
        response = await wait_for_job_async(revived, config)
        assert isinstance(response, VideoGenerationResponse)
        assert response.request_id == job.request_id
        assert await store.pending() == []
    finally:
        set_job_store(MemoryJobStore())


async def test_cancel_job() -> None:
    config = video_config(
        mock=MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=5))
    )
    job = await submit_job_async(config, VideoGenerationRequest(prompt="x"))
    assert isinstance(job, JobRef)
    assert await cancel_job_async(job, config) is True
    assert (await get_job_status_async(job, config)).state == "cancelled"
    with pytest.raises(GenerationFailedError):
        await wait_for_job_async(job, config)


async def test_rate_limit_exception_carries_retry_after() -> None:
    config = video_config(mock=failing("rate_limit", retry_after=0.01), retry=NO_RETRY)
    with pytest.raises(RateLimitError) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert info.value.retry_after == 0.01 and info.value.retryable


# ----------------------------------------------------------------------------- review fixes


class FlakyStatusHandler(RecordingHandler):
    """Accepts jobs whose status endpoint keeps failing with a retryable 503."""

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        raise HTTPError("status unavailable", "recording", ctx.model, status_code=503)


async def test_polling_failure_cancels_the_job_before_fallback() -> None:
    handler = FlakyStatusHandler()
    register_provider("recording", handler)
    config = VideoGenerationConfig(
        provider="recording",
        model="m",
        api_key="k-123456",
        poll_interval=0.01,
        retry=NO_RETRY,
        fallback_configs=[video_config()],
    )
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert response.is_mock  # the fallback answered…
    assert handler.cancelled == ["job-1"]  # …after the orphaned job was cancelled upstream
    meta = response.execution_metadata
    assert meta is not None
    assert meta.attempts[0].error_type == "HTTPError"


async def test_abandoned_job_is_not_overwritten_by_the_fallback(tmp_path: Path) -> None:
    class NoCancel(RecordingHandler):
        async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
            return False

    register_provider("recording", NoCancel())
    store = SQLiteJobStore(tmp_path / "jobs.db")
    set_job_store(store)
    try:
        config = VideoGenerationConfig(
            provider="recording",
            model="m",
            api_key="k-123456",
            timeout=0.3,
            fallback_configs=[video_config()],
        )
        response = await generate_video_async(config, VideoGenerationRequest(prompt="x"))
        pending = await store.pending()
    finally:
        set_job_store(MemoryJobStore())
    assert response.is_mock
    assert [(r.job.provider, r.job.provider_request_id, r.state) for r in pending] == [
        ("recording", "job-1", "abandoned")
    ]


async def test_job_reference_cannot_steer_the_key_to_another_provider() -> None:
    register_provider("recording", RecordingHandler())
    job = JobRef(
        provider="recording",
        model="m",
        operation="video",
        provider_request_id="job-9",
        request_id="tg_x",
    )
    other = VideoGenerationConfig(provider="mock", model="mock-video", api_key="k-999999")
    with pytest.raises(ValidationError, match="belongs to provider"):
        await get_job_status_async(job, other)


async def test_progress_updates_are_redacted_and_sync_callbacks_run_off_loop() -> None:
    VideoGenerationConfig(provider="mock", model="m", api_key="leaky-key-abcdef")
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    texts: list[str] = []

    class Leaky(RecordingHandler):
        async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
            return JobStatus(
                state="completed",
                logs=["using leaky-key-abcdef"],
                raw={"authorization": "Bearer leaky-key-abcdef", "progress": 250},
            )

    def on_progress(update: VideoGenerationUpdate) -> None:
        threads.add(threading.get_ident())
        texts.append(update.model_dump_json())

    register_provider("recording", Leaky())
    config = VideoGenerationConfig(provider="recording", model="m", api_key="k-123456")
    await generate_video_async(config, VideoGenerationRequest(prompt="x"), on_progress)
    assert texts
    assert all("leaky-key-abcdef" not in text for text in texts)
    assert loop_thread not in threads


async def test_total_timeout_bounds_retries_backoff_and_fallbacks() -> None:
    slow = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=5))
    policy = RetryPolicy(max_retries=3, retry_on_timeout=True, total_timeout=0.6)
    config = video_config(
        mock=slow,
        timeout=10,
        retry=policy,
        fallback_configs=[video_config(mock=slow, timeout=10)],
    )
    started = time.monotonic()
    with pytest.raises(GatewayTimeout) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert time.monotonic() - started < 2.0
    meta = info.value.execution_metadata
    assert meta is not None
    assert all(a.cancelled_upstream for a in meta.attempts)


def test_unsupported_fields_respects_also_consumes() -> None:
    from tarash.tarash_gateway.providers.field_mappers import (
        aspect_ratio_to_size_field_mapper,
        unsupported_fields,
    )

    mappers = {
        "prompt": passthrough_field_mapper("prompt"),
        "size": aspect_ratio_to_size_field_mapper({"1:1": "1024x1024"}),
    }
    request = ImageGenerationRequest(prompt="x", size="1024x1024")
    assert unsupported_fields(mappers, request) == []


def test_client_cache_drops_tables_of_closed_loops() -> None:
    from tarash.tarash_gateway.http import ClientCache

    cache = ClientCache()

    async def use() -> object:
        return cache.get("k", object)

    for _ in range(5):
        asyncio.run(use())
    asyncio.run(use())
    # asyncio.run's shutdown closed each loop's clients and dropped its table
    assert len(cache._by_loop) == 0 and len(cache._closers) == 0


def test_close_clients_for_the_blocking_api() -> None:
    from tarash.tarash_gateway.http import close_clients

    generate_image(
        ImageGenerationConfig(provider="mock", model="mock-image"),
        ImageGenerationRequest(prompt="x", size="16x16"),
    )
    close_clients()


async def test_payment_required_falls_back_without_retrying_the_same_config() -> None:
    from tarash.tarash_gateway.http import error_from_status

    class Unpaid(SpecHandler):
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            self.calls += 1
            raise error_from_status(402, "out of credits", provider="unpaid")

    handler = Unpaid()
    register_provider("unpaid", handler)
    config = VideoGenerationConfig(
        provider="unpaid", model="m", retry=FAST_RETRY, fallback_configs=[video_config()]
    )
    response = await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert handler.calls == 1  # no same-config retry…
    assert response.is_mock  # …straight to the fallback


def test_base_url_credentials_are_registered_as_secrets() -> None:
    from tarash.tarash_gateway._secrets import redact_text

    VideoGenerationConfig(
        provider="mock",
        model="m",
        base_url="https://user:pa55word-xyz@proxy.example/?key=qk-123456",
    )
    assert "pa55word-xyz" not in redact_text("connecting with pa55word-xyz")
    assert "qk-123456" not in redact_text("url ?key=qk-123456")
