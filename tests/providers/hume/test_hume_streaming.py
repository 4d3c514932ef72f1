"""Hume streaming: ``/v0/tts/stream/file`` through the public stream API and the handler hook."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway import stream_tts_async
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    HTTPConnectionError,
    RateLimitError,
    ValidationError,
)
from tarash.tarash_gateway.models import AudioGenerationConfig, TTSRequest
from tarash.tarash_gateway.providers.hume import HumeProviderHandler
from tarash.tarash_gateway.registry import get_handler
from tests.conftest import NO_RETRY
from tests.emulators.hume import HumeEmulator, utterance_seconds
from tests.emulators.sarvam import decoded_seconds
from tests.providers.hume.conftest import stream_all

pytestmark = pytest.mark.timeout(30)


def test_handler_declares_streaming() -> None:
    handler = get_handler("hume")
    assert isinstance(handler, HumeProviderHandler)
    assert handler.supports_streaming is True


async def test_stream_with_a_voice_yields_playable_audio(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    request = TTSRequest(text="Streaming is fun.", voice_id="Kora")
    async with stream_tts_async(hume_cfg(), request) as stream:
        chunks = [chunk async for chunk in stream]
    assert len(chunks) > 1  # it really arrived in pieces
    assert stream.provider == "hume"
    assert stream.output_format == "mp3_48000"
    assert stream.content_type == "audio/mpeg"
    sent = hume_emu.last("/v0/tts/stream/file", "POST")
    assert sent.json == {
        "utterances": [
            {"text": "Streaming is fun.", "voice": {"name": "Kora", "provider": "HUME_AI"}}
        ],
        "format": {"type": "mp3"},
        "version": "2",
        "strip_headers": True,
    }  # instant mode left at Hume's default (on), which needs the voice given here
    assert sent.header("X-Hume-Api-Key") == "hume-test-key"
    seconds, rate = decoded_seconds(b"".join(chunks))
    assert rate == 48000
    assert seconds == pytest.approx(utterance_seconds("Streaming is fun."), abs=0.03)


async def test_stream_without_a_voice_turns_instant_mode_off(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    request = TTSRequest(
        text="Designed voice.",
        output_format="wav",
        extra_params={"description": "a cheerful robot", "strip_headers": False},
    )
    audio = await stream_all(hume_cfg(model="octave"), request)
    sent = hume_emu.last("/v0/tts/stream/file").json
    assert sent["instant_mode"] is False
    assert sent["strip_headers"] is False  # the caller's choice wins
    assert "voice" not in sent["utterances"][0]
    assert audio[:4] == b"RIFF"
    assert decoded_seconds(audio)[0] == pytest.approx(utterance_seconds("Designed voice."), 1e-3)


async def test_instant_mode_is_sent_when_streaming(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    request = TTSRequest(text="Quick.", voice_id="Kora", extra_params={"instant_mode": True})
    audio = await stream_all(hume_cfg(), request)
    assert hume_emu.last("/v0/tts/stream/file").json["instant_mode"] is True
    assert audio


async def test_stream_refuses_several_generations_before_any_call(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    request = TTSRequest(text="Twice.", voice_id="Kora", extra_params={"num_generations": 2})
    with pytest.raises(ValidationError) as info:
        await stream_all(hume_cfg(), request)
    assert info.value.field == "num_generations"
    assert hume_emu.requests == []


async def test_stream_validation_happens_when_the_stream_is_created(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    with pytest.raises(ValidationError):
        stream_tts_async(hume_cfg(), TTSRequest(text="No voice on Octave 2."))
    assert hume_emu.requests == []


async def test_stream_auth_error_is_typed(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    request = TTSRequest(text="Hi.", voice_id="Kora")
    with pytest.raises(AuthenticationError) as info:
        await stream_all(hume_cfg(api_key="nope"), request)
    assert "oauth.v2.InvalidApiKey" in info.value.message


async def test_stream_rate_limit_is_retried_before_the_first_chunk(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_status(429, path="/v0/tts/stream/file", retry_after=0)
    async with stream_tts_async(hume_cfg(), TTSRequest(text="Hi.", voice_id="Kora")) as stream:
        audio = await stream.read_all()
    assert audio
    assert hume_emu.count("/v0/tts/stream/file") == 2
    hume_emu.inject_status(429, path="/v0/tts/stream/file")
    with pytest.raises(RateLimitError):  # the hook itself raises typed errors
        await stream_all(hume_cfg(), TTSRequest(text="Hi.", voice_id="Kora"))


async def test_stream_dropped_mid_way_is_a_connection_error(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_drop(path="/v0/tts/stream/file", partial_body=b"\xff\xfb\x90\x00" * 64)
    config = hume_cfg(retry=NO_RETRY)
    with pytest.raises(HTTPConnectionError) as info:
        await stream_all(config, TTSRequest(text="Hi.", voice_id="Kora"))
    assert info.value.retryable


async def test_stream_falls_back_to_mock_before_first_chunk(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    hume_emu.inject_status(500, path="/v0/tts/stream/file", times=None)
    mock = AudioGenerationConfig(provider="mock", model="mock-tts")
    config = hume_cfg(fallback_configs=[mock])
    async with stream_tts_async(config, TTSRequest(text="Hi.", voice_id="Kora")) as stream:
        audio = await stream.read_all()
    assert stream.provider == "mock"
    assert audio[:4] == b"RIFF"
    assert hume_emu.count("/v0/tts/stream/file") == 3


async def test_emulator_file_endpoint_matches_the_sdk(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    """The emulator's ``/v0/tts/file`` speaks what ``client.tts.synthesize_file`` expects."""
    handler = get_handler("hume")
    assert isinstance(handler, HumeProviderHandler)
    client = handler._client(hume_cfg())
    chunks = [
        chunk
        async for chunk in client.tts.synthesize_file(
            utterances=[
                {"text": "File endpoint.", "voice": {"name": "Kora", "provider": "HUME_AI"}}
            ],
            format={"type": "wav"},
            request_options={"max_retries": 0},
        )
    ]
    audio = b"".join(chunks)
    assert audio[:4] == b"RIFF"
    assert decoded_seconds(audio)[0] == pytest.approx(utterance_seconds("File endpoint."), 1e-3)
    assert hume_emu.last("/v0/tts/file").header("X-Hume-Api-Key") == "hume-test-key"
