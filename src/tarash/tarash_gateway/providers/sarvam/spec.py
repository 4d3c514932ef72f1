"""What each Bulbul model accepts, and the mapping of a TTSRequest onto Sarvam's API (no I/O).

Facts come from the ``sarvamai`` 0.1.39 SDK (``text_to_speech`` docstrings and
literal types) and Sarvam's API reference:

================  ========  ==================  ===========================================
model             max text  pace                only on this model
================  ========  ==================  ===========================================
``bulbul:v2``     1,500     0.3 – 3.0           pitch (−0.75 – 0.75), loudness (0.3 – 3.0),
                                                enable_preprocessing, enable_cached_responses
``bulbul:v3``     2,500     0.5 – 2.0           temperature (0.01 – 1.0), dict_id, 32/44.1/48 kHz
``bulbul:v4-flash`` 2,500   0.5 – 2.0           as v3; speakers are persona ids (``shubh_hi_ads``)
================  ========  ==================  ===========================================

The streaming endpoint (``/text-to-speech/stream``) takes up to 3,500 characters
per request and sample rates up to 24 kHz.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.models import AudioGenerationConfig, AudioOutputFormat, TTSRequest
from tarash.tarash_gateway.providers.sarvam.audio import split_text

__all__ = [
    "CODEC_CONTENT_TYPES",
    "JOINABLE_CODECS",
    "LANGUAGES",
    "MODELS",
    "STREAM_MAX_CHARS",
    "STREAM_SAMPLE_RATES",
    "BulbulModel",
    "SarvamPlan",
    "plan_request",
]

PROVIDER = "sarvam"

LANGUAGES: frozenset[str] = frozenset(
    {
        "bn-IN",
        "en-IN",
        "gu-IN",
        "hi-IN",
        "kn-IN",
        "ml-IN",
        "mr-IN",
        "od-IN",
        "pa-IN",
        "ta-IN",
        "te-IN",
    }
)
"""The eleven language codes Bulbul speaks (BCP-47, ``xx-IN``)."""

_LANGUAGE_ALIASES = {"or": "od", "or-in": "od-in"}  # ISO 639-1 "or" is Odia; Sarvam says "od"

_V2_SPEAKERS = frozenset({"anushka", "manisha", "vidya", "arya", "abhilash", "karun", "hitesh"})
_V3_SPEAKERS = frozenset(
    {
        "shubh", "aditya", "ritu", "priya", "neha", "rahul", "pooja", "rohan", "simran", "kavya",
        "amit", "dev", "ishita", "shreya", "ratan", "varun", "manan", "sumit", "roopa", "kabir",
        "aayan", "ashutosh", "advait", "anand", "tanya", "tarun", "sunny", "mani", "gokul",
        "vijay", "shruti", "suhani", "mohit", "kavitha", "rehan", "soham", "rupali",
    }
)  # fmt: skip
_PERSONA = re.compile(r"^[a-z]+_[a-z]+_[a-z0-9_]+$")  # v4-flash: <name>_<language>_<style>

ALL_CODECS = frozenset({"mp3", "linear16", "mulaw", "alaw", "opus", "flac", "aac", "wav"})
JOINABLE_CODECS = frozenset({"wav", "linear16", "mulaw", "alaw", "mp3", "aac"})
"""Codecs whose pieces :func:`~.audio.join_audio` can join (long text is split for these)."""

CODEC_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "linear16": "audio/pcm",
    "mulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "opus": "audio/opus",
}
_FORMAT_TO_CODEC = {
    "mp3": "mp3",
    "wav": "wav",
    "pcm": "linear16",
    "mulaw": "mulaw",
    "alaw": "alaw",
    "flac": "flac",
    "aac": "aac",
    "opus": "opus",
}
_CODEC_TO_FORMAT = {v: k for k, v in _FORMAT_TO_CODEC.items()}

STREAM_MAX_CHARS = 3500
STREAM_SAMPLE_RATES = frozenset({8000, 16000, 22050, 24000})
_OPUS_STREAM_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
STREAM_BITRATES = {32: "32k", 64: "64k", 96: "96k", 128: "128k", 192: "192k"}
DEFAULT_SAMPLE_RATE = 24000
"""Used when the caller leaves ``output_format`` at its default (every model supports it)."""

MAX_PIECES = 40
"""Most requests one long text may be split into (≈60–100k characters)."""


@dataclass(frozen=True)
class BulbulModel:
    """Limits and options of one Bulbul model."""

    name: str
    max_chars: int
    pace: tuple[float, float]
    sample_rates: frozenset[int]
    codecs: frozenset[str]
    speakers: frozenset[str] | None = None
    speaker_pattern: re.Pattern[str] | None = None
    only_here: frozenset[str] = field(default_factory=frozenset)
    known: bool = True


_REST_RATES = frozenset({8000, 16000, 22050, 24000})
_REST_RATES_HIGH = _REST_RATES | {32000, 44100, 48000}
_V3_ONLY = frozenset({"temperature", "dict_id"})
_V2_ONLY = frozenset({"pitch", "loudness", "enable_preprocessing", "enable_cached_responses"})

MODELS: dict[str, BulbulModel] = {
    "bulbul:v2": BulbulModel(
        "bulbul:v2", 1500, (0.3, 3.0), _REST_RATES, ALL_CODECS, _V2_SPEAKERS, None, _V2_ONLY
    ),
    "bulbul:v3": BulbulModel(
        "bulbul:v3",
        2500,
        (0.5, 2.0),
        _REST_RATES_HIGH,
        ALL_CODECS - {"opus"},
        _V3_SPEAKERS,
        None,
        _V3_ONLY,
    ),
    "bulbul:v4-flash": BulbulModel(
        "bulbul:v4-flash",
        2500,
        (0.5, 2.0),
        _REST_RATES_HIGH,
        ALL_CODECS - {"opus"},
        None,
        _PERSONA,
        _V3_ONLY,
    ),
}

_RANGES: dict[str, tuple[float, float]] = {
    "pitch": (-0.75, 0.75),
    "loudness": (0.3, 3.0),
    "temperature": (0.01, 1.0),
}
_BOOLS = ("enable_preprocessing", "enable_cached_responses")
_VOICE_SETTINGS = frozenset(
    {"pace", "speed", "pitch", "loudness", "temperature", "enable_preprocessing"}
)
# Gateway options (never sent to Sarvam).
_GATEWAY_OPTIONS = frozenset({"split_long_text", "max_parallel_requests"})
# Keys of extra_params/provider_options the mapping consumes.
_CONSUMED = (
    _VOICE_SETTINGS
    | _GATEWAY_OPTIONS
    | {
        "language_code",
        "target_language_code",
        "speaker",
        "dict_id",
        "enable_cached_responses",
        "speech_sample_rate",
        "output_audio_codec",
        "model",
    }
)


@dataclass
class SarvamPlan:
    """A validated Sarvam request: the SDK keyword arguments plus how to handle the text."""

    text: str
    model: BulbulModel
    params: dict[str, Any]  # convert() kwargs except ``text`` (only keys that are set)
    codec: str
    sample_rate: int
    pieces: list[str]
    split_allowed: bool
    max_parallel: int
    stream_bitrate: str | None
    extra_body: dict[str, Any]

    @property
    def content_type(self) -> str:
        return CODEC_CONTENT_TYPES.get(self.codec, "application/octet-stream")

    @property
    def output_format(self) -> str:
        return f"{_CODEC_TO_FORMAT.get(self.codec, self.codec)}_{self.sample_rate}"

    def to_payload(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "model": self.model.name,
            "model_known": self.model.known,
            "params": dict(self.params),
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "pieces": list(self.pieces),
            "split_allowed": self.split_allowed,
            "max_parallel": self.max_parallel,
            "stream_bitrate": self.stream_bitrate,
            "extra_body": dict(self.extra_body),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SarvamPlan:
        name = payload["model"]
        model = MODELS.get(name) or _unknown_model(name)
        return cls(
            text=payload["text"],
            model=model,
            params=dict(payload["params"]),
            codec=payload["codec"],
            sample_rate=payload["sample_rate"],
            pieces=list(payload["pieces"]),
            split_allowed=payload["split_allowed"],
            max_parallel=payload["max_parallel"],
            stream_bitrate=payload["stream_bitrate"],
            extra_body=dict(payload["extra_body"]),
        )


def _unknown_model(name: str) -> BulbulModel:
    """A lenient spec for a Bulbul model this release does not know (no per-model checks)."""
    return BulbulModel(
        name,
        2500,
        (0.3, 3.0),
        _REST_RATES_HIGH,
        ALL_CODECS,
        None,
        None,
        _V2_ONLY | _V3_ONLY,
        known=False,
    )


def _fail(message: str, model: str, field: str) -> ValidationError:
    return ValidationError(message, PROVIDER, model, field=field)


def _number(value: Any, name: str, model: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"{name} must be a number, got {value!r}", model, name)
    if not lo <= float(value) <= hi:
        raise _fail(
            f"{name} must be between {lo:g} and {hi:g} on {model}, got {value!r}", model, name
        )
    return float(value)


def resolve_model(name: str, warnings: list[str]) -> BulbulModel:
    """The model spec for ``name`` (unknown ``bulbul:*`` names pass with a warning)."""
    spec = MODELS.get(name.strip())
    if spec is not None:
        return spec
    if re.fullmatch(r"bulbul:[a-z0-9.\-]+", name.strip()):
        warnings.append(
            f"model {name!r} is not known to this release of the sarvam provider; "
            "per-model checks (speakers, ranges) were skipped"
        )
        return _unknown_model(name.strip())
    raise _fail(
        f"model {name!r} is not a Sarvam TTS model (known: {', '.join(sorted(MODELS))})",
        name,
        "model",
    )


def normalise_language(value: Any, model: str) -> str:
    """``"hi-IN"`` from ``"hi-IN"``, ``"hi-in"``, ``"hi"`` or ``"or"``; else ValidationError."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(
            "Sarvam needs a language: set language_code to one of " + ", ".join(sorted(LANGUAGES)),
            model,
            "language_code",
        )
    text = value.strip().replace("_", "-").lower()
    text = _LANGUAGE_ALIASES.get(text, text)
    if "-" not in text:
        text = f"{text}-in"
    for code in LANGUAGES:
        if code.lower() == text:
            return code
    raise _fail(
        f"language_code {value!r} is not spoken by Sarvam Bulbul (supported: "
        + ", ".join(sorted(LANGUAGES))
        + ")",
        model,
        "language_code",
    )


def _speaker(value: Any, spec: BulbulModel) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"speaker must be a non-empty string, got {value!r}", spec.name, "voice_id")
    name = value.strip().lower()  # Sarvam speaker names are lowercase
    if spec.speakers is not None and name not in spec.speakers:
        raise _fail(
            f"speaker {value!r} is not available on {spec.name} (choose one of: "
            + ", ".join(sorted(spec.speakers))
            + ")",
            spec.name,
            "voice_id",
        )
    if spec.speaker_pattern is not None and not spec.speaker_pattern.match(name):
        raise _fail(
            f"speaker {value!r} is not a {spec.name} persona id (<name>_<language>_<style>, "
            "e.g. 'shubh_hi_ads'); v2/v3 short names are not valid on this model",
            spec.name,
            "voice_id",
        )
    return name


def _pick(
    sources: list[tuple[str, dict[str, Any]]],
    names: tuple[str, ...],
    model: str,
    overrides: dict[str, Any] | None = None,
) -> Any | None:
    """The one value given for ``names`` across ``sources``; conflicting values are an error.

    A value in ``overrides`` (``provider_options["sarvam"]``) wins without a conflict check:
    it is how a fallback chain gives Sarvam its own speaker or language.
    """
    for name in names:
        if overrides and overrides.get(name) is not None:
            return overrides[name]
    found: list[tuple[str, Any]] = []
    for label, source in sources:
        for name in names:
            if name in source and source[name] is not None:
                found.append((f"{label}.{name}" if label else name, source[name]))
    if not found:
        return None
    first = found[0][1]
    for where, value in found[1:]:
        if value != first:
            raise _fail(
                f"conflicting values for {names[0]}: {found[0][0]}={first!r} and {where}={value!r}",
                model,
                names[0],
            )
    return first


def _output(
    request: TTSRequest,
    spec: BulbulModel,
    params: dict[str, Any],
    unsupported: list[str],
    warnings: list[str],
) -> tuple[str, int, str | None]:
    explicit = "output_format" in request.model_fields_set
    fmt: AudioOutputFormat = request.output_format
    codec = params.get("output_audio_codec")
    if codec is not None:
        if codec not in ALL_CODECS:
            raise _fail(
                f"output_audio_codec {codec!r} is not one of {', '.join(sorted(ALL_CODECS))}",
                spec.name,
                "output_audio_codec",
            )
        if explicit and _FORMAT_TO_CODEC.get(fmt.format) != codec:
            raise _fail(
                f"output_audio_codec {codec!r} contradicts output_format {fmt.format!r}",
                spec.name,
                "output_audio_codec",
            )
    else:
        codec = _FORMAT_TO_CODEC.get(fmt.format)
        if codec is None:
            raise _fail(
                f"output format {fmt.format!r} is not offered by Sarvam (use one of: "
                + ", ".join(sorted(_FORMAT_TO_CODEC))
                + ")",
                spec.name,
                "output_format",
            )
    if codec not in spec.codecs:
        raise _fail(
            f"{spec.name} cannot return {codec!r} audio on the REST endpoint "
            f"(use one of: {', '.join(sorted(spec.codecs))})",
            spec.name,
            "output_format",
        )
    rate = params.get("speech_sample_rate")
    if rate is None:
        rate = fmt.sample_rate if explicit and fmt.sample_rate else DEFAULT_SAMPLE_RATE
    if isinstance(rate, bool) or not isinstance(rate, int) or rate not in spec.sample_rates:
        raise _fail(
            f"sample rate {rate!r} is not available on {spec.name} (choose one of: "
            + ", ".join(str(r) for r in sorted(spec.sample_rates))
            + ")",
            spec.name,
            "output_format",
        )
    bitrate: str | None = None
    if explicit and fmt.bitrate is not None and codec in ("mp3", "aac", "opus"):
        bitrate = STREAM_BITRATES.get(fmt.bitrate)
        if bitrate is None:
            unsupported.append("output_format.bitrate")
        elif fmt.bitrate != 128:
            warnings.append(
                f"Sarvam's REST endpoint picks its own bitrate; {fmt.bitrate} kbps is "
                "used only when streaming"
            )
    return codec, rate, bitrate


def plan_request(
    config: AudioGenerationConfig,
    request: TTSRequest,
    passthrough: dict[str, Any],
    warnings: list[str],
    unsupported: list[str],
    overrides: dict[str, Any] | None = None,
) -> SarvamPlan:
    """Validate ``request`` for ``config`` and build the Sarvam call (raises ValidationError).

    ``passthrough`` is ``extra_params`` merged with ``provider_options["sarvam"]``;
    ``overrides`` is ``provider_options["sarvam"]`` alone (it beats the generic fields).
    Fields the model cannot take are appended to ``unsupported`` (the handler
    applies ``config.on_unsupported_param``).
    """
    spec = resolve_model(config.model, warnings)
    model = spec.name
    if "model" in passthrough and passthrough["model"] != model:
        raise _fail("set the model in the config, not in extra_params", model, "model")
    settings = dict(request.voice_settings or {})
    for key in settings:
        if key not in _VOICE_SETTINGS:
            unsupported.append(f"voice_settings.{key}")
    sources: list[tuple[str, dict[str, Any]]] = [
        ("voice_settings", settings),
        ("extra_params", passthrough),
    ]

    text = request.text.strip()
    if not text:
        raise _fail("text must contain something to say", model, "text")

    direct = [("", {"language_code": request.language_code, "voice_id": request.voice_id})]
    direct.append(("extra_params", passthrough))
    language = _pick(direct, ("language_code", "target_language_code"), model, overrides)
    params: dict[str, Any] = {"language_code": normalise_language(language, model)}
    params["model"] = model

    speaker = _pick(direct, ("voice_id", "speaker"), model, overrides)
    if speaker is not None:
        params["speaker"] = _speaker(speaker, spec)

    pace = _pick(sources, ("pace", "speed"), model, overrides)
    if pace is not None:
        params["pace"] = _number(pace, "pace", model, *spec.pace)
    for name, (lo, hi) in _RANGES.items():
        value = _pick(sources, (name,), model, overrides)
        if value is None:
            continue
        if name not in spec.only_here:
            unsupported.append(name)
            continue
        params[name] = _number(value, name, model, lo, hi)
    for name in _BOOLS:
        value = _pick(sources, (name,), model, overrides)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise _fail(f"{name} must be true or false, got {value!r}", model, name)
        if name not in spec.only_here:
            unsupported.append(name)
            continue
        params[name] = value
    dict_id = passthrough.get("dict_id")
    if dict_id is not None:
        if not isinstance(dict_id, str) or not dict_id.strip():
            raise _fail("dict_id must be a non-empty string", model, "dict_id")
        if "dict_id" in spec.only_here:
            params["dict_id"] = dict_id
        else:
            unsupported.append("dict_id")

    codec, rate, bitrate = _output(request, spec, passthrough, unsupported, warnings)
    params["output_audio_codec"] = codec
    params["speech_sample_rate"] = rate

    split_allowed = passthrough.get("split_long_text", True)
    if not isinstance(split_allowed, bool):
        raise _fail("split_long_text must be true or false", model, "split_long_text")
    max_parallel = passthrough.get("max_parallel_requests", 3)
    if (
        isinstance(max_parallel, bool)
        or not isinstance(max_parallel, int)
        or not 1 <= max_parallel <= 8
    ):
        raise _fail(
            "max_parallel_requests must be an integer from 1 to 8", model, "max_parallel_requests"
        )

    pieces = split_text(text, spec.max_chars)
    if len(pieces) > 1:
        if not split_allowed:
            raise _fail(
                f"text is {len(text)} characters; {model} takes at most {spec.max_chars} per "
                "request (allow split_long_text or shorten it)",
                model,
                "text",
            )
        if codec not in JOINABLE_CODECS:
            raise _fail(
                f"text is {len(text)} characters, over the {spec.max_chars}-character limit of "
                f"{model}, and {codec} audio cannot be joined from several requests; use wav, "
                "mp3, pcm, mulaw, alaw or aac, or shorten the text",
                model,
                "text",
            )
        if len(pieces) > MAX_PIECES:
            raise _fail(
                f"text is {len(text)} characters: it would take {len(pieces)} requests "
                f"(at most {MAX_PIECES}); send it in parts",
                model,
                "text",
            )

    extra_body = {k: v for k, v in passthrough.items() if k not in _CONSUMED}
    return SarvamPlan(
        text=text,
        model=spec,
        params=params,
        codec=codec,
        sample_rate=rate,
        pieces=pieces,
        split_allowed=split_allowed,
        max_parallel=max_parallel,
        stream_bitrate=bitrate,
        extra_body=extra_body,
    )


def stream_pieces(plan: SarvamPlan) -> list[str]:
    """Text pieces for the streaming endpoint (3,500 characters each); raises ValidationError."""
    model = plan.model.name
    rate = plan.sample_rate
    allowed = _OPUS_STREAM_RATES if plan.codec == "opus" else STREAM_SAMPLE_RATES
    if rate not in allowed:
        raise _fail(
            f"sample rate {rate} is not available when streaming {plan.codec} (choose one of: "
            + ", ".join(str(r) for r in sorted(allowed))
            + ")",
            model,
            "output_format",
        )
    pieces = split_text(plan.text, STREAM_MAX_CHARS)
    if len(pieces) > 1:
        if not plan.split_allowed:
            raise _fail(
                f"text is {len(plan.text)} characters; streaming takes at most "
                f"{STREAM_MAX_CHARS} per request (allow split_long_text or shorten it)",
                model,
                "text",
            )
        if plan.codec not in ("mp3", "aac", "linear16", "mulaw", "alaw"):
            raise _fail(
                f"text is {len(plan.text)} characters, over the {STREAM_MAX_CHARS}-character "
                f"streaming limit, and streamed {plan.codec} cannot continue across requests; "
                "stream mp3, aac, pcm, mulaw or alaw, or shorten the text",
                model,
                "text",
            )
        if len(pieces) > MAX_PIECES:
            raise _fail(
                f"text would take {len(pieces)} streaming requests (at most {MAX_PIECES})",
                model,
                "text",
            )
    return pieces
