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
        TimeoutError,
        ValidationError,
    )
    from tarash.tarash_gateway.http import (
        aclose_clients,
    )
    from tarash.tarash_gateway.jobs import (
        JobRef,
        JobStatus,
        MemoryJobStore,
        SQLiteJobStore,
        get_job_store,
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

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    "AttemptMetadata": "models",
    "AudioGenerationConfig": "models",
    "AudioOutputFormat": "models",
    "AuthenticationError": "exceptions",
    "BlockingCallInEventLoopWarning": "_sync",
    "ContentModerationError": "exceptions",
    "Cost": "models",
    "ExecutionMetadata": "models",
    "GenerationFailedError": "exceptions",
    "HTTPConnectionError": "exceptions",
    "HTTPError": "exceptions",
    "ImageGenerationConfig": "models",
    "ImageGenerationRequest": "models",
    "ImageGenerationResponse": "models",
    "ImageGenerationUpdate": "models",
    "ImageType": "models",
    "JobRef": "jobs",
    "JobStatus": "jobs",
    "MediaContent": "models",
    "MediaType": "models",
    "MemoryJobStore": "jobs",
    "MockConfig": "models",
    "MockPollingConfig": "models",
    "MockResponse": "models",
    "OperationNotSupportedError": "exceptions",
    "ProviderHandler": "models",
    "ProviderNotFoundError": "exceptions",
    "RateLimitError": "exceptions",
    "RetryPolicy": "models",
    "SQLiteJobStore": "jobs",
    "STSRequest": "models",
    "STSResponse": "models",
    "STSUpdate": "models",
    "TTSRequest": "models",
    "TTSResponse": "models",
    "TTSUpdate": "models",
    "TarashException": "exceptions",
    "TimeoutError": "exceptions",
    "ValidationError": "exceptions",
    "VideoGenerationConfig": "models",
    "VideoGenerationRequest": "models",
    "VideoGenerationResponse": "models",
    "VideoGenerationUpdate": "models",
    "aclose_clients": "http",
    "allow_private_media_hosts": "_netpolicy",
    "cancel_job": "api",
    "cancel_job_async": "api",
    "generate_image": "api",
    "generate_image_async": "api",
    "generate_sts": "api",
    "generate_sts_async": "api",
    "generate_tts": "api",
    "generate_tts_async": "api",
    "generate_video": "api",
    "generate_video_async": "api",
    "get_job_status": "api",
    "get_job_status_async": "api",
    "get_job_store": "jobs",
    "get_provider_field_mapping": "api",
    "register_provider": "api",
    "register_provider_field_mapping": "api",
    "set_job_store": "jobs",
    "set_server_mode": "_netpolicy",
    "stream_tts": "api",
    "stream_tts_async": "api",
    "submit_job": "api",
    "submit_job_async": "api",
    "wait_for_job": "api",
    "wait_for_job_async": "api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name.startswith("__"):
            raise AttributeError(name)
        try:  # a submodule accessed as an attribute: tarash.tarash_gateway.models
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
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
    "JobRef",
    "JobStatus",
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
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "TarashException",
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
