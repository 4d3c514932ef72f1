"""Conformance: the catalog and the field mappings against the INSTALLED provider SDKs.

Where an SDK carries the allowed values as types (openai's literal types and notices,
runwayml's per-model TypedDicts, elevenlabs' format enums, xai's protos, cartesia /
hume / sarvam model literals, google-genai's config models), these tests read them at
run time and compare — so upgrading an SDK that adds, drops or retires a value makes
the drift visible here, not in production. The emulators are not involved.
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from typing import Any

import pytest
import typing_extensions as te

from tarash.tarash_gateway.catalog import entries, lookup


def literals(tp: Any) -> set[Any]:
    """Every literal value inside ``tp`` (through Union / Optional / Annotated / Required)."""
    origin = te.get_origin(tp)
    if origin is typing.Literal or origin is te.Literal:
        return set(te.get_args(tp))
    out: set[Any] = set()
    for arg in te.get_args(tp):
        out |= literals(arg)
    return out


def catalogued(provider: str, operation: str, *states: str) -> set[str]:
    wanted = states or ("active", "deprecated", "retired")
    return {
        e.model for e in entries(provider) if operation in e.operations and e.status() in wanted
    }


# ============================================================================ openai

openai_types = pytest.importorskip("openai.types")


def test_openai_image_models_match_the_sdk_image_model_type() -> None:
    sdk = literals(openai_types.ImageModel)
    assert catalogued("openai", "image") == sdk


def test_openai_video_models_match_the_sdk_video_model_type() -> None:
    sdk = literals(openai_types.VideoModel)
    assert catalogued("openai", "video") == sdk


def test_openai_speech_models_match_the_sdk_speech_model_type() -> None:
    from openai.types.audio import SpeechModel

    sdk = literals(SpeechModel)
    live = catalogued("openai", "tts", "active", "deprecated")
    assert live == sdk
    # what the SDK no longer lists is retired in the catalog
    assert catalogued("openai", "tts") - sdk == catalogued("openai", "tts", "retired")


def _sdk_notice(module: str) -> str:
    return inspect.getsource(importlib.import_module(module))


def test_openai_retirement_dates_are_the_sdk_notices() -> None:
    params = _sdk_notice("openai.types.image_generate_params")
    assert "gpt-image-1` was shut down on October 23, 2026" in params
    assert lookup("openai", "gpt-image-1").shutdown == "2026-10-23"  # type: ignore[union-attr]
    assert "retired on May 12, 2026" in params
    for model in ("dall-e-2", "dall-e-3"):
        assert lookup("openai", model).shutdown == "2026-05-12"  # type: ignore[union-attr]
    videos = _sdk_notice("openai.resources.videos")
    match = re.search(
        r"The Sora API is scheduled to permanently shut down on (\w+ \d+, \d{4})", videos
    )
    assert match and match.group(1) == "September 24, 2026"
    assert {lookup("openai", m).shutdown for m in catalogued("openai", "video")} == {  # type: ignore[union-attr]
        "2026-09-24"
    }


def test_sora_seconds_and_sizes_are_the_sdk_literals() -> None:
    from tarash.tarash_gateway.providers.azure_openai import field_mappings as azure
    from tarash.tarash_gateway.providers.openai import catalog as oc
    from tarash.tarash_gateway.providers.openai import field_mappings as fm

    seconds = literals(openai_types.VideoSeconds)
    sizes = literals(openai_types.VideoSize)
    assert set(oc.VIDEO_SECONDS) == seconds
    assert set(oc.VIDEO_SIZES) == sizes
    for spec in (*fm.VIDEO_MODELS.values(), *azure.VIDEO_MODELS.values()):
        assert {str(s) for s in spec.seconds} <= seconds, spec.name
        assert set(spec.sizes) <= sizes, spec.name
        for table in spec.resolutions.values():
            assert set(table.values()) <= sizes, spec.name


def test_openai_image_mappings_stay_inside_the_sdk_literals() -> None:
    from openai.types import image_edit_params, image_generate_params

    from tarash.tarash_gateway.providers.openai import catalog as oc
    from tarash.tarash_gateway.providers.openai import field_mappings as fm

    hints = typing.get_type_hints(image_generate_params.ImageGenerateParamsBase)
    qualities = literals(hints["quality"])
    sizes = literals(hints["size"])
    formats = literals(hints["output_format"])
    backgrounds = literals(hints["background"])
    for name, spec in fm.IMAGE_MODELS.items():
        assert name in literals(openai_types.ImageModel), name
        assert set(spec.qualities or ()) <= qualities, name
        assert set(spec.sizes) <= sizes, name
        assert set(spec.output_formats or ()) <= formats, name
        assert set(spec.backgrounds or ()) <= backgrounds, name
    keys: set[str] = set()
    for module in (image_generate_params, image_edit_params):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if te.is_typeddict(cls):
                keys |= set(typing.get_type_hints(cls))
    assert keys >= oc.IMAGE_PARAMS, oc.IMAGE_PARAMS - keys


def test_openai_speech_voices_and_formats_are_the_sdk_literals() -> None:
    from openai.types.audio import speech_create_params

    from tarash.tarash_gateway.providers.openai import catalog as oc
    from tarash.tarash_gateway.providers.openai import field_mappings as fm

    hints = typing.get_type_hints(speech_create_params.SpeechCreateParams)
    assert set(oc.TTS_VOICES) == literals(hints["voice"]) == set(fm.ALL_VOICES)
    for item in entries("openai"):
        if "tts" in item.operations and item.params is not None:
            assert set(hints) >= item.params, item.params - set(hints)
    assert set(oc.TTS_FORMATS) == literals(hints["response_format"]) == set(fm.TTS_FORMATS)


# ============================================================================ runway

runway_types = pytest.importorskip("runwayml.types")


def _runway_variants(module: str, union: str) -> dict[str, dict[str, Any]]:
    mod = importlib.import_module(f"runwayml.types.{module}")
    out: dict[str, dict[str, Any]] = {}
    for td in te.get_args(getattr(mod, union)):
        hints = typing.get_type_hints(td, include_extras=True)
        (model,) = literals(hints["model"])
        out[model] = {
            "required": {k for k, h in hints.items() if te.get_origin(h) is te.Required},
            "ratio": literals(hints["ratio"]) if "ratio" in hints else None,
            "duration": {d for d in literals(hints["duration"]) if isinstance(d, int)}
            if "duration" in hints
            else None,
        }
    return out


def test_runway_video_specs_match_the_sdk_typed_params() -> None:
    from tarash.tarash_gateway.providers.runway.field_mappings import VIDEO_SPECS

    i2v = _runway_variants("image_to_video_create_params", "ImageToVideoCreateParams")
    t2v = _runway_variants("text_to_video_create_params", "TextToVideoCreateParams")
    for name, spec in VIDEO_SPECS.items():
        assert name in i2v or name in t2v, name
        if name in i2v:
            sdk = i2v[name]
            assert spec.i2v_prompt_required == ("prompt_text" in sdk["required"]), name
            if sdk["ratio"] is not None and spec.i2v_ratios:
                assert set(spec.i2v_ratios) == sdk["ratio"], name
            if sdk["duration"] and spec.durations:
                assert set(spec.durations) == sdk["duration"], name
        if name in t2v:
            if spec.t2v_ratios is not None and t2v[name]["ratio"] is not None:
                assert set(spec.t2v_ratios) == t2v[name]["ratio"], name
        else:
            assert spec.t2v_ratios is None, f"{name} has no text-to-video in the SDK"


def test_runway_image_specs_and_retirements_match_the_sdk() -> None:
    from tarash.tarash_gateway.providers.runway.field_mappings import IMAGE_SPECS, RETIRED_MODELS

    t2i = _runway_variants("text_to_image_create_params", "TextToImageCreateParams")
    for name, spec in IMAGE_SPECS.items():
        assert name in t2i, name
        assert set(spec.ratios) == t2i[name]["ratio"], name
    i2v = _runway_variants("image_to_video_create_params", "ImageToVideoCreateParams")
    t2v = _runway_variants("text_to_video_create_params", "TextToVideoCreateParams")
    for name in RETIRED_MODELS:
        assert name not in i2v and name not in t2v, f"{name} is back in the SDK"
        assert lookup("runway", name).status() == "retired"  # type: ignore[union-attr]


def test_runway_prompt_is_enforced_where_the_sdk_requires_it() -> None:
    from tarash.tarash_gateway.exceptions import ValidationError
    from tarash.tarash_gateway.models import (
        ImageType,
        VideoGenerationConfig,
        VideoGenerationRequest,
    )
    from tarash.tarash_gateway.registry import get_handler

    config = VideoGenerationConfig(provider="runway", model="gen4.5", api_key="key_" + "0" * 40)
    frame = ImageType(image="https://example.com/a.png", type="first_frame")
    with pytest.raises(ValidationError, match="prompt"):
        get_handler("runway").prepare(
            "video", config, VideoGenerationRequest(prompt="", image_list=[frame])
        )


# ============================================================================ elevenlabs

pytest.importorskip("elevenlabs")


def test_elevenlabs_formats_are_the_sdk_enums() -> None:
    from elevenlabs.speech_to_speech.types import speech_to_speech_convert_request_output_format
    from elevenlabs.text_to_speech.types import (
        text_to_speech_convert_request_output_format,
        text_to_speech_stream_request_output_format,
    )

    from tarash.tarash_gateway.providers.elevenlabs import catalog as ec
    from tarash.tarash_gateway.providers.elevenlabs.handler import ELEVENLABS_OUTPUT_FORMATS

    convert = literals(
        text_to_speech_convert_request_output_format.TextToSpeechConvertRequestOutputFormat
    )
    stream = literals(
        text_to_speech_stream_request_output_format.TextToSpeechStreamRequestOutputFormat
    )
    sts = literals(
        speech_to_speech_convert_request_output_format.SpeechToSpeechConvertRequestOutputFormat
    )
    assert set(ec.CONVERT_FORMATS) == convert == set(ELEVENLABS_OUTPUT_FORMATS)
    assert set(ec.STREAM_FORMATS) == stream
    assert set(ec.CONVERT_FORMATS) == sts
    assert not any(f.startswith("wav_") for f in stream)


async def test_elevenlabs_refuses_to_stream_wav_before_any_request() -> None:
    from tarash.tarash_gateway.exceptions import ValidationError
    from tarash.tarash_gateway.models import AudioGenerationConfig, AudioOutputFormat, TTSRequest
    from tarash.tarash_gateway.providers.base import AttemptContext
    from tarash.tarash_gateway.registry import get_handler

    handler = get_handler("elevenlabs")
    config = AudioGenerationConfig(
        provider="elevenlabs", model="eleven_multilingual_v2", api_key="xi-test-key-000000"
    )
    request = TTSRequest(
        text="hi", voice_id="v", output_format=AudioOutputFormat(format="wav", sample_rate=22050)
    )
    prepared = handler.prepare("tts", config, request)
    ctx = AttemptContext("tg_x", "tts", config, "elevenlabs")
    with pytest.raises(ValidationError, match="pcm_22050"):
        async for _ in handler.stream_tts(ctx, prepared):
            pass


# ============================================================================ xai

pytest.importorskip("xai_sdk")


def _proto_values(enum: Any, prefix: str) -> set[str]:
    out = set()
    for name in (v.name for v in enum.DESCRIPTOR.values):
        value = name.removeprefix(prefix)
        if value in ("INVALID", "UNSPECIFIED"):
            continue
        out.add(value)
    return out


def test_xai_values_are_the_proto_enums() -> None:
    from xai_sdk.proto.v6 import image_pb2, video_pb2

    from tarash.tarash_gateway.providers.xai import field_mappings as xm

    def ratio(text: str) -> str:
        return text.replace(":", "_").replace(".", "_")

    image_ratios = _proto_values(image_pb2.ImageAspectRatio, "IMG_ASPECT_RATIO_")
    assert {ratio(r) for r in xm.IMAGE_ASPECT_RATIOS} <= image_ratios
    assert {r.upper() for r in xm.IMAGE_RESOLUTIONS} <= _proto_values(
        image_pb2.ImageResolution, "IMG_RESOLUTION_"
    )
    assert {q.upper() for q in xm.IMAGE_QUALITIES} <= _proto_values(
        image_pb2.ImageQuality, "IMG_QUALITY_"
    )
    assert {ratio(r) for r in xm.VIDEO_ASPECT_RATIOS} == _proto_values(
        video_pb2.VideoAspectRatio, "VIDEO_ASPECT_RATIO_"
    )
    assert {r.upper() for r in xm.VIDEO_RESOLUTIONS} == _proto_values(
        video_pb2.VideoResolution, "VIDEO_RESOLUTION_"
    )


# ============================================================================ google

pytest.importorskip("google.genai")


def test_google_mappings_use_the_sdk_config_fields() -> None:
    from google.genai import types

    from tarash.tarash_gateway.providers.google import field_mappings as gm

    video_fields = set(types.GenerateVideosConfig.model_fields)
    image_fields = set(types.GenerateImagesConfig.model_fields)
    for name, spec in gm.VEO_MODELS.items():
        keys = set(gm.veo_mappers(spec)) - {"prompt", "image"}
        assert keys <= video_fields, (name, keys - video_fields)
    for name, spec in gm.IMAGEN_MODELS.items():
        keys = set(gm.imagen_mappers(spec)) - {"prompt"}
        assert keys <= image_fields, (name, keys - image_fields)
    for param, extra in gm.EXTRA_PARAMS.items():
        if "veo" in extra.families:
            assert param in video_fields, param
        if "imagen" in extra.families:
            assert param in image_fields, param


def test_google_sdk_still_has_no_model_constants() -> None:
    # google-genai takes the model as a free string; if it grows constants, compare them.
    import google.genai.types as types

    constants = [n for n in dir(types) if re.fullmatch(r"(Veo|Imagen|GeminiImage)Model\w*", n)]
    assert constants == []
    for item in entries("google"):
        assert item.source.startswith(("https://", "google field_mappings")), item.model


# ============================================================================ audio SDKs


def test_cartesia_models_are_the_sdk_literal() -> None:
    pytest.importorskip("cartesia")
    from cartesia.types import tts_model

    sdk = literals(tts_model.TTSModel)
    assert catalogued("cartesia", "tts", "active") == sdk
    assert not catalogued("cartesia", "tts", "retired") & sdk


def test_hume_versions_are_the_sdk_literal() -> None:
    pytest.importorskip("hume")
    from hume.tts.types import octave_version

    from tarash.tarash_gateway.providers.hume.catalog import MODEL_VERSIONS
    from tarash.tarash_gateway.providers.hume.spec import VERSIONS, resolve_version

    sdk = literals(octave_version.OctaveVersion)
    assert {v for v in MODEL_VERSIONS.values() if v} == sdk == set(VERSIONS)
    for model, version in MODEL_VERSIONS.items():
        assert resolve_version(model) == version


def test_sarvam_models_are_the_sdk_literal() -> None:
    pytest.importorskip("sarvamai")
    from sarvamai.types import text_to_speech_model

    from tarash.tarash_gateway.providers.sarvam.spec import MODELS

    sdk = literals(text_to_speech_model.TextToSpeechModel)
    assert catalogued("sarvam", "tts") == sdk == set(MODELS)


# ============================================================================ every entry


@pytest.mark.parametrize(
    "provider",
    [
        "openai",
        "google",
        "runway",
        "xai",
        "stability",
        "elevenlabs",
        "cartesia",
        "hume",
        "sarvam",
        "mock",
    ],
)
def test_every_entry_has_provenance_and_a_consistent_lifecycle(provider: str) -> None:
    import datetime

    for item in entries(provider):
        assert item.source and item.checked, item
        datetime.date.fromisoformat(item.checked)
        if item.lifecycle == "retired":
            assert item.replacement or item.notice, item.model
        if item.shutdown:
            datetime.date.fromisoformat(item.shutdown)
        if item.replacement:  # the replacement is live (on the same API, or on some API)
            apis = (item.api,) if item.api else (None, "gemini", "vertex")
            targets = [lookup(provider, item.replacement, api) for api in apis]
            assert any(t is not None and t.status() != "retired" for t in targets), item.model


def test_cartesia_languages_are_the_sdk_literal() -> None:
    pytest.importorskip("cartesia")
    import typing

    from cartesia.types import supported_language

    from tarash.tarash_gateway.providers.cartesia.catalog import SONIC3_LANGUAGES

    literal = typing.get_args(supported_language._SupportedLanguage)
    assert list(SONIC3_LANGUAGES) == list(literal)
