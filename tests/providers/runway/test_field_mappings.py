"""Runway field mappings: the SDK's Literal types are the source of truth (no network)."""

from __future__ import annotations

import subprocess
import sys
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import pytest

from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.media import MediaInput
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers.runway import RunwayProviderHandler
from tarash.tarash_gateway.providers.runway.field_mappings import (
    GENERIC_IMAGE_MAPPERS,
    GENERIC_VIDEO_MAPPERS,
    IMAGE_SPECS,
    MODEL_MAPPINGS,
    RETIRED_MODELS,
    VIDEO_SPECS,
    choose_ratio,
)

FIRST = "https://cdn.example.com/first.png"
LAST = "https://cdn.example.com/last.png"

handler = RunwayProviderHandler()


def _strip(tp: Any) -> Any:
    while get_origin(tp) in (Required, NotRequired, Annotated):
        tp = get_args(tp)[0]
    return tp


def _sdk_params(module_name: str) -> dict[str, dict[str, Any]]:
    """{model: {field: type}} for every member of the SDK's create-params union."""
    module = __import__(f"runwayml.types.{module_name}", fromlist=["x"])
    alias = next(v for k, v in vars(module).items() if k.endswith("CreateParams"))
    out: dict[str, dict[str, Any]] = {}
    for cls in get_args(alias):
        hints = {k: _strip(v) for k, v in get_type_hints(cls, include_extras=True).items()}
        out[get_args(hints["model"])[0]] = hints
    return out


def _literal(tp: Any) -> tuple[Any, ...] | None:
    if get_origin(tp) is Literal:
        return get_args(tp)
    return None


T2V = _sdk_params("text_to_video_create_params")
I2V = _sdk_params("image_to_video_create_params")
T2I = _sdk_params("text_to_image_create_params")


@pytest.mark.parametrize("name", sorted(VIDEO_SPECS))
def test_video_ratios_and_durations_match_the_sdk(name: str) -> None:
    spec = VIDEO_SPECS[name]
    if spec.t2v_ratios is None:
        assert name not in T2V
    else:
        assert spec.t2v_ratios == _literal(T2V[name]["ratio"])
    if spec.i2v_ratios:
        assert spec.i2v_ratios == _literal(I2V[name]["ratio"])
    else:
        assert "ratio" not in I2V[name]  # the output follows the first frame
    for table in (T2V, I2V):
        if name not in table:
            continue
        duration = table[name]["duration"]
        if spec.durations is not None:
            assert spec.durations == _literal(duration)
        else:
            assert duration is int
        assert ("audio" in table[name]) is spec.audio
        assert ("negative_prompt" in table[name]) is spec.negative_prompt
        assert ("seed" in table[name]) is spec.seed
    positions = get_args(_strip(get_type_hints(_item_type(name))["position"]))
    assert ("last" in positions) is spec.last_frame


def _item_type(name: str) -> Any:
    prompt_image = I2V[name]["prompt_image"]
    assert get_origin(prompt_image) is Union
    iterable = next(a for a in get_args(prompt_image) if a is not str)
    return get_args(iterable)[0]


@pytest.mark.parametrize("name", sorted(IMAGE_SPECS))
def test_image_ratios_match_the_sdk(name: str) -> None:
    spec = IMAGE_SPECS[name]
    assert spec.ratios == _literal(T2I[name]["ratio"])
    assert ("seed" in T2I[name]) is spec.seed


def test_retired_models_are_absent_from_the_sdk() -> None:
    for name in RETIRED_MODELS:
        assert name not in T2V and name not in I2V and name not in T2I


def test_mapping_module_imports_no_sdk() -> None:
    code = (
        "import sys; import tarash.tarash_gateway.providers.runway.field_mappings; "
        "import tarash.tarash_gateway.providers.runway; "
        "print('runwayml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert set(MODEL_MAPPINGS) == set(VIDEO_SPECS) | set(IMAGE_SPECS)


# ----------------------------------------------------------------------------- ratios


@pytest.mark.parametrize(
    ("allowed", "aspect", "kw", "expected"),
    [
        (VIDEO_SPECS["veo3.1"].t2v_ratios, "16:9", {}, "1280:720"),
        (VIDEO_SPECS["veo3.1"].t2v_ratios, "16:9", {"resolution": "1080p"}, "1920:1080"),
        (VIDEO_SPECS["veo3.1"].t2v_ratios, "9:16", {"resolution": "1080p"}, "1080:1920"),
        (VIDEO_SPECS["gen4_turbo"].i2v_ratios, "4:3", {}, "1104:832"),
        (VIDEO_SPECS["gen4_turbo"].i2v_ratios, "21:9", {"resolution": "720p"}, "1584:672"),
        (VIDEO_SPECS["gen4_turbo"].i2v_ratios, None, {}, "1280:720"),
        (IMAGE_SPECS["gen4_image"].ratios, "16:9", {"prefer_largest": True}, "1920:1080"),
        (
            IMAGE_SPECS["gen4_image"].ratios,
            None,
            {"prefer_largest": True, "default_shape": "1:1"},
            "1080:1080",
        ),
        (IMAGE_SPECS["gen4_image"].ratios, None, {"size": "1360x768"}, "1360:768"),
    ],
)
def test_choose_ratio(allowed: Any, aspect: str | None, kw: dict[str, Any], expected: str) -> None:
    assert choose_ratio(allowed, aspect, **kw) == expected


@pytest.mark.parametrize(
    ("allowed", "aspect", "kw", "message"),
    [
        (VIDEO_SPECS["veo3.1"].t2v_ratios, "1:1", {}, "not offered"),
        (VIDEO_SPECS["gen4.5"].t2v_ratios, "16:9", {"resolution": "1080p"}, "1080p is not offered"),
        (IMAGE_SPECS["gen4_image"].ratios, None, {"size": "1000x1000"}, "not offered"),
        (IMAGE_SPECS["gen4_image"].ratios, "1:1", {"size": "1920x1080"}, "does not have"),
    ],
)
def test_choose_ratio_errors(
    allowed: Any, aspect: str | None, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        choose_ratio(allowed, aspect, **kw)


# ----------------------------------------------------------------------------- payloads


def _plain(value: Any) -> Any:
    if isinstance(value, MediaInput):
        return value.url or "<local>"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def video(model: str, **request: Any) -> dict[str, Any]:
    config = VideoGenerationConfig(provider="runway", model=model, api_key="key_x")
    return _plain(handler.prepare("video", config, VideoGenerationRequest(**request)).payload)


def image(model: str, **request: Any) -> dict[str, Any]:
    config = ImageGenerationConfig(provider="runway", model=model, api_key="key_x")
    return _plain(handler.prepare("image", config, ImageGenerationRequest(**request)).payload)


def test_gen45_text_to_video_defaults_duration_and_ratio() -> None:
    assert video("gen4.5", prompt="p", seed=3) == {
        "prompt_text": "p",
        "ratio": "1280:720",
        "duration": 5,
        "seed": 3,
    }


def test_gen45_uses_the_image_to_video_ratio_table_with_a_frame() -> None:
    payload = video(
        "gen4.5", prompt="p", aspect_ratio="1:1", image_list=[{"image": FIRST, "type": "reference"}]
    )
    assert payload == {"prompt_text": "p", "prompt_image": FIRST, "ratio": "960:960", "duration": 5}
    with pytest.raises(ValidationError, match="not offered"):
        video("gen4.5", prompt="p", aspect_ratio="1:1")  # text-to-video: 16:9 and 9:16 only


def test_veo_first_and_last_frame_positions() -> None:
    payload = video(
        "veo3.1_fast",
        prompt="p",
        duration_seconds=8,
        generate_audio=False,
        negative_prompt="fog",
        image_list=[{"image": LAST, "type": "last_frame"}, {"image": FIRST, "type": "first_frame"}],
    )
    assert payload == {
        "prompt_text": "p",
        "prompt_image": [{"uri": FIRST, "position": "first"}, {"uri": LAST, "position": "last"}],
        "ratio": "1280:720",
        "duration": 8,
        "audio": False,
        "negative_prompt": "fog",
    }


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        ("gen4_turbo", {}, "image-to-video only"),
        (
            "gen4_turbo",
            {
                "image_list": [
                    {"image": FIRST, "type": "first_frame"},
                    {"image": LAST, "type": "last_frame"},
                ]
            },
            r"image_list\[last_frame\]",
        ),
        ("veo3.1", {"image_list": [{"image": LAST, "type": "last_frame"}]}, "last frame alone"),
        ("veo3.1", {"duration_seconds": 5}, "allowed: 4s, 6s, 8s"),
        ("gen4.5", {"duration_seconds": 11}, "<= 10"),
        (
            "kling2.5_turbo_pro",
            {"image_list": [{"image": FIRST, "type": "first_frame"}], "aspect_ratio": "16:9"},
            "follows the first frame",
        ),
        ("kling2.5_turbo_pro", {"seed": 1}, "seed"),
        ("gen3a_turbo", {}, "retired"),
        ("veo3", {}, "veo3.1"),
        ("gen4_image", {}, "does not do video"),
        ("veo3.1", {"provider_options": {"runway": {"ratio": "1584:672"}}}, "not offered"),
        ("veo3.1", {"extra_params": {"duration": 7}}, "not supported"),
    ],
)
def test_video_validation(model: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        video(model, prompt="p", **fields)


def test_pixel_ratio_override_is_accepted_when_offered() -> None:
    payload = video(
        "gen4_turbo",
        prompt="p",
        image_list=[{"image": FIRST, "type": "first_frame"}],
        provider_options={"runway": {"ratio": "1584:672"}},
    )
    assert payload["ratio"] == "1584:672"


def test_text_to_image_payloads() -> None:
    assert image(
        "gen4_image",
        prompt="p",
        size="1080x1440",
        seed=9,
        image_list=[{"image": FIRST, "type": "reference"}, {"image": LAST, "type": "style"}],
    ) == {
        "prompt_text": "p",
        "ratio": "1080:1440",
        "reference_images": [{"uri": FIRST}, {"uri": LAST}],
        "seed": 9,
    }
    assert image("gemini_2.5_flash", prompt="p", aspect_ratio="16:9") == {
        "prompt_text": "p",
        "ratio": "1344:768",
    }


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        ("gen4_image_turbo", {}, "at least 1"),
        ("gen4_image", {"image_list": [{"image": FIRST, "type": "reference"}] * 4}, "at most 3"),
        ("gen4_image", {"n": 2}, "n"),
        ("gemini_2.5_flash", {"seed": 1}, "seed"),
        ("gen4_image", {"aspect_ratio": "5:1"}, "not offered"),
        ("veo3.1", {}, "does not do image"),
    ],
)
def test_image_validation(model: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        image(model, prompt="p", **fields)


# ---------------------------------------------------------------------------- generic mapping


def _share(params: dict[str, dict[str, Any]], key: str) -> float:
    return sum(key in fields for fields in params.values()) / len(params)


@pytest.mark.parametrize("param", sorted(GENERIC_VIDEO_MAPPERS))
def test_generic_video_names_are_the_sdks_usual_ones(param: str) -> None:
    # Every name the generic mapping writes is a keyword of the SDK's video params, and the
    # core ones (promptText, duration, ratio, promptImage) are taken by nearly every model.
    either = {**{f"t2v:{m}": f for m, f in T2V.items()}, **{f"i2v:{m}": f for m, f in I2V.items()}}
    assert _share(either, param) > 0, f"{param}: no runwayml video model takes it"
    if param in ("prompt_text", "duration"):
        assert _share(T2V, param) == 1.0 and _share(I2V, param) == 1.0
    if param == "ratio":
        assert _share(T2V, param) >= 0.9
    if param == "prompt_image":
        assert _share(I2V, param) == 1.0


@pytest.mark.parametrize("param", sorted(GENERIC_IMAGE_MAPPERS))
def test_generic_image_names_are_the_sdks_usual_ones(param: str) -> None:
    assert _share(T2I, param) > 0, f"{param}: no runwayml text-to-image model takes it"
    if param in ("prompt_text", "ratio"):
        assert _share(T2I, param) == 1.0
    if param in ("reference_images", "output_count"):
        assert _share(T2I, param) >= 0.5


def test_generic_mapping_of_an_unknown_model() -> None:
    config = VideoGenerationConfig(provider="runway", model="gen9", api_key="key_test")
    request = VideoGenerationRequest(
        prompt="p",
        aspect_ratio="9:16",
        resolution="1080p",
        image_list=[{"image": FIRST, "type": "first_frame"}],
    )
    prepared = handler.prepare("video", config, request)
    assert _plain(prepared.payload) == {
        "prompt_text": "p",
        "prompt_image": FIRST,
        "ratio": "1080:1920",
    }
    assert any("did you mean" in w for w in prepared.warnings)
    with pytest.raises(ValidationError, match="last frame alone"):
        handler.prepare(
            "video",
            config,
            VideoGenerationRequest(prompt="p", image_list=[{"image": LAST, "type": "last_frame"}]),
        )
