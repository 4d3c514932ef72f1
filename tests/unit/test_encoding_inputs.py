"""Encoding problems are rejected when the config or request is built, before any network."""

from __future__ import annotations

import pydantic
import pytest

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    ImageGenerationRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway._secrets import header_value_problem, text_problem

KEY = "sk-encoding-test-0123456789"


@pytest.mark.parametrize(
    ("bad_key", "why"),
    [
        (KEY + "\u2019", "non-ASCII"),  # a pasted curly quote
        ("sk-\u0444\u0430\u043b-0123456789", "non-ASCII"),  # Cyrillic look-alikes
        (KEY + "\n", "newline"),  # read from a file without strip()
        (KEY + "\r\nX-Injected: 1", "carriage return"),
        ("sk-\x00-0123456789", "NUL"),
    ],
)
def test_api_key_that_cannot_be_a_header_is_rejected_without_echoing_it(
    bad_key: str, why: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=why) as info:
        VideoGenerationConfig(provider="fal", model="fal-ai/veo3", api_key=bad_key)
    text = str(info.value) + repr(info.value.errors())
    assert bad_key not in text
    assert bad_key.strip() not in text
    assert "input_value" not in str(info.value)


def test_misspelt_key_field_does_not_copy_the_key_into_errors() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        VideoGenerationConfig(provider="fal", model="fal-ai/veo3", apikey=KEY)  # type: ignore[call-arg]
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value.errors())
    assert KEY not in info.value.json()


def test_header_values_in_provider_config_are_checked() -> None:
    with pytest.raises(pydantic.ValidationError, match="X-Trace"):
        AudioGenerationConfig(
            provider="hume", provider_config={"headers": {"X-Trace": "a\x00b"}}, api_key=KEY
        )
    ok = AudioGenerationConfig(
        provider="hume", provider_config={"headers": {"X-Trace": "abc"}}, api_key=KEY
    )
    assert ok.provider_config["headers"] == {"X-Trace": "abc"}


def test_base_url_with_control_characters_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="control character"):
        VideoGenerationConfig(provider="fal", model="m", base_url="http://127.0.0.1:1/\r\nx")


@pytest.mark.parametrize(
    "build",
    [
        lambda: VideoGenerationRequest(prompt="a fox \ud83e running"),
        lambda: VideoGenerationRequest(prompt="ok", negative_prompt="\udc80"),
        lambda: ImageGenerationRequest(prompt="cat", extra_params={"style_hint": "x\ud800"}),
        lambda: TTSRequest(text="hello \udfff world"),
        lambda: TTSRequest(text="hi", voice_settings={"\ud800": 1}),
    ],
)
def test_lone_surrogates_in_text_are_rejected(build: object) -> None:
    # Ours says "lone surrogate"; pydantic's own str check (constrained fields) says "unicode".
    with pytest.raises(pydantic.ValidationError, match=r"lone surrogate|unicode"):
        build()  # type: ignore[operator]


def test_lone_surrogate_assigned_later_is_rejected_too() -> None:
    request = TTSRequest(text="fine")
    with pytest.raises(pydantic.ValidationError, match=r"lone surrogate|unicode"):
        request.text = "bad \ud800"


def test_valid_unicode_text_and_keys_pass() -> None:
    request = TTSRequest(text="naïve café — 日本語 🦊")
    assert request.text.endswith("🦊")
    config = VideoGenerationConfig(provider="fal", model="m", api_key="Key_abc-123.XYZ~+/=")
    assert config.api_key_value() == "Key_abc-123.XYZ~+/="


def test_helpers_describe_the_problem_without_the_value() -> None:
    assert header_value_problem("plain-ascii") is None
    problem = header_value_problem("s\u00e9cret-value")
    assert problem is not None and "U+00E9" in problem and "cret" not in problem
    assert text_problem("ok") is None
    surrogate = text_problem("ab\ud800")
    assert surrogate is not None and "position 2" in surrogate


@pytest.mark.parametrize("bad", ["fal-key-\u2019abcdef", "fal-key-abcdef\n"])
async def test_a_bad_key_from_the_environment_is_a_validation_error_before_network(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tarash.tarash_gateway import ValidationError, generate_video_async
    from tests.conftest import NO_RETRY
    from tests.emulators.fal import FalEmulator

    monkeypatch.setenv("FAL_KEY", bad)
    with FalEmulator() as fal:
        config = VideoGenerationConfig(
            provider="fal", model="fal-ai/veo3", base_url=fal.base_url, retry=NO_RETRY, timeout=5
        )
        with pytest.raises(ValidationError, match="FAL_KEY"):
            await generate_video_async(config, VideoGenerationRequest(prompt="p"))
        assert fal.requests == []
