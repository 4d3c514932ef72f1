"""Mapping of a TTSRequest onto Hume's Octave TTS request body, with validation (no I/O).

Facts from the ``hume`` 0.14.1 SDK (``hume.tts`` types) and Hume's TTS docs:

* an **utterance** is ``{"text", "description"?, "speed"?, "trailing_silence"?, "voice"?}``;
  a voice set on an utterance carries over to the following ones;
* ``voice`` is ``{"id": …}`` or ``{"name": …}`` with ``provider`` ``HUME_AI`` (the shared
  Voice Library) or ``CUSTOM_VOICE`` (your voices; Hume's default);
* without a voice, ``description`` is a *voice prompt* (Hume designs a voice); with a
  voice it is *acting instructions* (Hume recommends ≤ 100 characters);
* ``version`` ``"1"`` / ``"2"`` selects Octave; omitted, Hume routes the request itself.
  Octave 2 requires a voice; timestamps (``include_timestamp_types``) are Octave 2 only;
* ``format`` is ``{"type": "mp3" | "wav" | "pcm"}``; audio is 48 kHz;
* ``context`` is ``{"generation_id": …}`` (continue a previous generation) or
  ``{"utterances": [...]}``;
* ``instant_mode`` exists only on the streaming endpoints and needs a voice.

Limits checked before any request (Hume's documented ranges): utterance text
1–5,000 characters; description ≤ 1,000 characters; speed 0.5–2.0;
trailing_silence 0–5 s; num_generations 1–5.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.models import AudioGenerationConfig, TTSRequest

__all__ = [
    "FORMATS",
    "MAX_DESCRIPTION",
    "MAX_TEXT",
    "SAMPLE_RATE",
    "SPEED_RANGE",
    "TRAILING_SILENCE_RANGE",
    "plan_request",
    "resolve_version",
]

PROVIDER = "hume"
VERSIONS = ("1", "2")
MAX_TEXT = 5000
MAX_DESCRIPTION = 1000
ACTING_DESCRIPTION_HINT = 100
SPEED_RANGE = (0.5, 2.0)
TRAILING_SILENCE_RANGE = (0.0, 5.0)
NUM_GENERATIONS_RANGE = (1, 5)
SAMPLE_RATE = 48000
FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}
TIMESTAMP_TYPES = frozenset({"word", "phoneme"})

_AUTO_MODELS = frozenset({"octave", "hume", "auto", "octave-auto", "hume-auto", "octave-tts"})
_VERSIONED = re.compile(r"(?:octave|hume)[-_ ]?v?(\d+)(?:-tts)?")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PROVIDERS = {
    "hume_ai": "HUME_AI",
    "hume": "HUME_AI",
    "library": "HUME_AI",
    "custom_voice": "CUSTOM_VOICE",
    "custom": "CUSTOM_VOICE",
}
_UTTERANCE_KEYS = frozenset({"text", "description", "speed", "trailing_silence", "voice"})
_VOICE_SETTINGS = frozenset(
    {"description", "speed", "trailing_silence", "voice_id_mode", "voice_provider"}
)
_CONSUMED = _VOICE_SETTINGS | {
    "utterances",
    "voice",
    "voice_name",
    "context",
    "context_generation_id",
    "num_generations",
    "split_utterances",
    "strip_headers",
    "temperature",
    "include_timestamp_types",
    "instant_mode",
    "version",
}


def _fail(message: str, model: str, field: str) -> ValidationError:
    return ValidationError(message, PROVIDER, model, field=field)


def resolve_version(model: str) -> str | None:
    """Octave version of a model name: ``"octave-2"``/``"hume-v2"``/``"2"`` → ``"2"``;
    ``"octave"`` → ``None`` (Hume chooses). Unknown names raise ValidationError."""
    name = model.strip().lower()
    if name in _AUTO_MODELS:
        return None
    if name in VERSIONS:
        return name
    match = _VERSIONED.fullmatch(name)
    if match and match.group(1) in VERSIONS:
        return match.group(1)
    from tarash.tarash_gateway.catalog import closest

    guess = closest(PROVIDER, name, "tts")
    hint = f"; did you mean {guess!r}?" if guess else ""
    raise _fail(
        f"model {model!r} is not a Hume Octave model (use 'octave' to let Hume choose, "
        f"'octave-1' or 'octave-2'; 'hume-v1' / 'hume-v2' also work){hint}",
        model,
        "model",
    )


def _number(value: Any, name: str, model: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"{name} must be a number, got {value!r}", model, name)
    if not lo <= float(value) <= hi:
        raise _fail(f"{name} must be between {lo:g} and {hi:g}, got {value!r}", model, name)
    return float(value)


def _text(value: Any, where: str, model: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}.text must be a non-empty string", model, "text")
    if len(value) > MAX_TEXT:
        raise _fail(
            f"{where}.text is {len(value)} characters; Hume takes at most {MAX_TEXT} per "
            "utterance (split it into several utterances)",
            model,
            "text",
        )
    return value


def _description(value: Any, where: str, model: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}description must be a non-empty string", model, "description")
    if len(value) > MAX_DESCRIPTION:
        raise _fail(
            f"{where}description is {len(value)} characters (at most {MAX_DESCRIPTION})",
            model,
            "description",
        )
    return value


def _provider(value: Any, model: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("voice_provider must be 'HUME_AI' or 'CUSTOM_VOICE'", model, "voice_provider")
    found = _PROVIDERS.get(value.strip().lower())
    if found is None:
        raise _fail(
            f"voice_provider {value!r} is not 'HUME_AI' (Voice Library) or 'CUSTOM_VOICE' "
            "(your voices)",
            model,
            "voice_provider",
        )
    return found


def _voice_from_id(value: str, mode: Any, provider: Any, model: str) -> dict[str, str]:
    """``voice_id`` → ``{"id"|"name": …, "provider": …}`` (0.1.0 rules: name + HUME_AI)."""
    if mode is None:
        mode = "id" if _UUID.match(value.strip()) else "name"
    if mode not in ("id", "name"):
        raise _fail(f"voice_id_mode must be 'id' or 'name', got {mode!r}", model, "voice_id_mode")
    return {mode: value.strip(), "provider": _provider(provider or "HUME_AI", model)}


def _voice_value(value: Any, where: str, model: str) -> dict[str, str]:
    """An explicit voice (Hume's own shape, or a bare string) → validated dict."""
    if isinstance(value, str):
        if not value.strip():
            raise _fail(f"{where} must not be empty", model, "voice")
        key = "id" if _UUID.match(value.strip()) else "name"
        return {key: value.strip()}
    if not isinstance(value, dict):
        raise _fail(f"{where} must be {{'id'|'name': ..., 'provider': ...}}", model, "voice")
    keys = set(value) - {"provider"}
    if keys not in ({"id"}, {"name"}):
        raise _fail(
            f"{where} needs exactly one of 'id' or 'name' (plus an optional 'provider'), "
            f"got keys {sorted(value)}",
            model,
            "voice",
        )
    key = keys.pop()
    ident = value[key]
    if not isinstance(ident, str) or not ident.strip():
        raise _fail(f"{where}.{key} must be a non-empty string", model, "voice")
    out = {key: ident.strip()}
    if value.get("provider") is not None:
        out["provider"] = _provider(value["provider"], model)
    return out


def _pick(
    sources: list[tuple[str, dict[str, Any]]],
    name: str,
    model: str,
    overrides: dict[str, Any] | None = None,
) -> Any | None:
    """The one value given for ``name``; ``overrides`` (provider_options) win outright."""
    if overrides and overrides.get(name) is not None:
        return overrides[name]
    found = [(label, src[name]) for label, src in sources if src.get(name) is not None]
    if not found:
        return None
    for label, value in found[1:]:
        if value != found[0][1]:
            raise _fail(
                f"{name} is given twice with different values ({found[0][0]} and {label})",
                model,
                name,
            )
    return found[0][1]


def _utterance(
    item: Any, where: str, model: str, defaults: dict[str, Any], warnings: list[str]
) -> dict[str, Any]:
    if isinstance(item, str):
        item = {"text": item}
    if not isinstance(item, dict):
        raise _fail(f"{where} must be a string or an utterance dict", model, "utterances")
    out: dict[str, Any] = {"text": _text(item.get("text"), where, model)}
    merged = {**defaults, **{k: v for k, v in item.items() if v is not None}}
    if merged.get("description") is not None:
        out["description"] = _description(merged["description"], f"{where}.", model)
    if merged.get("speed") is not None:
        out["speed"] = _number(merged["speed"], "speed", model, *SPEED_RANGE)
    if merged.get("trailing_silence") is not None:
        out["trailing_silence"] = _number(
            merged["trailing_silence"], "trailing_silence", model, *TRAILING_SILENCE_RANGE
        )
    if item.get("voice") is not None:
        out["voice"] = _voice_value(item["voice"], f"{where}.voice", model)
    unknown = sorted(set(item) - _UTTERANCE_KEYS)
    if unknown:
        warnings.append(f"{where}: keys {unknown} are not known Octave fields; sent as given")
        out.update({k: item[k] for k in unknown})
    return out


def _context(params: dict[str, Any], model: str, warnings: list[str]) -> dict[str, Any] | None:
    context = params.get("context")
    generation_id = params.get("context_generation_id")
    if context is not None and generation_id is not None:
        raise _fail("give either context or context_generation_id, not both", model, "context")
    if generation_id is not None:
        context = {"generation_id": generation_id}
    if context is None:
        return None
    if isinstance(context, str):
        context = {"generation_id": context}
    elif isinstance(context, list):
        context = {"utterances": context}
    elif isinstance(context, dict) and set(context) == {"text"}:
        context = {"utterances": [context["text"]]}  # tarash-gateway 0.1.0 shape
    if not isinstance(context, dict):
        raise _fail(
            "context must be a generation id, a list of utterances or "
            "{'generation_id': ...} / {'utterances': [...]}",
            model,
            "context",
        )
    if set(context) == {"generation_id"}:
        gid = context["generation_id"]
        if not isinstance(gid, str) or not gid.strip():
            raise _fail("context.generation_id must be a non-empty string", model, "context")
        return {"generation_id": gid.strip()}
    if set(context) == {"utterances"} and isinstance(context["utterances"], list):
        items = context["utterances"]
        if not items:
            raise _fail("context.utterances must not be empty", model, "context")
        return {
            "utterances": [
                _utterance(u, f"context.utterances[{i}]", model, {}, warnings)
                for i, u in enumerate(items)
            ]
        }
    raise _fail(
        f"context has keys {sorted(context)}; expected 'generation_id' or 'utterances'",
        model,
        "context",
    )


def _bool(params: dict[str, Any], name: str, model: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _fail(f"{name} must be true or false, got {value!r}", model, name)
    return value


def _output(request: TTSRequest, model: str, unsupported: list[str]) -> tuple[str, str]:
    fmt = request.output_format
    if fmt.format not in FORMATS:
        raise _fail(
            f"Hume returns mp3, wav or pcm audio, not {fmt.format!r}", model, "output_format"
        )
    if "output_format" in request.model_fields_set:
        if fmt.sample_rate is not None and fmt.sample_rate != SAMPLE_RATE:
            unsupported.append("output_format.sample_rate")
        if fmt.bitrate is not None:
            unsupported.append("output_format.bitrate")
    return fmt.format, FORMATS[fmt.format]


def plan_request(
    config: AudioGenerationConfig,
    request: TTSRequest,
    params: dict[str, Any],
    warnings: list[str],
    unsupported: list[str],
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate and map ``request`` into the Octave request (raises ValidationError).

    Returns ``{"body": <synthesize_* keyword arguments>, "extra_body": {...},
    "format": "mp3", "content_type": "audio/mpeg", "version": "2" | None}``.
    ``params`` is ``extra_params`` merged with ``provider_options["hume"]``; ``overrides`` is
    ``provider_options["hume"]`` alone: its values beat the generic request fields (a voice
    given there replaces ``voice_id``, which may name another provider's voice in a chain).
    """
    model = config.model
    version = resolve_version(model)
    asked = params.get("version")
    if asked is not None:
        asked = str(asked)
        if asked not in VERSIONS:
            raise _fail(f"version must be '1' or '2', got {asked!r}", model, "version")
        if version is not None and asked != version:
            raise _fail(
                f"version {asked!r} contradicts model {model!r}; pick the model instead",
                model,
                "version",
            )
        version = asked
    if "format" in params:
        raise _fail("set the audio format with output_format, not extra_params", model, "format")

    settings = dict(request.voice_settings or {})
    for key in settings:
        if key not in _VOICE_SETTINGS:
            unsupported.append(f"voice_settings.{key}")
    sources = [("voice_settings", settings), ("extra_params", params)]
    if request.language_code:
        unsupported.append("language_code")

    # ---- the voice: voice_id (+ mode/provider), or an explicit voice / voice_name
    mode = _pick(sources, "voice_id_mode", model, overrides)
    provider = _pick(sources, "voice_provider", model, overrides)
    voices: list[tuple[str, dict[str, str]]] = []
    own_voice = bool(overrides) and any(
        (overrides or {}).get(k) is not None for k in ("voice", "voice_name")
    )
    if request.voice_id and not own_voice:
        voices.append(("voice_id", _voice_from_id(request.voice_id, mode, provider, model)))
    if params.get("voice") is not None:
        voice = _voice_value(params["voice"], "voice", model)
        if provider is not None and "provider" not in voice:
            voice["provider"] = _provider(provider, model)
        voices.append(("voice", voice))
    if params.get("voice_name") is not None:
        name = params["voice_name"]
        if not isinstance(name, str) or not name.strip():
            raise _fail("voice_name must be a non-empty string", model, "voice_name")
        voices.append(("voice_name", _voice_from_id(name, "name", provider, model)))
    if len(voices) > 1:
        raise _fail(
            "the voice is given more than once ("
            + ", ".join(label for label, _ in voices)
            + "); use one of voice_id, voice or voice_name",
            model,
            "voice_id",
        )
    global_voice = voices[0][1] if voices else None
    if global_voice is None and (mode is not None or provider is not None):
        raise _fail("voice_id_mode / voice_provider need a voice (set voice_id)", model, "voice_id")

    # ---- utterances: several from extra params, else one from request.text
    defaults = {
        key: value
        for key in ("description", "speed", "trailing_silence")
        if (value := _pick(sources, key, model, overrides)) is not None
    }
    raw_utterances = params.get("utterances")
    if raw_utterances is not None:
        if not isinstance(raw_utterances, list) or not raw_utterances:
            raise _fail("utterances must be a non-empty list", model, "utterances")
        utterances = [
            _utterance(u, f"utterances[{i}]", model, defaults, warnings)
            for i, u in enumerate(raw_utterances)
        ]
    else:
        utterances = [_utterance({"text": request.text}, "request", model, defaults, warnings)]
    first = utterances[0]
    if global_voice is not None:
        if "voice" in first and first["voice"] != global_voice:
            raise _fail(
                "the first utterance has its own voice and voice_id/voice is also set; "
                "give the voice in one place",
                model,
                "voice_id",
            )
        first["voice"] = global_voice
    has_voice = "voice" in first
    for i, utt in enumerate(utterances):
        desc = utt.get("description")
        voiced = has_voice or any("voice" in u for u in utterances[: i + 1])
        if desc and voiced and len(desc) > ACTING_DESCRIPTION_HINT:
            warnings.append(
                f"acting instructions of utterance {i} are {len(desc)} characters; Hume "
                f"recommends at most {ACTING_DESCRIPTION_HINT}"
            )
    if version == "2" and not has_voice:
        raise _fail(
            "Octave 2 needs a voice on the first utterance: set voice_id (or use model "
            "'octave-1' / 'octave' to design a voice from a description)",
            model,
            "voice_id",
        )

    body: dict[str, Any] = {"utterances": utterances}
    fmt, content_type = _output(request, model, unsupported)
    body["format"] = {"type": fmt}
    if version is not None:
        body["version"] = version
    context = _context(params, model, warnings)
    if context is not None:
        body["context"] = context

    num = params.get("num_generations")
    if num is not None:
        lo, hi = NUM_GENERATIONS_RANGE
        if isinstance(num, bool) or not isinstance(num, int) or not lo <= num <= hi:
            raise _fail(
                f"num_generations must be an integer from {lo} to {hi}", model, "num_generations"
            )
        body["num_generations"] = num
    for name in ("split_utterances", "strip_headers"):
        flag = _bool(params, name, model)
        if flag is not None:
            body[name] = flag
    temperature = params.get("temperature")
    if temperature is not None:
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not math.isfinite(temperature)
            or temperature <= 0
        ):
            raise _fail(
                f"temperature must be a positive number, got {temperature!r}",
                model,
                "temperature",
            )
        body["temperature"] = float(temperature)
    stamps = params.get("include_timestamp_types")
    if stamps is not None:
        if not isinstance(stamps, list) or not set(stamps) <= TIMESTAMP_TYPES or not stamps:
            raise _fail(
                "include_timestamp_types must be a list of 'word' and/or 'phoneme'",
                model,
                "include_timestamp_types",
            )
        if version == "1":
            raise _fail(
                "timestamps are returned by Octave 2 only (use model 'octave-2')",
                model,
                "include_timestamp_types",
            )
        body["include_timestamp_types"] = list(dict.fromkeys(stamps))
    instant = _bool(params, "instant_mode", model)
    if instant is not None:
        if instant and not has_voice:
            raise _fail("instant_mode needs a voice (set voice_id)", model, "instant_mode")
        if instant and body.get("num_generations", 1) != 1:
            raise _fail("instant_mode allows one generation only", model, "instant_mode")
        body["instant_mode"] = instant
        warnings.append(
            "instant_mode is used by streaming (stream_tts) only; generate_tts ignores it"
        )

    extra_body = {k: v for k, v in params.items() if k not in _CONSUMED}
    return {
        "body": body,
        "extra_body": extra_body,
        "format": fmt,
        "content_type": content_type,
        "version": version,
        "has_voice": has_voice,
    }
