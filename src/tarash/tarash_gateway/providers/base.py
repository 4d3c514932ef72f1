"""The small interface every built-in provider implements.

A provider handler is a set of *steps* around a serialisable :class:`JobRef`:

1. :meth:`BaseProviderHandler.prepare` — validate and map the request for one
   config (pure: no network, no I/O). The orchestrator prepares every config
   of a fallback chain before anything is sent, so a doomed request is
   rejected before it costs anything.
2. :meth:`~BaseProviderHandler.submit` — send it. Returns a :class:`JobRef`
   for polled operations (video on most providers), or the finished response
   for direct ones (most image and audio calls).
3. :meth:`~BaseProviderHandler.status` / :meth:`~BaseProviderHandler.watch` —
   observe a job (``watch`` may stream; the default polls ``status``).
4. :meth:`~BaseProviderHandler.result` — fetch and convert the finished job.
5. :meth:`~BaseProviderHandler.cancel` — ask the provider to stop the job.

Retries, fallback, deadlines, polling cadence, progress events and job
records live in :mod:`tarash.tarash_gateway.orchestrator`; handlers only
speak their provider's protocol and map its errors. The spec-level methods
``generate_video(_async)`` … are provided here on top of the steps, so any
built-in handler also satisfies the simple ``ProviderHandler`` protocol.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx

from tarash.tarash_gateway._secrets import register_secret
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    OperationNotSupportedError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import client_cache, key_fingerprint
from tarash.tarash_gateway.jobs import JobRef, JobStatus, Operation
from tarash.tarash_gateway.logging import log_warning
from tarash.tarash_gateway.media import MediaInput
from tarash.tarash_gateway.models import (
    OPERATIONS,
    AudioGenerationConfig,
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageProgressCallback,
    ProgressCallback,
    STSProgressCallback,
    STSRequest,
    STSResponse,
    TTSProgressCallback,
    TTSRequest,
    TTSResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    apply_field_mappers,
    match_model_key,
    unsupported_fields,
)

if TYPE_CHECKING:
    from tarash.tarash_gateway.models import AnyProgressCallback

__all__ = [
    "AttemptContext",
    "BaseProviderHandler",
    "Prepared",
    "Submission",
    "new_request_id",
    "walk_media",
]

T = TypeVar("T")
ResponseT = TypeVar("ResponseT", bound=BaseGenerationResponse)


def new_request_id() -> str:
    """A fresh gateway request id."""
    return f"tg_{uuid.uuid4().hex}"


@dataclass
class Prepared:
    """A request validated and mapped for one config.

    Attributes:
        operation: The operation.
        request: The caller's request (unchanged).
        payload: The provider's parameters; media values are :class:`MediaInput`.
        mapping_key: Which field-mapping registry key matched (``None`` = generic).
        warnings: Things the caller should know (unsupported params under "warn" …).
    """

    operation: Operation
    request: BaseGenerationRequest
    payload: dict[str, Any]
    mapping_key: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class AttemptContext:
    """Everything a step needs to know about the attempt it serves."""

    request_id: str
    operation: Operation
    config: BaseGenerationConfig
    provider: str
    deadline: float = field(default_factory=lambda: time.monotonic() + 600)
    attempt_number: int = 1
    config_index: int = 0
    is_fallback: bool = False
    is_mock: bool = False
    warnings: list[str] = field(default_factory=list)
    report: Callable[[JobStatus], Awaitable[None]] | None = None

    @property
    def model(self) -> str:
        """The model of this attempt."""
        return self.config.model

    def remaining(self) -> float:
        """Seconds left before the attempt's deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def http_timeout(self, cap: float = 120.0) -> float:
        """Timeout for one HTTP call: what is left of the attempt, at most ``cap``, at least 1 s."""
        return max(1.0, min(self.remaining(), cap))

    async def emit(self, status: JobStatus) -> None:
        """Report intermediate progress of a direct (non-polled) operation."""
        if self.report is not None:
            await self.report(status)

    def response(self, **fields: Any) -> Any:
        """Build this operation's response with the common fields filled in."""
        spec = OPERATIONS[self.operation]
        base: dict[str, Any] = {
            "request_id": self.request_id,
            "provider": self.provider,
            "model": self.model,
            "is_mock": self.is_mock,
            "warnings": list(self.warnings),
        }
        base.update(fields)
        return spec.response_type(**base)

    def job(self, provider_request_id: str, **fields: Any) -> JobRef:
        """Build a :class:`JobRef` for a job the provider just accepted."""
        return JobRef(
            provider=fields.pop("provider", self.provider),
            model=self.model,
            operation=self.operation,
            provider_request_id=provider_request_id,
            request_id=self.request_id,
            base_url=self.config.base_url,
            **fields,
        )


Submission = JobRef | BaseGenerationResponse
"""What :meth:`BaseProviderHandler.submit` returns: a job to poll, or the finished response."""


class BaseProviderHandler:
    """Base class of built-in providers (see the module docs for the step contract).

    Class attributes a provider sets:
        name: Registry name (``"fal"``).
        operations: Operations it offers.
        api_key_env: Environment variables to read the key from when the config has none.
        requires_api_key: False for providers that need no key (the mock).
    """

    name: ClassVar[str] = "base"
    operations: ClassVar[frozenset[Operation]] = frozenset()
    api_key_env: ClassVar[tuple[str, ...]] = ()
    requires_api_key: ClassVar[bool] = True

    # ------------------------------------------------------------------ capability

    def supports(self, operation: Operation) -> bool:
        """Whether the provider offers ``operation``."""
        return operation in self.operations

    def require(self, operation: Operation, config: BaseGenerationConfig) -> None:
        """Raise :class:`OperationNotSupportedError` unless ``operation`` is offered."""
        if not self.supports(operation):
            offered = ", ".join(sorted(self.operations)) or "nothing"
            raise OperationNotSupportedError(
                f"provider {self.name!r} does not support {operation} generation "
                f"(it offers: {offered})",
                self.name,
                config.model,
            )

    # ------------------------------------------------------------------ credentials

    def api_key(self, config: BaseGenerationConfig) -> str | None:
        """The key from the config, else from the provider's environment variables."""
        key = config.api_key_value()
        if key:
            return key
        for var in self.api_key_env:
            value = os.environ.get(var)
            if value:
                register_secret(value)
                return value
        return None

    def check_credentials(self, config: BaseGenerationConfig) -> None:
        """Fail before any network call when no key can be found."""
        if self.requires_api_key and not self.api_key(config):
            hint = f" or set {' / '.join(self.api_key_env)}" if self.api_key_env else ""
            raise AuthenticationError(
                f"no API key for provider {self.name!r}: pass api_key in the config{hint}",
                self.name,
                config.model,
                status_code=None,
            )

    # ------------------------------------------------------------------ clients

    def client(
        self,
        config: BaseGenerationConfig,
        factory: Callable[[], T],
        *,
        kind: Hashable = "async",
        loop_bound: bool = True,
    ) -> T:
        """A cached SDK client for (provider, key, base URL, ``kind``) on the running loop."""
        key = (
            self.name,
            kind,
            key_fingerprint(self.api_key(config)),
            config.base_url,
            config.api_version,
            _freeze(config.provider_config),
        )
        return client_cache.get(key, factory, loop_bound=loop_bound)

    # ------------------------------------------------------------------ 1. prepare

    def field_mappings(self) -> Mapping[str, dict[str, FieldMapper]]:
        """This provider's model registry (the shared, user-extensible one)."""
        from tarash.tarash_gateway.registry import get_provider_field_mapping

        return get_provider_field_mapping(self.name) or {}

    def generic_field_mappers(self, operation: Operation) -> dict[str, FieldMapper] | None:
        """Mappers for models missing from the registry; ``None`` rejects unknown models."""
        return None

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        """Validate and map ``request`` for ``config`` (no I/O). Raises ValidationError.

        The default handles registry-mapped operations (video, image): it finds the
        model's mappers, applies them, enforces ``config.on_unsupported_param`` and
        merges ``extra_params`` and ``provider_options[<provider>]``. Audio
        providers override :meth:`prepare_payload` instead.
        """
        self.require(operation, config)
        self.check_credentials(config)
        from tarash.tarash_gateway.catalog import check_model  # lifecycle, unknown models

        warnings: list[str] = check_model(self.name, operation, config, request)
        payload, key = self.prepare_payload(operation, config, request, warnings)
        payload.update(self.passthrough_params(request))
        return Prepared(operation, request, payload, key, warnings)

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Map the typed request fields; default: the field-mapping registry."""
        registry = self.field_mappings()
        key = match_model_key(config.model, registry.keys())
        if key is not None:
            mappers = registry[key]
        else:
            generic = self.generic_field_mappers(operation)
            if generic is None:
                known = ", ".join(sorted(registry)[:12])
                raise ValidationError(
                    f"model {config.model!r} is not known to provider {self.name!r}; "
                    f"register a field mapping for it (known: {known}…)",
                    self.name,
                    config.model,
                    field="model",
                )
            mappers = generic
            warnings.append(
                f"model {config.model!r} has no validated field mapping on {self.name!r}; "
                "common fields were sent with generic names"
            )
            log_warning(
                "Model not in field-mapping registry; using generic mapping",
                {"provider": self.name, "model": config.model},
                "providers.base",
            )
        payload = apply_field_mappers(mappers, request, provider=self.name, model=config.model)
        self.check_unsupported(config, request, mappers, warnings)
        return payload, key

    def check_unsupported(
        self,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        mappers: Mapping[str, FieldMapper],
        warnings: list[str],
        also_supported: set[str] | None = None,
    ) -> None:
        """Apply ``config.on_unsupported_param`` to fields the model does not take."""
        unsupported = [
            f for f in unsupported_fields(mappers, request) if f not in (also_supported or set())
        ]
        self.report_unsupported(config, unsupported, warnings)

    def report_unsupported(
        self, config: BaseGenerationConfig, unsupported: list[str], warnings: list[str]
    ) -> None:
        """Raise, warn or ignore for a list of unsupported request fields."""
        if not unsupported or config.on_unsupported_param == "ignore":
            return
        message = f"model {config.model!r} on {self.name!r} does not support: " + ", ".join(
            unsupported
        )
        if config.on_unsupported_param == "error":
            raise ValidationError(
                message + " (set on_unsupported_param='warn' or 'ignore' to send without them)",
                self.name,
                config.model,
                field=unsupported[0],
                errors=[
                    {"field": f, "message": "not supported by this model"} for f in unsupported
                ],
            )
        warnings.append(message)

    def passthrough_params(self, request: BaseGenerationRequest) -> dict[str, Any]:
        """``extra_params`` plus ``provider_options[<this provider>]`` (the latter wins)."""
        out = dict(request.extra_params)
        out.update(request.provider_options.get(self.name, {}))
        return out

    # ------------------------------------------------------------------ 2-5. steps

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Submission:
        """Send the prepared request; a :class:`JobRef` for polled jobs, else the response."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} does not implement {prepared.operation}",
            self.name,
            ctx.model,
        )

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        """One observation of a submitted job."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} has no job status", self.name, ctx.model
        )

    def watch(self, ctx: AttemptContext, job: JobRef) -> AsyncIterator[JobStatus] | None:
        """Optional push/stream of status changes; ``None`` makes the orchestrator poll."""
        return None

    async def result(self, ctx: AttemptContext, job: JobRef) -> BaseGenerationResponse:
        """Fetch and convert the result of a completed job."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} has no job results", self.name, ctx.model
        )

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
        """Ask the provider to stop the job; True when it confirmed."""
        return False

    supports_streaming: ClassVar[bool] = False
    """True when :meth:`stream_tts` yields audio as it is generated."""

    def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """Yield TTS audio chunks as the provider produces them (see ``stream_tts``)."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} cannot stream speech", self.name, ctx.model
        )

    def stream_format(self, prepared: Prepared) -> tuple[str, str] | None:
        """``(output_format, content_type)`` that :meth:`stream_tts` will produce, when it
        differs from what the request asked for (``None`` = as requested)."""
        return None

    job_endpoint_hosts: ClassVar[tuple[str, ...] | None] = None
    """Hosts (and their subdomains) that a stored :class:`JobRef`'s endpoint URLs may point
    at when the config sets no ``base_url``. ``None``: this provider never sends
    credentials to URLs taken from a job reference, so they are not checked."""

    def validate_job(self, job: JobRef, config: BaseGenerationConfig) -> None:
        """Refuse a job reference that does not belong to this provider and config.

        A :class:`JobRef` comes back from storage; it must never steer the API key to
        another provider or host.
        """
        from tarash.tarash_gateway.registry import resolve_provider_name

        if job.provider != "mock" and (
            resolve_provider_name(job.provider) != resolve_provider_name(config.provider)
            or resolve_provider_name(job.provider) != self.name
        ):
            raise ValidationError(
                f"job {job.provider_request_id!r} belongs to provider {job.provider!r}, "
                f"not to the config's provider {config.provider!r}",
                config.provider,
                job.model,
                field="job",
            )
        if self.job_endpoint_hosts is None or not job.endpoints:
            return
        allowed = (httpx.URL(config.base_url).host,) if config.base_url else self.job_endpoint_hosts
        for name, url in job.endpoints.items():
            host = httpx.URL(url).host
            if not any(host == h or host.endswith("." + h) for h in allowed):
                raise ValidationError(
                    f"job reference endpoint {name!r} points at {host!r}, which is not "
                    f"{self.name}'s API ({', '.join(allowed)}); refusing to send credentials",
                    self.name,
                    job.model,
                    field="job",
                )

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Translate an SDK/transport exception into a typed error (``None`` = unknown)."""
        return None

    # ------------------------------------------------------------------ spec-level API

    async def _single(
        self,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        on_progress: AnyProgressCallback | None,
    ) -> Any:
        from tarash.tarash_gateway.orchestrator import execute

        return await execute(config, request, on_progress, handler=self, use_fallbacks=False)

    def _single_sync(
        self,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        on_progress: AnyProgressCallback | None,
    ) -> Any:
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self._single(config, request, on_progress))

    async def generate_video_async(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """One video generation on this provider (no fallback)."""
        result: VideoGenerationResponse = await self._single(config, request, on_progress)
        return result

    def generate_video(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """Blocking :meth:`generate_video_async`."""
        result: VideoGenerationResponse = self._single_sync(config, request, on_progress)
        return result

    async def generate_image_async(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """One image generation on this provider (no fallback)."""
        result: ImageGenerationResponse = await self._single(config, request, on_progress)
        return result

    def generate_image(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Blocking :meth:`generate_image_async`."""
        result: ImageGenerationResponse = self._single_sync(config, request, on_progress)
        return result

    async def generate_tts_async(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse:
        """One TTS generation on this provider (no fallback)."""
        result: TTSResponse = await self._single(config, request, on_progress)
        return result

    def generate_tts(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse:
        """Blocking :meth:`generate_tts_async`."""
        result: TTSResponse = self._single_sync(config, request, on_progress)
        return result

    async def generate_sts_async(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse:
        """One STS conversion on this provider (no fallback)."""
        result: STSResponse = await self._single(config, request, on_progress)
        return result

    def generate_sts(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse:
        """Blocking :meth:`generate_sts_async`."""
        result: STSResponse = self._single_sync(config, request, on_progress)
        return result


def _freeze(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Hashable):
        return value
    return repr(value)


async def walk_media(value: Any, convert: Callable[[MediaInput], Awaitable[Any]]) -> Any:
    """Copy of a payload with every :class:`MediaInput` replaced by ``await convert(media)``.

    Providers use it at submit time to upload files or inline data URIs.
    """
    if isinstance(value, MediaInput):
        return await convert(value)
    if isinstance(value, dict):
        return {k: await walk_media(v, convert) for k, v in value.items()}
    if isinstance(value, list):
        return [await walk_media(v, convert) for v in value]
    if isinstance(value, tuple):
        return tuple([await walk_media(v, convert) for v in value])
    return value
