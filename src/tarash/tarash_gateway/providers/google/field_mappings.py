"""Google models (Veo, Imagen, Gemini image): what each accepts, as plain data and mappers.

No SDK import here: listing models and validating requests never needs
``google-genai``.

Three families:

* **veo** — video, a long-running ``predictLongRunning`` operation
  (:data:`VEO_MODELS`);
* **imagen** — text-to-image ``predict`` (:data:`IMAGEN_MODELS`; Google has
  deprecated every Imagen model in favour of the Gemini image models);
* **gemini_image** — the Gemini "Nano Banana" image models on
  ``generateContent`` (:data:`GEMINI_IMAGE_MODELS`), text-to-image and edits.

:data:`MODEL_MAPPINGS` maps every listed model to its request-field mappers.
The mappers produce a payload whose keys are the ``google-genai`` config field
names (``duration_seconds``, ``number_of_videos``, ``image_size`` …) plus the
media inputs (``image``, ``last_frame``, ``reference_images``, ``images``).

Provider-only parameters (``person_generation``, ``safety_filter_level``,
``output_gcs_uri`` …) travel in ``extra_params`` / ``provider_options["google"]``
under their snake_case or camelCase names; :func:`check_extra_params` validates
them (name, value, and whether the chosen API mode takes them) before anything
is sent. Limits come from the SDK's parameter documentation (google-genai
3.4.0) and Google's model pages; where a limit is not published we let the API
decide instead of inventing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tarash.tarash_gateway.media import to_media_input
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    FieldSpec,
    aspect_ratio_field_mapper,
    bool_field_mapper,
    duration_field_mapper,
    first_frame_field_mapper,
    image_list_field_mapper,
    last_frame_field_mapper,
    passthrough_field_mapper,
    range_field_mapper,
    resolution_field_mapper,
    seed_field_mapper,
)

__all__ = [
    "EXTRA_PARAMS",
    "GEMINI_IMAGE_MODELS",
    "IMAGEN_MODELS",
    "MODEL_MAPPINGS",
    "VEO_MODELS",
    "ExtraParam",
    "Family",
    "GeminiImageSpec",
    "ImagenSpec",
    "VeoSpec",
    "check_extra_params",
    "family_of",
    "generic_mappers",
    "normalise_model_name",
]

Family = Literal["veo", "imagen", "gemini_image"]
Mode = Literal["gemini", "vertex"]

SEED_MAX = 2**32 - 1
VIDEO_RATIOS = ("16:9", "9:16")
IMAGEN_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
GEMINI_IMAGE_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
GEMINI_31_FLASH_RATIOS = (*GEMINI_IMAGE_RATIOS, "1:4", "4:1", "1:8", "8:1")


# --------------------------------------------------------------------------- model specs


@dataclass(frozen=True)
class VeoSpec:
    """What one Veo model accepts.

    Attributes:
        durations: Allowed ``durationSeconds`` values.
        resolutions: Allowed ``resolution`` values (``None`` = the model takes none).
        audio: Whether ``generateAudio`` may be sent (Veo 3+).
        last_frame: Whether a ``lastFrame`` image is accepted (interpolation).
        asset_images: How many ``asset`` reference images are accepted (0 = none).
        style_images: How many ``style`` reference images are accepted (0 = none).
        max_videos: Largest ``sampleCount``.
    """

    durations: tuple[int, ...]
    resolutions: tuple[str, ...] | None
    audio: bool
    last_frame: bool
    asset_images: int = 0
    style_images: int = 0
    max_videos: int = 4
    aspect_ratios: tuple[str, ...] = VIDEO_RATIOS


_VEO2 = VeoSpec(durations=(5, 6, 7, 8), resolutions=("720p",), audio=False, last_frame=True)
_VEO2_EXP = VeoSpec(
    durations=(5, 6, 7, 8),
    resolutions=("720p",),
    audio=False,
    last_frame=True,
    asset_images=3,
    style_images=1,
)
_VEO3 = VeoSpec(durations=(4, 6, 8), resolutions=("720p", "1080p"), audio=True, last_frame=False)
_VEO31 = VeoSpec(
    durations=(4, 6, 8),
    resolutions=("720p", "1080p", "4k"),
    audio=True,
    last_frame=True,
    asset_images=3,
)

VEO_MODELS: dict[str, VeoSpec] = {
    "veo-2.0-generate-001": _VEO2,
    "veo-2.0-generate-preview": _VEO2,
    "veo-2.0-generate-exp": _VEO2_EXP,
    "veo-3.0-generate-001": _VEO3,
    "veo-3.0-fast-generate-001": _VEO3,
    "veo-3.0-generate-preview": _VEO3,
    "veo-3.0-fast-generate-preview": _VEO3,
    "veo-3.1-generate-001": _VEO31,
    "veo-3.1-fast-generate-001": _VEO31,
    "veo-3.1-generate-preview": _VEO31,
    "veo-3.1-fast-generate-preview": _VEO31,
}
"""Veo models with validated limits (Veo 2: 5–8 s at 720p, no audio; Veo 3: 4/6/8 s,
720p/1080p, audio; Veo 3.1: adds 4k, last frame and up to 3 asset reference images)."""


@dataclass(frozen=True)
class ImagenSpec:
    """What one Imagen model accepts (``image_sizes=None``: no ``sampleImageSize``)."""

    image_sizes: tuple[str, ...] | None
    negative_prompt: bool
    max_images: int = 4
    aspect_ratios: tuple[str, ...] = IMAGEN_RATIOS


_IMAGEN4 = ImagenSpec(image_sizes=("1K", "2K"), negative_prompt=False)
_IMAGEN4_FAST = ImagenSpec(image_sizes=None, negative_prompt=False)
_IMAGEN3_002 = ImagenSpec(image_sizes=None, negative_prompt=False)
_IMAGEN3_001 = ImagenSpec(image_sizes=None, negative_prompt=True)

IMAGEN_MODELS: dict[str, ImagenSpec] = {
    "imagen-4.0-generate-001": _IMAGEN4,
    "imagen-4.0-ultra-generate-001": _IMAGEN4,
    "imagen-4.0-fast-generate-001": _IMAGEN4_FAST,
    "imagen-4.0-generate-preview-06-06": _IMAGEN4,
    "imagen-4.0-ultra-generate-preview-06-06": _IMAGEN4,
    "imagen-4.0-fast-generate-preview-06-06": _IMAGEN4_FAST,
    "imagen-3.0-generate-002": _IMAGEN3_002,
    "imagen-3.0-generate-001": _IMAGEN3_001,
    "imagen-3.0-fast-generate-001": _IMAGEN3_001,
}
"""Imagen models (``negativePrompt`` only before imagen-3.0-generate-002; ``1K``/``2K``
output size on Imagen 4 standard and ultra only)."""


@dataclass(frozen=True)
class GeminiImageSpec:
    """What one Gemini image model accepts (``image_sizes=None``: fixed 1K output)."""

    image_sizes: tuple[str, ...] | None
    aspect_ratios: tuple[str, ...] = GEMINI_IMAGE_RATIOS
    max_input_images: int | None = 14


_GEMINI_25 = GeminiImageSpec(image_sizes=None)
_GEMINI_3_PRO = GeminiImageSpec(image_sizes=("1K", "2K", "4K"))
_GEMINI_31_FLASH = GeminiImageSpec(
    image_sizes=("1K", "2K", "4K"), aspect_ratios=GEMINI_31_FLASH_RATIOS
)

GEMINI_IMAGE_MODELS: dict[str, GeminiImageSpec] = {
    "gemini-2.5-flash-image": _GEMINI_25,
    "gemini-2.5-flash-image-preview": _GEMINI_25,
    "gemini-3-pro-image-preview": _GEMINI_3_PRO,
    "gemini-3-pro-image": _GEMINI_3_PRO,
    "gemini-3.1-flash-image-preview": _GEMINI_31_FLASH,
    "gemini-3.1-flash-image": _GEMINI_31_FLASH,
}
"""Gemini image ("Nano Banana") models: ``imageSize`` 1K/2K/4K from Gemini 3 on."""


# --------------------------------------------------------------------------- names


_PREFIXES = ("publishers/google/models/", "models/")


def normalise_model_name(model: str) -> str:
    """``models/veo-3.0-generate-001`` / ``publishers/google/models/…`` → the bare id."""
    name = model.strip()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def family_of(model: str) -> Family | None:
    """The family of a (possibly unlisted) model name, from the listed tables or its shape."""
    name = normalise_model_name(model)
    if name in VEO_MODELS:
        return "veo"
    if name in IMAGEN_MODELS:
        return "imagen"
    if name in GEMINI_IMAGE_MODELS:
        return "gemini_image"
    base = name.rsplit("/", 1)[-1]
    if base.startswith("veo-"):
        return "veo"
    if base.startswith("imagen-"):
        return "imagen"
    if (base.startswith("gemini-") and "image" in base) or "nano-banana" in base:
        return "gemini_image"
    return None


# --------------------------------------------------------------------------- mappers


def _exactly_one_n() -> FieldMapper:
    """``n`` on models that return one image per call: only 1 is accepted, nothing is sent."""

    def convert(_request: Any, value: Any) -> Any:
        if value is not None and value != 1:
            raise ValueError(
                f"this model returns one image per request; n={value} is not supported "
                "(make several requests, or use an Imagen model for batches)"
            )
        return None

    return FieldMapper("n", convert, False, FieldSpec("int", (1,)))


def _only_value(source: str, only: str) -> FieldMapper:
    """A field whose single allowed value is the model's fixed output: validated, not sent."""

    def convert(_request: Any, value: Any) -> Any:
        if value is not None and str(value).lower() != only.lower():
            raise ValueError(f"{value!r} is not supported; this model only produces {only}")
        return None

    return FieldMapper(source, convert, False, FieldSpec("choice", (only,)))


def _count_mapper(source: str, maximum: int, default: int) -> FieldMapper:
    """A count that is always sent (Imagen's own default is 4 images, not 1)."""
    inner = range_field_mapper(source, minimum=1, maximum=maximum, field_type="int")

    def convert(request: Any, value: Any) -> Any:
        return default if value is None else inner.converter(request, value)

    return FieldMapper(source, convert, False, FieldSpec("int", None, 1, maximum))


def _choice_mapper(source: str, choices: tuple[str, ...], label: str) -> FieldMapper:
    """A string restricted to ``choices`` (case-insensitive; the canonical spelling is sent)."""
    table = {c.lower(): c for c in choices}

    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        key = str(value).strip().lower()
        if key not in table:
            raise ValueError(f"{value!r} is not supported; allowed: {', '.join(choices)}")
        return table[key]

    return FieldMapper(source, convert, False, FieldSpec(label, choices))


def _reference_images_mapper(asset: int, style: int) -> FieldMapper:
    """``asset``/``style`` images of ``image_list`` → ``[{"image", "reference_type"}]``."""
    roles = frozenset(r for r, n in (("asset", asset), ("style", style)) if n > 0)

    def convert(_request: Any, value: Any) -> Any:
        items = [item for item in value or [] if item.get("type", "reference") in roles]
        assets = [i for i in items if i.get("type") == "asset"]
        styles = [i for i in items if i.get("type") == "style"]
        if len(assets) > asset:
            raise ValueError(f"at most {asset} asset reference image(s), got {len(assets)}")
        if len(styles) > style:
            raise ValueError(f"at most {style} style reference image(s), got {len(styles)}")
        if assets and styles:
            raise ValueError("asset and style reference images cannot be combined")
        return [
            {"image": to_media_input(i["image"]), "reference_type": i["type"].upper()}
            for i in items
        ]

    label = "/".join(sorted(roles))
    spec = FieldSpec("images", None, None, float(max(asset, style)), f"{label} reference images")
    return FieldMapper("image_list", convert, False, spec, roles)


def veo_mappers(spec: VeoSpec) -> dict[str, FieldMapper]:
    """Mappers of one Veo model."""
    mappers: dict[str, FieldMapper] = {
        "prompt": passthrough_field_mapper("prompt", required=True),
        "image": first_frame_field_mapper(),
        "duration_seconds": duration_field_mapper("int", allowed_values=list(spec.durations)),
        "aspect_ratio": aspect_ratio_field_mapper(list(spec.aspect_ratios)),
        "negative_prompt": passthrough_field_mapper("negative_prompt"),
        "seed": seed_field_mapper(SEED_MAX),
        "number_of_videos": _count_mapper("number_of_videos", spec.max_videos, 1),
        "enhance_prompt": bool_field_mapper("enhance_prompt"),
    }
    if spec.resolutions == ("720p",):
        mappers["resolution"] = _only_value("resolution", "720p")
    elif spec.resolutions is not None:
        mappers["resolution"] = resolution_field_mapper(list(spec.resolutions))
    if spec.audio:
        mappers["generate_audio"] = bool_field_mapper("generate_audio")
    if spec.last_frame:
        mappers["last_frame"] = last_frame_field_mapper()
    if spec.asset_images or spec.style_images:
        mappers["reference_images"] = _reference_images_mapper(spec.asset_images, spec.style_images)
    return mappers


def imagen_mappers(spec: ImagenSpec) -> dict[str, FieldMapper]:
    """Mappers of one Imagen model (``size`` carries the ``1K``/``2K`` output size)."""
    mappers: dict[str, FieldMapper] = {
        "prompt": passthrough_field_mapper("prompt", required=True),
        "number_of_images": _count_mapper("n", spec.max_images, 1),
        "aspect_ratio": aspect_ratio_field_mapper(list(spec.aspect_ratios)),
        "seed": seed_field_mapper(2**31 - 1),
    }
    if spec.image_sizes is not None:
        mappers["image_size"] = _choice_mapper("size", spec.image_sizes, "image size")
    if spec.negative_prompt:
        mappers["negative_prompt"] = passthrough_field_mapper("negative_prompt")
    return mappers


def gemini_image_mappers(spec: GeminiImageSpec) -> dict[str, FieldMapper]:
    """Mappers of one Gemini image model (input images of any role are sent inline)."""
    mappers: dict[str, FieldMapper] = {
        "prompt": passthrough_field_mapper("prompt", required=True),
        "images": image_list_field_mapper(max_count=spec.max_input_images),
        "aspect_ratio": aspect_ratio_field_mapper(list(spec.aspect_ratios)),
        "seed": seed_field_mapper(2**31 - 1),
        "n": _exactly_one_n(),
    }
    if spec.image_sizes is not None:
        mappers["image_size"] = _choice_mapper("size", spec.image_sizes, "image size")
    return mappers


_GENERIC_VEO = VeoSpec(
    durations=(), resolutions=None, audio=True, last_frame=True, asset_images=3, style_images=1
)


def generic_mappers(family: Family) -> dict[str, FieldMapper]:
    """Loose mappers for an unlisted model of a known family (values not range-checked)."""
    if family == "veo":
        mappers = veo_mappers(_GENERIC_VEO)
        mappers["duration_seconds"] = duration_field_mapper("int")
        mappers["aspect_ratio"] = aspect_ratio_field_mapper()
        mappers["resolution"] = passthrough_field_mapper("resolution")
        return mappers
    if family == "imagen":
        mappers = imagen_mappers(ImagenSpec(image_sizes=None, negative_prompt=True))
        mappers["aspect_ratio"] = aspect_ratio_field_mapper()
        mappers["image_size"] = passthrough_field_mapper("size")
        return mappers
    mappers = gemini_image_mappers(GeminiImageSpec(image_sizes=None, max_input_images=None))
    mappers["aspect_ratio"] = aspect_ratio_field_mapper()
    mappers["image_size"] = passthrough_field_mapper("size")
    return mappers


MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {
    **{name: veo_mappers(spec) for name, spec in VEO_MODELS.items()},
    **{name: imagen_mappers(spec) for name, spec in IMAGEN_MODELS.items()},
    **{name: gemini_image_mappers(spec) for name, spec in GEMINI_IMAGE_MODELS.items()},
}
"""Every listed Google model → its request-field mappers."""


# --------------------------------------------------------------------------- extra params


@dataclass(frozen=True)
class ExtraParam:
    """A provider-only parameter accepted in ``extra_params`` / ``provider_options``.

    Attributes:
        families: Families that take it.
        check: Validates and normalises the value (raises ``ValueError``).
        modes: API modes that take it (Gemini API, Vertex).
    """

    families: frozenset[Family]
    check: Callable[[Any], Any]
    modes: frozenset[Mode] = frozenset({"gemini", "vertex"})


def _enum(*choices: str, upper: bool = False) -> Callable[[Any], Any]:
    table = {c.lower(): (c.upper() if upper else c) for c in choices}

    def check(value: Any) -> Any:
        key = str(value).strip().lower()
        if key not in table:
            raise ValueError(f"{value!r} is not supported; allowed: {', '.join(choices)}")
        return table[key]

    return check


def _typed(kind: type | tuple[type, ...], label: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ValueError(f"must be {label}, got {value!r}")
        if not isinstance(value, kind):
            raise ValueError(f"must be {label}, got {value!r}")
        return value

    return check


def _number(minimum: float, maximum: float, integer: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        if integer and float(value) != int(value):
            raise ValueError(f"must be a whole number, got {value!r}")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum:g} and {maximum:g}, got {value!r}")
        return int(value) if integer else float(value)

    return check


def _gcs_uri(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith("gs://"):
        raise ValueError(f"must be a gs:// URI, got {value!r}")
    return value


def _labels(value: Any) -> Any:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("must be a mapping of strings to strings")
    return dict(value)


def _modalities(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("must be a list such as ['IMAGE'] or ['TEXT', 'IMAGE']")
    out = [str(v).strip().upper() for v in value]
    if any(v not in ("TEXT", "IMAGE") for v in out):
        raise ValueError(f"only TEXT and IMAGE are supported, got {value!r}")
    if "IMAGE" not in out:
        raise ValueError("must include IMAGE (this is an image generation request)")
    return out


def _person_generation_video(value: Any) -> Any:
    return _enum("allow_all", "allow_adult", "dont_allow")(value)


_VEO: frozenset[Family] = frozenset({"veo"})
_IMAGEN: frozenset[Family] = frozenset({"imagen"})
_GEMINI_IMAGE: frozenset[Family] = frozenset({"gemini_image"})
_VERTEX: frozenset[Mode] = frozenset({"vertex"})

EXTRA_PARAMS: dict[str, ExtraParam] = {
    # Veo
    "person_generation": ExtraParam(
        frozenset({"veo", "imagen", "gemini_image"}), _person_generation_video
    ),
    "fps": ExtraParam(_VEO, _number(1, 60, integer=True), _VERTEX),
    "output_gcs_uri": ExtraParam(frozenset({"veo", "imagen"}), _gcs_uri, _VERTEX),
    "pubsub_topic": ExtraParam(_VEO, _typed(str, "a Pub/Sub topic name"), _VERTEX),
    "compression_quality": ExtraParam(_VEO, _enum("optimized", "lossless", upper=True), _VERTEX),
    "resize_mode": ExtraParam(_VEO, _enum("pad", "crop", upper=True), _VERTEX),
    "labels": ExtraParam(frozenset({"veo", "imagen", "gemini_image"}), _labels, _VERTEX),
    # Imagen
    "safety_filter_level": ExtraParam(
        _IMAGEN,
        _enum(
            "block_low_and_above",
            "block_medium_and_above",
            "block_only_high",
            "block_none",
            upper=True,
        ),
    ),
    "guidance_scale": ExtraParam(_IMAGEN, _number(0, 100)),
    "language": ExtraParam(_IMAGEN, _enum("auto", "en", "ja", "ko", "hi", "zh", "pt", "es")),
    "output_mime_type": ExtraParam(_IMAGEN, _enum("image/png", "image/jpeg")),
    "output_compression_quality": ExtraParam(_IMAGEN, _number(0, 100, integer=True)),
    "add_watermark": ExtraParam(_IMAGEN, _typed(bool, "true or false"), _VERTEX),
    "enhance_prompt": ExtraParam(_IMAGEN, _typed(bool, "true or false"), _VERTEX),
    "include_safety_attributes": ExtraParam(_IMAGEN, _typed(bool, "true or false")),
    # Gemini image (generateContent)
    "response_modalities": ExtraParam(_GEMINI_IMAGE, _modalities),
    "temperature": ExtraParam(_GEMINI_IMAGE, _number(0, 2)),
    "top_p": ExtraParam(_GEMINI_IMAGE, _number(0, 1)),
    "top_k": ExtraParam(_GEMINI_IMAGE, _number(1, 1000, integer=True)),
    "max_output_tokens": ExtraParam(_GEMINI_IMAGE, _number(1, 1_000_000, integer=True)),
    "system_instruction": ExtraParam(_GEMINI_IMAGE, _typed(str, "a string")),
    "safety_settings": ExtraParam(_GEMINI_IMAGE, _typed(list, "a list of safety settings")),
    "thinking_config": ExtraParam(_GEMINI_IMAGE, _typed(dict, "a thinking config mapping")),
}
"""Provider-only parameters, by snake_case name (camelCase spellings are accepted too)."""

_CAMEL_RE = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL_RE.sub("_", name).lower()


def check_extra_params(
    family: Family, mode: Mode, params: Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]], list[dict[str, Any]]]:
    """Validate provider-only parameters for ``family`` on ``mode``.

    Returns ``(accepted, unsupported, errors)``: the normalised parameters to
    send (snake_case keys), ``(field, reason)`` for those this family/mode does
    not take (the caller applies ``on_unsupported_param``), and invalid values
    (always an error).
    """
    accepted: dict[str, Any] = {}
    unsupported: list[tuple[str, str]] = []
    errors: list[dict[str, Any]] = []
    for raw_name, value in params.items():
        name = _snake(raw_name)
        spec = EXTRA_PARAMS.get(name)
        field = f"extra_params.{raw_name}"
        if spec is None or family not in spec.families:
            known = sorted(k for k, v in EXTRA_PARAMS.items() if family in v.families)
            unsupported.append((field, f"not a {family} parameter (known: {', '.join(known)})"))
            continue
        if mode not in spec.modes:
            unsupported.append((field, "Vertex AI only"))
            continue
        if value is None:
            continue
        try:
            checked = spec.check(value)
        except ValueError as exc:
            errors.append({"field": f"extra_params.{raw_name}", "message": str(exc)})
            continue
        if name == "person_generation" and family in ("imagen", "gemini_image"):
            checked = str(checked).upper()
            if family == "gemini_image" and checked == "DONT_ALLOW":
                checked = "ALLOW_NONE"
        accepted[name] = checked
    return accepted, unsupported, errors
