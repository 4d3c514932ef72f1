"""Sarvam Bulbul through the public API with the real ``sarvamai`` SDK: mapping and responses."""

from __future__ import annotations

import io
import wave
from typing import Any

import pytest

from tarash.tarash_gateway import generate_tts, generate_tts_async
from tarash.tarash_gateway.models import TTSRequest, TTSUpdate
from tarash.tarash_gateway.providers.sarvam import SarvamProviderHandler
from tarash.tarash_gateway.registry import get_handler
from tests.emulators.sarvam import SarvamEmulator, decoded_seconds, speech_seconds

pytestmark = pytest.mark.timeout(30)

HINDI = "नमस्ते, आज का मौसम बहुत अच्छा है।"


async def test_v3_request_mapping_and_default_mp3(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    response = await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(
            text=HINDI,
            language_code="hi-IN",
            voice_id="Ritu",  # speaker names are lowercase on Sarvam
            voice_settings={"pace": 1.25, "temperature": 0.4},
        ),
    )
    sent = sarvam_emu.last("/text-to-speech", "POST")
    assert sent.json == {
        "text": HINDI,
        "language_code": "hi-IN",
        "speaker": "ritu",
        "pace": 1.25,
        "temperature": 0.4,
        "speech_sample_rate": 24000,
        "model": "bulbul:v3",
        "output_audio_codec": "mp3",
    }
    assert sent.header("api-subscription-key") == "sarvam-test-key"
    assert sent.header("Content-Type") == "application/json"
    assert (sent.header("User-Agent") or "").startswith("sarvamai/")
    assert sarvam_emu.count() == 1

    assert response.content_type == "audio/mpeg"
    assert response.output_format == "mp3_24000"
    assert response.sample_rate == 24000
    expected = speech_seconds(HINDI, 1.25)
    seconds, rate = decoded_seconds(response.audio_bytes)
    assert rate == 24000
    assert seconds == pytest.approx(expected, abs=0.03)
    assert response.duration == pytest.approx(seconds, abs=1e-3)  # read from the MP3 frames
    assert response.provider_request_id == response.raw_response["request_ids"][0]
    assert response.raw_response["pieces"] == 1
    assert response.raw_response["speaker"] == "ritu"


async def test_v2_controls_and_wav_output(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    response = await generate_tts_async(
        sarvam_cfg(model="bulbul:v2"),
        TTSRequest(
            text="Good morning.",
            language_code="en-IN",
            voice_id="anushka",
            output_format="wav_22050",
            voice_settings={"pitch": -0.25, "pace": 2.5, "loudness": 1.5},
            extra_params={"enable_preprocessing": True, "enable_cached_responses": False},
        ),
    )
    assert sarvam_emu.last("/text-to-speech").json == {
        "text": "Good morning.",
        "language_code": "en-IN",
        "speaker": "anushka",
        "pitch": -0.25,
        "pace": 2.5,
        "loudness": 1.5,
        "speech_sample_rate": 22050,
        "enable_preprocessing": True,
        "enable_cached_responses": False,
        "model": "bulbul:v2",
        "output_audio_codec": "wav",
    }
    assert response.content_type == "audio/wav"
    assert response.output_format == "wav_22050"
    with wave.open(io.BytesIO(response.audio_bytes)) as wav:
        assert wav.getframerate() == 22050
        seconds = wav.getnframes() / 22050
    assert seconds == pytest.approx(speech_seconds("Good morning.", 2.5), abs=1e-4)
    assert response.duration == pytest.approx(seconds, abs=1e-5)


@pytest.mark.parametrize(
    ("given", "sent"),
    [("hi", "hi-IN"), ("ta-in", "ta-IN"), ("or", "od-IN"), ("BN_IN", "bn-IN"), ("od-IN", "od-IN")],
)
async def test_language_codes_are_normalised(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any, given: str, sent: str
) -> None:
    await generate_tts_async(sarvam_cfg(), TTSRequest(text="Hello.", language_code=given))
    assert sarvam_emu.last("/text-to-speech").json["language_code"] == sent


async def test_target_language_code_from_extra_params(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    await generate_tts_async(
        sarvam_cfg(), TTSRequest(text="Hello.", extra_params={"target_language_code": "kn-IN"})
    )
    assert sarvam_emu.last("/text-to-speech").json["language_code"] == "kn-IN"


async def test_provider_options_beat_generic_fields_in_a_chain(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    """voice_id names another provider's voice; provider_options gives Sarvam its own."""
    await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(
            text="Hello.",
            voice_id="Kora",
            language_code="en-US",
            voice_settings={"pace": 1.1},
            provider_options={
                "sarvam": {"speaker": "kabir", "target_language_code": "en-IN", "pace": 0.9}
            },
        ),
    )
    body = sarvam_emu.last("/text-to-speech").json
    assert (body["speaker"], body["language_code"], body["pace"]) == ("kabir", "en-IN", 0.9)


@pytest.mark.parametrize(
    ("fmt", "codec", "content_type"),
    [
        ("pcm_16000", "linear16", "audio/pcm"),
        ("mulaw_8000", "mulaw", "audio/basic"),
        ("alaw_8000", "alaw", "audio/x-alaw-basic"),
        ("flac_24000", "flac", "audio/flac"),
        ("aac_24000", "aac", "audio/aac"),
        ("wav_48000", "wav", "audio/wav"),
        ("mp3_44100", "mp3", "audio/mpeg"),
    ],
)
def test_output_codecs_sync(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any, fmt: str, codec: str, content_type: str
) -> None:
    text = "Codec check."
    response = generate_tts(
        sarvam_cfg(), TTSRequest(text=text, language_code="en-IN", output_format=fmt)
    )
    rate = int(fmt.split("_")[1])
    body = sarvam_emu.last("/text-to-speech").json
    assert (body["output_audio_codec"], body["speech_sample_rate"]) == (codec, rate)
    assert response.content_type == content_type
    assert response.sample_rate == rate
    expected = speech_seconds(text)
    data = response.audio_bytes
    if codec == "linear16":
        assert len(data) == round(expected * rate) * 2
        assert response.duration == pytest.approx(expected, abs=1e-4)
    elif codec in ("mulaw", "alaw"):
        assert len(data) == round(expected * rate)
        assert response.duration == pytest.approx(expected, abs=1e-4)
    else:
        seconds, decoded_rate = decoded_seconds(data)
        assert decoded_rate == rate
        if codec == "aac":  # ADTS carries the encoder's priming frames: a little longer
            assert expected <= seconds <= expected + 0.1
        else:
            assert seconds == pytest.approx(expected, abs=0.05)
    if codec in ("flac", "aac"):
        assert response.duration is None  # unknown is reported as unknown, never guessed


async def test_v4_flash_persona_speaker_and_dictionary(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    await generate_tts_async(
        sarvam_cfg(model="bulbul:v4-flash"),
        TTSRequest(
            text="Offer ends today!",
            language_code="hi-IN",
            voice_id="shubh_hi_ads",
            extra_params={"dict_id": "p_dict_1"},
        ),
    )
    body = sarvam_emu.last("/text-to-speech").json
    assert (body["model"], body["speaker"], body["dict_id"]) == (
        "bulbul:v4-flash",
        "shubh_hi_ads",
        "p_dict_1",
    )


async def test_unknown_extra_params_are_passed_through(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    await generate_tts_async(
        sarvam_cfg(),
        TTSRequest(text="Hi.", language_code="hi-IN", extra_params={"future_knob": 3}),
    )
    assert sarvam_emu.last("/text-to-speech").json["future_knob"] == 3


async def test_api_key_from_environment(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SARVAM_API_KEY", "sarvam-test-key")
    await generate_tts_async(sarvam_cfg(api_key=None), TTSRequest(text="Hi.", language_code="hi"))
    assert sarvam_emu.last("/text-to-speech").header("api-subscription-key") == "sarvam-test-key"


async def test_explicit_bitrate_other_than_128_warns(
    sarvam_emu: SarvamEmulator, sarvam_cfg: Any
) -> None:
    response = await generate_tts_async(
        sarvam_cfg(), TTSRequest(text="Hi.", language_code="hi-IN", output_format="mp3_24000_64")
    )
    assert "output_audio_bitrate" not in sarvam_emu.last("/text-to-speech").json
    assert any("64 kbps" in w for w in response.warnings)


async def test_unknown_bulbul_model_is_sent_with_a_warning(sarvam_cfg: Any) -> None:
    handler = get_handler("sarvam")
    assert isinstance(handler, SarvamProviderHandler)
    prepared = handler.prepare(
        "tts", sarvam_cfg(model="bulbul:v9"), TTSRequest(text="Hi.", language_code="hi-IN")
    )
    assert prepared.payload["model"] == "bulbul:v9"
    assert any("not known to this release" in w for w in prepared.warnings)


async def test_progress_events(sarvam_emu: SarvamEmulator, sarvam_cfg: Any) -> None:
    updates: list[TTSUpdate] = []
    await generate_tts_async(
        sarvam_cfg(), TTSRequest(text="Hi.", language_code="hi-IN"), on_progress=updates.append
    )
    assert [u.status for u in updates] == ["processing", "completed"]
    assert updates[0].provider == "sarvam"
