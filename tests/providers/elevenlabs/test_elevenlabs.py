"""ElevenLabs through the public API, driving the real ``elevenlabs`` SDK against the emulator."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarash.tarash_gateway import (
    AuthenticationError,
    HTTPConnectionError,
    HTTPError,
    RateLimitError,
    STSRequest,
    TimeoutError,
    TTSRequest,
    ValidationError,
    generate_sts,
    generate_sts_async,
    generate_tts,
    generate_tts_async,
)
from tarash.tarash_gateway.models import AudioGenerationConfig, MediaContent
from tarash.tarash_gateway.providers.elevenlabs import (
    ELEVENLABS_OUTPUT_FORMATS,
    ElevenLabsProviderHandler,
    elevenlabs_output_format,
)
from tarash.tarash_gateway.providers.mock.media import make_wav
from tarash.tarash_gateway.registry import get_handler
from tests.conftest import NO_RETRY
from tests.emulators.elevenlabs import (
    ELEVENLABS_API_KEY,
    MISSING_VOICE,
    ElevenLabsEmulator,
    legacy_error,
    new_error,
    render_audio,
    speech_seconds,
    validation_error,
)
from tests.providers.elevenlabs.conftest import el_config

pytestmark = pytest.mark.timeout(60)

TTS_PATH = r"^/v1/text-to-speech/[^/]+$"
STS_PATH = r"^/v1/voice-changer/"


def expected_audio(fmt: str, text: str, seed: int = 0) -> bytes:
    parts = fmt.split("_")
    bit_rate = int(parts[2]) * 1000 if len(parts) > 2 else None
    return render_audio(
        parts[0], int(parts[1]), bit_rate=bit_rate, duration=speech_seconds(text), seed=seed
    )


# ------------------------------------------------------------------------------------ TTS success


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        ("eleven_multilingual_v2", 11.0),
        ("eleven_turbo_v2_5", 6.0),
        ("eleven_flash_v2_5", 6.0),
        ("eleven_v3", 11.0),
    ],
)
def test_tts_sync_per_model_exact_request_and_response(
    elevenlabs: ElevenLabsEmulator, model: str, cost: float
) -> None:
    request = TTSRequest(
        text="Hello world",
        voice_id="JBFqnCBsd6RMkjVDRZzb",
        voice_settings={
            "stability": 0.4,
            "similarity_boost": 0.8,
            "style": 0.1,
            "use_speaker_boost": True,
            "speed": 1.1,
        },
    )
    response = generate_tts(el_config(elevenlabs, model), request)

    rec = elevenlabs.last(TTS_PATH)
    assert rec.method == "POST"
    assert rec.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb"
    assert rec.query == {"output_format": "mp3_44100_128"}
    assert rec.json == {
        "text": "Hello world",
        "model_id": model,
        "voice_settings": {
            "stability": 0.4,
            "similarity_boost": 0.8,
            "style": 0.1,
            "use_speaker_boost": True,
            "speed": 1.1,
        },
    }
    assert rec.headers["xi-api-key"] == ELEVENLABS_API_KEY
    assert rec.headers["content-type"] == "application/json"
    assert len(elevenlabs.requests) == 1

    audio = expected_audio("mp3_44100_128", "Hello world")
    assert response.audio_bytes == audio
    assert response.audio == base64.b64encode(audio).decode()
    assert response.content_type == "audio/mpeg"
    assert response.output_format == "mp3_44100_128"
    assert response.sample_rate == 44100
    assert response.duration == pytest.approx(speech_seconds("Hello world"), abs=1e-6)
    assert response.provider == "elevenlabs" and response.model == model
    assert response.provider_request_id is not None
    assert response.provider_request_id.startswith("req_")
    assert response.cost is not None
    assert response.cost.amount == cost and response.cost.unit == "credits"
    assert response.cost.source == "provider"
    assert response.raw_response["headers"]["character-cost"] == str(int(cost))
    assert response.raw_response["headers"]["request-id"] == response.provider_request_id
    assert response.execution_metadata is not None
    assert response.execution_metadata.total_attempts == 1
    assert response.warnings == []


async def test_tts_async_language_seed_and_passthrough(elevenlabs: ElevenLabsEmulator) -> None:
    request = TTSRequest(
        text="Hola mundo",
        voice_id="v1",
        language_code="es",
        output_format="pcm_16000",
        extra_params={"seed": 42, "previous_text": "Antes.", "future_flag": "x"},
        provider_options={"elevenlabs": {"apply_text_normalization": "on"}},
    )
    response = await generate_tts_async(el_config(elevenlabs, "eleven_flash_v2_5"), request)
    rec = elevenlabs.last(TTS_PATH)
    assert rec.query == {"output_format": "pcm_16000"}
    assert rec.json == {
        "text": "Hola mundo",
        "model_id": "eleven_flash_v2_5",
        "language_code": "es",
        "seed": 42,
        "previous_text": "Antes.",
        "apply_text_normalization": "on",
        "future_flag": "x",
    }
    assert response.content_type == "audio/pcm"
    assert response.sample_rate == 16000
    assert response.audio_bytes == expected_audio("pcm_16000", "Hola mundo", seed=42)
    assert response.duration == pytest.approx(speech_seconds("Hola mundo"))


@pytest.mark.parametrize("fmt", ELEVENLABS_OUTPUT_FORMATS)
def test_every_output_format_content_type_and_duration(
    elevenlabs: ElevenLabsEmulator, fmt: str
) -> None:
    text = "Twelve chars"
    response = generate_tts(
        el_config(elevenlabs), TTSRequest(text=text, voice_id="v", output_format=fmt)
    )
    assert elevenlabs.last(TTS_PATH).query["output_format"] == fmt
    family = fmt.split("_")[0]
    assert (
        response.content_type
        == {
            "mp3": "audio/mpeg",
            "wav": "audio/wav",
            "pcm": "audio/pcm",
            "ulaw": "audio/basic",
            "alaw": "audio/x-alaw-basic",
            "opus": "audio/ogg",
        }[family]
    )
    assert response.output_format == fmt
    assert response.sample_rate == int(fmt.split("_")[1])
    assert response.audio_bytes == expected_audio(fmt, text)
    assert response.duration is not None
    # Opus granule positions include the encoder's frame padding (< 20 ms).
    tolerance = 0.021 if family == "opus" else 1e-6
    assert response.duration == pytest.approx(speech_seconds(text), abs=tolerance)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("mp3", "mp3_44100_128"),
        ("mp3_22050", "mp3_22050_32"),
        ("mp3_24000", "mp3_24000_48"),
        ("pcm", "pcm_24000"),
        ("wav", "wav_24000"),
        ("ulaw", "ulaw_8000"),
        ("alaw_8000", "alaw_8000"),
        ("opus", "opus_48000_64"),
        ({"format": "mp3", "sample_rate": 44100, "bitrate": 192}, "mp3_44100_192"),
    ],
)
def test_output_format_defaults_fill_in(given: Any, sent: str) -> None:
    from tarash.tarash_gateway.models import AudioOutputFormat

    assert elevenlabs_output_format(AudioOutputFormat.model_validate(given)) == sent


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("request_kwargs", "model", "field"),
    [
        ({"output_format": "flac_44100"}, "eleven_multilingual_v2", "output_format"),
        ({"output_format": "mp3_44100_256"}, "eleven_multilingual_v2", "output_format"),
        ({"output_format": "pcm_11025"}, "eleven_multilingual_v2", "output_format"),
        ({"voice_settings": {"speed": 1.5}}, "eleven_multilingual_v2", "voice_settings.speed"),
        ({"voice_settings": {"stability": -0.1}}, "eleven_v3", "voice_settings.stability"),
        ({"voice_settings": {"style": "high"}}, "eleven_v3", "voice_settings.style"),
        (
            {"voice_settings": {"use_speaker_boost": 1}},
            "eleven_v3",
            "voice_settings.use_speaker_boost",
        ),
        ({"voice_settings": {"stabilty": 0.5}}, "eleven_v3", "voice_settings.stabilty"),
        ({"language_code": "de"}, "eleven_multilingual_v2", "language_code"),
        ({"voice_id": None}, "eleven_multilingual_v2", "voice_id"),
        ({"extra_params": {"seed": -1}}, "eleven_multilingual_v2", "seed"),
        ({"extra_params": {"seed": 2**32}}, "eleven_multilingual_v2", "seed"),
        ({"extra_params": {"model_id": "x"}}, "eleven_multilingual_v2", "model_id"),
        ({}, "eleven_multilingual_sts_v2", "model"),
    ],
)
def test_invalid_requests_fail_before_any_request(
    elevenlabs: ElevenLabsEmulator, request_kwargs: dict[str, Any], model: str, field: str
) -> None:
    fields: dict[str, Any] = {"text": "hi", "voice_id": "v1", **request_kwargs}
    with pytest.raises(ValidationError) as info:
        generate_tts(el_config(elevenlabs, model), TTSRequest(**fields))
    assert info.value.field == field
    assert info.value.provider == "elevenlabs"
    assert not info.value.retryable
    assert elevenlabs.requests == []


def test_validation_of_a_fallback_config_also_happens_before_any_request(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    bad_fallback = el_config(elevenlabs, "eleven_multilingual_v2")
    config = el_config(elevenlabs, "eleven_flash_v2_5", fallback_configs=[bad_fallback])
    with pytest.raises(ValidationError) as info:
        generate_tts(config, TTSRequest(text="hi", voice_id="v", language_code="fr"))
    assert info.value.field == "language_code"
    assert elevenlabs.requests == []


def test_unsupported_fields_warn_and_are_dropped_when_asked(elevenlabs: ElevenLabsEmulator) -> None:
    config = el_config(elevenlabs, "eleven_multilingual_v2", on_unsupported_param="warn")
    request = TTSRequest(
        text="hi", voice_id="v", language_code="de", voice_settings={"stability": 0.5, "x": 1}
    )
    response = generate_tts(config, request)
    assert elevenlabs.last(TTS_PATH).json == {
        "text": "hi",
        "model_id": "eleven_multilingual_v2",
        "voice_settings": {"stability": 0.5},
    }
    assert any("voice_settings.x" in w for w in response.warnings)
    assert any("language_code" in w for w in response.warnings)


def test_unknown_model_is_sent_with_a_warning(elevenlabs: ElevenLabsEmulator) -> None:
    response = generate_tts(
        el_config(elevenlabs, "eleven_future_v9"), TTSRequest(text="a", voice_id="v")
    )
    assert elevenlabs.last(TTS_PATH).json["model_id"] == "eleven_future_v9"
    assert any("eleven_future_v9" in w for w in response.warnings)


def test_provider_options_override_voice_and_format_for_elevenlabs_only(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    request = TTSRequest(
        text="hi",
        voice_id="cartesia-voice",
        provider_options={
            "elevenlabs": {"voice_id": "el-voice", "output_format": "ulaw_8000"},
            "cartesia": {"voice_id": "ignored-here"},
        },
    )
    response = generate_tts(el_config(elevenlabs), request)
    rec = elevenlabs.last(TTS_PATH)
    assert rec.path == "/v1/text-to-speech/el-voice"
    assert rec.query == {"output_format": "ulaw_8000"}
    assert response.content_type == "audio/basic"


def test_missing_api_key_fails_before_any_request(elevenlabs: ElevenLabsEmulator) -> None:
    config = el_config(elevenlabs, api_key=None)
    with pytest.raises(AuthenticationError) as info:
        generate_tts(config, TTSRequest(text="hi", voice_id="v"))
    assert "ELEVENLABS_API_KEY" in str(info.value)
    assert elevenlabs.requests == []


def test_api_key_from_environment(
    elevenlabs: ElevenLabsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", ELEVENLABS_API_KEY)
    generate_tts(el_config(elevenlabs, api_key=None), TTSRequest(text="hi", voice_id="v"))
    assert elevenlabs.last(TTS_PATH).headers["xi-api-key"] == ELEVENLABS_API_KEY


# ------------------------------------------------------------------------------------ STS


def _sts_inputs(emu: ElevenLabsEmulator, tmp_path: Path) -> dict[str, Any]:
    wav = make_wav(0.4, sample_rate=16000, seed=3)
    path = tmp_path / "voice.wav"
    path.write_bytes(wav)
    b64 = base64.b64encode(wav).decode()
    return {
        "bytes": wav,
        "media_content": MediaContent(content=wav, content_type="audio/wav"),
        "base64": b64,
        "data_uri": f"data:audio/wav;base64,{b64}",
        "path": path,
        "path_str": str(path),
        "url": emu.add_file(wav, "audio/wav", filename="input.wav"),
    }


@pytest.mark.parametrize(
    "form", ["bytes", "media_content", "base64", "data_uri", "path", "path_str", "url"]
)
def test_sts_accepts_every_input_form(
    elevenlabs: ElevenLabsEmulator, tmp_path: Path, form: str
) -> None:
    inputs = _sts_inputs(elevenlabs, tmp_path)
    wav = inputs["bytes"]
    request = STSRequest(
        audio=inputs[form],
        voice_id="target",
        output_format="wav_16000",
        voice_settings={"stability": 0.3, "similarity_boost": 0.9},
        extra_params={"seed": 7, "remove_background_noise": True},
    )
    response = generate_sts(el_config(elevenlabs, "eleven_multilingual_sts_v2"), request)
    rec = elevenlabs.last(STS_PATH, "POST")
    assert rec.path == "/v1/voice-changer/target"
    assert rec.query == {"output_format": "wav_16000"}
    assert rec.form == {
        "model_id": "eleven_multilingual_sts_v2",
        "voice_settings": '{"stability":0.3,"similarity_boost":0.9}',
        "seed": "7",
        "remove_background_noise": "true",
    }
    upload = rec.files["audio"]
    assert upload.data == wav
    assert upload.content_type == "audio/wav"
    assert upload.filename is not None and upload.filename.endswith(".wav")
    assert response.content_type == "audio/wav"
    assert response.sample_rate == 16000
    assert response.duration == pytest.approx(0.4)
    assert response.audio_bytes == render_audio("wav", 16000, duration=0.4, seed=7)
    assert response.raw_response["input_audio_bytes"] == len(wav)
    assert response.cost is not None and response.cost.unit == "credits"


async def test_sts_async_mp3_output(elevenlabs: ElevenLabsEmulator) -> None:
    wav = make_wav(0.5, sample_rate=22050)
    response = await generate_sts_async(
        el_config(elevenlabs, "eleven_english_sts_v2"), STSRequest(audio=wav, voice_id="t")
    )
    assert elevenlabs.last(STS_PATH).query == {"output_format": "mp3_44100_128"}
    assert response.content_type == "audio/mpeg"
    assert response.duration == pytest.approx(0.5)


def test_emulator_serves_the_legacy_speech_to_speech_path(elevenlabs: ElevenLabsEmulator) -> None:
    wav = make_wav(0.3, sample_rate=16000)
    answer = httpx.post(
        f"{elevenlabs.base_url}/v1/speech-to-speech/target?output_format=pcm_16000",
        headers={"xi-api-key": ELEVENLABS_API_KEY},
        data={"model_id": "eleven_english_sts_v2"},
        files={"audio": ("in.wav", wav, "audio/wav")},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "audio/pcm"
    assert answer.content == render_audio("pcm", 16000, duration=0.3)
    assert elevenlabs.last("/v1/speech-to-speech/target").files["audio"].data == wav


@pytest.mark.parametrize("form", ["bytes", "base64", "path"])
def test_sts_local_input_over_the_size_limit_fails_before_any_request(
    elevenlabs: ElevenLabsEmulator, tmp_path: Path, form: str
) -> None:
    inputs = _sts_inputs(elevenlabs, tmp_path)
    config = el_config(elevenlabs, "eleven_multilingual_sts_v2", max_input_bytes=1000)
    with pytest.raises(ValidationError) as info:
        generate_sts(config, STSRequest(audio=inputs[form], voice_id="t"))
    assert info.value.field == "audio"
    assert "1000-byte limit" in info.value.message
    assert elevenlabs.requests == []


def test_sts_url_over_the_size_limit_fails_before_the_provider_call(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    url = elevenlabs.add_file(make_wav(1.0, sample_rate=16000), "audio/wav")
    config = el_config(elevenlabs, "eleven_multilingual_sts_v2", max_input_bytes=1000)
    with pytest.raises(ValidationError) as info:
        generate_sts(config, STSRequest(audio=url, voice_id="t"))
    assert info.value.field == "audio"
    assert elevenlabs.count(STS_PATH) == 0
    assert elevenlabs.count(r"^/__files__/") == 1  # downloaded (and stopped), not retried


def test_sts_url_that_404s_is_a_validation_error(elevenlabs: ElevenLabsEmulator) -> None:
    url = f"{elevenlabs.base_url}/__files__/does-not-exist.wav"
    with pytest.raises(ValidationError) as info:
        generate_sts(
            el_config(elevenlabs, "eleven_multilingual_sts_v2"), STSRequest(audio=url, voice_id="t")
        )
    assert info.value.field == "audio"
    assert elevenlabs.count(STS_PATH) == 0


def test_sts_rejects_image_input_and_tts_model(elevenlabs: ElevenLabsEmulator) -> None:
    from tarash.tarash_gateway.providers.mock.media import make_png

    with pytest.raises(ValidationError) as info:
        generate_sts(
            el_config(elevenlabs, "eleven_multilingual_sts_v2"),
            STSRequest(audio=make_png(8, 8), voice_id="t"),
        )
    assert info.value.field == "audio"
    with pytest.raises(ValidationError) as info:
        generate_sts(
            el_config(elevenlabs, "eleven_v3"), STSRequest(audio=make_wav(0.2), voice_id="t")
        )
    assert info.value.field == "model"
    assert elevenlabs.requests == []


# ------------------------------------------------------------------------------------ errors


def test_invalid_key_is_authentication_error_not_retried(elevenlabs: ElevenLabsEmulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        generate_tts(el_config(elevenlabs, api_key="wrong"), TTSRequest(text="hi", voice_id="v"))
    error = info.value
    assert error.status_code == 401
    assert "invalid_api_key" in error.message
    assert not error.retryable
    assert elevenlabs.count(TTS_PATH) == 1
    assert "wrong" not in str(error)


def test_quota_exceeded_legacy_shape_is_authentication_error(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    body = legacy_error("quota_exceeded", "This request exceeds your quota.")
    elevenlabs.inject_status(401, body, path=TTS_PATH)
    with pytest.raises(AuthenticationError) as info:
        generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    assert "quota_exceeded" in info.value.message
    assert "exceeds your quota" in info.value.message
    assert elevenlabs.count(TTS_PATH) == 1


def test_400_new_shape_names_the_param_and_request_id(elevenlabs: ElevenLabsEmulator) -> None:
    body = new_error("validation_error", "invalid_parameters", "bad seed", param="seed")
    elevenlabs.inject_status(400, body, path=TTS_PATH)
    with pytest.raises(ValidationError) as info:
        generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    assert info.value.field == "seed"
    assert info.value.request_id == body["detail"]["request_id"]
    assert info.value.raw_response["body"] == body
    assert elevenlabs.count(TTS_PATH) == 1


def test_422_list_becomes_validation_error_with_fields(elevenlabs: ElevenLabsEmulator) -> None:
    body = validation_error(
        (("body", "voice_settings", "speed"), "too fast"), (("body", "text"), "bad")
    )
    elevenlabs.inject_status(422, body, path=TTS_PATH)
    with pytest.raises(ValidationError) as info:
        generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    assert info.value.field == "voice_settings.speed"
    assert [e["field"] for e in info.value.errors] == ["voice_settings.speed", "text"]
    assert "too fast" in info.value.message


def test_unknown_voice_is_validation_error_on_voice_id(elevenlabs: ElevenLabsEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id=MISSING_VOICE))
    assert info.value.field == "voice_id"
    assert "voice_not_found" in info.value.message


def test_403_is_authentication_error(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.inject_status(403, path=TTS_PATH)
    with pytest.raises(AuthenticationError) as info:
        generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    assert info.value.status_code == 403 and not info.value.retryable


@pytest.mark.parametrize("code", ["rate_limit_exceeded", "concurrent_limit_exceeded"])
def test_429_kinds_are_retried_honouring_retry_after(
    elevenlabs: ElevenLabsEmulator, code: str
) -> None:
    body = new_error("rate_limit_error", code, "slow down")
    elevenlabs.inject_status(429, body, path=TTS_PATH, retry_after="0.15")
    response = generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    calls = elevenlabs.find(TTS_PATH)
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].received_at - calls[0].received_at >= 0.14  # Retry-After honoured
    assert response.execution_metadata is not None
    assert response.execution_metadata.total_attempts == 2


def test_persistent_429_raises_rate_limit_error_with_retry_after(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    body = new_error("rate_limit_error", "concurrent_limit_exceeded", "Too many requests")
    elevenlabs.inject_status(429, body, path=TTS_PATH, retry_after=0.05, times=None)
    with pytest.raises(RateLimitError) as info:
        generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    error = info.value
    assert error.retryable and error.retry_after == pytest.approx(0.05)
    assert "[concurrent_limit_exceeded] Too many requests" in error.message
    assert "retry when some finish" in error.message  # the concurrency hint, not a quota one
    assert elevenlabs.count(TTS_PATH) == 3  # FAST_RETRY: 1 + 2 retries
    assert error.execution_metadata is not None
    assert [a.error_type for a in error.execution_metadata.attempts] == ["RateLimitError"] * 3


def test_5xx_retried_then_succeeds(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.inject_status(503, path=TTS_PATH, times=2)
    response = generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    assert [c.status for c in elevenlabs.find(TTS_PATH)] == [503, 503, 200]
    assert response.execution_metadata is not None
    assert response.execution_metadata.successful_attempt == 3


def test_5xx_with_text_body_is_retryable_http_error(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.inject_status(500, "upstream exploded", path=TTS_PATH, times=None)
    with pytest.raises(HTTPError) as info:
        generate_tts(el_config(elevenlabs, retry=NO_RETRY), TTSRequest(text="hi", voice_id="v"))
    assert info.value.status_code == 500 and info.value.retryable
    assert "upstream exploded" in info.value.message


def test_dropped_connection_is_retryable_connection_error(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.inject_drop(path=TTS_PATH, times=None)
    with pytest.raises(HTTPConnectionError) as info:
        generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    assert info.value.retryable and info.value.outcome_unknown
    assert elevenlabs.count(TTS_PATH) == 1  # sent once: a resend could pay twice


def test_network_error_on_sts_falls_back_without_resending(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    elevenlabs.inject_drop(path=STS_PATH, times=1)
    fallback = AudioGenerationConfig(provider="mock", model="mock-sts")
    response = generate_sts(
        el_config(elevenlabs, "eleven_multilingual_sts_v2", fallback_configs=[fallback]),
        STSRequest(audio=make_wav(0.2), voice_id="t"),
    )
    assert response.audio_bytes and response.provider == "mock"
    assert elevenlabs.count(STS_PATH) == 1  # sent once: a resend could pay twice


def test_malformed_error_json_is_still_typed(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.inject_malformed(path=TTS_PATH, status=502, times=None)
    with pytest.raises(HTTPError) as info:
        generate_tts(el_config(elevenlabs, retry=NO_RETRY), TTSRequest(text="hi", voice_id="v"))
    assert info.value.status_code == 502


def test_slow_response_times_out(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.inject_delay(3.0, path=TTS_PATH)
    with pytest.raises(TimeoutError) as info:
        generate_tts(el_config(elevenlabs, timeout=0.5), TTSRequest(text="hi", voice_id="v"))
    assert info.value.timeout_seconds == 0.5
    assert elevenlabs.count(TTS_PATH) == 1  # timeouts move on; they are not retried in place


def test_no_cost_header_means_unknown_cost(elevenlabs: ElevenLabsEmulator) -> None:
    elevenlabs.send_cost = False
    response = generate_tts(el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"))
    assert response.cost is None
    assert "character-cost" not in response.raw_response["headers"]


# ------------------------------------------------------------------------------------ client


def test_sdk_client_is_reused_per_loop_and_sdk_retries_are_off(
    elevenlabs: ElevenLabsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import elevenlabs.client as sdk

    created: list[dict[str, Any]] = []
    original = sdk.AsyncElevenLabs

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            created.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(sdk, "AsyncElevenLabs", Counting)
    config = el_config(elevenlabs, api_key="xi-other-key-for-this-test", retry=NO_RETRY)
    elevenlabs.inject_status(503, path=TTS_PATH, times=2)
    for _ in range(2):
        with pytest.raises(HTTPError):
            generate_tts(config, TTSRequest(text="hi", voice_id="v"))
    assert len(created) == 1  # one client for both calls (same key, URL, loop)
    assert created[0]["base_url"] == elevenlabs.base_url
    assert created[0]["api_key"] == "xi-other-key-for-this-test"
    assert elevenlabs.count(TTS_PATH) == 2  # SDK retries off: one request per call


def test_handler_is_registered_and_does_not_import_the_sdk_at_import() -> None:
    import subprocess
    import sys

    # Importing the handler module never imports the SDK; planning (get_handler) does,
    # so a missing SDK is a typed error before anything runs (issue 15).
    code = (
        "import sys; import tarash.tarash_gateway.providers.elevenlabs; "
        "before = 'elevenlabs' in sys.modules; "
        "from tarash.tarash_gateway.registry import get_handler; "
        "h = get_handler('elevenlabs'); print(type(h).__name__, before, 'elevenlabs' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ElevenLabsProviderHandler", "False", "True"]
    assert isinstance(get_handler("eleven_labs"), ElevenLabsProviderHandler)


def test_voice_settings_json_for_sts_is_compact(elevenlabs: ElevenLabsEmulator) -> None:
    generate_sts(
        el_config(elevenlabs, "eleven_multilingual_sts_v2"),
        STSRequest(audio=make_wav(0.2), voice_id="t", voice_settings={"style": 0.2, "speed": 0.9}),
    )
    assert json.loads(elevenlabs.last(STS_PATH).form["voice_settings"]) == {
        "style": 0.2,
        "speed": 0.9,
    }


async def test_progress_reports_failed_attempts_and_completion(
    elevenlabs: ElevenLabsEmulator,
) -> None:
    from tarash.tarash_gateway import TTSUpdate

    updates: list[TTSUpdate] = []
    elevenlabs.inject_status(503, path=TTS_PATH)
    response = await generate_tts_async(
        el_config(elevenlabs), TTSRequest(text="hi", voice_id="v"), on_progress=updates.append
    )
    assert [u.status for u in updates] == ["failed", "completed"]
    assert updates[0].attempt == 1 and updates[0].error is not None and "503" in updates[0].error
    assert updates[-1].result == response
    assert {u.request_id for u in updates} == {response.request_id}
