"""Tarash Gateway: one Python interface for AI video, image, TTS and STS across providers.

Quick start (offline, on the built-in mock provider)::

    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

    response = generate_video(
        VideoGenerationConfig(provider="mock", model="mock-video"),
        VideoGenerationRequest(prompt="a red fox running through snow", duration_seconds=4),
    )
    response.save("fox.mp4")

Importing this package imports no provider SDK; each is loaded on first use. The public
names below are loaded lazily too (PEP 562 module ``__getattr__``): ``import
tarash.tarash_gateway`` costs little, and each name's module is imported the first time the
name is used (``benchmarks/import_and_mock.py`` measures it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tarash.tarash_gateway._netpolicy import (
        allow_private_media_hosts,
        set_server_mode,
    )
    from tarash.tarash_gateway._sync import (
        BlockingCallInEventLoopWarning,
    )
    from tarash.tarash_gateway.api import (
        cancel_job,
        cancel_job_async,
        fetch_job_result,
        fetch_job_result_async,
        generate_image,
        generate_image_async,
        generate_sts,
        generate_sts_async,
        generate_tts,
        generate_tts_async,
        generate_video,
        generate_video_async,
        get_job_status,
        get_job_status_async,
        get_provider_field_mapping,
        register_provider,
        register_provider_field_mapping,
        stream_tts,
        stream_tts_async,
        submit_job,
        submit_job_async,
        wait_for_job,
        wait_for_job_async,
    )
    from tarash.tarash_gateway.exceptions import (
        AuthenticationError,
        ContentModerationError,
        GenerationFailedError,
        HTTPConnectionError,
        HTTPError,
        ModelRetiredError,
        ModelUnavailableError,
        OperationNotSupportedError,
        ProviderNotFoundError,
        ProviderSDKMissingError,
        RateLimitError,
        TarashException,
        TarashTimeoutError,
        TimeoutError,
        ValidationError,
    )
    from tarash.tarash_gateway.http import (
        aclose_clients,
    )
    from tarash.tarash_gateway.jobs import (
        JobRecord,
        JobRef,
        JobStatus,
        JobStore,
        MemoryJobStore,
        SQLiteJobStore,
        SubmitIntent,
        get_job_store,
        list_pending_jobs,
        list_pending_jobs_async,
        set_job_store,
    )
    from tarash.tarash_gateway.models import (
        AttemptMetadata,
        AudioGenerationConfig,
        AudioOutputFormat,
        Cost,
        ExecutionMetadata,
        ImageGenerationConfig,
        ImageGenerationRequest,
        ImageGenerationResponse,
        ImageGenerationUpdate,
        ImageType,
        MediaContent,
        MediaType,
        MockConfig,
        MockPollingConfig,
        MockResponse,
        ProviderHandler,
        RetryPolicy,
        STSRequest,
        STSResponse,
        STSUpdate,
        TTSRequest,
        TTSResponse,
        TTSUpdate,
        VideoGenerationConfig,
        VideoGenerationRequest,
        VideoGenerationResponse,
        VideoGenerationUpdate,
    )

__version__ = "0.2.0"

_PUBLIC: dict[str, tuple[str, ...]] = {
    "_netpolicy": (
        "allow_private_media_hosts",
        "set_server_mode",
    ),
    "_sync": ("BlockingCallInEventLoopWarning",),
    "api": (
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
    ),
    "exceptions": (
        "AuthenticationError",
        "ContentModerationError",
        "GenerationFailedError",
        "HTTPConnectionError",
        "HTTPError",
        "ModelRetiredError",
        "ModelUnavailableError",
        "OperationNotSupportedError",
        "ProviderNotFoundError",
        "ProviderSDKMissingError",
        "RateLimitError",
        "TarashException",
        "TarashTimeoutError",
        "TimeoutError",
        "ValidationError",
    ),
    "http": ("aclose_clients",),
    "jobs": (
        "JobRecord",
        "JobRef",
        "JobStatus",
        "JobStore",
        "MemoryJobStore",
        "SQLiteJobStore",
        "SubmitIntent",
        "get_job_store",
        "list_pending_jobs",
        "list_pending_jobs_async",
        "set_job_store",
    ),
    "models": (
        "AttemptMetadata",
        "AudioGenerationConfig",
        "AudioOutputFormat",
        "Cost",
        "ExecutionMetadata",
        "ImageGenerationConfig",
        "ImageGenerationRequest",
        "ImageGenerationResponse",
        "ImageGenerationUpdate",
        "ImageType",
        "MediaContent",
        "MediaType",
        "MockConfig",
        "MockPollingConfig",
        "MockResponse",
        "ProviderHandler",
        "RetryPolicy",
        "STSRequest",
        "STSResponse",
        "STSUpdate",
        "TTSRequest",
        "TTSResponse",
        "TTSUpdate",
        "VideoGenerationConfig",
        "VideoGenerationRequest",
        "VideoGenerationResponse",
        "VideoGenerationUpdate",
    ),
}
_LAZY: dict[str, str] = {name: module for module, names in _PUBLIC.items() for name in names}
"""Public name → the submodule that defines it (loaded on first use)."""

_REPLACED = {
    "GenerationCost": "Cost (response.cost: amount, unit, source, detail)",
    "TokenUsage": "Cost.detail (the provider's usage figures)",
    "CostComponent": "Cost.detail",
    "PRICING_TABLE": "Cost with source='estimate' on the response",
}
"""Names of the published 0.1.0 that are gone, with what replaces them."""


def __getattr__(name: str) -> Any:
    """Public names on first use (PEP 562); also the other public names of
    :mod:`~tarash.tarash_gateway.models` that 0.1.0 exported here (``Resolution``,
    ``AspectRatio``, ``format_to_content_type`` …), submodules as attributes, and an
    ImportError naming the replacement for 0.1.0 names that are gone."""
    module = _LAZY.get(name)
    if module is None:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _REPLACED:
            raise ImportError(
                f"tarash.tarash_gateway.{name} was removed after 0.1.0; use {_REPLACED[name]}"
            )
        try:  # a submodule accessed as an attribute: tarash.tarash_gateway.models
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
        models = importlib.import_module(f"{__name__}.models")
        if not name.startswith("_") and hasattr(models, name):
            return getattr(models, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AttemptMetadata",
    "AudioGenerationConfig",
    "AudioOutputFormat",
    "AuthenticationError",
    "BlockingCallInEventLoopWarning",
    "ContentModerationError",
    "Cost",
    "ExecutionMetadata",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "ImageType",
    "JobRecord",
    "JobRef",
    "JobStatus",
    "JobStore",
    "MediaContent",
    "MediaType",
    "MemoryJobStore",
    "MockConfig",
    "MockPollingConfig",
    "MockResponse",
    "ModelRetiredError",
    "ModelUnavailableError",
    "OperationNotSupportedError",
    "ProviderHandler",
    "ProviderNotFoundError",
    "ProviderSDKMissingError",
    "RateLimitError",
    "RetryPolicy",
    "SQLiteJobStore",
    "STSRequest",
    "STSResponse",
    "STSUpdate",
    "SubmitIntent",
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "TarashException",
    "TarashTimeoutError",
    "TimeoutError",
    "ValidationError",
    "VideoGenerationConfig",
    "VideoGenerationRequest",
    "VideoGenerationResponse",
    "VideoGenerationUpdate",
    "__version__",
    "aclose_clients",
    "allow_private_media_hosts",
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
    "get_job_store",
    "get_provider_field_mapping",
    "list_pending_jobs",
    "list_pending_jobs_async",
    "register_provider",
    "register_provider_field_mapping",
    "set_job_store",
    "set_server_mode",
    "stream_tts",
    "stream_tts_async",
    "submit_job",
    "submit_job_async",
    "wait_for_job",
    "wait_for_job_async",
]
