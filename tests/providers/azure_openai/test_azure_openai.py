"""Azure OpenAI through the public API and the real ``openai`` SDK's Azure clients."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import pytest

from tarash.tarash_gateway import (
    generate_image,
    generate_image_async,
    generate_tts,
    generate_video,
    generate_video_async,
)
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    HTTPError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers.azure_openai import AzureOpenAIProviderHandler
from tarash.tarash_gateway.providers.azure_openai.field_mappings import family_from_deployment
from tarash.tarash_gateway.providers.azure_openai.handler import DEFAULT_API_VERSION
from tarash.tarash_gateway.providers.base import AttemptContext
from tests.emulators.harness import JobScript
from tests.emulators.openai import (
    AZURE_AD_TOKEN,
    AZURE_API_KEY,
    OpenAIEmulator,
    png_bytes,
    speech_bytes,
)
from tests.providers.openai.helpers import azure_config

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning"),
]

PNG = png_bytes(16, 16)


def image(emu: OpenAIEmulator, deployment: str, **fields: Any) -> ImageGenerationConfig:
    return azure_config(emu, ImageGenerationConfig, deployment, **fields)


def video(emu: OpenAIEmulator, deployment: str, **fields: Any) -> VideoGenerationConfig:
    return azure_config(emu, VideoGenerationConfig, deployment, **fields)


def audio(emu: OpenAIEmulator, deployment: str, **fields: Any) -> AudioGenerationConfig:
    return azure_config(emu, AudioGenerationConfig, deployment, **fields)


# ------------------------------------------------------------------------------ images


def test_image_generation_uses_the_deployment_route(openai_emu: OpenAIEmulator) -> None:
    response = generate_image(
        image(openai_emu, "img-prod", provider_config={"model_family": "gpt-image-1.5"}),
        ImageGenerationRequest(prompt="a harbour", size="1024x1536", quality="medium"),
    )
    rec = openai_emu.last("/images/generations")
    assert rec.path == "/openai/deployments/img-prod/images/generations"
    assert rec.query == {"api-version": DEFAULT_API_VERSION}
    assert rec.header("api-key") == AZURE_API_KEY
    assert rec.header("authorization") is None
    assert rec.json == {
        "model": "img-prod",
        "prompt": "a harbour",
        "size": "1024x1536",
        "quality": "medium",
    }
    assert base64.b64decode(response.images[0]).startswith(b"\x89PNG")
    assert response.provider == "azure_openai"
    assert response.model == "img-prod"
    assert response.cost is None  # Azure bills by region/agreement: no estimate


async def test_image_edit_with_images_and_mask(openai_emu: OpenAIEmulator) -> None:
    await generate_image_async(
        image(openai_emu, "gpt-image-1", api_version="2025-03-01-preview"),
        ImageGenerationRequest(
            prompt="merge",
            image_list=[{"image": PNG, "type": "reference"}, {"image": PNG, "type": "asset"}],
            mask_image=PNG,
        ),
    )
    rec = openai_emu.last("/images/edits")
    assert rec.path == "/openai/deployments/gpt-image-1/images/edits"
    assert rec.query == {"api-version": "2025-03-01-preview"}
    assert rec.form == {"prompt": "merge", "model": "gpt-image-1"}
    assert len(rec.file_lists["image[]"]) == 2
    assert rec.files["mask"].data == PNG


def test_dall_e_3_deployment_returns_url(openai_emu: OpenAIEmulator) -> None:
    response = generate_image(
        image(openai_emu, "dalle3-eu"), ImageGenerationRequest(prompt="a cat", quality="hd")
    )
    assert response.images[0].startswith("http://127.0.0.1")
    assert response.revised_prompt
    assert openai_emu.last("/images").path == "/openai/deployments/dalle3-eu/images/generations"


def test_deployment_override_and_entra_token(
    openai_emu: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    generate_image(
        image(
            openai_emu,
            "my-image-model",
            provider_config={
                "deployment": "gpt-image-1",
                "azure_ad_token": AZURE_AD_TOKEN,
            },
        ),
        ImageGenerationRequest(prompt="a cat"),
    )
    rec = openai_emu.last("/images")
    assert rec.path == "/openai/deployments/gpt-image-1/images/generations"
    assert rec.header("authorization") == f"Bearer {AZURE_AD_TOKEN}"
    assert rec.header("api-key") is None
    assert AZURE_AD_TOKEN not in caplog.text


def test_bad_entra_token_is_authentication_error_without_leaking_it(
    openai_emu: OpenAIEmulator,
) -> None:
    token = "not-the-right-entra-token"
    with pytest.raises(AuthenticationError) as info:
        generate_image(
            image(openai_emu, "gpt-image-1", provider_config={"azure_ad_token": token}),
            ImageGenerationRequest(prompt="a cat"),
        )
    assert info.value.status_code == 401
    assert token not in str(info.value)
    assert token not in repr(info.value)


def test_endpoint_and_key_from_environment(
    openai_emu: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", openai_emu.base_url + "/openai/")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_API_KEY)
    config = ImageGenerationConfig(provider="azure", model="gpt-image-1")
    generate_image(config, ImageGenerationRequest(prompt="a cat"))
    rec = openai_emu.last("/images")
    assert rec.path == "/openai/deployments/gpt-image-1/images/generations"
    assert rec.header("api-key") == AZURE_API_KEY


def test_missing_endpoint_or_credentials_fail_before_network(
    openai_emu: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(ValidationError) as info:
        generate_image(
            ImageGenerationConfig(provider="azure_openai", model="gpt-image-1", api_key="k" * 10),
            ImageGenerationRequest(prompt="a cat"),
        )
    assert info.value.field == "base_url"
    with pytest.raises(AuthenticationError, match="azure_ad_token"):
        generate_image(
            image(openai_emu, "gpt-image-1", api_key=None), ImageGenerationRequest(prompt="a cat")
        )
    assert openai_emu.requests == []


@pytest.mark.parametrize(
    ("deployment", "provider_config", "fields", "field"),
    [
        ("images-eu", {}, {}, "model"),
        ("img-prod", {"model_family": "gpt-image-7"}, {}, "model_family"),
        ("dalle2", {"model_family": "dall-e-2"}, {}, "model_family"),
        ("dalle3-eu", {}, {"n": 2}, "n"),
        ("dalle3-eu", {}, {"image_list": [{"image": PNG, "type": "reference"}]}, "image_list"),
        ("gpt-image-1", {}, {"extra_params": {"response_format": "url"}}, "response_format"),
        ("sora-2", {}, {}, "model"),
    ],
)
def test_invalid_azure_image_requests_fail_before_network(
    openai_emu: OpenAIEmulator,
    deployment: str,
    provider_config: dict[str, Any],
    fields: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_image(
            image(openai_emu, deployment, provider_config=provider_config),
            ImageGenerationRequest(prompt="a cat", **fields),
        )
    assert info.value.field == field, info.value
    assert openai_emu.requests == []


@pytest.mark.parametrize(
    ("deployment", "family"),
    [
        ("gpt-image-1", "gpt-image-1"),
        ("prod-gpt-image-1-mini-eastus", "gpt-image-1-mini"),
        ("gpt-image-1.5-westeurope", "gpt-image-1.5"),
        ("DALL-E-3", "dall-e-3"),
        ("dalle3", "dall-e-3"),
        ("tts", "tts-1"),
        ("tts-hd", "tts-1-hd"),
        ("team_tts_hd", "tts-1-hd"),
        ("gpt-4o-mini-tts-2025-12-15", "gpt-4o-mini-tts"),
        ("sora-2-pro-video", "sora-2-pro"),
        ("sora-2", "sora-2"),
        ("images-eu", None),
        ("attestation", None),
    ],
)
def test_family_from_deployment_name(deployment: str, family: str | None) -> None:
    assert family_from_deployment(deployment) == family


# ------------------------------------------------------------------------------ errors


def test_unknown_api_version_is_a_404(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(HTTPError) as info:
        generate_image(
            image(openai_emu, "gpt-image-1", api_version="1999-01-01"),
            ImageGenerationRequest(prompt="a cat"),
        )
    assert info.value.status_code == 404
    assert not info.value.retryable
    assert openai_emu.last("/images").query == {"api-version": "1999-01-01"}


def test_unknown_deployment_is_a_404(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(HTTPError, match="DeploymentNotFound"):
        generate_image(
            image(openai_emu, "gpt-image-1-east"), ImageGenerationRequest(prompt="a cat")
        )


def test_wrong_key_is_authentication_error(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(AuthenticationError, match="Access denied"):
        generate_image(
            image(openai_emu, "gpt-image-1", api_key="wrong-azure-key"),
            ImageGenerationRequest(prompt="a cat"),
        )


def test_content_filter_is_content_moderation(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(
        400,
        {
            "error": {
                "code": "content_filter",
                "message": "The response was filtered due to the prompt triggering Azure "
                "OpenAI's content management policy.",
                "param": "prompt",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {"violence": {"filtered": True, "severity": "high"}},
                },
            }
        },
        path="/images/generations",
    )
    with pytest.raises(ContentModerationError, match="content_filter"):
        generate_image(image(openai_emu, "gpt-image-1"), ImageGenerationRequest(prompt="x"))
    assert len(openai_emu.requests) == 1


def test_azure_rate_limit_retry_after(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(
        429,
        {"error": {"code": "429", "message": "Requests have exceeded the call rate limit."}},
        path="/images/generations",
        times=None,
        headers={"retry-after": "3", "retry-after-ms": "40"},
    )
    with pytest.raises(RateLimitError) as info:
        generate_image(image(openai_emu, "gpt-image-1"), ImageGenerationRequest(prompt="x"))
    assert info.value.retry_after == pytest.approx(0.04)  # retry-after-ms wins
    assert len(openai_emu.requests) == 3


# ------------------------------------------------------------------------------ speech


def test_speech_on_a_tts_hd_deployment(openai_emu: OpenAIEmulator) -> None:
    response = generate_tts(
        audio(openai_emu, "tts-hd"),
        TTSRequest(text="hello azure", voice_id="onyx", output_format="wav"),
    )
    rec = openai_emu.last("/audio/speech")
    assert rec.path == "/openai/deployments/tts-hd/audio/speech"
    assert rec.query == {"api-version": DEFAULT_API_VERSION}
    assert rec.json == {
        "model": "tts-hd",
        "input": "hello azure",
        "voice": "onyx",
        "response_format": "wav",
    }
    assert response.audio_bytes == speech_bytes("wav", "hello azure")
    assert response.duration == 0.2
    assert response.cost is None


def test_speech_instructions_only_for_gpt_4o_mini_tts(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        generate_tts(
            audio(openai_emu, "tts-hd"), TTSRequest(text="x", extra_params={"instructions": "calm"})
        )
    assert info.value.field == "instructions"
    generate_tts(
        audio(openai_emu, "speech-prod", provider_config={"model_family": "gpt-4o-mini-tts"}),
        TTSRequest(text="x", voice_id="cedar", extra_params={"instructions": "calm"}),
    )
    assert openai_emu.last("/audio/speech").json["instructions"] == "calm"
    assert len(openai_emu.requests) == 1


async def test_stream_tts_through_azure(openai_emu: OpenAIEmulator) -> None:
    handler = AzureOpenAIProviderHandler()
    assert handler.supports_streaming
    config = audio(openai_emu, "tts-hd")
    prepared = handler.prepare("tts", config, TTSRequest(text="a b c d e", output_format="pcm"))
    ctx = AttemptContext(
        request_id="tg_x",
        operation="tts",
        config=config,
        provider="azure_openai",
        deadline=time.monotonic() + 30,
    )
    chunks = [c async for c in handler.stream_tts(ctx, prepared)]
    assert len(chunks) >= 2
    assert b"".join(chunks) == speech_bytes("pcm", "a b c d e")
    assert openai_emu.last("/audio/speech").path == "/openai/deployments/tts-hd/audio/speech"


# ------------------------------------------------------------------------------ Sora (v1 API)


def test_sora_through_the_v1_video_api(openai_emu: OpenAIEmulator) -> None:
    updates: list[VideoGenerationUpdate] = []
    response = generate_video(
        video(openai_emu, "video-prod", provider_config={"model_family": "sora-2"}),
        VideoGenerationRequest(prompt="a train", duration_seconds=8, aspect_ratio="9:16"),
        on_progress=updates.append,
    )
    create = openai_emu.last(r"/videos$", "POST")
    assert create.path == "/openai/v1/videos"
    assert create.query == {}
    assert create.header("api-key") == AZURE_API_KEY
    assert create.form == {
        "prompt": "a train",
        "model": "video-prod",
        "seconds": "8",
        "size": "720x1280",
    }
    video_id = response.provider_request_id
    assert (
        openai_emu.last(rf"/videos/{video_id}/content$").path
        == f"/openai/v1/videos/{video_id}/content"
    )
    assert [u.progress_percent for u in updates if u.status == "processing"][:3] == [25, 50, 75]
    assert isinstance(response.video, dict)
    assert response.video["content"] == openai_emu.jobs[video_id].data["content"]
    assert response.duration == 8.0
    assert response.cost is None


async def test_sora_with_entra_token_and_video_api_version(openai_emu: OpenAIEmulator) -> None:
    await generate_video_async(
        video(
            openai_emu,
            "sora-2",
            api_key=None,
            provider_config={"azure_ad_token": AZURE_AD_TOKEN, "video_api_version": "preview"},
        ),
        VideoGenerationRequest(prompt="x"),
    )
    create = openai_emu.last(r"/videos$", "POST")
    assert create.query == {"api-version": "preview"}
    assert create.header("authorization") == f"Bearer {AZURE_AD_TOKEN}"
    assert create.header("api-key") is None


def test_azure_sora_durations(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        generate_video(
            video(openai_emu, "sora-2"), VideoGenerationRequest(prompt="x", duration_seconds=16)
        )
    assert info.value.field == "duration_seconds"
    assert openai_emu.requests == []


async def test_azure_sora_timeout_deletes_the_job(openai_emu: OpenAIEmulator) -> None:
    openai_emu.job_script = JobScript.success(queued=10_000, by_polls=True)
    with pytest.raises(TimeoutError) as info:
        await generate_video_async(
            video(openai_emu, "sora-2", timeout=0.6), VideoGenerationRequest(prompt="x")
        )
    assert info.value.cancelled_upstream is True
    assert openai_emu.count(r"^/openai/v1/videos/video_", "DELETE") == 1


def test_failed_azure_video_with_moderation(openai_emu: OpenAIEmulator) -> None:
    openai_emu.job_script = JobScript.failure(
        {"code": "content_filter", "message": "blocked"}, running=1, by_polls=True
    )
    with pytest.raises(ContentModerationError):
        generate_video(video(openai_emu, "sora-2"), VideoGenerationRequest(prompt="x"))
