"""Field mapping: lookup, helpers, validation errors, unsupported fields, registry."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tarash.tarash_gateway import (
    get_provider_field_mapping,
    register_provider_field_mapping,
)
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.media import MediaInput
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    apply_field_mappers,
    aspect_ratio_to_size_field_mapper,
    bool_field_mapper,
    describe_field_mappers,
    duration_field_mapper,
    enum_field_mapper,
    extra_params_field_mapper,
    first_frame_field_mapper,
    get_field_mappers_from_registry,
    image_list_field_mapper,
    last_frame_field_mapper,
    match_model_key,
    n_images_field_mapper,
    passthrough_field_mapper,
    range_field_mapper,
    single_image_field_mapper,
    size_field_mapper,
    unsupported_fields,
)

URL = "https://example.com/i.png"


def test_prefix_lookup_respects_segment_boundaries() -> None:
    keys = ["fal-ai/minimax", "fal-ai/veo3", "fal-ai/veo3.1", "owner/model"]
    assert match_model_key("fal-ai/minimax", keys) == "fal-ai/minimax"
    assert match_model_key("fal-ai/minimax/hailuo-02/fast", keys) == "fal-ai/minimax"
    assert match_model_key("fal-ai/minimax-video", keys) is None
    assert match_model_key("fal-ai/veo3.1/fast", keys) == "fal-ai/veo3.1"
    assert match_model_key("fal-ai/veo3/fast", keys) == "fal-ai/veo3"
    assert match_model_key("owner/model:abc123", keys) == "owner/model"


def test_get_field_mappers_from_registry_falls_back() -> None:
    generic = {"prompt": passthrough_field_mapper("prompt")}
    registry = {"a/b": {"x": passthrough_field_mapper("seed")}}
    assert get_field_mappers_from_registry("a/b/c", registry, generic) is registry["a/b"]
    assert get_field_mappers_from_registry("a/bc", registry, generic) is generic


def test_apply_collects_every_error_and_names_model() -> None:
    mappers = {
        "prompt": passthrough_field_mapper("prompt", required=True),
        "duration": duration_field_mapper("str", ["5s", "10s"]),
        "aspect_ratio": enum_field_mapper("aspect_ratio", ["16:9", "9:16"]),
    }
    request = VideoGenerationRequest(prompt="", duration_seconds=7, aspect_ratio="1:1")
    with pytest.raises(ValidationError) as info:
        apply_field_mappers(mappers, request, provider="fal", model="fal-ai/kling")
    error = info.value
    assert {e["field"] for e in error.errors} == {"prompt", "duration_seconds", "aspect_ratio"}
    assert "fal-ai/kling" in str(error)
    assert "allowed: 5s, 10s" in str(error)
    assert error.retryable is False


def test_apply_omits_none_and_empty() -> None:
    mappers = {
        "prompt": passthrough_field_mapper("prompt", required=True),
        "seed": passthrough_field_mapper("seed"),
        "images": image_list_field_mapper(),
    }
    assert apply_field_mappers(mappers, VideoGenerationRequest(prompt="p")) == {"prompt": "p"}


def test_duration_formats() -> None:
    request = VideoGenerationRequest(prompt="p", duration_seconds=5)
    as_str = duration_field_mapper("str", ["5s", "10s"])
    bare = duration_field_mapper("str", [5, 10], add_suffix=False)
    as_int = duration_field_mapper("int", minimum=2, maximum=8)
    assert as_str.converter(request, 5) == "5s"
    assert bare.converter(request, 5) == "5"
    assert as_int.converter(request, 5) == 5
    with pytest.raises(ValueError, match="<= 8s"):
        as_int.converter(request, 9)


def test_enum_mapping_translates_case_insensitively() -> None:
    mapper = enum_field_mapper("resolution", {"720p": "720P", "1080p": "1080P"})
    assert mapper.converter(None, "720P") == "720P"
    assert mapper.converter(None, "1080p") == "1080P"
    with pytest.raises(ValueError, match="allowed: 720p, 1080p"):
        mapper.converter(None, "4k")


def test_aspect_ratio_to_size() -> None:
    mapper = aspect_ratio_to_size_field_mapper({"16:9": "1280x720", "9:16": "720x1280"})
    assert mapper.converter(VideoGenerationRequest(prompt="p"), "9:16") == "720x1280"
    with pytest.raises(ValueError, match="not supported"):
        mapper.converter(VideoGenerationRequest(prompt="p"), "1:1")
    explicit = ImageGenerationRequest(prompt="p", size="1280x720")
    assert mapper.converter(explicit, None) == "1280x720"


def test_image_mappers_select_by_role_and_count() -> None:
    request = VideoGenerationRequest(
        prompt="p",
        image_list=[
            {"image": URL, "type": "first_frame"},
            {"image": URL + "?2", "type": "last_frame"},
            {"image": URL + "?3", "type": "reference"},
            {"image": URL + "?4", "type": "reference"},
        ],
    )
    first = apply_field_mappers({"f": last_frame_field_mapper()}, request)["f"]
    assert isinstance(first, MediaInput)
    assert first.url == URL + "?2"
    refs = apply_field_mappers({"r": image_list_field_mapper("reference", max_count=2)}, request)
    assert [m.url for m in refs["r"]] == [URL + "?3", URL + "?4"]
    with pytest.raises(ValidationError, match="at most 1"):
        apply_field_mappers({"r": image_list_field_mapper("reference", max_count=1)}, request)
    with pytest.raises(ValidationError, match="only one"):
        apply_field_mappers({"r": single_image_field_mapper(image_type="reference")}, request)


def test_unsupported_fields_counts_image_roles() -> None:
    mappers: dict[str, FieldMapper] = {
        "prompt": passthrough_field_mapper("prompt"),
        "image_url": first_frame_field_mapper(),
    }
    request = VideoGenerationRequest(
        prompt="p",
        seed=3,
        image_list=[
            {"image": URL, "type": "first_frame"},
            {"image": URL, "type": "last_frame"},
        ],
    )
    assert unsupported_fields(mappers, request) == ["seed", "image_list[last_frame]"]


def test_extra_params_and_bool_mappers() -> None:
    request = VideoGenerationRequest(prompt="p", enhance_prompt=True, extra_params={"fps": 24})
    assert extra_params_field_mapper("fps").converter(request, None) == 24
    assert bool_field_mapper("enhance_prompt", invert=True).converter(request, True) is False
    with pytest.raises(ValueError, match="required"):
        extra_params_field_mapper("missing", required=True).converter(request, None)


def test_describe_field_mappers_lists_ranges_and_choices() -> None:
    rows = describe_field_mappers(
        {
            "duration": duration_field_mapper("int", [4, 6, 8]),
            "n": n_images_field_mapper(1, 4),
            "size": size_field_mapper(["1024x1024"]),
        }
    )
    text = {row["param"]: row["accepts"] for row in rows}
    assert "4, 6, 8" in text["duration"]
    assert "range 1..4" in text["n"]
    assert "1024x1024" in text["size"]


def test_register_merges_into_builtin_registry_and_replace_discards() -> None:
    builtin = get_provider_field_mapping("mock")
    assert builtin is not None and "mock-video" in builtin
    register_provider_field_mapping(
        "mock", {"mock-custom": {"prompt": passthrough_field_mapper("prompt")}}
    )
    merged = get_provider_field_mapping("mock")
    assert merged is not None and {"mock-video", "mock-custom"} <= set(merged)
    register_provider_field_mapping(
        "unit-test-provider", {"m": {"prompt": passthrough_field_mapper("prompt")}}
    )
    register_provider_field_mapping(
        "unit-test-provider", {"n": {"prompt": passthrough_field_mapper("prompt")}}, replace=True
    )
    assert set(get_provider_field_mapping("unit-test-provider") or {}) == {"n"}
    assert get_provider_field_mapping("nobody") is None


# ----------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(
    allowed=st.lists(st.integers(1, 30), min_size=1, max_size=6, unique=True),
    value=st.integers(1, 40),
)
def test_duration_accepts_exactly_the_allowed_values(allowed: list[int], value: int) -> None:
    mapper = duration_field_mapper("int", allowed)
    request = VideoGenerationRequest(prompt="p", duration_seconds=value)
    if value in allowed:
        assert apply_field_mappers({"d": mapper}, request) == {"d": value}
    else:
        with pytest.raises(ValidationError) as info:
            apply_field_mappers({"d": mapper}, request, model="m")
        assert info.value.field == "duration_seconds"


@settings(max_examples=200, deadline=None)
@given(
    low=st.integers(-100, 100),
    span=st.integers(0, 100),
    value=st.one_of(st.integers(-300, 300), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_range_mapper_never_lets_out_of_range_values_through(
    low: int, span: int, value: float
) -> None:
    mapper = range_field_mapper("seed", minimum=low, maximum=low + span)
    try:
        out = mapper.converter(None, value)
    except ValueError:
        return
    assert low <= out <= low + span


_RATIOS = st.sampled_from(["16:9", "9:16", "1:1", "4:3", "21:9", "2:3", "auto"])


@settings(max_examples=150, deadline=None)
@given(
    prompt=st.text(max_size=40),
    ratio=st.one_of(st.none(), _RATIOS),
    duration=st.one_of(st.none(), st.integers(1, 20)),
    extra=st.dictionaries(
        st.text("abcdefghij", min_size=1, max_size=6).filter(
            lambda k: k not in VideoGenerationRequest.model_fields
        ),
        st.integers(),
        max_size=3,
    ),
)
def test_request_validation_properties(
    prompt: str, ratio: str | None, duration: int | None, extra: dict[str, Any]
) -> None:
    request = VideoGenerationRequest(
        prompt=prompt, aspect_ratio=ratio, duration_seconds=duration, **extra
    )
    # Unknown keys always land in extra_params; known fields keep their values.
    assert request.extra_params == extra
    assert request.aspect_ratio == ratio
    mappers = {
        "prompt": passthrough_field_mapper("prompt", required=True),
        "ar": enum_field_mapper("aspect_ratio", ["16:9", "9:16"]),
    }
    try:
        payload = apply_field_mappers(mappers, request, model="m")
    except ValidationError as exc:
        fields = {e["field"] for e in exc.errors}
        assert fields <= {"prompt", "aspect_ratio"}
        assert ("prompt" in fields) == (prompt == "")
        assert ("aspect_ratio" in fields) == (ratio is not None and ratio not in ("16:9", "9:16"))
    else:
        assert payload["prompt"] == prompt
        assert payload.get("ar") == ratio
