"""Tarash Gateway: one Python interface for AI video, image, TTS and STS across providers.

Quick start (offline, on the built-in mock provider)::

    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

    response = generate_video(
        VideoGenerationConfig(provider="mock", model="mock-video"),
        VideoGenerationRequest(prompt="a red fox running through snow", duration_seconds=4),
    )
    response.save("fox.mp4")

Importing this package imports no provider SDK; each is loaded on first use.
"""

from __future__ import annotations

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
    OperationNotSupportedError,
    ProviderNotFoundError,
    RateLimitError,
    TarashException,
    TarashTimeoutError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.http import aclose_clients
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

_REPLACED = {
    "GenerationCost": "Cost (response.cost: amount, unit, source, detail)",
    "TokenUsage": "Cost.detail (the provider's usage figures)",
    "CostComponent": "Cost.detail",
    "PRICING_TABLE": "Cost with source='estimate' on the response",
}


def __getattr__(name: str) -> object:
    """Names of the published 0.1.0 that live elsewhere now: the public names of
    :mod:`tarash.tarash_gateway.models` (``Resolution``, ``AspectRatio``,
    ``format_to_content_type`` …) resolve from there; removed ones name their
    replacement."""
    if name in _REPLACED:
        raise ImportError(
            f"tarash.tarash_gateway.{name} was removed after 0.1.0; use {_REPLACED[name]}"
        )
    if not name.startswith("_"):
        from tarash.tarash_gateway import models

        if hasattr(models, name):
            return getattr(models, name)
    raise AttributeError(f"module 'tarash.tarash_gateway' has no attribute {name!r}")


__all__ = [
    "AttemptMetadata",
    "AudioGenerationConfig",
    "AudioOutputFormat",
    "AuthenticationError",
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
    "OperationNotSupportedError",
    "ProviderHandler",
    "ProviderNotFoundError",
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
    "stream_tts",
    "stream_tts_async",
    "submit_job",
    "submit_job_async",
    "wait_for_job",
    "wait_for_job_async",
]
