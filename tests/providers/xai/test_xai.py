"""xAI Grok Imagine through the public API: the real xai-sdk against a local gRPC emulator."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from xai_sdk.proto import image_pb2, video_pb2

from tarash.tarash_gateway import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobRef,
    MockConfig,
    MockResponse,
    RateLimitError,
    SQLiteJobStore,
    TimeoutError,
    ValidationError,
    VideoGenerationConfig,
    VideoGenerationRequest,
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
    submit_job_async,
    wait_for_job_async,
)
from tarash.tarash_gateway.http import aclose_clients
from tarash.tarash_gateway.jobs import get_job_store, set_job_store
from tarash.tarash_gateway.models import RetryPolicy, VideoGenerationUpdate
from tarash.tarash_gateway.providers.xai.handler import grpc_target
from tests.conftest import FAST_RETRY
from tests.emulators.xai import XAI_API_KEY, VideoScript, XAIEmulator, xai_emulator_fixture

pytestmark = pytest.mark.timeout(30)

xai = xai_emulator_fixture(scope="module")

PNG = b"\x89PNG\r\n\x1a\n" + b"reference-image"
StatusCode = grpc.StatusCode
NO_RETRY = RetryPolicy(max_retries=0)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await aclose_clients()


def image_config(
    emu: XAIEmulator, model: str = "grok-imagine-image", **kwargs: Any
) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "xai",
        "model": model,
        "api_key": XAI_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
    }
    fields.update(kwargs)
    return ImageGenerationConfig(**fields)


def video_config(
    emu: XAIEmulator, model: str = "grok-imagine-video", **kwargs: Any
) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "xai",
        "model": model,
        "api_key": XAI_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
        "poll_interval": 0.05,
    }
    fields.update(kwargs)
    return VideoGenerationConfig(**fields)


def image_request(emu: XAIEmulator) -> image_pb2.GenerateImageRequest:
    request: image_pb2.GenerateImageRequest = emu.last("GenerateImage").request
    return request


def video_request(emu: XAIEmulator) -> video_pb2.GenerateVideoRequest:
    request: video_pb2.GenerateVideoRequest = emu.last("GenerateVideo").request
    return request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# =========================================================================== images


async def test_image_defaults_send_exact_proto_and_return_urls(xai: XAIEmulator) -> None:
    response = await generate_image_async(
        image_config(xai), ImageGenerationRequest(prompt="a red panda")
    )
    call = xai.last("GenerateImage")
    assert call.metadata["authorization"] == f"Bearer {XAI_API_KEY}"
    sent = image_request(xai)
    assert sent.prompt == "a red panda"
    assert sent.model == "grok-imagine-image"
    assert sent.n == 1
    assert sent.format == image_pb2.ImageFormat.IMG_FORMAT_URL
    for absent in ("aspect_ratio", "resolution", "quality", "image"):
        assert not sent.HasField(absent)
    assert len(sent.images) == 0

    assert response.provider == "xai"
    assert len(response.images) == 1
    assert response.images[0].startswith(f"{xai.base_url}/xai-emulator/images/")
    assert response.content_type == "image/jpeg"
    assert response.cost is None
    assert xai.count() == 1


async def test_image_base64_n_aspect_resolution_and_cost(xai: XAIEmulator) -> None:
    xai.image_cost_ticks = 700_000_000  # 0.07 USD
    response = await generate_image_async(
        image_config(xai),
        ImageGenerationRequest(
            prompt="three cats",
            n=3,
            aspect_ratio="19.5:9",
            provider_options={"xai": {"image_format": "base64", "resolution": "2k"}},
        ),
    )
    sent = image_request(xai)
    assert sent.n == 3
    assert sent.format == image_pb2.ImageFormat.IMG_FORMAT_BASE64
    assert sent.aspect_ratio == image_pb2.ImageAspectRatio.IMG_ASPECT_RATIO_19_5_9
    assert sent.resolution == image_pb2.ImageResolution.IMG_RESOLUTION_2K
    assert len(response.images) == 3
    assert all(not image.startswith("data:") for image in response.images)
    assert response.content_type == "image/jpeg"
    assert (await response.read_bytes_async(2)).startswith(b"\xff\xd8\xff")
    assert response.cost is not None
    assert response.cost.amount == pytest.approx(0.07)
    assert response.cost.unit == "usd"


async def test_auto_aspect_ratio_is_left_to_the_model(xai: XAIEmulator) -> None:
    await generate_image_async(
        image_config(xai), ImageGenerationRequest(prompt="anything", aspect_ratio="auto")
    )
    assert not image_request(xai).HasField("aspect_ratio")


async def test_image_2_quality(xai: XAIEmulator) -> None:
    await generate_image_async(
        image_config(xai, "grok-imagine-image-2.0"),
        ImageGenerationRequest(prompt="cheap draft", quality="low"),
    )
    sent = image_request(xai)
    assert sent.model == "grok-imagine-image-2.0"
    assert sent.quality == image_pb2.ImageQuality.IMG_QUALITY_LOW


async def test_single_edit_image_is_sent_as_data_uri(xai: XAIEmulator) -> None:
    await generate_image_async(
        image_config(xai),
        ImageGenerationRequest(
            prompt="add a hat", image_list=[{"image": PNG, "type": "reference"}]
        ),
    )
    sent = image_request(xai)
    assert sent.HasField("image")
    assert sent.image.image_url.startswith("data:image/png;base64,")
    assert len(sent.images) == 0


async def test_multi_reference_edit_mixes_urls_and_local_files(
    xai: XAIEmulator, tmp_path: Path
) -> None:
    local = tmp_path / "ref.png"
    local.write_bytes(PNG)
    await generate_image_async(
        image_config(xai),
        ImageGenerationRequest(
            prompt="combine <IMAGE_0> and <IMAGE_1>",
            image_list=[
                {"image": "https://example.com/a.jpg", "type": "reference"},
                {"image": local, "type": "reference"},
            ],
        ),
    )
    sent = image_request(xai)
    assert not sent.HasField("image")
    assert [i.image_url[:22] for i in sent.images] == [
        "https://example.com/a.",
        "data:image/png;base64,",
    ]


async def test_all_images_moderated_is_content_moderation(xai: XAIEmulator) -> None:
    xai.moderated_images = {0}
    fallback = ImageGenerationConfig(provider="mock", model="mock-image")
    with pytest.raises(ContentModerationError) as info:
        await generate_image_async(
            image_config(xai, fallback_configs=[fallback]), ImageGenerationRequest(prompt="x")
        )
    assert "respect_moderation" in str(info.value)
    assert xai.count("GenerateImage") == 1  # not retried, no fallback
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == 1


async def test_partly_moderated_keeps_the_rest_with_a_warning(xai: XAIEmulator) -> None:
    xai.moderated_images = {1}
    response = await generate_image_async(
        image_config(xai), ImageGenerationRequest(prompt="x", n=3)
    )
    assert len(response.images) == 2
    assert any("withheld 1 of 3" in w for w in response.warnings)


def test_sync_image_from_a_plain_thread(xai: XAIEmulator) -> None:
    response = generate_image(image_config(xai), ImageGenerationRequest(prompt="sync"))
    assert response.images
    assert image_request(xai).prompt == "sync"


async def test_sync_api_in_worker_thread_of_a_running_loop(xai: XAIEmulator) -> None:
    # The caller's loop is running (FastAPI/Jupyter style); the blocking API must not
    # try to run a loop of its own (no asyncio.run anywhere on the path).
    assert asyncio.get_running_loop().is_running()
    image = await asyncio.to_thread(
        generate_image, image_config(xai), ImageGenerationRequest(prompt="from a worker")
    )
    video = await asyncio.to_thread(
        generate_video,
        video_config(xai),
        VideoGenerationRequest(prompt="from a worker", duration_seconds=3),
    )
    assert image.images and video.video
    assert xai.count("GenerateImage") == 1 and xai.count("GenerateVideo") == 1


async def test_key_from_environment(xai: XAIEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_KEY", XAI_API_KEY)
    response = await generate_image_async(
        image_config(xai, api_key=None), ImageGenerationRequest(prompt="env")
    )
    assert response.images


# =========================================================================== validation


@pytest.mark.parametrize(
    ("model", "fields", "config_extra", "field"),
    [
        ("grok-imagine-image", {"prompt": "  "}, {}, "prompt"),
        ("grok-imagine-image", {"prompt": "p", "n": 11}, {}, "n"),
        ("grok-imagine-image", {"prompt": "p", "aspect_ratio": "21:9"}, {}, "aspect_ratio"),
        ("grok-imagine-image", {"prompt": "p", "seed": 3}, {}, "seed"),
        ("grok-imagine-image", {"prompt": "p", "quality": "low"}, {}, "quality"),
        (
            "grok-imagine-image",
            {"prompt": "p", "provider_options": {"xai": {"resolution": "4k"}}},
            {},
            "extra_params",
        ),
        (
            "grok-imagine-image",
            {"prompt": "p", "extra_params": {"image_format": "png"}},
            {},
            "extra_params",
        ),
        (
            "grok-imagine-image",
            {"prompt": "p", "extra_params": {"temperature": 1}},
            {},
            "temperature",
        ),
        ("grok-2-image", {"prompt": "p", "aspect_ratio": "16:9"}, {}, "aspect_ratio"),
        (
            "grok-2-image",
            {"prompt": "p", "image_list": [{"image": PNG, "type": "reference"}]},
            {},
            "image_list",
        ),
        ("grok-imagine-video", {"prompt": "p"}, {}, "model"),
        ("grok-imagine-image", {"prompt": "p"}, {"base_url": "ftp://127.0.0.1:1"}, "base_url"),
        (
            "grok-imagine-image",
            {"prompt": "p"},
            {"base_url": "http://127.0.0.1:1/v1"},
            "base_url",
        ),
        (
            "grok-imagine-image",
            {"prompt": "p"},
            {"provider_config": {"rpc_timeout": -1}},
            "provider_config.rpc_timeout",
        ),
    ],
)
async def test_invalid_image_requests_fail_before_any_call(
    xai: XAIEmulator,
    model: str,
    fields: dict[str, Any],
    config_extra: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_image_async(
            image_config(xai, model, **config_extra), ImageGenerationRequest(**fields)
        )
    assert info.value.field == field
    assert xai.calls == []


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("grok-imagine-video", {"prompt": "p", "duration_seconds": 16}, "duration_seconds"),
        ("grok-imagine-video", {"prompt": "p", "aspect_ratio": "21:9"}, "aspect_ratio"),
        ("grok-imagine-video", {"prompt": "p", "resolution": "360p"}, "resolution"),
        ("grok-imagine-video", {"prompt": "p", "seed": 1}, "seed"),
        ("grok-imagine-video", {"prompt": "p", "number_of_videos": 2}, "number_of_videos"),
        ("grok-imagine-video", {"prompt": ""}, "prompt"),
        (
            "grok-imagine-video",
            {"prompt": "p", "image_list": [{"image": PNG, "type": "last_frame"}]},
            "image_list[last_frame]",
        ),
        (
            "grok-imagine-video",
            {
                "prompt": "p",
                "video": "https://example.com/in.mp4",
                "image_list": [{"image": PNG, "type": "first_frame"}],
            },
            "video",
        ),
        ("grok-imagine-image", {"prompt": "p"}, "model"),
    ],
)
async def test_invalid_video_requests_fail_before_any_call(
    xai: XAIEmulator, model: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_video_async(video_config(xai, model), VideoGenerationRequest(**fields))
    assert info.value.field == field
    assert xai.calls == []


# =========================================================================== gRPC errors


async def test_invalid_argument_from_server(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.INVALID_ARGUMENT, "prompt too spicy for parser")
    with pytest.raises(ValidationError) as info:
        await generate_image_async(image_config(xai), ImageGenerationRequest(prompt="p"))
    assert "INVALID_ARGUMENT" in str(info.value)
    assert xai.count() == 1


async def test_moderation_details_become_content_moderation(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.INVALID_ARGUMENT, "rejected by content moderation")
    with pytest.raises(ContentModerationError):
        await generate_image_async(image_config(xai), ImageGenerationRequest(prompt="p"))


async def test_wrong_key_is_unauthenticated(xai: XAIEmulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        await generate_image_async(
            image_config(xai, api_key="xai-wrong"), ImageGenerationRequest(prompt="p")
        )
    assert info.value.status_code == 401
    assert "xai-wrong" not in str(info.value)
    assert xai.count() == 1
    assert xai.last().code == StatusCode.UNAUTHENTICATED


async def test_permission_denied_is_authentication(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.PERMISSION_DENIED, "team blocked")
    with pytest.raises(AuthenticationError) as info:
        await generate_image_async(image_config(xai), ImageGenerationRequest(prompt="p"))
    assert info.value.status_code == 403
    assert xai.count() == 1


async def test_resource_exhausted_is_retried(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.RESOURCE_EXHAUSTED, "rate limited", retry_after=0.05)
    response = await generate_image_async(image_config(xai), ImageGenerationRequest(prompt="p"))
    assert response.images
    assert xai.count("GenerateImage") == 2
    meta = response.execution_metadata
    assert meta is not None
    assert meta.attempts[0].error_type == "RateLimitError"
    assert meta.attempts[0].is_retryable is True


async def test_resource_exhausted_every_time(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.RESOURCE_EXHAUSTED, times=None, retry_after=0.01)
    with pytest.raises(RateLimitError) as info:
        await generate_image_async(image_config(xai), ImageGenerationRequest(prompt="p"))
    assert info.value.retry_after == pytest.approx(0.01)
    assert xai.count("GenerateImage") == FAST_RETRY.max_retries + 1


async def test_unavailable_retried_by_us_only_then_fallback(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.UNAVAILABLE, times=None)
    fallback = ImageGenerationConfig(provider="mock", model="mock-image")
    response = await generate_image_async(
        image_config(xai, fallback_configs=[fallback]), ImageGenerationRequest(prompt="p")
    )
    # An answered UNAVAILABLE is "not always safe to retry" (gRPC status docs) for a call
    # that bills: sent once, never resent; the SDK's own retry policy is off too.
    assert xai.count("GenerateImage") == 1
    assert response.provider == "mock"
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert [a.error_type for a in meta.attempts] == ["HTTPConnectionError", None]


async def test_internal_is_retryable_http_error(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.INTERNAL, "boom", times=None)
    with pytest.raises(HTTPError) as info:
        await generate_image_async(image_config(xai), ImageGenerationRequest(prompt="p"))
    assert info.value.retryable is True
    assert xai.count("GenerateImage") == FAST_RETRY.max_retries + 1


async def test_grpc_deadline_exceeded_is_timeout(xai: XAIEmulator) -> None:
    xai.inject_delay(3.0, method="GenerateImage")
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        await generate_image_async(
            image_config(xai, provider_config={"rpc_timeout": 0.3}),
            ImageGenerationRequest(prompt="p"),
        )
    assert time.monotonic() - started < 2.5
    assert "DEADLINE_EXCEEDED" in str(info.value)
    assert info.value.retryable is True
    assert xai.count("GenerateImage") == 1


async def test_slow_call_hits_the_attempt_timeout_then_falls_back(xai: XAIEmulator) -> None:
    xai.inject_delay(3.0, method="GenerateImage")
    fallback = ImageGenerationConfig(provider="mock", model="mock-image")
    started = time.monotonic()
    response = await generate_image_async(
        image_config(xai, timeout=0.5, fallback_configs=[fallback]),
        ImageGenerationRequest(prompt="p"),
    )
    assert time.monotonic() - started < 2.5
    assert response.provider == "mock"
    meta = response.execution_metadata
    assert meta is not None and meta.attempts[0].error_type == "TarashTimeoutError"
    await asyncio.sleep(0.2)
    assert xai.last("GenerateImage").code == StatusCode.CANCELLED  # the RPC was cancelled


async def test_connection_refused_is_retryable_connection_error(xai: XAIEmulator) -> None:
    cfg = image_config(xai, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(HTTPConnectionError) as info:
        await generate_image_async(cfg, ImageGenerationRequest(prompt="p"))
    assert info.value.retryable is True
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == FAST_RETRY.max_retries + 1


# =========================================================================== video


async def test_video_text_to_video_with_progress(xai: XAIEmulator) -> None:
    xai.video_script = VideoScript(
        pending_polls=3, progress=(10, 45, 80), cost_in_usd_ticks=2_500_000_000
    )
    updates: list[VideoGenerationUpdate] = []
    response = await generate_video_async(
        video_config(xai),
        VideoGenerationRequest(
            prompt="a koi pond",
            duration_seconds=6,
            aspect_ratio="9:16",
            resolution="720p",
            generate_audio=False,
        ),
        on_progress=updates.append,
    )
    sent = video_request(xai)
    assert sent.prompt == "a koi pond"
    assert sent.model == "grok-imagine-video"
    assert sent.duration == 6
    assert sent.aspect_ratio == video_pb2.VideoAspectRatio.VIDEO_ASPECT_RATIO_9_16
    assert sent.resolution == video_pb2.VideoResolution.VIDEO_RESOLUTION_720P
    assert sent.HasField("generate_audio") and sent.generate_audio is False
    assert not sent.HasField("image")

    request_id = response.provider_request_id
    assert request_id in xai.videos
    polls = xai.find("GetDeferredVideo")
    assert {c.request.request_id for c in polls} == {request_id}
    assert len(polls) == 4  # 3 pending + done; the result reuses the DONE answer

    assert response.video == f"{xai.base_url}/xai-emulator/videos/{request_id}.mp4"
    assert response.content_type == "video/mp4"
    assert response.duration == 6.0
    assert response.resolution == "720p"
    assert response.aspect_ratio == "9:16"
    assert response.cost is not None and response.cost.amount == pytest.approx(0.25)

    percents = [u.progress_percent for u in updates if u.status == "processing"]
    assert percents[:3] == [10, 45, 80]
    assert updates[0].status == "queued"
    assert updates[-1].status == "completed"
    assert all(u.provider_request_id == request_id for u in updates[1:])


async def test_image_to_video_from_first_frame_and_references(xai: XAIEmulator) -> None:
    await generate_video_async(
        video_config(xai),
        VideoGenerationRequest(
            prompt="bring it to life",
            image_list=[
                {"image": PNG, "type": "first_frame"},
                {"image": "https://example.com/style.png", "type": "reference"},
            ],
        ),
    )
    sent = video_request(xai)
    assert sent.image.image_url.startswith("data:image/png;base64,")
    assert [r.image_url for r in sent.reference_images] == ["https://example.com/style.png"]


async def test_video_15_last_frame_and_empty_prompt(xai: XAIEmulator) -> None:
    await generate_video_async(
        video_config(xai, "grok-imagine-video-1.5"),
        VideoGenerationRequest(
            prompt="",
            resolution="1080p",
            image_list=[
                {"image": "https://example.com/first.png", "type": "first_frame"},
                {"image": PNG, "type": "last_frame"},
            ],
        ),
    )
    sent = video_request(xai)
    assert sent.prompt == ""
    assert sent.image.image_url == "https://example.com/first.png"
    assert sent.last_frame.image_url.startswith("data:image/png;base64,")
    assert sent.resolution == video_pb2.VideoResolution.VIDEO_RESOLUTION_1080P


async def test_video_editing_passes_the_url_through(xai: XAIEmulator) -> None:
    await generate_video_async(
        video_config(xai),
        VideoGenerationRequest(prompt="add rain", video="https://example.com/in.mp4"),
    )
    assert video_request(xai).video.url == "https://example.com/in.mp4"


async def test_video_failed_transient_is_retried(xai: XAIEmulator) -> None:
    xai.queue_video_scripts(
        VideoScript(pending_polls=1, outcome="failed", error_code="internal_error")
    )
    response = await generate_video_async(video_config(xai), VideoGenerationRequest(prompt="p"))
    assert response.video
    assert xai.count("GenerateVideo") == 2
    meta = response.execution_metadata
    assert meta is not None and meta.attempts[0].error_type == "GenerationFailedError"
    assert meta.attempts[0].request_id  # the failed job's request id is kept


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("content_moderation", ContentModerationError),
        ("invalid_prompt", ValidationError),
        ("generation_rejected", GenerationFailedError),
    ],
)
async def test_video_failed_terminal_codes(
    xai: XAIEmulator, code: str, error_type: type[Exception]
) -> None:
    xai.video_script = VideoScript(
        pending_polls=1, outcome="failed", error_code=code, error_message="nope"
    )
    with pytest.raises(error_type) as info:
        await generate_video_async(video_config(xai), VideoGenerationRequest(prompt="p"))
    assert code in str(info.value) and "nope" in str(info.value)
    assert xai.count("GenerateVideo") == 1
    assert info.value.request_id in xai.videos  # the failed job's request id


async def test_video_expired(xai: XAIEmulator) -> None:
    xai.video_script = VideoScript(pending_polls=0, outcome="expired")
    with pytest.raises(GenerationFailedError) as info:
        await generate_video_async(
            video_config(xai, retry=NO_RETRY), VideoGenerationRequest(prompt="p")
        )
    assert "expired" in str(info.value)
    assert info.value.retryable is True


async def test_video_done_but_moderated(xai: XAIEmulator) -> None:
    xai.video_script = VideoScript(pending_polls=0, respect_moderation=False)
    with pytest.raises(ContentModerationError):
        await generate_video_async(video_config(xai), VideoGenerationRequest(prompt="p"))
    assert xai.count("GenerateVideo") == 1


async def _timeout_with_pending_video(xai: XAIEmulator) -> TimeoutError:
    xai.video_script = VideoScript(pending_polls=10_000)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        await generate_video_async(
            video_config(xai, timeout=0.6, retry=NO_RETRY), VideoGenerationRequest(prompt="p")
        )
    assert time.monotonic() - started < 3.0
    return info.value


async def test_video_timeout_reports_uncancelled_job(xai: XAIEmulator, tmp_path: Path) -> None:
    previous = get_job_store()
    store = SQLiteJobStore(tmp_path / "jobs.db")
    set_job_store(store)
    try:
        error = await _timeout_with_pending_video(xai)
        pending = await store.pending()
    finally:
        set_job_store(previous)
    assert error.cancelled_upstream is False  # xAI has no cancel RPC
    assert error.job is not None
    assert error.job.provider_request_id in xai.videos
    assert xai.count("GetDeferredVideo") >= 1
    meta = error.execution_metadata
    assert meta is not None and meta.attempts[0].cancelled_upstream is False
    # The job may still run and bill: it stays pending ("abandoned"), never forgotten.
    assert [(r.job.provider_request_id, r.state) for r in pending] == [
        (error.job.provider_request_id, "abandoned")
    ]


async def test_video_timeout_with_default_job_store(xai: XAIEmulator) -> None:
    error = await _timeout_with_pending_video(xai)
    assert error.cancelled_upstream is False
    assert error.job is not None


async def test_transient_poll_errors_are_tolerated(xai: XAIEmulator) -> None:
    xai.video_script = VideoScript(pending_polls=2)
    xai.inject_status(StatusCode.UNAVAILABLE, method="GetDeferredVideo", times=2)
    response = await generate_video_async(video_config(xai), VideoGenerationRequest(prompt="p"))
    assert response.video
    assert xai.count("GenerateVideo") == 1


async def test_unknown_job_is_not_retried(xai: XAIEmulator) -> None:
    xai.inject_status(StatusCode.NOT_FOUND, "no such request", method="GetDeferredVideo")
    with pytest.raises(HTTPError) as info:
        await generate_video_async(video_config(xai), VideoGenerationRequest(prompt="p"))
    assert info.value.status_code == 404
    assert info.value.retryable is False
    assert info.value.job is not None
    assert xai.count("GenerateVideo") == 1


async def test_submit_then_resume_the_job(xai: XAIEmulator) -> None:
    xai.video_script = VideoScript(pending_polls=2)
    cfg = video_config(xai)
    job = await submit_job_async(cfg, VideoGenerationRequest(prompt="durable"))
    assert isinstance(job, JobRef)
    assert job.provider == "xai" and job.provider_request_id in xai.videos
    restored = JobRef.from_json(job.to_json())
    response = await wait_for_job_async(restored, cfg)
    assert response.video.endswith(f"/{job.provider_request_id}.mp4")


# =========================================================================== fallback / misc


async def test_fallback_from_mock_to_xai_video(xai: XAIEmulator) -> None:
    primary = VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        retry=NO_RETRY,
        mock=MockConfig(enabled=True, responses=[MockResponse(error="rate_limit")]),
        fallback_configs=[video_config(xai)],
    )
    response = await generate_video_async(primary, VideoGenerationRequest(prompt="fallback"))
    assert response.provider == "xai"
    assert video_request(xai).prompt == "fallback"
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        (None, ("api.x.ai", False)),
        ("https://api.x.ai", ("api.x.ai:443", False)),
        ("https://proxy.example:8443/", ("proxy.example:8443", False)),
        ("http://127.0.0.1:50051", ("127.0.0.1:50051", True)),
        ("grpc://localhost:9000", ("localhost:9000", True)),
        ("grpcs://gw.example", ("gw.example:443", False)),
        ("http://[::1]:7000", ("[::1]:7000", True)),
    ],
)
def test_grpc_target(base_url: str | None, expected: tuple[str, bool]) -> None:
    assert grpc_target(base_url) == expected


def test_importing_the_handler_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "import tarash.tarash_gateway.providers.xai as x\n"
        "assert 'xai_sdk' not in sys.modules and 'grpc' not in sys.modules, 'eager import'\n"
        "from tarash.tarash_gateway.registry import get_handler\n"
        "get_handler('xai')  # planning imports the SDK: a missing one fails before running\n"
        "assert 'xai_sdk' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
