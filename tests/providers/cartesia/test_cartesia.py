"""Cartesia, section by section as ``spec/cartesia-provider-design.md`` lists them.

1. output format parsing · 2. TTS request conversion · 3. STS request conversion ·
4. response conversion · 5. error mapping · 6. integration (the real ``cartesia``
SDK against the local emulator, sync + async, success + error propagation) ·
7. client creation. Plus model rules and streaming (bytes + SSE).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    AudioOutputFormat,
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
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
    stream_tts,
    stream_tts_async,
)
from tarash.tarash_gateway.models import MediaContent
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.cartesia import (
    CartesiaProviderHandler,
    parse_output_format,
    supports_generation_config,
)
from tarash.tarash_gateway.providers.mock.media import make_wav
from tarash.tarash_gateway.registry import get_handler
from tests.conftest import FAST_RETRY, NO_RETRY
from tests.emulators.cartesia import CARTESIA_API_KEY, CartesiaEmulator, cartesia_error
from tests.emulators.elevenlabs import render_audio, speech_seconds
from tests.emulators.harness import emulator_fixture

pytestmark = pytest.mark.timeout(60)

cartesia = emulator_fixture(CartesiaEmulator, scope="module")


def config(emu: CartesiaEmulator, model: str = "sonic-3", **kw: Any) -> AudioGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "cartesia",
        "model": model,
        "api_key": CARTESIA_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
    }
    fields.update(kw)
    return AudioGenerationConfig(**fields)


def handler() -> CartesiaProviderHandler:
    found = get_handler("cartesia")
    assert isinstance(found, CartesiaProviderHandler)
    return found


# =================================================================== 1. output format parsing


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("mp3_44100_128", {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}),
        ("mp3_22050_32", {"container": "mp3", "sample_rate": 22050, "bit_rate": 32000}),
        ("mp3_48000_192", {"container": "mp3", "sample_rate": 48000, "bit_rate": 192000}),
        ("mp3", {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}),
        ("wav_44100", {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 44100}),
        ("wav", {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 44100}),
        ("pcm_16000", {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}),
        ("raw_24000", {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000}),
        ("pcm", {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 44100}),
        ("ulaw_8000", {"container": "raw", "encoding": "pcm_mulaw", "sample_rate": 8000}),
        ("alaw", {"container": "raw", "encoding": "pcm_alaw", "sample_rate": 8000}),
        (None, {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}),
        (
            AudioOutputFormat(format="wav", sample_rate=22050),
            {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 22050},
        ),
        (
            {"container": "raw", "encoding": "pcm_f32le", "sample_rate": 24000},
            {"container": "raw", "encoding": "pcm_f32le", "sample_rate": 24000},
        ),
    ],
)
def test_output_format_parsing(given: Any, expected: dict[str, Any]) -> None:
    assert parse_output_format(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "opus_48000_64",
        "flac_44100",
        "mp3_44100_320",
        "mp3_11025_32",
        "pcm_32000",
        {"container": "ogg", "sample_rate": 44100},
        {"container": "raw", "encoding": "pcm_s24le", "sample_rate": 44100},
        {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000, "x": 1},
    ],
)
def test_output_format_parsing_rejects_what_cartesia_cannot_make(given: Any) -> None:
    with pytest.raises(ValueError):
        parse_output_format(given)


def test_invalid_output_format_is_a_validation_error_before_any_request(
    cartesia: CartesiaEmulator,
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_tts(
            config(cartesia), TTSRequest(text="hi", voice_id="v", output_format="opus_48000_64")
        )
    assert info.value.field == "output_format"
    assert "opus" in info.value.message
    assert cartesia.requests == []


# =================================================================== 2. TTS request conversion


def test_tts_minimal_request_body(cartesia: CartesiaEmulator) -> None:
    generate_tts(config(cartesia), TTSRequest(text="Hello", voice_id="voice-1"))
    rec = cartesia.last("/tts/bytes", "POST")
    assert rec.json == {
        "model_id": "sonic-3",
        "transcript": "Hello",
        "voice": {"mode": "id", "id": "voice-1"},
        "output_format": {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000},
    }
    assert rec.headers["authorization"] == f"Bearer {CARTESIA_API_KEY}"
    assert rec.headers["cartesia-version"] == "2026-08-14"
    assert rec.headers["accept"] == "audio/wav"  # the SDK always asks for audio/wav
    assert rec.headers["content-type"] == "application/json"


def test_tts_full_request_with_language_and_generation_config(cartesia: CartesiaEmulator) -> None:
    request = TTSRequest(
        text="Bonjour",
        voice_id="voice-fr",
        language_code="fr",
        output_format="wav_24000",
        extra_params={
            "generation_config": {"emotion": "excited", "speed": 1.2, "volume": 0.8},
            "pronunciation_dict_id": "dict-1",
        },
    )
    generate_tts(config(cartesia, "sonic-3"), request)
    assert cartesia.last("/tts/bytes").json == {
        "model_id": "sonic-3",
        "transcript": "Bonjour",
        "voice": {"mode": "id", "id": "voice-fr"},
        "output_format": {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 24000},
        "language": "fr",
        "generation_config": {"emotion": "excited", "speed": 1.2, "volume": 0.8},
        "pronunciation_dict_id": "dict-1",
    }


def test_tts_extra_params_sdk_kwargs_and_unknown_keys(cartesia: CartesiaEmulator) -> None:
    request = TTSRequest(
        text="x",
        voice_id="v",
        extra_params={"speed": "fast", "save": True, "normalization": "off", "new_field": 1},
        provider_options={"cartesia": {"voice_id": "override"}, "elevenlabs": {"seed": 5}},
    )
    generate_tts(config(cartesia), request)
    body = cartesia.last("/tts/bytes").json
    assert body["speed"] == "fast" and body["save"] is True and body["normalization"] == "off"
    assert body["new_field"] == 1  # unknown passthrough goes into the JSON body
    assert body["voice"] == {"mode": "id", "id": "override"}
    assert "seed" not in body  # another provider's options are not sent here


def test_prepared_payload_is_the_documented_mapping() -> None:
    cfg = AudioGenerationConfig(provider="cartesia", model="sonic-3", api_key="k")
    request = TTSRequest(text="t", voice_id="v", language_code="de", output_format="pcm_16000")
    prepared = handler().prepare("tts", cfg, request)
    assert prepared.payload["kwargs"] == {
        "model_id": "sonic-3",
        "transcript": "t",
        "voice": {"mode": "id", "id": "v"},
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
        "language": "de",
    }
    assert prepared.payload["extra_body"] == {}


@pytest.mark.parametrize(
    ("model", "allowed"),
    [
        ("sonic-3", True),
        ("sonic-3.5", True),
        ("sonic-latest", True),
        ("sonic-3-2026-01-12", True),
        ("sonic-3.5-2026-05-04", True),
        ("sonic-turbo", False),
        ("sonic-turbo-2025-03-07", False),
        ("sonic-2", False),
        ("sonic-next-gen", None),
    ],
)
def test_generation_config_support_by_model(model: str, allowed: bool | None) -> None:
    assert supports_generation_config(model) is allowed


@pytest.mark.parametrize("model", ["sonic-3.5", "sonic-latest", "sonic-3-2025-10-27"])
def test_sonic_3_family_sends_generation_config(cartesia: CartesiaEmulator, model: str) -> None:
    request = TTSRequest(
        text="hi", voice_id="v", extra_params={"generation_config": {"volume": 1.5}}
    )
    response = generate_tts(config(cartesia, model), request)
    assert cartesia.last("/tts/bytes").json["generation_config"] == {"volume": 1.5}
    assert response.warnings == []


def test_sonic_turbo_rejects_generation_config_before_any_request(
    cartesia: CartesiaEmulator,
) -> None:
    request = TTSRequest(
        text="hi", voice_id="v", extra_params={"generation_config": {"speed": 1.1}}
    )
    with pytest.raises(ValidationError) as info:
        generate_tts(config(cartesia, "sonic-turbo"), request)
    assert info.value.field == "generation_config"
    assert cartesia.requests == []


def test_sonic_turbo_minimal_request_works(cartesia: CartesiaEmulator) -> None:
    response = generate_tts(config(cartesia, "sonic-turbo"), TTSRequest(text="fast", voice_id="v"))
    assert cartesia.last("/tts/bytes").json["model_id"] == "sonic-turbo"
    assert response.audio_bytes


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"generation_config": {"speed": 2.0}}, "generation_config.speed"),
        ({"generation_config": {"volume": 0.1}}, "generation_config.volume"),
        ({"generation_config": {"emotion": 3}}, "generation_config.emotion"),
        ({"generation_config": "loud"}, "generation_config"),
        ({"speed": 1.3}, "speed"),
        ({"transcript": "sneaky"}, "transcript"),
        ({"locale": "en-GB"}, "language_code"),
    ],
)
def test_tts_invalid_extras_fail_before_any_request(
    cartesia: CartesiaEmulator, extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_tts(
            config(cartesia),
            TTSRequest(text="hi", voice_id="v", language_code="en", extra_params=extra),
        )
    assert info.value.field == field
    assert cartesia.requests == []


def test_voice_id_is_required_and_voice_settings_unsupported(cartesia: CartesiaEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        generate_tts(config(cartesia), TTSRequest(text="hi"))
    assert info.value.field == "voice_id"
    with pytest.raises(ValidationError) as info:
        generate_tts(
            config(cartesia), TTSRequest(text="hi", voice_id="v", voice_settings={"stability": 1})
        )
    assert info.value.field == "voice_settings"
    assert cartesia.requests == []
    response = generate_tts(
        config(cartesia, on_unsupported_param="warn"),
        TTSRequest(text="hi", voice_id="v", voice_settings={"stability": 1}),
    )
    assert any("voice_settings" in w for w in response.warnings)
    assert "voice_settings" not in cartesia.last("/tts/bytes").json


# =================================================================== 3. STS request conversion


def _inputs(emu: CartesiaEmulator, tmp_path: Path) -> tuple[bytes, dict[str, Any]]:
    wav = make_wav(0.35, sample_rate=16000, seed=9)
    path = tmp_path / "in.wav"
    path.write_bytes(wav)
    b64 = base64.b64encode(wav).decode()
    return wav, {
        "media_content": MediaContent(content=wav, content_type="audio/wav"),
        "bytes": wav,
        "base64": b64,
        "data_uri": f"data:audio/wav;base64,{b64}",
        "url": emu.add_file(wav, "audio/wav", filename="clip.wav"),
        "path": path,
    }


@pytest.mark.parametrize("form", ["media_content", "bytes", "base64", "data_uri", "url", "path"])
def test_sts_audio_resolution_and_multipart_fields(
    cartesia: CartesiaEmulator, tmp_path: Path, form: str
) -> None:
    wav, inputs = _inputs(cartesia, tmp_path)
    response = generate_sts(
        config(cartesia),
        STSRequest(audio=inputs[form], voice_id="target", output_format="mp3_22050_64"),
    )
    rec = cartesia.last("/voice-changer/bytes", "POST")
    assert rec.form == {
        "voice[id]": "target",
        "output_format[container]": "mp3",
        "output_format[sample_rate]": "22050",
        "output_format[bit_rate]": "64000",
    }
    assert rec.files["clip"].data == wav
    assert rec.files["clip"].content_type == "audio/wav"
    assert rec.headers["cartesia-version"] == "2026-08-14"
    assert response.content_type == "audio/mpeg"
    assert response.output_format == "mp3_22050_64"
    assert response.duration == pytest.approx(0.35, abs=1 / 22050)  # whole samples


def test_sts_raw_output_sends_encoding(cartesia: CartesiaEmulator) -> None:
    generate_sts(
        config(cartesia), STSRequest(audio=make_wav(0.2), voice_id="t", output_format="ulaw_8000")
    )
    assert cartesia.last("/voice-changer/bytes").form == {
        "voice[id]": "t",
        "output_format[container]": "raw",
        "output_format[encoding]": "pcm_mulaw",
        "output_format[sample_rate]": "8000",
    }


@pytest.mark.parametrize("form", ["bytes", "path", "base64"])
def test_sts_size_limit_is_checked_before_any_request(
    cartesia: CartesiaEmulator, tmp_path: Path, form: str
) -> None:
    _, inputs = _inputs(cartesia, tmp_path)
    with pytest.raises(ValidationError) as info:
        generate_sts(
            config(cartesia, max_input_bytes=500), STSRequest(audio=inputs[form], voice_id="t")
        )
    assert info.value.field == "audio"
    assert cartesia.requests == []


def test_sts_url_size_limit_stops_before_the_voice_changer(
    cartesia: CartesiaEmulator, tmp_path: Path
) -> None:
    _, inputs = _inputs(cartesia, tmp_path)
    with pytest.raises(ValidationError) as info:
        generate_sts(
            config(cartesia, max_input_bytes=500), STSRequest(audio=inputs["url"], voice_id="t")
        )
    assert info.value.field == "audio"
    assert cartesia.count("/voice-changer/bytes") == 0


# =================================================================== 4. response conversion


@pytest.mark.parametrize(
    ("fmt", "ctype", "container", "rate", "extra"),
    [
        ("mp3_44100_128", "audio/mpeg", "mp3", 44100, {"bit_rate": 128000}),
        ("wav_16000", "audio/wav", "wav", 16000, {}),
        ("pcm_24000", "audio/pcm", "raw", 24000, {}),
        ("ulaw_8000", "audio/basic", "raw", 8000, {"encoding": "pcm_mulaw"}),
        ("alaw_8000", "audio/x-alaw-basic", "raw", 8000, {"encoding": "pcm_alaw"}),
    ],
)
async def test_tts_response_conversion(
    cartesia: CartesiaEmulator,
    fmt: str,
    ctype: str,
    container: str,
    rate: int,
    extra: dict[str, Any],
) -> None:
    text = "Convert me"
    response = await generate_tts_async(
        config(cartesia), TTSRequest(text=text, voice_id="v", output_format=fmt)
    )
    expected = render_audio(container, rate, duration=speech_seconds(text), **extra)
    assert response.audio == base64.b64encode(expected).decode("ascii")
    assert response.audio_bytes == expected
    assert response.content_type == ctype
    assert response.output_format == fmt
    assert response.sample_rate == rate
    assert response.duration == pytest.approx(speech_seconds(text), abs=1e-6)
    assert response.cost is None  # Cartesia reports no per-request cost
    assert response.raw_response["output_format"]["container"] == container
    assert response.raw_response["audio_bytes"] == len(expected)
    assert response.provider == "cartesia" and response.is_mock is False


def test_raw_f32le_duration(cartesia: CartesiaEmulator) -> None:
    request = TTSRequest(
        text="float audio",
        voice_id="v",
        provider_options={
            "cartesia": {
                "output_format": {"container": "raw", "encoding": "pcm_f32le", "sample_rate": 16000}
            }
        },
    )
    response = generate_tts(config(cartesia), request)
    assert cartesia.last("/tts/bytes").json["output_format"]["encoding"] == "pcm_f32le"
    assert response.duration == pytest.approx(speech_seconds("float audio"))
    assert response.output_format == "pcm_f32le_16000"


# =================================================================== 5. error mapping


@pytest.mark.parametrize(
    ("status", "error_type", "retryable"),
    [
        (400, ValidationError, False),
        (401, AuthenticationError, False),
        (402, HTTPError, True),  # payment required: fall back, never retry this config
        (403, ContentModerationError, False),
        (404, HTTPError, False),
        (422, ValidationError, False),
        (429, RateLimitError, True),
        (500, HTTPError, True),
        (503, HTTPError, True),
    ],
)
def test_status_error_mapping(
    cartesia: CartesiaEmulator, status: int, error_type: type[Exception], retryable: bool
) -> None:
    body = cartesia_error(status, "scripted failure")
    cartesia.inject_status(status, body, path="/tts/bytes", times=None)
    with pytest.raises(error_type) as info:
        generate_tts(config(cartesia), TTSRequest(text="hi", voice_id="v"))
    error = info.value
    assert type(error) is error_type
    assert error.retryable is retryable
    assert error.request_id == body["request_id"]
    assert body["error_code"] in error.message and "scripted failure" in error.message
    assert getattr(error, "status_code", status) == status
    assert cartesia.count("/tts/bytes") == (3 if retryable and error.retry_same_config else 1)


def test_429_retry_after_then_success(cartesia: CartesiaEmulator) -> None:
    cartesia.inject_status(429, path="/tts/bytes", retry_after="0.12")
    generate_tts(config(cartesia), TTSRequest(text="hi", voice_id="v"))
    first, second = cartesia.find("/tts/bytes")
    assert first.status == 429 and second.status == 200
    assert second.received_at - first.received_at >= 0.11


def test_plain_text_error_body(cartesia: CartesiaEmulator) -> None:
    cartesia.inject_status(400, "Bad Request: transcript too long", path="/tts/bytes")
    with pytest.raises(ValidationError) as info:
        generate_tts(config(cartesia), TTSRequest(text="hi", voice_id="v"))
    assert "transcript too long" in info.value.message


def test_connection_error_is_retryable(cartesia: CartesiaEmulator) -> None:
    cartesia.inject_drop(path="/tts/bytes", times=None)
    with pytest.raises(HTTPConnectionError) as info:
        generate_tts(config(cartesia), TTSRequest(text="hi", voice_id="v"))
    assert info.value.retryable and info.value.outcome_unknown
    assert cartesia.count("/tts/bytes") == 1  # sent once: a resend could pay twice


def test_timeout_is_retryable_timeout_error(cartesia: CartesiaEmulator) -> None:
    cartesia.inject_delay(3.0, path="/tts/bytes")
    with pytest.raises(TimeoutError) as info:
        generate_tts(config(cartesia, timeout=0.4), TTSRequest(text="hi", voice_id="v"))
    assert info.value.retryable


def _ctx() -> AttemptContext:
    cfg = AudioGenerationConfig(provider="cartesia", model="sonic-3", api_key="k")
    return AttemptContext(request_id="tg_x", operation="tts", config=cfg, provider="cartesia")


def test_sdk_timeout_and_unknown_exceptions_map() -> None:
    import cartesia as sdk

    request = httpx.Request("POST", "http://127.0.0.1/tts/bytes")
    timeout = handler().map_error(sdk.APITimeoutError(request), _ctx())
    assert isinstance(timeout, TimeoutError) and timeout.retryable
    conn = handler().map_error(sdk.APIConnectionError(request=request), _ctx())
    assert isinstance(conn, HTTPConnectionError) and conn.retryable
    assert handler().map_error(RuntimeError("boom"), _ctx()) is None  # orchestrator wraps it
    response = httpx.Response(200, request=request)
    bad = handler().map_error(sdk.APIResponseValidationError(response, {"x": 1}), _ctx())
    assert isinstance(bad, GenerationFailedError) and bad.retryable


def test_unknown_exception_becomes_generation_failed(
    cartesia: CartesiaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unexpected")

    client = _client_on_portal(config(cartesia))
    monkeypatch.setattr(client.tts, "generate", explode)
    with pytest.raises(GenerationFailedError) as info:
        generate_tts(config(cartesia), TTSRequest(text="hi", voice_id="v"))
    assert "RuntimeError" in info.value.message


def _client_on_portal(cfg: AudioGenerationConfig) -> Any:
    from tarash.tarash_gateway._sync import run_sync

    async def get() -> Any:
        return handler().sdk_client(cfg)

    return run_sync(get())


# =================================================================== 6. integration (SDK ⇄ emulator)


def test_sync_tts_and_sts(cartesia: CartesiaEmulator) -> None:
    tts = generate_tts(
        config(cartesia), TTSRequest(text="Integration", voice_id="v", output_format="wav_22050")
    )
    sts = generate_sts(
        config(cartesia), STSRequest(audio=tts.audio_bytes, voice_id="w", output_format="wav_22050")
    )
    assert sts.duration == pytest.approx(tts.duration)
    assert cartesia.last("/voice-changer/bytes").files["clip"].data == tts.audio_bytes


async def test_async_tts_and_sts(cartesia: CartesiaEmulator) -> None:
    tts = await generate_tts_async(config(cartesia), TTSRequest(text="Async", voice_id="v"))
    sts = await generate_sts_async(
        config(cartesia), STSRequest(audio=tts.audio_bytes, voice_id="w")
    )
    assert tts.content_type == sts.content_type == "audio/mpeg"
    assert cartesia.count("/tts/bytes") == cartesia.count("/voice-changer/bytes") == 1


async def test_async_error_propagation_carries_metadata(cartesia: CartesiaEmulator) -> None:
    cartesia.inject_status(500, path="/voice-changer/bytes", times=None)
    with pytest.raises(HTTPError) as info:
        await generate_sts_async(config(cartesia), STSRequest(audio=make_wav(0.2), voice_id="w"))
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == 3
    assert all(a.error_type == "HTTPError" for a in meta.attempts)


def test_missing_version_header_is_rejected_by_the_emulator(cartesia: CartesiaEmulator) -> None:
    answer = httpx.post(
        f"{cartesia.base_url}/tts/bytes",
        headers={"Authorization": f"Bearer {CARTESIA_API_KEY}"},
        json={"model_id": "sonic-3", "transcript": "x", "voice": "v"},
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "missing_version"


# =================================================================== 7. client creation


def test_client_uses_config_key_base_url_no_retries_and_is_cached(
    cartesia: CartesiaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cartesia as sdk

    created: list[dict[str, Any]] = []
    original = sdk.AsyncCartesia

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            created.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(sdk, "AsyncCartesia", Counting)
    cfg = config(cartesia, api_key="sk_car_other", retry=NO_RETRY)
    cartesia.inject_status(503, path="/tts/bytes", times=None)
    for _ in range(2):
        with pytest.raises(HTTPError):
            generate_tts(cfg, TTSRequest(text="hi", voice_id="v"))
    assert len(created) == 1
    assert created[0]["api_key"] == "sk_car_other"
    assert created[0]["base_url"] == cartesia.base_url
    assert created[0]["max_retries"] == 0
    assert cartesia.count("/tts/bytes") == 2  # one request per call: no SDK retries


def test_client_with_api_key_from_environment(
    cartesia: CartesiaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARTESIA_API_KEY", CARTESIA_API_KEY)
    generate_tts(config(cartesia, api_key=None), TTSRequest(text="env", voice_id="v"))
    assert cartesia.last("/tts/bytes").headers["authorization"] == f"Bearer {CARTESIA_API_KEY}"


def test_client_without_api_key_fails_before_any_request(cartesia: CartesiaEmulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        generate_tts(config(cartesia, api_key=None), TTSRequest(text="hi", voice_id="v"))
    assert "CARTESIA_API_KEY" in info.value.message
    assert cartesia.requests == []


async def test_async_client_per_event_loop_and_api_version(cartesia: CartesiaEmulator) -> None:
    cfg = config(cartesia, api_version="2025-04-16")
    first = handler().sdk_client(cfg)
    assert handler().sdk_client(cfg) is first  # cached on this loop
    await generate_tts_async(cfg, TTSRequest(text="v", voice_id="v"))
    assert cartesia.last("/tts/bytes").headers["cartesia-version"] == "2025-04-16"
    on_portal = _client_on_portal(cfg)
    assert on_portal is not first  # another loop gets its own client


# =================================================================== streaming


def test_stream_bytes_endpoint(cartesia: CartesiaEmulator) -> None:
    cartesia.stream_chunks = 5
    with stream_tts(
        config(cartesia), TTSRequest(text="Stream bytes", voice_id="v", output_format="wav_16000")
    ) as s:
        chunks = list(s)
    assert len(chunks) >= 2
    assert b"".join(chunks) == render_audio("wav", 16000, duration=speech_seconds("Stream bytes"))
    assert s.output_format == "wav_16000" and s.content_type == "audio/wav"
    assert cartesia.last("/tts/bytes").json["transcript"] == "Stream bytes"


async def test_stream_sse_endpoint(cartesia: CartesiaEmulator) -> None:
    cartesia.stream_chunks = 4
    cfg = config(cartesia, provider_config={"tts_stream_endpoint": "sse"})
    request = TTSRequest(
        text="Stream SSE", voice_id="v", output_format="pcm_16000", language_code="en"
    )
    async with stream_tts_async(cfg, request) as s:
        chunks = [c async for c in s]
    assert len(chunks) == 4
    assert b"".join(chunks) == render_audio("pcm", 16000, duration=speech_seconds("Stream SSE"))
    rec = cartesia.last("/tts/sse")
    assert rec.headers["accept"] == "text/event-stream"
    assert rec.json["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
    }
    assert rec.json["language"] == "en"


def test_stream_sse_with_mp3_is_a_validation_error_without_a_request(
    cartesia: CartesiaEmulator,
) -> None:
    cfg = config(cartesia, provider_config={"tts_stream_endpoint": "sse"})
    with pytest.raises(ValidationError) as info:
        stream_tts(cfg, TTSRequest(text="x", voice_id="v")).read_all()
    assert info.value.field == "output_format"
    assert cartesia.requests == []


def test_stream_endpoint_setting_is_validated(cartesia: CartesiaEmulator) -> None:
    with pytest.raises(ValidationError):
        stream_tts(
            config(cartesia, provider_config={"tts_stream_endpoint": "ws"}),
            TTSRequest(text="x", voice_id="v"),
        )


def test_stream_break_after_first_chunk_raises(cartesia: CartesiaEmulator) -> None:
    cartesia.stream_chunks = 4
    cartesia.break_next_stream(after_chunks=1)
    got: list[bytes] = []
    with (
        pytest.raises(HTTPConnectionError),
        stream_tts(config(cartesia), TTSRequest(text="break", voice_id="v")) as s,
    ):
        got.extend(s)  # keeps what arrived before the error
    assert len(got) == 1
    assert cartesia.count("/tts/bytes") == 1


def test_stream_close_cancels_upstream(cartesia: CartesiaEmulator) -> None:
    cartesia.stream_chunks = 40
    cartesia.chunk_delay = 0.03
    s = stream_tts(
        config(cartesia), TTSRequest(text="a long one " * 8, voice_id="v"), buffer_chunks=1
    )
    assert next(s)
    s.close()
    deadline = time.monotonic() + 5
    while not cartesia.stream_events[0]["disconnected"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cartesia.stream_events[0]["disconnected"] == "client"
    assert cartesia.stream_events[0]["sent"] < 40
