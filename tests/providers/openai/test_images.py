"""OpenAI images through the public API and the real ``openai`` SDK against the emulator."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tarash.tarash_gateway import generate_image, generate_image_async
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.models import ImageGenerationRequest, ImageGenerationUpdate
from tests.emulators.openai import OPENAI_API_KEY, OpenAIEmulator, png_bytes
from tests.providers.openai.helpers import image_config

pytestmark = pytest.mark.timeout(60)

PNG = png_bytes(16, 16)


def ref(image: Any, role: str = "reference") -> dict[str, Any]:
    return {"image": image, "type": role}


# ------------------------------------------------------------------------------ generate


def test_gpt_image_1_generate_sends_exact_request_and_decodes_b64(
    openai_emu: OpenAIEmulator,
) -> None:
    response = generate_image(
        image_config(openai_emu, "gpt-image-1"),
        ImageGenerationRequest(
            prompt="a lighthouse at dawn",
            size="1536x1024",
            quality="high",
            n=2,
            extra_params={"background": "transparent", "output_format": "png"},
        ),
    )
    rec = openai_emu.last(r"^/v1/images/generations$", "POST")
    assert rec.json == {
        "model": "gpt-image-1",
        "prompt": "a lighthouse at dawn",
        "size": "1536x1024",
        "quality": "high",
        "n": 2,
        "background": "transparent",
        "output_format": "png",
    }
    assert rec.header("authorization") == f"Bearer {OPENAI_API_KEY}"
    assert rec.header("x-stainless-retry-count") == "0"
    assert len(openai_emu.requests) == 1

    assert len(response.images) == 2
    assert base64.b64decode(response.images[0]).startswith(b"\x89PNG\r\n\x1a\n")
    assert response.content_type == "image/png"
    assert (response.width, response.height) == (1536, 1024)
    assert response.provider == "openai"
    assert response.model == "gpt-image-1"
    assert response.provider_request_id and response.provider_request_id.startswith("req_")
    # base64 payloads are not duplicated into raw_response; usage is kept
    assert response.raw_response["data"][0]["b64_json"].endswith("base64 characters>")
    assert response.raw_response["usage"]["output_tokens"] == 2112
    # 4 prompt words, 2 images x 1056 output tokens at gpt-image-1 list prices ($5 / $40 per 1M)
    assert response.cost is not None
    assert response.cost.source == "estimate"
    assert response.cost.amount == pytest.approx((4 * 5.0 + 2112 * 40.0) / 1e6)


@pytest.mark.parametrize(
    ("model", "fields", "sent"),
    [
        ("gpt-image-1-mini", {"quality": "low"}, {"quality": "low"}),
        ("gpt-image-1.5", {"aspect_ratio": "2:3"}, {"size": "1024x1536"}),
        ("gpt-image-2", {"size": "1536x864"}, {"size": "1536x864"}),
        ("gpt-image-2", {"aspect_ratio": "16:9"}, {"size": "1536x864"}),
        ("gpt-image-2-2026-04-21", {"size": "2048x1152"}, {"size": "2048x1152"}),
        ("gpt-image-2.5-sunburst", {"quality": "xhigh"}, {"quality": "xhigh"}),
        (
            "gpt-image-1-mini",
            {"extra_params": {"moderation": "low", "background": "opaque"}},
            {"moderation": "low", "background": "opaque"},
        ),
    ],
)
def test_gpt_image_models_generate(
    openai_emu: OpenAIEmulator, model: str, fields: dict[str, Any], sent: dict[str, Any]
) -> None:
    response = generate_image(
        image_config(openai_emu, model), ImageGenerationRequest(prompt="a fox", **fields)
    )
    body = openai_emu.last("/images/generations").json
    assert body == {"model": model, "prompt": "a fox", **sent}
    assert base64.b64decode(response.images[0]).startswith(b"\x89PNG")
    if model == "gpt-image-1-mini":
        assert response.cost is not None  # published token prices
    else:
        assert response.cost is None  # no verified price list: unknown, not 0


def test_dall_e_3_returns_url_revised_prompt_and_per_image_estimate(
    openai_emu: OpenAIEmulator,
) -> None:
    response = generate_image(
        image_config(openai_emu, "dall-e-3"),
        ImageGenerationRequest(prompt="a cat", aspect_ratio="16:9", quality="hd", style="natural"),
    )
    assert openai_emu.last("/images/generations").json == {
        "model": "dall-e-3",
        "prompt": "a cat",
        "size": "1792x1024",
        "quality": "hd",
        "style": "natural",
    }
    assert response.images[0].startswith(openai_emu.base_url + "/__files__/")
    assert response.revised_prompt == "A detailed rendering of: a cat"
    assert response.content_type == "image/png"
    assert response.cost is not None
    assert response.cost.amount == pytest.approx(0.12)
    # the URL is served and is a PNG
    assert httpx.get(response.images[0], timeout=5).content.startswith(b"\x89PNG")


async def test_dall_e_url_image_can_be_read(openai_emu: OpenAIEmulator) -> None:
    response = await generate_image_async(
        image_config(openai_emu, "dall-e-2"), ImageGenerationRequest(prompt="a dog", n=2)
    )
    assert len(response.images) == 2
    assert all(url.startswith("http://127.0.0.1") for url in response.images)
    data = await response.read_bytes_async(1)
    assert data.startswith(b"\x89PNG")
    assert response.cost is not None
    assert response.cost.amount == pytest.approx(0.04)


def test_dall_e_3_b64_json_response_format(openai_emu: OpenAIEmulator) -> None:
    response = generate_image(
        image_config(openai_emu, "dall-e-3"),
        ImageGenerationRequest(prompt="a cat", extra_params={"response_format": "b64_json"}),
    )
    assert openai_emu.last("/images").json["response_format"] == "b64_json"
    assert base64.b64decode(response.images[0]).startswith(b"\x89PNG")


@pytest.mark.parametrize(("fmt", "ctype"), [("jpeg", "image/jpeg"), ("webp", "image/webp")])
def test_output_format_sets_content_type(openai_emu: OpenAIEmulator, fmt: str, ctype: str) -> None:
    response = generate_image(
        image_config(openai_emu, "gpt-image-1.5"),
        ImageGenerationRequest(
            prompt="a cat",
            provider_options={"openai": {"output_format": fmt, "output_compression": 60}},
        ),
    )
    body = openai_emu.last("/images").json
    assert body["output_format"] == fmt
    assert body["output_compression"] == 60
    assert response.content_type == ctype


def test_provider_options_of_other_providers_are_not_sent(openai_emu: OpenAIEmulator) -> None:
    generate_image(
        image_config(openai_emu, "gpt-image-1"),
        ImageGenerationRequest(
            prompt="a cat",
            provider_options={"fal": {"enable_safety_checker": False}, "openai": {"user": "u-1"}},
        ),
    )
    body = openai_emu.last("/images").json
    assert body["user"] == "u-1"
    assert "enable_safety_checker" not in body


async def test_image_progress_events(openai_emu: OpenAIEmulator) -> None:
    updates: list[ImageGenerationUpdate] = []
    response = await generate_image_async(
        image_config(openai_emu, "gpt-image-1"),
        ImageGenerationRequest(prompt="a cat"),
        on_progress=updates.append,
    )
    statuses = [u.status for u in updates]
    assert statuses[0] == "processing"
    assert statuses[-1] == "completed"
    assert updates[-1].result is not None
    assert updates[-1].result.images == response.images


# ------------------------------------------------------------------------------ edits


def test_edit_with_several_images_and_mask_is_multipart(openai_emu: OpenAIEmulator) -> None:
    second = png_bytes(16, 16, (1, 2, 3))
    response = generate_image(
        image_config(openai_emu, "gpt-image-1.5"),
        ImageGenerationRequest(
            prompt="put the cat on the sofa",
            image_list=[ref(PNG), ref(second, "asset"), ref(PNG, "style")],
            mask_image=PNG,
            size="1024x1024",
            extra_params={"input_fidelity": "high"},
        ),
    )
    rec = openai_emu.last(r"^/v1/images/edits$", "POST")
    assert rec.content_type.startswith("multipart/form-data")
    assert rec.form == {
        "prompt": "put the cat on the sofa",
        "model": "gpt-image-1.5",
        "size": "1024x1024",
        "input_fidelity": "high",
    }
    images = rec.file_lists["image[]"]
    assert [f.data for f in images] == [PNG, second, PNG]
    assert all(f.content_type == "image/png" for f in images)
    assert rec.files["mask"].data == PNG
    assert "image" not in rec.file_lists
    assert response.raw_response["endpoint"] == "images/edits"
    assert response.raw_response["usage"]["input_tokens_details"]["image_tokens"] == 3 * 323


def test_edit_with_one_image_uses_the_plain_image_field(openai_emu: OpenAIEmulator) -> None:
    generate_image(
        image_config(openai_emu, "dall-e-2"),
        ImageGenerationRequest(prompt="add a hat", image_list=[ref(PNG)], size="512x512"),
    )
    rec = openai_emu.last("/images/edits")
    assert [f.data for f in rec.file_lists["image"]] == [PNG]
    assert "image[]" not in rec.file_lists
    assert rec.form == {"prompt": "add a hat", "model": "dall-e-2", "size": "512x512"}


async def test_edit_downloads_url_inputs(openai_emu: OpenAIEmulator) -> None:
    url = openai_emu.add_file(PNG, "image/png")
    await generate_image_async(
        image_config(openai_emu, "gpt-image-1"),
        ImageGenerationRequest(prompt="recolour", image_list=[ref(url), ref(PNG)]),
    )
    rec = openai_emu.last("/images/edits")
    assert [f.data for f in rec.file_lists["image[]"]] == [PNG, PNG]


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("sora-2", {}, "model"),
        ("tts-1", {}, "model"),
        ("gpt-image-1", {"size": "1792x1024"}, "size"),
        ("gpt-image-2", {"size": "1000x1000"}, "size"),
        ("gpt-image-2", {"size": "3840x960"}, "size"),
        ("gpt-image-2", {"size": "4096x2304"}, "size"),
        ("gpt-image-1", {"aspect_ratio": "16:9"}, "aspect_ratio"),
        ("gpt-image-1", {"aspect_ratio": "1:1", "size": "1536x1024"}, "aspect_ratio"),
        ("dall-e-3", {"n": 2}, "n"),
        ("gpt-image-1", {"n": 11}, "n"),
        ("gpt-image-1", {"quality": "hd"}, "quality"),
        ("dall-e-3", {"quality": "high"}, "quality"),
        ("gpt-image-1", {"style": "vivid"}, "style"),
        ("gpt-image-1", {"seed": 3}, "seed"),
        ("gpt-image-1", {"negative_prompt": "blur"}, "negative_prompt"),
        ("dall-e-3", {"image_list": [ref(PNG)]}, "image_list"),
        ("dall-e-2", {"image_list": [ref(PNG), ref(PNG)]}, "image_list"),
        ("gpt-image-1", {"image_list": [ref(PNG)] * 17}, "image_list"),
        ("gpt-image-1", {"mask_image": PNG}, "mask_image"),
        ("dall-e-3", {"prompt": "x" * 4001}, "prompt"),
        ("gpt-image-1", {"extra_params": {"response_format": "url"}}, "response_format"),
        ("gpt-image-1", {"extra_params": {"background": "glass"}}, "background"),
        (
            "gpt-image-1",
            {"extra_params": {"background": "transparent", "output_format": "jpeg"}},
            "background",
        ),
        ("gpt-image-1", {"extra_params": {"output_compression": 50}}, "output_compression"),
        ("gpt-image-1", {"extra_params": {"output_format": "gif"}}, "output_format"),
        ("dall-e-3", {"extra_params": {"output_format": "png"}}, "output_format"),
        ("gpt-image-1", {"extra_params": {"moderation": "none"}}, "moderation"),
        (
            "gpt-image-1",
            {"image_list": [ref(PNG)], "extra_params": {"moderation": "low"}},
            "moderation",
        ),
        ("gpt-image-1", {"extra_params": {"input_fidelity": "high"}}, "input_fidelity"),
        (
            "gpt-image-2",
            {"image_list": [ref(PNG)], "extra_params": {"input_fidelity": "high"}},
            "input_fidelity",
        ),
        (
            "gpt-image-1-mini",
            {"image_list": [ref(PNG)], "extra_params": {"input_fidelity": "high"}},
            "input_fidelity",
        ),
        ("gpt-image-1", {"extra_params": {"stream": True, "partial_images": 2}}, "stream"),
    ],
)
def test_invalid_requests_fail_before_any_network_call(
    openai_emu: OpenAIEmulator, model: str, fields: dict[str, Any], field: str
) -> None:
    request = ImageGenerationRequest(**{"prompt": "a cat", **fields})
    with pytest.raises(ValidationError) as info:
        generate_image(image_config(openai_emu, model), request)
    assert info.value.field == field, info.value
    assert info.value.provider == "openai"
    assert not info.value.retryable
    assert openai_emu.requests == []


def test_unsupported_field_is_dropped_with_a_warning_when_asked(openai_emu: OpenAIEmulator) -> None:
    response = generate_image(
        image_config(openai_emu, "gpt-image-1", on_unsupported_param="warn"),
        ImageGenerationRequest(prompt="a cat", seed=42, negative_prompt="dogs"),
    )
    assert openai_emu.last("/images").json == {"model": "gpt-image-1", "prompt": "a cat"}
    assert any("seed" in w and "negative_prompt" in w for w in response.warnings)


def test_missing_api_key_fails_before_network(openai_emu: OpenAIEmulator) -> None:
    from tarash.tarash_gateway.exceptions import AuthenticationError

    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY"):
        generate_image(
            image_config(openai_emu, "gpt-image-1", api_key=None),
            ImageGenerationRequest(prompt="a cat"),
        )
    assert openai_emu.requests == []


def test_api_key_from_environment(
    openai_emu: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_API_KEY)
    generate_image(
        image_config(openai_emu, "gpt-image-1", api_key=None), ImageGenerationRequest(prompt="x y")
    )
    assert openai_emu.last("/images").header("authorization") == f"Bearer {OPENAI_API_KEY}"


def test_organization_and_project_headers(openai_emu: OpenAIEmulator) -> None:
    generate_image(
        image_config(
            openai_emu,
            "gpt-image-1",
            provider_config={"organization": "org-1", "project": "proj-2"},
        ),
        ImageGenerationRequest(prompt="x"),
    )
    rec = openai_emu.last("/images")
    assert rec.header("openai-organization") == "org-1"
    assert rec.header("openai-project") == "proj-2"
