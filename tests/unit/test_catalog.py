"""The model catalog: lifecycle errors and warnings at planning time, unknown models,
schema-checked extra params, defaults, and provider "model not available" answers."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from typing import Any

import pytest

from tarash.tarash_gateway import catalog
from tarash.tarash_gateway.catalog import as_model_unavailable, check_lifecycle, lookup
from tarash.tarash_gateway.defaults import DEFAULT_MODELS
from tarash.tarash_gateway.exceptions import (
    GenerationFailedError,
    HTTPError,
    ModelRetiredError,
    ModelUnavailableError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.orchestrator import should_retry
from tarash.tarash_gateway.registry import get_handler

KEY = "sk-catalog-test-000000"


def image(provider: str, model: str, **fields: Any) -> ImageGenerationConfig:
    return ImageGenerationConfig(provider=provider, model=model, api_key=KEY, **fields)


def prepare(config: Any, request: Any, operation: str) -> Any:
    return get_handler(config.provider).prepare(operation, config, request)


# ---------------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    ("provider", "operation", "model"),
    [(p, op, m) for p, ops in DEFAULT_MODELS.items() for op, m in ops.items()],
)
def test_every_default_is_an_active_catalog_model(
    provider: str, operation: str, model: str
) -> None:
    api = "gemini" if provider == "google" else None  # a key alone talks to the Gemini API
    entry = lookup(provider, model, api)
    if provider in ("fal", "replicate"):
        # registry-backed catalogs: the default must be a mapped endpoint
        assert entry is not None, f"{provider} default {model!r} has no field mapping"
        return
    assert entry is not None, f"{provider} default {model!r} is not in the catalog"
    assert entry.status() == "active", f"{provider} default {model!r} is {entry.status()}"
    assert operation in entry.operations
    if provider == "google":
        vertex = lookup(provider, model, "vertex")
        assert vertex is not None and vertex.status() == "active"


def test_openai_offers_no_video_default_after_the_sora_shutdown() -> None:
    assert "video" not in DEFAULT_MODELS["openai"]
    assert DEFAULT_MODELS["google"]["video"] != "veo-3.0-fast-generate-001"


# ---------------------------------------------------------------------------- lifecycle


def test_retired_model_is_a_typed_error_naming_date_and_replacement() -> None:
    with pytest.raises(ModelRetiredError) as info:
        prepare(image("openai", "gpt-image-1"), ImageGenerationRequest(prompt="x"), "image")
    err = info.value
    assert isinstance(err, ValidationError) and err.field == "model"
    assert err.retired_on == "2026-10-23" and err.replacement == "gpt-image-2.5-sunburst"
    assert "2026-10-23" in str(err) and "gpt-image-2.5-sunburst" in str(err)


def test_sora_is_retired_from_the_sdk_announced_shutdown() -> None:
    config = VideoGenerationConfig(provider="openai", model="sora-2", api_key=KEY)
    with pytest.raises(ModelRetiredError, match="2026-09-24"):
        prepare(config, VideoGenerationRequest(prompt="x"), "video")


def test_a_deprecated_model_warns_until_its_shutdown_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "current_date", lambda: datetime.date(2026, 9, 1))
    config = VideoGenerationConfig(provider="openai", model="sora-2", api_key=KEY)
    prepared = prepare(config, VideoGenerationRequest(prompt="x"), "video")
    assert any("deprecated" in w and "2026-09-24" in w for w in prepared.warnings)
    monkeypatch.setattr(catalog, "current_date", lambda: datetime.date(2026, 9, 24))
    with pytest.raises(ModelRetiredError):
        prepare(config, VideoGenerationRequest(prompt="x"), "video")


def test_retirement_is_reported_before_any_other_check() -> None:
    # DALL·E 3 would also reject n=2; the retirement is what the caller needs to hear.
    with pytest.raises(ModelRetiredError, match="2026-05-12"):
        prepare(image("openai", "dall-e-3"), ImageGenerationRequest(prompt="x", n=2), "image")


def test_google_lifecycle_depends_on_the_api_surface() -> None:
    gemini = image("google", "gemini-2.5-flash-image")
    with pytest.raises(ModelRetiredError, match=r"Gemini API.*2026-10-02"):
        prepare(gemini, ImageGenerationRequest(prompt="x"), "image")
    vertex = image("google", "gemini-2.5-flash-image", provider_config={"vertexai": True})
    prepare(vertex, ImageGenerationRequest(prompt="x"), "image")  # still served on Vertex


def test_a_vertex_only_id_on_the_gemini_api_is_rejected_before_sending() -> None:
    config = VideoGenerationConfig(provider="google", model="veo-3.1-generate-001", api_key=KEY)
    with pytest.raises(ValidationError, match="Vertex AI"):
        prepare(config, VideoGenerationRequest(prompt="x"), "video")


def test_imagen_4_is_retired_on_the_gemini_api() -> None:
    with pytest.raises(ModelRetiredError, match="2026-08-17"):
        prepare(
            image("google", "imagen-4.0-generate-001"), ImageGenerationRequest(prompt="x"), "image"
        )


@pytest.mark.parametrize("model", ["sonic", "sonic-english", "sonic-multilingual"])
def test_cartesia_sunset_models_are_retired(model: str) -> None:
    config = AudioGenerationConfig(provider="cartesia", model=model, api_key=KEY)
    with pytest.raises(ModelRetiredError, match=r"2026-06-01.*sonic-3\.5"):
        prepare(config, TTSRequest(text="hi", voice_id="v"), "tts")


def test_check_lifecycle_ignores_models_outside_the_catalog() -> None:
    assert check_lifecycle("openai", "gpt-image-99", "image") == []
    assert check_lifecycle("cartesia", "sonic-2", "tts")  # deprecated: one warning


# ---------------------------------------------------------------------------- unknown models


def test_an_unknown_model_is_sent_with_a_generic_mapping_and_a_did_you_mean() -> None:
    request = ImageGenerationRequest(prompt="a fox", n=2, size="1024x1024")
    prepared = prepare(image("openai", "gpt-image-2.7"), request, "image")
    assert prepared.payload["prompt"] == "a fox" and prepared.payload["n"] == 2
    assert prepared.payload["size"] == "1024x1024"
    (warning,) = [w for w in prepared.warnings if "not validated" in w]
    assert "did you mean 'gpt-image-2" in warning


def test_strict_models_turns_the_warning_into_an_error() -> None:
    with pytest.raises(ValidationError, match="strict_models") as info:
        prepare(
            image("openai", "gpt-imgae-2", strict_models=True),
            ImageGenerationRequest(prompt="x"),
            "image",
        )
    assert "did you mean 'gpt-image-2'" in str(info.value)


def test_an_unknown_openai_speech_model_goes_out_too() -> None:
    config = AudioGenerationConfig(provider="openai", model="gpt-5-mini-tts", api_key=KEY)
    prepared = prepare(config, TTSRequest(text="hello", voice_id="marin"), "tts")
    assert any("gpt-4o-mini-tts" in w for w in prepared.warnings)


def test_the_mock_models_are_a_closed_set() -> None:
    config = VideoGenerationConfig(provider="mock", model="mock-vidoe", mock=True)
    with pytest.raises(ValidationError, match="did you mean 'mock-video'"):
        prepare(config, VideoGenerationRequest(prompt="x"), "video")
    ok = VideoGenerationConfig(provider="mock", model="mock-video:backup", mock=True)
    assert prepare(ok, VideoGenerationRequest(prompt="x"), "video").warnings == []


def test_a_model_of_another_operation_is_rejected() -> None:
    config = VideoGenerationConfig(provider="runway", model="gen4_image", api_key=KEY)
    with pytest.raises(ValidationError, match="does not do video"):
        prepare(config, VideoGenerationRequest(prompt="x"), "video")


# ---------------------------------------------------------------------------- extra params


def test_unknown_extra_param_is_an_error_with_did_you_mean() -> None:
    request = ImageGenerationRequest(prompt="x", extra_params={"backgrund": "opaque"})
    with pytest.raises(ValidationError) as info:
        prepare(image("openai", "gpt-image-2"), request, "image")
    assert info.value.field == "extra_params.backgrund"
    assert "did you mean 'background'" in str(info.value)


def test_unknown_extra_param_honours_on_unsupported_param() -> None:
    request = ImageGenerationRequest(prompt="x", extra_params={"backgrund": "opaque"})
    warned = prepare(image("openai", "gpt-image-2", on_unsupported_param="warn"), request, "image")
    assert any("backgrund" in w for w in warned.warnings)
    assert warned.payload["backgrund"] == "opaque"  # sent as given
    ignored = prepare(
        image("openai", "gpt-image-2", on_unsupported_param="ignore"), request, "image"
    )
    assert not any("backgrund" in w for w in ignored.warnings)


def test_known_extra_params_pass() -> None:
    request = ImageGenerationRequest(prompt="x", extra_params={"background": "opaque"})
    prepared = prepare(image("openai", "gpt-image-2"), request, "image")
    assert prepared.payload["background"] == "opaque"


# ---------------------------------------------------------------------------- provider answers


@pytest.mark.parametrize(
    ("message", "raw"),
    [
        ("The model `dall-e-3` has been deprecated", {"error": {"code": "model_not_found"}}),
        ("Model sunsetted", {"error_code": "model_sunsetted"}),
        ("models/veo-9 is not found for API version v1beta", None),
        ("This model is not available in your region", None),
    ],
)
def test_model_not_available_answers_fall_back_without_same_config_retries(
    message: str, raw: Any
) -> None:
    mapped = as_model_unavailable(
        HTTPError(message, "openai", "m", raw_response=raw, status_code=404)
    )
    assert isinstance(mapped, ModelUnavailableError)
    assert mapped.retryable is True and mapped.retry_same_config is False
    from tarash.tarash_gateway.models import RetryPolicy

    assert should_retry(RetryPolicy(), mapped) is False  # straight to the next config


def test_other_errors_are_left_alone() -> None:
    job_gone = HTTPError("prediction abc not found", "replicate", "m", status_code=404)
    assert as_model_unavailable(job_gone) is job_gone
    failed = GenerationFailedError("render failed", "fal", "m")
    assert as_model_unavailable(failed) is failed


# ---------------------------------------------------------------------------- tarash models


def test_tarash_models_shows_lifecycle() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tarash.tarash_gateway.cli", "models", "openai", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data = json.loads(result.stdout)["openai"]["catalog"]
    states = {item["model"]: item["lifecycle"] for item in data}
    assert states["gpt-image-1"] == "retired" and states["gpt-image-2"] == "active"
    assert all(item["source"] and item["checked"] for item in data)


def test_importing_the_catalog_builds_nothing() -> None:
    code = (
        "import sys, tarash.tarash_gateway as g, tarash.tarash_gateway.catalog as c;"
        "print(c._LOADED == {}, any(m.endswith('.catalog') and 'providers' in m for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["True", "False"]


@pytest.mark.parametrize(
    ("provider", "model", "operation"),
    [
        ("xai", "grok-imagine-image-3", "image"),
        ("xai", "grok-imagine-video-2", "video"),
        ("stability", "stable-image-ultra-2", "image"),
    ],
)
def test_new_models_of_other_providers_go_out_on_day_one(
    provider: str, model: str, operation: str
) -> None:
    if operation == "video":
        config: Any = VideoGenerationConfig(provider=provider, model=model, api_key=KEY)
        request: Any = VideoGenerationRequest(prompt="a fox")
    else:
        config = image(provider, model)
        request = ImageGenerationRequest(prompt="a fox")
    prepared = prepare(config, request, operation)
    assert "a fox" in prepared.payload.values()
    assert any("did you mean" in w for w in prepared.warnings), prepared.warnings
