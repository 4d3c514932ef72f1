"""Every error class of the OpenAI provider, from emulator faults, through the public API."""

from __future__ import annotations

import logging

import pytest

from tarash.tarash_gateway import generate_image, generate_image_async, generate_video_async
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationRequest,
)
from tests.conftest import NO_RETRY
from tests.emulators.openai import OPENAI_API_KEY, OpenAIEmulator, openai_error
from tests.providers.openai.helpers import image_config, video_config

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning"),
]

IMAGES = r"^/v1/images/generations$"
REQUEST = ImageGenerationRequest(prompt="a cat")
MOCK_IMAGE = ImageGenerationConfig(provider="mock", model="mock-image")


@pytest.mark.parametrize("code", ["moderation_blocked", "content_policy_violation"])
def test_moderation_400_is_content_moderation_and_never_retried(
    openai_emu: OpenAIEmulator, code: str
) -> None:
    openai_emu.inject_status(
        400,
        openai_error("Your request was rejected by the safety system.", code=code),
        path=IMAGES,
    )
    config = image_config(openai_emu, "gpt-image-1", fallback_configs=[MOCK_IMAGE])
    with pytest.raises(ContentModerationError, match=code) as info:
        generate_image(config, REQUEST)
    assert not info.value.retryable
    assert info.value.raw_response["error"]["code"] == code
    assert len(openai_emu.requests) == 1
    assert info.value.execution_metadata is not None
    assert not info.value.execution_metadata.fallback_triggered


def test_moderation_from_the_emulator_logic(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(ContentModerationError):
        generate_image(
            image_config(openai_emu, "gpt-image-1"),
            ImageGenerationRequest(prompt="moderation-test"),
        )


@pytest.mark.parametrize("status", [400, 422])
def test_invalid_request_is_validation_error_with_param_as_field(
    openai_emu: OpenAIEmulator, status: int
) -> None:
    openai_emu.inject_status(
        status,
        openai_error("Invalid size '999x999'.", code="invalid_value", param="size"),
        path=IMAGES,
        headers={"x-request-id": "req_fault_1"},
    )
    with pytest.raises(ValidationError, match="invalid_value") as info:
        generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert info.value.field == "size"
    assert info.value.errors == [{"field": "size", "message": "Invalid size '999x999'."}]
    assert not info.value.retryable
    assert info.value.request_id == "req_fault_1"
    assert len(openai_emu.requests) == 1


def test_wrong_key_is_authentication_error(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(AuthenticationError, match="invalid_api_key") as info:
        generate_image(
            image_config(openai_emu, "gpt-image-1", api_key="sk-wrong-key-123456"), REQUEST
        )
    assert info.value.status_code == 401
    assert not info.value.retryable
    assert len(openai_emu.requests) == 1
    assert "sk-wrong-key-123456" not in str(info.value)


def test_forbidden_is_authentication_error(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(403, path=IMAGES)
    with pytest.raises(AuthenticationError) as info:
        generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert info.value.status_code == 403
    assert len(openai_emu.requests) == 1


def test_echoed_key_is_redacted(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(
        400,
        openai_error(f"bad request for key {OPENAI_API_KEY}", code="invalid_value"),
        path=IMAGES,
    )
    with pytest.raises(ValidationError) as info:
        generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert OPENAI_API_KEY not in str(info.value)
    assert OPENAI_API_KEY not in repr(info.value)


async def test_rate_limit_honours_retry_after_ms_then_succeeds(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(
        429,
        openai_error("Rate limit reached.", code="rate_limit_exceeded", kind="requests"),
        path=IMAGES,
        headers={"retry-after-ms": "150"},
    )
    response = await generate_image_async(image_config(openai_emu, "gpt-image-1"), REQUEST)
    first, second = openai_emu.find(IMAGES)
    assert second.received_at - first.received_at >= 0.14
    assert response.execution_metadata is not None
    assert response.execution_metadata.total_attempts == 2
    assert response.execution_metadata.attempts[0].error_type == "RateLimitError"


def test_rate_limit_exhausted_carries_retry_after(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(429, path=IMAGES, times=None, retry_after=2)
    with pytest.raises(RateLimitError) as info:
        generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert info.value.retryable
    assert info.value.retry_after == 2.0
    assert len(openai_emu.requests) == 3  # FAST_RETRY: 1 + 2 retries


def test_insufficient_quota_is_not_retried_nor_falls_back(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(
        429,
        openai_error(
            "You exceeded your current quota.", code="insufficient_quota", kind="insufficient_quota"
        ),
        path=IMAGES,
        times=None,
    )
    config = image_config(openai_emu, "gpt-image-1", fallback_configs=[MOCK_IMAGE])
    with pytest.raises(RateLimitError, match="quota") as info:
        generate_image(config, REQUEST)
    assert not info.value.retryable
    assert len(openai_emu.requests) == 1


def test_server_errors_are_retried_then_fall_back(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(500, path=IMAGES, times=None)
    response = generate_image(
        image_config(openai_emu, "gpt-image-1", fallback_configs=[MOCK_IMAGE]), REQUEST
    )
    assert response.is_mock
    assert len(openai_emu.requests) == 3
    metadata = response.execution_metadata
    assert metadata is not None
    assert metadata.fallback_triggered
    assert [a.error_type for a in metadata.attempts[:3]] == ["HTTPError"] * 3


def test_single_server_error_is_retried(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(503, path=IMAGES, times=1)
    response = generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert response.provider == "openai"
    assert len(openai_emu.requests) == 2


def test_server_error_marked_do_not_retry(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(500, path=IMAGES, times=None, headers={"x-should-retry": "false"})
    with pytest.raises(HTTPError) as info:
        generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert not info.value.retryable
    assert len(openai_emu.requests) == 1


def test_dropped_connection_is_retried(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_drop(path=IMAGES, times=1)
    with pytest.raises(HTTPConnectionError) as info:
        generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert info.value.outcome_unknown
    assert len(openai_emu.requests) == 1  # sent once: a resend could pay twice


def test_dropped_connection_every_time(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_drop(path=IMAGES, times=None)
    with pytest.raises(HTTPConnectionError) as info:
        generate_image(image_config(openai_emu, "gpt-image-1", retry=NO_RETRY), REQUEST)
    assert info.value.retryable


def test_malformed_json_is_a_retryable_http_error(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_malformed(path=IMAGES, times=None)
    with pytest.raises(HTTPError, match="malformed JSON") as info:
        generate_image(image_config(openai_emu, "gpt-image-1", retry=NO_RETRY), REQUEST)
    assert info.value.retryable


def test_non_object_json_is_a_retryable_http_error(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(200, body=["not", "an", "object"], path=IMAGES, times=1)
    response = generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert response.execution_metadata is not None
    assert response.execution_metadata.attempts[0].error_type == "HTTPError"


def test_empty_image_list_is_retryable_generation_failure(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(200, body={"created": 1, "data": []}, path=IMAGES, times=None)
    with pytest.raises(GenerationFailedError, match="without any image") as info:
        generate_image(image_config(openai_emu, "gpt-image-1", retry=NO_RETRY), REQUEST)
    assert info.value.retryable


def test_slow_response_times_out(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_delay(3.0, path=IMAGES, times=None)
    with pytest.raises(TimeoutError) as info:
        generate_image(
            image_config(openai_emu, "gpt-image-1", timeout=0.5, retry=NO_RETRY), REQUEST
        )
    assert info.value.retryable


def test_slow_response_falls_back(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_delay(3.0, path=IMAGES, times=None)
    response = generate_image(
        image_config(openai_emu, "gpt-image-1", timeout=0.5, fallback_configs=[MOCK_IMAGE]), REQUEST
    )
    assert response.is_mock


async def test_video_create_rate_limit_then_success(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(429, path=r"^/v1/videos$", method="POST", retry_after="0.05")
    response = await generate_video_async(
        video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="x")
    )
    assert response.video
    assert openai_emu.count(r"^/v1/videos$", "POST") == 2


async def test_video_download_failure_is_typed(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(404, path=r"/content$", times=None)
    with pytest.raises(HTTPError) as info:
        await generate_video_async(
            video_config(openai_emu, "sora-2", retry=NO_RETRY), VideoGenerationRequest(prompt="x")
        )
    assert info.value.status_code == 404
    assert info.value.job is not None


def test_api_key_never_logged(openai_emu: OpenAIEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    openai_emu.inject_status(500, path=IMAGES, times=1)
    generate_image(image_config(openai_emu, "gpt-image-1"), REQUEST)
    assert OPENAI_API_KEY not in caplog.text


def test_sdk_transport_exceptions_map_to_transport_errors() -> None:
    import time as _time

    import httpx2
    import openai

    from tarash.tarash_gateway.providers.base import AttemptContext
    from tarash.tarash_gateway.providers.openai import OpenAIProviderHandler

    handler = OpenAIProviderHandler()
    config = ImageGenerationConfig(provider="openai", model="gpt-image-1", api_key="sk-x-123456")
    ctx = AttemptContext(
        request_id="tg_1",
        operation="image",
        config=config,
        provider="openai",
        deadline=_time.monotonic() + 10,
    )
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/images/generations")
    timeout = handler.map_error(openai.APITimeoutError(request=request), ctx)
    assert isinstance(timeout, TimeoutError)
    assert timeout.retryable
    refused = handler.map_error(openai.APIConnectionError(request=request), ctx)
    assert isinstance(refused, HTTPConnectionError)
    assert refused.retryable
    assert handler.map_error(KeyError("not an SDK error"), ctx) is None
