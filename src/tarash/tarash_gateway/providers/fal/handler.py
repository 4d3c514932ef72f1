"""fal.ai: video, image and speech through fal's queue API with the official ``fal-client``.

Steps (see :mod:`tarash.tarash_gateway.providers.base`):

* **prepare** — the field-mapping registry (:mod:`.field_mappings`); unknown
  fal models run with a generic mapping and a warning; speech models are
  mapped by hand; ``provider_config`` is validated here.
* **submit** — local files / bytes / base64 media are uploaded to fal storage
  (token + CDN upload), URLs pass through; ``POST {queue}/{app_id}`` returns a
  :class:`JobRef` carrying fal's absolute status/response/cancel URLs.
* **watch** — fal's status stream (``…/status/stream``, server-sent events):
  one request per job, completion noticed at once; if the stream is refused,
  breaks, stays silent longer than its idle timeout (at most 15 s and a quarter
  of what is left of the attempt) or all stream slots are taken, the
  orchestrator polls ``status``.
* **status** — ``IN_QUEUE`` (queue position), ``IN_PROGRESS`` (new log lines,
  a percentage when the logs carry one), ``COMPLETED`` (with ``error`` /
  ``error_type`` → failed with a typed error).
* **result** — ``GET`` the response URL; images / video / audio converted.
* **cancel** — ``PUT`` the cancel URL; the outcome is ``"cancelled"``
  (``CANCELLATION_REQUESTED``), ``"already_completed"`` (400
  ``ALREADY_COMPLETED``: the result may still be fetched), ``"not_found"`` (404)
  or ``False`` (not confirmed).

Per-job state lives with the job, never on the (process-wide) handler or
session: the log cursor (which log lines were reported) and "this job's
status stream is refused" are kept in ``JobRef.data`` (``log_cursor``,
``status_stream``), so a job resumed in another process starts afresh and two
observers of two jobs never share anything.

Submission outcome: transport errors of the submit reach the orchestrator
unchanged (``ConnectError`` / ``ConnectTimeout``: never sent; read timeouts,
resets, protocol errors: the outcome is unknown); a 200 whose body cannot be
read becomes a retryable :class:`HTTPConnectionError` with ``request_sent=True``
(fal most likely accepted the job). Every submission carries our request id in
the ``X-Tarash-Request-Id`` header, so a proxy or emulator can tell a resend
of one logical request from a new one.

How the SDK is used and how ``base_url`` is honoured: :mod:`.session`.
"""

from __future__ import annotations

import asyncio
import json
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from tarash.tarash_gateway._secrets import register_secret
from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_transport
from tarash.tarash_gateway.jobs import JobRef, JobStatus, Operation
from tarash.tarash_gateway.logging import log_debug, log_info
from tarash.tarash_gateway.media import (
    MediaInput,
    MediaTooLargeError,
    check_media_sizes,
    extension_for,
)
from tarash.tarash_gateway.models import (
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    TTSRequest,
)
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
    CancelOutcome,
    Prepared,
    Submission,
    walk_media,
)
from tarash.tarash_gateway.providers.fal import tts as fal_tts
from tarash.tarash_gateway.providers.fal.errors import http_error, job_error
from tarash.tarash_gateway.providers.fal.field_mappings import (
    GENERIC_IMAGE_MAPPERS,
    GENERIC_VIDEO_MAPPERS,
    MODEL_MAPPINGS,
    VIDEO_MODEL_KEYS,
)
from tarash.tarash_gateway.providers.fal.session import (
    FalEndpoints,
    FalProtocolError,
    FalSession,
    FalSettings,
    GateTimeout,
    fal_http_error,
    gate_wait,
    parse_json,
)
from tarash.tarash_gateway.providers.field_mappers import FieldMapper, match_model_key
from tarash.tarash_gateway.webhook_hint import provider_webhook_url

__all__ = ["FalProviderHandler"]

_LOG = "providers.fal"
_PERCENT_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s?%")
_STATUS_TIMEOUT_CAP = 15.0
_CANCEL_TIMEOUT = 15.0
_CANCEL_GATE_WAIT = 5.0
_STREAM_IDLE_SHARE = 0.25
_MAX_AUDIO_BYTES = 200 * 1024 * 1024
REQUEST_ID_HEADER = "X-Tarash-Request-Id"
"""Our request id on every submission (one logical request → one id, across resends)."""
GATE_WAIT_KEY = "tarash_gate_wait_s"
"""Key of the seconds a request waited for a gate slot: in ``JobRef.data`` (the
submission's wait) and in ``JobStatus.raw`` (a status poll's wait), when non-zero."""
_CURSOR_KEY = "log_cursor"
_STREAM_KEY = "status_stream"


@dataclass
class _LogCursor:
    """Which log lines of a job were already reported (fal may send them cumulatively).

    ``last`` is a CRC of the last reported entry (stable across processes), so the
    cursor fits in ``JobRef.data`` as two numbers.
    """

    count: int = 0
    last: int | None = None

    @classmethod
    def of(cls, job: JobRef) -> _LogCursor:
        """The cursor kept in ``job.data`` (a fresh one when absent or unreadable)."""
        raw = job.data.get(_CURSOR_KEY)
        if isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], int):
            return cls(raw[0], raw[1] if isinstance(raw[1], int) else None)
        return cls()

    def save(self, job: JobRef) -> None:
        """Keep the cursor with the job (``JobRef.data`` is the job's own mutable dict)."""
        if self.count:
            job.data[_CURSOR_KEY] = [self.count, self.last]

    def advance(self, logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entries of ``logs`` not reported yet (handles cumulative and incremental lists)."""
        if not logs:
            return []
        cumulative = (
            self.count > 0
            and len(logs) >= self.count
            and _log_key(logs[self.count - 1]) == self.last
        )
        if cumulative:
            new = logs[self.count :]
            self.count = len(logs)
        else:
            new = logs
            self.count += len(logs)
        if new:
            self.last = _log_key(new[-1])
        return new


def _log_key(entry: dict[str, Any]) -> int:
    return zlib.crc32(f"{entry.get('timestamp')}\x00{entry.get('message')}".encode())


def _log_lines(logs: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("message", "")) for e in logs if isinstance(e, dict)]


def _percent(lines: list[str]) -> int | None:
    for line in reversed(lines):
        matches = _PERCENT_RE.findall(line)
        if matches:
            value = float(matches[-1])
            if 0 <= value <= 100:
                return int(value)
    return None


class FalProviderHandler(BaseProviderHandler):
    """fal.ai provider (queue API; video, image, TTS)."""

    name: ClassVar[str] = "fal"
    operations: ClassVar[frozenset[Operation]] = frozenset({"video", "image", "tts"})
    api_key_env: ClassVar[tuple[str, ...]] = ("FAL_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = (
        "FAL_RUN_HOST",
        "FAL_QUEUE_RUN_HOST",
    )  # read by the SDK itself
    # Status/result/cancel URLs of a stored JobRef get the key: only fal's own hosts.
    job_endpoint_hosts: ClassVar[tuple[str, ...] | None] = ("fal.run", "fal.ai", "fal.media")

    # ------------------------------------------------------------------ credentials + clients

    def api_key(self, config: BaseGenerationConfig) -> str | None:
        """The config key, else ``FAL_KEY``, else ``FAL_KEY_ID:FAL_KEY_SECRET`` (like the SDK)."""
        key = super().api_key(config)
        if key:
            return key
        import os

        key_id, secret = os.environ.get("FAL_KEY_ID"), os.environ.get("FAL_KEY_SECRET")
        if key_id and secret:
            combined = f"{key_id}:{secret}"
            register_secret(combined)
            return combined
        return None

    def session(self, config: BaseGenerationConfig) -> FalSession:
        """The cached :class:`FalSession` (and its SDK ``AsyncClient``) for ``config``."""
        key = self.api_key(config) or ""

        def factory() -> FalSession:
            settings = FalSettings.from_provider_config(config.provider_config)
            endpoints = FalEndpoints.resolve(config.base_url, settings)
            return FalSession(key, endpoints, settings)

        return self.client(config, factory)

    # ------------------------------------------------------------------ 1. prepare

    def generic_field_mappers(self, operation: Operation) -> dict[str, FieldMapper] | None:
        """fal hosts hundreds of apps: unknown ones run with common parameter names."""
        if operation == "video":
            return GENERIC_VIDEO_MAPPERS
        if operation == "image":
            return GENERIC_IMAGE_MAPPERS
        return None

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Validate ``provider_config``; map via the registry (video/image) or by hand (TTS)."""
        try:
            FalSettings.from_provider_config(config.provider_config)
        except ValueError as exc:
            raise ValidationError(
                str(exc), self.name, config.model, field="provider_config"
            ) from None
        if operation == "tts":
            assert isinstance(request, TTSRequest)
            return fal_tts.prepare(self, config, request, warnings)
        key = match_model_key(config.model, self.field_mappings().keys())
        if key is not None and key in MODEL_MAPPINGS:
            kind = "video" if key in VIDEO_MODEL_KEYS else "image"
            if kind != operation:
                raise ValidationError(
                    f"{config.model!r} is a fal {kind} model; call generate_{kind} for it",
                    self.name,
                    config.model,
                    field="model",
                )
        return super().prepare_payload(operation, config, request, warnings)

    # ------------------------------------------------------------------ 2. submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Submission:
        session = self.session(ctx.config)
        uploaded: dict[int, str] = {}

        async def to_url(media: MediaInput) -> str:
            if media.url is not None:
                return media.url
            cached = uploaded.get(id(media))
            if cached is not None:
                return cached
            data, content_type = await media.read(ctx.config.max_input_bytes)
            file_name = media.path.name if media.path else f"input{extension_for(content_type)}"
            url = await session.upload(
                data,
                content_type,
                file_name,
                ctx.http_timeout(),
                wait_limit=session.wait_limit(ctx.remaining()),
            )
            uploaded[id(media)] = url
            log_debug(
                "Uploaded media to fal storage",
                {"request_id": ctx.request_id, "bytes": len(data), "content_type": content_type},
                _LOG,
            )
            return url

        await check_media_sizes(
            prepared.payload, ctx.config.max_input_bytes, provider=self.name, model=ctx.model
        )
        payload = await walk_media(prepared.payload, to_url)
        headers: dict[str, str] = {REQUEST_ID_HEADER: ctx.request_id}
        if session.settings.priority:
            headers["X-Fal-Queue-Priority"] = session.settings.priority
        if session.settings.start_timeout:
            headers["X-Fal-Request-Timeout"] = f"{session.settings.start_timeout:g}"
        submit_url = session.endpoints.submit_url(ctx.model)
        hook = provider_webhook_url.get()
        if hook:  # docs.fal.ai/model-apis/model-endpoints/webhooks (2026-12-04): fal_webhook=
            submit_url += ("&" if "?" in submit_url else "?") + urlencode({"fal_webhook": hook})
        response = await session.request(
            "POST",
            submit_url,
            json_body=payload,
            headers=headers,
            timeout=ctx.http_timeout(),
            high_priority=False,
            wait_limit=session.wait_limit(ctx.remaining()),
        )
        try:
            data = parse_json(response)
        except FalProtocolError as exc:
            raise _unknown_submission(ctx, f"its body could not be read ({exc})") from None
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise _unknown_submission(ctx, "its body has no request_id")
        base = session.endpoints.request_url(ctx.model, request_id)
        endpoints = {
            "status": str(data.get("status_url") or f"{base}/status"),
            "response": str(data.get("response_url") or base),
            "cancel": str(data.get("cancel_url") or f"{base}/cancel"),
        }
        job_data: dict[str, Any] = {"app_id": ctx.model}
        waited = gate_wait(response)
        if waited:
            job_data[GATE_WAIT_KEY] = round(waited, 4)
            ctx.gate_wait_seconds += waited  # → AttemptMetadata.gate_wait_seconds
        return ctx.job(request_id, endpoints=endpoints, data=job_data)

    # ------------------------------------------------------------------ 3. status / watch

    def _endpoint(self, ctx: AttemptContext, job: JobRef, which: str) -> str:
        url = job.endpoints.get(which)
        if url:
            return url
        base = self.session(ctx.config).endpoints.request_url(
            str(job.data.get("app_id") or job.model), job.provider_request_id
        )
        return {"status": f"{base}/status", "response": base, "cancel": f"{base}/cancel"}[which]

    def _to_status(
        self, ctx: AttemptContext, job: JobRef, data: dict[str, Any], cursor: _LogCursor
    ) -> JobStatus:
        state = data.get("status")
        raw_logs = data.get("logs")
        if isinstance(raw_logs, list) and raw_logs:
            logs = [e for e in raw_logs if isinstance(e, dict)]
            lines = _log_lines(cursor.advance(logs))
            cursor.save(job)
        else:
            lines = []
        if state == "IN_QUEUE":
            position = data.get("queue_position")
            return JobStatus(
                state="queued",
                queue_position=position if isinstance(position, int) else None,
                logs=lines,
                raw=data,
            )
        if state == "IN_PROGRESS":
            return JobStatus(
                state="processing", logs=lines, progress_percent=_percent(lines), raw=data
            )
        if state == "COMPLETED":
            error, error_type = data.get("error"), data.get("error_type")
            if not error and not error_type:
                return JobStatus(state="completed", logs=lines, progress_percent=100, raw=data)
            if error_type == "client_cancelled":
                return JobStatus(
                    state="cancelled", logs=lines, message=f"fal: {error or error_type}", raw=data
                )
            typed = job_error(
                error,
                error_type if isinstance(error_type, str) else None,
                provider=ctx.provider,
                model=ctx.model,
                request_id=job.provider_request_id,
                raw=data,
            )
            return JobStatus(
                state="failed", logs=lines, message=typed.message, error=typed, raw=data
            )
        raise FalProtocolError(f"fal reported an unknown job status {state!r}", data)

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        session = self.session(ctx.config)
        response = await session.request(
            "GET",
            _with_logs(self._endpoint(ctx, job, "status")),
            timeout=ctx.http_timeout(_STATUS_TIMEOUT_CAP),
            wait_limit=session.wait_limit(ctx.remaining()),
        )
        data = parse_json(response)
        waited = gate_wait(response)
        if waited:
            data[GATE_WAIT_KEY] = round(waited, 4)
            ctx.gate_wait_seconds += waited
        return self._to_status(ctx, job, data, _LogCursor.of(job))

    def watch(self, ctx: AttemptContext, job: JobRef) -> AsyncIterator[JobStatus] | None:
        """fal's status stream (SSE); ``None`` (→ polling) when streaming is off for the
        config or this job's stream was refused before."""
        session = self.session(ctx.config)
        if session.settings.max_streams == 0 or job.data.get(_STREAM_KEY) == "unsupported":
            return None
        return self._watch(ctx, job)

    @staticmethod
    def stream_idle_timeout(ctx: AttemptContext, session: FalSession) -> float:
        """How long a silent status stream is trusted: shorter than what is left of the
        attempt, so polling still has time to notice the job's end."""
        share = _STREAM_IDLE_SHARE * ctx.remaining()
        return max(0.5, min(session.settings.stream_idle_timeout, share))

    async def _watch(self, ctx: AttemptContext, job: JobRef) -> AsyncIterator[JobStatus]:
        import httpx
        from httpx_sse import EventSource

        session = self.session(ctx.config)
        shard = session.acquire_stream()
        if shard is None:
            return  # all stream slots are taken: the orchestrator polls instead
        url = _with_logs(self._endpoint(ctx, job, "status"), stream=True)
        cursor = _LogCursor.of(job)  # kept in job.data: polling continues from it
        final: JobStatus | None = None
        idle = self.stream_idle_timeout(ctx, session)
        timeout = httpx.Timeout(connect=min(15.0, idle), read=idle, write=15.0, pool=idle)
        try:
            async with session.open_stream(shard, url, timeout) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise fal_http_error(response)
                events = EventSource(response).aiter_sse()
                async for event in events:
                    if not event.data:
                        continue
                    data = json.loads(event.data)
                    if not isinstance(data, dict):
                        raise FalProtocolError("status stream event is not an object", data)
                    status = self._to_status(ctx, job, data, cursor)
                    if status.is_terminal:
                        final = status
                        break
                    yield status
                if final is not None:
                    await _drain(events)
        except httpx.ReadTimeout:
            raise HTTPConnectionError(
                f"fal status stream was silent for {idle:.1f}s; polling instead",
                ctx.provider,
                ctx.model,
                job.provider_request_id,
                retryable=True,
            ) from None
        except TarashException:
            raise
        except Exception as exc:
            raise self._stream_failure(ctx, job, exc) from exc
        finally:
            session.release_stream(shard)
        if final is not None:
            yield final
        # A stream that ended without a final status: the orchestrator polls on.

    def _stream_failure(self, ctx: AttemptContext, job: JobRef, exc: Exception) -> TarashException:
        """Auth errors stop; anything else makes the orchestrator fall back to polling."""
        mapped = self.map_error(exc, ctx)
        status_code = getattr(exc, "status_code", None)
        if status_code in (404, 405, 501):
            job.data[_STREAM_KEY] = "unsupported"  # no stream for this job: poll from now on
        if mapped is not None and mapped.retryable is False and status_code in (401, 403):
            return mapped
        return HTTPConnectionError(
            f"fal status stream failed ({type(exc).__name__}: {exc}); polling instead",
            ctx.provider,
            ctx.model,
            job.provider_request_id,
            retryable=True,
        )

    # ------------------------------------------------------------------ 4. result

    async def result(self, ctx: AttemptContext, job: JobRef) -> BaseGenerationResponse:
        session = self.session(ctx.config)
        response = await session.request(
            "GET",
            self._endpoint(ctx, job, "response"),
            timeout=ctx.http_timeout(),
            wait_limit=session.wait_limit(max(ctx.remaining(), 2 * _CANCEL_GATE_WAIT)),
        )
        data = parse_json(response)
        if ctx.operation == "video":
            return self._video_response(ctx, job, data)
        if ctx.operation == "image":
            return self._image_response(ctx, job, data)
        async with session.transfer_slot(session.wait_limit(ctx.remaining())):
            return await fal_tts.response(ctx, job, data, _MAX_AUDIO_BYTES)

    def _empty(self, ctx: AttemptContext, job: JobRef, what: str, data: Any) -> TarashException:
        return GenerationFailedError(
            f"fal reported success but returned no {what}",
            ctx.provider,
            ctx.model,
            job.provider_request_id,
            data,
            retryable=True,
        )

    def _video_response(
        self, ctx: AttemptContext, job: JobRef, data: dict[str, Any]
    ) -> BaseGenerationResponse:
        items: list[Any] = []
        for key in ("video", "videos"):
            value = data.get(key)
            items.extend(value if isinstance(value, list) else [value] if value else [])
        files = [v for v in items if isinstance(v, dict) and isinstance(v.get("url"), str)]
        urls = [f["url"] for f in files] + [v for v in items if isinstance(v, str)]
        if not urls:
            raise self._empty(ctx, job, "video", data)
        first = files[0] if files else {}
        seed = data.get("seed")
        return ctx.video_response(
            video=urls[0],
            videos=urls,
            content_type=first.get("content_type") or "video/mp4",
            file_size=_int(first.get("file_size")),
            width=_int(first.get("width")),
            height=_int(first.get("height")),
            duration=_float(first.get("duration")),
            seed=seed if isinstance(seed, int) else None,
            provider_request_id=job.provider_request_id,
            raw_response=data,
        )

    def _image_response(
        self, ctx: AttemptContext, job: JobRef, data: dict[str, Any]
    ) -> BaseGenerationResponse:
        raw_images = data.get("images")
        if raw_images is None and data.get("image") is not None:
            raw_images = [data["image"]]
        images = [
            i if isinstance(i, dict) else {"url": i}
            for i in (raw_images if isinstance(raw_images, list) else [])
            if (isinstance(i, dict) and isinstance(i.get("url"), str)) or isinstance(i, str)
        ]
        if not images:
            raise self._empty(ctx, job, "image", data)
        flags = data.get("has_nsfw_concepts")
        warnings = list(ctx.warnings)
        if isinstance(flags, list) and flags:
            flagged = [i < len(flags) and flags[i] is True for i in range(len(images))]
            if all(flagged):
                raise ContentModerationError(
                    f"fal flagged all {len(images)} image(s) as NSFW (has_nsfw_concepts)",
                    ctx.provider,
                    ctx.model,
                    job.provider_request_id,
                    data,
                )
            if any(flagged):
                images = [img for img, bad in zip(images, flagged, strict=True) if not bad]
                warnings.append(
                    f"{sum(flagged)} image(s) flagged by fal's safety checker were dropped"
                )
        seed = data.get("seed")
        first = images[0]
        return ctx.image_response(
            images=[str(i["url"]) for i in images],
            content_type=first.get("content_type") or "image/png",
            width=_int(first.get("width")),
            height=_int(first.get("height")),
            seed=seed if isinstance(seed, int) else None,
            revised_prompt=data.get("prompt") if isinstance(data.get("prompt"), str) else None,
            provider_request_id=job.provider_request_id,
            raw_response=data,
            warnings=warnings,
        )

    # ------------------------------------------------------------------ 5. cancel

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool | CancelOutcome:
        """Ask fal to cancel ``job``: ``"cancelled"``, ``"already_completed"`` (its result
        may still be fetched), ``"not_found"``, or ``False`` when fal did not confirm.

        Other HTTP errors (5xx, 429, auth) are raised, typed by the orchestrator.
        Outcome names and codes: fal.ai/docs/inference-api/queue/cancel (202
        ``CANCELLATION_REQUESTED``, 400 ``ALREADY_COMPLETED``, 404 ``NOT_FOUND``), as
        summarised in /work/shared/research/provider-wire-protocols.md §1 (Dec 2026).
        """
        from fal_client import FalClientHTTPError

        session = self.session(ctx.config)
        try:
            response = await session.request(
                "PUT",
                self._endpoint(ctx, job, "cancel"),
                timeout=_CANCEL_TIMEOUT,
                wait_limit=min(session.settings.max_gate_wait, _CANCEL_GATE_WAIT),
            )
        except FalClientHTTPError as exc:
            body = _json_or_none(exc.response)
            state = body.get("status") if isinstance(body, dict) else None
            if state == "ALREADY_COMPLETED":
                log_info(
                    "fal job had already completed when cancelled",
                    {"request_id": ctx.request_id, "job": job.provider_request_id},
                    _LOG,
                )
                return "already_completed"
            if exc.status_code == 404:
                return "not_found"
            raise
        body = _json_or_none(response)
        state = body.get("status") if isinstance(body, dict) else None
        if state == "CANCELLATION_REQUESTED":
            return "cancelled"
        if state == "ALREADY_COMPLETED":
            return "already_completed"
        return False

    # ------------------------------------------------------------------ errors

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """fal SDK / protocol / transport exceptions → typed errors (see :mod:`.errors`)."""
        import httpx

        if isinstance(exc, TarashException):
            return exc
        status_code = getattr(exc, "status_code", None)
        response = getattr(exc, "response", None)
        if isinstance(status_code, int) and isinstance(response, httpx.Response):
            headers = getattr(exc, "response_headers", None) or dict(response.headers)
            return http_error(
                status_code,
                _json_or_none(response),
                headers,
                error_type=getattr(exc, "error_type", None),
                provider=ctx.provider,
                model=ctx.model,
            )
        if isinstance(exc, GateTimeout):
            error = HTTPConnectionError(
                str(exc), ctx.provider, ctx.model, retryable=True, request_sent=False
            )
            ctx.gate_wait_seconds += exc.waited
            return error
        if isinstance(exc, FalProtocolError):
            return GenerationFailedError(  # an answer we cannot read: outcome unknown
                str(exc), ctx.provider, ctx.model, raw_response=exc.raw, request_sent=True
            )
        if isinstance(exc, MediaTooLargeError):
            return ValidationError(str(exc), ctx.provider, ctx.model, field="media")
        if isinstance(exc, httpx.HTTPError | OSError):
            return error_from_transport(
                exc, provider=ctx.provider, model=ctx.model, timeout_seconds=ctx.config.timeout
            )
        if isinstance(exc, json.JSONDecodeError):
            return GenerationFailedError(
                f"fal sent malformed JSON: {exc}", ctx.provider, ctx.model, request_sent=True
            )
        return None


def _unknown_submission(ctx: AttemptContext, why: str) -> HTTPConnectionError:
    """fal answered 200 to a submission we cannot read: it most likely accepted the job."""
    error = HTTPConnectionError(
        f"fal answered the submission with HTTP 200 but {why}; the job may have been "
        "accepted (outcome unknown)",
        ctx.provider,
        ctx.model,
        retryable=True,
        request_sent=True,
    )
    return error


async def _drain(events: AsyncIterator[Any], budget: float = 0.05) -> None:
    """Read a finished stream to its end (briefly), so its connection can be reused."""
    try:
        async with asyncio.timeout(budget):
            async for _ in events:
                pass
    except Exception:  # noqa: S110 - the job is done; closing the connection is enough
        pass


def _with_logs(status_url: str, *, stream: bool = False) -> str:
    """``status_url`` (or its ``/stream`` variant) asking for logs, keeping any query."""
    base, _, query = status_url.partition("?")
    if stream:
        base += "/stream"
    return f"{base}?{query + '&' if query else ''}logs=1"


def _json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except Exception:
        return None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
