"""Public API entry points (import them from ``tarash.tarash_gateway``).

Every ``generate_*`` function has a blocking and an ``*_async`` form with the
same parameters. ``on_progress`` accepts sync and async callables in both.
The blocking forms run the async core on one background event loop, so they
also work inside a thread whose own loop is running.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from tarash.tarash_gateway._secrets import scrub_exception
from tarash.tarash_gateway._sync import run_sync
from tarash.tarash_gateway.jobs import JobRef, JobStatus
from tarash.tarash_gateway.logging import log_info
from tarash.tarash_gateway.models import (
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
from tarash.tarash_gateway.providers.field_mappers import FieldMapper
from tarash.tarash_gateway.registry import (
    get_provider_field_mapping as _get_provider_field_mapping,
)
from tarash.tarash_gateway.registry import register_provider as _register_provider
from tarash.tarash_gateway.registry import (
    register_provider_field_mapping as _register_provider_field_mapping,
)

if TYPE_CHECKING:
    from tarash.tarash_gateway.streaming import stream_tts, stream_tts_async

__all__ = [
    "cancel_job",
    "cancel_job_async",
    "fetch_job_result",
    "fetch_job_result_async",
    "generate_image",
    "generate_image_async",
    "generate_sts",
    "generate_sts_async",
    "generate_tts",
    "generate_tts_async",
    "generate_video",
    "generate_video_async",
    "get_job_status",
    "get_job_status_async",
    "get_provider_field_mapping",
    "register_provider",
    "register_provider_field_mapping",
    "stream_tts",
    "stream_tts_async",
    "submit_job",
    "submit_job_async",
    "wait_for_job",
    "wait_for_job_async",
]

_LOG = "api"


def __getattr__(name: str) -> Any:
    if name in ("stream_tts", "stream_tts_async"):
        from tarash.tarash_gateway import streaming

        return getattr(streaming, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _scrubbed(
    func: Callable[_P, Coroutine[Any, Any, _R]],
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Mask API keys in every exception leaving the public API, its whole chain included.

    Our typed errors are raised ``from`` the SDK's exception, whose message, body or gRPC
    details may repeat a key the provider echoed back; ``traceback.format_exception`` and
    error trackers print that chain.
    """

    @functools.wraps(func)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await func(*args, **kwargs)
        except BaseException as exc:
            scrub_exception(exc)
            raise

    return wrapper


def _log_request(kind: str, config: BaseGenerationConfig, request: BaseGenerationRequest) -> None:
    log_info(f"{kind} request received", {"config": config, "request": request}, _LOG)


@_scrubbed
async def _generate(
    kind: str,
    config: BaseGenerationConfig,
    request: BaseGenerationRequest,
    on_progress: Any,
    blocking: bool = False,
) -> Any:
    """One generation through the chain (``blocking``: the caller used the blocking API,
    so custom handlers get their blocking method)."""
    _log_request(kind, config, request)
    from tarash.tarash_gateway import orchestrator  # imported on first call: keeps the import cheap

    return await orchestrator.execute(config, request, on_progress, blocking=blocking)


# ---------------------------------------------------------------------------- registration


def register_provider(provider: str, handler: Any) -> None:
    """Register a custom provider handler (used for configs with ``provider=<name>``).

    A handler needs only the ``generate_<operation>`` / ``generate_<operation>_async``
    methods of the operations it offers; subclassing
    :class:`~tarash.tarash_gateway.providers.base.BaseProviderHandler` adds
    validation before submit, resumable jobs and upstream cancel.
    """
    _register_provider(provider, handler)


def register_provider_field_mapping(
    provider: str,
    model_mappings: dict[str, dict[str, FieldMapper]],
    *,
    replace: bool = False,
) -> None:
    """Register field mappings for a provider's models (built-in providers use them too).

    ``model_mappings`` maps a model name or prefix to ``{api_param: FieldMapper}``;
    the longest prefix ending on a ``/``, ``:`` or ``@`` boundary wins. Entries are
    merged over the existing registry unless ``replace=True``.
    """
    _register_provider_field_mapping(provider, model_mappings, replace=replace)


def get_provider_field_mapping(provider: str) -> dict[str, dict[str, FieldMapper]] | None:
    """The field-mapper registry of ``provider``, or ``None`` if it has none."""
    return _get_provider_field_mapping(provider)


# ---------------------------------------------------------------------------- video


@_scrubbed
async def generate_video_async(
    config: VideoGenerationConfig,
    request: VideoGenerationRequest,
    on_progress: ProgressCallback | None = None,
) -> VideoGenerationResponse:
    """Generate a video: validate, submit, poll, convert, falling back on retryable errors.

    Raises:
        TarashException: if generation fails on every config of the chain.
    """
    response: VideoGenerationResponse = await _generate(
        "Video generation", config, request, on_progress
    )
    return response


def generate_video(
    config: VideoGenerationConfig,
    request: VideoGenerationRequest,
    on_progress: ProgressCallback | None = None,
) -> VideoGenerationResponse:
    """Blocking version of :func:`generate_video_async`."""
    response: VideoGenerationResponse = run_sync(
        _generate("Video generation", config, request, on_progress, blocking=True)
    )
    return response


# ---------------------------------------------------------------------------- image


@_scrubbed
async def generate_image_async(
    config: ImageGenerationConfig,
    request: ImageGenerationRequest,
    on_progress: ImageProgressCallback | None = None,
) -> ImageGenerationResponse:
    """Generate images, falling back on retryable errors.

    Raises:
        TarashException: if generation fails on every config of the chain.
        NotImplementedError: (``OperationNotSupportedError``) if the provider
            does not support image generation.
    """
    response: ImageGenerationResponse = await _generate(
        "Image generation", config, request, on_progress
    )
    return response


def generate_image(
    config: ImageGenerationConfig,
    request: ImageGenerationRequest,
    on_progress: ImageProgressCallback | None = None,
) -> ImageGenerationResponse:
    """Blocking version of :func:`generate_image_async`."""
    response: ImageGenerationResponse = run_sync(
        _generate("Image generation", config, request, on_progress, blocking=True)
    )
    return response


# ---------------------------------------------------------------------------- audio


@_scrubbed
async def generate_tts_async(
    config: AudioGenerationConfig,
    request: TTSRequest,
    on_progress: TTSProgressCallback | None = None,
) -> TTSResponse:
    """Text to speech; the response carries base64 audio (``audio_bytes`` decodes it)."""
    response: TTSResponse = await _generate("TTS generation", config, request, on_progress)
    return response


def generate_tts(
    config: AudioGenerationConfig,
    request: TTSRequest,
    on_progress: TTSProgressCallback | None = None,
) -> TTSResponse:
    """Blocking version of :func:`generate_tts_async`."""
    response: TTSResponse = run_sync(
        _generate("TTS generation", config, request, on_progress, blocking=True)
    )
    return response


@_scrubbed
async def generate_sts_async(
    config: AudioGenerationConfig,
    request: STSRequest,
    on_progress: STSProgressCallback | None = None,
) -> STSResponse:
    """Speech to speech (voice changer); the response carries base64 audio."""
    response: STSResponse = await _generate("STS generation", config, request, on_progress)
    return response


def generate_sts(
    config: AudioGenerationConfig,
    request: STSRequest,
    on_progress: STSProgressCallback | None = None,
) -> STSResponse:
    """Blocking version of :func:`generate_sts_async`."""
    response: STSResponse = run_sync(
        _generate("STS generation", config, request, on_progress, blocking=True)
    )
    return response


# ---------------------------------------------------------------------------- durable jobs


@_scrubbed
async def submit_job_async(
    config: BaseGenerationConfig, request: BaseGenerationRequest
) -> JobRef | BaseGenerationResponse:
    """Submit without waiting. Polled operations return a :class:`JobRef` to store anywhere;
    direct ones (most image/audio calls) return their response."""
    _log_request("Job submission", config, request)
    from tarash.tarash_gateway import orchestrator  # imported on first call: keeps the import cheap

    return await orchestrator.submit_job(config, request)


def submit_job(
    config: BaseGenerationConfig, request: BaseGenerationRequest
) -> JobRef | BaseGenerationResponse:
    """Blocking version of :func:`submit_job_async`."""
    return run_sync(submit_job_async(config, request))


@_scrubbed
async def wait_for_job_async(
    job: JobRef,
    config: BaseGenerationConfig | None = None,
    on_progress: Any = None,
) -> Any:
    """Resume an accepted job (in this or another process) and return its response."""
    from tarash.tarash_gateway import orchestrator  # imported on first call: keeps the import cheap

    return await orchestrator.wait_for_job(job, config, on_progress)


def wait_for_job(
    job: JobRef, config: BaseGenerationConfig | None = None, on_progress: Any = None
) -> Any:
    """Blocking version of :func:`wait_for_job_async`."""
    return run_sync(wait_for_job_async(job, config, on_progress))


@_scrubbed
async def fetch_job_result_async(job: JobRef, config: BaseGenerationConfig | None = None) -> Any:
    """The response of a job that completed upstream (no waiting, never resubmits)."""
    from tarash.tarash_gateway import orchestrator

    return await orchestrator.fetch_job_result(job, config)


def fetch_job_result(job: JobRef, config: BaseGenerationConfig | None = None) -> Any:
    """Blocking :func:`fetch_job_result_async`."""
    return run_sync(fetch_job_result_async(job, config))


@_scrubbed
async def get_job_status_async(
    job: JobRef, config: BaseGenerationConfig | None = None
) -> JobStatus:
    """One status observation of an accepted job."""
    from tarash.tarash_gateway import orchestrator  # imported on first call: keeps the import cheap

    return await orchestrator.get_job_status(job, config)


def get_job_status(job: JobRef, config: BaseGenerationConfig | None = None) -> JobStatus:
    """Blocking version of :func:`get_job_status_async`."""
    return run_sync(get_job_status_async(job, config))


@_scrubbed
async def cancel_job_async(job: JobRef, config: BaseGenerationConfig | None = None) -> bool:
    """Cancel an accepted job upstream; True when the provider confirmed."""
    from tarash.tarash_gateway import orchestrator  # imported on first call: keeps the import cheap

    return await orchestrator.cancel_job(job, config)


def cancel_job(job: JobRef, config: BaseGenerationConfig | None = None) -> bool:
    """Blocking version of :func:`cancel_job_async`."""
    return run_sync(cancel_job_async(job, config))
