"""OpenAI speech (``/audio/speech``) through the public API, plus the ``stream_tts`` hook."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from tarash.tarash_gateway import generate_tts, generate_tts_async
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    RateLimitError,
    ValidationError,
)
from tarash.tarash_gateway.models import AudioGenerationConfig, TTSRequest
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.openai import OpenAIProviderHandler
from tests.emulators.openai import OpenAIEmulator, speech_bytes
from tests.providers.openai.helpers import audio_config

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("fmt", "ctype", "rate", "duration"),
    [
        ("mp3", "audio/mpeg", None, None),
        ("opus", "audio/ogg", None, None),
        ("aac", "audio/aac", None, None),
        ("flac", "audio/flac", None, None),
        ("wav", "audio/wav", 24000, 0.3),
        ("pcm", "audio/pcm", 24000, 0.3),
    ],
)
def test_every_output_format(
    openai_emu: OpenAIEmulator, fmt: str, ctype: str, rate: int | None, duration: float | None
) -> None:
    text = "three small words"
    response = generate_tts(
        audio_config(openai_emu, "tts-1"), TTSRequest(text=text, voice_id="nova", output_format=fmt)
    )
    assert openai_emu.last(r"^/v1/audio/speech$", "POST").json == {
        "model": "tts-1",
        "input": text,
        "voice": "nova",
        "response_format": fmt,
    }
    assert response.audio_bytes == speech_bytes(fmt, text)
    assert response.content_type == ctype
    assert response.sample_rate == rate
    assert response.duration == duration
    assert response.output_format == (f"{fmt}_24000" if rate else fmt)
    assert response.provider_request_id and response.provider_request_id.startswith("req_")
    assert response.cost is not None
    assert response.cost.amount == pytest.approx(len(text) * 15 / 1e6)


async def test_gpt_4o_mini_tts_with_instructions_and_speed(openai_emu: OpenAIEmulator) -> None:
    response = await generate_tts_async(
        audio_config(openai_emu, "gpt-4o-mini-tts"),
        TTSRequest(
            text="Good morning",
            voice_id="marin",
            output_format="wav",
            voice_settings={"speed": 1.25},
            provider_options={"openai": {"instructions": "Speak like a radio host."}},
        ),
    )
    assert openai_emu.last("/audio/speech").json == {
        "model": "gpt-4o-mini-tts",
        "input": "Good morning",
        "voice": "marin",
        "response_format": "wav",
        "speed": 1.25,
        "instructions": "Speak like a radio host.",
    }
    assert response.duration == 0.2
    assert response.cost is None  # billed by audio tokens the endpoint does not report


def test_default_voice_custom_voice_and_hd_model(openai_emu: OpenAIEmulator) -> None:
    generate_tts(audio_config(openai_emu, "tts-1-hd"), TTSRequest(text="hi"))
    body = openai_emu.last("/audio/speech").json
    assert body["voice"] == "alloy"
    assert body["response_format"] == "mp3"

    generate_tts(
        audio_config(openai_emu, "gpt-4o-mini-tts"), TTSRequest(text="hi", voice_id="voice_1234")
    )
    assert openai_emu.last("/audio/speech").json["voice"] == {"id": "voice_1234"}


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("tts-1", {"extra_params": {"instructions": "calm"}}, "instructions"),
        ("gpt-4o-mini-tts", {"extra_params": {"instructions": ""}}, "instructions"),
        ("tts-1", {"voice_id": "ballad"}, "voice_id"),
        ("tts-1", {"voice_id": "darth"}, "voice_id"),
        ("tts-1", {"output_format": "ulaw_8000"}, "output_format"),
        ("tts-1", {"output_format": "pcm_16000"}, "output_format.sample_rate"),
        ("tts-1", {"output_format": "mp3_24000_192"}, "output_format.bitrate"),
        ("tts-1", {"language_code": "fr"}, "language_code"),
        ("tts-1", {"voice_settings": {"stability": 0.4}}, "voice_settings.stability"),
        ("tts-1", {"voice_settings": {"speed": 5}}, "speed"),
        ("tts-1", {"extra_params": {"speed": 0.1}}, "speed"),
        ("tts-1", {"extra_params": {"speed": "fast"}}, "speed"),
        ("tts-1", {"text": "x" * 4097}, "text"),
        ("gpt-4o-mini-tts", {"extra_params": {"stream_format": "sse"}}, "stream_format"),
        ("gpt-image-1", {}, "model"),
    ],
)
def test_invalid_speech_requests_fail_before_network(
    openai_emu: OpenAIEmulator, model: str, fields: dict[str, Any], field: str
) -> None:
    request = TTSRequest(**{"text": "hello", **fields})
    with pytest.raises(ValidationError) as info:
        generate_tts(audio_config(openai_emu, model), request)
    assert info.value.field == field, info.value
    assert openai_emu.requests == []


def test_unsupported_speech_fields_can_be_ignored(openai_emu: OpenAIEmulator) -> None:
    response = generate_tts(
        audio_config(openai_emu, "tts-1", on_unsupported_param="warn"),
        TTSRequest(text="hello", output_format="pcm_16000", language_code="fr"),
    )
    assert openai_emu.last("/audio/speech").json["response_format"] == "pcm"
    assert response.sample_rate == 24000  # what OpenAI actually produced
    assert any("language_code" in w for w in response.warnings)


def test_mocked_openai_config_is_validated_like_the_real_one(openai_emu: OpenAIEmulator) -> None:
    config = audio_config(openai_emu, "tts-1", mock=True)
    with pytest.raises(ValidationError):
        generate_tts(config, TTSRequest(text="x", extra_params={"instructions": "calm"}))
    assert generate_tts(config, TTSRequest(text="x")).is_mock
    assert openai_emu.requests == []


# ------------------------------------------------------------------------------ streaming


def _ctx(config: AudioGenerationConfig) -> AttemptContext:
    return AttemptContext(
        request_id="tg_test",
        operation="tts",
        config=config,
        provider=config.provider,
        deadline=time.monotonic() + 30,
    )


async def test_stream_tts_yields_chunks_as_they_arrive(openai_emu: OpenAIEmulator) -> None:
    handler = OpenAIProviderHandler()
    assert handler.supports_streaming
    config = audio_config(openai_emu, "gpt-4o-mini-tts")
    text = "one two three four five six"
    prepared = handler.prepare(
        "tts", config, TTSRequest(text=text, voice_id="coral", output_format="pcm")
    )
    chunks = [chunk async for chunk in handler.stream_tts(_ctx(config), prepared)]
    assert len(chunks) >= 2
    assert b"".join(chunks) == speech_bytes("pcm", text)
    rec = openai_emu.last("/audio/speech")
    assert rec.json == {
        "model": "gpt-4o-mini-tts",
        "input": text,
        "voice": "coral",
        "response_format": "pcm",
    }


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (429, RateLimitError), (400, ValidationError)]
)
async def test_stream_tts_errors_are_typed(
    openai_emu: OpenAIEmulator, status: int, error: type[Exception]
) -> None:
    handler = OpenAIProviderHandler()
    config = audio_config(openai_emu, "tts-1")
    prepared = handler.prepare("tts", config, TTSRequest(text="hello"))
    openai_emu.inject_status(status, path="/audio/speech")
    with pytest.raises(error):
        async for _ in handler.stream_tts(_ctx(config), prepared):
            pass


async def test_stream_tts_dropped_connection_is_a_connection_error(
    openai_emu: OpenAIEmulator,
) -> None:
    from tarash.tarash_gateway.exceptions import HTTPConnectionError

    handler = OpenAIProviderHandler()
    config = audio_config(openai_emu, "tts-1")
    prepared = handler.prepare("tts", config, TTSRequest(text="hello"))
    openai_emu.inject_drop(path="/audio/speech", partial_body=b"ID3\x04partial")
    with pytest.raises(HTTPConnectionError):
        async for _ in handler.stream_tts(_ctx(config), prepared):
            pass


def test_response_audio_is_base64(openai_emu: OpenAIEmulator) -> None:
    response = generate_tts(audio_config(openai_emu, "tts-1"), TTSRequest(text="abc"))
    assert base64.b64decode(response.audio) == speech_bytes("mp3", "abc")
