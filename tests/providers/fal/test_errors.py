"""Every error class from emulator faults: mapping, retries, fallback, timeouts with cancel."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tarash.tarash_gateway import generate_image_async, generate_video, generate_video_async
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    RateLimitError,
    ValidationError,
)
from tarash.tarash_gateway.exceptions import TimeoutError as GatewayTimeoutError
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    MockConfig,
    MockPollingConfig,
    RetryPolicy,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests.conftest import NO_RETRY
from tests.emulators.fal import FAL_API_KEY, FalEmulator
from tests.emulators.harness import JobScript
from tests.providers.fal.conftest import image_config, submits, video_config

pytestmark = pytest.mark.timeout(30)

SUBMIT = r"^/fal-ai/veo3\.1$"
REQ = VideoGenerationRequest(prompt="p")
MOCK_VIDEO = VideoGenerationConfig(provider="mock", model="mock-video")


def mock_fallback() -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        mock=MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=0.01)),
    )


# --------------------------------------------------------------------------- 4xx


async def test_422_detail_list_is_a_validation_error_naming_fields(fal: FalEmulator) -> None:
    fal.inject_status(
        422,
        {
            "detail": [
                {"loc": ["body", "duration"], "msg": "unexpected value", "type": "literal_error"},
                {"loc": ["body", "image_url"], "msg": "image too small", "type": "image_too_small"},
            ]
        },
        path=SUBMIT,
        headers={"X-Fal-Retryable": "false"},
    )
    with pytest.raises(ValidationError) as info:
        await generate_video_async(video_config(fal, fallback_configs=[mock_fallback()]), REQ)
    error = info.value
    assert error.field == "duration"
    assert [e["field"] for e in error.errors] == ["duration", "image_url"]
    assert "duration: unexpected value" in error.message
    assert "image_too_small" in error.message
    assert error.raw_response["detail"][0]["loc"] == ["body", "duration"]
    assert error.retryable is False
    assert len(submits(fal)) == 1  # no retry, no fallback
    assert error.execution_metadata is not None
    assert error.execution_metadata.total_attempts == 1


async def test_content_policy_violation_is_moderation_and_stops_the_chain(
    fal: FalEmulator,
) -> None:
    fal.validation_error(
        ["body", "prompt"],
        "The content was flagged by a content checker.",
        "content_policy_violation",
        path=SUBMIT,
        extra={"categories": ["violence"]},
    )
    with pytest.raises(ContentModerationError) as info:
        await generate_video_async(video_config(fal, fallback_configs=[mock_fallback()]), REQ)
    assert "content_policy_violation" in info.value.message
    assert info.value.retryable is False
    assert len(submits(fal)) == 1
    assert info.value.execution_metadata is not None
    assert info.value.execution_metadata.fallback_triggered is False


async def test_wrong_key_is_an_authentication_error(fal: FalEmulator) -> None:
    config = video_config(fal, api_key="fal-wrong-key", fallback_configs=[mock_fallback()])
    with pytest.raises(AuthenticationError) as info:
        await generate_video_async(config, REQ)
    assert info.value.status_code == 401
    assert "Authorization: Key" in info.value.message  # fal's 401 detail kept
    assert "fal-wrong-key" not in str(info.value)
    assert len(submits(fal)) == 1


async def test_403_is_an_authentication_error(fal: FalEmulator) -> None:
    fal.inject_status(403, {"detail": "User is locked. Reason: exhausted balance"}, path=SUBMIT)
    with pytest.raises(AuthenticationError) as info:
        await generate_video_async(video_config(fal), REQ)
    assert info.value.status_code == 403
    assert "exhausted balance" in info.value.message
    assert len(submits(fal)) == 1


async def test_404_unknown_app_is_not_retried(fal: FalEmulator) -> None:
    fal.inject_status(404, {"detail": "Application 'nope' not found"}, path=SUBMIT)
    with pytest.raises(HTTPError) as info:
        await generate_video_async(video_config(fal), REQ)
    assert info.value.status_code == 404 and info.value.retryable is False
    assert len(submits(fal)) == 1


# --------------------------------------------------------------------------- retried


async def test_429_with_retry_after_is_retried(fal: FalEmulator) -> None:
    fal.inject_status(429, {"detail": "Too many requests"}, path=SUBMIT, retry_after=0.15)
    start = time.monotonic()
    response = await generate_video_async(video_config(fal), REQ)
    assert time.monotonic() - start >= 0.15
    assert [r.status for r in submits(fal)] == [429, 200]
    assert response.execution_metadata is not None
    first = response.execution_metadata.attempts[0]
    assert first.error_type == "RateLimitError" and first.is_retryable


async def test_429_is_not_retried_by_the_sdk_itself(fal: FalEmulator) -> None:
    fal.inject_status(429, {"detail": "Too many requests"}, path=SUBMIT, retry_after=0)
    with pytest.raises(RateLimitError) as info:
        await generate_video_async(video_config(fal, retry=NO_RETRY), REQ)
    assert info.value.retry_after == 0
    assert len(submits(fal)) == 1  # fal-client would have retried 429 up to 10 times


async def test_5xx_is_retried_then_succeeds(fal: FalEmulator) -> None:
    fal.fal_error(503, "runner_scheduling_failure", path=SUBMIT, times=2)
    response = await generate_video_async(video_config(fal), REQ)
    assert [r.status for r in submits(fal)] == [503, 503, 200]
    assert response.execution_metadata is not None
    assert "runner_scheduling_failure" in (
        response.execution_metadata.attempts[0].error_message or ""
    )


async def test_5xx_always_falls_back_to_another_config(fal: FalEmulator) -> None:
    fal.fal_error(500, "internal_error", path=SUBMIT, times=None)
    response = await generate_video_async(
        video_config(fal, fallback_configs=[mock_fallback()]), REQ
    )
    assert response.provider == "mock" and response.is_mock
    assert len(submits(fal)) == 3  # 1 + FAST_RETRY.max_retries
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered and meta.total_attempts == 4


async def test_5xx_falls_back_to_another_fal_model(fal: FalEmulator) -> None:
    fal.fal_error(502, "runner_disconnected", path=SUBMIT, times=None)
    fallback = video_config(fal, "fal-ai/kling-video/v2.6/pro/text-to-video")
    response = await generate_video_async(
        video_config(fal, fallback_configs=[fallback]),
        VideoGenerationRequest(prompt="p", aspect_ratio="16:9"),
    )
    assert response.model == "fal-ai/kling-video/v2.6/pro/text-to-video"
    assert [r.path for r in submits(fal)][-1] == "/fal-ai/kling-video/v2.6/pro/text-to-video"


async def test_x_fal_retryable_false_is_authoritative(fal: FalEmulator) -> None:
    fal.fal_error(503, "runner_server_error", path=SUBMIT, retryable=False)
    with pytest.raises(HTTPError) as info:
        await generate_video_async(video_config(fal), REQ)
    assert info.value.retryable is False and info.value.status_code == 503
    assert "error_type=runner_server_error" in info.value.message
    assert len(submits(fal)) == 1


async def test_dropped_submit_is_not_resent_but_falls_back(fal: FalEmulator) -> None:
    fal.inject_drop(path=SUBMIT)
    response = await generate_video_async(video_config(fal, fallback_configs=[MOCK_VIDEO]), REQ)
    assert response.video and response.provider == "mock"
    assert response.execution_metadata is not None
    assert response.execution_metadata.attempts[0].error_type == "HTTPConnectionError"
    assert len(submits(fal)) == 1  # sent once: a resend could pay twice


async def test_dropped_connection_every_time(fal: FalEmulator) -> None:
    fal.inject_drop(path=SUBMIT, times=None)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(video_config(fal), REQ)
    assert info.value.outcome_unknown
    assert len(submits(fal)) == 1  # sent once: a resend could pay twice


async def test_truncated_submit_body_is_a_retryable_unknown_outcome(fal: FalEmulator) -> None:
    # A 200 whose body cannot be read: fal most likely accepted the job. Never resent to
    # fal (that could pay twice); the chain moves on to the fallback.
    fal.inject_malformed(path=SUBMIT)
    response = await generate_video_async(video_config(fal, fallback_configs=[MOCK_VIDEO]), REQ)
    assert response.video and response.provider == "mock"
    assert response.execution_metadata is not None
    first = response.execution_metadata.attempts[0]
    assert first.error_type == "HTTPConnectionError"
    assert "outcome unknown" in (first.error_message or "")
    assert "outcome is unknown" in (first.error_message or "")
    assert len(submits(fal)) == 1  # sent once: a resend could pay twice


async def test_malformed_result_every_time_fails_after_retries(fal: FalEmulator) -> None:
    fal.inject_malformed(path=r"^/fal-ai/veo3\.1/requests/[^/]+$", method="GET", times=None)
    with pytest.raises(GenerationFailedError, match="malformed JSON") as info:
        await generate_video_async(video_config(fal), REQ)
    assert len(submits(fal)) == 1  # the result fetch is retried, the paid job never resent
    assert info.value.job is not None  # still fetchable


async def test_transient_status_errors_are_tolerated_while_polling(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=0.2)
    fal.fal_error(500, "internal_error", path=r"/status$", times=2)
    config = video_config(fal, provider_config={"max_streams": 0})
    response = await generate_video_async(config, REQ)
    assert response.video
    assert len(submits(fal)) == 1


# --------------------------------------------------------------------------- job failures


async def test_failed_job_with_runner_error_is_retried(fal: FalEmulator) -> None:
    fal.queue_job_scripts(
        JobScript.failure(
            {"error": "Runner disconnected", "error_type": "runner_disconnected", "status": 503},
            running=0.05,
        )
    )
    response = await generate_video_async(video_config(fal), REQ)
    assert len(submits(fal)) == 2
    assert response.execution_metadata is not None
    first = response.execution_metadata.attempts[0]
    assert first.error_type == "GenerationFailedError"
    assert "runner_disconnected" in (first.error_message or "")
    assert first.request_id is not None


async def test_failed_job_with_moderation_error(fal: FalEmulator) -> None:
    fal.queue_job_scripts(
        JobScript.failure(
            {"error": "Output flagged as NSFW", "error_type": "content_policy_violation"},
            running=0.05,
        )
    )
    with pytest.raises(ContentModerationError) as info:
        await generate_video_async(video_config(fal, fallback_configs=[mock_fallback()]), REQ)
    assert info.value.request_id in fal.jobs
    assert len(submits(fal)) == 1


async def test_all_images_flagged_nsfw(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(
        {
            "images": [{"url": fal.url("/__static__/image.png"), "content_type": "image/png"}],
            "has_nsfw_concepts": [True],
        }
    )
    with pytest.raises(ContentModerationError, match="NSFW"):
        await generate_image_async(image_config(fal), ImageGenerationRequest(prompt="p"))
    assert len(submits(fal)) == 1


async def test_some_images_flagged_are_dropped_with_a_warning(fal: FalEmulator) -> None:
    url = fal.url("/__static__/image.png")
    fal.job_script = JobScript.success(
        {
            "images": [{"url": url + "?a"}, {"url": url + "?b"}],
            "has_nsfw_concepts": [True, False],
            "seed": 5,
        }
    )
    response = await generate_image_async(
        image_config(fal), ImageGenerationRequest(prompt="p", n=2)
    )
    assert response.images == [url + "?b"]
    assert any("flagged" in w for w in response.warnings)


async def test_result_without_media_is_a_retryable_failure(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success({"video": None})
    with pytest.raises(GenerationFailedError, match="no video"):
        await generate_video_async(video_config(fal), REQ)
    assert len(submits(fal)) == 1  # a failed generation moves on; it is not paid again


# --------------------------------------------------------------------------- timeouts


async def test_slow_response_times_out(fal: FalEmulator) -> None:
    fal.inject_delay(3.0, path=SUBMIT, times=None)
    start = time.monotonic()
    with pytest.raises(GatewayTimeoutError) as info:
        await generate_video_async(video_config(fal, timeout=0.5, retry=NO_RETRY), REQ)
    assert time.monotonic() - start < 2.5
    assert info.value.retryable is True


async def test_slow_response_then_fallback(fal: FalEmulator) -> None:
    fal.inject_delay(3.0, path=SUBMIT, times=None)
    response = await generate_video_async(
        video_config(fal, timeout=0.4, fallback_configs=[mock_fallback()]), REQ
    )
    assert response.provider == "mock"


async def test_timeout_cancels_upstream_before_fallback(fal: FalEmulator) -> None:
    fal.queue_job_scripts(JobScript.success(queued=0.1, running=30.0, queue_position=1))
    fallback = video_config(fal, "fal-ai/veo3.1/fast")
    config = video_config(fal, timeout=0.6, fallback_configs=[fallback])
    response = await generate_video_async(config, REQ)

    assert response.model == "fal-ai/veo3.1/fast"
    cancel = fal.last(r"/cancel$", "PUT")
    fallback_submit = fal.last(r"^/fal-ai/veo3.1/fast$", "POST")
    assert cancel.index < fallback_submit.index
    assert cancel.status == 202
    first_job = submits(fal)[0]
    assert cancel.path.startswith("/fal-ai/veo3.1/requests/")
    assert fal.cancelled and fal.jobs[fal.cancelled[0]].state.value == "cancelled"
    assert first_job.index < cancel.index
    meta = response.execution_metadata
    assert meta is not None
    assert meta.attempts[0].error_type == "TarashTimeoutError"
    assert meta.attempts[0].cancelled_upstream is True


async def test_timeout_without_fallback_reports_cancellation(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=30.0)
    with pytest.raises(GatewayTimeoutError) as info:
        await generate_video_async(
            video_config(fal, timeout=0.5, provider_config={"max_streams": 0}), REQ
        )
    assert info.value.cancelled_upstream is True
    assert "cancelled upstream" in info.value.message
    assert fal.count(r"/cancel$", "PUT") == 1


async def test_caller_cancellation_cancels_upstream(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=30.0)
    task = asyncio.create_task(generate_video_async(video_config(fal), REQ))
    await asyncio.to_thread(fal.wait_for, r"/status/stream$", "GET", timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fal.count(r"/cancel$", "PUT") == 1


def test_sync_timeout_with_cancel(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=30.0)
    with pytest.raises(GatewayTimeoutError):
        generate_video(video_config(fal, timeout=0.4), REQ)
    assert fal.count(r"/cancel$", "PUT") == 1


async def test_poll_budget_exhaustion_cancels(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=30.0)
    config = video_config(
        fal, max_poll_attempts=2, poll_interval=0.05, provider_config={"max_streams": 0}
    )
    with pytest.raises(GatewayTimeoutError, match="2 status polls"):
        await generate_video_async(config, REQ)
    assert fal.count(r"/cancel$", "PUT") == 1


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"detail": "bad key"}, AuthenticationError),
        (500, {"detail": "boom", "error_type": "internal_error"}, HTTPError),
    ],
)
async def test_errors_on_uploads_are_typed(
    fal: FalEmulator, status: int, body: dict[str, Any], expected: type[Exception]
) -> None:
    fal.inject_status(status, body, path=r"^/storage/auth/token$", times=None)
    request = VideoGenerationRequest(
        prompt="p", image_list=[{"image": b"\x89PNG\r\n\x1a\n" + b"0" * 32, "type": "reference"}]
    )
    with pytest.raises(expected):
        await generate_video_async(
            video_config(fal, "fal-ai/kling-video/v2/master/image-to-video"), request
        )
    assert submits(fal) == []


def test_api_key_never_appears_in_errors(fal: FalEmulator) -> None:
    fal.inject_status(
        400, {"detail": f"key {FAL_API_KEY} is not allowed for this app"}, path=SUBMIT
    )
    with pytest.raises(ValidationError) as info:
        generate_video(video_config(fal, retry=RetryPolicy(max_retries=0)), REQ)
    assert FAL_API_KEY not in str(info.value)
