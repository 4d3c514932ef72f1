"""Imagen and Gemini image models through the public API and the real google-genai SDK."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tarash.tarash_gateway import (
    ContentModerationError,
    GenerationFailedError,
    ValidationError,
    aclose_clients,
    generate_image,
    generate_image_async,
)
from tarash.tarash_gateway.models import ImageGenerationRequest, ImageGenerationUpdate
from tests.conftest import NO_RETRY
from tests.emulators.google import (
    GOOGLE_API_KEY,
    PNG,
    PNG_B64,
    GoogleEmulator,
    blocked_prompt,
    finished_without_image,
)
from tests.providers.google.conftest import VERTEX, image_config

JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 4
JPEG_B64 = base64.b64encode(JPEG).decode()

pytestmark = pytest.mark.filterwarnings("ignore:The generate_images method is deprecated")


# ----------------------------------------------------------------------------- Gemini image


def test_text_to_image_on_the_gemini_api(emu: GoogleEmulator) -> None:
    updates: list[ImageGenerationUpdate] = []
    response = generate_image(
        image_config(emu),
        ImageGenerationRequest(prompt="a banana on the moon", aspect_ratio="21:9", seed=9),
        on_progress=updates.append,
    )
    call = emu.last(r":generateContent$", "POST")
    assert call.path == "/v1/models/gemini-2.5-flash-image:generateContent"
    assert call.header("x-goog-api-key") == GOOGLE_API_KEY
    assert call.json == {
        "contents": [{"role": "user", "parts": [{"text": "a banana on the moon"}]}],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "21:9"},
            "seed": 9,
        },
    }
    # The emulator also sends a "thought" image and text first: those are skipped.
    assert response.images == [PNG_B64]
    assert base64.b64decode(response.images[0]) == PNG
    assert response.content_type == "image/png"
    assert response.revised_prompt == "Here is the image you asked for (0 input image(s))."
    assert response.seed == 9
    assert response.raw_response["usage_metadata"]["total_token_count"] == 1302
    assert [u.status for u in updates] == ["processing", "completed"]
    assert len(emu.requests) == 1


def test_image_edit_sends_every_input_image_inline(emu: GoogleEmulator) -> None:
    url = emu.add_file(PNG, "image/png", filename="in.png")
    response = generate_image(
        image_config(emu, model="gemini-3-pro-image-preview", provider_config=VERTEX),
        ImageGenerationRequest(
            prompt="put them together",
            size="2K",
            image_list=[
                {"image": JPEG, "type": "reference"},
                {"image": url, "type": "reference"},
                {"image": f"data:image/jpeg;base64,{JPEG_B64}", "type": "style"},
            ],
            extra_params={"response_modalities": ["image"], "person_generation": "dont_allow"},
        ),
    )
    call = emu.last(r":generateContent$", "POST")
    assert (
        call.path == "/v1beta1/publishers/google/models/gemini-3-pro-image-preview:generateContent"
    )
    parts = call.json["contents"][0]["parts"]
    # google-genai serialises bytes as URL-safe base64 (Google accepts both alphabets).
    assert [
        (base64.urlsafe_b64decode(p["inlineData"]["data"]), p["inlineData"]["mime_type"])
        for p in parts[:3]
    ] == [(JPEG, "image/jpeg"), (PNG, "image/png"), (JPEG, "image/jpeg")]
    assert parts[3] == {"text": "put them together"}
    assert call.json["contents"][0]["role"] == "user"
    assert call.json["generationConfig"] == {
        "responseModalities": ["IMAGE"],
        "imageConfig": {"imageSize": "2K", "personGeneration": "ALLOW_NONE"},
    }
    assert response.revised_prompt == "Here is the image you asked for (3 input image(s))."


async def test_async_generation_with_the_newest_aspect_ratios(emu: GoogleEmulator) -> None:
    try:
        response = await generate_image_async(
            image_config(emu, model="gemini-3.1-flash-image-preview"),
            ImageGenerationRequest(prompt="a tall tower", aspect_ratio="1:8", size="4K"),
        )
    finally:
        await aclose_clients()
    assert emu.last(r":generateContent$").json["generationConfig"]["imageConfig"] == {
        "aspectRatio": "1:8",
        "imageSize": "4K",
    }
    assert response.images == [PNG_B64]


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (blocked_prompt("PROHIBITED_CONTENT", "not allowed"), "PROHIBITED_CONTENT"),
        (blocked_prompt("SAFETY"), "blocked the prompt (SAFETY)"),
        (finished_without_image("IMAGE_SAFETY"), "IMAGE_SAFETY"),
        (finished_without_image("SAFETY", text="I can't draw that."), "finish reason SAFETY"),
        ({"candidates": [], "usageMetadata": {}}, "no candidates"),
    ],
)
def test_blocked_prompts_are_moderation_errors(
    emu: GoogleEmulator, answer: dict[str, Any], text: str
) -> None:
    emu.content_responses.append(answer)
    with pytest.raises(ContentModerationError) as info:
        generate_image(image_config(emu), ImageGenerationRequest(prompt="forbidden"))
    assert text in info.value.message
    assert not info.value.retryable
    assert emu.count(r":generateContent$") == 1


def test_a_text_only_answer_is_a_retryable_failure(emu: GoogleEmulator) -> None:
    for _ in range(3):
        emu.content_responses.append(finished_without_image("STOP", text="Which banana?"))
    with pytest.raises(GenerationFailedError) as info:
        generate_image(image_config(emu), ImageGenerationRequest(prompt="a banana"))
    assert "returned no image (finish reason STOP)" in info.value.message
    assert "Which banana?" in info.value.message
    assert emu.count(r":generateContent$") == 1  # answered and billed: not asked again


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("gemini-2.5-flash-image", {"n": 2}, "n"),
        ("gemini-2.5-flash-image", {"size": "2K"}, "size"),
        ("gemini-3-pro-image-preview", {"size": "8K"}, "size"),
        ("gemini-3-pro-image-preview", {"aspect_ratio": "1:8"}, "aspect_ratio"),
        ("gemini-2.5-flash-image", {"negative_prompt": "dogs"}, "negative_prompt"),
        ("gemini-2.5-flash-image", {"mask_image": PNG}, "mask_image"),
        (
            "gemini-2.5-flash-image",
            {"extra_params": {"response_modalities": ["TEXT"]}},
            "extra_params.response_modalities",
        ),
        (
            "gemini-2.5-flash-image",
            {"extra_params": {"labels": {"a": "b"}}},
            "extra_params.labels",
        ),
    ],
)
def test_gemini_image_requests_are_validated_before_sending(
    emu: GoogleEmulator, model: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_image(image_config(emu, model=model), ImageGenerationRequest(prompt="x", **fields))
    assert info.value.field == field
    assert emu.requests == []


# ----------------------------------------------------------------------------- Imagen


def test_imagen_on_vertex(emu: GoogleEmulator) -> None:
    response = generate_image(
        image_config(emu, model="imagen-4.0-ultra-generate-001", provider_config=VERTEX),
        ImageGenerationRequest(
            prompt="a red panda",
            n=2,
            aspect_ratio="4:3",
            size="2K",
            seed=5,
            extra_params={
                "add_watermark": False,
                "person_generation": "allow_adult",
                "safety_filter_level": "block_only_high",
                "enhancePrompt": True,
            },
        ),
    )
    call = emu.last(r":predict$", "POST")
    assert call.path == "/v1beta1/publishers/google/models/imagen-4.0-ultra-generate-001:predict"
    assert call.json == {
        "instances": [{"prompt": "a red panda"}],
        "parameters": {
            "sampleCount": 2,
            "aspectRatio": "4:3",
            "seed": 5,
            "safetySetting": "BLOCK_ONLY_HIGH",
            "personGeneration": "ALLOW_ADULT",
            "includeRaiReason": True,
            "addWatermark": False,
            "sampleImageSize": "2K",
            "enhancePrompt": True,
        },
    }
    assert response.images == [PNG_B64, PNG_B64]
    assert response.revised_prompt == "a red panda, highly detailed"
    assert response.seed == 5


def test_imagen_on_the_gemini_api_goes_through_the_sdk_transport(emu: GoogleEmulator) -> None:
    response = generate_image(
        image_config(emu, model="imagen-4.0-generate-001"),
        ImageGenerationRequest(
            prompt="a lake",
            n=3,
            size="1K",
            extra_params={"output_mime_type": "image/jpeg", "output_compression_quality": 80},
        ),
    )
    call = emu.last(r":predict$", "POST")
    assert call.path == "/v1beta/models/imagen-4.0-generate-001:predict"
    assert call.header("x-goog-api-key") == GOOGLE_API_KEY
    assert call.json == {
        "instances": [{"prompt": "a lake"}],
        "parameters": {
            "sampleCount": 3,
            "sampleImageSize": "1K",
            "outputOptions": {"mimeType": "image/jpeg", "compressionQuality": 80},
            "includeRaiReason": True,
        },
    }
    assert len(response.images) == 3
    assert response.content_type == "image/jpeg"


def test_imagen_defaults_to_one_image(emu: GoogleEmulator) -> None:
    generate_image(
        image_config(emu, model="imagen-3.0-generate-001", provider_config=VERTEX),
        ImageGenerationRequest(prompt="x", negative_prompt="blur"),
    )
    assert emu.last(r":predict$").json["parameters"] == {
        "sampleCount": 1,  # Imagen's own default would be 4 billed images
        "negativePrompt": "blur",
        "includeRaiReason": True,
    }


@pytest.mark.parametrize("config_kw", [{}, {"provider_config": VERTEX}], ids=["gemini", "vertex"])
def test_imagen_filtered_outputs(emu: GoogleEmulator, config_kw: dict[str, Any]) -> None:
    emu.imagen_filtered = 1
    response = generate_image(
        image_config(emu, model="imagen-4.0-fast-generate-001", **config_kw),
        ImageGenerationRequest(prompt="x", n=2),
    )
    assert len(response.images) == 1
    assert any("removed 1 image(s)" in w and "58061214" in w for w in response.warnings)

    emu.imagen_filtered = 2
    with pytest.raises(ContentModerationError) as info:
        generate_image(
            image_config(emu, model="imagen-4.0-fast-generate-001", **config_kw),
            ImageGenerationRequest(prompt="x", n=2),
        )
    assert "58061214" in info.value.message
    assert emu.count(r":predict$") == 2  # the moderation error was not retried


@pytest.mark.parametrize("config_kw", [{}, {"provider_config": VERTEX}], ids=["gemini", "vertex"])
def test_imagen_prompt_safety_attributes_are_not_images(
    emu: GoogleEmulator, config_kw: dict[str, Any]
) -> None:
    response = generate_image(
        image_config(emu, model="imagen-4.0-generate-001", **config_kw),
        ImageGenerationRequest(prompt="x", n=2, extra_params={"include_safety_attributes": True}),
    )
    assert emu.last(r":predict$").json["parameters"]["includeSafetyAttributes"] is True
    assert response.images == [PNG_B64, PNG_B64]
    assert [w for w in response.warnings if "deprecated" not in w] == []


def test_imagen_gcs_output_is_returned_as_urls(emu: GoogleEmulator) -> None:
    response = generate_image(
        image_config(emu, model="imagen-4.0-generate-001", provider_config=VERTEX),
        ImageGenerationRequest(prompt="x", n=2, extra_params={"output_gcs_uri": "gs://b/imgs"}),
    )
    assert response.images == ["gs://b/imgs/sample_0.png", "gs://b/imgs/sample_1.png"]


@pytest.mark.parametrize(
    ("model", "fields", "config_kw", "field"),
    [
        ("imagen-4.0-generate-001", {"n": 5}, {}, "n"),
        ("imagen-4.0-generate-001", {"size": "4K"}, {}, "size"),
        ("imagen-4.0-fast-generate-001", {"size": "2K"}, {}, "size"),
        ("imagen-4.0-generate-001", {"aspect_ratio": "21:9"}, {}, "aspect_ratio"),
        ("imagen-4.0-generate-001", {"negative_prompt": "x"}, {}, "negative_prompt"),
        (
            "imagen-4.0-generate-001",
            {"image_list": [{"image": PNG, "type": "reference"}]},
            {},
            "image_list",
        ),
        ("imagen-3.0-generate-001", {"seed": 1}, {}, "seed"),
        ("imagen-3.0-generate-001", {"negative_prompt": "x"}, {}, "negative_prompt"),
        ("imagen-4.0-generate-001", {"seed": 1}, {"provider_config": VERTEX}, "seed"),
        (
            "imagen-4.0-generate-001",
            {"extra_params": {"add_watermark": False}},
            {},
            "extra_params.add_watermark",
        ),
        (
            "imagen-4.0-generate-001",
            {"extra_params": {"guidance_scale": "high"}},
            {},
            "extra_params.guidance_scale",
        ),
        ("veo-3.0-generate-001", {}, {}, "model"),
    ],
)
def test_imagen_requests_are_validated_before_sending(
    emu: GoogleEmulator,
    model: str,
    fields: dict[str, Any],
    config_kw: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_image(
            image_config(emu, model=model, **config_kw),
            ImageGenerationRequest(prompt="x", **fields),
        )
    assert info.value.field == field
    assert emu.requests == []


def test_imagen_seed_needs_the_watermark_off(emu: GoogleEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        generate_image(
            image_config(
                emu, model="imagen-4.0-generate-001", provider_config=VERTEX, retry=NO_RETRY
            ),
            ImageGenerationRequest(prompt="x", seed=3),
        )
    assert "add_watermark" in info.value.message
    assert emu.requests == []
