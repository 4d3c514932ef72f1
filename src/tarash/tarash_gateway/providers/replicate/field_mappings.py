"""Field mappings of the video and image models people run on Replicate (no SDK import).

Every entry maps the gateway's request fields onto the model's real input names and
enums, as published in the model's API schema on replicate.com (``/versions/<id>/api``).
Keys are Replicate model names; the registry matches on segment boundaries, so
``kwaivgi/kling-v2.1`` also covers a pinned version ``kwaivgi/kling-v2.1:<hash>``.

Image roles used here: ``first_frame`` (a ``reference`` image counts as first frame for
image-to-video), ``last_frame``, ``asset`` (subject / reference-to-video images) and
``style`` (style references). Parameters without a gateway field (``loop``, ``concepts``,
``go_fast``, ``safety_tolerance``, ``output_format`` …) pass through ``extra_params`` or
``provider_options={"replicate": {...}}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tarash.tarash_gateway.media import to_media_input
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    FieldSpec,
    aspect_ratio_field_mapper,
    bool_field_mapper,
    duration_field_mapper,
    enum_field_mapper,
    first_frame_field_mapper,
    image_list_field_mapper,
    last_frame_field_mapper,
    mask_image_field_mapper,
    n_images_field_mapper,
    passthrough_field_mapper,
    seed_field_mapper,
    single_image_field_mapper,
)

__all__ = [
    "GENERIC_IMAGE_MAPPERS",
    "GENERIC_VIDEO_MAPPERS",
    "IMAGE_MODELS",
    "MODEL_MAPPINGS",
    "VIDEO_MODELS",
]

# --------------------------------------------------------------------------- helpers


def _prompt() -> FieldMapper:
    return passthrough_field_mapper("prompt", required=True)


def _negative() -> FieldMapper:
    return passthrough_field_mapper("negative_prompt")


def _images(request: Any, roles: Sequence[str]) -> list[Any]:
    return [
        item["image"]
        for item in (getattr(request, "image_list", None) or [])
        if item.get("type", "reference") in roles
    ]


def _has_first_frame(request: Any) -> bool:
    return bool(_images(request, ("first_frame", "reference")))


def _has_last_frame(request: Any) -> bool:
    return bool(_images(request, ("last_frame",)))


def _fixed_resolution(value: str) -> FieldMapper:
    """The model name fixes the resolution: accept it (or nothing), send nothing."""

    def convert(_request: Any, requested: Any) -> Any:
        if requested is not None and str(requested).lower() != value:
            raise ValueError(f"this model renders {value} only; choose the other variant")
        return None

    return FieldMapper("resolution", convert, False, FieldSpec("resolution", (value,)))


# --------------------------------------------------------------------------- Kling


def _kling_v21_mode() -> FieldMapper:
    """kling-v2.1: ``mode`` standard (720p) / pro (1080p); an end image requires pro."""

    def convert(request: Any, value: Any) -> Any:
        table = {"720p": "standard", "1080p": "pro"}
        if value is None:
            return "pro" if _has_last_frame(request) else None
        mode = table.get(str(value).lower())
        if mode is None:
            raise ValueError(f"{value!r} is not supported; allowed: 720p, 1080p")
        if mode == "standard" and _has_last_frame(request):
            raise ValueError("a last frame (end_image) needs pro mode: resolution 1080p")
        return mode

    return FieldMapper("resolution", convert, False, FieldSpec("resolution", ("720p", "1080p")))


_KLING_RATIOS = ("16:9", "9:16", "1:1")

KLING_V21: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "negative_prompt": _negative(),
    "start_image": first_frame_field_mapper(required=True),
    "end_image": last_frame_field_mapper(),
    "mode": _kling_v21_mode(),
    "duration": duration_field_mapper("int", [5, 10], "replicate", "kwaivgi/kling-v2.1"),
}

KLING_V21_MASTER: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "negative_prompt": _negative(),
    "start_image": first_frame_field_mapper(),
    "aspect_ratio": aspect_ratio_field_mapper(_KLING_RATIOS),
    "duration": duration_field_mapper("int", [5, 10], "replicate", "kwaivgi/kling-v2.1-master"),
}

KLING_V25_TURBO_PRO: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "negative_prompt": _negative(),
    "start_image": first_frame_field_mapper(),
    "end_image": last_frame_field_mapper(),
    "aspect_ratio": aspect_ratio_field_mapper(_KLING_RATIOS),
    "duration": duration_field_mapper("int", [5, 10], "replicate", "kwaivgi/kling-v2.5-turbo-pro"),
}

KLING_V26: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "negative_prompt": _negative(),
    "start_image": first_frame_field_mapper(),
    "aspect_ratio": aspect_ratio_field_mapper(_KLING_RATIOS),
    "duration": duration_field_mapper("int", [5, 10], "replicate", "kwaivgi/kling-v2.6"),
    "generate_audio": bool_field_mapper("generate_audio"),
}

# --------------------------------------------------------------------------- Luma Ray 2

_LUMA_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9", "9:21", "21:9")


def _luma(resolution: str) -> dict[str, FieldMapper]:
    return {
        "prompt": _prompt(),
        "start_image": first_frame_field_mapper(),
        "end_image": last_frame_field_mapper(),
        "duration": duration_field_mapper("int", [5, 9], "replicate", "luma/ray-2"),
        "aspect_ratio": aspect_ratio_field_mapper(_LUMA_RATIOS),
        "resolution": _fixed_resolution(resolution),
    }


# --------------------------------------------------------------------------- MiniMax


def _hailuo_resolution(choices: Sequence[str]) -> FieldMapper:
    """Hailuo: 10-second clips exist only at 768p."""

    def convert(request: Any, value: Any) -> Any:
        duration = getattr(request, "duration_seconds", None)
        if value is None:
            if duration == 10:
                raise ValueError("10-second clips need resolution 768p (the default is 1080p)")
            return None
        text = str(value).lower()
        if text not in choices:
            raise ValueError(f"{value!r} is not supported; allowed: {', '.join(choices)}")
        if duration == 10 and text != "768p":
            raise ValueError("10-second clips are only available at 768p")
        return text

    return FieldMapper("resolution", convert, False, FieldSpec("resolution", tuple(choices)))


HAILUO_02: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "first_frame_image": first_frame_field_mapper(),
    "last_frame_image": last_frame_field_mapper(),
    "duration": duration_field_mapper("int", [6, 10], "replicate", "minimax/hailuo-02"),
    "resolution": _hailuo_resolution(("512p", "768p", "1080p")),
    "prompt_optimizer": bool_field_mapper("enhance_prompt"),
}

HAILUO_23: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "first_frame_image": first_frame_field_mapper(),
    "duration": duration_field_mapper("int", [6, 10], "replicate", "minimax/hailuo-2.3"),
    "resolution": _hailuo_resolution(("768p", "1080p")),
    "prompt_optimizer": bool_field_mapper("enhance_prompt"),
}

MINIMAX_VIDEO_01: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "first_frame_image": first_frame_field_mapper(),
    "subject_reference": single_image_field_mapper(image_type="asset"),
    "prompt_optimizer": bool_field_mapper("enhance_prompt"),
}

MINIMAX_VIDEO_01_LIVE: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "first_frame_image": first_frame_field_mapper(required=True),
    "prompt_optimizer": bool_field_mapper("enhance_prompt"),
}

# --------------------------------------------------------------------------- Wan 2.2


def _wan_frames() -> FieldMapper:
    """``duration_seconds`` → ``num_frames`` at the model's default 16 fps (81..100 frames)."""
    frames = {5: 81, 6: 97}

    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        if int(value) not in frames:
            raise ValueError(
                f"duration {value}s is not supported (81-100 frames at 16 fps); allowed: 5s, 6s"
            )
        return frames[int(value)]

    return FieldMapper("duration_seconds", convert, False, FieldSpec("seconds", (5, 6)))


WAN_22_T2V_FAST: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "num_frames": _wan_frames(),
    "aspect_ratio": aspect_ratio_field_mapper(("16:9", "9:16")),
    "resolution": enum_field_mapper("resolution", ("480p", "720p"), label="resolution"),
    "seed": seed_field_mapper(),
}

WAN_22_I2V_FAST: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "image": first_frame_field_mapper(required=True),
    "num_frames": _wan_frames(),
    "resolution": enum_field_mapper("resolution", ("480p", "720p"), label="resolution"),
    "seed": seed_field_mapper(),
}

# --------------------------------------------------------------------------- Veo

_VEO_RATIOS = ("16:9", "9:16")


def _veo_reference_images() -> FieldMapper:
    """veo-3.1 reference-to-video: 1-3 ``asset`` images, 16:9 and 8 seconds only."""

    def convert(request: Any, value: Any) -> Any:
        images = [to_media_input(item) for item in _images(request, ("asset",))]
        if not images:
            return None
        if len(images) > 3:
            raise ValueError(f"at most 3 reference images accepted, got {len(images)}")
        if getattr(request, "aspect_ratio", None) not in (None, "16:9"):
            raise ValueError("reference images only work with aspect ratio 16:9")
        if getattr(request, "duration_seconds", None) not in (None, 8):
            raise ValueError("reference images only work with an 8-second duration")
        if _has_last_frame(request):
            raise ValueError("a last frame cannot be combined with reference images")
        return images

    return FieldMapper(
        "image_list", convert, False, FieldSpec("images", None, 1, 3, "asset"), frozenset({"asset"})
    )


def _veo3(*, last_frame: bool, references: bool) -> dict[str, FieldMapper]:
    mappers: dict[str, FieldMapper] = {
        "prompt": _prompt(),
        "aspect_ratio": aspect_ratio_field_mapper(_VEO_RATIOS),
        "duration": duration_field_mapper("int", [4, 6, 8], "replicate", "google/veo-3"),
        "image": first_frame_field_mapper(),
        "negative_prompt": _negative(),
        "resolution": enum_field_mapper("resolution", ("720p", "1080p"), label="resolution"),
        "generate_audio": bool_field_mapper("generate_audio"),
        "seed": seed_field_mapper(),
    }
    if last_frame:
        mappers["last_frame"] = last_frame_field_mapper()
    if references:
        mappers["reference_images"] = _veo_reference_images()
    return mappers


VEO_2: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "image": first_frame_field_mapper(),
    "aspect_ratio": aspect_ratio_field_mapper(_VEO_RATIOS),
    "duration": duration_field_mapper("int", [5, 6, 7, 8], "replicate", "google/veo-2"),
    "seed": seed_field_mapper(),
}

# --------------------------------------------------------------------------- Seedance

_SEEDANCE_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21")


def _seedance_references() -> FieldMapper:
    """seedance-1-lite reference-to-video: 1-4 ``asset`` images, not at 1080p, no frames."""

    def convert(request: Any, _value: Any) -> Any:
        images = [to_media_input(item) for item in _images(request, ("asset",))]
        if not images:
            return None
        if len(images) > 4:
            raise ValueError(f"at most 4 reference images accepted, got {len(images)}")
        if getattr(request, "resolution", None) == "1080p":
            raise ValueError("reference images cannot be used at 1080p")
        if _has_first_frame(request) or _has_last_frame(request):
            raise ValueError("reference images cannot be combined with first/last frames")
        return images

    return FieldMapper(
        "image_list", convert, False, FieldSpec("images", None, 1, 4, "asset"), frozenset({"asset"})
    )


def _seedance(*, last_frame: bool, references: bool) -> dict[str, FieldMapper]:
    mappers: dict[str, FieldMapper] = {
        "prompt": _prompt(),
        "image": first_frame_field_mapper(),
        "duration": duration_field_mapper("int", minimum=2, maximum=12),
        "resolution": enum_field_mapper(
            "resolution", ("480p", "720p", "1080p"), label="resolution"
        ),
        "aspect_ratio": aspect_ratio_field_mapper(_SEEDANCE_RATIOS),
        "seed": seed_field_mapper(),
    }
    if last_frame:
        mappers["last_frame_image"] = last_frame_field_mapper()
    if references:
        mappers["reference_images"] = _seedance_references()
    return mappers


# --------------------------------------------------------------------------- FLUX

_FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_FLUX_PRO_RATIOS = ("1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3")
_FLUX_ULTRA_RATIOS = (
    "21:9",
    "16:9",
    "3:2",
    "4:3",
    "5:4",
    "1:1",
    "4:5",
    "3:4",
    "2:3",
    "9:16",
    "9:21",
)
_KONTEXT_RATIOS = (
    "match_input_image",
    "1:1",
    "16:9",
    "9:16",
    "4:3",
    "3:4",
    "3:2",
    "2:3",
    "4:5",
    "5:4",
    "21:9",
    "9:21",
    "2:1",
    "1:2",
)
_SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def _parse_size(size: Any) -> tuple[int, int]:
    match = _SIZE_RE.match(str(size).strip().lower())
    if not match:
        raise ValueError(f"size must look like '1024x768', got {size!r}")
    return int(match.group(1)), int(match.group(2))


def _flux_pro_aspect_ratio() -> FieldMapper:
    """flux-1.1-pro: a ratio, or ``custom`` when the request gives an explicit ``size``."""

    def convert(request: Any, value: Any) -> Any:
        if getattr(request, "size", None):
            if value is not None:
                raise ValueError("give either size or aspect_ratio, not both")
            return "custom"
        if value is None:
            return None
        if value not in _FLUX_PRO_RATIOS:
            raise ValueError(f"{value!r} is not supported; allowed: {', '.join(_FLUX_PRO_RATIOS)}")
        return value

    return FieldMapper("aspect_ratio", convert, False, FieldSpec("ratio", _FLUX_PRO_RATIOS))


def _flux_pro_side(index: int) -> FieldMapper:
    """Width/height (256..1440, multiple of 32) from ``size`` when aspect_ratio is custom."""

    def convert(_request: Any, value: Any) -> Any:
        if not value:
            return None
        side = _parse_size(value)[index]
        if not 256 <= side <= 1440:
            raise ValueError(f"width and height must be within 256..1440, got {value!r}")
        if side % 32:
            raise ValueError(f"width and height must be multiples of 32, got {value!r}")
        return side

    return FieldMapper("size", convert, False, FieldSpec("pixels", None, 256, 1440))


def _reference_image(required: bool = False) -> FieldMapper:
    return single_image_field_mapper(required, ("reference", "first_frame"))


FLUX_SCHNELL: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "aspect_ratio": aspect_ratio_field_mapper(_FLUX_RATIOS),
    "num_outputs": n_images_field_mapper(1, 4),
    "seed": seed_field_mapper(),
}

FLUX_DEV: dict[str, FieldMapper] = {
    **FLUX_SCHNELL,
    "image": _reference_image(),
}

FLUX_11_PRO: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "aspect_ratio": _flux_pro_aspect_ratio(),
    "width": _flux_pro_side(0),
    "height": _flux_pro_side(1),
    "image_prompt": _reference_image(),
    "seed": seed_field_mapper(),
}

FLUX_11_PRO_ULTRA: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "aspect_ratio": aspect_ratio_field_mapper(_FLUX_ULTRA_RATIOS),
    "image_prompt": _reference_image(),
    "seed": seed_field_mapper(),
}

FLUX_KONTEXT: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "input_image": _reference_image(),
    "aspect_ratio": aspect_ratio_field_mapper(_KONTEXT_RATIOS),
    "seed": seed_field_mapper(),
}

# --------------------------------------------------------------------------- Imagen 4

IMAGEN_4: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "aspect_ratio": aspect_ratio_field_mapper(("1:1", "9:16", "16:9", "3:4", "4:3")),
}

# --------------------------------------------------------------------------- Ideogram v3

_IDEOGRAM_RATIOS = (
    "1:3",
    "3:1",
    "1:2",
    "2:1",
    "9:16",
    "16:9",
    "10:16",
    "16:10",
    "2:3",
    "3:2",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "1:1",
)


# The ``resolution`` enum of ideogram-ai/ideogram-v3-quality's Input schema (version
# 03944eb9…, replicate.com version API page, taken 2026-12-04; tests/data/schemas/replicate.json).
_IDEOGRAM_RESOLUTIONS = (
    "512x1536",
    "576x1408",
    "576x1472",
    "576x1536",
    "640x1344",
    "640x1408",
    "640x1472",
    "640x1536",
    "704x1152",
    "704x1216",
    "704x1280",
    "704x1344",
    "704x1408",
    "704x1472",
    "736x1312",
    "768x1088",
    "768x1216",
    "768x1280",
    "768x1344",
    "800x1280",
    "832x960",
    "832x1024",
    "832x1088",
    "832x1152",
    "832x1216",
    "832x1248",
    "864x1152",
    "896x960",
    "896x1024",
    "896x1088",
    "896x1120",
    "896x1152",
    "960x832",
    "960x896",
    "960x1024",
    "960x1088",
    "1024x832",
    "1024x896",
    "1024x960",
    "1024x1024",
    "1088x768",
    "1088x832",
    "1088x896",
    "1088x960",
    "1120x896",
    "1152x704",
    "1152x832",
    "1152x864",
    "1152x896",
    "1216x704",
    "1216x768",
    "1216x832",
    "1248x832",
    "1280x704",
    "1280x768",
    "1280x800",
    "1312x736",
    "1344x640",
    "1344x704",
    "1344x768",
    "1408x576",
    "1408x640",
    "1408x704",
    "1472x576",
    "1472x640",
    "1472x704",
    "1536x512",
    "1536x576",
    "1536x640",
)


def _ideogram_resolution() -> FieldMapper:
    """Ideogram ``resolution`` (one of the schema's ``WxH`` values) from ``size``."""

    def convert(_request: Any, value: Any) -> Any:
        if not value:
            return None
        width, height = _parse_size(value)
        text = f"{width}x{height}"
        if text not in _IDEOGRAM_RESOLUTIONS:
            raise ValueError(
                f"size {value!r} is not an Ideogram resolution; allowed: "
                + ", ".join(_IDEOGRAM_RESOLUTIONS)
            )
        return text

    return FieldMapper("size", convert, False, FieldSpec("WxH", _IDEOGRAM_RESOLUTIONS))


def _ideogram_image() -> FieldMapper:
    """The inpainting image: Ideogram needs a mask with it."""

    def convert(request: Any, _value: Any) -> Any:
        images = _images(request, ("reference", "first_frame"))
        if not images:
            return None
        if len(images) > 1:
            raise ValueError(f"only one image to inpaint is accepted, got {len(images)}")
        if getattr(request, "mask_image", None) is None:
            raise ValueError("an inpainting image needs mask_image too")
        return to_media_input(images[0])

    return FieldMapper(
        "image_list", convert, False, FieldSpec("image"), frozenset({"reference", "first_frame"})
    )


IDEOGRAM_V3: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "aspect_ratio": aspect_ratio_field_mapper(_IDEOGRAM_RATIOS),
    "resolution": _ideogram_resolution(),
    "style_type": enum_field_mapper(
        "style", ("None", "Auto", "General", "Realistic", "Design"), label="style"
    ),
    "image": _ideogram_image(),
    "mask": mask_image_field_mapper("replicate"),
    "style_reference_images": image_list_field_mapper("style", "replicate", max_count=10),
    # seed 0..2147483647: "Max: 2147483647" on ideogram-ai/ideogram-v3-balanced version
    # e78d8251's API page (checked 2026-12-04); the three v3 models share this Input.
    "seed": seed_field_mapper(2147483647),
}

# --------------------------------------------------------------------------- Recraft

_RECRAFT_SIZES = (
    "1024x1024",
    "1365x1024",
    "1024x1365",
    "1536x1024",
    "1024x1536",
    "1820x1024",
    "1024x1820",
    "1024x2048",
    "2048x1024",
    "1434x1024",
    "1024x1434",
    "1024x1280",
    "1280x1024",
    "1024x1707",
    "1707x1024",
)
_RECRAFT_RATIOS = (
    "1:1",
    "4:3",
    "3:4",
    "3:2",
    "2:3",
    "16:9",
    "9:16",
    "1:2",
    "2:1",
    "7:5",
    "5:7",
    "4:5",
    "5:4",
    "3:5",
    "5:3",
)


def _recraft_style(families: Sequence[str]) -> FieldMapper:
    """Recraft styles are ``family`` or ``family/substyle`` (``digital_illustration/grain``)."""

    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        if text.split("/", 1)[0] not in families:
            raise ValueError(
                f"style {text!r} is not supported; use one of {', '.join(families)} "
                "(optionally with a /substyle)"
            )
        return text

    return FieldMapper("style", convert, False, FieldSpec("style", tuple(families)))


def _recraft_size() -> FieldMapper:
    def convert(request: Any, value: Any) -> Any:
        if value is None:
            return None
        if getattr(request, "aspect_ratio", None):
            raise ValueError("give either size or aspect_ratio (Recraft ignores size then)")
        if str(value) not in _RECRAFT_SIZES:
            raise ValueError(f"{value!r} is not supported; allowed: {', '.join(_RECRAFT_SIZES)}")
        return str(value)

    return FieldMapper("size", convert, False, FieldSpec("WxH", _RECRAFT_SIZES))


RECRAFT_V3: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "size": _recraft_size(),
    "aspect_ratio": aspect_ratio_field_mapper(_RECRAFT_RATIOS),
    "style": _recraft_style(("any", "realistic_image", "digital_illustration")),
}

RECRAFT_V3_SVG: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "size": _recraft_size(),
    "aspect_ratio": aspect_ratio_field_mapper(_RECRAFT_RATIOS),
    "style": _recraft_style(
        ("any", "engraving", "line_art", "line_circuit", "linocut", "vector_illustration")
    ),
}

# --------------------------------------------------------------------------- registry

VIDEO_MODELS: dict[str, dict[str, FieldMapper]] = {
    # Kling (Kuaishou)
    "kwaivgi/kling-v2.1": KLING_V21,
    "kwaivgi/kling-v2.1-master": KLING_V21_MASTER,
    "kwaivgi/kling-v2.5-turbo-pro": KLING_V25_TURBO_PRO,
    "kwaivgi/kling-v2.6": KLING_V26,
    # Luma Ray 2 (resolution fixed by the model name)
    "luma/ray-2-720p": _luma("720p"),
    "luma/ray-2-540p": _luma("540p"),
    "luma/ray-flash-2-720p": _luma("720p"),
    "luma/ray-flash-2-540p": _luma("540p"),
    # MiniMax
    "minimax/hailuo-02": HAILUO_02,
    "minimax/hailuo-2.3": HAILUO_23,
    "minimax/video-01": MINIMAX_VIDEO_01,
    "minimax/video-01-live": MINIMAX_VIDEO_01_LIVE,
    # Wan 2.2
    "wan-video/wan-2.2-t2v-fast": WAN_22_T2V_FAST,
    "wan-video/wan-2.2-i2v-fast": WAN_22_I2V_FAST,
    # Google Veo
    "google/veo-2": VEO_2,
    "google/veo-3": _veo3(last_frame=False, references=False),
    "google/veo-3-fast": _veo3(last_frame=False, references=False),
    "google/veo-3.1": _veo3(last_frame=True, references=True),
    "google/veo-3.1-fast": _veo3(last_frame=True, references=False),
    # ByteDance Seedance
    "bytedance/seedance-1-pro": _seedance(last_frame=True, references=False),
    "bytedance/seedance-1-pro-fast": _seedance(last_frame=False, references=False),
    "bytedance/seedance-1-lite": _seedance(last_frame=True, references=True),
}
"""Replicate video models with validated field mappings."""

IMAGE_MODELS: dict[str, dict[str, FieldMapper]] = {
    # Black Forest Labs FLUX
    "black-forest-labs/flux-schnell": FLUX_SCHNELL,
    "black-forest-labs/flux-dev": FLUX_DEV,
    "black-forest-labs/flux-1.1-pro": FLUX_11_PRO,
    "black-forest-labs/flux-1.1-pro-ultra": FLUX_11_PRO_ULTRA,
    "black-forest-labs/flux-kontext-pro": FLUX_KONTEXT,
    "black-forest-labs/flux-kontext-max": FLUX_KONTEXT,
    # Google Imagen 4
    "google/imagen-4": IMAGEN_4,
    "google/imagen-4-fast": IMAGEN_4,
    "google/imagen-4-ultra": IMAGEN_4,
    # Ideogram v3
    "ideogram-ai/ideogram-v3-turbo": IDEOGRAM_V3,
    "ideogram-ai/ideogram-v3-balanced": IDEOGRAM_V3,
    "ideogram-ai/ideogram-v3-quality": IDEOGRAM_V3,
    # Recraft
    "recraft-ai/recraft-v3": RECRAFT_V3,
    "recraft-ai/recraft-v3-svg": RECRAFT_V3_SVG,
}
"""Replicate image models with validated field mappings."""

MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {**VIDEO_MODELS, **IMAGE_MODELS}
"""Every Replicate model with a validated mapping (the registry's built-in entries)."""

# --------------------------------------------------------------------------- unknown models

GENERIC_VIDEO_MAPPERS: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "negative_prompt": _negative(),
    "duration": duration_field_mapper("int", minimum=1, maximum=60),
    "aspect_ratio": aspect_ratio_field_mapper(),
    "resolution": passthrough_field_mapper("resolution"),
    "seed": seed_field_mapper(),
    "image": first_frame_field_mapper(),
    "end_image": last_frame_field_mapper(),
    "generate_audio": bool_field_mapper("generate_audio"),
}
"""Common input names used for Replicate video models without a validated mapping."""

GENERIC_IMAGE_MAPPERS: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "negative_prompt": _negative(),
    "aspect_ratio": aspect_ratio_field_mapper(),
    "num_outputs": n_images_field_mapper(1, 16),
    "seed": seed_field_mapper(),
    "image": _reference_image(),
    "mask": mask_image_field_mapper("replicate"),
}
"""Common input names used for Replicate image models without a validated mapping."""
