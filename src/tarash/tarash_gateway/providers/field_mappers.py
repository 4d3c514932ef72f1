"""Declarative field mapping: request fields → a model's API parameters, validated.

A provider's registry maps a model name *or prefix* to ``{api_param: FieldMapper}``.
The longest registered prefix that ends on a segment boundary (``/``, ``:``
or ``@``) wins, so ``fal-ai/minimax`` covers ``fal-ai/minimax/hailuo-02`` but
not ``fal-ai/minimax-video``.

:func:`apply_field_mappers` runs every mapper, collects *all* problems and
raises one :class:`~tarash.tarash_gateway.exceptions.ValidationError` naming
each field and the model — before any network call. Request fields that no
mapper of the model consumes are reported by :func:`unsupported_fields` so
that nothing the caller asked for is ever silently dropped.

Media values come out of the mappers as
:class:`~tarash.tarash_gateway.media.MediaInput`; each provider turns them
into what its API takes (uploaded URL, data URI, bytes) at submit time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.media import MediaInput, to_media_input
from tarash.tarash_gateway.models import (
    BaseGenerationRequest,
    ImageGenerationRequest,
    STSRequest,
    TTSRequest,
    VideoGenerationRequest,
)

__all__ = [
    "FieldMapper",
    "FieldSpec",
    "GenerationRequest",
    "apply_field_mappers",
    "aspect_ratio_field_mapper",
    "aspect_ratio_to_size_field_mapper",
    "audio_field_mapper",
    "bool_field_mapper",
    "constant_field_mapper",
    "describe_field_mappers",
    "duration_field_mapper",
    "enum_field_mapper",
    "extra_params_field_mapper",
    "field_errors",
    "first_frame_field_mapper",
    "get_field_mappers_from_registry",
    "image_input_field_mapper",
    "image_list_field_mapper",
    "last_frame_field_mapper",
    "mask_image_field_mapper",
    "match_model_key",
    "n_images_field_mapper",
    "passthrough_field_mapper",
    "quality_field_mapper",
    "range_field_mapper",
    "resolution_field_mapper",
    "seed_field_mapper",
    "single_image_field_mapper",
    "size_field_mapper",
    "style_field_mapper",
    "unsupported_fields",
    "video_url_field_mapper",
]

GenerationRequest = VideoGenerationRequest | ImageGenerationRequest | TTSRequest | STSRequest
ImageRole = Literal["reference", "first_frame", "last_frame", "asset", "style"]
Converter = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FieldSpec:
    """What a mapped parameter accepts — shown by ``tarash models`` and in error messages."""

    kind: str = "any"
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str | None = None

    def describe(self) -> str:
        """One short human-readable line."""
        parts = [self.kind]
        if self.choices is not None:
            parts.append("one of " + ", ".join(str(c) for c in self.choices))
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else _number(self.minimum)
            high = "" if self.maximum is None else _number(self.maximum)
            parts.append(f"range {low}..{high}")
        if self.description:
            parts.append(self.description)
        return "; ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass
class FieldMapper:
    """Maps one request field to one API parameter with a converter.

    Attributes:
        source_field: Request attribute to read (``prompt``, ``duration_seconds`` …).
        converter: ``(request, value) -> api_value``; return ``None`` to omit the
            parameter; raise ``ValueError`` for invalid input.
        required: The parameter must end up with a value.
        spec: What the parameter accepts (for listings and messages).
        image_types: For ``image_list`` mappers, the image roles consumed
            (``None`` = every role).
    """

    source_field: str
    converter: Converter
    required: bool = False
    spec: FieldSpec | None = None
    image_types: frozenset[str] | None = field(default=None)
    also_consumes: frozenset[str] = field(default=frozenset())
    """Other request fields this mapper reads (so they are not reported unsupported)."""


# --------------------------------------------------------------------------- applying


def apply_field_mappers(
    field_mappers: Mapping[str, FieldMapper],
    request: BaseGenerationRequest,
    *,
    provider: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Run every mapper; return ``{api_param: value}`` without ``None``/empty values.

    Raises:
        ValidationError: listing every invalid or missing field, naming the model.
    """
    result: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for api_name, mapper in field_mappers.items():
        value = getattr(request, mapper.source_field, None)
        if mapper.required and _is_empty(value):
            errors.append(
                {"field": mapper.source_field, "param": api_name, "message": "is required"}
            )
            continue
        try:
            converted = mapper.converter(request, value)
        except (ValueError, TypeError) as exc:
            errors.append({"field": mapper.source_field, "param": api_name, "message": str(exc)})
            continue
        if mapper.required and _is_empty(converted):
            errors.append(
                {"field": mapper.source_field, "param": api_name, "message": "is required"}
            )
            continue
        if not _is_empty(converted):
            result[api_name] = converted
    if errors:
        raise field_errors(errors, provider, model)
    return result


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def field_errors(
    errors: list[dict[str, Any]], provider: str | None, model: str | None
) -> ValidationError:
    """One :class:`ValidationError` naming every ``{"field", "message"}`` problem."""
    lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    where = f" for model {model!r}" if model else ""
    return ValidationError(
        f"invalid request{where}: {lines}",
        provider,
        model,
        field=errors[0]["field"],
        errors=errors,
    )


def unsupported_fields(
    field_mappers: Mapping[str, FieldMapper], request: BaseGenerationRequest
) -> list[str]:
    """Request fields the caller set that no mapper of this model consumes.

    Images in ``image_list`` count per role: a ``last_frame`` image sent to a
    model without a last-frame parameter is reported as ``image_list[last_frame]``.
    """
    consumed = {m.source_field for m in field_mappers.values()}
    for mapper in field_mappers.values():
        consumed |= mapper.also_consumes
    out = [name for name in request.set_fields() if name not in consumed]
    if "image_list" in consumed:
        image_mappers = [m for m in field_mappers.values() if m.source_field == "image_list"]
        for item in getattr(request, "image_list", []) or []:
            role = item.get("type", "reference")
            if not any(m.image_types is None or role in m.image_types for m in image_mappers):
                label = f"image_list[{role}]"
                if label not in out:
                    out.append(label)
    return out


def describe_field_mappers(field_mappers: Mapping[str, FieldMapper]) -> list[dict[str, Any]]:
    """Rows ``{param, source_field, required, accepts}`` for listings (``tarash models``)."""
    rows = []
    for api_name, mapper in field_mappers.items():
        rows.append(
            {
                "param": api_name,
                "source_field": mapper.source_field,
                "required": mapper.required,
                "accepts": mapper.spec.describe() if mapper.spec else "any",
            }
        )
    return rows


# --------------------------------------------------------------------------- registry lookup

_BOUNDARIES = ("/", ":", "@")


def match_model_key(model_name: str, keys: Iterable[str]) -> str | None:
    """The longest key equal to ``model_name`` or a prefix of it ending on a segment boundary."""
    best: str | None = None
    for key in keys:
        if model_name == key:
            return key
        if not model_name.startswith(key):
            continue
        on_boundary = key.endswith(_BOUNDARIES) or model_name[len(key)] in _BOUNDARIES
        if on_boundary and (best is None or len(key) > len(best)):
            best = key
    return best


def get_field_mappers_from_registry(
    model_name: str,
    registry: Mapping[str, dict[str, FieldMapper]],
    fallback_mappers: dict[str, FieldMapper],
) -> dict[str, FieldMapper]:
    """Mappers for ``model_name``: exact key, else longest segment prefix, else ``fallback``."""
    key = match_model_key(model_name, registry.keys())
    return registry[key] if key is not None else fallback_mappers


# --------------------------------------------------------------------------- generic mappers


def passthrough_field_mapper(source_field: str, required: bool = False) -> FieldMapper:
    """Copy a request field unchanged."""
    return FieldMapper(source_field, lambda _r, v: v, required, FieldSpec("as given"))


def extra_params_field_mapper(param_name: str, required: bool = False) -> FieldMapper:
    """Take one key out of ``request.extra_params``."""

    def convert(request: Any, _value: Any) -> Any:
        value = (getattr(request, "extra_params", None) or {}).get(param_name)
        if required and value is None:
            raise ValueError(f"extra_params[{param_name!r}] is required")
        return value

    return FieldMapper("extra_params", convert, False, FieldSpec(f"extra_params.{param_name}"))


def constant_field_mapper(value: Any) -> FieldMapper:
    """Always send ``value`` (a parameter the model needs but the request does not carry)."""
    return FieldMapper("extra_params", lambda _r, _v: value, False, FieldSpec(f"always {value!r}"))


def enum_field_mapper(
    source_field: str,
    choices: Sequence[Any] | Mapping[Any, Any],
    *,
    required: bool = False,
    default: Any = None,
    label: str | None = None,
) -> FieldMapper:
    """Accept only ``choices``; a mapping also translates values (``{"720p": "720P"}``)."""
    table = dict(choices) if isinstance(choices, Mapping) else {c: c for c in choices}

    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return default
        key = value
        if key not in table and isinstance(value, str):
            key = next((k for k in table if str(k).lower() == value.lower()), value)
        if key not in table:
            allowed = ", ".join(str(c) for c in table)
            raise ValueError(f"{value!r} is not supported; allowed: {allowed}")
        return table[key]

    return FieldMapper(
        source_field, convert, required, FieldSpec(label or "choice", tuple(table.keys()))
    )


def range_field_mapper(
    source_field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    field_type: Literal["int", "float"] = "float",
    required: bool = False,
    default: Any = None,
) -> FieldMapper:
    """Accept a number within ``[minimum, maximum]``."""

    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be finite, got {value!r}")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be >= {_number(minimum)}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be <= {_number(maximum)}, got {value!r}")
        if field_type == "int":
            if float(value) != int(value):
                raise ValueError(f"must be a whole number, got {value!r}")
            return int(value)
        return float(value)

    return FieldMapper(
        source_field, convert, required, FieldSpec(field_type, None, minimum, maximum)
    )


def bool_field_mapper(source_field: str, *, invert: bool = False) -> FieldMapper:
    """Send a boolean flag (optionally inverted, e.g. ``enhance_prompt`` → ``disable_enhance``)."""

    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return (not value) if invert else value

    return FieldMapper(source_field, convert, False, FieldSpec("bool"))


def seed_field_mapper(maximum: int = 2**32 - 1) -> FieldMapper:
    """The request seed, within the model's range."""
    return range_field_mapper("seed", minimum=0, maximum=maximum, field_type="int")


def duration_field_mapper(
    field_type: Literal["str", "int", "float"] = "int",
    allowed_values: Sequence[str] | Sequence[int] | None = None,
    provider: str = "unknown",
    model: str | None = None,
    add_suffix: bool = True,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    required: bool = False,
    default: Any = None,
) -> FieldMapper:
    """``duration_seconds`` → the model's duration parameter.

    ``field_type="str"`` yields ``"5s"`` (or ``"5"`` with ``add_suffix=False``);
    ``allowed_values`` may list ints or the provider's strings (``["6s", "10s"]``).
    """
    allowed_ints: list[int] | None = None
    if allowed_values is not None:
        allowed_ints = [int(str(v).rstrip("s")) for v in allowed_values]

    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return default
        seconds = int(value)
        if allowed_ints is not None and seconds not in allowed_ints:
            where = f" for {model}" if model else ""
            raise ValueError(
                f"duration {seconds}s is not supported{where}; allowed: "
                + ", ".join(f"{v}s" for v in allowed_ints)
            )
        if minimum is not None and seconds < minimum:
            raise ValueError(f"duration must be >= {minimum}s, got {seconds}s")
        if maximum is not None and seconds > maximum:
            raise ValueError(f"duration must be <= {maximum}s, got {seconds}s")
        if field_type == "str":
            return f"{seconds}s" if add_suffix else str(seconds)
        if field_type == "float":
            return float(seconds)
        return seconds

    spec = FieldSpec(
        "seconds",
        tuple(allowed_ints) if allowed_ints is not None else None,
        minimum,
        maximum,
    )
    return FieldMapper("duration_seconds", convert, required, spec)


def aspect_ratio_field_mapper(
    allowed_values: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    required: bool = False,
    default: Any = None,
) -> FieldMapper:
    """``aspect_ratio`` restricted to what the model accepts (optionally translated)."""
    if allowed_values is None:
        return FieldMapper(
            "aspect_ratio",
            lambda _r, v: v if v is not None else default,
            required,
            FieldSpec("ratio"),
        )
    return enum_field_mapper(
        "aspect_ratio", allowed_values, required=required, default=default, label="ratio"
    )


def resolution_field_mapper(
    allowed_values: Sequence[str] | Mapping[str, Any],
    *,
    required: bool = False,
    default: Any = None,
) -> FieldMapper:
    """``resolution`` restricted to what the model accepts (optionally translated)."""
    return enum_field_mapper(
        "resolution", allowed_values, required=required, default=default, label="resolution"
    )


def aspect_ratio_to_size_field_mapper(
    sizes: Mapping[str, Any],
    *,
    source_field: str = "aspect_ratio",
    default: Any = None,
) -> FieldMapper:
    """Translate an aspect ratio into the model's size value (``"16:9"`` → ``"1280x720"``).

    A request ``size`` wins when set; it must be one of the mapped sizes.
    """
    valid_sizes = {str(s) for s in sizes.values()}

    def convert(request: Any, value: Any) -> Any:
        explicit = getattr(request, "size", None)
        if explicit:
            if str(explicit) not in valid_sizes:
                raise ValueError(
                    f"size {explicit!r} is not supported; allowed: {', '.join(sorted(valid_sizes))}"
                )
            return explicit
        if value is None:
            return default
        if value not in sizes:
            raise ValueError(
                f"aspect ratio {value!r} is not supported; allowed: {', '.join(sizes)}"
            )
        return sizes[value]

    return FieldMapper(
        source_field,
        convert,
        False,
        FieldSpec("ratio", tuple(sizes)),
        also_consumes=frozenset({"size"}),
    )


def size_field_mapper(
    allowed_values: Sequence[str] | None = None,
    provider: str = "unknown",
    model: str | None = None,
) -> FieldMapper:
    """Image ``size`` (``"1024x1024"``), restricted to ``allowed_values`` when given."""
    return _string_choice_mapper("size", allowed_values, model)


def quality_field_mapper(
    allowed_values: Sequence[str] | None = None,
    provider: str = "unknown",
    model: str | None = None,
) -> FieldMapper:
    """Image ``quality``, restricted to ``allowed_values`` when given."""
    return _string_choice_mapper("quality", allowed_values, model)


def style_field_mapper(
    allowed_values: Sequence[str] | None = None,
    provider: str = "unknown",
    model: str | None = None,
) -> FieldMapper:
    """Image ``style``, restricted to ``allowed_values`` when given."""
    return _string_choice_mapper("style", allowed_values, model)


def _string_choice_mapper(
    source_field: str, allowed: Sequence[str] | None, model: str | None
) -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        if value is None:
            return None
        text = str(value)
        if allowed is not None and text not in allowed:
            where = f" for {model}" if model else ""
            raise ValueError(f"{text!r} is not supported{where}; allowed: {', '.join(allowed)}")
        return text

    spec = FieldSpec("string", tuple(allowed) if allowed is not None else None)
    return FieldMapper(source_field, convert, False, spec)


def n_images_field_mapper(min_value: int = 1, max_value: int = 10) -> FieldMapper:
    """Number of images ``n`` within ``[min_value, max_value]``."""
    return range_field_mapper("n", minimum=min_value, maximum=max_value, field_type="int")


# --------------------------------------------------------------------------- media mappers


def _images_of(value: Any, roles: frozenset[str] | None) -> list[MediaInput]:
    items = cast(list[dict[str, Any]], value or [])
    return [
        to_media_input(item["image"])
        for item in items
        if roles is None or item.get("type", "reference") in roles
    ]


def image_list_field_mapper(
    image_type: ImageRole | Sequence[ImageRole] | None = None,
    provider: str = "unknown",
    *,
    min_count: int = 0,
    max_count: int | None = None,
    required: bool = False,
) -> FieldMapper:
    """Images of the given role(s) from ``image_list`` as a list (``None`` role = all)."""
    roles = _roles(image_type)

    def convert(_request: Any, value: Any) -> Any:
        images = _images_of(value, roles)
        if max_count is not None and len(images) > max_count:
            raise ValueError(f"at most {max_count} image(s) accepted, got {len(images)}")
        if images and len(images) < min_count:
            raise ValueError(f"at least {min_count} image(s) needed, got {len(images)}")
        return images

    spec = FieldSpec("images", None, min_count or None, max_count, _roles_label(roles))
    return FieldMapper("image_list", convert, required, spec, roles)


def single_image_field_mapper(
    required: bool = False,
    image_type: ImageRole | Sequence[ImageRole] = "reference",
    strict: bool = True,
    provider: str = "unknown",
) -> FieldMapper:
    """Exactly one image of the given role from ``image_list`` (error on several if strict)."""
    roles = _roles(image_type)

    def convert(_request: Any, value: Any) -> Any:
        images = _images_of(value, roles)
        if not images:
            return None
        if len(images) > 1 and strict:
            raise ValueError(f"only one {_roles_label(roles)} image is accepted, got {len(images)}")
        return images[0]

    return FieldMapper(
        "image_list",
        convert,
        required,
        FieldSpec("image", None, None, None, _roles_label(roles)),
        roles,
    )


def first_frame_field_mapper(required: bool = False) -> FieldMapper:
    """The ``first_frame`` image (a ``reference`` image counts as first frame for i2v)."""
    return single_image_field_mapper(required, ("first_frame", "reference"))


def last_frame_field_mapper(required: bool = False) -> FieldMapper:
    """The ``last_frame`` image."""
    return single_image_field_mapper(required, "last_frame")


def image_input_field_mapper(
    required: bool = False,
    provider: str = "unknown",
    image_type: ImageRole | Sequence[ImageRole] | None = None,
) -> FieldMapper:
    """The first input image (image-to-image, inpainting), any role unless restricted."""
    roles = _roles(image_type)

    def convert(_request: Any, value: Any) -> Any:
        images = _images_of(value, roles)
        return images[0] if images else None

    return FieldMapper("image_list", convert, required, FieldSpec("image"), roles)


def mask_image_field_mapper(provider: str = "unknown", required: bool = False) -> FieldMapper:
    """The inpainting mask."""
    return _media_mapper("mask_image", required)


def video_url_field_mapper(required: bool = False) -> FieldMapper:
    """The input video (edit, extend, video-to-video)."""
    return _media_mapper("video", required)


def audio_field_mapper(required: bool = False, source_field: str = "audio") -> FieldMapper:
    """An input audio clip (lip sync, STS)."""
    return _media_mapper(source_field, required)


def _media_mapper(source_field: str, required: bool) -> FieldMapper:
    def convert(_request: Any, value: Any) -> Any:
        return None if value is None else to_media_input(value)

    return FieldMapper(source_field, convert, required, FieldSpec("media"))


def _roles(image_type: str | Sequence[str] | None) -> frozenset[str] | None:
    if image_type is None:
        return None
    if isinstance(image_type, str):
        return frozenset({image_type})
    return frozenset(image_type)


def _roles_label(roles: frozenset[str] | None) -> str:
    return "any role" if roles is None else "/".join(sorted(roles))
