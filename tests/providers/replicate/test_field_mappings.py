"""Replicate field mappings: exact model inputs, cross-field rules, no network, no SDK."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.media import MediaInput
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers.replicate import ReplicateProviderHandler
from tarash.tarash_gateway.providers.replicate.field_mappings import (
    IMAGE_MODELS,
    MODEL_MAPPINGS,
    VIDEO_MODELS,
)

FIRST = "https://cdn.example.com/first.png"
LAST = "https://cdn.example.com/last.png"
ASSET = "https://cdn.example.com/asset.png"

handler = ReplicateProviderHandler()


def video(model: str, **request: Any) -> dict[str, Any]:
    config = VideoGenerationConfig(provider="replicate", model=model, api_key="r8_x")
    prepared = handler.prepare("video", config, VideoGenerationRequest(**request))
    return _plain(prepared.payload)


def image(model: str, **request: Any) -> dict[str, Any]:
    config = ImageGenerationConfig(provider="replicate", model=model, api_key="r8_x")
    prepared = handler.prepare("image", config, ImageGenerationRequest(**request))
    return _plain(prepared.payload)


def _plain(value: Any) -> Any:
    if isinstance(value, MediaInput):
        return value.url or "<local>"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def frames(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"image": url, "type": role} for url, role in pairs]


def test_importing_the_provider_imports_no_sdk() -> None:
    code = (
        "import sys; import tarash.tarash_gateway.providers.replicate.field_mappings; "
        "import tarash.tarash_gateway.providers.replicate; "
        "print('replicate' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert MODEL_MAPPINGS == {**VIDEO_MODELS, **IMAGE_MODELS}
    assert len(VIDEO_MODELS) >= 20 and len(IMAGE_MODELS) >= 12


def test_kling_v21_start_and_end_frame_selects_pro_mode() -> None:
    payload = video(
        "kwaivgi/kling-v2.1",
        prompt="a boat",
        duration_seconds=10,
        negative_prompt="blur",
        image_list=frames((FIRST, "first_frame"), (LAST, "last_frame")),
    )
    assert payload == {
        "prompt": "a boat",
        "negative_prompt": "blur",
        "start_image": FIRST,
        "end_image": LAST,
        "mode": "pro",
        "duration": 10,
    }


def test_kling_v21_rejects_end_frame_in_standard_mode_and_missing_start() -> None:
    with pytest.raises(ValidationError, match="pro mode"):
        video(
            "kwaivgi/kling-v2.1",
            prompt="a boat",
            resolution="720p",
            image_list=frames((FIRST, "first_frame"), (LAST, "last_frame")),
        )
    with pytest.raises(ValidationError) as info:
        video("kwaivgi/kling-v2.1", prompt="a boat")
    assert info.value.field == "image_list"


def test_pinned_version_uses_the_model_mapping() -> None:
    payload = video("kwaivgi/kling-v2.6:" + "a" * 64, prompt="x", generate_audio=False)
    assert payload == {"prompt": "x", "generate_audio": False}


@pytest.mark.parametrize(
    ("model", "request_fields", "expected"),
    [
        (
            "kwaivgi/kling-v2.5-turbo-pro",
            {"duration_seconds": 5, "aspect_ratio": "9:16"},
            {"aspect_ratio": "9:16", "duration": 5},
        ),
        (
            "luma/ray-2-720p",
            {
                "duration_seconds": 9,
                "aspect_ratio": "21:9",
                "resolution": "720p",
                "image_list": frames((FIRST, "first_frame"), (LAST, "last_frame")),
            },
            {"start_image": FIRST, "end_image": LAST, "duration": 9, "aspect_ratio": "21:9"},
        ),
        (
            "minimax/hailuo-02",
            {"duration_seconds": 10, "resolution": "768p", "enhance_prompt": False},
            {"duration": 10, "resolution": "768p", "prompt_optimizer": False},
        ),
        (
            "minimax/video-01",
            {"image_list": frames((FIRST, "first_frame"), (ASSET, "asset"))},
            {"first_frame_image": FIRST, "subject_reference": ASSET},
        ),
        (
            "wan-video/wan-2.2-t2v-fast",
            {"duration_seconds": 6, "aspect_ratio": "9:16", "resolution": "720p", "seed": 7},
            {"num_frames": 97, "aspect_ratio": "9:16", "resolution": "720p", "seed": 7},
        ),
        (
            "google/veo-3.1",
            {
                "duration_seconds": 6,
                "resolution": "1080p",
                "generate_audio": True,
                "negative_prompt": "rain",
                "image_list": frames((FIRST, "reference"), (LAST, "last_frame")),
            },
            {
                "duration": 6,
                "image": FIRST,
                "last_frame": LAST,
                "negative_prompt": "rain",
                "resolution": "1080p",
                "generate_audio": True,
            },
        ),
        (
            "google/veo-3.1",
            {"image_list": frames((ASSET, "asset"), (ASSET, "asset"))},
            {"reference_images": [ASSET, ASSET]},
        ),
        (
            "bytedance/seedance-1-pro",
            {
                "duration_seconds": 12,
                "resolution": "480p",
                "aspect_ratio": "21:9",
                "image_list": frames((FIRST, "first_frame"), (LAST, "last_frame")),
            },
            {
                "image": FIRST,
                "last_frame_image": LAST,
                "duration": 12,
                "resolution": "480p",
                "aspect_ratio": "21:9",
            },
        ),
        (
            "bytedance/seedance-1-lite",
            {"image_list": frames((ASSET, "asset"))},
            {"reference_images": [ASSET]},
        ),
    ],
)
def test_video_families_map_to_real_input_names(
    model: str, request_fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert video(model, prompt="p", **request_fields) == {"prompt": "p", **expected}


@pytest.mark.parametrize(
    ("model", "request_fields", "message"),
    [
        ("kwaivgi/kling-v2.6", {"duration_seconds": 7}, "allowed: 5s, 10s"),
        ("kwaivgi/kling-v2.6", {"aspect_ratio": "4:3"}, "allowed: 16:9, 9:16, 1:1"),
        ("luma/ray-2-720p", {"resolution": "540p"}, "renders 720p only"),
        ("minimax/hailuo-02", {"duration_seconds": 10}, "768p"),
        ("minimax/hailuo-02", {"duration_seconds": 10, "resolution": "1080p"}, "768p"),
        ("wan-video/wan-2.2-t2v-fast", {"duration_seconds": 8}, "allowed: 5s, 6s"),
        ("wan-video/wan-2.2-i2v-fast", {}, "is required"),
        (
            "google/veo-3.1",
            {"image_list": frames((ASSET, "asset")), "aspect_ratio": "9:16"},
            "16:9",
        ),
        (
            "google/veo-3.1",
            {"image_list": frames((ASSET, "asset")), "duration_seconds": 4},
            "8-second",
        ),
        ("bytedance/seedance-1-pro", {"duration_seconds": 15}, "<= 12"),
        (
            "bytedance/seedance-1-lite",
            {"image_list": frames((ASSET, "asset")), "resolution": "1080p"},
            "1080p",
        ),
    ],
)
def test_video_validation_names_the_problem(
    model: str, request_fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        video(model, prompt="p", **request_fields)


def test_unsupported_fields_are_never_silently_dropped() -> None:
    with pytest.raises(ValidationError) as info:
        video("google/veo-3", prompt="p", image_list=frames((LAST, "last_frame")))
    assert "image_list[last_frame]" in str(info.value)
    with pytest.raises(ValidationError, match="negative_prompt"):
        image("google/imagen-4", prompt="p", negative_prompt="x")


@pytest.mark.parametrize(
    ("model", "request_fields", "expected"),
    [
        (
            "black-forest-labs/flux-schnell",
            {"n": 4, "aspect_ratio": "9:21", "seed": 1},
            {"aspect_ratio": "9:21", "num_outputs": 4, "seed": 1},
        ),
        (
            "black-forest-labs/flux-dev",
            {"image_list": frames((FIRST, "reference"))},
            {"image": FIRST},
        ),
        (
            "black-forest-labs/flux-1.1-pro",
            {"size": "1024x768"},
            {"aspect_ratio": "custom", "width": 1024, "height": 768},
        ),
        (
            "black-forest-labs/flux-1.1-pro-ultra",
            {"aspect_ratio": "21:9", "image_list": frames((FIRST, "reference"))},
            {"aspect_ratio": "21:9", "image_prompt": FIRST},
        ),
        (
            "black-forest-labs/flux-kontext-pro",
            {"image_list": frames((FIRST, "reference"))},
            {"input_image": FIRST},
        ),
        ("google/imagen-4-ultra", {"aspect_ratio": "3:4"}, {"aspect_ratio": "3:4"}),
        (
            "ideogram-ai/ideogram-v3-turbo",
            {
                "size": "1280x768",
                "style": "Realistic",
                "image_list": frames((FIRST, "reference"), (ASSET, "style")),
                "mask_image": LAST,
            },
            {
                "resolution": "1280x768",
                "style_type": "Realistic",
                "image": FIRST,
                "mask": LAST,
                "style_reference_images": [ASSET],
            },
        ),
        (
            "recraft-ai/recraft-v3",
            {"size": "1365x1024", "style": "digital_illustration/grain"},
            {"size": "1365x1024", "style": "digital_illustration/grain"},
        ),
    ],
)
def test_image_families_map_to_real_input_names(
    model: str, request_fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert image(model, prompt="p", **request_fields) == {"prompt": "p", **expected}


@pytest.mark.parametrize(
    ("model", "request_fields", "message"),
    [
        ("black-forest-labs/flux-schnell", {"n": 5}, "<= 4"),
        ("black-forest-labs/flux-1.1-pro", {"size": "1000x768"}, "multiples of 32"),
        ("black-forest-labs/flux-1.1-pro", {"size": "1024x768", "aspect_ratio": "1:1"}, "either"),
        ("ideogram-ai/ideogram-v3-quality", {"image_list": frames((FIRST, "reference"))}, "mask"),
        # Ideogram's seed tops out at 2**31 - 1 (ideogram-v3-balanced e78d8251, 2026-12-04)
        ("ideogram-ai/ideogram-v3-balanced", {"seed": 2147483648}, "2147483647"),
        ("recraft-ai/recraft-v3", {"style": "watercolor"}, "not supported"),
        ("recraft-ai/recraft-v3", {"size": "999x999"}, "not supported"),
    ],
)
def test_image_validation_names_the_problem(
    model: str, request_fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        image(model, prompt="p", **request_fields)


MINIMAL_VIDEO: dict[str, dict[str, Any]] = {
    "kwaivgi/kling-v2.1": {"image_list": frames((FIRST, "first_frame"))},
    "minimax/video-01-live": {"image_list": frames((FIRST, "first_frame"))},
    "wan-video/wan-2.2-i2v-fast": {"image_list": frames((FIRST, "first_frame"))},
}


@pytest.mark.parametrize("model", sorted(VIDEO_MODELS))
def test_every_video_model_accepts_a_minimal_request(model: str) -> None:
    payload = video(model, prompt="hello", **MINIMAL_VIDEO.get(model, {}))
    assert payload["prompt"] == "hello"


@pytest.mark.parametrize("model", sorted(IMAGE_MODELS))
def test_every_image_model_accepts_a_minimal_request(model: str) -> None:
    assert image(model, prompt="hello") == {"prompt": "hello"}


def test_unknown_model_uses_generic_names_with_a_warning() -> None:
    config = VideoGenerationConfig(provider="replicate", model="someone/new-video", api_key="k")
    prepared = handler.prepare(
        "video",
        config,
        VideoGenerationRequest(
            prompt="p", duration_seconds=4, image_list=frames((FIRST, "first_frame"))
        ),
    )
    assert _plain(prepared.payload) == {"prompt": "p", "duration": 4, "image": FIRST}
    assert prepared.mapping_key is None
    assert any("no validated field mapping" in w for w in prepared.warnings)


def test_ideogram_seed_up_to_its_published_maximum() -> None:
    assert image("ideogram-ai/ideogram-v3-turbo", prompt="p", seed=2147483647)["seed"] == 2147483647
