"""Stability AI through the public API against the local REST emulator (our own httpx code)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tarash.tarash_gateway import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    ImageGenerationConfig,
    ImageGenerationRequest,
    MockConfig,
    MockResponse,
    RateLimitError,
    TimeoutError,
    ValidationError,
    generate_image,
    generate_image_async,
)
from tarash.tarash_gateway.http import aclose_clients
from tarash.tarash_gateway.models import ImageGenerationUpdate, RetryPolicy
from tests.conftest import FAST_RETRY
from tests.emulators.harness import emulator_fixture
from tests.emulators.stability import STABILITY_API_KEY, StabilityEmulator

pytestmark = pytest.mark.timeout(30)

stability = emulator_fixture(StabilityEmulator, scope="module")

PNG = b"\x89PNG\r\n\x1a\n" + b"input-image-bytes"
JPEG = b"\xff\xd8\xff\xe0" + b"input-jpeg-bytes"
GENERATE = r"^/v2beta/stable-image/generate/"


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await aclose_clients()


def config(
    emu: StabilityEmulator, model: str = "sd3.5-large", **kwargs: Any
) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "stability",
        "model": model,
        "api_key": STABILITY_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
    }
    fields.update(kwargs)
    return ImageGenerationConfig(**fields)


def decoded(image: str) -> bytes:
    return base64.b64decode(image)


# --------------------------------------------------------------------------- success


@pytest.mark.parametrize(
    ("model", "endpoint", "model_field"),
    [
        ("stable-image-ultra", "ultra", None),
        ("stable-image-core", "core", None),
        ("sd3.5-large", "sd3", "sd3.5-large"),
        ("sd3.5-large-turbo", "sd3", "sd3.5-large-turbo"),
        ("sd3.5-medium", "sd3", "sd3.5-medium"),
        ("sd3.5-flash", "sd3", "sd3.5-flash"),
    ],
)
async def test_text_to_image_per_model_sends_exact_multipart(
    stability: StabilityEmulator, model: str, endpoint: str, model_field: str | None
) -> None:
    response = await generate_image_async(
        config(stability, model),
        ImageGenerationRequest(
            prompt="a lighthouse at dusk", aspect_ratio="21:9", seed=1234, style="cinematic"
        ),
    )

    rec = stability.last(GENERATE, "POST")
    assert rec.path == f"/v2beta/stable-image/generate/{endpoint}"
    assert rec.content_type.startswith("multipart/form-data; boundary=")
    assert rec.header("Authorization") == f"Bearer {STABILITY_API_KEY}"
    assert rec.header("Accept") == "image/*"
    expected = {
        "prompt": "a lighthouse at dusk",
        "aspect_ratio": "21:9",
        "seed": "1234",
        "style_preset": "cinematic",
    }
    if model_field:
        expected["model"] = model_field
    assert rec.form == expected
    assert rec.files == {}
    assert stability.count() == 1

    assert response.provider == "stability"
    assert response.model == model
    assert response.content_type == "image/png"
    assert response.seed == 1234
    assert decoded(response.images[0]).startswith(b"\x89PNG\r\n\x1a\nSTABILITY-EMULATOR:")
    assert response.provider_request_id
    assert response.raw_response["finish_reason"] == "SUCCESS"
    assert response.cost is None


async def test_prompt_only_is_still_a_real_multipart_body(stability: StabilityEmulator) -> None:
    await generate_image_async(
        config(stability, "stable-image-core"), ImageGenerationRequest(prompt="minimal")
    )
    rec = stability.last(GENERATE)
    assert rec.form == {"prompt": "minimal"}
    boundary = rec.content_type.split("boundary=")[1]
    assert rec.body.startswith(f"--{boundary}\r\n".encode())
    assert b'Content-Disposition: form-data; name="prompt"' in rec.body


async def test_sd3_image_to_image_with_strength(stability: StabilityEmulator) -> None:
    response = await generate_image_async(
        config(stability, "sd3.5-medium"),
        ImageGenerationRequest(
            prompt="make it autumn",
            negative_prompt="snow",
            image_list=[{"image": PNG, "type": "reference"}],
            provider_options={"stability": {"strength": 0.35, "cfg_scale": 5}},
        ),
    )
    rec = stability.last(GENERATE)
    assert rec.path.endswith("/sd3")
    assert rec.form == {
        "model": "sd3.5-medium",
        "prompt": "make it autumn",
        "negative_prompt": "snow",
        "strength": "0.35",
        "mode": "image-to-image",
        "cfg_scale": "5",
    }
    image = rec.files["image"]
    assert image.data == PNG
    assert image.content_type == "image/png"
    assert image.filename == "image.png"
    assert response.images


async def test_ultra_image_to_image_from_path_with_jpeg_output(
    stability: StabilityEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(JPEG)
    response = await generate_image_async(
        config(stability, "stable-image-ultra"),
        ImageGenerationRequest(
            prompt="oil painting",
            image_list=[{"image": source, "type": "reference"}],
            extra_params={"strength": 0.8, "output_format": "jpg"},
        ),
    )
    rec = stability.last(GENERATE)
    assert rec.path.endswith("/ultra")
    assert rec.form == {"prompt": "oil painting", "strength": "0.8", "output_format": "jpeg"}
    assert rec.files["image"].data == JPEG
    assert rec.files["image"].content_type == "image/jpeg"
    assert response.content_type == "image/jpeg"
    assert decoded(response.images[0]).startswith(b"\xff\xd8\xff")


async def test_json_accept_mode_reads_body_and_type(stability: StabilityEmulator) -> None:
    response = await generate_image_async(
        config(stability, "stable-image-core", provider_config={"accept": "application/json"}),
        ImageGenerationRequest(
            prompt="a fox", seed=77, provider_options={"stability": {"output_format": "webp"}}
        ),
    )
    rec = stability.last(GENERATE)
    assert rec.header("Accept") == "application/json"
    assert rec.form == {"prompt": "a fox", "seed": "77", "output_format": "webp"}
    assert response.content_type == "image/webp"
    assert response.seed == 77
    assert decoded(response.images[0]).startswith(b"RIFF")
    assert response.raw_response["finish_reason"] == "SUCCESS"
    assert "image" not in response.raw_response  # no megabytes of base64 in raw_response


def test_sync_api_and_progress_events(stability: StabilityEmulator) -> None:
    updates: list[ImageGenerationUpdate] = []
    response = generate_image(
        config(stability, "sd3.5-large"),
        ImageGenerationRequest(prompt="sync call"),
        on_progress=updates.append,
    )
    assert response.images
    assert [u.status for u in updates] == ["processing", "completed"]
    assert updates[-1].result is not None
    assert updates[-1].result.images == response.images


async def test_key_from_environment(
    stability: StabilityEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STABILITY_API_KEY", STABILITY_API_KEY)
    response = await generate_image_async(
        config(stability, api_key=None), ImageGenerationRequest(prompt="env key")
    )
    assert response.images
    assert stability.last().header("Authorization") == f"Bearer {STABILITY_API_KEY}"


async def test_unregistered_sd3_model_is_sent_with_a_warning(
    stability: StabilityEmulator,
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_image_async(
            config(stability, "sd3.7-preview"), ImageGenerationRequest(prompt="new model")
        )
    # The request went out with the SD3 rules; the (emulated) API rejected the model name.
    assert stability.last(GENERATE).form["model"] == "sd3.7-preview"
    assert info.value.field == "model"
    assert stability.count() == 1


# --------------------------------------------------------------------------- moderation


@pytest.mark.parametrize("accept", ["image/*", "application/json"])
async def test_content_filtered_finish_reason_is_moderation(
    stability: StabilityEmulator, accept: str
) -> None:
    stability.finish_reason = "CONTENT_FILTERED"
    fallback = ImageGenerationConfig(provider="mock", model="mock-image")
    with pytest.raises(ContentModerationError) as info:
        await generate_image_async(
            config(stability, provider_config={"accept": accept}, fallback_configs=[fallback]),
            ImageGenerationRequest(prompt="something"),
        )
    assert "CONTENT_FILTERED" in str(info.value)
    assert info.value.retryable is False
    assert stability.count() == 1  # never retried, never fell back
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == 1


async def test_403_content_moderation_body(stability: StabilityEmulator) -> None:
    with pytest.raises(ContentModerationError) as info:
        await generate_image_async(
            config(stability, "stable-image-ultra"),
            ImageGenerationRequest(prompt="show forbidden-content please"),
        )
    assert "content_moderation" in str(info.value)
    assert info.value.raw_response["name"] == "content_moderation"
    assert info.value.request_id  # the error body's id
    assert stability.count() == 1


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("model", "request_fields", "provider_config", "field"),
    [
        ("sd3.5-large", {"prompt": "x" * 10_001}, {}, "prompt"),
        ("sd3.5-large", {"prompt": "   "}, {}, "prompt"),
        ("stable-image-core", {"prompt": "p", "aspect_ratio": "4:3"}, {}, "aspect_ratio"),
        ("stable-image-core", {"prompt": "p", "seed": 4_294_967_295}, {}, "seed"),
        ("stable-image-core", {"prompt": "p", "style": "watercolor"}, {}, "style"),
        ("stable-image-core", {"prompt": "p", "size": "1024x1024"}, {}, "size"),
        ("stable-image-core", {"prompt": "p", "n": 2}, {}, "n"),
        (
            "stable-image-core",
            {"prompt": "p", "image_list": [{"image": PNG, "type": "reference"}]},
            {},
            "image_list",
        ),
        (
            "sd3.5-large",
            {"prompt": "p", "provider_options": {"stability": {"output_format": "webp"}}},
            {},
            "extra_params",
        ),
        (
            "sd3.5-large",
            {"prompt": "p", "image_list": [{"image": PNG, "type": "reference"}]},
            {},
            "extra_params",
        ),
        ("sd3.5-large", {"prompt": "p", "extra_params": {"strength": 0.5}}, {}, "extra_params"),
        (
            "stable-image-ultra",
            {
                "prompt": "p",
                "aspect_ratio": "1:1",
                "image_list": [{"image": PNG, "type": "reference"}],
                "extra_params": {"strength": 0.5},
            },
            {},
            "aspect_ratio",
        ),
        (
            "stable-image-ultra",
            {
                "prompt": "p",
                "image_list": [{"image": PNG, "type": "reference"}],
                "extra_params": {"strength": 1.5},
            },
            {},
            "extra_params",
        ),
        ("sd3.5-large-turbo", {"prompt": "p", "negative_prompt": "blur"}, {}, "negative_prompt"),
        ("sd3.5-large", {"prompt": "p", "extra_params": {"cfg_scale": 11}}, {}, "extra_params"),
        ("sd3.5-large", {"prompt": "p"}, {"accept": "text/html"}, "provider_config.accept"),
        ("stable-diffusion-xl-1024", {"prompt": "p"}, {}, "model"),
    ],
)
async def test_invalid_requests_fail_before_any_request(
    stability: StabilityEmulator,
    model: str,
    request_fields: dict[str, Any],
    provider_config: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_image_async(
            config(stability, model, provider_config=provider_config),
            ImageGenerationRequest(**request_fields),
        )
    assert info.value.field == field
    assert info.value.provider == "stability"
    assert stability.requests == []


async def test_mocked_stability_config_still_validates(stability: StabilityEmulator) -> None:
    with pytest.raises(ValidationError):
        await generate_image_async(
            config(stability, "stable-image-core", mock=MockConfig(enabled=True)),
            ImageGenerationRequest(prompt="p", aspect_ratio="4:3"),
        )
    mocked = await generate_image_async(
        config(stability, "stable-image-core", mock=True), ImageGenerationRequest(prompt="p")
    )
    assert mocked.is_mock
    assert stability.requests == []


# --------------------------------------------------------------------------- API errors


async def test_400_error_body_becomes_validation_error_with_fields(
    stability: StabilityEmulator,
) -> None:
    # "sampler" is not in the endpoint's schema: the catalog stops it before sending...
    with pytest.raises(ValidationError) as early:
        await generate_image_async(
            config(stability, "stable-image-core"),
            ImageGenerationRequest(prompt="p", extra_params={"sampler": "euler"}),
        )
    assert early.value.field == "extra_params.sampler" and stability.count() == 0
    # ...and under on_unsupported_param="warn" it is sent, and the API's 400 is typed.
    with pytest.raises(ValidationError) as info:
        await generate_image_async(
            config(stability, "stable-image-core", on_unsupported_param="warn"),
            ImageGenerationRequest(prompt="p", extra_params={"sampler": "euler"}),
        )
    assert stability.last(GENERATE).form["sampler"] == "euler"  # pass-through reached the API
    assert info.value.field == "sampler"
    assert info.value.errors[0]["field"] == "sampler"
    assert "bad_request" in str(info.value)
    assert stability.count() == 1


async def test_401_wrong_key(stability: StabilityEmulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        await generate_image_async(
            config(stability, api_key="sk-wrong"), ImageGenerationRequest(prompt="p")
        )
    assert info.value.status_code == 401
    assert "unauthorized" in str(info.value)
    assert "sk-wrong" not in str(info.value)
    assert stability.count() == 1


async def test_403_without_moderation_is_authentication(stability: StabilityEmulator) -> None:
    stability.inject_status(403, {"id": "e1", "name": "forbidden", "errors": ["no access"]})
    with pytest.raises(AuthenticationError) as info:
        await generate_image_async(config(stability), ImageGenerationRequest(prompt="p"))
    assert info.value.status_code == 403
    assert info.value.request_id == "e1"


async def test_413_is_validation_error_not_retried(stability: StabilityEmulator) -> None:
    stability.inject_status(
        413, {"id": "e2", "name": "payload_too_large", "errors": ["image: exceeds 10MiB"]}
    )
    with pytest.raises(ValidationError) as info:
        await generate_image_async(config(stability), ImageGenerationRequest(prompt="p"))
    assert "too large" in str(info.value)
    assert info.value.field == "image"
    assert info.value.retryable is False
    assert stability.count() == 1


async def test_429_is_retried_with_retry_after(stability: StabilityEmulator) -> None:
    stability.inject_status(429, path=GENERATE, retry_after=0.05)
    response = await generate_image_async(config(stability), ImageGenerationRequest(prompt="p"))
    assert stability.count(GENERATE) == 2
    meta = response.execution_metadata
    assert meta is not None
    assert [a.error_type for a in meta.attempts] == ["RateLimitError", None]
    assert meta.attempts[1].status == "success"


async def test_429_exhausted_raises_rate_limit(stability: StabilityEmulator) -> None:
    stability.inject_status(429, path=GENERATE, times=None, retry_after=0.01)
    with pytest.raises(RateLimitError) as info:
        await generate_image_async(config(stability), ImageGenerationRequest(prompt="p"))
    assert info.value.retryable is True
    assert info.value.retry_after == pytest.approx(0.01)
    assert stability.count(GENERATE) == FAST_RETRY.max_retries + 1


async def test_5xx_retried_then_falls_back_to_mock(stability: StabilityEmulator) -> None:
    stability.inject_status(503, path=GENERATE, times=None)
    fallback = ImageGenerationConfig(provider="mock", model="mock-image")
    response = await generate_image_async(
        config(stability, fallback_configs=[fallback]), ImageGenerationRequest(prompt="p")
    )
    assert stability.count(GENERATE) == FAST_RETRY.max_retries + 1
    assert response.provider == "mock"
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert [a.error_type for a in meta.attempts[:3]] == ["HTTPError"] * 3


async def test_500_error_is_retryable_http_error(stability: StabilityEmulator) -> None:
    stability.inject_status(500, path=GENERATE, times=None)
    with pytest.raises(HTTPError) as info:
        await generate_image_async(
            config(stability, retry=RetryPolicy(max_retries=0)), ImageGenerationRequest(prompt="p")
        )
    assert info.value.status_code == 500
    assert info.value.retryable is True
    assert "internal_error" in str(info.value)


async def test_dropped_connection_is_retried(stability: StabilityEmulator) -> None:
    stability.inject_drop(path=GENERATE)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_image_async(config(stability), ImageGenerationRequest(prompt="p"))
    assert info.value.outcome_unknown
    assert stability.count(GENERATE) == 1  # sent once: a resend could pay twice
    meta = info.value.execution_metadata
    assert meta is not None and meta.attempts[0].error_type == "HTTPConnectionError"


async def test_dropped_connection_every_time(stability: StabilityEmulator) -> None:
    stability.inject_drop(path=GENERATE, times=None)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_image_async(config(stability), ImageGenerationRequest(prompt="p"))
    assert info.value.retryable is True
    assert stability.count(GENERATE) == 1  # sent once: a resend could pay twice


async def test_malformed_json_is_retried_then_fails(stability: StabilityEmulator) -> None:
    stability.inject_malformed(path=GENERATE, times=None)
    with pytest.raises(GenerationFailedError) as info:
        await generate_image_async(
            config(stability, provider_config={"accept": "application/json"}),
            ImageGenerationRequest(prompt="p"),
        )
    assert "unreadable JSON" in str(info.value)
    assert stability.count(GENERATE) == 1  # an unreadable 200 may be a paid image


async def test_slow_response_times_out(stability: StabilityEmulator) -> None:
    stability.inject_delay(5.0, path=GENERATE)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        await generate_image_async(
            config(stability, timeout=0.5), ImageGenerationRequest(prompt="p")
        )
    assert time.monotonic() - started < 3.0
    assert info.value.retryable is True
    assert stability.count(GENERATE) == 1  # timeouts go to the next config, not a retry


async def test_connection_refused(stability: StabilityEmulator) -> None:
    with pytest.raises(HTTPConnectionError):
        await generate_image_async(
            config(stability, base_url="http://127.0.0.1:9", retry=RetryPolicy(max_retries=0)),
            ImageGenerationRequest(prompt="p"),
        )


# --------------------------------------------------------------------------- fallback


async def test_fallback_from_mock_to_stability(stability: StabilityEmulator) -> None:
    primary = ImageGenerationConfig(
        provider="mock",
        model="mock-image",
        retry=RetryPolicy(max_retries=0),
        mock=MockConfig(enabled=True, responses=[MockResponse(error="server_error")]),
        fallback_configs=[config(stability, "stable-image-core")],
    )
    response = await generate_image_async(primary, ImageGenerationRequest(prompt="fallback"))
    assert response.provider == "stability"
    assert stability.last(GENERATE).form == {"prompt": "fallback"}
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered
    assert meta.attempts[0].provider == "mock" and meta.attempts[0].status == "failed"


async def test_concurrent_calls_share_one_client(stability: StabilityEmulator) -> None:
    cfg = config(stability, "stable-image-core")
    results = await asyncio.gather(
        *(generate_image_async(cfg, ImageGenerationRequest(prompt=f"p{i}")) for i in range(5))
    )
    assert len({r.images[0] for r in results}) == 5
    assert stability.count(GENERATE) == 5
