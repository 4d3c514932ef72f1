"""Every model family, end to end through fal-client against the emulator: the exact body sent.

Also the validation that must reject a request before anything reaches the emulator.
"""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway import (
    generate_image_async,
    generate_video_async,
)
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers.fal.field_mappings import MODEL_MAPPINGS, VIDEO_MODEL_KEYS
from tests.emulators.fal import FalEmulator
from tests.providers.fal.conftest import image_config, submits, video_config

pytestmark = pytest.mark.timeout(30)

IMG = "https://cdn.example.test/in.png"
IMG2 = "https://cdn.example.test/in2.png"
END = "https://cdn.example.test/end.png"
AUDIO = "https://cdn.example.test/voice.mp3"


def first(url: str = IMG) -> dict[str, Any]:
    return {"image": url, "type": "first_frame"}


def last(url: str = END) -> dict[str, Any]:
    return {"image": url, "type": "last_frame"}


def ref(url: str = IMG) -> dict[str, Any]:
    return {"image": url, "type": "reference"}


VIDEO_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "fal-ai/veo3.1",
        {
            "duration_seconds": 8,
            "aspect_ratio": "9:16",
            "resolution": "1080p",
            "generate_audio": False,
            "negative_prompt": "blur",
            "seed": 7,
        },
        {
            "duration": "8s",
            "aspect_ratio": "9:16",
            "resolution": "1080p",
            "generate_audio": False,
            "negative_prompt": "blur",
            "seed": 7,
        },
    ),
    (
        "fal-ai/veo3.1/fast/image-to-video",
        {"image_list": [first()], "aspect_ratio": "auto", "duration_seconds": 4},
        {"image_url": IMG, "aspect_ratio": "auto", "duration": "4s"},
    ),
    (
        "fal-ai/veo3.1/fast",
        {"resolution": "4k", "duration_seconds": 6},
        {"resolution": "4k", "duration": "6s"},
    ),
    (
        "fal-ai/veo3.1/image-to-video",
        {"image_list": [ref()], "generate_audio": True},
        {"image_url": IMG, "generate_audio": True},
    ),
    (
        "fal-ai/veo3.1/first-last-frame-to-video",
        {"image_list": [first(), last()], "resolution": "720p"},
        {"first_frame_url": IMG, "last_frame_url": END, "resolution": "720p"},
    ),
    (
        "fal-ai/veo3.1/reference-to-video",
        {"image_list": [ref(), ref(IMG2)], "aspect_ratio": "16:9"},
        {"image_urls": [IMG, IMG2], "aspect_ratio": "16:9"},
    ),
    (
        "fal-ai/kling-video/v2.1/master/text-to-video",
        {"duration_seconds": 10, "aspect_ratio": "1:1", "negative_prompt": "text"},
        {"duration": "10", "aspect_ratio": "1:1", "negative_prompt": "text"},
    ),
    (
        "fal-ai/kling-video/v2.1/pro/image-to-video",
        {"image_list": [first(), last()], "duration_seconds": 5},
        {"image_url": IMG, "tail_image_url": END, "duration": "5"},
    ),
    (
        "fal-ai/kling-video/v2.6/pro/image-to-video",
        {"image_list": [first(), last()], "generate_audio": True},
        {"start_image_url": IMG, "end_image_url": END, "generate_audio": True},
    ),
    (
        "fal-ai/kling-video/v3/pro/text-to-video",
        {"duration_seconds": 12, "aspect_ratio": "9:16", "generate_audio": False},
        {"duration": "12", "aspect_ratio": "9:16", "generate_audio": False},
    ),
    (
        "fal-ai/kling-video/o1/reference-to-video",
        {"image_list": [ref(), ref(IMG2)], "duration_seconds": 7},
        {"image_urls": [IMG, IMG2], "duration": "7"},
    ),
    (
        "fal-ai/kling-video/o3/pro/image-to-video",
        {"image_list": [first()], "duration_seconds": 15},
        {"image_url": IMG, "duration": "15"},
    ),
    (
        "fal-ai/minimax/hailuo-02/standard/image-to-video",
        {
            "image_list": [first()],
            "duration_seconds": 10,
            "resolution": "768p",
            "enhance_prompt": False,
        },
        {"image_url": IMG, "duration": "10", "resolution": "768P", "prompt_optimizer": False},
    ),
    (
        "fal-ai/minimax/hailuo-2.3/pro/text-to-video",
        {"duration_seconds": 6, "enhance_prompt": True},
        {"prompt_optimizer": True},
    ),
    (
        "fal-ai/minimax/hailuo-2.3-fast/standard/image-to-video",
        {"image_list": [first()], "duration_seconds": 6},
        {"image_url": IMG, "duration": "6"},
    ),
    (
        "fal-ai/wan/v2.2-a14b/text-to-video",
        {"duration_seconds": 5, "resolution": "480p", "aspect_ratio": "1:1", "seed": 3},
        {"num_frames": 81, "resolution": "480p", "aspect_ratio": "1:1", "seed": 3},
    ),
    (
        "fal-ai/wan-25-preview/image-to-video",
        {"image_list": [first()], "audio": AUDIO, "duration_seconds": 10, "enhance_prompt": False},
        {
            "image_url": IMG,
            "audio_url": AUDIO,
            "duration": "10",
            "enable_prompt_expansion": False,
        },
    ),
    (
        "wan/v2.6/image-to-video",
        {"image_list": [first()], "duration_seconds": 15, "resolution": "1080p"},
        {"image_url": IMG, "duration": "15", "resolution": "1080p"},
    ),
    (
        "fal-ai/bytedance/seedance/v1/pro/text-to-video",
        {"duration_seconds": 3, "aspect_ratio": "21:9", "resolution": "480p"},
        {"duration": "3", "aspect_ratio": "21:9", "resolution": "480p"},
    ),
    (
        "fal-ai/bytedance/seedance/v1.5/pro/image-to-video",
        {"image_list": [first(), last()], "generate_audio": True, "duration_seconds": 12},
        {"image_url": IMG, "end_image_url": END, "generate_audio": True, "duration": "12"},
    ),
    (
        "fal-ai/pixverse/v5/text-to-video",
        {"duration_seconds": 8, "resolution": "720p", "negative_prompt": "low", "seed": 11},
        {"duration": "8", "resolution": "720p", "negative_prompt": "low", "seed": 11},
    ),
    (
        "fal-ai/pixverse/v4.5/transition",
        {"image_list": [first(), last()]},
        {"first_image_url": IMG, "end_image_url": END},
    ),
    (
        "fal-ai/ltxv-13b-098-distilled/image-to-video",
        {"image_list": [first()], "aspect_ratio": "auto", "enhance_prompt": True},
        {"image_url": IMG, "aspect_ratio": "auto", "expand_prompt": True},
    ),
]


@pytest.mark.parametrize(
    ("model", "fields", "expected"), VIDEO_CASES, ids=[c[0] for c in VIDEO_CASES]
)
async def test_video_family_sends_exact_body(
    fal: FalEmulator, model: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    request = VideoGenerationRequest(prompt="a fox in snow", **fields)
    response = await generate_video_async(video_config(fal, model), request)

    sent = submits(fal)
    assert [r.path for r in sent] == [f"/{model}"]
    assert sent[0].json == {"prompt": "a fox in snow", **expected}
    assert response.provider == "fal"
    assert response.model == model
    assert response.video.startswith(fal.base_url + "/__static__/video.mp4")
    assert response.content_type == "video/mp4"
    assert response.provider_request_id in fal.jobs


IMAGE_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "fal-ai/flux/schnell",
        {"size": "1024x768", "n": 2},
        {"image_size": {"width": 1024, "height": 768}, "num_images": 2},
    ),
    (
        "fal-ai/flux/dev",
        {"aspect_ratio": "9:16", "seed": 5},
        {"image_size": "portrait_16_9", "seed": 5},
    ),
    ("fal-ai/flux/dev/image-to-image", {"image_list": [ref()]}, {"image_url": IMG}),
    ("fal-ai/flux-pro/v1.1-ultra", {"aspect_ratio": "21:9"}, {"aspect_ratio": "21:9"}),
    (
        "fal-ai/flux-pro/kontext",
        {"image_list": [ref()], "aspect_ratio": "3:2"},
        {"image_url": IMG, "aspect_ratio": "3:2"},
    ),
    ("fal-ai/flux-pro/kontext/max/text-to-image", {"n": 4}, {"num_images": 4}),
    ("fal-ai/flux-2", {"size": "landscape_4_3"}, {"image_size": "landscape_4_3"}),
    (
        "fal-ai/flux-2/edit",
        {"image_list": [ref(), ref(IMG2)], "aspect_ratio": "1:1"},
        {"image_urls": [IMG, IMG2], "image_size": "square_hd"},
    ),
    ("fal-ai/flux-2-pro", {"seed": 9}, {"seed": 9}),
    ("fal-ai/nano-banana", {"aspect_ratio": "5:4"}, {"aspect_ratio": "5:4"}),
    (
        "fal-ai/nano-banana/edit",
        {"image_list": [ref(), {"image": IMG2, "type": "style"}], "aspect_ratio": "auto"},
        {"image_urls": [IMG, IMG2], "aspect_ratio": "auto"},
    ),
    ("fal-ai/nano-banana-pro/edit", {"image_list": [ref()]}, {"image_urls": [IMG]}),
    (
        "fal-ai/bytedance/seedream/v4/edit",
        {"image_list": [ref()], "size": "auto_2K", "n": 3},
        {"image_urls": [IMG], "image_size": "auto_2K", "num_images": 3},
    ),
    (
        "fal-ai/bytedance/seedream/v4.5/text-to-image",
        {"size": "2048x2048"},
        {"image_size": {"width": 2048, "height": 2048}},
    ),
    (
        "fal-ai/qwen-image",
        {"negative_prompt": "blurry", "aspect_ratio": "4:3"},
        {"negative_prompt": "blurry", "image_size": "landscape_4_3"},
    ),
    (
        "fal-ai/qwen-image-edit",
        {"image_list": [ref()], "negative_prompt": "text"},
        {"image_url": IMG, "negative_prompt": "text"},
    ),
    (
        "fal-ai/qwen-image-edit-plus",
        {"image_list": [ref(), ref(IMG2)]},
        {"image_urls": [IMG, IMG2]},
    ),
]


@pytest.mark.parametrize(
    ("model", "fields", "expected"), IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES]
)
async def test_image_family_sends_exact_body(
    fal: FalEmulator, model: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    request = ImageGenerationRequest(prompt="a red kite", **fields)
    response = await generate_image_async(image_config(fal, model), request)

    sent = submits(fal)
    assert [r.path for r in sent] == [f"/{model}"]
    assert sent[0].json == {"prompt": "a red kite", **expected}
    count = expected.get("num_images", 1)
    assert len(response.images) == count
    assert all(u.startswith(fal.base_url + "/__static__/image.png") for u in response.images)
    assert response.width == 64
    assert response.content_type == "image/png"


def test_every_registered_model_has_a_prompt_and_a_known_kind() -> None:
    for key, mappers in MODEL_MAPPINGS.items():
        assert mappers["prompt"].required, key
        assert key.startswith(("fal-ai/", "wan/")), key
    assert "fal-ai/veo3.1/reference-to-video" in VIDEO_MODEL_KEYS
    assert "fal-ai/flux/dev" not in VIDEO_MODEL_KEYS


async def test_prefix_covers_variant_with_same_inputs(fal: FalEmulator) -> None:
    # Not registered; falls under "fal-ai/veo3.1/fast" (segment boundary "/").
    model = "fal-ai/veo3.1/fast/preview"
    fal.add_endpoint(model)  # a variant fal launched after our snapshot
    response = await generate_video_async(
        video_config(fal, model), VideoGenerationRequest(prompt="p", duration_seconds=4)
    )
    assert submits(fal)[0].json == {"prompt": "p", "duration": "4s"}
    assert response.warnings == []


async def test_unknown_model_runs_generic_with_a_warning(fal: FalEmulator) -> None:
    # "fal-ai/veo3.1-preview" is NOT under "fal-ai/veo3.1" (no segment boundary).
    model = "fal-ai/veo3.1-preview/text-to-video"
    fal.add_endpoint(model)  # a model fal launched after our snapshot
    request = VideoGenerationRequest(
        prompt="p", duration_seconds=5, aspect_ratio="2:3", image_list=[first()], seed=1
    )
    response = await generate_video_async(video_config(fal, model), request)
    assert submits(fal)[0].json == {
        "prompt": "p",
        "duration": "5",
        "aspect_ratio": "2:3",
        "image_url": IMG,
        "seed": 1,
    }
    assert any("no validated field mapping" in w for w in response.warnings)


async def test_unknown_image_model_generic(fal: FalEmulator) -> None:
    request = ImageGenerationRequest(prompt="p", size="800x600", n=2, negative_prompt="x")
    fal.add_endpoint("fal-ai/recraft/v9")  # a model fal launched after our snapshot
    response = await generate_image_async(image_config(fal, "fal-ai/recraft/v9"), request)
    assert submits(fal)[0].json == {
        "prompt": "p",
        "image_size": {"width": 800, "height": 600},
        "negative_prompt": "x",
        "num_images": 2,
    }
    assert len(response.images) == 2
    assert response.warnings


async def test_extra_params_and_provider_options_pass_through(fal: FalEmulator) -> None:
    request = VideoGenerationRequest(
        prompt="p",
        extra_params={"cfg_scale": 0.7},
        provider_options={"fal": {"safety_tolerance": "5"}, "replicate": {"x": 1}},
    )
    await generate_video_async(
        video_config(fal, "fal-ai/kling-video/v2/master/text-to-video"), request
    )
    assert submits(fal)[0].json == {"prompt": "p", "cfg_scale": 0.7, "safety_tolerance": "5"}


# --------------------------------------------------------------------------- validation

INVALID_VIDEO: list[tuple[str, dict[str, Any], str, str]] = [
    ("fal-ai/veo3.1", {"duration_seconds": 5}, "duration_seconds", "not supported"),
    ("fal-ai/veo3.1/lite", {"resolution": "4k"}, "resolution", "not supported"),
    ("fal-ai/veo3.1", {"aspect_ratio": "1:1"}, "aspect_ratio", "not supported"),
    ("fal-ai/kling-video/v2/master/text-to-video", {"aspect_ratio": "4:3"}, "aspect_ratio", ""),
    ("fal-ai/kling-video/v2/master/text-to-video", {"duration_seconds": 7}, "duration_seconds", ""),
    ("fal-ai/veo3.1/image-to-video", {}, "image_list", "is required"),
    ("fal-ai/kling-video/v2/master/image-to-video", {}, "image_list", "is required"),
    ("fal-ai/veo3.1/first-last-frame-to-video", {"image_list": [first()]}, "image_list", ""),
    ("fal-ai/veo3.1/reference-to-video", {}, "image_list", "is required"),
    (
        "fal-ai/veo3.1/image-to-video",
        {"image_list": [first(), first(IMG2)]},
        "image_list",
        "only one",
    ),
    (
        "fal-ai/pixverse/v5/text-to-video",
        {"duration_seconds": 8, "resolution": "1080p"},
        "duration_seconds",
        "1080p",
    ),
    (
        "fal-ai/minimax/hailuo-02/pro/text-to-video",
        {"duration_seconds": 10},
        "duration_seconds",
        "6s",
    ),
    (
        "fal-ai/bytedance/seedance/v1/pro/text-to-video",
        {"duration_seconds": 1},
        "duration_seconds",
        "",
    ),
    ("fal-ai/wan/v2.2-a14b/text-to-video", {"duration_seconds": 12}, "duration_seconds", "frames"),
    ("fal-ai/ltxv-13b-098-distilled", {"resolution": "1080p"}, "resolution", ""),
    (
        "fal-ai/kling-video/o1/reference-to-video",
        {"image_list": [ref()] * 8},
        "image_list",
        "at most 7",
    ),
    # fields a model does not take are an error by default (nothing silently dropped)
    (
        "fal-ai/veo3.1/reference-to-video",
        {"seed": 1, "image_list": [ref()]},
        "seed",
        "not support",
    ),
    ("fal-ai/veo3.1", {"image_list": [first()]}, "image_list", "not support"),
    (
        "fal-ai/kling-video/v2.1/master/image-to-video",
        {"image_list": [first(), last()]},
        "image_list[last_frame]",
        "not support",
    ),
    ("fal-ai/veo3.1", {"number_of_videos": 2}, "number_of_videos", "not support"),
]


@pytest.mark.parametrize(
    ("model", "fields", "field", "text"),
    INVALID_VIDEO,
    ids=[f"{c[0]}-{c[2]}" for c in INVALID_VIDEO],
)
async def test_invalid_video_rejected_before_any_request(
    fal: FalEmulator, model: str, fields: dict[str, Any], field: str, text: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_video_async(
            video_config(fal, model), VideoGenerationRequest(prompt="p", **fields)
        )
    assert info.value.field == field
    assert text in info.value.message
    assert model in info.value.message
    assert info.value.retryable is False
    assert fal.requests == []


INVALID_IMAGE: list[tuple[str, dict[str, Any], str]] = [
    ("fal-ai/nano-banana", {"n": 5}, "n"),
    ("fal-ai/nano-banana", {"aspect_ratio": "4:1"}, "aspect_ratio"),
    ("fal-ai/flux/dev", {"aspect_ratio": "2:3"}, "size"),
    ("fal-ai/flux/dev", {"size": "huge"}, "size"),
    ("fal-ai/flux-2", {"size": "4096x4096"}, "size"),
    ("fal-ai/flux-pro/kontext", {}, "image_list"),
    ("fal-ai/nano-banana/edit", {}, "image_list"),
    ("fal-ai/flux-2/edit", {"image_list": [ref()] * 5}, "image_list"),
    ("fal-ai/flux-2-pro", {"n": 2}, "n"),
    ("fal-ai/nano-banana", {"negative_prompt": "x"}, "negative_prompt"),
]


@pytest.mark.parametrize(
    ("model", "fields", "field"), INVALID_IMAGE, ids=[f"{c[0]}-{c[2]}" for c in INVALID_IMAGE]
)
async def test_invalid_image_rejected_before_any_request(
    fal: FalEmulator, model: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_image_async(
            image_config(fal, model), ImageGenerationRequest(prompt="p", **fields)
        )
    assert info.value.field == field
    assert fal.requests == []


async def test_model_of_the_wrong_kind_is_rejected(fal: FalEmulator) -> None:
    with pytest.raises(ValidationError, match="video model"):
        await generate_image_async(
            image_config(fal, "fal-ai/veo3.1"), ImageGenerationRequest(prompt="p")
        )
    with pytest.raises(ValidationError, match="image model"):
        await generate_video_async(
            video_config(fal, "fal-ai/flux/dev"), VideoGenerationRequest(prompt="p")
        )
    assert fal.requests == []


async def test_invalid_fallback_config_rejects_the_whole_chain_before_sending(
    fal: FalEmulator,
) -> None:
    bad = video_config(fal, "fal-ai/kling-video/v2/master/text-to-video")
    config = video_config(fal, "fal-ai/veo3.1", fallback_configs=[bad])
    with pytest.raises(ValidationError) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="p", duration_seconds=8))
    assert "kling" in info.value.message
    assert fal.requests == []


async def test_warn_policy_sends_without_unsupported_fields(fal: FalEmulator) -> None:
    config = video_config(fal, "fal-ai/veo3.1/reference-to-video", on_unsupported_param="warn")
    request = VideoGenerationRequest(prompt="p", negative_prompt="x", seed=3, image_list=[ref()])
    response = await generate_video_async(config, request)
    assert submits(fal)[0].json == {"prompt": "p", "image_urls": [IMG]}
    assert any("negative_prompt" in w and "seed" in w for w in response.warnings)


@pytest.mark.parametrize(
    "provider_config",
    [
        {"queue_urls": "http://x"},
        {"max_concurrency": 0},
        {"max_streams": "many"},
        {"priority": "urgent"},
        {"queue_url": "ftp://x"},
    ],
)
async def test_bad_provider_config_is_a_validation_error(
    fal: FalEmulator, provider_config: dict[str, Any]
) -> None:
    config = VideoGenerationConfig(
        **{**video_config(fal).model_dump(exclude={"api_key"}), "provider_config": provider_config},
        api_key="k",
    )
    with pytest.raises(ValidationError) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="p"))
    assert info.value.field == "provider_config"
    assert fal.requests == []
