"""Field mappings of Stability AI's Stable Image generate endpoints (pure: no I/O, no SDK).

Three REST endpoints, one multipart/form-data request each
(``POST /v2beta/stable-image/generate/{ultra|core|sd3}``):

* **ultra** (``stable-image-ultra``): prompt, negative_prompt, aspect_ratio, seed,
  style_preset, output_format png/jpeg/webp, image-to-image with ``image`` +
  ``strength`` (strength required with an image);
* **core** (``stable-image-core``): prompt, negative_prompt, aspect_ratio, seed,
  style_preset, output_format png/jpeg/webp; text-to-image only;
* **sd3** (``sd3.5-large``, ``sd3.5-large-turbo``, ``sd3.5-medium``, ``sd3.5-flash``):
  the ``model`` form field picks the model; ``mode=image-to-image`` with ``image``
  + ``strength``; output_format png/jpeg; ``cfg_scale`` 1–10; no negative prompt
  on the turbo model.

Request fields map as: ``prompt`` → prompt (1–10 000 chars), ``negative_prompt``,
``aspect_ratio`` (16:9 1:1 21:9 2:3 3:2 4:5 5:4 9:16 9:21; text-to-image only),
``seed`` (0–4 294 967 294), ``style`` → style_preset, the first ``reference``
image of ``image_list`` → image. Parameters without a request field come from
``extra_params`` or ``provider_options["stability"]`` (the latter wins) and are
validated here too: ``output_format``, ``strength`` (0–1), ``cfg_scale`` (sd3).
Stability returns one image per call, so ``n`` may only be 1.
"""

from __future__ import annotations

import math
from typing import Any

from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    FieldSpec,
    constant_field_mapper,
    enum_field_mapper,
    seed_field_mapper,
    single_image_field_mapper,
)

__all__ = [
    "ASPECT_RATIOS",
    "CORE",
    "MAX_PROMPT_CHARS",
    "MAX_SEED",
    "MODEL_ENDPOINTS",
    "MODEL_MAPPINGS",
    "OPTION_KEYS",
    "STYLE_PRESETS",
    "ULTRA",
    "endpoint_for",
    "sd3_mappers",
]

PROVIDER = "stability"
MAX_PROMPT_CHARS = 10_000
MAX_SEED = 4_294_967_294
ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
STYLE_PRESETS = (
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
)
ALL_FORMATS = ("png", "jpeg", "webp")
SD3_FORMATS = ("png", "jpeg")
INPUT_IMAGE_ROLE = "reference"
OPTION_KEYS = frozenset({"output_format", "strength", "cfg_scale"})
"""Parameters read from ``extra_params``/``provider_options`` and validated by the mappers."""


# --------------------------------------------------------------------------- helpers


def option(request: Any, name: str) -> Any:
    """A Stability parameter given in ``provider_options["stability"]`` or ``extra_params``."""
    options = (getattr(request, "provider_options", None) or {}).get(PROVIDER) or {}
    if name in options:
        return options[name]
    return (getattr(request, "extra_params", None) or {}).get(name)


def _has_input_image(request: Any) -> bool:
    items = getattr(request, "image_list", None) or []
    return any(item.get("type", "reference") == INPUT_IMAGE_ROLE for item in items)


def _text_mapper(source_field: str, *, required: bool) -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {type(value).__name__}")
        if required and not value.strip():
            raise ValueError("must not be empty")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(f"must be at most {MAX_PROMPT_CHARS} characters, got {len(value)}")
        return value

    spec = FieldSpec("string", None, 1 if required else None, MAX_PROMPT_CHARS, "characters")
    return FieldMapper(source_field, convert, required, spec)


def _number_option(
    name: str, minimum: float, maximum: float, *, needs_image: bool = False
) -> FieldMapper:
    def convert(request: Any, _value: Any) -> Any:
        value = option(request, name)
        has_image = _has_input_image(request)
        if needs_image and value is None and has_image:
            raise ValueError(f"{name} (0..1) is required with an input image")
        if value is None:
            return None
        if needs_image and not has_image:
            raise ValueError(f"{name} is only used with an input image (image-to-image)")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value) or not minimum <= value <= maximum:
            raise ValueError(f"{name} must be within {minimum:g}..{maximum:g}, got {value!r}")
        return float(value)

    return FieldMapper(
        "extra_params", convert, False, FieldSpec("float", None, minimum, maximum, name)
    )


def _output_format(formats: tuple[str, ...]) -> FieldMapper:
    def convert(request: Any, _value: Any) -> Any:
        value = option(request, "output_format")
        if value is None:
            return None
        text = str(value).lower()
        if text == "jpg":
            text = "jpeg"
        if text not in formats:
            raise ValueError(
                f"output_format {value!r} is not supported; allowed: {', '.join(formats)}"
            )
        return text

    return FieldMapper(
        "extra_params", convert, False, FieldSpec("choice", formats, None, None, "output_format")
    )


def _aspect_ratio() -> FieldMapper:
    choices = enum_field_mapper("aspect_ratio", ASPECT_RATIOS, label="ratio")

    def convert(request: Any, value: Any) -> Any:
        if value is not None and _has_input_image(request):
            raise ValueError(
                "aspect_ratio is not used in image-to-image (the output follows the input image)"
            )
        return choices.converter(request, value)

    return FieldMapper("aspect_ratio", convert, False, choices.spec)


def _single_image_only() -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        if value is not None and value != 1:
            raise ValueError("Stability returns one image per request; n must be 1")
        return None

    return FieldMapper("n", convert, False, FieldSpec("int", (1,)))


def _mode() -> FieldMapper:
    return FieldMapper(
        "extra_params",
        lambda request, _v: "image-to-image" if _has_input_image(request) else None,
        False,
        FieldSpec("choice", ("text-to-image", "image-to-image"), None, None, "set from image"),
    )


def _common(formats: tuple[str, ...], *, negative_prompt: bool = True) -> dict[str, FieldMapper]:
    mappers: dict[str, FieldMapper] = {
        "prompt": _text_mapper("prompt", required=True),
        "aspect_ratio": _aspect_ratio(),
        "seed": seed_field_mapper(MAX_SEED),
        "style_preset": enum_field_mapper("style", STYLE_PRESETS, label="style preset"),
        "output_format": _output_format(formats),
        "n": _single_image_only(),
    }
    if negative_prompt:
        mappers["negative_prompt"] = _text_mapper("negative_prompt", required=False)
    return mappers


def _image_to_image() -> dict[str, FieldMapper]:
    return {
        "image": single_image_field_mapper(image_type="reference", provider=PROVIDER),
        "strength": _number_option("strength", 0.0, 1.0, needs_image=True),
    }


# --------------------------------------------------------------------------- models

ULTRA: dict[str, FieldMapper] = {**_common(ALL_FORMATS), **_image_to_image()}
"""Stable Image Ultra: text-to-image, or image-to-image with ``strength``."""

CORE: dict[str, FieldMapper] = _common(ALL_FORMATS)
"""Stable Image Core: text-to-image only."""


def sd3_mappers(model: str, *, negative_prompt: bool = True) -> dict[str, FieldMapper]:
    """Mappers of one SD 3.5 model on the ``sd3`` endpoint (``model`` form field = ``model``)."""
    return {
        "model": constant_field_mapper(model),
        **_common(SD3_FORMATS, negative_prompt=negative_prompt),
        **_image_to_image(),
        "mode": _mode(),
        "cfg_scale": _number_option("cfg_scale", 1.0, 10.0),
    }


MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {
    "stable-image-ultra": ULTRA,
    "ultra": ULTRA,
    "stable-image-core": CORE,
    "core": CORE,
    "sd3.5-large": sd3_mappers("sd3.5-large"),
    "sd3.5-large-turbo": sd3_mappers("sd3.5-large-turbo", negative_prompt=False),
    "sd3.5-medium": sd3_mappers("sd3.5-medium"),
    "sd3.5-flash": sd3_mappers("sd3.5-flash"),
}
"""Model name → mappers (the registry ``registry.BUILTIN_FIELD_MAPPINGS`` points at)."""

MODEL_ENDPOINTS: dict[str, str] = {
    "stable-image-ultra": "ultra",
    "ultra": "ultra",
    "stable-image-core": "core",
    "core": "core",
}
"""Model name → endpoint path segment; every other (``sd3*``) model uses ``sd3``."""


def endpoint_for(model: str, mapping_key: str | None = None) -> str:
    """The ``/v2beta/stable-image/generate/<endpoint>`` segment of a model."""
    for name in (mapping_key, model):
        if name and name in MODEL_ENDPOINTS:
            return MODEL_ENDPOINTS[name]
    if "ultra" in model:
        return "ultra"
    if "core" in model:
        return "core"
    return "sd3"
