"""Hume requests that are invalid never reach the service: zero requests at the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway import generate_tts, generate_tts_async
from tarash.tarash_gateway.exceptions import AuthenticationError, ValidationError
from tarash.tarash_gateway.models import AudioGenerationConfig, TTSRequest
from tests.emulators.hume import HumeEmulator

pytestmark = pytest.mark.timeout(30)


def _request(**fields: Any) -> TTSRequest:
    fields.setdefault("text", "Hello.")
    return TTSRequest(**fields)


@pytest.mark.parametrize(
    ("model", "request_fields", "field", "fragment"),
    [
        ("octave-2", {"text": "x" * 5001, "voice_id": "Kora"}, "text", "at most 5000"),
        ("octave-2", {"voice_id": "Kora", "voice_settings": {"speed": 2.5}}, "speed", "0.5 and 2"),
        ("octave-2", {"voice_id": "Kora", "voice_settings": {"speed": 0.3}}, "speed", "0.5 and 2"),
        ("octave-2", {"voice_id": "Kora", "voice_settings": {"speed": "fast"}}, "speed", "number"),
        (
            "octave-2",
            {"voice_id": "Kora", "voice_settings": {"trailing_silence": 6}},
            "trailing_silence",
            "0 and 5",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"trailing_silence": -1}},
            "trailing_silence",
            "0 and 5",
        ),
        ("octave", {"extra_params": {"description": "d" * 1001}}, "description", "at most 1000"),
        ("octave-2", {}, "voice_id", "Octave 2 needs a voice"),
        (
            "octave-2",
            {"extra_params": {"description": "a calm voice"}},
            "voice_id",
            "needs a voice",
        ),
        ("octave-9", {"voice_id": "Kora"}, "model", "not a Hume Octave model"),
        ("eleven_v3", {"voice_id": "Kora"}, "model", "not a Hume Octave model"),
        ("octave-2", {"voice_id": "Kora", "output_format": "opus"}, "output_format", "mp3, wav"),
        ("octave-2", {"voice_id": "Kora", "output_format": "flac"}, "output_format", "mp3, wav"),
        (
            "octave-2",
            {"voice_id": "Kora", "output_format": "mp3_44100_128"},
            "output_format.sample_rate",
            "does not support",
        ),
        ("octave-2", {"voice_id": "Kora", "language_code": "en-US"}, "language_code", "support"),
        (
            "octave-1",
            {"voice_id": "Kora", "extra_params": {"include_timestamp_types": ["word"]}},
            "include_timestamp_types",
            "Octave 2 only",
        ),
        (
            "octave",
            {"extra_params": {"instant_mode": True}},
            "instant_mode",
            "needs a voice",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"num_generations": 6}},
            "num_generations",
            "1 to 5",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "voice_settings": {"voice_provider": "ELEVEN"}},
            "voice_provider",
            "HUME_AI",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "voice_settings": {"voice_id_mode": "slug"}},
            "voice_id_mode",
            "'id' or 'name'",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"voice": {"name": "Ava Song"}}},
            "voice_id",
            "more than once",
        ),
        (
            "octave-2",
            {
                "voice_id": "Kora",
                "extra_params": {"utterances": [{"text": "a", "voice": {"name": "Ava Song"}}]},
            },
            "voice_id",
            "one place",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"utterances": []}},
            "utterances",
            "list",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"utterances": [{"text": " "}]}},
            "text",
            "non-empty",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"voice": {"id": "a", "name": "b"}}},
            "voice",
            "exactly one",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"context": {"foo": 1}}},
            "context",
            "expected",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"context": "g", "context_generation_id": "h"}},
            "context",
            "not both",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"version": "1"}},
            "version",
            "contradicts",
        ),
        ("octave-2", {"voice_id": "Kora", "extra_params": {"format": "wav"}}, "format", "output_"),
        (
            "octave-2",
            {"voice_id": "Kora", "voice_settings": {"speed": 1.0}, "extra_params": {"speed": 1.5}},
            "speed",
            "twice",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "voice_settings": {"stability": 0.5}},
            "voice_settings.stability",
            "does not support",
        ),
        (
            "octave-2",
            {"voice_id": "Kora", "extra_params": {"temperature": 0}},
            "temperature",
            "positive",
        ),
    ],
)
async def test_invalid_requests_fail_before_any_call(
    hume_emu: HumeEmulator,
    hume_cfg: Any,
    model: str,
    request_fields: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(hume_cfg(model=model), _request(**request_fields))
    assert info.value.field == field
    assert fragment in info.value.message
    assert info.value.provider == "hume"
    assert not info.value.retryable
    assert hume_emu.requests == []


async def test_missing_key_fails_before_any_call(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    with pytest.raises(AuthenticationError) as info:
        await generate_tts_async(hume_cfg(api_key=None), _request(voice_id="Kora"))
    assert "HUME_API_KEY" in info.value.message
    assert hume_emu.requests == []


async def test_invalid_fallback_config_fails_the_whole_chain_before_any_call(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    """Every config of a chain is validated before the first request is sent."""
    fallback = hume_cfg(model="octave-2")  # no voice: invalid on Octave 2
    config = hume_cfg(model="octave", fallback_configs=[fallback])
    with pytest.raises(ValidationError):
        await generate_tts_async(config, _request(extra_params={"description": "calm"}))
    assert hume_emu.requests == []


def test_mocked_hume_config_is_validated_like_the_real_one() -> None:
    config = AudioGenerationConfig(provider="hume", model="octave-2", mock=True)
    with pytest.raises(ValidationError) as info:
        generate_tts(config, _request(voice_id="Kora", voice_settings={"speed": 9}))
    assert info.value.field == "speed"
