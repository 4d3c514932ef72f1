"""The base class of built-in providers: the step contract plus what every provider shares.

:class:`BaseProviderHandler` implements :class:`~tarash.tarash_gateway.providers.steps.StepHandler`
(prepare / submit / status / watch / result / cancel / map_error — see that module) and
adds what built-in providers have in common: API keys from the config or the
provider's environment variables, SDK client caching, and validation through the
field-mapping registry in :meth:`~BaseProviderHandler.prepare`.

Retries, fallback, deadlines, polling cadence, progress events and job records
live in :mod:`tarash.tarash_gateway.orchestrator`; handlers only speak their
provider's protocol and map its errors. The specification's ``generate_video``
… methods are provided here on top of the orchestrator, so a built-in handler
can also be called directly (one config, no fallback).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx

from tarash.tarash_gateway import orchestrator
from tarash.tarash_gateway._secrets import header_value_problem, register_secret
from tarash.tarash_gateway._sync import run_sync
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    OperationNotSupportedError,
    ValidationError,
)
from tarash.tarash_gateway.http import client_cache, key_fingerprint
from tarash.tarash_gateway.jobs import JobRef, Operation
from tarash.tarash_gateway.logging import log_warning
from tarash.tarash_gateway.media import MediaInput
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    BaseGenerationConfig,
    BaseGenerationRequest,
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
from tarash.tarash_gateway.providers.steps import (
    AttemptContext,
    CancelOutcome,
    Prepared,
    StepHandler,
    Submission,
    new_request_id,
)
from tarash.tarash_gateway.registry import get_provider_field_mapping

if TYPE_CHECKING:
    from tarash.tarash_gateway.models import AnyProgressCallback

__all__ = [
    "AttemptContext",
    "BaseProviderHandler",
    "CancelOutcome",
    "Prepared",
    "StepHandler",
    "Submission",
    "new_request_id",
    "walk_media",
]

T = TypeVar("T")


class BaseProviderHandler(StepHandler):
    """Base class of built-in providers (see the module docs for the step contract).

    Class attributes a provider sets:
        name: Registry name (``"fal"``).
        operations: Operations it offers.
        api_key_env: Environment variables to read the key from when the config has none.
        requires_api_key: False for providers that need no key (the mock).
    """

    api_key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env: ClassVar[tuple[str, ...]] = ()
    """Environment variables the provider's SDK reads a base URL from (``OPENAI_BASE_URL``
    …): part of the client cache key, so a changed variable gets a fresh client."""
    requires_api_key: ClassVar[bool] = True

    # ------------------------------------------------------------------ capability

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
        """Fail before any network call when no key can be found, or when the key (from
        the config or the environment) cannot travel in an HTTP header."""
        key = self.api_key(config)
        if self.requires_api_key and not key:
            hint = f" or set {' / '.join(self.api_key_env)}" if self.api_key_env else ""
            raise AuthenticationError(
                f"no API key for provider {self.name!r}: pass api_key in the config{hint}",
                self.name,
                config.model,
                status_code=None,
            )
        problem = header_value_problem(key) if key else None
        if problem is not None:
            source = (
                "api_key"
                if config.api_key_value()
                else " / ".join(v for v in self.api_key_env if os.environ.get(v))
            )
            raise ValidationError(
                f"the API key from {source} {problem}", self.name, config.model, field="api_key"
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
        """A cached SDK client for (provider, key, effective base URL, ``kind``) on the
        running loop; the base URL counts also when it comes from the environment."""
        key = (
            self.name,
            kind,
            key_fingerprint(self.api_key(config)),
            config.base_url,
            tuple(os.environ.get(var) for var in self.base_url_env),
            config.api_version,
            _freeze(config.provider_config),
        )
        return client_cache.get(key, factory, loop_bound=loop_bound)

    # ------------------------------------------------------------------ 1. prepare

    def field_mappings(self) -> Mapping[str, dict[str, FieldMapper]]:
        """This provider's model registry (the shared, user-extensible one)."""
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

    job_endpoint_hosts: ClassVar[tuple[str, ...] | None] = None
    """Hosts (and their subdomains) that a stored :class:`JobRef`'s endpoint URLs may point
    at when the config sets no ``base_url``. ``None``: this provider never sends
    credentials to URLs taken from a job reference, so they are not checked."""

    def validate_job(self, job: JobRef, config: BaseGenerationConfig) -> None:
        """Refuse a job reference whose endpoints are not this provider's API.

        A :class:`JobRef` comes back from storage; it must never steer the API key to
        another host (the orchestrator has already checked that it belongs to this
        provider).
        """
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

    # ------------------------------------------------------------------ spec-level API

    async def _single(
        self,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        on_progress: AnyProgressCallback | None,
        blocking: bool = False,
    ) -> Any:
        return await orchestrator.execute(
            config, request, on_progress, handler=self, use_fallbacks=False, blocking=blocking
        )

    def _single_sync(
        self,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        on_progress: AnyProgressCallback | None,
    ) -> Any:
        return run_sync(self._single(config, request, on_progress, blocking=True))

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
