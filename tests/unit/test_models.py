"""Configs, requests, responses and media inputs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pydantic
import pytest

from tarash.tarash_gateway.media import MediaInput, coerce_media, sniff_content_type, to_media_input
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    AudioOutputFormat,
    ImageGenerationConfig,
    ImageGenerationRequest,
    MockConfig,
    STSRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers.mock.media import make_png, make_wav

PNG = make_png(8, 8, seed=1)


# ----------------------------------------------------------------------------- configs


def test_config_defaults_match_0_1_0() -> None:
    video = VideoGenerationConfig(provider="fal", model="fal-ai/veo3")
    image = ImageGenerationConfig(provider="openai", model="gpt-image-1")
    audio = AudioGenerationConfig(provider="elevenlabs", model="eleven_multilingual_v2")
    assert (video.timeout, video.max_poll_attempts, video.poll_interval) == (600, 120, 5)
    assert (image.timeout, image.max_poll_attempts, image.poll_interval) == (120, 60, 2)
    assert audio.timeout == 240
    assert audio.base_url is None  # ours has base_url on audio configs too


def test_config_is_frozen_and_rejects_unknown_keys() -> None:
    config = VideoGenerationConfig(provider="fal", model="m")
    with pytest.raises(pydantic.ValidationError):
        config.model = "other"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="timeuot"):
        VideoGenerationConfig(provider="fal", model="m", timeuot=5)  # type: ignore[call-arg]


def test_api_key_is_secret_in_repr_and_dump() -> None:
    config = VideoGenerationConfig(provider="fal", model="m", api_key="fal-super-secret-key")
    assert "fal-super-secret-key" not in repr(config)
    assert "fal-super-secret-key" not in config.model_dump_json()
    assert config.api_key_value() == "fal-super-secret-key"


def test_provider_config_secrets_are_masked_in_repr() -> None:
    config = ImageGenerationConfig(
        provider="azure_openai",
        model="dep",
        provider_config={"azure_ad_token": "aad-token-value-123", "deployment": "x"},
    )
    assert "aad-token-value-123" not in repr(config)
    assert "deployment" in repr(config)


def test_mock_shorthand_and_chain() -> None:
    fallback = VideoGenerationConfig(provider="mock", model="b")
    config = VideoGenerationConfig(
        provider="fal", model="a", mock=True, fallback_configs=[fallback]
    )
    assert config.mock == MockConfig(enabled=True)
    assert config.is_mock
    assert [c.model for c in config.chain()] == ["a", "b"]


def test_base_url_must_be_absolute() -> None:
    with pytest.raises(pydantic.ValidationError, match="base_url"):
        VideoGenerationConfig(provider="fal", model="m", base_url="localhost:8080")


def test_fallback_configs_must_match_the_operation() -> None:
    with pytest.raises(pydantic.ValidationError):
        VideoGenerationConfig(
            provider="fal",
            model="m",
            fallback_configs=[ImageGenerationConfig(provider="x", model="y")],  # type: ignore[list-item]
        )


# ----------------------------------------------------------------------------- requests


def test_unknown_request_fields_go_to_extra_params_without_mutating_input() -> None:
    data = {"prompt": "p", "loop": True, "extra_params": {"fps": 24}}
    snapshot = json.dumps(data, sort_keys=True)
    request = VideoGenerationRequest(**data)  # type: ignore[arg-type]
    assert request.extra_params == {"fps": 24, "loop": True}
    assert json.dumps(data, sort_keys=True) == snapshot


@pytest.mark.parametrize(
    "ratio", ["16:9", "9:16", "1:1", "2:3", "3:2", "4:5", "5:4", "9:21", "auto"]
)
def test_aspect_ratio_accepts_every_provider_ratio(ratio: str) -> None:
    assert VideoGenerationRequest(prompt="p", aspect_ratio=ratio).aspect_ratio == ratio


@pytest.mark.parametrize("ratio", ["16x9", "wide", "0:9", "16:"])
def test_aspect_ratio_rejects_garbage(ratio: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        ImageGenerationRequest(prompt="p", aspect_ratio=ratio)


def test_set_fields_reports_what_the_caller_asked_for() -> None:
    request = VideoGenerationRequest(prompt="p", duration_seconds=5, number_of_videos=1)
    assert request.set_fields() == {"prompt": "p", "duration_seconds": 5}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mp3_44100_128", ("mp3", 44100, 128)),
        ("pcm_16000", ("pcm", 16000, None)),
        ("wav_44100", ("wav", 44100, None)),
        ("ulaw_8000", ("mulaw", 8000, None)),
        ("opus_48000_64", ("opus", 48000, 64)),
        ("mp3", ("mp3", None, None)),
    ],
)
def test_audio_format_accepts_elevenlabs_strings(
    text: str, expected: tuple[str, int | None, int | None]
) -> None:
    fmt = TTSRequest(text="hi", output_format=text).output_format  # type: ignore[arg-type]
    assert (fmt.format, fmt.sample_rate, fmt.bitrate) == expected
    assert AudioOutputFormat.model_validate(text) == fmt


def test_audio_format_round_trips_to_provider_string() -> None:
    assert AudioOutputFormat(format="mp3", sample_rate=44100, bitrate=128).to_provider_string() == (
        "mp3_44100_128"
    )
    assert AudioOutputFormat(format="mulaw", sample_rate=8000).to_provider_string() == "ulaw_8000"


@pytest.mark.parametrize("bad", ["mp3_fast", "pcm_16000_2_3", ""])
def test_audio_format_rejects_bad_strings(bad: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        TTSRequest(text="hi", output_format=bad)  # type: ignore[arg-type]


def test_tts_text_required() -> None:
    with pytest.raises(pydantic.ValidationError):
        TTSRequest(text="")


# ----------------------------------------------------------------------------- media inputs


def test_media_accepts_url_bytes_base64_data_uri_and_path(tmp_path: Path) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    b64 = base64.b64encode(PNG).decode()
    forms = [
        "https://example.com/a.png",
        PNG,
        b64,
        f"data:image/png;base64,{b64}",
        path,
        str(path),
        f"file://{path}",
        {"content": PNG, "content_type": "image/png"},
    ]
    for form in forms:
        request = VideoGenerationRequest(
            prompt="p", image_list=[{"image": form, "type": "reference"}]
        )
        media = to_media_input(request.image_list[0]["image"])
        if media.is_url:
            assert media.url == "https://example.com/a.png"
        else:
            data, ctype = media.read_local()
            assert data == PNG
            assert ctype == "image/png"


@pytest.mark.parametrize(
    "bad", ["not media at all", "/no/such/file.png", "ftp://x", b"", "/proc/self/environ"]
)
def test_media_rejects_invalid_input(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        STSRequest(audio=bad, voice_id="v")  # type: ignore[arg-type]


def test_bare_string_paths_must_name_media_files(tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = abc")
    with pytest.raises(pydantic.ValidationError, match=r"pathlib\.Path"):
        STSRequest(audio=str(secret), voice_id="v")
    # An explicit Path is the caller's decision (any file type), system paths never.
    assert STSRequest(audio=secret, voice_id="v").audio == secret
    with pytest.raises(pydantic.ValidationError, match="system path"):
        STSRequest(audio=Path("/proc/self/environ"), voice_id="v")
    with pytest.raises(pydantic.ValidationError, match="system path"):
        STSRequest(audio="file:///proc/self/environ", voice_id="v")


def test_media_size_limit_is_enforced() -> None:
    media = MediaInput(data=b"x" * 100, content_type="audio/wav")
    with pytest.raises(ValueError, match="over the 10-byte limit"):
        media.read_local(max_bytes=10)


async def test_media_read_data_uri_and_local_async(tmp_path: Path) -> None:
    wav = make_wav(0.1)
    path = tmp_path / "a.wav"
    path.write_bytes(wav)
    data, ctype = await to_media_input(path).read()
    assert (data, ctype) == (wav, "audio/wav")
    assert coerce_media(wav)["content_type"] == "audio/wav"  # type: ignore[index]


@pytest.mark.parametrize(
    ("head", "ctype"),
    [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"RIFF\0\0\0\0WEBP", "image/webp"),
        (b"RIFF\0\0\0\0WAVE", "audio/wav"),
        (b"\0\0\0\x18ftypisom", "video/mp4"),
        (b"ID3\x04", "audio/mpeg"),
        (b"OggS", "audio/ogg"),
        (b"hello", None),
    ],
)
def test_sniff_content_type(head: bytes, ctype: str | None) -> None:
    assert sniff_content_type(head + b"\0" * 16) == ctype


# ----------------------------------------------------------------------------- responses


def test_response_with_bytes_serialises_to_json_and_back() -> None:
    response = VideoGenerationResponse(
        request_id="r",
        video={"content": b"\0\1binary", "content_type": "video/mp4"},
        raw_response={"video_bytes": b"\0\1", "nested": [{"b": b"x"}]},
    )
    text = response.model_dump_json()
    again = VideoGenerationResponse.model_validate_json(text)
    assert again.video == {"content": b"\0\1binary", "content_type": "video/mp4"}
    assert again.raw_response["video_bytes"] == "<2 bytes>"


def test_spec_example_without_model_gets_the_provider_default() -> None:
    # The specification's generate_image example names no model.
    config = ImageGenerationConfig(provider="openai", api_key="OPENAI_KEY-example")
    assert config.model == "gpt-image-2"
    assert AudioGenerationConfig(provider="elevenlabs").model == "eleven_multilingual_v2"
    with pytest.raises(pydantic.ValidationError, match="model"):
        VideoGenerationConfig(provider="my-own-provider")
