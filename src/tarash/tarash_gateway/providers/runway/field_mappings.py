"""Field mappings of Runway's generation models (no SDK import).

The allowed ``ratio`` and ``duration`` values of every model are copied from the
``Literal`` types of the official ``runwayml`` SDK (``runwayml/types/*_create_params.py``,
5.24); ``tests/providers/runway/test_field_mappings.py`` re-reads those types and fails
when a table here drifts from the SDK. Integer durations the SDK leaves open use the range
from its docstring (``gen4.5``: 2–10 s) or Runway's API reference (``gen4_turbo``: 2–10 s).

Mapped payloads use the SDK's keyword names (``prompt_text``, ``prompt_image``,
``reference_images`` …); the handler passes them to ``text_to_video.create`` /
``image_to_video.create`` / ``text_to_image.create``, which send Runway's camelCase JSON.

Ratios are pixel sizes (``"1280:720"``). A request's ``aspect_ratio`` (``"16:9"``) picks the
model's pixel ratio of that shape; for video ``resolution`` picks among them (720p →
``1280:720``, 1080p → ``1920:1080``), otherwise the SDK's first (usually 720p) is used; for
images an explicit ``size`` (``"1920x1080"``) selects the ratio directly, otherwise the
largest size of that shape is used. The pixel ratio may also be given as-is through
``provider_options={"runway": {"ratio": "1584:672"}}`` (checked against the same table).

A model id that is not in these tables (one Runway launched after this catalog) is sent
with :data:`GENERIC_VIDEO_MAPPERS` / :data:`GENERIC_IMAGE_MAPPERS`: the common fields under
the names the SDK's typed params use for nearly every model (``promptText``,
``promptImage``, ``ratio``, ``duration``, ``seed``, ``audio``, ``negativePrompt``,
``referenceImages``, ``outputCount``), nothing checked beyond their types, and the
catalog's "not validated" warning (``strict_models=True`` refuses such a model).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tarash.tarash_gateway.media import to_media_input
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    FieldSpec,
    bool_field_mapper,
    duration_field_mapper,
    passthrough_field_mapper,
    seed_field_mapper,
)

__all__ = [
    "GENERIC_IMAGE_MAPPERS",
    "GENERIC_VIDEO_MAPPERS",
    "IMAGE_MODELS",
    "IMAGE_SPECS",
    "MODEL_MAPPINGS",
    "RETIRED_MODELS",
    "VIDEO_MODELS",
    "VIDEO_SPECS",
    "RunwayImageModel",
    "RunwayVideoModel",
    "choose_ratio",
]

_PIXELS = re.compile(r"^(\d{2,5}):(\d{2,5})$")
_RATIO_TOLERANCE = 0.03
_RESOLUTION_TOLERANCE = 0.15
_SHORT_SIDE = {
    "360p": 360,
    "480p": 480,
    "540p": 540,
    "720p": 720,
    "768p": 768,
    "1080p": 1080,
    "1440p": 1440,
    "2k": 1440,
    "4k": 2160,
}

# ---------------------------------------------------------------------------- model tables


@dataclass(frozen=True)
class RunwayVideoModel:
    """What one Runway video model accepts (from the SDK's types).

    ``t2v_ratios`` is ``None`` for image-to-video-only models; an empty ``i2v_ratios`` means
    the output follows the first frame and no ratio may be sent.
    """

    name: str
    t2v_ratios: tuple[str, ...] | None
    i2v_ratios: tuple[str, ...]
    durations: tuple[int, ...] | None = None
    duration_range: tuple[int, int] | None = None
    default_duration: int | None = None
    last_frame: bool = False
    audio: bool = False
    negative_prompt: bool = False
    seed: bool = True
    i2v_prompt_required: bool = False
    """``promptText`` is ``Required`` in the SDK's image-to-video params of this model
    (runwayml 5.24.0 ``image_to_video_create_params``, checked 2026-12-04)."""


@dataclass(frozen=True)
class RunwayImageModel:
    """What one Runway text-to-image model accepts (from the SDK's types)."""

    name: str
    ratios: tuple[str, ...]
    max_references: int = 3
    min_references: int = 0
    seed: bool = True


_GEN4_I2V_RATIOS = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
_VEO31_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
_GEN4_IMAGE_RATIOS = (
    "1024:1024",
    "1080:1080",
    "1168:880",
    "1360:768",
    "1440:1080",
    "1080:1440",
    "1808:768",
    "1920:1080",
    "1080:1920",
    "2112:912",
    "1280:720",
    "720:1280",
    "720:720",
    "960:720",
    "720:960",
    "1680:720",
)

VIDEO_SPECS: dict[str, RunwayVideoModel] = {
    spec.name: spec
    for spec in (
        RunwayVideoModel(
            "gen4.5",
            t2v_ratios=("1280:720", "720:1280"),
            i2v_ratios=_GEN4_I2V_RATIOS,
            duration_range=(2, 10),
            default_duration=5,
            i2v_prompt_required=True,
        ),
        RunwayVideoModel(
            "gen4_turbo",
            t2v_ratios=None,
            i2v_ratios=_GEN4_I2V_RATIOS,
            duration_range=(2, 10),
        ),
        RunwayVideoModel(
            "veo3.1",
            t2v_ratios=_VEO31_RATIOS,
            i2v_ratios=_VEO31_RATIOS,
            durations=(4, 6, 8),
            last_frame=True,
            audio=True,
            negative_prompt=True,
        ),
        RunwayVideoModel(
            "veo3.1_fast",
            t2v_ratios=_VEO31_RATIOS,
            i2v_ratios=_VEO31_RATIOS,
            durations=(4, 6, 8),
            last_frame=True,
            audio=True,
            negative_prompt=True,
        ),
        RunwayVideoModel(
            "kling2.5_turbo_pro",
            t2v_ratios=("1920:1080", "1440:1440", "1080:1920", "1280:720", "720:720", "720:1280"),
            i2v_ratios=(),
            durations=(5, 10),
            last_frame=True,
            seed=False,
            i2v_prompt_required=True,
        ),
    )
}
"""Runway video models with validated mappings (ratios/durations from the SDK types)."""

IMAGE_SPECS: dict[str, RunwayImageModel] = {
    spec.name: spec
    for spec in (
        RunwayImageModel("gen4_image", _GEN4_IMAGE_RATIOS),
        RunwayImageModel("gen4_image_turbo", _GEN4_IMAGE_RATIOS, min_references=1),
        RunwayImageModel(
            "gemini_2.5_flash",
            (
                "1344:768",
                "768:1344",
                "1024:1024",
                "1184:864",
                "864:1184",
                "1536:672",
                "832:1248",
                "1248:832",
                "896:1152",
                "1152:896",
            ),
            seed=False,
        ),
    )
}
"""Runway text-to-image models with validated mappings."""

RETIRED_MODELS: dict[str, str] = {
    "gen3a_turbo": "Runway retired Gen-3 Alpha Turbo; use 'gen4_turbo' (image-to-video) "
    "or 'gen4.5'",
    "veo3": "Runway's API no longer offers 'veo3'; use 'veo3.1' or 'veo3.1_fast'",
}
"""Models Runway no longer serves (absent from the SDK's types) and what replaces them."""

# ---------------------------------------------------------------------------- ratios


def _pixels(ratio: str) -> tuple[int, int] | None:
    match = _PIXELS.match(ratio)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _shape(aspect_ratio: str) -> float:
    width, height = (float(x) for x in aspect_ratio.split(":"))
    return width / height


def choose_ratio(
    allowed: Sequence[str],
    aspect_ratio: str | None,
    *,
    resolution: str | None = None,
    size: str | None = None,
    prefer_largest: bool = False,
    default_shape: str = "16:9",
) -> str:
    """The model's pixel ratio for a request's aspect ratio / resolution / size.

    Raises:
        ValueError: nothing the model offers matches (the message lists what it offers).
    """
    offered = ", ".join(allowed)
    if size:
        wanted = str(size).lower().replace("x", ":")
        if wanted not in allowed:
            raise ValueError(f"size {size!r} is not offered by this model; ratios: {offered}")
        if aspect_ratio is not None:
            width, height = _pixels(wanted) or (1, 1)
            if abs(width / height - _shape(aspect_ratio)) / _shape(aspect_ratio) > 0.03:
                raise ValueError(f"size {size!r} does not have aspect ratio {aspect_ratio}")
        return wanted
    shape = _shape(aspect_ratio or default_shape)
    matches: list[tuple[str, int, int]] = []
    for ratio in allowed:
        pixels = _pixels(ratio)
        if pixels is None:
            continue
        width, height = pixels
        if abs(width / height - shape) / shape <= _RATIO_TOLERANCE:
            matches.append((ratio, width, height))
    if not matches:
        if aspect_ratio is None:
            return allowed[0]
        raise ValueError(f"aspect ratio {aspect_ratio} is not offered; ratios: {offered}")
    if resolution is not None:
        nominal = _SHORT_SIDE.get(resolution.lower())
        if nominal is None:
            raise ValueError(f"resolution {resolution!r} is not supported")
        best = min(matches, key=lambda m: abs(min(m[1], m[2]) - nominal))
        if abs(min(best[1], best[2]) - nominal) / nominal > _RESOLUTION_TOLERANCE:
            sizes = ", ".join(m[0] for m in matches)
            raise ValueError(
                f"{resolution} is not offered at {aspect_ratio or default_shape}; "
                f"available: {sizes}"
            )
        return best[0]
    if prefer_largest:
        return max(matches, key=lambda m: m[1] * m[2])[0]
    return matches[0][0]


# ---------------------------------------------------------------------------- mappers


def _roles(request: Any, roles: Sequence[str]) -> list[Any]:
    return [
        item["image"]
        for item in (getattr(request, "image_list", None) or [])
        if item.get("type", "reference") in roles
    ]


_FIRST = ("first_frame", "reference")


def _is_image_to_video(request: Any) -> bool:
    return bool(_roles(request, _FIRST))


def _prompt_text(spec: RunwayVideoModel) -> FieldMapper:
    def convert(request: Any, value: Any) -> Any:
        if not value:
            if not _is_image_to_video(request):
                raise ValueError("a prompt is required for text-to-video")
            if spec.i2v_prompt_required:
                raise ValueError(f"{spec.name} needs a prompt for image-to-video too")
        return value or None

    return FieldMapper("prompt", convert, False, FieldSpec("text", None, None, 1000))


def _prompt_image(spec: RunwayVideoModel) -> FieldMapper:
    """``promptImage``: the first frame as a URI, or ``[{uri, position}]`` with a last frame."""
    roles = frozenset(_FIRST + (("last_frame",) if spec.last_frame else ()))

    def convert(request: Any, _value: Any) -> Any:
        first = _roles(request, _FIRST)
        last = _roles(request, ("last_frame",)) if spec.last_frame else []
        if len(first) > 1:
            raise ValueError(f"only one first-frame image is accepted, got {len(first)}")
        if len(last) > 1:
            raise ValueError(f"only one last-frame image is accepted, got {len(last)}")
        if last and not first:
            raise ValueError(f"{spec.name} cannot generate from a last frame alone")
        if not first:
            if spec.t2v_ratios is None:
                raise ValueError(f"{spec.name} is image-to-video only: give a first frame")
            return None
        if not last:
            return to_media_input(first[0])
        return [
            {"uri": to_media_input(first[0]), "position": "first"},
            {"uri": to_media_input(last[0]), "position": "last"},
        ]

    label = "first frame" + (" + optional last frame" if spec.last_frame else "")
    return FieldMapper(
        "image_list", convert, False, FieldSpec("image", None, None, None, label), roles
    )


def _video_ratio(spec: RunwayVideoModel) -> FieldMapper:
    def convert(request: Any, value: Any) -> Any:
        image_to_video = _is_image_to_video(request)
        allowed = spec.i2v_ratios if image_to_video else (spec.t2v_ratios or ())
        resolution = getattr(request, "resolution", None)
        if not allowed:
            if value is not None or resolution is not None:
                raise ValueError(
                    f"{spec.name} image-to-video follows the first frame's shape and size; "
                    "leave aspect_ratio and resolution unset"
                )
            return None
        return choose_ratio(allowed, value, resolution=resolution)

    choices = tuple(dict.fromkeys((spec.t2v_ratios or ()) + spec.i2v_ratios))
    return FieldMapper("aspect_ratio", convert, False, FieldSpec("ratio", choices))


def _resolution_consumed() -> FieldMapper:
    """``resolution`` is folded into the pixel ratio by the ratio mapper; send nothing."""

    def convert(_request: Any, value: Any) -> Any:
        if value is not None and value.lower() not in _SHORT_SIDE:
            raise ValueError(f"resolution {value!r} is not supported")
        return None

    return FieldMapper("resolution", convert, False, FieldSpec("resolution (picks the ratio)"))


def _video_duration(spec: RunwayVideoModel) -> FieldMapper:
    if spec.durations is not None:
        return duration_field_mapper(
            "int", list(spec.durations), "runway", spec.name, default=spec.default_duration
        )
    low, high = spec.duration_range or (1, 60)
    return duration_field_mapper("int", minimum=low, maximum=high, default=spec.default_duration)


def _video_mappers(spec: RunwayVideoModel) -> dict[str, FieldMapper]:
    mappers: dict[str, FieldMapper] = {
        "prompt_text": _prompt_text(spec),
        "prompt_image": _prompt_image(spec),
        "ratio": _video_ratio(spec),
        "_resolution": _resolution_consumed(),
        "duration": _video_duration(spec),
    }
    if spec.seed:
        mappers["seed"] = seed_field_mapper(4294967295)
    if spec.audio:
        mappers["audio"] = bool_field_mapper("generate_audio")
    if spec.negative_prompt:
        mappers["negative_prompt"] = passthrough_field_mapper("negative_prompt")
    return mappers


def _image_ratio(spec: RunwayImageModel) -> FieldMapper:
    def convert(request: Any, value: Any) -> Any:
        return choose_ratio(
            spec.ratios,
            value,
            size=getattr(request, "size", None),
            prefer_largest=True,
            default_shape="1:1",
        )

    return FieldMapper("aspect_ratio", convert, False, FieldSpec("ratio", spec.ratios))


def _size_consumed() -> FieldMapper:
    """``size`` is folded into the pixel ratio by the ratio mapper; send nothing."""
    return FieldMapper("size", lambda _r, _v: None, False, FieldSpec("WxH (picks the ratio)"))


def _reference_images(spec: RunwayImageModel) -> FieldMapper:
    """``referenceImages``: ``[{uri}]``, any role; add tags via provider_options."""

    def convert(request: Any, _value: Any) -> Any:
        images = [item["image"] for item in (getattr(request, "image_list", None) or [])]
        if len(images) > spec.max_references:
            raise ValueError(
                f"at most {spec.max_references} reference images accepted, got {len(images)}"
            )
        if len(images) < spec.min_references:
            raise ValueError(f"{spec.name} needs at least {spec.min_references} reference image")
        return [{"uri": to_media_input(image)} for image in images] or None

    return FieldMapper(
        "image_list",
        convert,
        False,
        FieldSpec("images", None, spec.min_references or None, spec.max_references),
    )


def _image_mappers(spec: RunwayImageModel) -> dict[str, FieldMapper]:
    mappers: dict[str, FieldMapper] = {
        "prompt_text": passthrough_field_mapper("prompt", required=True),
        "ratio": _image_ratio(spec),
        "_size": _size_consumed(),
        "reference_images": _reference_images(spec),
    }
    if spec.seed:
        mappers["seed"] = seed_field_mapper(4294967295)
    return mappers


VIDEO_MODELS: dict[str, dict[str, FieldMapper]] = {
    name: _video_mappers(spec) for name, spec in VIDEO_SPECS.items()
}
IMAGE_MODELS: dict[str, dict[str, FieldMapper]] = {
    name: _image_mappers(spec) for name, spec in IMAGE_SPECS.items()
}
MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {**VIDEO_MODELS, **IMAGE_MODELS}
"""Every Runway model with a validated mapping (the registry's built-in entries)."""


# ---------------------------------------------------------------- generic (unknown models)

_GENERIC_VIDEO = RunwayVideoModel(
    "this model", t2v_ratios=(), i2v_ratios=(), last_frame=True, audio=True, negative_prompt=True
)
_KNOWN_VIDEO_RATIOS = tuple(
    dict.fromkeys(r for s in VIDEO_SPECS.values() for r in (s.t2v_ratios or ()) + s.i2v_ratios)
)
_KNOWN_IMAGE_RATIOS = tuple(dict.fromkeys(r for s in IMAGE_SPECS.values() for r in s.ratios))


def _known_pixel_ratio(
    known: Sequence[str],
    aspect_ratio: str | None,
    *,
    resolution: str | None = None,
    size: str | None = None,
    prefer_largest: bool = False,
) -> str | None:
    """The pixel ratio Runway's catalogued models use for this shape, if any.

    ``None`` when nothing of that shape (and resolution) is known: the generic mapping
    then sends the caller's values as given, for Runway's API to judge.
    """
    if size:
        return str(size).lower().replace("x", ":")
    if aspect_ratio is None:
        return None
    if aspect_ratio in known:
        return aspect_ratio
    try:
        return choose_ratio(
            known, aspect_ratio, resolution=resolution, prefer_largest=prefer_largest
        )
    except ValueError:
        return None


def _generic_video_ratio() -> FieldMapper:
    """``ratio``: a known pixel ratio of the requested shape (resolution picks), else the
    ``aspect_ratio`` as given; nothing when the request sets no aspect ratio."""

    def convert(request: Any, value: Any) -> Any:
        resolution = getattr(request, "resolution", None)
        return _known_pixel_ratio(_KNOWN_VIDEO_RATIOS, value, resolution=resolution) or value

    return FieldMapper(
        "aspect_ratio",
        convert,
        False,
        FieldSpec("ratio", None, None, None, "pixel ratio of that shape, else as given"),
    )


def _generic_resolution() -> FieldMapper:
    """``resolution`` as given, unless it was folded into a known pixel ratio."""

    def convert(request: Any, value: Any) -> Any:
        if value is None:
            return None
        aspect_ratio = getattr(request, "aspect_ratio", None)
        folded = _known_pixel_ratio(_KNOWN_VIDEO_RATIOS, aspect_ratio, resolution=value)
        return None if folded is not None else value

    return FieldMapper("resolution", convert, False, FieldSpec("resolution", None))


def _generic_image_ratio() -> FieldMapper:
    """``ratio``: ``size`` as ``W:H``, else the largest known pixel ratio of the shape,
    else the ``aspect_ratio`` as given; nothing when neither is set."""

    def convert(request: Any, value: Any) -> Any:
        size = getattr(request, "size", None)
        pixel = _known_pixel_ratio(_KNOWN_IMAGE_RATIOS, value, size=size, prefer_largest=True)
        return pixel or value

    return FieldMapper(
        "aspect_ratio",
        convert,
        False,
        FieldSpec("ratio", None, None, None, "size as W:H, or a pixel ratio of that shape"),
        also_consumes=frozenset({"size"}),
    )


def _all_references() -> FieldMapper:
    def convert(request: Any, _value: Any) -> Any:
        images = [item["image"] for item in (getattr(request, "image_list", None) or [])]
        return [{"uri": to_media_input(image)} for image in images] or None

    return FieldMapper("image_list", convert, False, FieldSpec("images", None))


GENERIC_VIDEO_MAPPERS: dict[str, FieldMapper] = {
    "prompt_text": passthrough_field_mapper("prompt"),
    "prompt_image": _prompt_image(_GENERIC_VIDEO),
    "ratio": _generic_video_ratio(),
    "resolution": _generic_resolution(),
    "duration": duration_field_mapper("int"),
    "seed": seed_field_mapper(4294967295),
    "audio": bool_field_mapper("generate_audio"),
    "negative_prompt": passthrough_field_mapper("negative_prompt"),
}
"""Runway's usual video fields (runwayml 5.24.0 text/image_to_video params: every model
takes ``promptText``/``duration``, nearly all ``ratio``; ``promptImage`` is the first
frame, or ``[{uri, position}]`` with a last frame), for models without a validated mapping."""

GENERIC_IMAGE_MAPPERS: dict[str, FieldMapper] = {
    "prompt_text": passthrough_field_mapper("prompt", required=True),
    "ratio": _generic_image_ratio(),
    "reference_images": _all_references(),
    "output_count": passthrough_field_mapper("n"),
    "seed": seed_field_mapper(4294967295),
}
"""Runway's usual text-to-image fields (runwayml 5.24.0 text_to_image params: every model
takes ``promptText`` and ``ratio``, most ``referenceImages`` and ``outputCount``), for
models without a validated mapping."""
