"""Field mappings of xAI's Grok Imagine models (pure: no I/O, no SDK import).

Payload keys are the keyword arguments of ``xai_sdk``'s ``image.sample_batch`` /
``video.start`` (``prompt``/``n`` positional), so the handler can pass them on as-is
once media are resolved.

**Images** (``grok-imagine-image``, ``-pro``, ``-quality``, ``-2.0``; ``grok-2-image``):
``prompt`` (required), ``n`` 1–10, ``aspect_ratio`` (1:1 3:4 4:3 9:16 16:9 2:3 3:2
9:19.5 19.5:9 9:20 20:9 1:2 2:1, or ``auto`` = the model picks), ``quality``
low/medium (``grok-imagine-image-2.0`` only), reference images of ``image_list``
→ edits (``image_url`` for one, ``image_urls`` for several). ``image_format``
(``url`` default | ``base64``) and ``resolution`` (``1k`` | ``2k``) have no request
field: give them in ``provider_options["xai"]`` or ``extra_params``.
``grok-2-image`` takes only prompt, ``n`` and ``image_format``.

**Video** (``grok-imagine-video``, ``grok-imagine-video-1.5``): ``prompt``,
``duration_seconds`` 1–15, ``aspect_ratio`` (1:1 16:9 9:16 4:3 3:4 3:2 2:3),
``resolution`` 480p/720p/1080p, ``generate_audio``, ``image_list`` roles
``first_frame`` → ``image_url`` (image-to-video), ``reference`` →
``reference_image_urls`` (reference-to-video), ``last_frame`` → ``last_frame_url``
(1.5 only), ``video`` → ``video_url`` (video editing, not with a first frame).
"""

from __future__ import annotations

from typing import Any

from tarash.tarash_gateway.media import to_media_input
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    FieldSpec,
    bool_field_mapper,
    duration_field_mapper,
    enum_field_mapper,
    image_list_field_mapper,
    n_images_field_mapper,
    resolution_field_mapper,
    single_image_field_mapper,
)

__all__ = [
    "IMAGE_ASPECT_RATIOS",
    "IMAGE_OPTION_KEYS",
    "IMAGE_SDK_KWARGS",
    "MODEL_MAPPINGS",
    "VIDEO_ASPECT_RATIOS",
    "VIDEO_OPTION_KEYS",
    "VIDEO_RESOLUTIONS",
    "VIDEO_SDK_KWARGS",
]

PROVIDER = "xai"
IMAGE_ASPECT_RATIOS = (
    "1:1",
    "3:4",
    "4:3",
    "9:16",
    "16:9",
    "2:3",
    "3:2",
    "9:19.5",
    "19.5:9",
    "9:20",
    "20:9",
    "1:2",
    "2:1",
)
IMAGE_RESOLUTIONS = ("1k", "2k")
IMAGE_FORMATS = {"url": "url", "base64": "base64", "b64_json": "base64"}
IMAGE_QUALITIES = ("low", "medium")
VIDEO_ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
VIDEO_RESOLUTIONS = ("480p", "720p", "1080p")

IMAGE_OPTION_KEYS = frozenset({"image_format", "resolution"})
"""Options read (and validated) from ``provider_options["xai"]`` / ``extra_params`` for images."""
VIDEO_OPTION_KEYS: frozenset[str] = frozenset()

IMAGE_SDK_KWARGS = frozenset(
    {"user", "image_file_id", "image_file_ids", "storage_options"} | IMAGE_OPTION_KEYS
)
"""Other ``image.sample_batch`` keywords callers may pass through ``provider_options``."""
VIDEO_SDK_KWARGS = frozenset(
    {
        "image_file_id",
        "last_frame_file_id",
        "keyframes",
        "video_file_id",
        "reference_image_file_ids",
        "reference_audios",
        "storage_options",
    }
)
"""Other ``video.start`` keywords callers may pass through ``provider_options``."""


def option(request: Any, name: str) -> Any:
    """An xAI parameter from ``provider_options["xai"]`` (wins) or ``extra_params``."""
    options = (getattr(request, "provider_options", None) or {}).get(PROVIDER) or {}
    if name in options:
        return options[name]
    return (getattr(request, "extra_params", None) or {}).get(name)


def _roles(request: Any) -> list[str]:
    return [item.get("type", "reference") for item in getattr(request, "image_list", None) or []]


# --------------------------------------------------------------------------- mappers


def _prompt(*, optional_with_first_frame: bool = False) -> FieldMapper:
    def convert(request: Any, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if not value.strip():
            if optional_with_first_frame and "first_frame" in _roles(request):
                return ""
            raise ValueError("must not be empty")
        return value

    return FieldMapper("prompt", convert, False, FieldSpec("string", None, 1))


def _option_choice(name: str, choices: dict[str, str]) -> FieldMapper:
    def convert(request: Any, _value: Any) -> Any:
        value = option(request, name)
        if value is None:
            return None
        text = str(value).lower()
        if text not in choices:
            raise ValueError(f"{name} {value!r} is not supported; allowed: {', '.join(choices)}")
        return choices[text]

    return FieldMapper("extra_params", convert, False, FieldSpec("choice", tuple(choices), None))


def _image_aspect_ratio() -> FieldMapper:
    choices = enum_field_mapper("aspect_ratio", (*IMAGE_ASPECT_RATIOS, "auto"), label="ratio")

    def convert(request: Any, value: Any) -> Any:
        converted = choices.converter(request, value)
        return None if converted == "auto" else converted  # omitted = the model picks

    return FieldMapper("aspect_ratio", convert, False, choices.spec)


def _edit_images() -> FieldMapper:
    return image_list_field_mapper("reference", PROVIDER)


def _single_video() -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        if value not in (None, 1):
            raise ValueError("xAI generates one video per request; number_of_videos must be 1")
        return None

    return FieldMapper("number_of_videos", convert, False, FieldSpec("int", (1,)))


def _input_video() -> FieldMapper:
    def convert(request: Any, value: Any) -> Any:
        if value is None:
            return None
        if "first_frame" in _roles(request):
            raise ValueError("an input video (editing) cannot be combined with a first_frame image")
        return to_media_input(value)

    return FieldMapper("video", convert, False, FieldSpec("media", None, None, None, "video"))


# --------------------------------------------------------------------------- models

GROK_IMAGINE_IMAGE: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "n": n_images_field_mapper(1, 10),
    "aspect_ratio": _image_aspect_ratio(),
    "image_urls": _edit_images(),
    "image_format": _option_choice("image_format", IMAGE_FORMATS),
    "resolution": _option_choice("resolution", {r: r for r in IMAGE_RESOLUTIONS}),
}
"""grok-imagine-image (and -pro / -quality): generation and edits."""

GROK_IMAGINE_IMAGE_2: dict[str, FieldMapper] = {
    **GROK_IMAGINE_IMAGE,
    "quality": enum_field_mapper("quality", IMAGE_QUALITIES, label="quality"),
}
"""grok-imagine-image-2.0: adds ``quality`` (price tier)."""

GROK_2_IMAGE: dict[str, FieldMapper] = {
    "prompt": _prompt(),
    "n": n_images_field_mapper(1, 10),
    "image_format": _option_choice("image_format", IMAGE_FORMATS),
}
"""grok-2-image: prompt, n and format only."""


def _video(*, last_frame: bool) -> dict[str, FieldMapper]:
    mappers: dict[str, FieldMapper] = {
        "prompt": _prompt(optional_with_first_frame=last_frame),
        "duration": duration_field_mapper("int", minimum=1, maximum=15, provider=PROVIDER),
        "aspect_ratio": enum_field_mapper("aspect_ratio", VIDEO_ASPECT_RATIOS, label="ratio"),
        "resolution": resolution_field_mapper(VIDEO_RESOLUTIONS),
        "generate_audio": bool_field_mapper("generate_audio"),
        "image_url": single_image_field_mapper(image_type="first_frame", provider=PROVIDER),
        "reference_image_urls": image_list_field_mapper("reference", PROVIDER),
        "video_url": _input_video(),
        "number_of_videos": _single_video(),
    }
    if last_frame:
        mappers["last_frame_url"] = single_image_field_mapper(
            image_type="last_frame", provider=PROVIDER
        )
    return mappers


GROK_IMAGINE_VIDEO = _video(last_frame=False)
"""grok-imagine-video: text/image/reference-to-video and video editing."""

GROK_IMAGINE_VIDEO_15 = _video(last_frame=True)
"""grok-imagine-video-1.5: adds a pinned last frame (and an empty prompt with a first frame)."""

MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {
    "grok-imagine-image": GROK_IMAGINE_IMAGE,
    "grok-imagine-image-pro": GROK_IMAGINE_IMAGE,
    "grok-imagine-image-quality": GROK_IMAGINE_IMAGE,
    "grok-imagine-image-2.0": GROK_IMAGINE_IMAGE_2,
    "grok-2-image": GROK_2_IMAGE,
    "grok-2-image-1212": GROK_2_IMAGE,
    "grok-2-image-latest": GROK_2_IMAGE,
    "grok-imagine-video": GROK_IMAGINE_VIDEO,
    "grok-imagine-video-1.5": GROK_IMAGINE_VIDEO_15,
}
"""Model name → mappers (image models produce ``image``, video models ``video``)."""

IMAGE_MODELS = frozenset(k for k in MODEL_MAPPINGS if "video" not in k)
VIDEO_MODELS = frozenset(k for k in MODEL_MAPPINGS if "video" in k)
