"""Cartesia: text to speech (Sonic), voice changer (STS) and streaming TTS.

Follows ``spec/cartesia-provider-design.md``, with the gateway's architecture
where it is better:

* **Client** — the official ``cartesia`` SDK (``AsyncCartesia(api_key=…,
  base_url=…, max_retries=0)``), *reused* through the gateway's client cache
  (one per key / base URL / API version / event loop) instead of a fresh
  client per call. Reuse is safe because the cache keys clients by the running
  event loop: an httpx pool is only ever used on the loop that created it, and
  the sync API always runs on the single portal loop, so sync calls share it
  too. A client per call would rebuild the TLS context and connection pool
  every time (~40 ms of CPU and a new TCP+TLS handshake).
* **TTS** — ``client.tts.generate(...)`` (``POST /tts/bytes``) → raw audio.
* **Streaming TTS** — the same endpoint read incrementally
  (``with_streaming_response``), or ``/tts/sse`` when the config sets
  ``provider_config={"tts_stream_endpoint": "sse"}`` (raw PCM outputs only).
* **STS** — ``client.voice_changer.generate(clip=…)`` (``POST
  /voice-changer/bytes`` multipart with ``voice[id]`` / ``output_format[…]``).
* **Errors** — Stainless exceptions (``APIStatusError`` & co.) mapped per the
  design table; bodies ``{"error_code", "title", "message", "request_id"}``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

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
    STSRequest,
    TTSRequest,
)
from tarash.tarash_gateway.providers.base import AttemptContext, BaseProviderHandler, Prepared
from tarash.tarash_gateway.providers.cartesia.catalog import SONIC3_LANGUAGES

if TYPE_CHECKING:
    from cartesia import AsyncCartesia

__all__ = [
    "CARTESIA_MP3_BIT_RATES",
    "CARTESIA_SAMPLE_RATES",
    "DEFAULT_OUTPUT_FORMAT",
    "CartesiaProviderHandler",
    "parse_output_format",
    "supports_generation_config",
]

PROVIDER = "cartesia"

CARTESIA_SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
CARTESIA_MP3_BIT_RATES = (32000, 64000, 96000, 128000, 192000)
_RAW_ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
_CONTAINERS = ("mp3", "wav", "raw")

DEFAULT_OUTPUT_FORMAT: dict[str, Any] = {
    "container": "mp3",
    "sample_rate": 44100,
    "bit_rate": 128000,
}
"""What Cartesia gets when a request names no sample rate / bitrate (design doc default)."""

_GENCONFIG_MODEL = re.compile(r"^(sonic-3(\.\d+)?(-\d{4}-\d{2}-\d{2})?|sonic-latest)$")
_NO_GENCONFIG_MODEL = re.compile(
    r"^(sonic-turbo|sonic-2|sonic|sonic-english|sonic-multilingual|sonic-preview)"
    r"(-\d{4}-\d{2}-\d{2})?$"
)
_MODEL_SPEEDS = ("slow", "normal", "fast")
_LANGUAGES = frozenset(SONIC3_LANGUAGES)
_GENERATION_RANGES = {"volume": (0.5, 2.0), "speed": (0.6, 1.5)}
_TTS_SDK_PARAMS = frozenset({"pronunciation_dict_id", "speed", "locale", "normalization", "save"})
_OVERRIDABLE = ("voice_id", "output_format", "language_code")
_RESERVED = ("transcript", "model_id", "voice", "clip")
_RESPONSE_HEADERS = (
    "x-request-id",
    "request-id",
    "cartesia-file-id",
    "cartesia-version",
    "content-type",
)
_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm_s16le": "audio/pcm",
    "pcm_f32le": "audio/pcm",
    "pcm_mulaw": "audio/basic",
    "pcm_alaw": "audio/x-alaw-basic",
}


def supports_generation_config(model: str) -> bool | None:
    """True for Sonic-3 and newer, False for Turbo/older Sonic, None for unknown models."""
    if _GENCONFIG_MODEL.match(model):
        return True
    if _NO_GENCONFIG_MODEL.match(model):
        return False
    return None


def _check_rate(rate: Any) -> int:
    if rate not in CARTESIA_SAMPLE_RATES:
        raise ValueError(
            f"Cartesia sample_rate must be one of {', '.join(map(str, CARTESIA_SAMPLE_RATES))}; "
            f"got {rate!r}"
        )
    return int(rate)


def _native_format(value: Mapping[str, Any]) -> dict[str, Any]:
    container = value.get("container")
    if container not in _CONTAINERS:
        raise ValueError(f"output_format container must be mp3, wav or raw; got {container!r}")
    out: dict[str, Any] = {
        "container": container,
        "sample_rate": _check_rate(value.get("sample_rate")),
    }
    if container == "mp3":
        bit_rate = value.get("bit_rate")
        if bit_rate not in CARTESIA_MP3_BIT_RATES:
            raise ValueError(
                "mp3 bit_rate must be one of "
                f"{', '.join(map(str, CARTESIA_MP3_BIT_RATES))} (bits/s); got {bit_rate!r}"
            )
        out["bit_rate"] = int(bit_rate)
    else:
        encoding = value.get("encoding", "pcm_s16le")
        if encoding not in _RAW_ENCODINGS:
            raise ValueError(
                f"encoding must be one of {', '.join(_RAW_ENCODINGS)}; got {encoding!r}"
            )
        out["encoding"] = encoding
    unknown = set(value) - {"container", "sample_rate", "bit_rate", "encoding"}
    if unknown:
        raise ValueError(f"unknown output_format keys: {', '.join(sorted(unknown))}")
    return out


def parse_output_format(
    value: AudioOutputFormat | str | Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A Cartesia ``output_format`` dict from an ElevenLabs-style format (or a native dict).

    ``"mp3_44100_128"`` → ``{"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}``;
    ``"wav_44100"`` → ``{"container": "wav", "encoding": "pcm_s16le", "sample_rate": 44100}``;
    ``"pcm_16000"`` / ``"raw_16000"`` → ``{"container": "raw", "encoding": "pcm_s16le",
    "sample_rate": 16000}``; ``"ulaw_8000"`` / ``"alaw_8000"`` → raw ``pcm_mulaw`` /
    ``pcm_alaw``; ``None`` → :data:`DEFAULT_OUTPUT_FORMAT`. Missing parts default to
    44.1 kHz and 128 kbps (8 kHz for G.711). A dict with a ``container`` key is
    validated and passed through (e.g. ``pcm_f32le`` raw output).

    Raises:
        ValueError: a format or rate Cartesia does not offer (the message says which).
    """
    if value is None:
        return dict(DEFAULT_OUTPUT_FORMAT)
    if isinstance(value, Mapping) and "container" in value:
        return _native_format(value)
    fmt = value if isinstance(value, AudioOutputFormat) else AudioOutputFormat.model_validate(value)
    kind = fmt.format
    if kind == "mp3":
        bitrate = fmt.bitrate or 128
        return _native_format(
            {
                "container": "mp3",
                "sample_rate": fmt.sample_rate or 44100,
                "bit_rate": bitrate * 1000,
            }
        )
    if kind in ("wav", "pcm", "raw"):
        container = "wav" if kind == "wav" else "raw"
        return _native_format(
            {
                "container": container,
                "encoding": "pcm_s16le",
                "sample_rate": fmt.sample_rate or 44100,
            }
        )
    if kind in ("mulaw", "alaw"):
        return _native_format(
            {"container": "raw", "encoding": f"pcm_{kind}", "sample_rate": fmt.sample_rate or 8000}
        )
    raise ValueError(f"Cartesia cannot produce {kind!r} audio; use mp3, wav, pcm/raw, ulaw or alaw")


def format_name(fmt: Mapping[str, Any]) -> str:
    """The ElevenLabs-style name of a Cartesia format (``mp3_44100_128``, ``pcm_16000``…)."""
    rate = fmt["sample_rate"]
    if fmt["container"] == "mp3":
        return f"mp3_{rate}_{fmt['bit_rate'] // 1000}"
    encoding = fmt.get("encoding", "pcm_s16le")
    prefix = {"pcm_mulaw": "ulaw", "pcm_alaw": "alaw", "pcm_f32le": "pcm_f32le"}.get(
        encoding, "wav" if fmt["container"] == "wav" else "pcm"
    )
    if fmt["container"] == "wav" and encoding != "pcm_s16le":
        prefix = f"wav_{encoding.removeprefix('pcm_')}"
    return f"{prefix}_{rate}"


def _content_type(fmt: Mapping[str, Any]) -> str:
    if fmt["container"] in ("mp3", "wav"):
        return _CONTENT_TYPES[fmt["container"]]
    return _CONTENT_TYPES.get(fmt.get("encoding", "pcm_s16le"), "audio/pcm")


class CartesiaProviderHandler(BaseProviderHandler):
    """Cartesia Sonic TTS, voice changer (STS) and streaming TTS through the official SDK."""

    name: ClassVar[str] = PROVIDER
    operations: ClassVar[frozenset[Operation]] = frozenset({"tts", "sts"})
    api_key_env: ClassVar[tuple[str, ...]] = ("CARTESIA_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("CARTESIA_BASE_URL",)  # read by the SDK itself
    supports_streaming: ClassVar[bool] = True

    # ------------------------------------------------------------------ client

    def sdk_client(self, config: BaseGenerationConfig) -> AsyncCartesia:
        """The cached ``AsyncCartesia`` of this key / base URL / version on the running loop."""

        def factory() -> AsyncCartesia:
            from cartesia import AsyncCartesia

            headers = {"cartesia-version": config.api_version} if config.api_version else None
            return AsyncCartesia(
                api_key=self.api_key(config),
                base_url=config.base_url.rstrip("/") if config.base_url else None,
                max_retries=0,
                default_headers=headers,
            )

        return self.client(config, factory)

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
        """Validate and map a TTS/STS request for Cartesia (no network)."""
        params = super().passthrough_params(request)
        overrides = {k: params.pop(k) for k in _OVERRIDABLE if k in params}
        for reserved in _RESERVED:
            if reserved in params:
                raise self._invalid(
                    config,
                    reserved,
                    f"{reserved!r} cannot be passed in extra_params/provider_options; "
                    "use the request fields (and config.model for the model)",
                )
        assert isinstance(request, TTSRequest | STSRequest)
        fmt = self._output_format(config, overrides.get("output_format", request.output_format))
        stream_endpoint = config.provider_config.get("tts_stream_endpoint", "bytes")
        if stream_endpoint not in ("bytes", "sse"):
            raise self._invalid(
                config,
                "provider_config.tts_stream_endpoint",
                "tts_stream_endpoint must be 'bytes' or 'sse'",
            )
        if operation == "tts":
            assert isinstance(request, TTSRequest)
            payload = self._prepare_tts(config, request, overrides, params, fmt, warnings)
            payload["stream_endpoint"] = stream_endpoint
            return payload, None
        assert isinstance(request, STSRequest)
        return self._prepare_sts(config, request, overrides, params, fmt, warnings), None

    def _invalid(self, config: BaseGenerationConfig, field: str, message: str) -> ValidationError:
        return ValidationError(message, self.name, config.model, field=field)

    def _output_format(self, config: BaseGenerationConfig, value: Any) -> dict[str, Any]:
        try:
            return parse_output_format(value)
        except (PydanticValidationError, ValueError, TypeError) as exc:
            raise self._invalid(config, "output_format", f"invalid output_format: {exc}") from exc

    def _voice_id(self, config: BaseGenerationConfig, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self._invalid(
                config,
                "voice_id",
                "Cartesia needs a voice_id (set request.voice_id or "
                "provider_options={'cartesia': {'voice_id': ...}})",
            )
        return value.strip()

    def _generation_config(
        self, config: BaseGenerationConfig, value: Any, warnings: list[str]
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._invalid(config, "generation_config", "generation_config must be a dict")
        allowed = supports_generation_config(config.model)
        if allowed is False:
            self.report_unsupported(config, ["generation_config"], warnings)
            return None
        if allowed is None:
            warnings.append(
                f"model {config.model!r} is not known to support generation_config; sent as-is"
            )
        out = dict(value)
        errors = []
        for key, (low, high) in _GENERATION_RANGES.items():
            item = out.get(key)
            if item is None:
                continue
            if (
                isinstance(item, bool)
                or not isinstance(item, int | float)
                or not low <= item <= high
            ):
                errors.append(
                    {
                        "field": f"generation_config.{key}",
                        "message": f"must be a number from {low} to {high}, got {item!r}",
                    }
                )
        emotion = out.get("emotion")
        if emotion is not None and not isinstance(emotion, str):
            errors.append({"field": "generation_config.emotion", "message": "must be a string"})
        if errors:
            raise ValidationError(
                "invalid generation_config: "
                + "; ".join(f"{e['field']} {e['message']}" for e in errors),
                self.name,
                config.model,
                field=errors[0]["field"],
                errors=errors,
            )
        return out

    def _prepare_tts(
        self,
        config: BaseGenerationConfig,
        request: TTSRequest,
        overrides: dict[str, Any],
        params: dict[str, Any],
        fmt: dict[str, Any],
        warnings: list[str],
    ) -> dict[str, Any]:
        if not config.model.startswith("sonic"):
            warnings.append(f"model {config.model!r} is not a known Cartesia Sonic model")
        voice_id = self._voice_id(config, overrides.get("voice_id", request.voice_id))
        if request.voice_settings:
            self.report_unsupported(config, ["voice_settings"], warnings)
        kwargs: dict[str, Any] = {
            "model_id": config.model,
            "transcript": request.text,
            "voice": {"mode": "id", "id": voice_id},
            "output_format": fmt,
        }
        language = overrides.get("language_code", request.language_code)
        if language:
            if "locale" in params:
                raise self._invalid(
                    config, "language_code", "set language_code or locale, never both"
                )
            if language not in _LANGUAGES:
                warnings.append(f"language {language!r} is not in Cartesia's published list")
            kwargs["language"] = language
        generation = self._generation_config(
            config, params.pop("generation_config", None), warnings
        )
        if generation:
            kwargs["generation_config"] = generation
        speed = params.get("speed")
        if speed is not None and speed not in _MODEL_SPEEDS:
            raise self._invalid(
                config,
                "speed",
                "speed must be 'slow', 'normal' or 'fast' (use generation_config.speed "
                "for a 0.6–1.5 multiplier on sonic-3)",
            )
        kwargs.update({k: v for k, v in params.items() if k in _TTS_SDK_PARAMS})
        extra = {k: v for k, v in params.items() if k not in _TTS_SDK_PARAMS}
        return {"kwargs": kwargs, "extra_body": extra}

    def _prepare_sts(
        self,
        config: BaseGenerationConfig,
        request: STSRequest,
        overrides: dict[str, Any],
        params: dict[str, Any],
        fmt: dict[str, Any],
        warnings: list[str],
    ) -> dict[str, Any]:
        voice_id = self._voice_id(config, overrides.get("voice_id", request.voice_id))
        if request.voice_settings:
            self.report_unsupported(config, ["voice_settings"], warnings)
        media = to_media_input(request.audio)
        check_audio_input(media, config.max_input_bytes, provider=self.name, model=config.model)
        kwargs: dict[str, Any] = {
            "voice_id": voice_id,
            "output_format_container": fmt["container"],
            "output_format_sample_rate": fmt["sample_rate"],
        }
        if fmt["container"] == "mp3":
            kwargs["output_format_bit_rate"] = fmt["bit_rate"]
        else:
            kwargs["output_format_encoding"] = fmt["encoding"]
        return {"audio": media, "kwargs": kwargs, "output_format": fmt, "extra_body": params}

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        """Run the TTS or STS call and return the finished response."""
        client = self.sdk_client(ctx.config)
        payload = prepared.payload
        timeout = ctx.http_timeout(cap=ctx.config.timeout)
        extra = payload.get("extra_body") or None
        if prepared.operation == "tts":
            fmt = payload["kwargs"]["output_format"]
            response = await client.tts.generate(
                **payload["kwargs"], timeout=timeout, extra_body=extra
            )
            audio = await response.read()
            return self._response(ctx, fmt, audio, response.headers)
        audio_in = await read_audio_input(
            payload["audio"],
            ctx.config.max_input_bytes,
            provider=self.name,
            model=ctx.model,
            timeout=timeout,
        )
        response = await client.voice_changer.generate(
            clip=audio_in.as_file(), **payload["kwargs"], timeout=timeout, extra_body=extra
        )
        audio = await response.read()
        return self._response(
            ctx, payload["output_format"], audio, response.headers, input_bytes=len(audio_in.data)
        )

    def _response(
        self,
        ctx: AttemptContext,
        fmt: Mapping[str, Any],
        audio: bytes,
        headers: Any,
        *,
        input_bytes: int | None = None,
    ) -> Any:
        kept = pick_headers(headers, _RESPONSE_HEADERS)
        facts = audio_facts(
            audio, fmt["container"], fmt["sample_rate"], encoding=fmt.get("encoding")
        )
        raw: dict[str, Any] = {
            "headers": kept,
            "output_format": dict(fmt),
            "audio_bytes": len(audio),
        }
        if input_bytes is not None:
            raw["input_audio_bytes"] = input_bytes
        return ctx.audio_response(
            audio=base64.b64encode(audio).decode("ascii"),
            content_type=_content_type(fmt),
            sample_rate=facts.sample_rate or fmt["sample_rate"],
            duration=facts.duration,
            output_format=format_name(fmt),
            provider_request_id=kept.get("x-request-id") or kept.get("request-id"),
            raw_response=raw,
        )

    # ------------------------------------------------------------------ streaming

    def stream_format(self, prepared: Prepared) -> tuple[str, str]:
        """(output_format, content_type) of the audio :meth:`stream_tts` yields."""
        fmt: dict[str, Any] = prepared.payload["kwargs"]["output_format"]
        return format_name(fmt), _content_type(fmt)

    async def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """Audio chunks as Cartesia produces them (``/tts/bytes`` read incrementally, or SSE).

        Leaving the iterator early closes the HTTP response, which stops the generation.
        """
        client = self.sdk_client(ctx.config)
        payload = prepared.payload
        kwargs = payload["kwargs"]
        timeout = ctx.http_timeout(cap=ctx.config.timeout)
        extra = payload.get("extra_body") or None
        if payload.get("stream_endpoint") == "sse":
            async for chunk in self._stream_sse(ctx, client, kwargs, timeout, extra):
                yield chunk
            return
        async with client.tts.with_streaming_response.generate(
            **kwargs, timeout=timeout, extra_body=extra
        ) as response:
            async for chunk in response.iter_bytes():
                if chunk:
                    yield chunk

    async def _stream_sse(
        self,
        ctx: AttemptContext,
        client: AsyncCartesia,
        kwargs: dict[str, Any],
        timeout: float,
        extra: dict[str, Any] | None,
    ) -> AsyncIterator[bytes]:
        if kwargs["output_format"]["container"] != "raw":
            raise ValidationError(
                "Cartesia's SSE endpoint streams raw audio only; use a pcm_/ulaw_/alaw_ "
                "output_format or tts_stream_endpoint='bytes'",
                self.name,
                ctx.model,
                field="output_format",
            )
        sse_kwargs = {k: v for k, v in kwargs.items() if k != "save"}
        stream = await client.tts.generate_sse(**sse_kwargs, timeout=timeout, extra_body=extra)
        async with stream:
            async for event in stream:
                kind = getattr(event, "type", None)
                if kind == "chunk":
                    audio = base64.b64decode(getattr(event, "data", "") or "")
                    if audio:
                        yield audio
                elif kind == "error":
                    raise _status_error(
                        int(getattr(event, "status_code", 500) or 500),
                        event.model_dump() if hasattr(event, "model_dump") else {},
                        None,
                        ctx,
                    )
                elif kind == "done":
                    return

    # ------------------------------------------------------------------ errors

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Cartesia SDK / transport exceptions → typed errors (design-doc table)."""
        import cartesia

        if isinstance(exc, cartesia.APIStatusError):
            return _status_error(exc.status_code, exc.body, exc.response.headers, ctx)
        if isinstance(exc, cartesia.APITimeoutError):
            return error_from_transport(
                httpx.ReadTimeout(str(exc)),
                provider=ctx.provider,
                model=ctx.model,
                timeout_seconds=ctx.config.timeout,
            )
        if isinstance(exc, cartesia.APIConnectionError):
            cause = exc.__cause__ or exc
            return error_from_transport(cause, provider=ctx.provider, model=ctx.model)
        if isinstance(exc, cartesia.APIResponseValidationError):
            return GenerationFailedError(
                f"Cartesia answered with an unexpected body: {exc.message}",
                ctx.provider,
                ctx.model,
                raw_response={"body": exc.body},
                retryable=True,
            )
        if isinstance(exc, httpx.TimeoutException):
            return error_from_transport(
                exc, provider=ctx.provider, model=ctx.model, timeout_seconds=ctx.config.timeout
            )
        if isinstance(exc, httpx.TransportError | httpx.StreamError):
            return error_from_transport(exc, provider=ctx.provider, model=ctx.model)
        return None


def _error_fields(body: Any) -> tuple[str, str, str, str | None]:
    """(error_code, title, message, request_id) of a Cartesia error body (JSON or text)."""
    if isinstance(body, Mapping):
        inner = body.get("error") if isinstance(body.get("error"), Mapping) else body
        assert isinstance(inner, Mapping)
        return (
            str(inner.get("error_code") or ""),
            str(inner.get("title") or ""),
            str(inner.get("message") or inner.get("detail") or ""),
            inner.get("request_id"),
        )
    text = "" if body is None else str(body).strip()
    title, sep, message = text.partition(": ")
    return ("", title, message, None) if sep else ("", "", text[:500], None)


def _status_error(
    status: int, body: Any, headers: Mapping[str, str] | httpx.Headers | None, ctx: AttemptContext
) -> TarashException:
    code, title, message, request_id = _error_fields(body)
    kept = pick_headers(headers or {}, (*_RESPONSE_HEADERS, "retry-after"))
    request_id = request_id or kept.get("x-request-id") or kept.get("request-id")
    raw = {"status_code": status, "body": body, "headers": kept}
    label = f"[{code}] " if code else ""
    summary = ": ".join(p for p in (title, message) if p) or "no details"
    text = f"Cartesia HTTP {status}: {label}{summary}"
    provider, model = ctx.provider, ctx.model
    if status in (400, 422):
        return ValidationError(text, provider, model, request_id, raw)
    if status == 401:
        return AuthenticationError(text, provider, model, request_id, raw, 401)
    if status == 403:
        return ContentModerationError(text, provider, model, request_id, raw)
    if status == 429:
        return RateLimitError(
            text, provider, model, request_id, raw, retry_after=parse_retry_after(headers)
        )
    if status >= 500:
        return HTTPError(
            text, provider, model, request_id, raw, status, retry_after=parse_retry_after(headers)
        )
    return error_from_status(
        status,
        f"{label}{summary}",
        provider=provider,
        model=model,
        request_id=request_id,
        raw_response=raw,
        headers=headers,
    )
