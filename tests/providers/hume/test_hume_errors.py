"""Hume failures from emulator faults: typed errors, retries, timeouts and fallback."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tarash.tarash_gateway import generate_tts_async
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
from tarash.tarash_gateway.models import AudioGenerationConfig, TTSRequest
from tests.conftest import FAST_RETRY, NO_RETRY
from tests.emulators.harness import emulator_fixture
from tests.emulators.hume import HumeEmulator
from tests.emulators.sarvam import SARVAM_API_KEY, SarvamEmulator

pytestmark = pytest.mark.timeout(30)

sarvam_emu = emulator_fixture(SarvamEmulator, scope="module")

REQUEST = TTSRequest(
    text="नमस्ते। Hello.",
    voice_id="Kora",
    provider_options={"sarvam": {"target_language_code": "hi-IN", "speaker": "ritu"}},
)


def _sarvam(emu: SarvamEmulator) -> AudioGenerationConfig:
    return AudioGenerationConfig(
        provider="sarvam",
        model="bulbul:v3",
        api_key=SARVAM_API_KEY,
        base_url=emu.base_url,
        retry=FAST_RETRY,
        timeout=10,
    )


async def test_wrong_key_is_an_authentication_error_and_not_retried(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    with pytest.raises(AuthenticationError) as info:
        await generate_tts_async(hume_cfg(api_key="wrong-key"), REQUEST)
    error = info.value
    assert error.status_code == 401
    assert "Invalid ApiKey" in error.message and "oauth.v2.InvalidApiKey" in error.message
    assert error.raw_response["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidApiKey"
    assert "wrong-key" not in str(error)
    assert hume_emu.count("/v0/tts") == 1
    assert error.execution_metadata is not None
    assert error.execution_metadata.attempts[0].error_type == "AuthenticationError"


async def test_403_is_an_authentication_error(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_status(403, path="/v0/tts")
    with pytest.raises(AuthenticationError) as info:
        await generate_tts_async(hume_cfg(), REQUEST)
    assert info.value.status_code == 403
    assert hume_emu.count() == 1


async def test_422_from_the_service_is_a_validation_error_with_locations(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_status(
        422,
        {"detail": [{"loc": ["body", "utterances", 0, "text"], "msg": "too odd", "type": "x"}]},
        path="/v0/tts",
    )
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(hume_cfg(), REQUEST)
    assert info.value.field == "utterances.0.text"
    assert "too odd" in info.value.message
    assert info.value.errors == [{"field": "utterances.0.text", "message": "too odd"}]
    assert hume_emu.count() == 1  # not retried


async def test_unknown_voice_is_a_validation_error_from_the_service(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(hume_cfg(), TTSRequest(text="Hi.", voice_id="Nobody Known"))
    assert "Voice not found" in info.value.message
    assert info.value.raw_response == {
        "error": "Bad Request",
        "message": "Voice not found: Nobody Known",
    }
    assert hume_emu.count() == 1


async def test_moderation_refusal(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_status(
        400, {"error": "Bad Request", "message": "Input violates our usage policy"}, path="/v0/tts"
    )
    with pytest.raises(ContentModerationError):
        await generate_tts_async(hume_cfg(), REQUEST)
    assert hume_emu.count() == 1


async def test_429_with_retry_after_is_retried(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_status(429, path="/v0/tts", retry_after=0.15)
    started = time.monotonic()
    response = await generate_tts_async(hume_cfg(), REQUEST)
    assert time.monotonic() - started >= 0.15  # Retry-After honoured (capped at 0.2 s)
    assert hume_emu.count("/v0/tts") == 2
    meta = response.execution_metadata
    assert meta is not None
    assert [a.status for a in meta.attempts] == ["failed", "success"]
    assert meta.attempts[0].error_type == "RateLimitError"
    assert meta.attempts[0].is_retryable is True


async def test_429_everywhere_ends_as_rate_limit_error(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_status(429, path="/v0/tts", times=None, retry_after=0)
    with pytest.raises(RateLimitError) as info:
        await generate_tts_async(hume_cfg(), REQUEST)
    assert "policies.ratelimit.QuotaViolation" in info.value.message
    assert info.value.retry_after == 0
    assert hume_emu.count() == 3  # FAST_RETRY: 1 + 2 retries


async def test_5xx_is_retried_then_succeeds(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_status(503, path="/v0/tts", times=2)
    response = await generate_tts_async(hume_cfg(), REQUEST)
    assert response.audio_bytes
    assert hume_emu.count() == 3


async def test_5xx_is_retried_then_falls_back_to_sarvam(
    hume_emu: HumeEmulator, sarvam_emu: SarvamEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_status(500, path="/v0/tts", times=None)
    config = hume_cfg(fallback_configs=[_sarvam(sarvam_emu)])
    response = await generate_tts_async(config, REQUEST)
    assert response.provider == "sarvam"
    assert hume_emu.count() == 3
    assert sarvam_emu.last("/text-to-speech").json["language_code"] == "hi-IN"
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert [a.provider for a in meta.attempts] == ["hume", "hume", "hume", "sarvam"]
    assert meta.attempts[0].error_type == "HTTPError"


async def test_final_5xx_error_is_a_retryable_http_error(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_status(502, path="/v0/tts", times=None)
    with pytest.raises(HTTPError) as info:
        await generate_tts_async(hume_cfg(retry=NO_RETRY), REQUEST)
    assert info.value.status_code == 502 and info.value.retryable


async def test_dropped_connection_is_retried(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_drop(path="/v0/tts")
    with pytest.raises(HTTPConnectionError) as info:
        await generate_tts_async(hume_cfg(), REQUEST)
    assert info.value.outcome_unknown
    meta = info.value.execution_metadata
    assert meta is not None
    assert meta.attempts[0].error_type == "HTTPConnectionError"
    assert hume_emu.count() == 1  # sent once: a resend could pay twice


async def test_dropped_connection_without_retries(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_drop(path="/v0/tts")
    with pytest.raises(HTTPConnectionError) as info:
        await generate_tts_async(hume_cfg(retry=NO_RETRY), REQUEST)
    assert info.value.retryable


async def test_malformed_json_is_a_retryable_generation_failure(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_malformed(path="/v0/tts")
    with pytest.raises(GenerationFailedError) as info:
        await generate_tts_async(hume_cfg(retry=NO_RETRY), REQUEST)
    assert info.value.retryable
    assert "not valid JSON" in info.value.message


async def test_unexpected_shape_and_bad_base64_are_retryable(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_status(200, {"generations": [{"audio": 5}]}, path="/v0/tts")
    with pytest.raises(GenerationFailedError) as info:
        await generate_tts_async(hume_cfg(retry=NO_RETRY), REQUEST)
    assert "unexpected response shape" in info.value.message
    bad = {
        "request_id": "r1",
        "generations": [
            {
                "audio": "@@not base64@@",
                "duration": 1.0,
                "encoding": {"format": "mp3", "sample_rate": 48000},
                "file_size": 3,
                "generation_id": "g1",
                "snippets": [],
            }
        ],
    }
    hume_emu.inject_status(200, bad, path="/v0/tts")
    with pytest.raises(GenerationFailedError) as info:
        await generate_tts_async(hume_cfg(retry=NO_RETRY), REQUEST)
    assert "base64" in info.value.message
    assert info.value.request_id == "r1"


async def test_slow_answer_times_out(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_delay(4.0, path="/v0/tts")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await generate_tts_async(hume_cfg(timeout=1), REQUEST)
    assert time.monotonic() - started < 3.0
    assert hume_emu.count() == 1  # a timeout goes to the fallback, not a retry


async def test_slow_answer_falls_back_to_the_mock(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    hume_emu.inject_delay(4.0, path="/v0/tts")
    mock = AudioGenerationConfig(provider="mock", model="mock-tts")
    response = await generate_tts_async(hume_cfg(timeout=1, fallback_configs=[mock]), REQUEST)
    assert response.provider == "mock" and response.is_mock
    assert response.execution_metadata is not None
    assert response.execution_metadata.attempts[0].error_type == "TarashTimeoutError"


async def test_sarvam_failure_falls_back_to_hume(
    hume_emu: HumeEmulator, sarvam_emu: SarvamEmulator, hume_cfg: Any
) -> None:
    sarvam_emu.inject_status(500, path="/text-to-speech", times=None)
    config = _sarvam(sarvam_emu).model_copy(update={"fallback_configs": [hume_cfg()]})
    response = await generate_tts_async(config, REQUEST)
    assert response.provider == "hume"
    assert response.content_type == "audio/mpeg"
    assert sarvam_emu.count() == 3
    assert hume_emu.last("/v0/tts").json["utterances"][0]["text"] == REQUEST.text
