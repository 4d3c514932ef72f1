"""Sarvam AI: Bulbul text-to-speech for Indian languages through the official ``sarvamai`` SDK.

* **Endpoint** — ``POST /text-to-speech`` (``AsyncSarvamAI.text_to_speech.convert``):
  JSON in, JSON out with base64 audio in ``audios[0]``. Streaming uses
  ``POST /text-to-speech/stream`` (``convert_stream``), which answers with raw
  audio bytes.
* **Auth** — the ``api-subscription-key`` header (from ``config.api_key`` or
  ``SARVAM_API_KEY``). Sarvam answers an invalid key with **403**.
* **Long text** — each request takes at most 1,500 (v2) / 2,500 (v3, v4-flash)
  characters. Longer text is split at sentence boundaries and synthesised by
  several requests (at most ``max_parallel_requests`` at a time, default 3),
  then joined into one file (WAV header rewritten, MP3 frames concatenated …;
  see :mod:`.audio`). Codecs that cannot be joined (FLAC, Opus) are rejected
  before any request when the text is too long; ``split_long_text=False``
  turns splitting off (over-long text is then a ValidationError).
* **Errors** — Sarvam's body is ``{"error": {"message", "code"}}``; the code is
  kept in the message and ``raw_response``. 400/413/422 → ValidationError;
  401/403 → AuthenticationError; 429 (and 503 ``rate_limit_exceeded_error``) →
  RateLimitError with ``Retry-After``; ``insufficient_quota_error`` and 402 stay
  retryable so a fallback provider can take over; 5xx → retryable HTTPError;
  transport failures → HTTPConnectionError / TimeoutError.

The SDK is imported lazily; its own retries are off (``max_retries=0``): the
orchestrator alone retries and falls back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tarash.tarash_gateway.audio import audio_facts
from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    GenerationFailedError,
    HTTPError,
    RateLimitError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_status, error_from_transport, parse_retry_after
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
from tarash.tarash_gateway.providers.sarvam import audio
from tarash.tarash_gateway.providers.sarvam.spec import SarvamPlan, plan_request, stream_pieces

if TYPE_CHECKING:
    from sarvamai import AsyncSarvamAI

__all__ = ["SarvamProviderHandler"]

_CLIENT_TIMEOUT = 300.0
_TIMED_CODECS = {"wav": "wav", "linear16": "pcm", "mulaw": "mulaw", "alaw": "alaw", "mp3": "mp3"}
"""Sarvam codecs whose duration is read from the bytes, as :func:`audio_facts` containers."""


class SarvamProviderHandler(BaseProviderHandler):
    """Sarvam Bulbul TTS (``bulbul:v2``, ``bulbul:v3``, ``bulbul:v4-flash``)."""

    name: ClassVar[str] = "sarvam"
    operations: ClassVar[frozenset[Operation]] = frozenset({"tts"})
    api_key_env: ClassVar[tuple[str, ...]] = ("SARVAM_API_KEY",)
    supports_streaming: ClassVar[bool] = True

    # ------------------------------------------------------------------ prepare

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Validate the TTS request for the Bulbul model (no I/O) and plan the call(s)."""
        assert isinstance(config, AudioGenerationConfig)
        assert isinstance(request, TTSRequest)
        unsupported: list[str] = []
        plan = plan_request(
            config,
            request,
            super().passthrough_params(request),
            warnings,
            unsupported,
            request.provider_options.get(self.name, {}),
        )
        self.report_unsupported(config, unsupported, warnings)
        return plan.to_payload(), plan.model.name

    def passthrough_params(self, request: BaseGenerationRequest) -> dict[str, Any]:
        """Nothing: :meth:`prepare_payload` consumes ``extra_params`` / ``provider_options``."""
        return {}

    # ------------------------------------------------------------------ client

    def _client(self, config: BaseGenerationConfig) -> AsyncSarvamAI:
        key = self.api_key(config)
        base_url = (config.base_url or "").rstrip("/") or None
        headers = config.provider_config.get("headers")

        def factory() -> AsyncSarvamAI:
            from sarvamai import AsyncSarvamAI
            from sarvamai.environment import SarvamAIEnvironment

            kwargs: dict[str, Any] = {"api_subscription_key": key, "timeout": _CLIENT_TIMEOUT}
            if base_url is not None:
                ws = "ws" + base_url[4:] if base_url.startswith("http") else base_url
                kwargs["environment"] = SarvamAIEnvironment(
                    base=base_url, production=ws, creative=f"{base_url}/dubbing"
                )
            if isinstance(headers, dict):
                kwargs["headers"] = {str(k): str(v) for k, v in headers.items()}
            return AsyncSarvamAI(**kwargs)

        return self.client(config, factory)

    @staticmethod
    def _request_options(ctx: AttemptContext, plan: SarvamPlan) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_retries": 0,
            "timeout_in_seconds": math.ceil(ctx.http_timeout()),
        }
        if plan.extra_body:
            options["additional_body_parameters"] = dict(plan.extra_body)
        return options

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> TTSResponse:
        """Synthesise every text piece (bounded concurrency) and join the audio."""
        plan = SarvamPlan.from_payload(prepared.payload)
        client = self._client(ctx.config)
        total = len(plan.pieces)
        await ctx.emit(JobStatus(state="processing", progress_percent=0))
        limit = asyncio.Semaphore(plan.max_parallel)
        done = 0

        async def one(piece: str) -> tuple[bytes, str | None]:
            nonlocal done
            async with limit:
                result = await client.text_to_speech.convert(
                    text=piece, **plan.params, request_options=self._request_options(ctx, plan)
                )
            data = _decode_audio(result, ctx)
            done += 1
            if total > 1:
                await ctx.emit(
                    JobStatus(
                        state="processing",
                        progress_percent=min(99, done * 100 // total),
                        message=f"synthesised piece {done} of {total}",
                    )
                )
            request_id = getattr(result, "request_id", None)
            return data, request_id if isinstance(request_id, str) else None

        results = await _gather_first_error([one(p) for p in plan.pieces])
        parts = [data for data, _ in results]
        request_ids = [rid for _, rid in results]
        return self._response(ctx, plan, parts, request_ids)

    def _response(
        self,
        ctx: AttemptContext,
        plan: SarvamPlan,
        parts: list[bytes],
        request_ids: list[str | None],
    ) -> TTSResponse:
        try:
            if plan.codec in ("linear16", "mulaw", "alaw"):
                parts = [audio.raw_samples(p)[0] for p in parts]
            data = audio.join_audio(parts, plan.codec)
        except audio.AudioJoinError as exc:
            raise GenerationFailedError(
                f"sarvam returned audio pieces that cannot be joined: {exc}",
                self.name,
                ctx.model,
                request_ids[0],
                retryable=True,
            ) from exc
        rate = plan.sample_rate
        duration: float | None = None
        container = _TIMED_CODECS.get(plan.codec)
        if container is not None:
            facts = audio_facts(data, container, rate)
            rate = facts.sample_rate or rate
            duration = facts.duration
        raw: dict[str, Any] = {
            "request_ids": request_ids,
            "pieces": len(parts),
            "piece_characters": [len(p) for p in plan.pieces],
            "model": plan.model.name,
            "language_code": plan.params.get("language_code"),
            "speaker": plan.params.get("speaker"),
            "output_audio_codec": plan.codec,
            "speech_sample_rate": plan.sample_rate,
            "audio_bytes": len(data),
        }
        response = ctx.audio_response(
            audio=base64.b64encode(data).decode("ascii"),
            content_type=plan.content_type,
            duration=round(duration, 6) if duration is not None else None,
            sample_rate=rate,
            output_format=plan.output_format,
            provider_request_id=next((r for r in request_ids if r), None),
            raw_response=raw,
        )
        assert isinstance(response, TTSResponse)  # a TTS-only provider
        return response

    # ------------------------------------------------------------------ streaming

    def stream_format(self, prepared: Prepared) -> tuple[str, str]:
        """``(output_format, content_type)`` of the streamed audio, e.g. ``mp3_24000``."""
        plan = SarvamPlan.from_payload(prepared.payload)
        return plan.output_format, plan.content_type

    async def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """Yield audio bytes from ``/text-to-speech/stream`` as Sarvam produces them.

        Text over 3,500 characters is streamed piece by piece (mp3, aac, pcm,
        mulaw, alaw only). Errors are raised as typed gateway exceptions.
        """
        plan = SarvamPlan.from_payload(prepared.payload)
        pieces = stream_pieces(plan)  # validation first: nothing is sent if this fails
        client = self._client(ctx.config)
        kwargs = dict(plan.params)  # convert_stream takes every convert() argument
        if plan.stream_bitrate is not None:
            kwargs["output_audio_bitrate"] = plan.stream_bitrate
        try:
            for piece in pieces:
                stream = client.text_to_speech.convert_stream(
                    text=piece, **kwargs, request_options=self._request_options(ctx, plan)
                )
                async for chunk in stream:
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
        """SDK/transport exceptions → typed gateway errors (Sarvam error code kept)."""
        if isinstance(exc, TarashException):
            return exc
        return _map_error(exc, self.name, ctx)


async def _gather_first_error(calls: list[Any]) -> list[tuple[bytes, str | None]]:
    """Run the piece requests; on the first failure cancel the rest and raise that error."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _decode_audio(result: Any, ctx: AttemptContext) -> bytes:
    audios = getattr(result, "audios", None)
    request_id = getattr(result, "request_id", None)
    if not isinstance(audios, list) or not audios or not isinstance(audios[0], str):
        raise GenerationFailedError(
            "sarvam answered without audio (empty 'audios')",
            "sarvam",
            ctx.model,
            request_id if isinstance(request_id, str) else None,
            retryable=True,
        )
    try:
        data = base64.b64decode(audios[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GenerationFailedError(
            "sarvam returned audio that is not valid base64",
            "sarvam",
            ctx.model,
            request_id if isinstance(request_id, str) else None,
            retryable=True,
        ) from exc
    if not data:
        raise GenerationFailedError(
            "sarvam returned empty audio", "sarvam", ctx.model, retryable=True
        )
    return data


def _error_parts(body: Any) -> tuple[str, str | None, dict[str, Any]]:
    """(message, error code, raw dict) of a Sarvam error body."""
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body.strip()[:500], None, {"body": body[:2000]}
    if not isinstance(body, dict):
        return str(body)[:500], None, {"body": body}
    error = body.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        code = error.get("code")
        return message, str(code) if code else None, body
    detail = body.get("detail")
    if isinstance(detail, list):  # FastAPI-style validation errors
        msgs = [
            f"{'.'.join(str(x) for x in d.get('loc', []))}: {d.get('msg')}"
            for d in detail
            if isinstance(d, dict)
        ]
        return "; ".join(msgs), None, body
    fallback = body.get("message") or detail or error
    return str(fallback or ""), None, body


def _describe(body: Any) -> tuple[str, Any]:
    """(readable message with the error code, raw dict) of a Sarvam error body."""
    message, code, raw = _error_parts(body)
    text = f"{code}: {message}" if code and message else (message or code or "")
    return text or repr(body), raw


def _map_error(exc: BaseException, provider: str, ctx: AttemptContext) -> TarashException | None:
    from sarvamai.core.api_error import ApiError

    model = ctx.model

    def status_error(status: int, body: Any, headers: Mapping[str, str]) -> TarashException:
        message, code, raw = _error_parts(body)
        text = f"{code}: {message}" if code and message else (message or code or "")
        retry_after = parse_retry_after(headers)
        if status in (401, 403):
            return AuthenticationError(
                f"HTTP {status}: {text or 'invalid or missing api-subscription-key'}",
                provider,
                model,
                raw_response=raw,
                status_code=status,
            )
        if status in (400, 413, 422):
            return ValidationError(
                f"HTTP {status}: {text}", provider, model, raw_response=raw, field=None
            )
        if status == 429 or code == "rate_limit_exceeded_error":
            quota = code == "insufficient_quota_error"
            return RateLimitError(
                f"HTTP {status}: {text}"
                + (" (credits exhausted; a fallback provider may still answer)" if quota else ""),
                provider,
                model,
                raw_response=raw,
                status_code=status,
                retry_after=None if quota else retry_after,
                retry_same_config=not quota,
            )
        if status == 402:
            return HTTPError(
                f"HTTP 402: {text or 'payment required'}",
                provider,
                model,
                raw_response=raw,
                status_code=402,
                retryable=True,
                retry_same_config=False,
            )
        return error_from_status(
            status, text, provider=provider, model=model, raw_response=raw, headers=headers
        )

    return map_fern_error(
        exc, provider, ctx, api_error=ApiError, describe=_describe, status_error=status_error
    )
