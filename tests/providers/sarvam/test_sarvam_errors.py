"""Sarvam failures from emulator faults: typed errors, retries, timeouts and fallback."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tarash.tarash_gateway import generate_tts_async
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import AudioGenerationConfig, TTSRequest
from tests.conftest import NO_RETRY
from tests.emulators.sarvam import SarvamEmulator

pytestmark = pytest.mark.timeout(30)

REQUEST = TTSRequest(text="नमस्ते दुनिया।", language_code="hi-IN", voice_id="ritu")
MOCK = AudioGenerationConfig(provider="mock", model="mock-tts")


async def test_invalid_key_is_a_403_authentication_error(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    with pytest.raises(AuthenticationError) as info:
        await generate_tts_async(sarvam_cfg(api_key="bad-key"), REQUEST)
    error = info.value
    assert error.status_code == 403
    assert "invalid_api_key_error" in error.message
    assert error.raw_response["error"]["code"] == "invalid_api_key_error"
    assert "bad-key" not in str(error)
    assert sarvam_emu.count() == 1  # never retried


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_request_errors_are_validation_errors(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any, status: int
) -> None:
    sarvam_emu.inject_status(status, path="/text-to-speech")
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(sarvam_cfg(), REQUEST)
    assert f"HTTP {status}" in info.value.message
    assert sarvam_emu.count() == 1


async def test_service_side_validation_of_an_unknown_model(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    """An unknown bulbul:* model passes our checks (with a warning); the service refuses it."""
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(sarvam_cfg(model="bulbul:v9"), REQUEST)
    assert "invalid_request_error: Invalid model: bulbul:v9" in info.value.message


async def test_429_with_retry_after_is_retried(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    sarvam_emu.inject_status(429, path="/text-to-speech", retry_after=0.15)
    started = time.monotonic()
    response = await generate_tts_async(sarvam_cfg(), REQUEST)
    assert time.monotonic() - started >= 0.15
    assert sarvam_emu.count() == 2
    meta = response.execution_metadata
    assert meta is not None
    assert meta.attempts[0].error_type == "RateLimitError"


async def test_429_persistent_ends_as_rate_limit_error(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_status(429, path="/text-to-speech", times=None, retry_after=1)
    with pytest.raises(RateLimitError) as info:
        await generate_tts_async(sarvam_cfg(), REQUEST)
    assert info.value.retry_after == 1
    assert "rate_limit_exceeded_error" in info.value.message
    assert sarvam_emu.count() == 3


async def test_exhausted_credits_fall_back_to_the_mock(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    body = {"error": {"message": "Insufficient credits", "code": "insufficient_quota_error"}}
    sarvam_emu.inject_status(429, body, path="/text-to-speech", times=None, retry_after=30)
    response = await generate_tts_async(sarvam_cfg(fallback_configs=[MOCK]), REQUEST)
    assert response.provider == "mock"
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert "credits exhausted" in (meta.attempts[0].error_message or "")
    assert sarvam_emu.count() == 1  # no pointless same-config retries: straight to the fallback
    with pytest.raises(RateLimitError) as info:
        await generate_tts_async(sarvam_cfg(retry=NO_RETRY), REQUEST)
    assert info.value.retry_after is None  # waiting does not bring credits back
    assert info.value.retryable  # ...but another provider of the chain may answer
    assert info.value.retry_same_config is False


async def test_503_rate_limited_is_a_rate_limit_error(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_status(503, path="/text-to-speech", times=None)
    with pytest.raises(RateLimitError) as info:
        await generate_tts_async(sarvam_cfg(retry=NO_RETRY), REQUEST)
    assert info.value.status_code == 503


async def test_5xx_is_retried_then_falls_back_to_mock(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_status(500, path="/text-to-speech", times=None)
    response = await generate_tts_async(sarvam_cfg(fallback_configs=[MOCK]), REQUEST)
    assert response.provider == "mock" and response.is_mock
    assert sarvam_emu.count() == 3
    meta = response.execution_metadata
    assert meta is not None
    assert [a.error_type for a in meta.attempts[:3]] == ["HTTPError"] * 3


async def test_5xx_without_fallback_is_a_retryable_http_error(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_status(500, path="/text-to-speech", times=None)
    with pytest.raises(HTTPError) as info:
        await generate_tts_async(sarvam_cfg(retry=NO_RETRY), REQUEST)
    assert info.value.status_code == 500 and info.value.retryable
    assert "internal_server_error" in info.value.message


async def test_payment_required_lets_a_fallback_answer(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_status(402, path="/text-to-speech", times=None)
    response = await generate_tts_async(
        sarvam_cfg(retry=NO_RETRY, fallback_configs=[MOCK]), REQUEST
    )
    assert response.provider == "mock"


async def test_dropped_connection_is_retried(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    sarvam_emu.inject_drop(path="/text-to-speech")
    with pytest.raises(HTTPConnectionError) as info:
        await generate_tts_async(sarvam_cfg(), REQUEST)
    assert info.value.outcome_unknown
    assert sarvam_emu.count() == 1  # sent once: a resend could pay twice
    sarvam_emu.inject_drop(path="/text-to-speech", reset=True)
    with pytest.raises(HTTPConnectionError):
        await generate_tts_async(sarvam_cfg(retry=NO_RETRY), REQUEST)


async def test_malformed_json_is_a_retryable_generation_failure(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_malformed(path="/text-to-speech")
    with pytest.raises(GenerationFailedError) as info:
        await generate_tts_async(sarvam_cfg(retry=NO_RETRY), REQUEST)
    assert info.value.retryable and info.value.outcome_unknown
    before = sarvam_emu.count()
    sarvam_emu.inject_malformed(path="/text-to-speech")
    with pytest.raises(GenerationFailedError):
        await generate_tts_async(sarvam_cfg(), REQUEST)  # an unreadable 200: never resent
    assert sarvam_emu.count() == before + 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"request_id": "r1", "audios": []}, "without audio"),
        ({"request_id": "r1", "audios": ["%%%"]}, "not valid base64"),
        ({"request_id": "r1"}, "unexpected response shape"),
    ],
)
async def test_successful_answers_without_usable_audio(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any, body: dict[str, Any], fragment: str
) -> None:
    sarvam_emu.inject_status(200, body, path="/text-to-speech")
    with pytest.raises(GenerationFailedError) as info:
        await generate_tts_async(sarvam_cfg(retry=NO_RETRY), REQUEST)
    assert fragment in info.value.message
    assert info.value.retryable


async def test_slow_answer_times_out_then_falls_back(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_delay(4.0, path="/text-to-speech")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await generate_tts_async(sarvam_cfg(timeout=1), REQUEST)
    assert time.monotonic() - started < 3.0
    sarvam_emu.inject_delay(4.0, path="/text-to-speech")
    response = await generate_tts_async(sarvam_cfg(timeout=1, fallback_configs=[MOCK]), REQUEST)
    assert response.provider == "mock"
    assert response.execution_metadata is not None
    assert response.execution_metadata.attempts[0].error_type == "TarashTimeoutError"
