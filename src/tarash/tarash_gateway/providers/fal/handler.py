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
  breaks or all stream slots are taken, the orchestrator polls ``status``.
* **status** — ``IN_QUEUE`` (queue position), ``IN_PROGRESS`` (new log lines,
  a percentage when the logs carry one), ``COMPLETED`` (with ``error`` /
  ``error_type`` → failed with a typed error).
* **result** — ``GET`` the response URL; images / video / audio converted.
* **cancel** — ``PUT`` the cancel URL; ``CANCELLATION_REQUESTED`` and
  ``ALREADY_COMPLETED`` both mean nothing keeps running.

How the SDK is used and how ``base_url`` is honoured: :mod:`.session`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from tarash.tarash_gateway._secrets import register_secret
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
from tarash.tarash_gateway.media import MediaInput, MediaTooLargeError, extension_for
from tarash.tarash_gateway.models import (
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    TTSRequest,
)
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
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
    fal_http_error,
    parse_json,
)
from tarash.tarash_gateway.providers.field_mappers import FieldMapper, match_model_key
from tarash.tarash_gateway.webhook_hint import provider_webhook_url

__all__ = ["FalProviderHandler"]

_LOG = "providers.fal"
_PERCENT_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s?%")
_MAX_CURSORS = 20_000
_STATUS_TIMEOUT_CAP = 30.0
_STREAM_RECONNECTS = 3
_MAX_AUDIO_BYTES = 200 * 1024 * 1024


@dataclass
class _LogCursor:
    """Which log lines of a job were already reported (fal may send them cumulatively)."""

    count: int = 0
    last: tuple[Any, Any] | None = None

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


def _log_key(entry: dict[str, Any]) -> tuple[Any, Any]:
    return (entry.get("timestamp"), entry.get("message"))


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

    def __init__(self) -> None:
        self._cursors: dict[str, _LogCursor] = {}

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
            url = await session.upload(data, content_type, file_name, ctx.http_timeout())
            uploaded[id(media)] = url
            log_debug(
                "Uploaded media to fal storage",
                {"request_id": ctx.request_id, "bytes": len(data), "content_type": content_type},
                _LOG,
            )
            return url

        payload = await walk_media(prepared.payload, to_url)
        headers: dict[str, str] = {}
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
        )
        data = parse_json(response)
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise FalProtocolError("fal queue submission response has no request_id", data)
        base = session.endpoints.request_url(ctx.model, request_id)
        endpoints = {
            "status": str(data.get("status_url") or f"{base}/status"),
            "response": str(data.get("response_url") or base),
            "cancel": str(data.get("cancel_url") or f"{base}/cancel"),
        }
        return ctx.job(request_id, endpoints=endpoints, data={"app_id": ctx.model})

    # ------------------------------------------------------------------ 3. status / watch

    def _endpoint(self, ctx: AttemptContext, job: JobRef, which: str) -> str:
        url = job.endpoints.get(which)
        if url:
            return url
        base = self.session(ctx.config).endpoints.request_url(
            str(job.data.get("app_id") or job.model), job.provider_request_id
        )
        return {"status": f"{base}/status", "response": base, "cancel": f"{base}/cancel"}[which]

    def _cursor(self, job: JobRef) -> _LogCursor:
        cursor = self._cursors.get(job.provider_request_id)
        if cursor is None:
            if len(self._cursors) >= _MAX_CURSORS:
                self._cursors.pop(next(iter(self._cursors)))
            cursor = self._cursors[job.provider_request_id] = _LogCursor()
        return cursor

    def _to_status(
        self, ctx: AttemptContext, job: JobRef, data: dict[str, Any], cursor: _LogCursor
    ) -> JobStatus:
        state = data.get("status")
        raw_logs = data.get("logs")
        logs = [e for e in raw_logs if isinstance(e, dict)] if isinstance(raw_logs, list) else []
        lines = _log_lines(cursor.advance(logs))
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
        )
        status = self._to_status(ctx, job, parse_json(response), self._cursor(job))
        if status.is_terminal:
            self._cursors.pop(job.provider_request_id, None)
        return status

    def watch(self, ctx: AttemptContext, job: JobRef) -> AsyncIterator[JobStatus] | None:
        """fal's status stream (SSE); ``None`` (→ polling) when streaming is off for the config."""
        session = self.session(ctx.config)
        if session.settings.max_streams == 0 or not session.stream_supported:
            return None
        return self._watch(ctx, job)

    async def _watch(self, ctx: AttemptContext, job: JobRef) -> AsyncIterator[JobStatus]:
        import httpx
        from httpx_sse import EventSource

        session = self.session(ctx.config)
        shard = session.acquire_stream()
        if shard is None:
            return  # streams off or all slots taken: the orchestrator polls instead
        url = _with_logs(self._endpoint(ctx, job, "status"), stream=True)
        cursor = self._cursor(job)  # shared with polling, should the stream break
        final: JobStatus | None = None
        idle = session.settings.stream_idle_timeout
        try:
            for _attempt in range(_STREAM_RECONNECTS + 1):
                timeout = httpx.Timeout(
                    connect=min(15.0, ctx.http_timeout()), read=idle, write=30.0, pool=30.0
                )
                try:
                    async with shard.client.stream("GET", url, timeout=timeout) as response:
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
                    log_debug(
                        "fal status stream idle; reconnecting",
                        {"request_id": ctx.request_id, "job": job.provider_request_id},
                        _LOG,
                    )
                    continue
                break
        except TarashException:
            raise
        except Exception as exc:
            raise self._stream_failure(ctx, session, exc) from exc
        finally:
            session.release_stream(shard)
        if final is not None:
            self._cursors.pop(job.provider_request_id, None)
            yield final

    def _stream_failure(
        self, ctx: AttemptContext, session: FalSession, exc: Exception
    ) -> TarashException:
        """Auth errors stop; anything else makes the orchestrator fall back to polling."""
        mapped = self.map_error(exc, ctx)
        status_code = getattr(exc, "status_code", None)
        if status_code in (404, 405, 501):
            session.stream_supported = False  # this endpoint has no stream: poll from now on
        if mapped is not None and mapped.retryable is False and status_code in (401, 403):
            return mapped
        return HTTPConnectionError(
            f"fal status stream failed ({type(exc).__name__}: {exc}); polling instead",
            ctx.provider,
            ctx.model,
            retryable=True,
        )

    # ------------------------------------------------------------------ 4. result

    async def result(self, ctx: AttemptContext, job: JobRef) -> BaseGenerationResponse:
        self._cursors.pop(job.provider_request_id, None)
        session = self.session(ctx.config)
        response = await session.request(
            "GET", self._endpoint(ctx, job, "response"), timeout=ctx.http_timeout()
        )
        data = parse_json(response)
        if ctx.operation == "video":
            return self._video_response(ctx, job, data)
        if ctx.operation == "image":
            return self._image_response(ctx, job, data)
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

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
        from fal_client import FalClientHTTPError

        self._cursors.pop(job.provider_request_id, None)
        session = self.session(ctx.config)
        try:
            response = await session.request(
                "PUT", self._endpoint(ctx, job, "cancel"), timeout=ctx.http_timeout(15.0)
            )
        except FalClientHTTPError as exc:
            body = _json_or_none(exc.response)
            outcome = body.get("status") if isinstance(body, dict) else None
            if outcome == "ALREADY_COMPLETED":
                log_info(
                    "fal job had already completed when cancelled",
                    {"request_id": ctx.request_id, "job": job.provider_request_id},
                    _LOG,
                )
                return True
            if exc.status_code == 404:
                return False
            raise
        body = _json_or_none(response)
        outcome = body.get("status") if isinstance(body, dict) else None
        return outcome in ("CANCELLATION_REQUESTED", "ALREADY_COMPLETED") or (
            outcome is None and response.status_code in (200, 202)
        )

    # ------------------------------------------------------------------ errors

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
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
