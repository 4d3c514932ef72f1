"""OpenAI models: what each accepts, as field mappers and plain data (no SDK import).

Three kinds of model live here:

* **image** — GPT Image (``gpt-image-2``, ``gpt-image-2.5``/``2.6-sunburst``/``-flare``,
  ``gpt-image-1.5``, ``gpt-image-1-mini``, ``chatgpt-image-latest``; the retired
  ``gpt-image-1`` and DALL·E 2/3 stay so a retirement is reported by name), on
  ``/images/generations`` (text only) and ``/images/edits`` (with input images);
* **video** — Sora 2 (``sora-2``, ``sora-2-pro``) on the Videos API;
* **tts** — ``tts-1``, ``tts-1-hd``, ``gpt-4o-mini-tts`` on ``/audio/speech``
  (validated by hand in the handler, from :data:`TTS_MODELS`).

:data:`MODEL_MAPPINGS` maps every image/video model to its request-field
mappers (the registry ``prepare`` uses). The limits come from the ``openai``
SDK's parameter documentation (3.54) and OpenAI's model and guide pages; where
a limit is not published we do not invent one and let the API decide.

Provider-only parameters (``background``, ``output_format``,
``output_compression``, ``moderation``, ``input_fidelity``, ``response_format``
for images; ``size``, ``remix_video_id`` for video) travel in ``extra_params`` /
``provider_options["openai"]`` and are checked by :func:`check_image_params` /
:func:`check_video_params` before any request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tarash.tarash_gateway.media import to_media_input
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    FieldSpec,
    duration_field_mapper,
    image_list_field_mapper,
    n_images_field_mapper,
    single_image_field_mapper,
)

__all__ = [
    "ALL_VOICES",
    "CLASSIC_VOICES",
    "IMAGE_MODELS",
    "MODEL_MAPPINGS",
    "TTS_FORMATS",
    "TTS_MODELS",
    "VIDEO_MODELS",
    "ImageModelSpec",
    "TTSModelSpec",
    "VideoModelSpec",
    "build_image_mappers",
    "build_video_mappers",
    "check_image_params",
    "check_video_params",
    "generic_image_mappers",
    "image_size_error",
    "infer_family",
    "operation_of",
]

# ============================================================================ images

GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
DALLE3_SIZES = ("1024x1024", "1792x1024", "1024x1792")
DALLE2_SIZES = ("256x256", "512x512", "1024x1024")

_GPT_IMAGE_RATIOS = {"1:1": "1024x1024", "3:2": "1536x1024", "2:3": "1024x1536", "auto": "auto"}
# Models with free sizes take any WxH (multiples of 16, ratio 1:3..3:1, ≤ 3840x2160);
# these are the sizes we pick for common ratios.
_FLEXIBLE_RATIOS = {
    **_GPT_IMAGE_RATIOS,
    "16:9": "1536x864",
    "9:16": "864x1536",
    "4:3": "1024x768",
    "3:4": "768x1024",
    "5:4": "1280x1024",
    "4:5": "1024x1280",
    "21:9": "1680x720",
    "9:21": "720x1680",
}
_DALLE3_RATIOS = {
    "1:1": "1024x1024",
    "16:9": "1792x1024",
    "9:16": "1024x1792",
    "7:4": "1792x1024",
    "4:7": "1024x1792",
}
_DALLE2_RATIOS = {"1:1": "1024x1024"}

_MAX_FLEX_EDGE = 3840
_MAX_FLEX_PIXELS = 3840 * 2160


@dataclass(frozen=True)
class ImageModelSpec:
    """What one image model accepts (``None`` = the parameter is not accepted)."""

    name: str
    family: Literal["gpt-image", "dall-e"]
    sizes: tuple[str, ...]
    flexible_sizes: bool
    ratios: Mapping[str, str]
    qualities: tuple[str, ...] | None
    styles: tuple[str, ...] | None
    max_n: int
    max_edit_images: int
    prompt_max_chars: int
    backgrounds: tuple[str, ...] | None = None
    output_formats: tuple[str, ...] | None = None
    moderation: tuple[str, ...] | None = None
    input_fidelity: tuple[str, ...] | None = None
    response_formats: tuple[str, ...] | None = None
    operation: Literal["image"] = "image"

    @property
    def supports_edits(self) -> bool:
        return self.max_edit_images > 0

    @property
    def always_b64(self) -> bool:
        """GPT Image models always return base64; DALL·E returns URLs by default."""
        return self.family == "gpt-image"


def _gpt_image(
    name: str,
    *,
    flexible: bool = False,
    qualities: tuple[str, ...] = ("low", "medium", "high", "auto"),
    input_fidelity: tuple[str, ...] | None = ("high", "low"),
) -> ImageModelSpec:
    return ImageModelSpec(
        name=name,
        family="gpt-image",
        sizes=GPT_IMAGE_SIZES,
        flexible_sizes=flexible,
        ratios=_FLEXIBLE_RATIOS if flexible else _GPT_IMAGE_RATIOS,
        qualities=qualities,
        styles=None,
        max_n=10,
        max_edit_images=16,
        prompt_max_chars=32000,
        backgrounds=("transparent", "opaque", "auto"),
        output_formats=("png", "jpeg", "webp"),
        moderation=("low", "auto"),
        input_fidelity=input_fidelity,
    )


IMAGE_MODELS: dict[str, ImageModelSpec] = {
    "gpt-image-1": _gpt_image("gpt-image-1"),
    "gpt-image-1-mini": _gpt_image("gpt-image-1-mini", input_fidelity=("low",)),
    "gpt-image-1.5": _gpt_image("gpt-image-1.5"),
    "gpt-image-2": _gpt_image("gpt-image-2", flexible=True, input_fidelity=None),
    "gpt-image-2.5-sunburst": _gpt_image(
        "gpt-image-2.5-sunburst",
        flexible=True,
        qualities=("low", "medium", "high", "xhigh", "max", "auto"),
        input_fidelity=None,
    ),
    "gpt-image-2.5-flare": _gpt_image(
        "gpt-image-2.5-flare",
        flexible=True,
        qualities=("low", "medium", "high", "xhigh", "max", "auto"),
        input_fidelity=None,
    ),
    # openai 3.60.0 ``ImageModel`` (checked 2026-12-04); quality literals from
    # ``image_generate_params``: xhigh/max only for the 2.5 models.
    "gpt-image-2.6-sunburst": _gpt_image(
        "gpt-image-2.6-sunburst", flexible=True, input_fidelity=None
    ),
    "gpt-image-2.6-flare": _gpt_image("gpt-image-2.6-flare", flexible=True, input_fidelity=None),
    "chatgpt-image-latest": _gpt_image("chatgpt-image-latest", input_fidelity=None),
    "dall-e-3": ImageModelSpec(
        name="dall-e-3",
        family="dall-e",
        sizes=DALLE3_SIZES,
        flexible_sizes=False,
        ratios=_DALLE3_RATIOS,
        qualities=("standard", "hd"),
        styles=("vivid", "natural"),
        max_n=1,
        max_edit_images=0,
        prompt_max_chars=4000,
        response_formats=("url", "b64_json"),
    ),
    "dall-e-2": ImageModelSpec(
        name="dall-e-2",
        family="dall-e",
        sizes=DALLE2_SIZES,
        flexible_sizes=False,
        ratios=_DALLE2_RATIOS,
        qualities=("standard",),
        styles=None,
        max_n=10,
        max_edit_images=1,
        prompt_max_chars=1000,
        response_formats=("url", "b64_json"),
    ),
}
"""Image models by name (dated snapshots resolve to these through :func:`infer_family`)."""


_SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def image_size_error(spec: ImageModelSpec, size: str) -> str | None:
    """Why ``size`` is not valid for ``spec`` (``None`` when it is)."""
    if size in spec.sizes:
        return None
    if spec.flexible_sizes:
        match = _SIZE_RE.match(size)
        if not match:
            return f"{size!r} is not 'auto' or WIDTHxHEIGHT"
        width, height = int(match.group(1)), int(match.group(2))
        if width % 16 or height % 16:
            return f"{size!r}: width and height must both be multiples of 16"
        if max(width, height) > 3 * min(width, height):
            return f"{size!r}: the aspect ratio must be between 1:3 and 3:1"
        if max(width, height) > _MAX_FLEX_EDGE or width * height > _MAX_FLEX_PIXELS:
            return f"{size!r}: the largest supported size is 3840x2160"
        return None
    return f"{size!r} is not supported by {spec.name}; allowed: {', '.join(spec.sizes)}"


def _prompt_mapper(max_chars: int) -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        text = str(value)
        if not text.strip():
            raise ValueError("must not be empty")
        if len(text) > max_chars:
            raise ValueError(f"is {len(text)} characters; the model takes at most {max_chars}")
        return text

    return FieldMapper("prompt", convert, True, FieldSpec("text", None, 1, max_chars))


def _image_size_mapper(spec: ImageModelSpec) -> FieldMapper:
    """``size`` wins; otherwise ``aspect_ratio`` picks the model's size for that ratio."""

    def convert(request: Any, value: Any) -> Any:
        if value is not None:
            problem = image_size_error(spec, str(value))
            if problem:
                raise ValueError(problem)
            return str(value)
        ratio = getattr(request, "aspect_ratio", None)
        if ratio is None:
            return None
        return spec.ratios.get(ratio)  # an unknown ratio is reported by the ratio mapper

    choices = tuple(spec.sizes) + (("WIDTHxHEIGHT",) if spec.flexible_sizes else ())
    return FieldMapper("size", convert, False, FieldSpec("size", choices))


def _image_ratio_mapper(spec: ImageModelSpec) -> FieldMapper:
    """Validates ``aspect_ratio`` (the size mapper turns it into ``size``); sends nothing."""

    def convert(request: Any, value: Any) -> Any:
        if value is None:
            return None
        if value not in spec.ratios:
            raise ValueError(
                f"aspect ratio {value!r} is not supported by {spec.name}; allowed: "
                + ", ".join(spec.ratios)
                + " (or pass an explicit size)"
            )
        explicit = getattr(request, "size", None)
        if explicit is not None and str(explicit) != spec.ratios[value]:
            raise ValueError(
                f"conflicts with size {explicit!r} (aspect ratio {value!r} means "
                f"{spec.ratios[value]}); set only one of them"
            )
        return None

    return FieldMapper("aspect_ratio", convert, False, FieldSpec("ratio", tuple(spec.ratios)))


def _choice_mapper(source: str, choices: tuple[str, ...], model: str) -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).lower()
        if text not in choices:
            raise ValueError(
                f"{value!r} is not supported by {model}; allowed: {', '.join(choices)}"
            )
        return text

    return FieldMapper(source, convert, False, FieldSpec("choice", choices))


def _mask_mapper() -> FieldMapper:
    def convert(request: Any, value: Any) -> Any:
        if value is None:
            return None
        if not getattr(request, "image_list", None):
            raise ValueError("a mask edits an input image: add the image to image_list")
        return to_media_input(value)

    return FieldMapper("mask_image", convert, False, FieldSpec("PNG image with alpha"))


def build_image_mappers(spec: ImageModelSpec) -> dict[str, FieldMapper]:
    """The request-field mappers of one image model."""
    mappers: dict[str, FieldMapper] = {
        "prompt": _prompt_mapper(spec.prompt_max_chars),
        "size": _image_size_mapper(spec),
        "aspect_ratio": _image_ratio_mapper(spec),
        "n": n_images_field_mapper(1, spec.max_n),
    }
    if spec.qualities is not None:
        mappers["quality"] = _choice_mapper("quality", spec.qualities, spec.name)
    if spec.styles is not None:
        mappers["style"] = _choice_mapper("style", spec.styles, spec.name)
    if spec.supports_edits:
        mappers["image"] = image_list_field_mapper(max_count=spec.max_edit_images)
        mappers["mask"] = _mask_mapper()
    return mappers


def generic_image_mappers() -> dict[str, FieldMapper]:
    """Mappers for an image model the catalog does not know yet: the common fields under
    the Images API's names (``openai.types.image_generate_params``), unvalidated ranges."""

    def text(_request: Any, value: Any) -> Any:
        return None if value is None else str(value)

    return {
        "prompt": _prompt_mapper(32000),
        "size": FieldMapper("size", text, False, FieldSpec("size")),
        "n": n_images_field_mapper(1, 10),
        "quality": FieldMapper("quality", text, False, FieldSpec("text")),
        "image": image_list_field_mapper(max_count=16),
        "mask": _mask_mapper(),
    }


_STREAMING_KEYS = ("stream", "partial_images")


def check_image_params(
    spec: ImageModelSpec, params: Mapping[str, Any], *, is_edit: bool
) -> list[dict[str, Any]]:
    """Problems with OpenAI-only image parameters (``extra_params`` / ``provider_options``).

    ``params`` is the mapped payload merged with the pass-through parameters.
    """
    errors: list[dict[str, Any]] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "param": name, "message": message})

    def choice(name: str, allowed: tuple[str, ...] | None, why: str = "") -> str | None:
        if name not in params or params[name] is None:
            return None
        value = params[name]
        if allowed is None:
            bad(name, f"is not accepted by {spec.name}{why}")
            return None
        if not isinstance(value, str) or value not in allowed:
            bad(name, f"{value!r} is not supported by {spec.name}; allowed: {', '.join(allowed)}")
            return None
        return value

    choice("quality", spec.qualities)
    choice("style", spec.styles, " (describe the style in the prompt instead)")
    background = choice("background", spec.backgrounds)
    output_format = choice("output_format", spec.output_formats)
    choice("response_format", spec.response_formats, " (GPT Image models always return base64)")
    if is_edit:
        choice("input_fidelity", spec.input_fidelity)
        if params.get("moderation") is not None:
            bad("moderation", "is accepted by image generation only, not by edits")
    else:
        choice("moderation", spec.moderation)
        if params.get("input_fidelity") is not None:
            bad("input_fidelity", "applies to edits (requests with input images) only")
    if "output_compression" in params and params["output_compression"] is not None:
        value = params["output_compression"]
        if spec.output_formats is None:
            bad("output_compression", f"is not accepted by {spec.name}")
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            bad("output_compression", f"must be a whole number 0-100, got {value!r}")
        elif output_format not in ("jpeg", "webp"):
            bad("output_compression", "needs output_format 'jpeg' or 'webp'")
    if background == "transparent" and output_format == "jpeg":
        bad("background", "a transparent background needs output_format 'png' or 'webp'")
    if "size" in params and params["size"] is not None:
        problem = image_size_error(spec, str(params["size"]))
        if problem:
            bad("size", problem)
    if "n" in params and params["n"] is not None:
        n = params["n"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= spec.max_n:
            bad("n", f"must be a whole number 1-{spec.max_n} for {spec.name}, got {n!r}")
    for key in _STREAMING_KEYS:
        if params.get(key):
            bad(key, "streaming partial images is not supported by the gateway")
    return errors


# ============================================================================ video

# Sizes and durations from the installed SDK (openai 3.60.0, checked 2026-12-04):
# ``openai.types.VideoSize`` = 720x1280, 1280x720, 1024x1792, 1792x1024 and
# ``openai.types.VideoSeconds`` = "4", "8", "12". sora-2 renders 720p only (OpenAI video
# generation guide); sora-2-pro takes every VideoSize. The Sora API itself was shut down
# on 2026-09-24 (see providers/openai/catalog.py); these stay for remixes of old jobs'
# documentation and for Azure, which imports them.
SORA2_SIZES = ("720x1280", "1280x720")
SORA2_PRO_SIZES = (*SORA2_SIZES, "1024x1792", "1792x1024")
SORA_SECONDS = (4, 8, 12)


@dataclass(frozen=True)
class VideoModelSpec:
    """What one Sora model accepts."""

    name: str
    sizes: tuple[str, ...]
    seconds: tuple[int, ...]
    resolutions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """``resolution`` → {aspect ratio → size}."""
    operation: Literal["video"] = "video"


def _sora(name: str, sizes: tuple[str, ...], seconds: tuple[int, ...]) -> VideoModelSpec:
    resolutions: dict[str, dict[str, str]] = {"720p": {"16:9": "1280x720", "9:16": "720x1280"}}
    return VideoModelSpec(name, sizes, seconds, resolutions)


VIDEO_MODELS: dict[str, VideoModelSpec] = {
    "sora-2": _sora("sora-2", SORA2_SIZES, SORA_SECONDS),
    "sora-2-pro": _sora("sora-2-pro", SORA2_PRO_SIZES, SORA_SECONDS),
}
"""Sora models by name (dated snapshots resolve to these through :func:`infer_family`)."""

_PORTRAIT_DEFAULT = "9:16"  # the API's default size is 720x1280


def _video_size_mapper(spec: VideoModelSpec) -> FieldMapper:
    """``aspect_ratio`` (+ ``resolution``) → ``size``; validates both."""

    def convert(request: Any, value: Any) -> Any:
        resolution = getattr(request, "resolution", None)
        if value is None and resolution is None:
            return None
        ratio = value or _PORTRAIT_DEFAULT
        table = spec.resolutions.get(resolution or "720p")
        if table is None:
            raise ValueError(
                f"resolution {resolution!r} is not supported by {spec.name}; allowed: "
                + ", ".join(spec.resolutions)
            )
        if ratio not in table:
            raise ValueError(
                f"aspect ratio {ratio!r} is not supported by {spec.name}; allowed: "
                + ", ".join(table)
                + " (other sizes: pass extra_params={'size': 'WxH'})"
            )
        return table[ratio]

    return FieldMapper("aspect_ratio", convert, False, FieldSpec("ratio", ("16:9", "9:16")))


def _video_resolution_mapper(spec: VideoModelSpec) -> FieldMapper:
    """Consumes ``resolution`` (the size mapper reads it); sends nothing itself."""

    def convert(_request: Any, value: Any) -> Any:
        if value is not None and value not in spec.resolutions:
            raise ValueError(
                f"{value!r} is not supported by {spec.name}; allowed: "
                + ", ".join(spec.resolutions)
            )
        return None

    return FieldMapper(
        "resolution", convert, False, FieldSpec("resolution", tuple(spec.resolutions))
    )


def _audio_always_mapper(model: str) -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        if value is False:
            raise ValueError(f"{model} always generates audio; it cannot be turned off")
        return None

    return FieldMapper(
        "generate_audio", convert, False, FieldSpec("bool", (True,), None, None, "always on")
    )


def build_video_mappers(spec: VideoModelSpec) -> dict[str, FieldMapper]:
    """The request-field mappers of one Sora model."""
    return {
        "prompt": _prompt_mapper(32000),
        "seconds": duration_field_mapper(
            "str", allowed_values=list(spec.seconds), model=spec.name, add_suffix=False
        ),
        "size": _video_size_mapper(spec),
        "resolution": _video_resolution_mapper(spec),
        "input_reference": single_image_field_mapper(
            image_type=("first_frame", "reference"), strict=True
        ),
        "generate_audio": _audio_always_mapper(spec.name),
    }


def check_video_params(
    spec: VideoModelSpec, payload: Mapping[str, Any], extras: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Problems with OpenAI-only video parameters (``size``, ``seconds``, ``remix_video_id``)."""
    errors: list[dict[str, Any]] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "param": name, "message": message})

    if extras.get("size") is not None:
        size = str(extras["size"])
        if size not in spec.sizes:
            bad(
                "size",
                f"{size!r} is not supported by {spec.name}; allowed: {', '.join(spec.sizes)}",
            )
        elif payload.get("size") not in (None, size):
            bad("size", f"conflicts with aspect_ratio/resolution (= {payload['size']}); set one")
    if extras.get("seconds") is not None:
        try:
            seconds = int(str(extras["seconds"]))
        except ValueError:
            seconds = -1
        if seconds not in spec.seconds:
            bad("seconds", f"{extras['seconds']!r} is not supported; allowed: {spec.seconds}")
    remix = extras.get("remix_video_id")
    if remix is not None:
        if not isinstance(remix, str) or not remix.strip():
            bad("remix_video_id", "must be the id of a completed video")
        for name in ("seconds", "size", "input_reference"):
            if payload.get(name) is not None or extras.get(name) is not None:
                bad(name, "a remix keeps the source video's settings; only the prompt is sent")
    return errors


# ============================================================================ speech

CLASSIC_VOICES = ("alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer")
ALL_VOICES = (*CLASSIC_VOICES, "ballad", "verse", "marin", "cedar")
TTS_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
TTS_SAMPLE_RATE = 24000
"""OpenAI speech is 24 kHz (``pcm`` is 16-bit signed little-endian mono)."""
TTS_MAX_CHARS = 4096
TTS_SPEED = (0.25, 4.0)


@dataclass(frozen=True)
class TTSModelSpec:
    """What one speech model accepts."""

    name: str
    voices: tuple[str, ...]
    instructions: bool
    operation: Literal["tts"] = "tts"


TTS_MODELS: dict[str, TTSModelSpec] = {
    "tts-1": TTSModelSpec("tts-1", CLASSIC_VOICES, instructions=False),
    "tts-1-hd": TTSModelSpec("tts-1-hd", CLASSIC_VOICES, instructions=False),
    "gpt-4o-mini-tts": TTSModelSpec("gpt-4o-mini-tts", ALL_VOICES, instructions=True),
}


# ============================================================================ registry

MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {
    **{name: build_image_mappers(spec) for name, spec in IMAGE_MODELS.items()},
    **{name: build_video_mappers(spec) for name, spec in VIDEO_MODELS.items()},
}
"""Request-field mappers of every OpenAI image and video model."""

_SNAPSHOT_RE = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


def infer_family(model: str, known: Iterable[str]) -> str | None:
    """The known model a name refers to: itself or a dated snapshot (``sora-2-2025-10-06``)."""
    names = set(known)
    name = model.strip().lower()
    if name in names:
        return name
    base = _SNAPSHOT_RE.sub("", name)
    return base if base in names else None


def operation_of(family: str) -> Literal["image", "video", "tts"] | None:
    """Which operation a known model serves."""
    if family in IMAGE_MODELS:
        return "image"
    if family in VIDEO_MODELS:
        return "video"
    if family in TTS_MODELS:
        return "tts"
    return None
