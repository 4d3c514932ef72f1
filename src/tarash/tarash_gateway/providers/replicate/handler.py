"""Replicate: predictions on official models, pinned versions and deployments.

Driven through the official ``replicate`` SDK (async methods only). The SDK's own
retry transport is switched off — the orchestrator alone retries and falls back — and
every HTTP error status is turned into a typed error by a response hook that keeps the
status, the ``Retry-After`` header and the RFC 7807 problem body (``invalid_fields``
included), which the SDK's ``ReplicateError`` would drop.

Routing (``config.model``):

* ``owner/name`` → ``POST /v1/models/{owner}/{name}/predictions`` (official models);
* ``owner/name:<version>`` → ``POST /v1/predictions`` with ``version``;
* ``deployments/owner/name`` or ``provider_config={"deployment": "owner/name"}`` →
  ``POST /v1/deployments/{owner}/{name}/predictions`` (with the deployment option the
  model name still selects the field mapping).

``provider_config``: ``wait`` (``True`` or 1–60 s: send ``Prefer: wait`` and return at
once when the prediction finishes within it; images wait up to 60 s by default, video
does not wait), ``deployment`` and ``file_encoding`` (``"url"``: upload local media
through the files API — the default; ``"data_uri"``: inline it).
"""

from __future__ import annotations

import io
import json
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlparse

from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_status, error_from_transport
from tarash.tarash_gateway.jobs import JobRef, JobState, JobStatus, Operation
from tarash.tarash_gateway.media import (
    MediaContent,
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
)
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
    CancelOutcome,
    Prepared,
    Submission,
    walk_media,
)
from tarash.tarash_gateway.providers.field_mappers import FieldMapper
from tarash.tarash_gateway.providers.replicate.field_mappings import (
    GENERIC_IMAGE_MAPPERS,
    GENERIC_VIDEO_MAPPERS,
)
from tarash.tarash_gateway.webhook_hint import provider_webhook_url

if TYPE_CHECKING:
    import httpx
    from replicate.client import Client
    from replicate.prediction import Prediction

__all__ = ["ReplicateProviderHandler"]

Target = Literal["model", "version", "deployment"]

_STATES: dict[str, JobState] = {
    "starting": "queued",
    "processing": "processing",
    "succeeded": "completed",
    "failed": "failed",
    "canceled": "cancelled",
    # https://replicate.com/docs/topics/predictions/lifecycle (checked 2026-12-04):
    # "aborted: the prediction exceeded its deadline before it could start running".
    "aborted": "failed",
}
_TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
_OPTIONS = frozenset({"wait", "deployment", "file_encoding"})
_OWNER_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_VERSION = re.compile(r"^[0-9a-fA-F]{8,128}$")
_MAX_WAIT = 60
_DEFAULT_TIMEOUT = 60.0
_RECONCILE_SKEW = timedelta(seconds=10)
"""Clock skew allowed between our send time and Replicate's ``created_at``."""


def _created(prediction: Prediction) -> datetime:
    text = str(prediction.created_at or "")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# Replicate marks flagged content with E005 ("flagged as sensitive"); models add their own wording.
_MODERATION = re.compile(
    r"\bE005\b|nsfw|flagged|sensitive content|safety (?:filter|checker|system|policy)|"
    r"content (?:policy|moderation)|moderation|unsafe content",
    re.IGNORECASE,
)
# Failures worth another attempt (infrastructure, not the request).
_TRANSIENT = re.compile(
    r"out of memory|CUDA error|timed out|timeout|temporar(?:y|ily)|try again|"
    r"unavailable|internal (?:server )?error|\bE1000\b|\bE6716\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Options:
    wait: int | bool | None
    deployment: str | None
    file_encoding: Literal["url", "data_uri"]


class _ReplicateHTTPError(Exception):
    """An HTTP error status caught by the response hook, with what ReplicateError drops."""

    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.headers = headers
        self.body = body


async def _raise_on_error_status(response: httpx.Response) -> None:
    """httpx response hook: keep status, headers and problem body of every error."""
    if response.status_code < 400:
        return
    data = await response.aread()
    body: Any
    try:
        body = json.loads(data)
    except ValueError:
        body = data[:2000].decode("utf-8", "replace")
    raise _ReplicateHTTPError(response.status_code, dict(response.headers), body)


def _options(config: BaseGenerationConfig) -> _Options:
    raw = config.provider_config
    unknown = sorted(set(raw) - _OPTIONS)
    if unknown:
        raise ValidationError(
            f"unknown replicate provider_config key(s): {', '.join(unknown)} "
            f"(accepted: {', '.join(sorted(_OPTIONS))})",
            "replicate",
            config.model,
            field=f"provider_config.{unknown[0]}",
        )
    wait = raw.get("wait")
    if (
        wait is not None
        and not isinstance(wait, bool)
        and (not isinstance(wait, int) or not 1 <= wait <= _MAX_WAIT)
    ):
        raise ValidationError(
            f"provider_config['wait'] must be true/false or 1-{_MAX_WAIT} seconds, got {wait!r}",
            "replicate",
            config.model,
            field="provider_config.wait",
        )
    deployment = raw.get("deployment")
    if deployment is not None and (
        not isinstance(deployment, str) or not _OWNER_NAME.match(deployment)
    ):
        raise ValidationError(
            f"provider_config['deployment'] must look like 'owner/name', got {deployment!r}",
            "replicate",
            config.model,
            field="provider_config.deployment",
        )
    encoding = raw.get("file_encoding", "url")
    if encoding not in ("url", "data_uri"):
        raise ValidationError(
            f"provider_config['file_encoding'] must be 'url' or 'data_uri', got {encoding!r}",
            "replicate",
            config.model,
            field="provider_config.file_encoding",
        )
    return _Options(wait=wait, deployment=deployment, file_encoding=encoding)


def _target(config: BaseGenerationConfig, options: _Options) -> tuple[Target, str]:
    """Where predictions of ``config`` are created: (kind, owner/name | version id)."""
    model = config.model
    if options.deployment:
        return "deployment", options.deployment
    if model.startswith("deployments/"):
        name = model.removeprefix("deployments/")
        if not _OWNER_NAME.match(name):
            raise ValidationError(
                f"deployment model names look like 'deployments/owner/name', got {model!r}",
                "replicate",
                model,
                field="model",
            )
        return "deployment", name
    name, sep, version = model.partition(":")
    if not _OWNER_NAME.match(name):
        raise ValidationError(
            f"Replicate model names look like 'owner/name' or 'owner/name:version', got {model!r}",
            "replicate",
            model,
            field="model",
        )
    if sep:
        if not _VERSION.match(version):
            raise ValidationError(
                f"version {version!r} of {name!r} is not a Replicate version id",
                "replicate",
                model,
                field="model",
            )
        return "version", version
    return "model", name


def _summarize(value: Any) -> Any:
    """A copy of a prediction payload with data URIs shortened (raw responses stay small)."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > 256:
        head = value.split(",", 1)[0]
        return f"{head},<{len(value) - len(head) - 1} base64 chars>"
    if isinstance(value, Mapping):
        return {str(k): _summarize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_summarize(v) for v in value]
    return value


def _flatten_output(output: Any) -> list[str]:
    """Output files of a prediction: a URL, a list of URLs, or a dict of them."""
    if output is None:
        return []
    if isinstance(output, str):
        return [output]
    if isinstance(output, Mapping):
        return [item for value in output.values() for item in _flatten_output(value)]
    if isinstance(output, list | tuple):
        return [item for value in output for item in _flatten_output(value)]
    return []


def _content_type(item: str, default: str) -> str:
    if item.startswith("data:"):
        return item[5:].split(";", 1)[0].split(",", 1)[0] or default
    guessed = mimetypes.guess_type(urlparse(item).path)[0]
    return guessed or default


class ReplicateProviderHandler(BaseProviderHandler):
    """Video and image generation on Replicate (official models, versions, deployments)."""

    name: ClassVar[str] = "replicate"
    operations: ClassVar[frozenset[Operation]] = frozenset({"video", "image"})
    api_key_env: ClassVar[tuple[str, ...]] = ("REPLICATE_API_TOKEN",)
    base_url_env: ClassVar[tuple[str, ...]] = ("REPLICATE_BASE_URL",)  # read by the SDK itself

    # ------------------------------------------------------------------ prepare

    def generic_field_mappers(self, operation: Operation) -> dict[str, FieldMapper] | None:
        """Unknown Replicate models run with common input names (and a warning)."""
        if operation == "video":
            return GENERIC_VIDEO_MAPPERS
        if operation == "image":
            return GENERIC_IMAGE_MAPPERS
        return None

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        """Map the request and check the Replicate options and model reference (no I/O)."""
        options = _options(config)
        _target(config, options)
        return super().prepare(operation, config, request)

    # ------------------------------------------------------------------ client

    def _client(self, config: BaseGenerationConfig) -> Client:
        api_key = self.api_key(config)

        def factory() -> Client:
            import httpx
            from replicate.client import Client, RetryTransport

            client = Client(
                api_token=api_key,
                base_url=config.base_url or None,
                timeout=httpx.Timeout(_DEFAULT_TIMEOUT, connect=15.0),
                event_hooks={"response": [_raise_on_error_status]},
            )
            # The SDK wraps every transport in a RetryTransport (10 attempts on 429/503/504 for
            # GET). Retrying is the orchestrator's job: make the wrapper pass through.
            transport = getattr(client._async_client, "_transport", None)
            if isinstance(transport, RetryTransport):
                transport.max_attempts = 1
            return client

        return self.client(config, factory)

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Submission:
        """Upload local media, create the prediction; finished predictions return at once."""
        options = _options(ctx.config)
        kind, ref = _target(ctx.config, options)
        client = self._client(ctx.config)
        uploaded: dict[int, str] = {}

        async def convert(media: MediaInput) -> str:
            if id(media) not in uploaded:
                uploaded[id(media)] = await self._media(ctx, client, media, options)
            return uploaded[id(media)]

        await check_media_sizes(
            prepared.payload, ctx.config.max_input_bytes, provider=self.name, model=ctx.model
        )
        payload: dict[str, Any] = await walk_media(prepared.payload, convert)
        ctx.job_state["sent"] = (kind, ref, payload)  # to find the prediction if the answer is lost
        params: dict[str, Any] = {}
        wait = self._wait(ctx, options)
        if wait:
            params["wait"] = wait
        hook = provider_webhook_url.get()
        if hook:  # replicate 1.0.7 PredictionCreateParams: webhook, webhook_events_filter
            params["webhook"] = hook
            params["webhook_events_filter"] = ["completed"]
        if kind == "model":
            # models.predictions keeps `wait`; predictions.create(model=...) drops it (SDK bug).
            prediction = await client.models.predictions.async_create(
                model=ref, input=payload, **params
            )
        elif kind == "version":
            prediction = await client.predictions.async_create(version=ref, input=payload, **params)
        else:
            prediction = await client.deployments.predictions.async_create(
                deployment=ref, input=payload, **params
            )
        if prediction.status == "succeeded":
            response: BaseGenerationResponse = await self._response(ctx, client, prediction)
            return response
        if prediction.status in _TERMINAL:
            raise self._prediction_error(ctx, prediction)
        return ctx.job(
            prediction.id,
            endpoints=dict(prediction.urls or {}),
            data={"target": kind, "ref": ref, "wait": wait or None},
        )

    def _wait(self, ctx: AttemptContext, options: _Options) -> int | None:
        """Seconds to hold the create request open (``Prefer: wait``), or None to poll."""
        if options.wait is False:
            return None
        if options.wait is None and ctx.operation != "image":
            return None
        wanted = _MAX_WAIT if options.wait is None or options.wait is True else int(options.wait)
        budget = int(ctx.remaining()) - 2
        return max(1, min(wanted, budget, _MAX_WAIT))

    async def _media(
        self, ctx: AttemptContext, client: Client, media: MediaInput, options: _Options
    ) -> str:
        """A URL the model can read: remote URLs as-is, local media via the files API."""
        if media.url is not None:
            return media.url
        try:
            data, content_type = await media.read(ctx.config.max_input_bytes)
        except MediaTooLargeError as exc:
            raise ValidationError(str(exc), self.name, ctx.model, field="media") from exc
        if options.file_encoding == "data_uri":
            return to_data_uri(data, content_type)
        filename = media.path.name if media.path is not None else "input"
        if "." not in filename:
            filename += extension_for(content_type)
        created = await client.files.async_create(
            io.BytesIO(data), filename=filename, content_type=content_type
        )
        return str(created.urls["get"])

    # ------------------------------------------------------------------ status / result

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        """One GET of the prediction: state, tqdm progress from the logs, new log lines."""
        client = self._client(ctx.config)
        prediction = await _get_prediction(client, job.provider_request_id)
        return self._status_of(ctx, prediction)

    def _status_of(self, ctx: AttemptContext, prediction: Prediction) -> JobStatus:
        state = _STATES.get(prediction.status, "processing")
        logs = prediction.logs or ""
        offset = int(ctx.job_state.get("log_offset", 0))
        if offset > len(logs):
            offset = 0
        new_text = logs[offset:]
        complete = (
            new_text.rfind("\n") + 1 if state not in ("completed", "failed") else len(new_text)
        )
        lines = [line.strip() for line in new_text[:complete].splitlines() if line.strip()]
        ctx.job_state["log_offset"] = offset + complete
        percent: int | None = None
        progress = prediction.progress
        if progress is not None:
            percent = max(0, min(100, round(progress.percentage * 100)))
        if state == "completed":
            percent = 100
            ctx.job_state["finished"] = prediction
        error: TarashException | None = None
        if state in ("failed", "cancelled"):
            error = self._prediction_error(ctx, prediction)
        return JobStatus(
            state=state,
            progress_percent=percent,
            logs=lines,
            message=prediction.error or prediction.status,
            error=error,
            raw=_summarize(prediction.dict()),
        )

    async def result(self, ctx: AttemptContext, job: JobRef) -> Any:
        """Build the response of a succeeded prediction (from the last poll, else a GET)."""
        client = self._client(ctx.config)
        prediction = ctx.job_state.pop("finished", None)
        if prediction is None or prediction.id != job.provider_request_id:
            prediction = await _get_prediction(client, job.provider_request_id)
        if prediction.status != "succeeded":
            raise self._prediction_error(ctx, prediction)
        return await self._response(ctx, client, prediction)

    async def _response(self, ctx: AttemptContext, client: Client, prediction: Prediction) -> Any:
        from replicate.helpers import FileOutput, transform_output

        items = _flatten_output(prediction.output)
        raw = _summarize(prediction.dict())
        if not items:
            raise GenerationFailedError(
                f"prediction {prediction.id} succeeded without output files",
                self.name,
                ctx.model,
                prediction.id,
                raw,
                retryable=True,
            )
        inputs: dict[str, Any] = dict(prediction.input or {})
        seed = inputs.get("seed")
        common: dict[str, Any] = {
            "provider_request_id": prediction.id,
            "raw_response": raw,
            "seed": seed if isinstance(seed, int) else None,
        }
        if ctx.operation == "image":
            return ctx.image_response(
                images=items, content_type=_content_type(items[0], "image/png"), **common
            )
        videos: list[str | MediaContent] = []
        for item in transform_output(items, client):
            if isinstance(item, FileOutput) and item.url.startswith("data:"):
                # Inline output: FileOutput decodes it without another request.
                videos.append(
                    MediaContent(
                        content=await item.aread(),
                        content_type=_content_type(item.url, "video/mp4"),
                    )
                )
            else:
                videos.append(str(item))
        duration = inputs.get("duration")
        return ctx.video_response(
            video=videos[0],
            videos=videos if len(videos) > 1 else [],
            content_type=_content_type(items[0], "video/mp4"),
            duration=float(duration) if isinstance(duration, int | float) else None,
            resolution=inputs.get("resolution")
            if isinstance(inputs.get("resolution"), str)
            else None,
            aspect_ratio=inputs.get("aspect_ratio")
            if isinstance(inputs.get("aspect_ratio"), str)
            else None,
            **common,
        )

    # ------------------------------------------------------------------ cancel

    async def find_submitted(
        self, ctx: AttemptContext, prepared: Prepared, sent_after: datetime, known: set[str]
    ) -> JobRef | None:
        """The prediction a lost create made: ``GET /v1/predictions`` (newest first) has
        every prediction's input and creation time; exactly one created since the send
        from the very same input, and not already ours, is it."""
        sent = ctx.job_state.get("sent")
        if sent is None:
            return None  # the create was never reached (an upload failed first)
        kind, ref, payload = sent
        client = self._client(ctx.config)
        page = await client.predictions.async_list()
        earliest = sent_after - _RECONCILE_SKEW
        candidates = [
            p
            for p in page.results
            if p.id not in known
            and p.input == payload
            and _created(p) >= earliest
            and (
                (kind == "model" and p.model == ref)
                or (kind == "version" and p.version == ref.rsplit(":", 1)[-1])
                or kind == "deployment"
            )
        ]
        if len(candidates) != 1:
            return None  # none, or ambiguous: never guess which job is ours
        prediction = candidates[0]
        return ctx.job(
            prediction.id,
            endpoints=dict(prediction.urls or {}),
            data={"target": kind, "ref": ref, "wait": None, "reconciled": True},
        )

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> CancelOutcome:
        """``POST /v1/predictions/{id}/cancel``: the prediction it answers tells the outcome
        (``canceled``; ``succeeded`` = too late, its output can still be fetched)."""
        from replicate.exceptions import ReplicateError

        client = self._client(ctx.config)
        try:
            prediction = await client.predictions.async_cancel(job.provider_request_id)
        except ReplicateError as exc:
            if getattr(exc, "status", None) == 404:
                return "not_found"
            raise
        if prediction.status == "canceled":
            return "cancelled"
        if prediction.status == "succeeded":
            ctx.job_state["finished"] = prediction  # its output: no second GET for the result
            return "already_completed"
        return "unconfirmed"

    # ------------------------------------------------------------------ errors

    def _prediction_error(self, ctx: AttemptContext, prediction: Prediction) -> TarashException:
        """The typed error of a failed or canceled prediction."""
        raw = _summarize(prediction.dict())
        text = str(prediction.error or "").strip()
        if str(prediction.status) == "aborted":  # not in the SDK literal (see _get_prediction)
            error = GenerationFailedError(
                f"prediction {prediction.id} was aborted: it exceeded its deadline before it "
                "could start running (not billed)",
                self.name,
                ctx.model,
                prediction.id,
                raw,
                retryable=True,
            )
            error.retry_same_config = False  # the queue was too slow: try the next config
            return error
        if prediction.status == "canceled":
            return GenerationFailedError(  # cancelled by someone: do not run it elsewhere
                f"prediction {prediction.id} was canceled",
                self.name,
                ctx.model,
                prediction.id,
                raw,
                retryable=False,
            )
        if _MODERATION.search(text):
            return ContentModerationError(
                f"prediction {prediction.id} was blocked by content moderation: {text}",
                self.name,
                ctx.model,
                prediction.id,
                raw,
            )
        return GenerationFailedError(
            f"prediction {prediction.id} failed: {text or 'no error message'}",
            self.name,
            ctx.model,
            prediction.id,
            raw,
            retry_same_config=bool(_TRANSIENT.search(text)),
        )

    def _http_error(
        self, ctx: AttemptContext, status: int, headers: Mapping[str, str], body: Any
    ) -> TarashException:
        """RFC 7807 problem → typed error (422 fields, 402 billing, 429 Retry-After …)."""
        problem: dict[str, Any] = body if isinstance(body, dict) else {}
        title = str(problem.get("title") or "").strip()
        detail = str(problem.get("detail") or (body if isinstance(body, str) else "")).strip()
        message = f"{title}: {detail}" if title and detail and title != detail else title or detail
        if status in (400, 403, 422) and _MODERATION.search(message):
            return ContentModerationError(message, self.name, ctx.model, raw_response=body)
        if status in (400, 422):
            errors = [
                {
                    "field": str(item.get("field", "input")).removeprefix("input."),
                    "message": str(item.get("description") or item.get("type") or "invalid"),
                }
                for item in problem.get("invalid_fields") or []
                if isinstance(item, dict)
            ]
            return ValidationError(
                f"HTTP {status}: {message}",
                self.name,
                ctx.model,
                raw_response=body,
                field=errors[0]["field"] if errors else None,
                errors=errors or None,
            )
        if status == 402:
            message = f"{message or 'payment required'} (add credit to the Replicate account)"
        return error_from_status(
            status,
            message,
            provider=self.name,
            model=ctx.model,
            raw_response=body,
            headers=headers,
        )

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """SDK, hook and transport exceptions → typed errors."""
        import httpx
        from pydantic import v1 as pydantic_v1
        from replicate.exceptions import ModelError, ReplicateError

        if isinstance(exc, _ReplicateHTTPError):
            return self._http_error(ctx, exc.status, exc.headers, exc.body)
        if isinstance(exc, ReplicateError):
            status = exc.status or 500
            return self._http_error(ctx, status, {}, exc.to_dict())
        if isinstance(exc, ModelError):
            return self._prediction_error(ctx, exc.prediction)
        if isinstance(exc, httpx.TransportError):
            return error_from_transport(
                exc, provider=self.name, model=ctx.model, timeout_seconds=ctx.config.timeout
            )
        if isinstance(exc, json.JSONDecodeError | pydantic_v1.ValidationError):
            return HTTPError(
                f"Replicate sent a malformed response ({type(exc).__name__}: {exc})",
                self.name,
                ctx.model,
                retryable=True,
            )
        return None


async def _get_prediction(client: Client, prediction_id: str) -> Prediction:
    """``GET /v1/predictions/{id}``, tolerating the documented ``aborted`` status.

    replicate 1.0.7's ``Prediction.status`` literal lacks ``aborted`` and its parser
    rejects it (which left the job polled until the timeout); such a prediction is built
    without that check from the API's own JSON, as ``predictions.async_get`` does.
    """
    from replicate.prediction import Prediction as SDKPrediction
    from replicate.prediction import _json_to_prediction

    resp = await client._async_request("GET", f"/v1/predictions/{prediction_id}")
    data = resp.json()
    if isinstance(data, dict) and data.get("status") == "aborted":
        prediction = SDKPrediction.construct(**data)
        prediction._client = client
        return prediction
    return _json_to_prediction(client, data)
