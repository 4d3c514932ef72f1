"""Google errors → typed errors, retries and fallback, driven by emulator faults."""

from __future__ import annotations

import pytest

from tarash.tarash_gateway import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    RateLimitError,
    TimeoutError,
    ValidationError,
    generate_image,
    generate_video,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    MockConfig,
    MockResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests.conftest import FAST_RETRY, NO_RETRY
from tests.emulators.google import GoogleEmulator
from tests.providers.google.conftest import VERTEX, image_config, video_config

pytestmark = pytest.mark.filterwarnings("ignore:The generate_images method is deprecated")

GENERATE = r":generateContent$"
PROMPT = ImageGenerationRequest(prompt="a teapot")


def _image_error(emu: GoogleEmulator, **config_kw: object) -> Exception:
    with pytest.raises(Exception) as info:
        generate_image(image_config(emu, **config_kw), PROMPT)  # type: ignore[arg-type]
    return info.value


def test_invalid_argument_is_a_validation_error(emu: GoogleEmulator) -> None:
    emu.inject_status(
        400,
        {
            "error": {
                "code": 400,
                "message": "Unsupported image size.",
                "status": "INVALID_ARGUMENT",
            }
        },
        path=GENERATE,
    )
    error = _image_error(emu)
    assert isinstance(error, ValidationError)
    assert "INVALID_ARGUMENT: Unsupported image size." in error.message
    assert error.raw_response == {
        "error": {"code": 400, "message": "Unsupported image size.", "status": "INVALID_ARGUMENT"}
    }
    assert emu.count(GENERATE) == 1  # not retried


def test_failed_precondition_is_a_validation_error(emu: GoogleEmulator) -> None:
    emu.inject_status(
        400,
        {
            "error": {
                "code": 400,
                "message": "User location is not supported for the API use.",
                "status": "FAILED_PRECONDITION",
            }
        },
        path=r":predictLongRunning$",
    )
    with pytest.raises(ValidationError) as info:
        generate_video(video_config(emu), VideoGenerationRequest(prompt="x"))
    assert "FAILED_PRECONDITION" in info.value.message
    assert emu.count(r":predictLongRunning$") == 1


def test_safety_refusal_is_a_moderation_error(emu: GoogleEmulator) -> None:
    emu.inject_status(
        400,
        {
            "error": {
                "code": 400,
                "message": "Image generation failed with the following error: The prompt could "
                "not be submitted. This prompt contains sensitive words that violate Google's "
                "Responsible AI practices.",
                "status": "INVALID_ARGUMENT",
            }
        },
        path=r":predict$",
    )
    with pytest.raises(ContentModerationError):
        generate_image(
            image_config(emu, model="imagen-4.0-generate-001", provider_config=VERTEX), PROMPT
        )
    assert emu.count(r":predict$") == 1


def test_a_wrong_key_on_the_gemini_api_is_an_authentication_error(emu: GoogleEmulator) -> None:
    error = _image_error(emu, api_key="not-the-key")
    assert isinstance(error, AuthenticationError)
    assert error.status_code == 400  # Google answers 400 API_KEY_INVALID
    assert "API key not valid" in error.message
    assert "the API key was sent to the Gemini API" in error.message
    assert "not-the-key" not in str(error)
    assert emu.count(GENERATE) == 1


def test_a_wrong_key_on_vertex_is_an_authentication_error(emu: GoogleEmulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        generate_video(
            video_config(emu, api_key="not-the-key", provider_config=VERTEX),
            VideoGenerationRequest(prompt="x"),
        )
    assert info.value.status_code == 401
    assert "UNAUTHENTICATED" in info.value.message
    assert "Vertex AI express mode; a Gemini API (AI Studio) key" in info.value.message
    assert emu.count(r":predictLongRunning$") == 1


def test_permission_denied_is_an_authentication_error(emu: GoogleEmulator) -> None:
    emu.inject_status(403, path=GENERATE)
    error = _image_error(emu)
    assert isinstance(error, AuthenticationError)
    assert error.status_code == 403 and "PERMISSION_DENIED" in error.message
    assert emu.count(GENERATE) == 1


def test_not_found_is_not_retried(emu: GoogleEmulator) -> None:
    emu.unknown_models.add("gemini-2.5-flash-image")
    error = _image_error(emu)
    assert isinstance(error, HTTPError) and not isinstance(error, AuthenticationError)
    assert error.status_code == 404 and not error.retryable
    assert "is not found for API version v1" in error.message
    assert emu.count(GENERATE) == 1


def test_resource_exhausted_is_retried_after_retry_after(emu: GoogleEmulator) -> None:
    emu.inject_status(429, path=GENERATE, retry_after=0.1)
    response = generate_image(image_config(emu), PROMPT)
    assert response.images
    assert emu.count(GENERATE) == 2
    meta = response.execution_metadata
    assert meta is not None and meta.attempts[0].error_type == "RateLimitError"


def test_persistent_rate_limit_carries_the_hint(emu: GoogleEmulator) -> None:
    emu.inject_status(429, path=GENERATE, retry_after=7, times=None)
    error = _image_error(emu)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "RESOURCE_EXHAUSTED" in error.message
    assert emu.count(GENERATE) == 3  # FAST_RETRY: 1 + 2 retries


@pytest.mark.parametrize("status", [500, 503, 504])
def test_server_errors_are_retried(emu: GoogleEmulator, status: int) -> None:
    emu.inject_status(status, path=r":predictLongRunning$", times=2)
    response = generate_video(video_config(emu), VideoGenerationRequest(prompt="x"))
    assert response.video
    assert emu.count(r":predictLongRunning$") == 3


def test_server_errors_fall_back_to_another_config(emu: GoogleEmulator) -> None:
    emu.inject_status(503, path=GENERATE, times=None)
    config = image_config(
        emu,
        fallback_configs=[ImageGenerationConfig(provider="mock", model="mock-image")],
    )
    response = generate_image(config, PROMPT)
    assert response.is_mock and response.provider == "mock"
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert [a.provider for a in meta.attempts] == ["google"] * 3 + ["mock"]
    assert all(a.error_type == "HTTPError" and a.is_retryable for a in meta.attempts[:3])
    assert emu.count(GENERATE) == 3


def test_a_failing_config_falls_back_to_google(emu: GoogleEmulator) -> None:
    failing_mock = VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        retry=FAST_RETRY,
        mock=MockConfig(enabled=True, responses=[MockResponse(error="server_error")]),
        fallback_configs=[video_config(emu, model="veo-3.0-fast-generate-001")],
    )
    response = generate_video(failing_mock, VideoGenerationRequest(prompt="x", duration_seconds=4))
    assert response.provider == "google" and not response.is_mock
    assert emu.count(r":predictLongRunning$") == 1
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert meta.attempts[-1].provider == "google" and meta.attempts[-1].status == "success"


def test_a_dropped_connection_is_retried_by_the_gateway_only(emu: GoogleEmulator) -> None:
    emu.inject_drop(path=GENERATE, times=None)
    error = _image_error(emu, retry=NO_RETRY)
    assert isinstance(error, HTTPConnectionError) and error.retryable
    # google-genai's own reconnect-and-retry (aiohttp) is off: exactly one request.
    assert emu.count(GENERATE) == 1


def test_a_dropped_connection_is_not_resent(emu: GoogleEmulator) -> None:
    emu.inject_drop(path=GENERATE, times=1)
    with pytest.raises(HTTPConnectionError) as info:
        generate_image(image_config(emu), PROMPT)
    assert info.value.outcome_unknown
    assert emu.count(GENERATE) == 1  # sent once: a resend could pay twice


def test_malformed_json_is_an_unknown_outcome(emu: GoogleEmulator) -> None:
    emu.inject_malformed(path=GENERATE, times=None)
    error = _image_error(emu)
    assert isinstance(error, GenerationFailedError)
    assert error.retryable and error.outcome_unknown and "not valid JSON" in error.message
    assert emu.count(GENERATE) == 1  # an unreadable 200 may be a paid image: never resent


def test_malformed_json_from_the_transport_path(emu: GoogleEmulator) -> None:
    emu.inject_malformed(path=r":predictLongRunning$", times=None)
    with pytest.raises(GenerationFailedError) as info:
        generate_video(video_config(emu, retry=NO_RETRY), VideoGenerationRequest(prompt="x"))
    assert "not valid JSON" in info.value.message


def test_a_slow_answer_times_out(emu: GoogleEmulator) -> None:
    emu.inject_delay(3.0, path=GENERATE)
    error = _image_error(emu, timeout=1.0, retry=NO_RETRY)
    assert isinstance(error, TimeoutError)
    assert error.retryable


def test_no_key_fails_before_any_request(emu: GoogleEmulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        generate_image(image_config(emu, api_key=None), PROMPT)
    assert "GOOGLE_API_KEY" in info.value.message
    assert emu.requests == []


def test_the_key_can_come_from_the_environment(
    emu: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "google-test-key")
    response = generate_image(image_config(emu, api_key=None), PROMPT)
    assert response.images
    assert emu.last(GENERATE).header("x-goog-api-key") == "google-test-key"
