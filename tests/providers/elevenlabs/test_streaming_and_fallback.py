"""ElevenLabs streaming TTS and fallback between ElevenLabs and Cartesia (real SDKs, emulators)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tarash.tarash_gateway import (
    HTTPConnectionError,
    HTTPError,
    STSRequest,
    TimeoutError,
    TTSRequest,
    ValidationError,
    generate_sts,
    generate_tts,
    generate_tts_async,
    stream_tts,
    stream_tts_async,
)
from tarash.tarash_gateway.providers.mock.media import make_wav
from tests.conftest import NO_RETRY
from tests.emulators.cartesia import CartesiaEmulator
from tests.emulators.elevenlabs import ElevenLabsEmulator, render_audio, speech_seconds
from tests.providers.elevenlabs.conftest import ca_config, el_config

pytestmark = pytest.mark.timeout(60)

STREAM_PATH = r"^/v1/text-to-speech/[^/]+/stream$"
TTS_PATH = r"^/v1/text-to-speech/[^/]+$"


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


# ------------------------------------------------------------------------------------ streaming


def test_stream_sync_yields_the_same_audio_as_convert(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.stream_chunks = 6
    request = TTSRequest(text="Streaming hello", voice_id="v1", output_format="pcm_24000")
    config = el_config(elevenlabs, "eleven_flash_v2_5")
    with stream_tts(config, request) as audio:
        chunks = list(audio)
    rec = elevenlabs.last(STREAM_PATH)
    assert rec.path == "/v1/text-to-speech/v1/stream"
    assert rec.query == {"output_format": "pcm_24000"}
    assert rec.json == {"text": "Streaming hello", "model_id": "eleven_flash_v2_5"}
    assert len(chunks) >= 2
    assert b"".join(chunks) == render_audio(
        "pcm", 24000, duration=speech_seconds("Streaming hello")
    )
    assert b"".join(chunks) == generate_tts(config, request).audio_bytes
    assert audio.provider == "elevenlabs" and audio.model == "eleven_flash_v2_5"
    assert audio.output_format == "pcm_24000" and audio.content_type == "audio/pcm"
    assert audio.bytes_received == sum(map(len, chunks))
    assert elevenlabs.stream_events[0]["completed"] is True


async def test_stream_async_first_chunk_before_the_whole_audio(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    elevenlabs.stream_chunks = 5
    elevenlabs.chunk_delay = 0.08
    config = el_config(elevenlabs, "eleven_turbo_v2_5")
    request = TTSRequest(text="Time to first audio", voice_id="v")
    started = time.monotonic()
    arrivals: list[float] = []
    async with stream_tts_async(config, request) as audio:
        async for _chunk in audio:
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 5
    assert arrivals[0] < arrivals[-1] - 0.2  # the first chunk did not wait for the rest
    assert audio.first_chunk_seconds is not None and audio.first_chunk_seconds < arrivals[-1]


def test_early_close_cancels_the_upstream_request(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.stream_chunks = 30
    elevenlabs.chunk_delay = 0.03
    stream = stream_tts(
        el_config(elevenlabs), TTSRequest(text="long text " * 10, voice_id="v"), buffer_chunks=1
    )
    first = next(stream)
    assert first
    stream.close()
    wait_until(lambda: elevenlabs.stream_events and elevenlabs.stream_events[0]["disconnected"])
    event = elevenlabs.stream_events[0]
    assert event["disconnected"] == "client"
    assert not event["completed"] and event["sent"] < 30
    with pytest.raises(StopIteration):
        next(stream)


async def test_async_aclose_cancels_the_upstream_request(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.stream_chunks = 30
    elevenlabs.chunk_delay = 0.03
    audio = stream_tts_async(
        el_config(elevenlabs), TTSRequest(text="long text " * 10, voice_id="v")
    )
    async for _chunk in audio:
        break
    await audio.aclose()
    await asyncio.to_thread(
        wait_until, lambda: elevenlabs.stream_events and elevenlabs.stream_events[0]["disconnected"]
    )
    assert elevenlabs.stream_events[0]["disconnected"] == "client"
    assert elevenlabs.stream_events[0]["sent"] < 30


def test_stream_validation_happens_before_any_request(elevenlabs: ElevenLabsEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        stream_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v", output_format="flac"))
    assert info.value.field == "output_format"
    assert elevenlabs.requests == []


def test_stream_retries_before_the_first_chunk(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.inject_status(429, path=STREAM_PATH, retry_after="0.05", times=2)
    audio = stream_tts(el_config(elevenlabs), TTSRequest(text="retry me", voice_id="v"))
    data = audio.read_all()
    assert data == render_audio("mp3", 44100, bit_rate=128000, duration=speech_seconds("retry me"))
    assert [r.status for r in elevenlabs.find(STREAM_PATH)][:1] == [429]
    assert elevenlabs.count(STREAM_PATH) == 3
    attempts = audio.execution_metadata.attempts
    assert [a.error_type for a in attempts] == ["RateLimitError", "RateLimitError", None]
    assert attempts[-1].status == "success"


def test_dropped_stream_before_audio_is_not_requested_again(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    """A 429 is an answer (retried); a drop after sending may have generated speech."""
    elevenlabs.inject_drop(path=STREAM_PATH)
    audio = stream_tts(el_config(elevenlabs), TTSRequest(text="retry me", voice_id="v"))
    with pytest.raises(HTTPConnectionError) as info:
        audio.read_all()
    assert info.value.outcome_unknown
    assert elevenlabs.count(STREAM_PATH) == 1


def test_failure_after_the_first_chunk_raises_and_never_falls_back(
    elevenlabs: ElevenLabsEmulator, cartesia: CartesiaEmulator
) -> None:
    elevenlabs.stream_chunks = 6
    elevenlabs.break_next_stream(after_chunks=2)
    config = el_config(elevenlabs, fallback_configs=[ca_config(cartesia)])
    received: list[bytes] = []
    with (
        pytest.raises(HTTPConnectionError) as info,
        stream_tts(config, TTSRequest(text="cut", voice_id="v")) as audio,
    ):
        received.extend(audio)  # keeps what arrived before the error
    assert received  # audio had started flowing
    assert any("not retried or continued" in note for note in info.value.__notes__)
    assert cartesia.requests == []  # no splice with another provider's audio
    assert elevenlabs.count(STREAM_PATH) == 1  # and no retry once committed


def test_stream_first_chunk_timeout_falls_back_to_cartesia(
    elevenlabs: ElevenLabsEmulator, cartesia: CartesiaEmulator
) -> None:
    elevenlabs.inject_delay(3.0, path=STREAM_PATH)
    config = el_config(elevenlabs, timeout=0.4, fallback_configs=[ca_config(cartesia)])
    with stream_tts(config, TTSRequest(text="fallback", voice_id="v")) as audio:
        data = audio.read_all()
    assert audio.provider == "cartesia"
    assert data == render_audio("mp3", 44100, bit_rate=128000, duration=speech_seconds("fallback"))
    attempts = audio.execution_metadata.attempts
    assert [(a.provider, a.error_type) for a in attempts] == [
        ("elevenlabs", "TarashTimeoutError"),
        ("cartesia", None),
    ]
    assert attempts[0].cancelled_upstream is True
    assert audio.execution_metadata.fallback_triggered
    assert cartesia.last("/tts/bytes").json["transcript"] == "fallback"


def test_stream_idle_timeout_after_audio_started_raises(elevenlabs: ElevenLabsEmulator) -> None:
    config = el_config(elevenlabs, timeout=1.0)
    elevenlabs.inject_custom(_slow_after_first, path=STREAM_PATH)
    got: list[bytes] = []
    with (
        pytest.raises(TimeoutError),
        stream_tts(config, TTSRequest(text="stall", voice_id="v")) as audio,
    ):
        got.extend(audio)  # keeps what arrived before the error
    assert len(got) == 1


async def _slow_after_first(request: object, rec: object) -> object:
    from aiohttp import web

    assert isinstance(request, web.Request)
    resp = web.StreamResponse(status=200, headers={"Content-Type": "audio/mpeg"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(render_audio("mp3", 44100, bit_rate=128000)[:2000])
    await asyncio.sleep(5)  # stalls: the gateway's idle timeout must fire
    return resp


# ------------------------------------------------------------------------------------ fallback


def test_fallback_from_elevenlabs_to_cartesia_on_5xx(
    elevenlabs: ElevenLabsEmulator, cartesia: CartesiaEmulator
) -> None:
    elevenlabs.inject_status(503, path=TTS_PATH, times=None)
    request = TTSRequest(
        text="hello there",
        voice_id="el-voice",
        output_format="wav_24000",
        provider_options={"cartesia": {"voice_id": "ca-voice"}},
    )
    config = el_config(elevenlabs, fallback_configs=[ca_config(cartesia, "sonic-3")])
    response = generate_tts(config, request)
    assert response.provider == "cartesia" and response.model == "sonic-3"
    assert elevenlabs.count(TTS_PATH) == 3  # retried on ElevenLabs first
    body = cartesia.last("/tts/bytes").json
    assert body["voice"] == {"mode": "id", "id": "ca-voice"}
    assert body["output_format"] == {
        "container": "wav",
        "encoding": "pcm_s16le",
        "sample_rate": 24000,
    }
    assert response.content_type == "audio/wav"
    assert response.duration == pytest.approx(speech_seconds("hello there"))
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert [(a.provider, a.status) for a in meta.attempts] == [
        ("elevenlabs", "failed"),
        ("elevenlabs", "failed"),
        ("elevenlabs", "failed"),
        ("cartesia", "success"),
    ]


async def test_fallback_from_cartesia_to_elevenlabs_on_rate_limit(
    elevenlabs: ElevenLabsEmulator, cartesia: CartesiaEmulator
) -> None:
    cartesia.inject_status(429, path="/tts/bytes", times=None, retry_after="0.01")
    config = ca_config(
        cartesia, retry=NO_RETRY, fallback_configs=[el_config(elevenlabs, "eleven_v3")]
    )
    response = await generate_tts_async(config, TTSRequest(text="back again", voice_id="shared"))
    assert response.provider == "elevenlabs"
    assert cartesia.count("/tts/bytes") == 1
    assert elevenlabs.last(TTS_PATH).json == {"text": "back again", "model_id": "eleven_v3"}


def test_sts_fallback_from_elevenlabs_to_cartesia_on_network_error(
    elevenlabs: ElevenLabsEmulator, cartesia: CartesiaEmulator
) -> None:
    elevenlabs.inject_drop(path=r"^/v1/voice-changer/", times=None)
    wav = make_wav(0.3, sample_rate=16000)
    config = el_config(
        elevenlabs,
        "eleven_multilingual_sts_v2",
        retry=NO_RETRY,
        fallback_configs=[ca_config(cartesia)],
    )
    response = generate_sts(config, STSRequest(audio=wav, voice_id="v", output_format="pcm_16000"))
    assert response.provider == "cartesia"
    rec = cartesia.last("/voice-changer/bytes")
    assert rec.files["clip"].data == wav
    assert rec.form["output_format[container]"] == "raw"


def test_non_retryable_error_stops_the_chain(
    elevenlabs: ElevenLabsEmulator, cartesia: CartesiaEmulator
) -> None:
    config = el_config(elevenlabs, api_key="bad-key", fallback_configs=[ca_config(cartesia)])
    with pytest.raises(HTTPError) as info:
        generate_tts(config, TTSRequest(text="x", voice_id="v"))
    assert info.value.status_code == 401
    assert cartesia.requests == []
