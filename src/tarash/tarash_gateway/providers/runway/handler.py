"""Runway: text-to-video, image-to-video (first/last frame) and text-to-image tasks.

Driven through the official ``runwayml`` SDK's async client (``AsyncRunwayML``) with
``max_retries=0`` — the orchestrator alone retries and falls back. Every generation is a
task: created with ``POST /v1/{text_to_video|image_to_video|text_to_image}``, observed with
``GET /v1/tasks/{id}`` (PENDING and THROTTLED are queued states, RUNNING reports
``progress`` 0..1), cancelled with ``DELETE /v1/tasks/{id}``. The SDK's own waiter is not
used: the gateway polls with its own cadence and deadline.

Local media (bytes, base64, files) is uploaded with ``uploads.create_ephemeral`` and sent
as a ``runway://`` URI; URLs pass through. ``provider_config={"media": "data_uri"}`` inlines
media under Runway's 5 MB data-URI limit instead (``"auto"``: inline when small enough).
``config.api_version`` sets the ``X-Runway-Version`` header (default: the SDK's).

Runway reports credits: ``estimatedCost`` while a task runs and ``cost`` once it ends;
responses carry ``Cost(amount=credits, unit="credits", source="provider")``.
"""

from __future__ import annotations

import inspect
import json
import mimetypes
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlparse

from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_status, error_from_transport
from tarash.tarash_gateway.jobs import JobRef, JobState, JobStatus, Operation
from tarash.tarash_gateway.media import (
    MediaInput,
    MediaTooLargeError,
    check_media_sizes,
    extension_for,
    to_data_uri,
)
from tarash.tarash_gateway.models import (
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    Cost,
)
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
    CancelOutcome,
    Prepared,
    Submission,
    walk_media,
)
from tarash.tarash_gateway.providers.field_mappers import FieldMapper, field_errors
from tarash.tarash_gateway.providers.runway.field_mappings import (
    GENERIC_IMAGE_MAPPERS,
    GENERIC_VIDEO_MAPPERS,
    IMAGE_SPECS,
    RETIRED_MODELS,
    VIDEO_SPECS,
)

if TYPE_CHECKING:
    from runwayml import AsyncRunwayML

__all__ = ["RunwayProviderHandler"]

Endpoint = Literal["text_to_video", "image_to_video", "text_to_image"]

_STATES: dict[str, JobState] = {
    "PENDING": "queued",
    "THROTTLED": "queued",
    "RUNNING": "processing",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
}
_OPTIONS = frozenset({"media"})
_DATA_URI_LIMIT = 5 * 1024 * 1024
_MAX_TRACKED = 2048
_SDK_OWN = frozenset({"self", "extra_headers", "extra_query", "extra_body", "timeout"})


def _media_policy(config: BaseGenerationConfig) -> str:
    raw = config.provider_config
    unknown = sorted(set(raw) - _OPTIONS)
    if unknown:
        raise ValidationError(
            f"unknown runway provider_config key(s): {', '.join(unknown)} (accepted: media)",
            "runway",
            config.model,
            field=f"provider_config.{unknown[0]}",
        )
    policy = raw.get("media", "upload")
    if policy not in ("upload", "data_uri", "auto"):
        raise ValidationError(
            f"provider_config['media'] must be 'upload', 'data_uri' or 'auto', got {policy!r}",
            "runway",
            config.model,
            field="provider_config.media",
        )
    return str(policy)


def _endpoint(operation: Operation, payload: Mapping[str, Any]) -> Endpoint:
    if operation == "image":
        return "text_to_image"
    return "image_to_video" if payload.get("prompt_image") is not None else "text_to_video"


def _content_type(url: str, default: str) -> str:
    return mimetypes.guess_type(urlparse(url).path)[0] or default


def _credits(task: Any) -> float | None:
    cost = getattr(task, "cost", None) or getattr(task, "estimated_cost", None)
    value = getattr(cost, "credits", None)
    return float(value) if isinstance(value, int | float) else None


def _dump(task: Any) -> dict[str, Any]:
    """The task as Runway sent it (camelCase), whatever the SDK made of it."""
    dump = getattr(task, "model_dump", None)
    if callable(dump):
        result: dict[str, Any] = dump(mode="json", by_alias=True)
        return result
    return {"unparsed": str(task)[:2000]}


def _bounded_put(table: OrderedDict[str, Any], key: str, value: Any) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > _MAX_TRACKED:
        table.popitem(last=False)


class RunwayProviderHandler(BaseProviderHandler):
    """Video (text/image-to-video) and image generation on Runway's API."""

    name: ClassVar[str] = "runway"
    operations: ClassVar[frozenset[Operation]] = frozenset({"video", "image"})
    api_key_env: ClassVar[tuple[str, ...]] = ("RUNWAYML_API_SECRET",)
    base_url_env: ClassVar[tuple[str, ...]] = ("RUNWAYML_BASE_URL",)  # read by the SDK itself

    # ------------------------------------------------------------------ prepare

    def generic_field_mappers(self, operation: Operation) -> dict[str, FieldMapper] | None:
        """A model not in the catalog yet: the common fields under Runway's usual names."""
        return dict(GENERIC_VIDEO_MAPPERS if operation == "video" else GENERIC_IMAGE_MAPPERS)

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Registry mapping; retired models get a pointer to their successor."""
        retired = RETIRED_MODELS.get(config.model)
        if retired is not None:
            raise ValidationError(retired, self.name, config.model, field="model")
        specs: Mapping[str, Any] = VIDEO_SPECS if operation == "video" else IMAGE_SPECS
        other: Mapping[str, Any] = IMAGE_SPECS if operation == "video" else VIDEO_SPECS
        if config.model in other and config.model not in specs:
            raise ValidationError(
                f"Runway model {config.model!r} does not do {operation} generation",
                self.name,
                config.model,
                field="model",
            )
        return super().prepare_payload(operation, config, request, warnings)

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        """Map the request, then check the final ratio/duration (passthrough included)."""
        _media_policy(config)
        prepared = super().prepare(operation, config, request)
        self._check_payload(operation, config, prepared.payload)
        return prepared

    def _check_payload(
        self, operation: Operation, config: BaseGenerationConfig, payload: dict[str, Any]
    ) -> None:
        """Ratios and durations against the SDK's Literal tables, after overrides."""
        errors: list[dict[str, Any]] = []
        ratio = payload.get("ratio")
        if operation == "image":
            image_spec = IMAGE_SPECS.get(config.model)
            if image_spec is not None and ratio is not None and ratio not in image_spec.ratios:
                errors.append(
                    {
                        "field": "ratio",
                        "message": f"{ratio!r} not in {', '.join(image_spec.ratios)}",
                    }
                )
        else:
            spec = VIDEO_SPECS.get(config.model)
            if spec is not None:
                endpoint = _endpoint(operation, payload)
                allowed = spec.i2v_ratios if endpoint == "image_to_video" else spec.t2v_ratios
                if ratio is not None and ratio not in (allowed or ()):
                    offered = ", ".join(allowed or ()) or "none (the first frame sets it)"
                    errors.append(
                        {"field": "ratio", "message": f"{ratio!r} not offered; ratios: {offered}"}
                    )
                duration = payload.get("duration")
                if duration is not None:
                    low, high = spec.duration_range or (0, 10**6)
                    ok = (
                        duration in spec.durations
                        if spec.durations is not None
                        else isinstance(duration, int) and low <= duration <= high
                    )
                    if not ok:
                        errors.append(
                            {"field": "duration", "message": f"{duration!r} not supported"}
                        )
        if errors:
            raise field_errors(errors, self.name, config.model)

    # ------------------------------------------------------------------ client

    def _client(self, config: BaseGenerationConfig) -> AsyncRunwayML:
        api_key = self.api_key(config)

        def factory() -> AsyncRunwayML:
            import httpx
            from runwayml import AsyncRunwayML

            return AsyncRunwayML(
                api_key=api_key,
                base_url=config.base_url or None,
                runway_version=config.api_version or None,
                max_retries=0,
                timeout=httpx.Timeout(60.0, connect=15.0),
            )

        return self.client(config, factory)

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Submission:
        """Upload local media, then create the task (a JobRef to poll)."""
        policy = _media_policy(ctx.config)
        client = self._client(ctx.config)
        done: dict[int, str] = {}

        async def convert(media: MediaInput) -> str:
            if id(media) not in done:
                done[id(media)] = await self._media(ctx, client, media, policy)
            return done[id(media)]

        await check_media_sizes(
            prepared.payload, ctx.config.max_input_bytes, provider=self.name, model=ctx.model
        )
        payload: dict[str, Any] = await walk_media(prepared.payload, convert)
        endpoint = _endpoint(prepared.operation, payload)
        resource: Any = getattr(client, endpoint)
        accepted = set(inspect.signature(resource.create).parameters) - _SDK_OWN
        kwargs = {k: v for k, v in payload.items() if k in accepted}
        extra_body = {k: v for k, v in payload.items() if k not in accepted}
        task = await resource.create(
            model=ctx.model,
            **kwargs,
            extra_body=extra_body or None,
            timeout=ctx.http_timeout(),
        )
        if not isinstance(getattr(task, "id", None), str):
            raise HTTPError(
                f"Runway accepted the {endpoint} request but sent no task id",
                self.name,
                ctx.model,
                raw_response=_dump(task),
                retryable=True,
            )
        task_id = str(task.id)
        base = str(client.base_url).rstrip("/")
        return ctx.job(
            task_id,
            endpoints={
                "status": f"{base}/v1/tasks/{task_id}",
                "cancel": f"{base}/v1/tasks/{task_id}",
            },
            data={"endpoint": endpoint},
        )

    async def _media(
        self, ctx: AttemptContext, client: AsyncRunwayML, media: MediaInput, policy: str
    ) -> str:
        """A URI Runway can read: URLs as-is, local media uploaded (or inlined)."""
        if media.url is not None:
            return media.url
        try:
            data, content_type = await media.read(ctx.config.max_input_bytes)
        except MediaTooLargeError as exc:
            raise ValidationError(str(exc), self.name, ctx.model, field="media") from exc
        if policy != "upload":
            uri = to_data_uri(data, content_type)
            if len(uri) <= _DATA_URI_LIMIT:
                return uri
            if policy == "data_uri":
                raise ValidationError(
                    f"media is {len(data)} bytes: over Runway's 5 MB data-URI limit once encoded; "
                    "use provider_config={'media': 'upload'}",
                    self.name,
                    ctx.model,
                    field="media",
                )
        filename = media.path.name if media.path is not None else "input"
        if "." not in filename:
            filename += extension_for(content_type)
        uploaded = await client.uploads.create_ephemeral(
            file=(filename, data, content_type), timeout=ctx.http_timeout()
        )
        return str(uploaded.uri)

    # ------------------------------------------------------------------ status / result

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        """One ``GET /v1/tasks/{id}``, normalised (THROTTLED is a queued state)."""
        client = self._client(ctx.config)
        task = await client.tasks.retrieve(job.provider_request_id, timeout=ctx.http_timeout(30))
        return self._status_of(ctx, task)

    def _status_of(self, ctx: AttemptContext, task: Any) -> JobStatus:
        status = str(getattr(task, "status", ""))
        state = _STATES.get(status)
        raw = _dump(task)
        if state is None:
            raise HTTPError(
                f"Runway sent a task without a known status ({status!r})",
                self.name,
                ctx.model,
                getattr(task, "id", None),
                raw,
                retryable=True,
            )
        percent: int | None = None
        progress = getattr(task, "progress", None)
        if isinstance(progress, int | float):
            percent = max(0, min(100, round(progress * 100)))
        if state == "completed":
            percent = 100
            ctx.job_state["finished"] = task
        error: TarashException | None = None
        if state in ("failed", "cancelled"):
            error = self._task_error(ctx, task)
        message = {
            "THROTTLED": "throttled: waiting for a free slot in the organisation's concurrency",
            "FAILED": getattr(task, "failure", None),
        }.get(status, status.lower())
        return JobStatus(
            state=state, progress_percent=percent, message=message, error=error, raw=raw
        )

    async def result(self, ctx: AttemptContext, job: JobRef) -> BaseGenerationResponse:
        """The succeeded task's output URLs as the response, with its credits."""
        task = ctx.job_state.pop("finished", None)
        if task is None or str(task.id) != job.provider_request_id:
            client = self._client(ctx.config)
            task = await client.tasks.retrieve(
                job.provider_request_id, timeout=ctx.http_timeout(30)
            )
        if getattr(task, "status", None) != "SUCCEEDED":
            raise self._task_error(ctx, task)
        raw = _dump(task)
        outputs = [str(url) for url in getattr(task, "output", None) or []]
        if not outputs:
            raise GenerationFailedError(
                f"task {task.id} succeeded without output",
                self.name,
                ctx.model,
                str(task.id),
                raw,
                retryable=True,
            )
        credits = _credits(task)
        cost = (
            Cost(amount=credits, unit="credits", source="provider", detail={"task_id": task.id})
            if credits is not None
            else None
        )
        common: dict[str, Any] = {
            "provider_request_id": str(task.id),
            "raw_response": raw,
            "cost": cost,
        }
        if ctx.operation == "image":
            response: BaseGenerationResponse = ctx.image_response(
                images=outputs, content_type=_content_type(outputs[0], "image/png"), **common
            )
            return response
        response = ctx.video_response(
            video=outputs[0],
            videos=outputs if len(outputs) > 1 else [],
            content_type=_content_type(outputs[0], "video/mp4"),
            **common,
        )
        return response

    # ------------------------------------------------------------------ cancel

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> CancelOutcome:
        """``DELETE /v1/tasks/{id}``: cancels a pending/running task (and *deletes* a
        finished one, so the orchestrator looks at the task first)."""
        from runwayml import NotFoundError

        client = self._client(ctx.config)
        try:
            await client.tasks.delete(job.provider_request_id, timeout=ctx.http_timeout(15))
        except NotFoundError:
            return "not_found"
        return "cancelled"

    # ------------------------------------------------------------------ errors

    def _task_error(self, ctx: AttemptContext, task: Any) -> TarashException:
        """FAILED/CANCELLED task → typed error, following Runway's failure-code guide."""
        task_id = str(getattr(task, "id", "")) or None
        raw = _dump(task)
        status = getattr(task, "status", None)
        if status == "CANCELLED":
            return GenerationFailedError(
                f"task {task_id} was cancelled", self.name, ctx.model, task_id, raw, retryable=False
            )
        code = str(getattr(task, "failure_code", None) or "")
        failure = str(getattr(task, "failure", None) or "generation failed")
        text = f"task {task_id} failed: {failure}" + (f" [{code}]" if code else "")
        if code.startswith(("SAFETY.", "INPUT_PREPROCESSING.SAFETY")):
            return ContentModerationError(text, self.name, ctx.model, task_id, raw)
        if code.startswith("ASSET.INVALID"):
            # Runway's failure-code guide: the input asset itself was rejected.
            return ValidationError(text, self.name, ctx.model, task_id, raw)
        retryable = code.startswith("INTERNAL") or code == "INPUT_PREPROCESSING.INTERNAL"
        return GenerationFailedError(
            text, self.name, ctx.model, task_id, raw, retry_same_config=retryable
        )

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """``runwayml`` exceptions → typed errors (400 issues, 401, 404, 429/5xx retryable)."""
        import runwayml

        if isinstance(exc, runwayml.APIStatusError):
            return self._status_error(ctx, exc)
        if isinstance(exc, runwayml.APIConnectionError):  # APITimeoutError included
            return error_from_transport(
                exc,
                provider=self.name,
                model=ctx.model,
                timeout_seconds=ctx.config.timeout,
            )
        if isinstance(exc, runwayml.APIResponseValidationError | json.JSONDecodeError):
            return HTTPError(
                f"Runway sent a malformed response ({type(exc).__name__}: {exc})",
                self.name,
                ctx.model,
                retryable=True,
            )
        return None

    def _status_error(self, ctx: AttemptContext, exc: Any) -> TarashException:
        status = int(exc.status_code)
        body = exc.body
        message = str(exc.message)
        if isinstance(body, Mapping):
            message = str(body.get("error") or body.get("message") or message)
        if status == 400:
            issues = body.get("issues") if isinstance(body, Mapping) else None
            errors = [
                {
                    "field": ".".join(str(p) for p in item.get("path") or []) or "body",
                    "message": str(item.get("message") or item.get("code") or "invalid"),
                }
                for item in issues or []
                if isinstance(item, Mapping)
            ]
            return ValidationError(
                f"HTTP 400: {message}",
                self.name,
                ctx.model,
                raw_response=body,
                field=errors[0]["field"] if errors else None,
                errors=errors or None,
            )
        if status in (401, 403):
            return AuthenticationError(
                f"HTTP {status}: {message}",
                self.name,
                ctx.model,
                raw_response=body,
                status_code=status,
            )
        return error_from_status(
            status,
            message,
            provider=self.name,
            model=ctx.model,
            raw_response=body,
            headers=exc.response.headers,
            retryable=False if status in (404, 405) else None,
        )
