"""xAI Grok Imagine (images and video) through the official ``xai-sdk`` (gRPC).

* The SDK is imported lazily, when the first client is built. Clients come from
  the shared cache (one ``xai_sdk.AsyncClient`` per key / base URL / event loop).
* Endpoint: ``api.x.ai:443`` over TLS by default. ``config.base_url`` overrides it:
  ``https://host[:port]`` (or ``grpcs://``) is TLS, ``http://host:port`` (or
  ``grpc://``) is **plaintext gRPC** — meant for local emulators and trusted
  proxies only; the key still travels as ``authorization: Bearer`` metadata.
* The SDK's own gRPC retry policy (UNAVAILABLE ×5) is switched off so that the
  orchestrator alone retries and falls back; the per-RPC deadline is
  ``provider_config["rpc_timeout"]`` (seconds) or the config's ``timeout``.
* Images: one ``GenerateImage`` call (``n`` images; URLs or base64). Images the
  service withheld (``respect_moderation=False``) are dropped with a warning;
  when every image was withheld the call fails with ContentModerationError.
* Video: ``GenerateVideo`` → a deferred job (JobRef = ``request_id``), polled with
  ``GetDeferredVideo`` (PENDING + progress / DONE / FAILED / EXPIRED). xAI has no
  cancel RPC, so ``cancel`` reports False (an abandoned job may still bill).
* gRPC status → error: INVALID_ARGUMENT/OUT_OF_RANGE → ValidationError,
  UNAUTHENTICATED/PERMISSION_DENIED → AuthenticationError, RESOURCE_EXHAUSTED →
  retryable RateLimitError, UNAVAILABLE/CANCELLED → retryable HTTPConnectionError,
  DEADLINE_EXCEEDED → retryable TimeoutError, INTERNAL/UNKNOWN/ABORTED/DATA_LOSS →
  retryable HTTPError, NOT_FOUND/FAILED_PRECONDITION/UNIMPLEMENTED → HTTPError
  (not retried); details mentioning moderation → ContentModerationError.
"""

from __future__ import annotations

import json
import mimetypes
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    RateLimitError,
    TarashException,
    TarashTimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.http import parse_retry_after
from tarash.tarash_gateway.jobs import JobRef, JobStatus, Operation
from tarash.tarash_gateway.media import MediaInput, check_media_sizes
from tarash.tarash_gateway.models import BaseGenerationConfig, BaseGenerationRequest, Cost
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
    Prepared,
    walk_media,
)
from tarash.tarash_gateway.providers.field_mappers import FieldMapper
from tarash.tarash_gateway.providers.xai.field_mappings import (
    GROK_IMAGINE_IMAGE,
    GROK_IMAGINE_VIDEO,
    IMAGE_OPTION_KEYS,
    IMAGE_SDK_KWARGS,
    VIDEO_OPTION_KEYS,
    VIDEO_SDK_KWARGS,
)

__all__ = ["DEFAULT_API_HOST", "XAIProviderHandler", "grpc_target"]

DEFAULT_API_HOST = "api.x.ai"
USD_PER_TICK = 1e-10
_MIB = 1 << 20
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    # The SDK's default service config retries UNAVAILABLE 5×; the orchestrator decides instead.
    ("grpc.enable_retries", 0),
    ("grpc.service_config", json.dumps({"methodConfig": [{"name": [{}]}]})),
    # n base64 images at 2k can exceed the SDK's 20 MiB receive cap.
    ("grpc.max_receive_message_length", 128 * _MIB),
)
_INSECURE_SCHEMES = {"http": 80, "grpc": 80}
_SECURE_SCHEMES = {"https": 443, "grpcs": 443}


def grpc_target(base_url: str | None) -> tuple[str, bool]:
    """``(host:port, insecure)`` for the SDK from a base URL (``None`` → api.x.ai over TLS).

    Raises:
        ValueError: unsupported scheme or a URL with a path.
    """
    if not base_url:
        return DEFAULT_API_HOST, False
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    if scheme not in _INSECURE_SCHEMES and scheme not in _SECURE_SCHEMES:
        raise ValueError(
            f"base_url scheme {scheme!r} is not supported for gRPC; use https:// (TLS) or "
            "http:// (plaintext gRPC, local emulators/proxies only)"
        )
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"a gRPC base_url takes no path or query: {base_url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"base_url has no host: {base_url!r}")
    insecure = scheme in _INSECURE_SCHEMES
    port = parts.port or (_INSECURE_SCHEMES.get(scheme) or _SECURE_SCHEMES[scheme])
    host_text = f"[{host}]" if ":" in host else host
    return f"{host_text}:{port}", insecure


class XAIProviderHandler(BaseProviderHandler):
    """Grok Imagine image generation/editing and deferred video generation."""

    name: ClassVar[str] = "xai"
    operations: ClassVar[frozenset[Operation]] = frozenset({"image", "video"})
    api_key_env: ClassVar[tuple[str, ...]] = ("XAI_API_KEY",)

    # ------------------------------------------------------------------ prepare

    def generic_field_mappers(self, operation: Operation) -> dict[str, FieldMapper] | None:
        """A model not in the catalog yet: the grok-imagine fields (the SDK's usual names)."""
        return dict(GROK_IMAGINE_VIDEO if operation == "video" else GROK_IMAGINE_IMAGE)

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Registry mappings plus checks of the endpoint, deadline and pass-through keys."""
        self._check_config(config)
        is_video_model = "video" in config.model
        if is_video_model != (operation == "video"):
            kind = "video" if is_video_model else "image"
            raise ValidationError(
                f"model {config.model!r} is an xAI {kind} model; it cannot do {operation} "
                "generation",
                self.name,
                config.model,
                field="model",
            )
        payload, key = super().prepare_payload(operation, config, request, warnings)
        allowed = IMAGE_SDK_KWARGS if operation == "image" else VIDEO_SDK_KWARGS
        unknown = sorted(set(self.passthrough_params(request)) - allowed - set(payload))
        if unknown:
            raise ValidationError(
                f"xai {operation} generation does not take: {', '.join(unknown)} "
                f"(accepted pass-through keys: {', '.join(sorted(allowed))})",
                self.name,
                config.model,
                field=unknown[0],
                errors=[{"field": k, "message": "unknown xai parameter"} for k in unknown],
            )
        return payload, key

    def passthrough_params(self, request: BaseGenerationRequest) -> dict[str, Any]:
        """Pass-through keys, minus the options the field mappings already validated."""
        owned = IMAGE_OPTION_KEYS | VIDEO_OPTION_KEYS
        return {k: v for k, v in super().passthrough_params(request).items() if k not in owned}

    def _check_config(self, config: BaseGenerationConfig) -> None:
        try:
            grpc_target(config.base_url)
        except ValueError as exc:
            raise ValidationError(str(exc), self.name, config.model, field="base_url") from exc
        self._rpc_timeout(config)

    def _rpc_timeout(self, config: BaseGenerationConfig) -> float:
        value = config.provider_config.get("rpc_timeout", config.timeout)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValidationError(
                f"provider_config['rpc_timeout'] must be a positive number of seconds, "
                f"got {value!r}",
                self.name,
                config.model,
                field="provider_config.rpc_timeout",
            )
        return float(value)

    # ------------------------------------------------------------------ client

    def _sdk(self, config: BaseGenerationConfig) -> Any:
        """The cached ``xai_sdk.AsyncClient`` (SDK retries off, deadline = rpc_timeout)."""
        host, insecure = grpc_target(config.base_url)
        rpc_timeout = self._rpc_timeout(config)
        api_key = self.api_key(config)

        def factory() -> Any:
            import xai_sdk

            return xai_sdk.AsyncClient(
                api_key=api_key,
                api_host=host,
                use_insecure_channel=insecure,
                channel_options=list(CHANNEL_OPTIONS),
                timeout=rpc_timeout,
            )

        return self.client(config, factory, kind=("grpc", rpc_timeout))

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        """Images: the finished response. Video: a JobRef for the deferred request."""
        if prepared.operation == "video":
            return await self._submit_video(ctx, prepared)
        return await self._generate_images(ctx, prepared)

    async def _media(self, ctx: AttemptContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Media inputs → URL (passed through) or a base64 data URI."""

        async def convert(media: MediaInput) -> str:
            try:
                return await media.as_url_or_data_uri(ctx.config.max_input_bytes)
            except ValueError as exc:
                raise ValidationError(
                    f"input media cannot be sent: {exc}", self.name, ctx.model
                ) from exc

        await check_media_sizes(
            payload, ctx.config.max_input_bytes, provider=self.name, model=ctx.model
        )
        result: dict[str, Any] = await walk_media(payload, convert)
        return result

    async def _generate_images(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        payload = await self._media(ctx, dict(prepared.payload))
        prompt = payload.pop("prompt")
        n = int(payload.pop("n", 1))
        edits = payload.pop("image_urls", None) or []
        if len(edits) == 1:
            payload["image_url"] = edits[0]
        elif edits:
            payload["image_urls"] = edits
        client = self._sdk(ctx.config)
        await ctx.emit(JobStatus(state="processing", raw={"rpc": "GenerateImage"}))
        try:
            responses = await client.image.sample_batch(prompt, ctx.model, n, **payload)
        except IndexError as exc:  # the SDK indexes n images; fewer came back
            raise GenerationFailedError(
                f"xai returned fewer images than the {n} requested",
                self.name,
                ctx.model,
                retryable=True,
            ) from exc
        return self._image_response(ctx, responses[0].proto, n)

    def _image_response(self, ctx: AttemptContext, proto: Any, requested: int) -> Any:
        images: list[str] = []
        content_type: str | None = None
        withheld = 0
        for image in proto.images:
            if not image.respect_moderation:
                withheld += 1
                continue
            if image.base64:
                mime, data = _split_data_uri(image.base64)
                content_type = content_type or mime
                images.append(data)
            elif image.url:
                content_type = content_type or _type_from_url(image.url)
                images.append(image.url)
        raw = _image_raw(proto)
        if not images:
            if withheld:
                raise ContentModerationError(
                    f"xai withheld all {withheld} generated image(s) for moderation "
                    "(respect_moderation=false)",
                    self.name,
                    ctx.model,
                    raw_response=raw,
                )
            raise GenerationFailedError(
                "xai returned no image", self.name, ctx.model, raw_response=raw, retryable=True
            )
        warnings = list(ctx.warnings)
        if withheld:
            warnings.append(
                f"xai withheld {withheld} of {len(proto.images)} image(s) for moderation"
            )
        if len(proto.images) < requested:
            warnings.append(f"xai returned {len(proto.images)} of {requested} requested images")
        return ctx.image_response(
            images=images,
            content_type=content_type or "image/jpeg",
            raw_response=raw,
            cost=_cost(proto.usage),
            warnings=warnings,
        )

    async def _submit_video(self, ctx: AttemptContext, prepared: Prepared) -> JobRef:
        payload = await self._media(ctx, dict(prepared.payload))
        prompt = payload.pop("prompt", "")
        client = self._sdk(ctx.config)
        started = await client.video.start(prompt, ctx.model, **payload)
        if not started.request_id:
            raise GenerationFailedError(
                "xai accepted the video request without a request_id",
                self.name,
                ctx.model,
                retryable=True,
            )
        data = {k: payload[k] for k in ("duration", "aspect_ratio", "resolution") if k in payload}
        return ctx.job(started.request_id, data=data)

    # ------------------------------------------------------------------ jobs

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        """One ``GetDeferredVideo`` poll, normalised."""
        from xai_sdk.proto import deferred_pb2

        response = await self._sdk(ctx.config).video.get(job.provider_request_id)
        status = response.status
        name = deferred_pb2.DeferredStatus.Name(status)
        inner = response.response
        raw: dict[str, Any] = {"status": name, "progress": inner.progress}
        if status == deferred_pb2.DeferredStatus.PENDING:
            progress = inner.progress if 0 < inner.progress <= 100 else None
            return JobStatus(state="processing", progress_percent=progress, raw=raw)
        if status == deferred_pb2.DeferredStatus.DONE:
            if not inner.video.respect_moderation:
                error = ContentModerationError(
                    "xai withheld the generated video for moderation (respect_moderation=false)",
                    self.name,
                    ctx.model,
                    job.provider_request_id,
                    raw,
                )
                return JobStatus(state="failed", message=error.message, error=error, raw=raw)
            ctx.job_state["finished"] = (job.provider_request_id, response)
            return JobStatus(state="completed", progress_percent=100, raw=raw)
        if status == deferred_pb2.DeferredStatus.FAILED:
            code, message = inner.error.code, inner.error.message
            raw["error"] = {"code": code, "message": message}
            failure = self._job_failure(ctx, job, code, message, raw)
            return JobStatus(state="failed", message=failure.message, error=failure, raw=raw)
        if status == deferred_pb2.DeferredStatus.EXPIRED:
            expired = GenerationFailedError(
                f"xai video request {job.provider_request_id} expired before it finished",
                self.name,
                ctx.model,
                job.provider_request_id,
                raw,
                retryable=True,
            )
            return JobStatus(state="failed", message=expired.message, error=expired, raw=raw)
        return JobStatus(state="queued", raw=raw)

    def _job_failure(
        self, ctx: AttemptContext, job: JobRef, code: str, message: str, raw: dict[str, Any]
    ) -> TarashException:
        text = f"xai video generation failed [{code or 'unknown'}]: {message or 'no detail'}"
        lowered = f"{code} {message}".lower()
        rid = job.provider_request_id
        if "moderat" in lowered or "content_policy" in lowered or "safety" in lowered:
            return ContentModerationError(text, self.name, ctx.model, rid, raw)
        if "invalid" in lowered:
            return ValidationError(text, self.name, ctx.model, rid, raw)
        transient = any(w in lowered for w in ("internal", "timeout", "unavailable", "overload"))
        return GenerationFailedError(
            text, self.name, ctx.model, rid, raw, retry_same_config=transient
        )

    async def result(self, ctx: AttemptContext, job: JobRef) -> Any:
        """The finished video (a URL the provider keeps for about 24 h)."""
        from xai_sdk.proto import deferred_pb2

        cached = ctx.job_state.pop("finished", None)
        if cached is not None and cached[0] == job.provider_request_id:
            response = cached[1]
        else:
            response = await self._sdk(ctx.config).video.get(job.provider_request_id)
        if response.status != deferred_pb2.DeferredStatus.DONE:
            raise GenerationFailedError(
                f"xai video {job.provider_request_id} is not done "
                f"({deferred_pb2.DeferredStatus.Name(response.status)})",
                self.name,
                ctx.model,
                job.provider_request_id,
                retryable=True,
            )
        inner = response.response
        video = inner.video
        raw = _video_raw(response)
        if not video.respect_moderation:
            raise ContentModerationError(
                "xai withheld the generated video for moderation (respect_moderation=false)",
                self.name,
                ctx.model,
                job.provider_request_id,
                raw,
            )
        if not video.url:
            raise GenerationFailedError(
                "xai reported the video done but gave no URL",
                self.name,
                ctx.model,
                job.provider_request_id,
                raw,
                retryable=True,
            )
        return ctx.video_response(
            video=video.url,
            content_type="video/mp4",
            duration=float(video.duration) if video.duration else None,
            resolution=job.data.get("resolution"),
            aspect_ratio=job.data.get("aspect_ratio"),
            provider_request_id=job.provider_request_id,
            raw_response=raw,
            cost=_cost(inner.usage),
        )

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
        """xAI offers no way to cancel a deferred video: never confirmed."""
        return False

    # ------------------------------------------------------------------ errors

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """gRPC status codes → typed errors; SDK argument errors → ValidationError."""
        import grpc

        if isinstance(exc, grpc.RpcError) and callable(getattr(exc, "code", None)):
            return self._rpc_error(exc, ctx)
        if isinstance(exc, ValueError):
            return ValidationError(f"xai rejected the arguments: {exc}", self.name, ctx.model)
        return None

    def _rpc_error(self, exc: Any, ctx: AttemptContext) -> TarashException:
        import grpc

        code = exc.code()
        details = str(exc.details() or "") if callable(getattr(exc, "details", None)) else ""
        name = getattr(code, "name", str(code))
        text = f"xai {name}: {details}" if details else f"xai {name}"
        raw = {"grpc_status": name, "details": details}
        args = (text, self.name, ctx.model, None, raw)
        lowered = details.lower()
        codes = grpc.StatusCode
        if code in (codes.INVALID_ARGUMENT, codes.PERMISSION_DENIED) and "moderat" in lowered:
            return ContentModerationError(*args)
        if code in (codes.INVALID_ARGUMENT, codes.OUT_OF_RANGE):
            return ValidationError(*args)
        if code in (codes.UNAUTHENTICATED, codes.PERMISSION_DENIED):
            status = 401 if code == codes.UNAUTHENTICATED else 403
            return AuthenticationError(*args, status_code=status)
        if code == codes.RESOURCE_EXHAUSTED:
            if "larger than max" in lowered:  # a gRPC message-size limit, not a rate limit
                return ValidationError(f"{text} (request or response too large)", *args[1:])
            retry_after = parse_retry_after(_metadata(exc))
            return RateLimitError(*args, retry_after=retry_after)
        if code == codes.DEADLINE_EXCEEDED:
            return TarashTimeoutError(*args, timeout_seconds=self._rpc_timeout(ctx.config))
        if code in (codes.UNAVAILABLE, codes.CANCELLED):
            # gRPC's UNAVAILABLE is "not always safe to retry" for non-idempotent calls,
            # unless the channel never connected (then the request never left).
            never_left = code == codes.UNAVAILABLE and any(
                hint in lowered for hint in _NEVER_CONNECTED
            )
            return HTTPConnectionError(*args, request_sent=not never_left)
        if code in (codes.INTERNAL, codes.UNKNOWN, codes.DATA_LOSS):
            return HTTPError(*args, status_code=500, retryable=True)
        if code == codes.ABORTED:
            return HTTPError(*args, status_code=409, retryable=True)
        if code == codes.NOT_FOUND:
            return HTTPError(*args, status_code=404, retryable=False)
        if code == codes.UNIMPLEMENTED:
            return HTTPError(*args, status_code=501, retryable=False)
        return HTTPError(*args, status_code=400, retryable=False)  # FAILED_PRECONDITION …


# --------------------------------------------------------------------------- helpers

_NEVER_CONNECTED = (
    "failed to connect",
    "connection refused",
    "dns resolution failed",
    "name resolution",
)
"""gRPC core's wording when a channel could not be established (the RPC never left)."""


def _split_data_uri(value: str) -> tuple[str | None, str]:
    """``data:image/jpeg;base64,XXX`` → ``("image/jpeg", "XXX")``; plain base64 unchanged."""
    if value.startswith("data:") and "," in value:
        head, data = value.split(",", 1)
        mime = head[5:].split(";", 1)[0] or None
        return mime, data
    return None, value


def _type_from_url(url: str) -> str | None:
    guessed = mimetypes.guess_type(urlsplit(url).path)[0]
    return guessed if guessed and guessed.startswith("image/") else None


def _cost(usage: Any) -> Cost | None:
    if usage is None or not usage.HasField("cost_in_usd_ticks"):
        return None
    ticks = int(usage.cost_in_usd_ticks)
    return Cost(amount=ticks * USD_PER_TICK, unit="usd", detail={"cost_in_usd_ticks": ticks})


def _metadata(exc: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    getter = getattr(exc, "trailing_metadata", None)
    for item in (getter() if callable(getter) else None) or ():
        key, value = item[0], item[1]
        if isinstance(value, str):
            out[str(key).lower()] = value
    return out


def _image_raw(proto: Any) -> dict[str, Any]:
    return {
        "model": proto.model,
        "images": [
            {
                "url": image.url or None,
                "base64": f"<{len(image.base64)} chars>" if image.base64 else None,
                "respect_moderation": image.respect_moderation,
            }
            for image in proto.images
        ],
        "usage": _usage(proto.usage),
    }


def _video_raw(response: Any) -> dict[str, Any]:
    from xai_sdk.proto import deferred_pb2

    inner = response.response
    return {
        "status": deferred_pb2.DeferredStatus.Name(response.status),
        "model": inner.model,
        "video": {
            "url": inner.video.url,
            "duration": inner.video.duration,
            "respect_moderation": inner.video.respect_moderation,
        },
        "progress": inner.progress,
        "usage": _usage(inner.usage),
    }


def _usage(usage: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.HasField("cost_in_usd_ticks"):
        out["cost_in_usd_ticks"] = usage.cost_in_usd_ticks
    return out
