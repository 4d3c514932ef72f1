"""ElevenLabs: text to speech, speech to speech (voice changer) and streaming TTS.

Everything goes through the official ``elevenlabs`` SDK (``AsyncElevenLabs``),
one cached client per API key / base URL / event loop, with the SDK's own
retries off (``request_options={"max_retries": 0}``) so that the gateway's
orchestrator alone retries and falls back.

Wire summary (SDK 2.x):

* TTS — ``POST /v1/text-to-speech/{voice_id}?output_format=…`` JSON
  ``{"text", "model_id", "voice_settings", "language_code"?, "seed"?, …}`` →
  raw audio; ``…/stream`` streams the same audio chunked.
* STS — ``POST /v1/voice-changer/{voice_id}`` (``/v1/speech-to-speech/…`` on
  SDKs before 2.75) multipart: file ``audio``, fields ``model_id``,
  ``voice_settings`` (a JSON string), ``seed``… → raw audio.
* Errors — ``{"detail": {"type", "code", "message", "request_id", "param"}}``,
  the legacy ``{"detail": {"status", "message"}}`` or a FastAPI 422 list.
* Cost — the ``character-cost`` response header (credits), when sent.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

import httpx
from pydantic import ValidationError as PydanticValidationError

from tarash.tarash_gateway.audio import (
    audio_facts,
    check_audio_input,
    pick_headers,
    read_audio_input,
)
from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    RateLimitError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_status, error_from_transport, parse_retry_after
from tarash.tarash_gateway.jobs import Operation
from tarash.tarash_gateway.media import to_media_input
from tarash.tarash_gateway.models import (
    AudioOutputFormat,
    BaseGenerationConfig,
    BaseGenerationRequest,
    Cost,
    STSRequest,
    TTSRequest,
)
from tarash.tarash_gateway.providers.base import AttemptContext, BaseProviderHandler, Prepared
from tarash.tarash_gateway.providers.elevenlabs.catalog import STREAM_FORMATS

if TYPE_CHECKING:
    from elevenlabs.client import AsyncElevenLabs
    from elevenlabs.core.request_options import RequestOptions

__all__ = [
    "ELEVENLABS_OUTPUT_FORMATS",
    "LANGUAGE_CODE_MODELS",
    "STS_MODELS",
    "TTS_MODELS",
    "ElevenLabsProviderHandler",
    "elevenlabs_output_format",
]

PROVIDER = "elevenlabs"

TTS_MODELS = frozenset(
    {
        "eleven_v3",
        "eleven_multilingual_v2",
        "eleven_flash_v2_5",
        "eleven_flash_v2",
        "eleven_turbo_v2_5",
        "eleven_turbo_v2",
        "eleven_monolingual_v1",
        "eleven_multilingual_v1",
    }
)
"""Text-to-speech models known to the gateway (others are sent with a warning)."""

STS_MODELS = frozenset({"eleven_multilingual_sts_v2", "eleven_english_sts_v2"})
"""Voice-changer models known to the gateway."""

LANGUAGE_CODE_MODELS = frozenset({"eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5"})
"""Models that accept ``language_code`` (the API rejects it for the others)."""

ELEVENLABS_OUTPUT_FORMATS: tuple[str, ...] = (
    "mp3_22050_32",
    "mp3_24000_48",
    "mp3_44100_32",
    "mp3_44100_64",
    "mp3_44100_96",
    "mp3_44100_128",
    "mp3_44100_192",
    "pcm_8000",
    "pcm_16000",
    "pcm_22050",
    "pcm_24000",
    "pcm_32000",
    "pcm_44100",
    "pcm_48000",
    "wav_8000",
    "wav_16000",
    "wav_22050",
    "wav_24000",
    "wav_32000",
    "wav_44100",
    "wav_48000",
    "ulaw_8000",
    "alaw_8000",
    "opus_48000_32",
    "opus_48000_64",
    "opus_48000_96",
    "opus_48000_128",
    "opus_48000_192",
)
"""Every ``output_format`` the ElevenLabs API accepts."""

_VOICE_SETTING_RANGES: dict[str, tuple[float, float]] = {
    "stability": (0.0, 1.0),
    "similarity_boost": (0.0, 1.0),
    "style": (0.0, 1.0),
    "speed": (0.7, 1.2),
    "clone_strength": (0.0, 1.0),
}
_VOICE_SETTING_FLAGS = ("use_speaker_boost",)

# Passthrough parameters the SDK methods take as keyword arguments.
_TTS_SDK_PARAMS = frozenset(
    {
        "seed",
        "previous_text",
        "next_text",
        "previous_request_ids",
        "next_request_ids",
        "pronunciation_dictionary_locators",
        "apply_text_normalization",
        "apply_language_text_normalization",
        "use_pvc_as_ivc",
        "enable_logging",
        "optimize_streaming_latency",
        "audio_effects",
    }
)
_STS_SDK_PARAMS = frozenset(
    {
        "seed",
        "remove_background_noise",
        "file_format",
        "enable_logging",
        "optimize_streaming_latency",
    }
)
# Request fields a provider_options entry may override for this provider only.
_OVERRIDABLE = ("voice_id", "output_format", "language_code", "voice_settings")
_RESERVED = ("text", "model_id", "audio")
_RESPONSE_HEADERS = (
    "request-id",
    "character-cost",
    "x-character-count",
    "history-item-id",
    "current-concurrent-requests",
    "maximum-concurrent-requests",
    "content-type",
)
_MAX_SEED = 4_294_967_295
_FULL_READ_CHUNK = 64 * 1024
_FORMAT_DEFAULTS: dict[str, tuple[int | None, int | None]] = {
    "mp3": (44100, 128),
    "pcm": (24000, None),
    "wav": (24000, None),
    "mulaw": (8000, None),
    "alaw": (8000, None),
    "opus": (48000, 64),
}
_MP3_DEFAULT_BITRATE = {22050: 32, 24000: 48, 44100: 128}


def elevenlabs_output_format(value: AudioOutputFormat) -> str:
    """The ElevenLabs ``output_format`` string for ``value``, filling defaults.

    ``"mp3"`` → ``mp3_44100_128``; ``"mp3_22050"`` → ``mp3_22050_32``; ``"pcm"`` →
    ``pcm_24000``; ``"ulaw"`` → ``ulaw_8000``; ``"opus"`` → ``opus_48000_64``.

    Raises:
        ValueError: the format is not one ElevenLabs produces (message lists them).
    """
    fmt = value.format
    rate, bitrate = value.sample_rate, value.bitrate
    default_rate, default_bitrate = _FORMAT_DEFAULTS.get(fmt, (None, None))
    rate = rate or default_rate
    if fmt == "mp3" and bitrate is None and rate is not None:
        bitrate = _MP3_DEFAULT_BITRATE.get(rate, default_bitrate)
    elif bitrate is None:
        bitrate = default_bitrate
    name = AudioOutputFormat(format=fmt, sample_rate=rate, bitrate=bitrate).to_provider_string()
    if name not in ELEVENLABS_OUTPUT_FORMATS:
        raise ValueError(
            f"output_format {value.to_provider_string()!r} is not offered by ElevenLabs; "
            f"use one of: {', '.join(ELEVENLABS_OUTPUT_FORMATS)}"
        )
    return name


def _format_parts(name: str) -> tuple[str, int]:
    """``"mp3_44100_128"`` → ``("mp3", 44100)``."""
    parts = name.split("_")
    return parts[0], int(parts[1])


_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "ulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
    "opus": "audio/ogg",
}


class ElevenLabsProviderHandler(BaseProviderHandler):
    """ElevenLabs TTS + STS (voice changer) + streaming TTS through the official SDK."""

    name: ClassVar[str] = PROVIDER
    operations: ClassVar[frozenset[Operation]] = frozenset({"tts", "sts"})
    api_key_env: ClassVar[tuple[str, ...]] = ("ELEVENLABS_API_KEY", "ELEVEN_API_KEY")
    supports_streaming: ClassVar[bool] = True

    # ------------------------------------------------------------------ client

    def sdk_client(self, config: BaseGenerationConfig) -> AsyncElevenLabs:
        """The cached ``AsyncElevenLabs`` client of this key / base URL on the running loop."""

        def factory() -> AsyncElevenLabs:
            from elevenlabs.client import AsyncElevenLabs

            kwargs: dict[str, Any] = {"api_key": self.api_key(config) or ""}
            if config.base_url:
                kwargs["base_url"] = config.base_url.rstrip("/")
            return AsyncElevenLabs(**kwargs)

        return self.client(config, factory)

    @staticmethod
    def _request_options(
        ctx: AttemptContext,
        extra_body: Mapping[str, Any] | None = None,
        *,
        chunk_size: int | None = _FULL_READ_CHUNK,
    ) -> RequestOptions:
        options: RequestOptions = {
            "max_retries": 0,
            "timeout_in_seconds": max(1, math.ceil(ctx.http_timeout(cap=ctx.config.timeout))),
            # httpx semantics: None hands out network chunks as they arrive (no re-buffering,
            # so a small first chunk is not held back waiting for 1 KiB).
            "chunk_size": cast(int, chunk_size),
        }
        if extra_body:
            options["additional_body_parameters"] = dict(extra_body)
        return options

    # ------------------------------------------------------------------ prepare

    def passthrough_params(self, request: BaseGenerationRequest) -> dict[str, Any]:
        """Handled inside :meth:`prepare_payload` (split into SDK kwargs and extra body)."""
        return {}

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Validate a TTS/STS request for ElevenLabs; no I/O besides a local file's size."""
        params = super().passthrough_params(request)
        overrides = {k: params.pop(k) for k in _OVERRIDABLE if k in params}
        for reserved in _RESERVED:
            if reserved in params:
                raise self._invalid(
                    config,
                    reserved,
                    f"{reserved!r} cannot be passed in extra_params/provider_options; "
                    "use the request field (and config.model for the model)",
                )
        if operation == "tts":
            assert isinstance(request, TTSRequest)
            return self._prepare_tts(config, request, overrides, params, warnings), None
        assert isinstance(request, STSRequest)
        return self._prepare_sts(config, request, overrides, params, warnings), None

    def _invalid(self, config: BaseGenerationConfig, field: str, message: str) -> ValidationError:
        return ValidationError(message, self.name, config.model, field=field)

    def _check_model(
        self, config: BaseGenerationConfig, operation: Operation, warnings: list[str]
    ) -> None:
        model = config.model
        own, other, kind = (
            (TTS_MODELS, STS_MODELS, "text-to-speech")
            if operation == "tts"
            else (STS_MODELS, TTS_MODELS, "voice-changer")
        )
        if model in own:
            return
        if model in other:
            raise self._invalid(
                config,
                "model",
                f"{model!r} is not an ElevenLabs {kind} model; use one of: "
                + ", ".join(sorted(own)),
            )
        warnings.append(
            f"model {model!r} is not in the gateway's list of ElevenLabs {kind} models; "
            "it was sent as-is"
        )

    def _output_format(self, config: BaseGenerationConfig, value: Any) -> str:
        try:
            fmt = (
                value
                if isinstance(value, AudioOutputFormat)
                else AudioOutputFormat.model_validate(value)
            )
        except (PydanticValidationError, ValueError, TypeError) as exc:
            raise self._invalid(config, "output_format", f"invalid output_format: {exc}") from exc
        try:
            return elevenlabs_output_format(fmt)
        except ValueError as exc:
            raise self._invalid(config, "output_format", str(exc)) from exc

    def _voice_settings(
        self, config: BaseGenerationConfig, settings: Any, warnings: list[str]
    ) -> dict[str, Any] | None:
        if settings is None:
            return None
        if not isinstance(settings, Mapping):
            raise self._invalid(config, "voice_settings", "voice_settings must be a dict")
        out: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        unknown: list[str] = []
        for key, value in settings.items():
            if key in _VOICE_SETTING_RANGES:
                low, high = _VOICE_SETTING_RANGES[key]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not low <= value <= high
                ):
                    errors.append(
                        {
                            "field": f"voice_settings.{key}",
                            "message": f"must be a number from {low} to {high}, got {value!r}",
                        }
                    )
                    continue
                out[key] = float(value)
            elif key in _VOICE_SETTING_FLAGS:
                if not isinstance(value, bool):
                    errors.append(
                        {
                            "field": f"voice_settings.{key}",
                            "message": f"must be true or false, got {value!r}",
                        }
                    )
                    continue
                out[key] = value
            else:
                unknown.append(f"voice_settings.{key}")
        if errors:
            raise ValidationError(
                "invalid voice_settings: "
                + "; ".join(f"{e['field']} {e['message']}" for e in errors),
                self.name,
                config.model,
                field=errors[0]["field"],
                errors=errors,
            )
        self.report_unsupported(config, unknown, warnings)
        return out or None

    def _seed(self, config: BaseGenerationConfig, params: dict[str, Any]) -> None:
        seed = params.get("seed")
        if seed is None:
            params.pop("seed", None)
            return
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
            raise self._invalid(config, "seed", f"seed must be an integer 0..{_MAX_SEED}")

    def _prepare_tts(
        self,
        config: BaseGenerationConfig,
        request: TTSRequest,
        overrides: dict[str, Any],
        params: dict[str, Any],
        warnings: list[str],
    ) -> dict[str, Any]:
        self._check_model(config, "tts", warnings)
        voice_id = overrides.get("voice_id", request.voice_id)
        if not isinstance(voice_id, str) or not voice_id.strip():
            raise self._invalid(
                config,
                "voice_id",
                "ElevenLabs needs a voice_id (set request.voice_id or "
                "provider_options={'elevenlabs': {'voice_id': ...}})",
            )
        output_format = self._output_format(
            config, overrides.get("output_format", request.output_format)
        )
        settings = self._voice_settings(
            config, overrides.get("voice_settings", request.voice_settings), warnings
        )
        kwargs: dict[str, Any] = {
            "text": request.text,
            "model_id": config.model,
            "output_format": output_format,
        }
        if settings:
            kwargs["voice_settings"] = settings
        language = overrides.get("language_code", request.language_code)
        if language:
            if config.model in LANGUAGE_CODE_MODELS or (
                config.model not in TTS_MODELS and config.model.startswith("eleven_v3")
            ):
                kwargs["language_code"] = language
            else:
                self.report_unsupported(config, ["language_code"], warnings)
        self._seed(config, params)
        extra = {k: v for k, v in params.items() if k not in _TTS_SDK_PARAMS}
        kwargs.update({k: v for k, v in params.items() if k in _TTS_SDK_PARAMS})
        return {"voice_id": voice_id.strip(), "kwargs": kwargs, "extra_body": extra}

    def _prepare_sts(
        self,
        config: BaseGenerationConfig,
        request: STSRequest,
        overrides: dict[str, Any],
        params: dict[str, Any],
        warnings: list[str],
    ) -> dict[str, Any]:
        self._check_model(config, "sts", warnings)
        voice_id = overrides.get("voice_id", request.voice_id)
        if not isinstance(voice_id, str) or not voice_id.strip():
            raise self._invalid(config, "voice_id", "ElevenLabs needs a target voice_id")
        if "language_code" in overrides:
            self.report_unsupported(config, ["language_code"], warnings)
        output_format = self._output_format(
            config, overrides.get("output_format", request.output_format)
        )
        settings = self._voice_settings(
            config, overrides.get("voice_settings", request.voice_settings), warnings
        )
        media = to_media_input(request.audio)
        check_audio_input(media, config.max_input_bytes, provider=self.name, model=config.model)
        self._seed(config, params)
        file_format = params.get("file_format")
        if file_format is not None and file_format not in ("pcm_s16le_16", "other"):
            raise self._invalid(
                config, "file_format", "file_format must be 'pcm_s16le_16' or 'other'"
            )
        kwargs: dict[str, Any] = {"model_id": config.model, "output_format": output_format}
        if settings:
            kwargs["voice_settings"] = json.dumps(settings, separators=(",", ":"))
        kwargs.update({k: v for k, v in params.items() if k in _STS_SDK_PARAMS})
        extra = {k: v for k, v in params.items() if k not in _STS_SDK_PARAMS}
        return {"voice_id": voice_id.strip(), "audio": media, "kwargs": kwargs, "extra_body": extra}

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        """Run the TTS or STS call and return the finished response."""
        if prepared.operation == "tts":
            return await self._tts(ctx, prepared)
        return await self._sts(ctx, prepared)

    def _tts_kwargs(
        self, ctx: AttemptContext, prepared: Prepared, *, streaming: bool = False
    ) -> dict[str, Any]:
        from elevenlabs.types.voice_settings import VoiceSettings

        payload = prepared.payload
        kwargs = dict(payload["kwargs"])
        if "voice_settings" in kwargs:
            kwargs["voice_settings"] = VoiceSettings(**kwargs["voice_settings"])
        kwargs["request_options"] = self._request_options(
            ctx, payload.get("extra_body"), chunk_size=None if streaming else _FULL_READ_CHUNK
        )
        return kwargs

    async def _tts(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        client = self.sdk_client(ctx.config)
        payload = prepared.payload
        async with client.text_to_speech.with_raw_response.convert(
            payload["voice_id"], **self._tts_kwargs(ctx, prepared)
        ) as response:
            audio = b"".join([chunk async for chunk in response.data])
            headers = response.headers
        return self._response(ctx, payload["kwargs"]["output_format"], audio, headers)

    async def _sts(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        payload = prepared.payload
        audio_in = await read_audio_input(
            payload["audio"],
            ctx.config.max_input_bytes,
            provider=self.name,
            model=ctx.model,
            timeout=ctx.http_timeout(cap=ctx.config.timeout),
        )
        client = self.sdk_client(ctx.config)
        async with client.speech_to_speech.with_raw_response.convert(
            payload["voice_id"],
            audio=audio_in.as_file(),
            request_options=self._request_options(ctx, payload.get("extra_body")),
            **payload["kwargs"],
        ) as response:
            audio = b"".join([chunk async for chunk in response.data])
            headers = response.headers
        return self._response(
            ctx,
            payload["kwargs"]["output_format"],
            audio,
            headers,
            input_bytes=len(audio_in.data),
        )

    def _response(
        self,
        ctx: AttemptContext,
        output_format: str,
        audio: bytes,
        headers: Mapping[str, str],
        *,
        input_bytes: int | None = None,
    ) -> Any:
        kept = pick_headers(headers, _RESPONSE_HEADERS)
        container, rate = _format_parts(output_format)
        facts = audio_facts(audio, container, rate)
        header_type = kept.get("content-type", "").split(";")[0].strip().lower()
        content_type = (
            header_type
            if header_type.startswith("audio/")
            else _CONTENT_TYPES.get(container, "application/octet-stream")
        )
        raw: dict[str, Any] = {
            "headers": kept,
            "output_format": output_format,
            "audio_bytes": len(audio),
        }
        if input_bytes is not None:
            raw["input_audio_bytes"] = input_bytes
        return ctx.audio_response(
            audio=base64.b64encode(audio).decode("ascii"),
            content_type=content_type,
            sample_rate=facts.sample_rate or rate,
            duration=facts.duration,
            output_format=output_format,
            provider_request_id=kept.get("request-id"),
            raw_response=raw,
            cost=_cost(kept),
        )

    # ------------------------------------------------------------------ streaming

    def stream_format(self, prepared: Prepared) -> tuple[str, str]:
        """(output_format, content_type) of the audio :meth:`stream_tts` yields."""
        name: str = prepared.payload["kwargs"]["output_format"]
        return name, _CONTENT_TYPES.get(_format_parts(name)[0], "application/octet-stream")

    async def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """Audio chunks from ``POST /v1/text-to-speech/{voice_id}/stream`` as they arrive.

        Leaving the iterator early (``aclose``) closes the HTTP response, which
        ends the generation upstream.
        """
        name = prepared.payload["kwargs"]["output_format"]
        if name not in STREAM_FORMATS:
            # elevenlabs 2.78.0 ``TextToSpeechStreamRequestOutputFormat`` has no wav_*.
            raise ValidationError(
                f"output_format {name!r} cannot be streamed by ElevenLabs (the stream "
                f"endpoint offers: {', '.join(STREAM_FORMATS)}); use pcm_{_format_parts(name)[1]} "
                "for uncompressed audio, or generate_tts for a WAV file",
                self.name,
                ctx.model,
                field="output_format",
            )
        client = self.sdk_client(ctx.config)
        async with client.text_to_speech.with_raw_response.stream(
            prepared.payload["voice_id"], **self._tts_kwargs(ctx, prepared, streaming=True)
        ) as response:
            async for chunk in response.data:
                if chunk:
                    yield chunk

    # ------------------------------------------------------------------ errors

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """ElevenLabs SDK / transport exceptions → typed gateway errors."""
        from elevenlabs.core.api_error import ApiError

        if isinstance(exc, ApiError):
            return _map_api_error(exc.status_code, exc.body, exc.headers, ctx)
        try:
            from elevenlabs.core.parse_error import ParsingError
        except ImportError:  # pragma: no cover - older SDKs
            pass
        else:
            if isinstance(exc, ParsingError):
                return _map_api_error(exc.status_code, exc.body, exc.headers, ctx)
        if isinstance(exc, httpx.TimeoutException):
            return error_from_transport(
                exc, provider=ctx.provider, model=ctx.model, timeout_seconds=ctx.config.timeout
            )
        if isinstance(exc, httpx.TransportError | httpx.StreamError):
            return error_from_transport(exc, provider=ctx.provider, model=ctx.model)
        if isinstance(exc, json.JSONDecodeError):
            return GenerationFailedError(
                f"ElevenLabs answered with malformed JSON: {exc}",
                ctx.provider,
                ctx.model,
                retryable=True,
            )
        return None


def _cost(headers: Mapping[str, str]) -> Cost | None:
    raw = headers.get("character-cost")
    if raw is None:
        return None
    try:
        amount = float(raw)
    except ValueError:
        return None
    if not math.isfinite(amount) or amount < 0:
        return None
    detail: dict[str, Any] = {"header": "character-cost"}
    count = headers.get("x-character-count")
    if count is not None:
        detail["character_count"] = count
    return Cost(amount=amount, unit="credits", source="provider", detail=detail)


def _detail(body: Any) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Split an ElevenLabs error body into (detail dict, 422 items, fallback text)."""
    if isinstance(body, Mapping):
        detail = body.get("detail", body)
        if isinstance(detail, Mapping):
            return dict(detail), [], ""
        if isinstance(detail, list):
            return {}, [dict(d) for d in detail if isinstance(d, Mapping)], ""
        return {}, [], str(detail)
    if isinstance(body, list):
        return {}, [dict(d) for d in body if isinstance(d, Mapping)], ""
    return {}, [], "" if body is None else str(body)[:500]


def _is_moderation(*codes: str) -> bool:
    text = " ".join(codes).lower()
    return any(word in text for word in ("moderation", "content_policy", "safety", "unsafe"))


def _map_api_error(
    status: int | None, body: Any, headers: Mapping[str, str] | None, ctx: AttemptContext
) -> TarashException:
    detail, items, text = _detail(body)
    code = str(detail.get("code") or detail.get("status") or "")
    kind = str(detail.get("type") or "")
    message = str(detail.get("message") or text or "")
    param = detail.get("param")
    kept = pick_headers(headers or {}, (*_RESPONSE_HEADERS, "retry-after"))
    request_id = detail.get("request_id") or kept.get("request-id")
    raw = {"status_code": status, "body": body, "headers": kept}
    label = f"[{code}] " if code else ""
    provider, model = ctx.provider, ctx.model
    if status is None:
        return GenerationFailedError(
            f"ElevenLabs error: {label}{message}", provider, model, request_id, raw
        )
    text_msg = f"ElevenLabs HTTP {status}: {label}{message}".rstrip(": ")
    if status in (400, 422) or (status == 404 and param):
        if _is_moderation(code, kind):
            return ContentModerationError(text_msg, provider, model, request_id, raw)
        errors = [
            {
                "field": ".".join(str(p) for p in item.get("loc", [])[1:])
                or ".".join(str(p) for p in item.get("loc", [])),
                "message": str(item.get("msg", "")),
                "type": item.get("type"),
            }
            for item in items
        ]
        if errors and not message:
            text_msg = f"ElevenLabs HTTP {status}: " + "; ".join(
                f"{e['field']}: {e['message']}" for e in errors
            )
        field = str(param) if param else (errors[0]["field"] if errors else None)
        return ValidationError(
            text_msg, provider, model, request_id, raw, field=field, errors=errors or None
        )
    if status in (401, 403):
        if _is_moderation(code, kind):
            return ContentModerationError(text_msg, provider, model, request_id, raw)
        return AuthenticationError(text_msg, provider, model, request_id, raw, status)
    if status == 429:
        retry_after = parse_retry_after(headers)
        if "concurrent" in code:
            text_msg += " (too many requests in flight on this key; retry when some finish)"
        return RateLimitError(text_msg, provider, model, request_id, raw, retry_after=retry_after)
    if status >= 500:
        return HTTPError(
            text_msg,
            provider,
            model,
            request_id,
            raw,
            status,
            retry_after=parse_retry_after(headers),
        )
    return error_from_status(
        status,
        f"{label}{message}",
        provider=provider,
        model=model,
        request_id=request_id,
        raw_response=raw,
        headers=headers,
    )
