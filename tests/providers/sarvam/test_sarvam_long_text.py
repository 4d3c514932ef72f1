"""Text over Bulbul's per-request limit: split at sentence boundaries, audio joined properly."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
import wave
from typing import Any

import pytest
from aiohttp import web

from tarash.tarash_gateway import generate_tts_async
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.models import TTSRequest, TTSUpdate
from tests.conftest import NO_RETRY
from tests.emulators.harness import RecordedRequest
from tests.emulators.sarvam import (
    SarvamEmulator,
    decoded_seconds,
    encode_speech,
    speech_pcm,
    speech_seconds,
    wav_wrap,
)

pytestmark = pytest.mark.timeout(30)

SENTENCES = [f"यह वाक्य संख्या {i} है और यह थोड़ा लंबा है ताकि पाठ बड़ा हो।" for i in range(90)]
LONG_HINDI = " ".join(SENTENCES)  # ~5,500 characters


def _texts(emu: SarvamEmulator) -> list[str]:
    """The pieces sent, in the order of the text (concurrent requests may arrive in any
    order; the joined audio follows the text)."""
    texts = [r.json["text"] for r in emu.find("/text-to-speech$", "POST")]
    return sorted(texts, key=lambda t: LONG_HINDI.find(t[:40]))


async def test_v2_long_text_is_split_at_sentences_and_wav_is_rejoined(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    updates: list[TTSUpdate] = []
    response = await generate_tts_async(
        sarvam_cfg(model="bulbul:v2"),
        TTSRequest(text=LONG_HINDI, language_code="hi-IN", output_format="wav_16000"),
        on_progress=updates.append,
    )
    texts = _texts(sarvam_emu)
    assert len(texts) == 4  # 1,500 characters per request on v2
    assert all(len(t) <= 1500 for t in texts)
    assert all(t.endswith("।") for t in texts)  # cut at sentence ends only
    assert " ".join(texts) == LONG_HINDI  # nothing lost, nothing repeated
    assert {r.json["model"] for r in sarvam_emu.requests} == {"bulbul:v2"}

    data = response.audio_bytes
    assert data.count(b"RIFF") == 1 and data.count(b"WAVE") == 1  # one header, rewritten
    with wave.open(io.BytesIO(data)) as wav:
        frames = wav.getnframes()
        assert wav.getframerate() == 16000
    expected_frames = sum(round(speech_seconds(t) * 16000) for t in texts)
    assert frames == expected_frames
    assert response.duration == pytest.approx(expected_frames / 16000, abs=1e-5)
    assert decoded_seconds(data)[0] == pytest.approx(expected_frames / 16000, abs=1e-3)
    # the samples are the pieces' samples, in text order
    assert data.endswith(speech_pcm(texts[-1], 16000))
    raw = response.raw_response
    assert raw["pieces"] == 4 and len(raw["request_ids"]) == 4
    assert raw["piece_characters"] == [len(t) for t in texts]
    percents = [u.progress_percent for u in updates if u.status == "processing"]
    assert percents == [0, 25, 50, 75, 99]  # one progress event per finished piece


async def test_long_mp3_is_joined_into_one_stream_without_per_piece_headers(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    response = await generate_tts_async(
        sarvam_cfg(), TTSRequest(text=LONG_HINDI, language_code="hi-IN")
    )
    texts = _texts(sarvam_emu)
    assert len(texts) == 3 and all(len(t) <= 2500 for t in texts)
    data = response.audio_bytes
    assert not data.startswith(b"ID3")
    assert b"Info" not in data[:2000] and b"Xing" not in data[:2000]
    seconds, rate = decoded_seconds(data)
    assert rate == 24000
    pieces = sum(speech_seconds(t) for t in texts)
    assert pieces <= seconds <= pieces + 3 * 0.1  # encoder padding of each piece at most
    assert response.duration == pytest.approx(seconds, abs=1e-3)


async def test_long_pcm_is_plain_concatenation(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    response = await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(text=LONG_HINDI, language_code="hi-IN", output_format="pcm_8000"),
    )
    texts = _texts(sarvam_emu)
    assert response.audio_bytes == b"".join(speech_pcm(t, 8000) for t in texts)
    assert response.duration == pytest.approx(len(response.audio_bytes) / 16000)


async def test_wav_wrapped_linear16_is_unwrapped_to_raw_pcm(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    """If the service wraps linear16 in a RIFF header, the caller still gets raw PCM."""

    async def wrapped(request: web.Request, rec: RecordedRequest) -> web.StreamResponse:
        import base64

        pcm = speech_pcm(rec.json["text"], 16000)
        audio = base64.b64encode(wav_wrap(pcm, 16000)).decode()
        return web.json_response({"request_id": "r-wrapped", "audios": [audio]})

    sarvam_emu.inject_custom(wrapped, path="/text-to-speech$", times=None)
    response = await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(text="Raw please.", language_code="en-IN", output_format="pcm_16000"),
    )
    assert response.audio_bytes == speech_pcm("Raw please.", 16000)
    assert response.provider_request_id == "r-wrapped"


async def test_pieces_run_in_parallel_up_to_the_limit(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    text = " ".join(SENTENCES * 2)  # ~11,000 characters: 5 pieces on v3
    sarvam_emu.inject_delay(0.3, path="/text-to-speech$", times=None)
    await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(text=text, language_code="hi-IN", extra_params={"max_parallel_requests": 5}),
    )
    arrivals = [r.received_at for r in sarvam_emu.requests]
    assert len(arrivals) == 5
    assert max(arrivals) - min(arrivals) < 0.25  # all in flight together

    sarvam_emu.reset()
    sarvam_emu.inject_delay(0.15, path="/text-to-speech$", times=None)
    await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(text=text, language_code="hi-IN", extra_params={"max_parallel_requests": 1}),
    )
    arrivals = sorted(r.received_at for r in sarvam_emu.requests)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) == 5 and min(gaps) >= 0.14  # one at a time


async def test_one_failing_piece_fails_the_request_and_cancels_the_rest(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_status(400, path="/text-to-speech$")  # the first piece to arrive
    sarvam_emu.inject_delay(1.0, path="/text-to-speech$", times=None)  # the others hang
    started = time.monotonic()
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(
            sarvam_cfg(retry=NO_RETRY),
            TTSRequest(text=LONG_HINDI, language_code="hi-IN"),
        )
    assert time.monotonic() - started < 0.8  # the hanging pieces were not waited for
    assert "invalid_request_error" in info.value.message
    # all three pieces were sent together; let the strays land before the next test
    await asyncio.to_thread(sarvam_emu.wait_for, "/text-to-speech$", count=3, timeout=2)


async def test_a_transient_piece_failure_retries_the_whole_text(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    sarvam_emu.inject_status(503, path="/text-to-speech$")
    response = await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(
            text=LONG_HINDI, language_code="hi-IN", extra_params={"max_parallel_requests": 1}
        ),
    )
    assert response.raw_response["pieces"] == 3
    assert sarvam_emu.count("/text-to-speech$") == 4  # failed first piece + 3 on the retry
    meta = response.execution_metadata
    assert meta is not None and meta.attempts[0].error_type == "RateLimitError"


def test_encode_speech_makes_real_audio() -> None:
    """The emulator's audio is real: the decoder agrees with the intended duration."""
    pcm = speech_pcm("check", 24000)
    for codec in ("mp3", "wav", "flac"):
        seconds, rate = decoded_seconds(encode_speech(pcm, 24000, codec))
        assert rate == 24000
        assert seconds == pytest.approx(speech_seconds("check"), abs=0.03)
