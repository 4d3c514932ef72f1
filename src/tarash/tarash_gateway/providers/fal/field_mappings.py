"""Field mappings of fal-hosted models (pure: no SDK import, no I/O).

Each entry maps the typed request onto the model's input schema with the
exact parameter names fal publishes (``fal-ai/...`` endpoint ids, as in fal's
generated client types), and validates what the model accepts — durations,
aspect ratios, resolutions, audio flags, seeds, negative prompts, image /
first-last-frame / reference inputs, image counts — before anything is sent.

Lookup is the registry's: exact id, else the longest registered prefix ending
on a segment boundary (``/``, ``:``, ``@``). Every endpoint variant whose
schema differs (``/image-to-video``, ``/first-last-frame-to-video``, ``/edit``
…) is registered explicitly, so a prefix only ever stands in for a variant
with the same inputs (``fal-ai/veo3/fast`` → ``fal-ai/veo3``). Models missing
here still run through the handler's generic mapping, with a warning.

Media values come out as :class:`~tarash.tarash_gateway.media.MediaInput`;
the handler uploads local files/bytes to fal storage at submit time and
passes URLs through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    FieldSpec,
    ImageRole,
    aspect_ratio_field_mapper,
    audio_field_mapper,
    bool_field_mapper,
    duration_field_mapper,
    image_list_field_mapper,
    mask_image_field_mapper,
    n_images_field_mapper,
    passthrough_field_mapper,
    resolution_field_mapper,
    seed_field_mapper,
    single_image_field_mapper,
    video_url_field_mapper,
)

__all__ = [
    "FAL_IMAGE_SIZE_PRESETS",
    "GENERIC_IMAGE_MAPPERS",
    "GENERIC_VIDEO_MAPPERS",
    "MODEL_MAPPINGS",
    "PREFIX_KEYS",
    "VIDEO_MODEL_KEYS",
    "image_size_field_mapper",
]

Mappers = dict[str, FieldMapper]

_FIRST: tuple[ImageRole, ...] = ("first_frame", "reference")
_REFS: tuple[ImageRole, ...] = ("reference", "asset", "style")
_ANY_ROLE: tuple[ImageRole, ...] = ("reference", "first_frame", "last_frame", "asset", "style")
_SEED_MAX = 2**32 - 1


# --------------------------------------------------------------------------- building blocks


def _prompt() -> FieldMapper:
    return passthrough_field_mapper("prompt", required=True)


def _negative() -> FieldMapper:
    return passthrough_field_mapper("negative_prompt")


def _seed() -> FieldMapper:
    return seed_field_mapper(_SEED_MAX)


def _audio() -> FieldMapper:
    return bool_field_mapper("generate_audio")


def _enhance() -> FieldMapper:
    return bool_field_mapper("enhance_prompt")


def _durations(values: Sequence[int], *, suffix: bool = False) -> FieldMapper:
    """fal sends durations as enum strings: ``"8s"`` (Veo) or ``"5"`` (most others)."""
    return duration_field_mapper("str", list(values), provider="fal", add_suffix=suffix)


def _fixed_duration(seconds: int) -> FieldMapper:
    """A model with one output length: accept that length (or nothing), send nothing."""

    def convert(_request: Any, value: Any) -> Any:
        if value is None or int(value) == seconds:
            return None
        raise ValueError(f"duration {int(value)}s is not supported; this model makes {seconds}s")

    return FieldMapper("duration_seconds", convert, False, FieldSpec("seconds", (seconds,)))


def _ratios(*values: str) -> FieldMapper:
    return aspect_ratio_field_mapper(list(values))


def _resolutions(values: Sequence[str] | Mapping[str, str]) -> FieldMapper:
    return resolution_field_mapper(values)


def _image(*, required: bool = True) -> FieldMapper:
    """One first-frame image (a ``reference`` image counts as the first frame)."""
    return single_image_field_mapper(required, _FIRST, provider="fal")


def _last_frame(*, required: bool = False) -> FieldMapper:
    return single_image_field_mapper(required, "last_frame", provider="fal")


def _refs(*, max_count: int | None, required: bool = False, min_count: int = 0) -> FieldMapper:
    return image_list_field_mapper(
        _REFS, "fal", min_count=min_count, max_count=max_count, required=required
    )


def _edit_images(*, max_count: int | None, required: bool = True) -> FieldMapper:
    """Input images of an edit model: every role, as a list."""
    return image_list_field_mapper(None, "fal", max_count=max_count, required=required)


def _edit_image(*, required: bool = True) -> FieldMapper:
    """The single input image of an edit model (any role)."""
    return single_image_field_mapper(required, _ANY_ROLE, provider="fal")


def _num_images(maximum: int) -> FieldMapper:
    return n_images_field_mapper(1, maximum)


def _prompt_optimizer() -> FieldMapper:
    """``enhance_prompt`` → MiniMax's ``prompt_optimizer``."""
    return bool_field_mapper("enhance_prompt")


def _wan22_num_frames(*, fps: int = 16, minimum: int = 17, maximum: int = 161) -> FieldMapper:
    """Wan 2.2 has no duration: ``duration_seconds`` → ``num_frames = seconds × fps + 1``.

    ``frames_per_second`` in ``extra_params`` changes the rate (default 16, so
    5 s → 81 frames, the model's default).
    """

    def convert(request: Any, value: Any) -> Any:
        if value is None:
            return None
        rate = (getattr(request, "extra_params", None) or {}).get("frames_per_second", fps)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 4 <= rate <= 60:
            raise ValueError(f"frames_per_second must be 4..60, got {rate!r}")
        frames = int(value) * int(rate) + 1
        if not minimum <= frames <= maximum:
            low = (minimum - 1) / rate
            high = (maximum - 1) / rate
            raise ValueError(
                f"duration {int(value)}s at {rate:g} fps is {frames} frames; "
                f"this model makes {minimum}..{maximum} frames ({low:g}..{high:g}s)"
            )
        return frames

    return FieldMapper(
        "duration_seconds",
        convert,
        False,
        FieldSpec("seconds", None, None, None, "sent as num_frames (seconds × fps + 1)"),
    )


# --------------------------------------------------------------------------- image sizes

FAL_IMAGE_SIZE_PRESETS: dict[str, str] = {
    "1:1": "square_hd",
    "4:3": "landscape_4_3",
    "16:9": "landscape_16_9",
    "3:4": "portrait_4_3",
    "9:16": "portrait_16_9",
}
"""Aspect ratio → fal's ``image_size`` preset name."""

_PRESET_NAMES = (
    "square_hd",
    "square",
    "portrait_4_3",
    "portrait_16_9",
    "landscape_4_3",
    "landscape_16_9",
)
_SIZE_RE = re.compile(r"^\s*(\d{2,5})\s*[x×*]\s*(\d{2,5})\s*$")


def image_size_field_mapper(
    *,
    minimum: int = 64,
    maximum: int = 14142,
    extra_presets: Sequence[str] = (),
    allow_auto: bool = False,
) -> FieldMapper:
    """fal's ``image_size``: a preset from ``aspect_ratio`` or ``{width, height}`` from ``size``.

    ``size`` (``"1024x768"`` or a preset name such as ``"square_hd"``) wins over
    ``aspect_ratio``; both are validated. Pair it with
    :func:`_aspect_ratio_folded` so ``aspect_ratio`` counts as consumed.
    """
    presets = set(_PRESET_NAMES) | set(extra_presets)
    if allow_auto:
        presets.add("auto")
    ratios = dict(FAL_IMAGE_SIZE_PRESETS)
    if allow_auto:
        ratios["auto"] = "auto"

    def convert(request: Any, value: Any) -> Any:
        ratio = getattr(request, "aspect_ratio", None)
        if value is not None:
            text = str(value).strip()
            if text in presets:
                return text
            match = _SIZE_RE.match(text)
            if not match:
                raise ValueError(
                    f"size {text!r} must look like '1024x768' or be one of: "
                    + ", ".join(sorted(presets))
                )
            width, height = int(match.group(1)), int(match.group(2))
            for side in (width, height):
                if not minimum <= side <= maximum:
                    raise ValueError(
                        f"size {text!r}: each side must be {minimum}..{maximum} pixels"
                    )
            return {"width": width, "height": height}
        if ratio is None:
            return None
        if ratio not in ratios:
            raise ValueError(
                f"aspect ratio {ratio!r} is not supported; allowed: {', '.join(ratios)}"
                " (or pass size='WIDTHxHEIGHT')"
            )
        return ratios[ratio]

    return FieldMapper(
        "size",
        convert,
        False,
        FieldSpec("size", tuple(sorted(presets)), minimum, maximum, "or WIDTHxHEIGHT"),
    )


def _aspect_ratio_folded() -> FieldMapper:
    """Marks ``aspect_ratio`` as consumed by ``image_size`` (validated there; never sent)."""
    return FieldMapper(
        "aspect_ratio",
        lambda _r, _v: None,
        False,
        FieldSpec("ratio", tuple(FAL_IMAGE_SIZE_PRESETS), None, None, "sent as image_size"),
    )


def _sized(**kwargs: Any) -> Mappers:
    return {"image_size": image_size_field_mapper(**kwargs), "aspect_ratio": _aspect_ratio_folded()}


# ============================================================================ video families

_VEO_DURATIONS = (4, 6, 8)


def _veo_t2v(resolutions: Sequence[str]) -> Mappers:
    return {
        "prompt": _prompt(),
        "duration": _durations(_VEO_DURATIONS, suffix=True),
        "aspect_ratio": _ratios("16:9", "9:16"),
        "resolution": _resolutions(resolutions),
        "generate_audio": _audio(),
        "negative_prompt": _negative(),
        "seed": _seed(),
    }


def _veo_i2v(resolutions: Sequence[str]) -> Mappers:
    return {
        **_veo_t2v(resolutions),
        "aspect_ratio": _ratios("auto", "16:9", "9:16"),
        "image_url": _image(),
    }


def _veo_flf(resolutions: Sequence[str]) -> Mappers:
    out = _veo_t2v(resolutions)
    out.update(
        {
            "aspect_ratio": _ratios("auto", "16:9", "9:16"),
            "first_frame_url": _image(),
            "last_frame_url": _last_frame(required=True),
        }
    )
    return out


def _veo_reference(resolutions: Sequence[str]) -> Mappers:
    # fal's schema has neither negative_prompt nor seed here (fal-js endpoints.ts @381105e)
    out = _veo_t2v(resolutions)
    del out["negative_prompt"], out["seed"]
    out["image_urls"] = _refs(max_count=3, required=True)
    return out


_VEO31 = ("720p", "1080p", "4k")
_VEO31_LITE = ("720p", "1080p")

VEO: dict[str, Mappers] = {
    "fal-ai/veo3.1": _veo_t2v(_VEO31),
    "fal-ai/veo3.1/fast": _veo_t2v(_VEO31),
    "fal-ai/veo3.1/lite": _veo_t2v(_VEO31_LITE),
    "fal-ai/veo3.1/image-to-video": _veo_i2v(_VEO31),
    "fal-ai/veo3.1/fast/image-to-video": _veo_i2v(_VEO31),
    "fal-ai/veo3.1/lite/image-to-video": _veo_i2v(_VEO31_LITE),
    "fal-ai/veo3.1/first-last-frame-to-video": _veo_flf(_VEO31),
    "fal-ai/veo3.1/fast/first-last-frame-to-video": _veo_flf(_VEO31),
    "fal-ai/veo3.1/lite/first-last-frame-to-video": _veo_flf(_VEO31_LITE),
    "fal-ai/veo3.1/reference-to-video": _veo_reference(_VEO31),
}

# --------------------------------------------------------------------------- Kling

_KLING_5_10 = (5, 10)
_KLING_O1 = tuple(range(3, 11))
_KLING_V3 = tuple(range(3, 16))
_KLING_RATIOS = ("16:9", "9:16", "1:1")


def _kling_t2v(durations: Sequence[int], *, audio: bool = False, negative: bool = True) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        "duration": _durations(durations),
        "aspect_ratio": _ratios(*_KLING_RATIOS),
    }
    if negative:
        out["negative_prompt"] = _negative()
    if audio:
        out["generate_audio"] = _audio()
    return out


def _kling_i2v(
    durations: Sequence[int],
    *,
    image_param: str = "image_url",
    last_param: str | None = None,
    audio: bool = False,
    negative: bool = True,
) -> Mappers:
    out: Mappers = {"prompt": _prompt(), "duration": _durations(durations), image_param: _image()}
    if last_param:
        out[last_param] = _last_frame()
    if negative:
        out["negative_prompt"] = _negative()
    if audio:
        out["generate_audio"] = _audio()
    return out


def _kling_o3_reference() -> Mappers:
    return {
        "prompt": _prompt(),
        "duration": _durations(_KLING_V3),
        "aspect_ratio": _ratios(*_KLING_RATIOS),
        "generate_audio": _audio(),
        "image_urls": _refs(max_count=4),
        "start_image_url": single_image_field_mapper(False, "first_frame", provider="fal"),
        "end_image_url": _last_frame(),
    }


def _kling_v3_family(tier: str) -> dict[str, Mappers]:
    base = f"fal-ai/kling-video/v3/{tier}"
    return {
        f"{base}/text-to-video": _kling_t2v(_KLING_V3, audio=True),
        f"{base}/image-to-video": _kling_i2v(
            _KLING_V3, image_param="start_image_url", last_param="end_image_url", audio=True
        ),
    }


def _kling_o3_family(tier: str) -> dict[str, Mappers]:
    base = f"fal-ai/kling-video/o3/{tier}"
    return {
        f"{base}/text-to-video": _kling_t2v(_KLING_V3, audio=True, negative=False),
        f"{base}/image-to-video": _kling_i2v(
            _KLING_V3, last_param="end_image_url", audio=True, negative=False
        ),
        f"{base}/reference-to-video": _kling_o3_reference(),
    }


KLING: dict[str, Mappers] = {
    "fal-ai/kling-video/v2/master/text-to-video": _kling_t2v(_KLING_5_10),
    "fal-ai/kling-video/v2/master/image-to-video": _kling_i2v(_KLING_5_10),
    "fal-ai/kling-video/v2.1/master/text-to-video": _kling_t2v(_KLING_5_10),
    "fal-ai/kling-video/v2.1/master/image-to-video": _kling_i2v(_KLING_5_10),
    "fal-ai/kling-video/v2.1/pro/image-to-video": _kling_i2v(
        _KLING_5_10, last_param="tail_image_url"
    ),
    "fal-ai/kling-video/v2.1/standard/image-to-video": _kling_i2v(_KLING_5_10),
    "fal-ai/kling-video/v2.5-turbo/pro/text-to-video": _kling_t2v(_KLING_5_10),
    "fal-ai/kling-video/v2.5-turbo/pro/image-to-video": _kling_i2v(
        _KLING_5_10, last_param="tail_image_url"
    ),
    "fal-ai/kling-video/v2.5-turbo/standard/image-to-video": _kling_i2v(_KLING_5_10),
    "fal-ai/kling-video/v2.6/pro/text-to-video": _kling_t2v(_KLING_5_10, audio=True),
    "fal-ai/kling-video/v2.6/pro/image-to-video": _kling_i2v(
        _KLING_5_10, image_param="start_image_url", last_param="end_image_url", audio=True
    ),
    **_kling_v3_family("pro"),
    **_kling_v3_family("standard"),
    **_kling_v3_family("4k"),
    "fal-ai/kling-video/v3/turbo/pro/text-to-video": _kling_t2v(_KLING_V3, negative=False),
    "fal-ai/kling-video/v3/turbo/pro/image-to-video": _kling_i2v(_KLING_V3, negative=False),
    "fal-ai/kling-video/v3/turbo/standard/text-to-video": _kling_t2v(_KLING_V3, negative=False),
    "fal-ai/kling-video/v3/turbo/standard/image-to-video": _kling_i2v(_KLING_V3, negative=False),
    "fal-ai/kling-video/o1/image-to-video": _kling_i2v(
        _KLING_O1, image_param="start_image_url", last_param="end_image_url", negative=False
    ),
    "fal-ai/kling-video/o1/standard/image-to-video": _kling_i2v(
        _KLING_O1, image_param="start_image_url", last_param="end_image_url", negative=False
    ),
    "fal-ai/kling-video/o1/reference-to-video": {
        "prompt": _prompt(),
        "duration": _durations(_KLING_O1),
        "aspect_ratio": _ratios(*_KLING_RATIOS),
        "image_urls": _refs(max_count=7, required=True),
    },
    "fal-ai/kling-video/o1/standard/reference-to-video": {
        "prompt": _prompt(),
        "duration": _durations(_KLING_O1),
        "aspect_ratio": _ratios(*_KLING_RATIOS),
        "image_urls": _refs(max_count=7, required=True),
    },
    **_kling_o3_family("pro"),
    **_kling_o3_family("standard"),
    **_kling_o3_family("4k"),
}

# --------------------------------------------------------------------------- MiniMax Hailuo

_HAILUO_6_10 = (6, 10)


def _hailuo(*, durations: Sequence[int] | None, image: bool, last: bool = False) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        "duration": _durations(durations) if durations else _fixed_duration(6),
        "prompt_optimizer": _prompt_optimizer(),
    }
    if image:
        out["image_url"] = _image()
    if last:
        out["end_image_url"] = _last_frame()
    return out


def _hailuo_standard_i2v() -> Mappers:
    out = _hailuo(durations=_HAILUO_6_10, image=True, last=True)
    out["resolution"] = _resolutions({"768p": "768P"})
    return out


HAILUO: dict[str, Mappers] = {
    "fal-ai/minimax/hailuo-02/standard/text-to-video": _hailuo(durations=_HAILUO_6_10, image=False),
    "fal-ai/minimax/hailuo-02/standard/image-to-video": _hailuo_standard_i2v(),
    "fal-ai/minimax/hailuo-02/pro/text-to-video": _hailuo(durations=None, image=False),
    "fal-ai/minimax/hailuo-02/pro/image-to-video": _hailuo(durations=None, image=True, last=True),
    "fal-ai/minimax/hailuo-02-fast/image-to-video": _hailuo(durations=_HAILUO_6_10, image=True),
    "fal-ai/minimax/hailuo-2.3/standard/text-to-video": _hailuo(
        durations=_HAILUO_6_10, image=False
    ),
    "fal-ai/minimax/hailuo-2.3/standard/image-to-video": _hailuo(
        durations=_HAILUO_6_10, image=True
    ),
    "fal-ai/minimax/hailuo-2.3/pro/text-to-video": _hailuo(durations=None, image=False),
    "fal-ai/minimax/hailuo-2.3/pro/image-to-video": _hailuo(durations=None, image=True),
    "fal-ai/minimax/hailuo-2.3-fast/standard/image-to-video": _hailuo(
        durations=_HAILUO_6_10, image=True
    ),
    "fal-ai/minimax/hailuo-2.3-fast/pro/image-to-video": _hailuo(durations=None, image=True),
}

# --------------------------------------------------------------------------- Wan


def _wan22(*, image: bool) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        "num_frames": _wan22_num_frames(),
        "resolution": _resolutions(("480p", "580p", "720p")),
        "negative_prompt": _negative(),
        "enable_prompt_expansion": _enhance(),
        "seed": _seed(),
    }
    if image:
        out["aspect_ratio"] = _ratios("auto", "16:9", "9:16", "1:1")
        out["image_url"] = _image()
        out["end_image_url"] = _last_frame()
    else:
        out["aspect_ratio"] = _ratios("16:9", "9:16", "1:1")
    return out


def _wan22_turbo(*, image: bool) -> Mappers:
    out = _wan22(image=image)
    for key in ("num_frames", "negative_prompt"):
        del out[key]
    out["duration"] = _fixed_duration(5)
    return out


def _wan_audio_video(
    *,
    durations: Sequence[int],
    resolutions: Sequence[str],
    ratios: Sequence[str] | None,
    image: bool,
) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        "duration": _durations(durations),
        "resolution": _resolutions(resolutions),
        "negative_prompt": _negative(),
        "enable_prompt_expansion": _enhance(),
        "seed": _seed(),
        "audio_url": audio_field_mapper(),
    }
    if ratios:
        out["aspect_ratio"] = _ratios(*ratios)
    if image:
        out["image_url"] = _image()
    return out


WAN: dict[str, Mappers] = {
    "fal-ai/wan/v2.2-a14b/text-to-video": _wan22(image=False),
    "fal-ai/wan/v2.2-a14b/text-to-video/turbo": _wan22_turbo(image=False),
    "fal-ai/wan/v2.2-a14b/image-to-video/turbo": _wan22_turbo(image=True),
    "fal-ai/wan-25-preview/text-to-video": _wan_audio_video(
        durations=(5, 10),
        resolutions=("480p", "720p", "1080p"),
        ratios=("16:9", "9:16", "1:1"),
        image=False,
    ),
    "fal-ai/wan-25-preview/image-to-video": _wan_audio_video(
        durations=(5, 10), resolutions=("480p", "720p", "1080p"), ratios=None, image=True
    ),
    "wan/v2.6/image-to-video": _wan_audio_video(
        durations=(5, 10, 15), resolutions=("720p", "1080p"), ratios=None, image=True
    ),
}

# --------------------------------------------------------------------------- Seedance

_SEEDANCE_RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_SEEDANCE_V1 = tuple(range(2, 13))
_SEEDANCE_V15 = tuple(range(4, 13))


def _seedance(
    *,
    durations: Sequence[int],
    resolutions: Sequence[str],
    image: bool,
    last: bool,
    audio: bool = False,
    auto_ratio: bool = False,
    extra_ratios: Sequence[str] = (),
) -> Mappers:
    ratios = (*_SEEDANCE_RATIOS, *extra_ratios) + (("auto",) if auto_ratio else ())
    out: Mappers = {
        "prompt": _prompt(),
        "duration": _durations(durations),
        "aspect_ratio": _ratios(*ratios),
        "resolution": _resolutions(resolutions),
        "seed": _seed(),
    }
    if image:
        out["image_url"] = _image()
    if last:
        out["end_image_url"] = _last_frame()
    if audio:
        out["generate_audio"] = _audio()
    return out


_SD_ALL = ("480p", "720p", "1080p")
SEEDANCE: dict[str, Mappers] = {
    "fal-ai/bytedance/seedance/v1/pro/text-to-video": _seedance(
        durations=_SEEDANCE_V1, resolutions=_SD_ALL, image=False, last=False
    ),
    "fal-ai/bytedance/seedance/v1/pro/image-to-video": _seedance(
        durations=_SEEDANCE_V1, resolutions=_SD_ALL, image=True, last=True, auto_ratio=True
    ),
    "fal-ai/bytedance/seedance/v1/pro/fast/text-to-video": _seedance(
        durations=_SEEDANCE_V1, resolutions=_SD_ALL, image=False, last=False
    ),
    "fal-ai/bytedance/seedance/v1/pro/fast/image-to-video": _seedance(
        durations=_SEEDANCE_V1, resolutions=_SD_ALL, image=True, last=False, auto_ratio=True
    ),
    "fal-ai/bytedance/seedance/v1.5/pro/text-to-video": _seedance(
        durations=_SEEDANCE_V15,
        resolutions=_SD_ALL,
        image=False,
        last=False,
        audio=True,
        auto_ratio=True,
    ),
    "fal-ai/bytedance/seedance/v1.5/pro/image-to-video": _seedance(
        durations=_SEEDANCE_V15,
        resolutions=_SD_ALL,
        image=True,
        last=True,
        audio=True,
        auto_ratio=True,
    ),
}

# --------------------------------------------------------------------------- Pixverse

_PIX_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16")
_PIX_RES = ("360p", "540p", "720p", "1080p")


def _pixverse_duration() -> FieldMapper:
    """5 or 8 seconds; fal: "1080p videos are limited to 5 seconds"."""
    base = _durations((5, 8))

    def convert(request: Any, value: Any) -> Any:
        out = base.converter(request, value)
        if out == "8" and getattr(request, "resolution", None) == "1080p":
            raise ValueError("8s is not available at 1080p on Pixverse (1080p is limited to 5s)")
        return out

    return FieldMapper("duration_seconds", convert, False, base.spec)


def _pixverse(*, image: bool, fast: bool = False, transition: bool = False) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        "resolution": _resolutions(_PIX_RES[:3] if fast else _PIX_RES),
        "negative_prompt": _negative(),
        "seed": _seed(),
    }
    out["duration"] = _fixed_duration(5) if fast else _pixverse_duration()
    if transition:
        out["aspect_ratio"] = _ratios(*_PIX_RATIOS)
        out["first_image_url"] = _image()
        out["end_image_url"] = _last_frame(required=True)
    elif image:
        out["image_url"] = _image()
    else:
        out["aspect_ratio"] = _ratios(*_PIX_RATIOS)
    return out


PIXVERSE: dict[str, Mappers] = {}
for _version in ("v4.5", "v5"):
    PIXVERSE[f"fal-ai/pixverse/{_version}/text-to-video"] = _pixverse(image=False)
    PIXVERSE[f"fal-ai/pixverse/{_version}/image-to-video"] = _pixverse(image=True)
    if _version == "v4.5":  # fal lists /fast for v4.5 only (fal-js endpoints.ts @381105e)
        PIXVERSE[f"fal-ai/pixverse/{_version}/text-to-video/fast"] = _pixverse(
            image=False, fast=True
        )
        PIXVERSE[f"fal-ai/pixverse/{_version}/image-to-video/fast"] = _pixverse(
            image=True, fast=True
        )
    PIXVERSE[f"fal-ai/pixverse/{_version}/transition"] = _pixverse(image=False, transition=True)

# --------------------------------------------------------------------------- LTX


def _ltxv_distilled(*, image: bool) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        "resolution": _resolutions(("480p", "720p")),
        "negative_prompt": _negative(),
        "expand_prompt": _enhance(),
        "seed": _seed(),
    }
    if image:
        out["aspect_ratio"] = _ratios("9:16", "1:1", "16:9", "auto")
        out["image_url"] = _image()
    else:
        out["aspect_ratio"] = _ratios("9:16", "1:1", "16:9")
    return out


LTX: dict[str, Mappers] = {
    "fal-ai/ltxv-13b-098-distilled": _ltxv_distilled(image=False),
    "fal-ai/ltxv-13b-098-distilled/image-to-video": _ltxv_distilled(image=True),
}

# ============================================================================ image families


def _flux_t2i(*, num_images: int | None = 4, minimum: int = 64, maximum: int = 14142) -> Mappers:
    out: Mappers = {"prompt": _prompt(), **_sized(minimum=minimum, maximum=maximum)}
    out["seed"] = _seed()
    if num_images:
        out["num_images"] = _num_images(num_images)
    return out


_KONTEXT_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")


def _kontext(*, edit: bool) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        "aspect_ratio": _ratios(*_KONTEXT_RATIOS),
        "num_images": _num_images(4),
        "seed": _seed(),
    }
    if edit:
        out["image_url"] = _edit_image()
    return out


def _flux2_edit(
    *,
    num_images: int | None,
    max_refs: int | None,
    minimum: int = 64,
    maximum: int = 14142,
    auto: bool = True,
) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        **_sized(minimum=minimum, maximum=maximum, allow_auto=auto),
        "image_urls": _edit_images(max_count=max_refs),
        "seed": _seed(),
    }
    if num_images:
        out["num_images"] = _num_images(num_images)
    return out


FLUX: dict[str, Mappers] = {
    "fal-ai/flux/schnell": _flux_t2i(),
    "fal-ai/flux/dev": _flux_t2i(),
    "fal-ai/flux/dev/image-to-image": {
        "prompt": _prompt(),
        "image_url": _edit_image(),
        "num_images": _num_images(4),
        "seed": _seed(),
    },
    "fal-ai/flux-pro/v1.1": _flux_t2i(),
    "fal-ai/flux-pro/v1.1-ultra": {
        "prompt": _prompt(),
        "aspect_ratio": _ratios(*_KONTEXT_RATIOS),
        "num_images": _num_images(4),
        "seed": _seed(),
        "image_url": single_image_field_mapper(False, _REFS, provider="fal"),
    },
    "fal-ai/flux-pro/kontext": _kontext(edit=True),
    "fal-ai/flux-pro/kontext/max": _kontext(edit=True),
    "fal-ai/flux-pro/kontext/text-to-image": _kontext(edit=False),
    "fal-ai/flux-pro/kontext/max/text-to-image": _kontext(edit=False),
    "fal-ai/flux-kontext/dev": {
        "prompt": _prompt(),
        "image_url": _edit_image(),
        "num_images": _num_images(4),
        "seed": _seed(),
    },
    "fal-ai/flux-2": _flux_t2i(minimum=512, maximum=2048),
    "fal-ai/flux-2/edit": _flux2_edit(
        num_images=4, max_refs=4, minimum=512, maximum=2048, auto=False
    ),
    "fal-ai/flux-2-pro": _flux_t2i(num_images=None),
    "fal-ai/flux-2-pro/edit": _flux2_edit(num_images=None, max_refs=None),
    "fal-ai/flux-2-flex": _flux_t2i(num_images=None),
    "fal-ai/flux-2-flex/edit": _flux2_edit(num_images=None, max_refs=None),
    "fal-ai/flux-2-max": _flux_t2i(num_images=None),
    "fal-ai/flux-2-max/edit": _flux2_edit(num_images=None, max_refs=None),
}

_GEMINI_RATIOS = ("21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16")
_GEMINI_WIDE = (*_GEMINI_RATIOS, "4:1", "1:4", "8:1", "1:8")


def _nano_banana(*, edit: bool, ratios: Sequence[str], auto: bool) -> Mappers:
    allowed = (("auto",) if auto or edit else ()) + tuple(ratios)
    out: Mappers = {
        "prompt": _prompt(),
        "aspect_ratio": _ratios(*allowed),
        "num_images": _num_images(4),
        "seed": _seed(),
    }
    if edit:
        out["image_urls"] = _edit_images(max_count=None)
    return out


NANO_BANANA: dict[str, Mappers] = {
    "fal-ai/nano-banana": _nano_banana(edit=False, ratios=_GEMINI_RATIOS, auto=False),
    "fal-ai/nano-banana/edit": _nano_banana(edit=True, ratios=_GEMINI_RATIOS, auto=True),
    "fal-ai/gemini-25-flash-image": _nano_banana(edit=False, ratios=_GEMINI_RATIOS, auto=False),
    "fal-ai/gemini-25-flash-image/edit": _nano_banana(edit=True, ratios=_GEMINI_RATIOS, auto=True),
    "fal-ai/nano-banana-pro": _nano_banana(edit=False, ratios=_GEMINI_RATIOS, auto=True),
    "fal-ai/nano-banana-pro/edit": _nano_banana(edit=True, ratios=_GEMINI_RATIOS, auto=True),
    "fal-ai/gemini-3-pro-image-preview": _nano_banana(edit=False, ratios=_GEMINI_RATIOS, auto=True),
    "fal-ai/gemini-3-pro-image-preview/edit": _nano_banana(
        edit=True, ratios=_GEMINI_RATIOS, auto=True
    ),
    "fal-ai/nano-banana-2": _nano_banana(edit=False, ratios=_GEMINI_WIDE, auto=True),
    "fal-ai/nano-banana-2/edit": _nano_banana(edit=True, ratios=_GEMINI_WIDE, auto=True),
}


def _seedream(*, edit: bool, v4: bool) -> Mappers:
    presets = ("auto_2K", "auto_4K") + (("auto",) if v4 else ())
    out: Mappers = {
        "prompt": _prompt(),
        **_sized(minimum=960 if v4 else 1920, maximum=4096, extra_presets=presets),
        "num_images": _num_images(6),
        "seed": _seed(),
    }
    if edit:
        out["image_urls"] = _edit_images(max_count=10)
    return out


SEEDREAM: dict[str, Mappers] = {
    "fal-ai/bytedance/seedream/v4/text-to-image": _seedream(edit=False, v4=True),
    "fal-ai/bytedance/seedream/v4/edit": _seedream(edit=True, v4=True),
    "fal-ai/bytedance/seedream/v4.5/text-to-image": _seedream(edit=False, v4=False),
    "fal-ai/bytedance/seedream/v4.5/edit": _seedream(edit=True, v4=False),
}


def _qwen(*, edit: str | None) -> Mappers:
    out: Mappers = {
        "prompt": _prompt(),
        **_sized(),
        "negative_prompt": _negative(),
        "num_images": _num_images(4),
        "seed": _seed(),
    }
    if edit == "single":
        out["image_url"] = _edit_image()
    elif edit == "multi":
        out["image_urls"] = _edit_images(max_count=None)
    return out


QWEN: dict[str, Mappers] = {
    "fal-ai/qwen-image": _qwen(edit=None),
    "fal-ai/qwen-image-2512": _qwen(edit=None),
    "fal-ai/qwen-image-edit": _qwen(edit="single"),
    "fal-ai/qwen-image-edit-plus": _qwen(edit="multi"),
}

# ============================================================================ generic + registry

GENERIC_VIDEO_MAPPERS: Mappers = {
    "prompt": _prompt(),
    "duration": duration_field_mapper("str", provider="fal", add_suffix=False),
    "aspect_ratio": aspect_ratio_field_mapper(),
    "resolution": passthrough_field_mapper("resolution"),
    "generate_audio": _audio(),
    "negative_prompt": _negative(),
    "seed": _seed(),
    "image_url": single_image_field_mapper(False, _FIRST, strict=True, provider="fal"),
    "end_image_url": _last_frame(),
    "video_url": video_url_field_mapper(),
    "audio_url": audio_field_mapper(),
}
"""Common names most fal video apps use, for models without a validated mapping."""

GENERIC_IMAGE_MAPPERS: Mappers = {
    "prompt": _prompt(),
    **_sized(allow_auto=True),
    "negative_prompt": _negative(),
    "num_images": n_images_field_mapper(1, 16),
    "seed": _seed(),
    "image_urls": image_list_field_mapper(None, "fal"),
    "mask_url": mask_image_field_mapper("fal"),
}
"""Common names most fal image apps use, for models without a validated mapping."""

MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {
    **VEO,
    **KLING,
    **HAILUO,
    **WAN,
    **SEEDANCE,
    **PIXVERSE,
    **LTX,
    **FLUX,
    **NANO_BANANA,
    **SEEDREAM,
    **QWEN,
}
"""Validated mappings of fal endpoints (video and image), keyed by endpoint id."""

VIDEO_MODEL_KEYS: frozenset[str] = frozenset(
    {*VEO, *KLING, *HAILUO, *WAN, *SEEDANCE, *PIXVERSE, *LTX}
)
"""Which registry keys are video models (the rest are image models)."""

PREFIX_KEYS: dict[str, str] = {}
"""Registry keys that are prefixes of a family rather than endpoint ids, with the reason.

Every other key is an endpoint id of fal's generated endpoint list (checked by
``tests/providers/fal/test_schema_conformance.py`` against ``tests/data/schemas/fal.json``).
"""
