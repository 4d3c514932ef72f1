"""Hume AI: Octave text-to-speech through the official ``hume`` SDK (``AsyncHumeClient``).

* **Endpoint** — ``POST /v0/tts`` (``client.tts.synthesize_json``): the JSON
  endpoint, chosen over ``/v0/tts/file`` because it also returns the duration,
  the sample rate, the ``generation_id`` (for ``context`` continuation) and
  per-utterance snippets. The audio arrives base64-encoded in
  ``generations[0].audio`` and is passed through as ``TTSResponse.audio``
  without re-encoding. Extra generations (``num_generations`` > 1) stay in
  ``raw_response["generations"][i]["audio"]``.
* **Streaming** — ``POST /v0/tts/stream/file`` (``synthesize_file_streaming``)
  yields raw audio bytes; ``strip_headers`` defaults to true so the chunks
  concatenate into one file, and ``instant_mode`` is turned off when no voice
  is given (Hume requires a voice for it).
* **Auth** — ``X-Hume-Api-Key`` (``config.api_key`` or ``HUME_API_KEY``).
* **Errors** — 400/422 → ValidationError (FastAPI ``detail`` locations kept);
  401/403 → AuthenticationError (Apigee ``fault`` body); 429 → RateLimitError
  with ``Retry-After``; 5xx → retryable HTTPError; a malformed 2xx body →
  retryable GenerationFailedError; transport → HTTPConnectionError /
  TimeoutError.

The SDK is imported lazily and its retries are off (``max_retries=0`` per
request): the orchestrator alone retries and falls back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    ContentModerationError,
    GenerationFailedError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_status, error_from_transport
from tarash.tarash_gateway.jobs import JobStatus, Operation
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    BaseGenerationConfig,
    BaseGenerationRequest,
    TTSRequest,
    TTSResponse,
)
from tarash.tarash_gateway.providers._fern import map_fern_error
from tarash.tarash_gateway.providers.base import AttemptContext, BaseProviderHandler, Prepared
from tarash.tarash_gateway.providers.hume.spec import SAMPLE_RATE, plan_request

if TYPE_CHECKING:
    from hume import AsyncHumeClient

__all__ = ["HumeProviderHandler"]

_CLIENT_TIMEOUT = 300.0
_MODERATION_HINTS = ("moderation", "content policy", "unsafe content", "violates")


class HumeProviderHandler(BaseProviderHandler):
    """Hume Octave TTS (``octave``, ``octave-1``, ``octave-2``; ``hume-v1``/``hume-v2`` too)."""

    name: ClassVar[str] = "hume"
    operations: ClassVar[frozenset[Operation]] = frozenset({"tts"})
    api_key_env: ClassVar[tuple[str, ...]] = ("HUME_API_KEY",)
    supports_streaming: ClassVar[bool] = True

    # ------------------------------------------------------------------ prepare

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Validate the request and build the Octave body (no I/O)."""
        assert isinstance(config, AudioGenerationConfig)
        assert isinstance(request, TTSRequest)
        unsupported: list[str] = []
        payload = plan_request(
            config,
            request,
            super().passthrough_params(request),
            warnings,
            unsupported,
            request.provider_options.get(self.name, {}),
        )
        self.report_unsupported(config, unsupported, warnings)
        version = payload["version"]
        return payload, f"octave-{version}" if version else "octave"

    def passthrough_params(self, request: BaseGenerationRequest) -> dict[str, Any]:
        """Nothing: :meth:`prepare_payload` consumes ``extra_params`` / ``provider_options``."""
        return {}

    # ------------------------------------------------------------------ client

    def _client(self, config: BaseGenerationConfig) -> AsyncHumeClient:
        key = self.api_key(config)
        base_url = (config.base_url or "").rstrip("/") or None
        headers = config.provider_config.get("headers")

        def factory() -> AsyncHumeClient:
            from hume import AsyncHumeClient

            kwargs: dict[str, Any] = {"api_key": key, "timeout": _CLIENT_TIMEOUT}
            if base_url is not None:
                kwargs["base_url"] = base_url
            if isinstance(headers, dict):
                kwargs["headers"] = {str(k): str(v) for k, v in headers.items()}
            return AsyncHumeClient(**kwargs)

        return self.client(config, factory)

    @staticmethod
    def _call_kwargs(
        ctx: AttemptContext, payload: dict[str, Any], drop: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        kwargs = {k: v for k, v in payload["body"].items() if k not in drop}
        options: dict[str, Any] = {
            "max_retries": 0,
            "timeout_in_seconds": math.ceil(ctx.http_timeout()),
        }
        if payload["extra_body"]:
            options["additional_body_parameters"] = dict(payload["extra_body"])
        kwargs["request_options"] = options
        return kwargs

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> TTSResponse:
        """One call to the JSON endpoint; the first generation becomes the response."""
        payload = prepared.payload
        client = self._client(ctx.config)
        await ctx.emit(JobStatus(state="processing", progress_percent=0))
        result = await client.tts.synthesize_json(
            **self._call_kwargs(ctx, payload, drop=("instant_mode",))
        )
        generations = list(getattr(result, "generations", None) or [])
        request_id = getattr(result, "request_id", None)
        if not generations:
            raise GenerationFailedError(
                "hume answered without any generation",
                self.name,
                ctx.model,
                request_id,
                retryable=True,
            )
        first = generations[0]
        audio_b64 = getattr(first, "audio", None)
        if not isinstance(audio_b64, str) or not audio_b64:
            raise GenerationFailedError(
                "hume answered without audio", self.name, ctx.model, request_id, retryable=True
            )
        try:
            audio_bytes = base64.b64decode(audio_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise GenerationFailedError(
                "hume returned audio that is not valid base64",
                self.name,
                ctx.model,
                request_id,
                retryable=True,
            ) from exc
        encoding = getattr(first, "encoding", None)
        fmt = str(getattr(encoding, "format", None) or payload["format"])
        rate = getattr(encoding, "sample_rate", None)
        rate = rate if isinstance(rate, int) and rate > 0 else SAMPLE_RATE
        duration = getattr(first, "duration", None)
        response = ctx.audio_response(
            audio=audio_b64,
            content_type={"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}.get(
                fmt, payload["content_type"]
            ),
            duration=float(duration) if isinstance(duration, int | float) else None,
            sample_rate=rate,
            output_format=f"{fmt}_{rate}",
            provider_request_id=request_id or getattr(first, "generation_id", None),
            raw_response=_raw_response(result, generations, len(audio_bytes)),
        )
        assert isinstance(response, TTSResponse)  # a TTS-only provider
        return response

    # ------------------------------------------------------------------ streaming

    def stream_format(self, prepared: Prepared) -> tuple[str, str]:
        """``(output_format, content_type)`` of the streamed audio (Octave streams 48 kHz)."""
        payload = prepared.payload
        return f"{payload['format']}_{SAMPLE_RATE}", str(payload["content_type"])

    async def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """Yield audio bytes from ``/v0/tts/stream/file`` as Octave produces them.

        ``num_generations`` > 1 is refused (a stream is one audio). Errors are
        raised as typed gateway exceptions.
        """
        payload = prepared.payload
        body = payload["body"]
        if body.get("num_generations", 1) != 1:
            raise ValidationError(
                "streaming returns one generation; drop num_generations",
                self.name,
                ctx.model,
                field="num_generations",
            )
        kwargs = self._call_kwargs(ctx, payload)
        kwargs.setdefault("strip_headers", True)
        if not payload["has_voice"]:
            kwargs["instant_mode"] = False  # Hume's default instant mode needs a voice
        client = self._client(ctx.config)
        try:
            async for chunk in client.tts.synthesize_file_streaming(**kwargs):
                if chunk:
                    yield chunk
        except (TarashException, asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as exc:
            mapped = self.map_error(exc, ctx) or error_from_transport(
                exc, provider=self.name, model=ctx.model
            )
            raise mapped from exc

    # ------------------------------------------------------------------ errors

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """SDK/transport exceptions → typed gateway errors (Hume's message kept)."""
        if isinstance(exc, TarashException):
            return exc
        return _map_error(exc, self.name, ctx)


def _raw_response(result: Any, generations: list[Any], audio_size: int) -> dict[str, Any]:
    """The JSON response without the audio the caller already has (no duplicated base64)."""
    out_generations: list[dict[str, Any]] = []
    for index, gen in enumerate(generations):
        encoding = getattr(gen, "encoding", None)
        item: dict[str, Any] = {
            "generation_id": getattr(gen, "generation_id", None),
            "duration": getattr(gen, "duration", None),
            "file_size": getattr(gen, "file_size", None),
            "encoding": {
                "format": getattr(encoding, "format", None),
                "sample_rate": getattr(encoding, "sample_rate", None),
            },
        }
        if index > 0:
            item["audio"] = getattr(gen, "audio", None)
        snippets: list[list[dict[str, Any]]] = []
        for group in getattr(gen, "snippets", None) or []:
            snippets.append(
                [
                    {
                        "id": getattr(s, "id", None),
                        "text": getattr(s, "text", None),
                        "transcribed_text": getattr(s, "transcribed_text", None),
                        "utterance_index": getattr(s, "utterance_index", None),
                        "timestamps": [
                            t.model_dump(mode="json") if hasattr(t, "model_dump") else t
                            for t in getattr(s, "timestamps", None) or []
                        ],
                    }
                    for s in group
                ]
            )
        item["snippets"] = snippets
        out_generations.append(item)
    return {
        "request_id": getattr(result, "request_id", None),
        "generation_id": out_generations[0]["generation_id"] if out_generations else None,
        "audio_bytes": audio_size,
        "generations": out_generations,
    }


def _message(body: Any) -> tuple[str, Any]:
    """(readable message, JSON-able raw body) of a Hume error body."""
    if hasattr(body, "model_dump"):
        body = body.model_dump(mode="json")
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body.strip()[:500], {"body": body[:2000]}
    if not isinstance(body, dict):
        return str(body)[:500], {"body": body}
    fault = body.get("fault")
    if isinstance(fault, dict):  # Apigee gateway (auth, quota)
        detail = fault.get("detail")
        code = detail.get("errorcode") if isinstance(detail, dict) else None
        text = str(fault.get("faultstring") or "")
        return (f"{text} ({code})" if code else text), body
    detail = body.get("detail")
    if isinstance(detail, list):  # FastAPI validation errors
        parts = [
            f"{'.'.join(str(x) for x in d.get('loc', []))}: {d.get('msg')}"
            for d in detail
            if isinstance(d, dict)
        ]
        return "; ".join(parts), body
    pieces = [str(body[k]) for k in ("code", "error", "message") if body.get(k)]
    if not pieces and detail:
        pieces = [str(detail)]
    return " - ".join(pieces), body


def _field_errors(raw: Any) -> list[dict[str, Any]]:
    detail = raw.get("detail") if isinstance(raw, dict) else None
    if not isinstance(detail, list):
        return []
    return [
        {
            "field": ".".join(str(x) for x in d.get("loc", []) if x != "body") or None,
            "message": d.get("msg"),
        }
        for d in detail
        if isinstance(d, dict)
    ]


def _map_error(exc: BaseException, provider: str, ctx: AttemptContext) -> TarashException | None:
    from hume.core.api_error import ApiError

    model = ctx.model

    def status_error(status: int, body: Any, headers: Mapping[str, str]) -> TarashException:
        message, raw = _message(body)
        if status in (400, 422) and any(h in message.lower() for h in _MODERATION_HINTS):
            return ContentModerationError(f"HTTP {status}: {message}", provider, model, None, raw)
        if status in (400, 422):
            errors = _field_errors(raw)
            return ValidationError(
                f"HTTP {status}: {message}",
                provider,
                model,
                raw_response=raw,
                field=errors[0]["field"] if errors else None,
                errors=errors or None,
            )
        return error_from_status(
            status, message, provider=provider, model=model, raw_response=raw, headers=headers
        )

    return map_fern_error(
        exc, provider, ctx, api_error=ApiError, describe=_message, status_error=status_error
    )
