"""fal-hosted text-to-speech models whose output fits :class:`TTSResponse`.

Supported (all return ``{"audio": {"url", "content_type", ...}}`` on the queue):

* MiniMax ``fal-ai/minimax/speech-02-hd`` / ``-turbo`` (text in ``text``) and
  ``fal-ai/minimax/speech-2.6-hd`` / ``-turbo`` (text in ``prompt``):
  ``voice_setting`` (voice_id, speed 0.5–2, vol 0–10, pitch −12–12, emotion),
  ``audio_setting`` from ``output_format`` (mp3/pcm/flac; sample rate; bitrate),
  ``language_boost`` from ``language_code``.
* ElevenLabs ``fal-ai/elevenlabs/tts/multilingual-v2`` / ``turbo-v2.5`` /
  ``eleven-v3``: ``voice``, ``language_code``, stability / similarity_boost /
  style / speed; MP3 output only.
* Kokoro ``fal-ai/kokoro/<language>``: ``voice``, ``speed``; WAV output.

The audio is downloaded (bounded, off the event loop's blocking path) because
``TTSResponse.audio`` carries the bytes.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from tarash.tarash_gateway.exceptions import GenerationFailedError, ValidationError
from tarash.tarash_gateway.http import download_bytes
from tarash.tarash_gateway.jobs import JobRef
from tarash.tarash_gateway.models import BaseGenerationConfig, TTSRequest
from tarash.tarash_gateway.providers.base import AttemptContext

if TYPE_CHECKING:
    from tarash.tarash_gateway.models import BaseGenerationResponse
    from tarash.tarash_gateway.providers.base import BaseProviderHandler

__all__ = ["TTS_MODELS", "prepare", "response"]

TTS_MODELS = {
    "fal-ai/minimax/speech-02-hd": "minimax",
    "fal-ai/minimax/speech-02-turbo": "minimax",
    "fal-ai/minimax/speech-2.6-hd": "minimax26",
    "fal-ai/minimax/speech-2.6-turbo": "minimax26",
    "fal-ai/elevenlabs/tts/multilingual-v2": "elevenlabs",
    "fal-ai/elevenlabs/tts/turbo-v2.5": "elevenlabs",
    "fal-ai/elevenlabs/tts/eleven-v3": "elevenlabs_v3",
    "fal-ai/kokoro": "kokoro",
}
"""Model id (or ``/``-prefix) → family."""

_MINIMAX_FORMATS = ("mp3", "pcm", "flac")
_MINIMAX_RATES = (8000, 16000, 22050, 24000, 32000, 44100)
_MINIMAX_BITRATES = (32, 64, 128, 256)
_MINIMAX_EMOTIONS = ("happy", "sad", "angry", "fearful", "disgusted", "surprised", "neutral")
_MINIMAX_LANGUAGES = {
    "en": "English",
    "zh": "Chinese",
    "yue": "Chinese,Yue",
    "ar": "Arabic",
    "ru": "Russian",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "de": "German",
    "tr": "Turkish",
    "nl": "Dutch",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "id": "Indonesian",
    "ja": "Japanese",
    "it": "Italian",
    "ko": "Korean",
    "th": "Thai",
    "pl": "Polish",
    "ro": "Romanian",
    "el": "Greek",
    "cs": "Czech",
    "fi": "Finnish",
    "hi": "Hindi",
}
_ELEVEN_SETTINGS = {
    "stability": (0.0, 1.0),
    "similarity_boost": (0.0, 1.0),
    "style": (0.0, 1.0),
    "speed": (0.7, 1.2),
}
_MINIMAX_SETTINGS = {"speed": (0.5, 2.0), "vol": (0.0, 10.0), "pitch": (-12.0, 12.0)}


def family_of(model: str) -> str | None:
    """The TTS family of a fal model id, or ``None``."""
    if model in TTS_MODELS:
        return TTS_MODELS[model]
    if model.startswith("fal-ai/kokoro/"):
        return "kokoro"
    return None


def _number(
    settings: dict[str, Any], name: str, low: float, high: float, errors: list[dict[str, Any]]
) -> float | None:
    value = settings.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        errors.append({"field": f"voice_settings.{name}", "message": f"must be {low:g}..{high:g}"})
        return None
    return float(value)


def prepare(
    handler: BaseProviderHandler,
    config: BaseGenerationConfig,
    request: TTSRequest,
    warnings: list[str],
) -> tuple[dict[str, Any], str | None]:
    """Map and validate a TTS request for a fal speech model (no I/O)."""
    family = family_of(config.model)
    if family is None:
        known = ", ".join(sorted(TTS_MODELS))
        raise ValidationError(
            f"fal TTS model {config.model!r} is not supported (known: {known}, fal-ai/kokoro/*)",
            handler.name,
            config.model,
            field="model",
        )
    settings = dict(request.voice_settings or {})
    errors: list[dict[str, Any]] = []
    unsupported: list[str] = []
    fmt = request.output_format
    format_set = "output_format" in request.set_fields()
    payload: dict[str, Any]

    if family in ("minimax", "minimax26"):
        payload = {"text" if family == "minimax" else "prompt": request.text}
        voice: dict[str, Any] = {"voice_id": request.voice_id or "Wise_Woman"}
        for name, (low, high) in _MINIMAX_SETTINGS.items():
            number = _number(settings, name, low, high, errors)
            if number is not None:
                voice[name] = int(number) if name == "pitch" else number
        emotion = settings.get("emotion")
        if emotion is not None:
            if emotion not in _MINIMAX_EMOTIONS:
                errors.append(
                    {
                        "field": "voice_settings.emotion",
                        "message": f"must be one of {', '.join(_MINIMAX_EMOTIONS)}",
                    }
                )
            else:
                voice["emotion"] = emotion
        if "english_normalization" in settings:
            voice["english_normalization"] = bool(settings["english_normalization"])
        extra = set(settings) - set(_MINIMAX_SETTINGS) - {"emotion", "english_normalization"}
        unsupported.extend(f"voice_settings.{k}" for k in sorted(extra))
        payload["voice_setting"] = voice
        audio: dict[str, Any] = {}
        if fmt.format not in _MINIMAX_FORMATS:
            errors.append(
                {
                    "field": "output_format",
                    "message": f"format must be {'/'.join(_MINIMAX_FORMATS)}",
                }
            )
        else:
            audio["format"] = fmt.format
        if fmt.sample_rate is not None:
            if fmt.sample_rate not in _MINIMAX_RATES:
                errors.append(
                    {
                        "field": "output_format",
                        "message": "sample rate must be one of "
                        + ", ".join(str(r) for r in _MINIMAX_RATES),
                    }
                )
            else:
                audio["sample_rate"] = fmt.sample_rate
        if fmt.bitrate is not None and fmt.format == "mp3":
            if fmt.bitrate not in _MINIMAX_BITRATES:
                errors.append(
                    {
                        "field": "output_format",
                        "message": "bitrate must be one of "
                        + ", ".join(f"{b}kbps" for b in _MINIMAX_BITRATES),
                    }
                )
            else:
                audio["bitrate"] = fmt.bitrate * 1000
        payload["audio_setting"] = audio
        if request.language_code:
            code = request.language_code.split("-")[0].lower()
            payload["language_boost"] = _MINIMAX_LANGUAGES.get(code, request.language_code)
    elif family in ("elevenlabs", "elevenlabs_v3"):
        payload = {"text": request.text}
        if request.voice_id:
            payload["voice"] = request.voice_id
        if request.language_code:
            payload["language_code"] = request.language_code
        allowed = ("stability",) if family == "elevenlabs_v3" else tuple(_ELEVEN_SETTINGS)
        for name in allowed:
            low, high = _ELEVEN_SETTINGS[name]
            number = _number(settings, name, low, high, errors)
            if number is not None:
                payload[name] = number
        unsupported.extend(f"voice_settings.{k}" for k in sorted(set(settings) - set(allowed)))
        if format_set and fmt.format != "mp3":
            unsupported.append("output_format")
    else:  # kokoro
        payload = {"prompt": request.text}
        if request.voice_id:
            payload["voice"] = request.voice_id
        number = _number(settings, "speed", 0.1, 5.0, errors)
        if number is not None:
            payload["speed"] = number
        unsupported.extend(f"voice_settings.{k}" for k in sorted(set(settings) - {"speed"}))
        if request.language_code:
            unsupported.append("language_code")
        if format_set and fmt.format != "wav":
            unsupported.append("output_format")

    if errors:
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise ValidationError(
            f"invalid request for model {config.model!r}: {lines}",
            handler.name,
            config.model,
            field=errors[0]["field"],
            errors=errors,
        )
    handler.report_unsupported(config, unsupported, warnings)
    return payload, None


async def response(
    ctx: AttemptContext, job: JobRef, data: dict[str, Any], max_bytes: int
) -> BaseGenerationResponse:
    """Download the audio of a finished fal TTS job into a :class:`TTSResponse`."""
    audio = data.get("audio")
    url = audio.get("url") if isinstance(audio, dict) else audio if isinstance(audio, str) else None
    if not isinstance(url, str) or not url:
        raise GenerationFailedError(
            "fal reported success but returned no audio",
            ctx.provider,
            ctx.model,
            job.provider_request_id,
            data,
            retryable=True,
        )
    content, downloaded_type = await download_bytes(
        url, max_bytes=max_bytes, timeout=ctx.http_timeout(), provider=ctx.provider
    )
    declared = audio.get("content_type") if isinstance(audio, dict) else None
    duration_ms = data.get("duration_ms")
    duration = (
        float(duration_ms) / 1000.0
        if isinstance(duration_ms, int | float) and not isinstance(duration_ms, bool)
        else None
    )
    return ctx.audio_response(
        audio=base64.b64encode(content).decode("ascii"),
        content_type=declared or downloaded_type,
        duration=duration,
        provider_request_id=job.provider_request_id,
        raw_response=data,
    )
