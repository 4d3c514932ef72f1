"""Sarvam streaming: ``/text-to-speech/stream`` through the public stream API."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway import stream_tts, stream_tts_async
from tarash.tarash_gateway.exceptions import AuthenticationError, ValidationError
from tarash.tarash_gateway.models import TTSRequest
from tarash.tarash_gateway.providers.sarvam import SarvamProviderHandler
from tarash.tarash_gateway.registry import get_handler
from tests.conftest import NO_RETRY
from tests.emulators.sarvam import SarvamEmulator, decoded_seconds, speech_pcm, speech_seconds

pytestmark = pytest.mark.timeout(30)

SENTENCE = "यह एक लंबा वाक्य है जिसे हम बार बार दोहराते हैं ताकि पाठ बहुत बड़ा हो जाए।"


def test_handler_declares_streaming() -> None:
    handler = get_handler("sarvam")
    assert isinstance(handler, SarvamProviderHandler)
    assert handler.supports_streaming is True


async def test_stream_mp3_with_bitrate(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    request = TTSRequest(
        text="Streaming speech.", language_code="en-IN", voice_id="kabir",
        output_format="mp3_22050_64",
    )  # fmt: skip
    async with stream_tts_async(sarvam_cfg(), request) as stream:
        chunks = [c async for c in stream]
    assert len(chunks) > 1
    assert stream.provider == "sarvam"
    assert (stream.output_format, stream.content_type) == ("mp3_22050", "audio/mpeg")
    sent = sarvam_emu.last("/text-to-speech/stream", "POST")
    assert sent.json == {
        "text": "Streaming speech.",
        "language_code": "en-IN",
        "speaker": "kabir",
        "speech_sample_rate": 22050,
        "model": "bulbul:v3",
        "output_audio_codec": "mp3",
        "output_audio_bitrate": "64k",
    }
    assert sent.header("api-subscription-key") == "sarvam-test-key"
    seconds, rate = decoded_seconds(b"".join(chunks))
    assert rate == 22050
    assert seconds == pytest.approx(speech_seconds("Streaming speech."), abs=0.03)


def test_blocking_stream_of_raw_pcm(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    request = TTSRequest(text="Blocking.", language_code="hi-IN", output_format="pcm_16000")
    with stream_tts(sarvam_cfg(), request) as stream:
        audio = b"".join(stream)
    assert audio == speech_pcm("Blocking.", 16000)


async def test_long_text_streams_piece_after_piece(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    text = " ".join([SENTENCE] * 100)  # ~7,700 characters: 3 streaming requests
    request = TTSRequest(text=text, language_code="hi-IN", output_format="pcm_8000")
    async with stream_tts_async(sarvam_cfg(), request) as stream:
        audio = await stream.read_all()
    texts = [r.json["text"] for r in sarvam_emu.find("/text-to-speech/stream")]
    assert len(texts) == 3 and all(len(t) <= 3500 for t in texts)
    assert " ".join(texts) == text
    assert audio == b"".join(speech_pcm(t, 8000) for t in texts)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"text": " ".join([SENTENCE] * 100), "output_format": "wav_24000"}, "cannot continue"),
        ({"text": "Hi.", "output_format": "mp3_44100"}, "when streaming"),
    ],
)
async def test_stream_only_limits_fail_before_any_call(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any, fields: dict[str, Any], fragment: str
) -> None:
    request = TTSRequest(language_code="hi-IN", **fields)
    with pytest.raises(ValidationError) as info:
        async with stream_tts_async(sarvam_cfg(), request) as stream:
            await stream.read_all()
    assert fragment in info.value.message
    assert sarvam_emu.requests == []


async def test_stream_auth_error(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    request = TTSRequest(text="Hi.", language_code="hi-IN")
    with pytest.raises(AuthenticationError) as info:
        async with stream_tts_async(sarvam_cfg(api_key="nope", retry=NO_RETRY), request) as s:
            await s.read_all()
    assert info.value.status_code == 403
    assert sarvam_emu.count() == 1
