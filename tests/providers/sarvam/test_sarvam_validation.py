"""Sarvam requests that are invalid never reach the service: zero requests at the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway import generate_tts_async
from tarash.tarash_gateway.exceptions import AuthenticationError, ValidationError
from tarash.tarash_gateway.models import TTSRequest
from tests.emulators.sarvam import SarvamEmulator

pytestmark = pytest.mark.timeout(30)


def _request(**fields: Any) -> TTSRequest:
    fields.setdefault("text", "नमस्ते।")
    fields.setdefault("language_code", "hi-IN")
    return TTSRequest(**fields)


@pytest.mark.parametrize(
    ("model", "fields", "field", "fragment"),
    [
        ("bulbul:v3", {"language_code": None}, "language_code", "needs a language"),
        ("bulbul:v3", {"language_code": "fr-FR"}, "language_code", "not spoken"),
        ("bulbul:v3", {"language_code": "en-US"}, "language_code", "not spoken"),
        ("bulbul:v3", {"voice_id": "anushka"}, "voice_id", "not available on bulbul:v3"),
        ("bulbul:v2", {"voice_id": "ritu"}, "voice_id", "not available on bulbul:v2"),
        ("bulbul:v4-flash", {"voice_id": "shubh"}, "voice_id", "persona id"),
        ("bulbul:v3", {"voice_settings": {"pitch": 0.2}}, "pitch", "does not support"),
        ("bulbul:v3", {"voice_settings": {"loudness": 1.2}}, "loudness", "does not support"),
        (
            "bulbul:v3",
            {"extra_params": {"enable_preprocessing": True}},
            "enable_preprocessing",
            "does not support",
        ),
        ("bulbul:v2", {"extra_params": {"temperature": 0.5}}, "temperature", "does not support"),
        ("bulbul:v2", {"extra_params": {"dict_id": "d1"}}, "dict_id", "does not support"),
        ("bulbul:v3", {"voice_settings": {"pace": 2.5}}, "pace", "0.5 and 2"),
        ("bulbul:v2", {"voice_settings": {"pace": 0.2}}, "pace", "0.3 and 3"),
        ("bulbul:v2", {"voice_settings": {"pitch": 1.0}}, "pitch", "-0.75 and 0.75"),
        ("bulbul:v2", {"voice_settings": {"loudness": 0.1}}, "loudness", "0.3 and 3"),
        ("bulbul:v3", {"extra_params": {"temperature": 1.5}}, "temperature", "0.01 and 1"),
        ("bulbul:v2", {"output_format": "wav_44100"}, "output_format", "not available on"),
        ("bulbul:v3", {"output_format": "wav_11025"}, "output_format", "not available on"),
        ("bulbul:v3", {"output_format": "opus_24000"}, "output_format", "cannot return 'opus'"),
        ("bulbul:v3", {"output_format": "ogg"}, "output_format", "not offered by Sarvam"),
        (
            "bulbul:v3",
            {"output_format": "wav", "extra_params": {"output_audio_codec": "mp3"}},
            "output_audio_codec",
            "contradicts",
        ),
        (
            "bulbul:v3",
            {"text": "वाक्य। " * 500, "output_format": "flac_24000"},
            "text",
            "cannot be joined",
        ),
        (
            "bulbul:v3",
            {"text": "वाक्य। " * 500, "extra_params": {"split_long_text": False}},
            "text",
            "at most 2500",
        ),
        ("bulbul:v3", {"text": "a. " * 40000}, "text", "at most 40"),
        (
            "bulbul:v3",
            {"extra_params": {"max_parallel_requests": 0}},
            "max_parallel_requests",
            "1 to 8",
        ),
        (
            "bulbul:v3",
            {"language_code": "hi-IN", "extra_params": {"target_language_code": "ta-IN"}},
            "language_code",
            "conflicting",
        ),
        ("bulbul:v3", {"text": "   "}, "text", "something to say"),
        ("elevenlabs-v3", {}, "model", "not a Sarvam TTS model"),
        ("bulbul:v3", {"voice_settings": {"stability": 1}}, "voice_settings.stability", "support"),
    ],
)
async def test_invalid_requests_fail_before_any_call(
    sarvam_emu: SarvamEmulator,
    sarvam_cfg: Any,
    model: str,
    fields: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(sarvam_cfg(model=model), _request(**fields))
    assert info.value.field == field
    assert fragment in info.value.message
    assert info.value.provider == "sarvam"
    assert sarvam_emu.requests == []


async def test_unsupported_fields_can_be_ignored(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    response = await generate_tts_async(
        sarvam_cfg(on_unsupported_param="ignore"),
        _request(voice_settings={"pitch": 0.3, "loudness": 2.0}),
    )
    body = sarvam_emu.last("/text-to-speech").json
    assert "pitch" not in body and "loudness" not in body
    assert response.warnings == []


async def test_44100_is_fine_on_v3(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    response = await generate_tts_async(sarvam_cfg(), _request(output_format="wav_44100"))
    assert sarvam_emu.last("/text-to-speech").json["speech_sample_rate"] == 44100
    assert response.sample_rate == 44100


async def test_missing_key_fails_before_any_call(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    with pytest.raises(AuthenticationError) as info:
        await generate_tts_async(sarvam_cfg(api_key=None), _request())
    assert "SARVAM_API_KEY" in info.value.message
    assert sarvam_emu.requests == []
