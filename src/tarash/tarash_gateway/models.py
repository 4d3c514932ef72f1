"""Public models: configs, requests, responses, progress updates, metadata, mock settings.

Configs are frozen and reject unknown keys (a typo is an error, never a silent
drop). Requests move unknown keys into ``extra_params`` without touching the
caller's dicts. Responses are frozen and serialise to JSON even when they
carry bytes (base64). Names and defaults follow the published
``tarash-gateway`` 0.1.0 so existing code keeps working.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Generic,
    Literal,
    Protocol,
    TypeVar,
    runtime_checkable,
)
from urllib.parse import parse_qsl, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from tarash.tarash_gateway._secrets import (
    header_value_problem,
    is_secret_key,
    redact_text,
    redact_value,
    register_secret,
    register_secrets_in,
    scrub_secrets,
    strip_url_credentials,
    text_problem,
)
from tarash.tarash_gateway.defaults import default_model
from tarash.tarash_gateway.jobs import JobRef, Operation, utcnow
from tarash.tarash_gateway.media import (
    DEFAULT_MAX_MEDIA_BYTES,
    ImageType,
    MediaContent,
    MediaType,
    extension_for,
)

__all__ = [
    "AspectRatio",
    "AttemptMetadata",
    "AudioGenerationConfig",
    "AudioOutputFormat",
    "Cost",
    "ExecutionMetadata",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "ImageProgressCallback",
    "ImageProviderHandler",
    "ImageType",
    "MediaContent",
    "MediaType",
    "MockConfig",
    "MockPollingConfig",
    "MockResponse",
    "ProgressCallback",
    "ProviderHandler",
    "Resolution",
    "RetryPolicy",
    "STSProgressCallback",
    "STSProviderHandler",
    "STSRequest",
    "STSResponse",
    "STSUpdate",
    "StatusType",
    "TTSProgressCallback",
    "TTSProviderHandler",
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "VideoGenerationConfig",
    "VideoGenerationRequest",
    "VideoGenerationResponse",
    "VideoGenerationUpdate",
]

StatusType = Literal["queued", "processing", "completed", "failed"]
Resolution = Literal["360p", "480p", "540p", "720p", "768p", "1080p", "1440p", "2k", "4k"]

_RATIO_RE = re.compile(r"^\d{1,5}(\.\d{1,3})?:\d{1,5}(\.\d{1,3})?$")


def _check_aspect_ratio(value: str) -> str:
    value = value.strip()
    if value in ("auto", "adaptive"):
        return value
    if not _RATIO_RE.match(value):
        raise ValueError(f"aspect ratio must look like '16:9' (or 'auto'), got {value!r}")
    width, height = (float(x) for x in value.split(":"))
    if width <= 0 or height <= 0:
        raise ValueError(f"aspect ratio sides must be positive, got {value!r}")
    return value


AspectRatio = Annotated[str, AfterValidator(_check_aspect_ratio)]
"""Any ``W:H`` ratio (``16:9``, ``2:3``, ``9:21`` …) or ``auto``; models validate their own set."""


# --------------------------------------------------------------------------- audio format


_FORMAT_ALIASES = {"ulaw": "mulaw", "μlaw": "mulaw", "mp3": "mp3", "wave": "wav"}


_AUDIO_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "linear16": "audio/pcm",
    "opus": "audio/opus",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "mulaw": "audio/basic",
    "ulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
}


def format_to_content_type(format: str) -> str:
    """MIME type of an audio format name (``"mp3"`` → ``"audio/mpeg"``); unknown formats
    give ``application/octet-stream`` (0.1.0 guessed ``audio/mpeg``)."""
    return _AUDIO_CONTENT_TYPES.get(format.lower(), "application/octet-stream")


class AudioOutputFormat(BaseModel):
    """Audio output format: container/codec, sample rate and bitrate (kbps).

    Also accepts ElevenLabs-style strings: ``"mp3_44100_128"``, ``"pcm_16000"``,
    ``"wav_44100"``, ``"ulaw_8000"``, ``"opus_48000_64"`` or a bare ``"mp3"``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    format: str = Field(description="Container/codec: mp3, wav, pcm, opus, mulaw, alaw, flac, aac…")
    sample_rate: int | None = Field(default=None, ge=4000, le=192000)
    bitrate: int | None = Field(default=None, ge=8, le=512, description="Bitrate in kbps.")

    @model_validator(mode="before")
    @classmethod
    def _parse_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return parse_audio_format(data)
        return data

    @field_validator("format")
    @classmethod
    def _normalise(cls, value: str) -> str:
        value = value.strip().lower()
        if not value:
            raise ValueError("format must not be empty")
        return _FORMAT_ALIASES.get(value, value)

    def to_provider_string(self) -> str:
        """ElevenLabs-style string: ``mp3_44100_128``, ``pcm_16000``, ``ulaw_8000`` …"""
        name = "ulaw" if self.format == "mulaw" else self.format
        parts = [name]
        if self.sample_rate:
            parts.append(str(self.sample_rate))
        if self.bitrate and self.format in ("mp3", "opus", "aac"):
            parts.append(str(self.bitrate))
        return "_".join(parts)

    @property
    def content_type(self) -> str:
        """MIME type of audio in this format."""
        return format_to_content_type(self.format)


def parse_audio_format(text: str) -> dict[str, Any]:
    """Parse ``"mp3_44100_128"``-style strings into AudioOutputFormat fields."""
    parts = [p for p in re.split(r"[_\-]", text.strip().lower()) if p]
    if not parts:
        raise ValueError("empty audio format")
    fmt, rest = parts[0], parts[1:]
    if len(rest) > 2 or not all(p.isdigit() for p in rest):
        raise ValueError(
            f"audio format must look like 'mp3_44100_128' or 'pcm_16000', got {text!r}"
        )
    out: dict[str, Any] = {"format": fmt}
    if rest:
        out["sample_rate"] = int(rest[0])
    if len(rest) == 2:
        out["bitrate"] = int(rest[1])
    return out


# --------------------------------------------------------------------------- mock settings


MockStatus = Literal["queued", "processing", "completed", "failed"]


def _default_mock_statuses() -> list[MockStatus]:
    return ["queued", "processing", "completed"]


class MockPollingConfig(BaseModel):
    """How the mock simulates a polled job (statuses, delays, progress)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    enabled: bool = True
    status_sequence: list[MockStatus] = Field(default_factory=_default_mock_statuses)
    delay_between_updates: float = Field(default=0.5, ge=0, le=60)
    progress_percentages: list[int] | None = None
    custom_updates: list[dict[str, Any]] | None = None


MockErrorKind = Literal[
    "rate_limit",
    "server_error",
    "timeout",
    "connection",
    "connection_reset",
    "moderation",
    "validation",
    "authentication",
    "generation_failed",
]


class MockResponse(BaseModel):
    """One possible mock outcome; chosen by weight (or in order with ``selection="sequence"``).

    ``error`` may be an exception instance to raise or one of the kinds
    ``rate_limit``, ``server_error``, ``timeout``, ``connection``, ``moderation``,
    ``validation``, ``authentication``, ``generation_failed``.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, defer_build=True
    )

    weight: float = Field(default=1.0, gt=0)
    mock_response: Any = None
    output_video: MediaType | None = None
    output_video_type: Literal["url", "content"] = "content"
    error: Exception | MockErrorKind | None = None
    error_message: str | None = None
    retry_after: float | None = Field(default=None, ge=0)


class MockConfig(BaseModel):
    """Offline mock switch for any config: ``mock=MockConfig(enabled=True)`` or ``mock=True``.

    The mock produces real media (PNG, WAV, MP4) deterministically from the
    seed (``seed``, else the request's seed, else a hash of the request).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    enabled: bool
    responses: list[MockResponse] | None = None
    selection: Literal["weighted", "sequence"] = "weighted"
    polling: MockPollingConfig | None = None
    seed: int | None = None


# --------------------------------------------------------------------------- configs


class RetryPolicy(BaseModel):
    """Retries on the same config before falling back (exponential backoff, full jitter).

    Retry-After from the provider is honoured (capped by ``max_retry_after``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_retries: int = Field(default=2, ge=0, le=10)
    initial_delay: float = Field(default=1.0, ge=0, le=60)
    max_delay: float = Field(default=20.0, ge=0, le=600)
    multiplier: float = Field(default=2.0, ge=1, le=10)
    jitter: bool = True
    honor_retry_after: bool = True
    max_retry_after: float = Field(default=60.0, ge=0, le=3600)
    retry_on_timeout: bool = Field(
        default=False,
        description="Retry the same config after a timeout (default: go to the next fallback).",
    )
    total_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Budget in seconds for the whole call — every retry, backoff and "
        "fallback (read from the first config of the chain). None: only per-attempt timeouts.",
    )
    on_unknown_outcome: Literal["fallback", "stop"] = Field(
        default="fallback",
        description="When a submit's outcome is unknown (sent, then the connection broke or "
        "the answer was unreadable or late), it is never resent to the same config. "
        "'fallback' (default) moves on to the next config — the job may then run at both "
        "providers; 'stop' ends the chain with that error (marked outcome_unknown), so at "
        "most one provider can bill. Either way the intent stays in the job store as 'unknown'.",
    )


UnsupportedParamPolicy = Literal["error", "warn", "ignore"]
ConfigT = TypeVar("ConfigT", bound="BaseGenerationConfig")


class BaseGenerationConfig(BaseModel):
    """Fields shared by every config (see the concrete configs for defaults)."""

    # hide_input_in_errors: a rejected config (a misspelt ``apikey=``, a malformed key)
    # must not copy the key into pydantic's error text or ``errors()``.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        hide_input_in_errors=True,
        defer_build=True,
    )

    _default_operation: ClassVar[str] = "video"

    model: str = Field(
        min_length=1,
        description="Model name, e.g. 'fal-ai/veo3'; omitted: the provider's default model.",
    )
    provider: str = Field(min_length=1, description="Provider name, e.g. 'fal'.")
    api_key: SecretStr | None = Field(default=None, description="Provider API key.")
    base_url: str | None = Field(
        default=None, description="Override the provider endpoint (proxy, region, emulator)."
    )
    api_version: str | None = None
    timeout: float = Field(default=600, gt=0, description="Seconds one attempt may take.")
    max_poll_attempts: int = Field(default=120, ge=1)
    poll_interval: float = Field(default=5, gt=0, description="Longest wait between polls.")
    mock: MockConfig | None = None
    fallback_configs: list[Any] | None = None
    provider_config: dict[str, Any] = Field(default_factory=dict)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    on_unsupported_param: UnsupportedParamPolicy = Field(
        default="error",
        description="A request field the model does not take: raise (default), warn or ignore.",
    )
    max_input_bytes: int = Field(default=DEFAULT_MAX_MEDIA_BYTES, gt=0)
    strict_models: bool = Field(
        default=False,
        description="A model missing from the gateway's catalog: error instead of a warning.",
    )

    @field_validator("mock", mode="before")
    @classmethod
    def _mock_shorthand(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return MockConfig(enabled=value)
        return value

    # --- issue 15 item 4: LiteLLM-style "provider/model" when provider is omitted
    @model_validator(mode="before")
    @classmethod
    def _provider_from_model(cls, data: Any) -> Any:
        """``model="openai/gpt-image-2"`` without ``provider`` → provider ``openai``.

        Only when ``provider`` is absent and the first segment is exactly a built-in
        provider's name (``fal-ai/…`` stays a model id that needs ``provider="fal"``).
        """
        if not isinstance(data, dict) or data.get("provider") is not None:
            return data
        model = data.get("model")
        if not isinstance(model, str) or "/" not in model:
            return data
        from tarash.tarash_gateway.registry import BUILTIN_PROVIDERS

        head, _, rest = model.partition("/")
        if head in BUILTIN_PROVIDERS and rest.strip():
            return {**data, "provider": head, "model": rest}
        return data

    @field_validator("api_key", mode="after")
    @classmethod
    def _register_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            key = value.get_secret_value()
            register_secret(key)
            problem = header_value_problem(key)
            if problem:  # fails here, not as an encoding error inside the HTTP client
                raise ValueError(f"api_key {problem}")
        return value

    @field_validator("provider_config", mode="after")
    @classmethod
    def _register_provider_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        register_secrets_in(value)
        headers = value.get("headers")
        if isinstance(headers, Mapping):
            for name, item in headers.items():
                if not isinstance(item, str):
                    continue
                problem = header_value_problem(str(name)) or header_value_problem(item)
                if problem:
                    raise ValueError(f"provider_config header {str(name)[:40]!r} {problem}")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z][a-z0-9+.-]*://", value):
            raise ValueError("base_url must be an absolute URL (scheme://host…)")
        if value is not None and any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
            raise ValueError("base_url contains whitespace or a control character")
        if value is not None:  # user:password@host or ?key=… must never reach a log line
            parsed = urlsplit(value)
            register_secret(parsed.password)
            register_secrets_in(dict(parse_qsl(parsed.query)))
        return value

    @model_validator(mode="before")
    @classmethod
    def _wrap_secret_inputs(cls, data: Any) -> Any:
        # A raw key string would be copied into pydantic's ``errors()[i]["input"]`` when any
        # check on it fails (or when it is passed under a misspelt name such as ``apikey``);
        # as a SecretStr it shows as '**********' there.
        # Only the key field and undeclared (misspelt) names: a declared str field whose name
        # merely looks secret-like must keep receiving a str.
        def wrap(name: Any, value: Any) -> bool:
            key = str(name)
            return (
                isinstance(value, str)
                and is_secret_key(key)
                and (key == "api_key" or key not in cls.model_fields)
            )

        if isinstance(data, Mapping) and any(wrap(k, v) for k, v in data.items()):
            return {k: SecretStr(v) if wrap(k, v) else v for k, v in data.items()}
        return data

    @model_validator(mode="before")
    @classmethod
    def _default_model(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data.get("model") and data.get("provider"):
            model = default_model(str(data["provider"]), cls._default_operation)
            if model:
                return {**data, "model": model}
        return data

    @field_serializer("base_url", when_used="json")
    def _serialize_base_url(self, value: str | None) -> str | None:
        # Like api_key (dumped as '**********'): JSON output never carries user:pass@ or ?key=.
        return strip_url_credentials(value) if value else value

    def api_key_value(self) -> str | None:
        """The API key in clear (for handing to an SDK; never log it)."""
        return self.api_key.get_secret_value() if self.api_key else None

    @property
    def is_mock(self) -> bool:
        """Whether this config runs on the offline mock."""
        return self.provider == "mock" or bool(self.mock and self.mock.enabled)

    def chain(self: ConfigT) -> list[ConfigT]:
        """This config followed by its fallbacks, flattened in order."""
        out: list[ConfigT] = [self]
        for fb in self.fallback_configs or []:
            out.extend(fb.chain())
        return out

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name == "provider_config" and value:
                yield name, redact_value(value)
            elif name == "base_url" and value:
                yield name, strip_url_credentials(value)
            elif name == "fallback_configs" and not value:
                continue
            else:
                yield name, value


class VideoGenerationConfig(BaseGenerationConfig):
    """Provider configuration for video generation (timeout 600 s, poll ≤ every 5 s)."""

    timeout: float = Field(default=600, gt=0)
    max_poll_attempts: int = Field(default=120, ge=1)
    poll_interval: float = Field(default=5, gt=0)
    fallback_configs: list[VideoGenerationConfig] | None = None


class ImageGenerationConfig(BaseGenerationConfig):
    """Provider configuration for image generation (timeout 120 s, poll ≤ every 2 s)."""

    _default_operation: ClassVar[str] = "image"

    timeout: float = Field(default=120, gt=0)
    max_poll_attempts: int = Field(default=60, ge=1)
    poll_interval: float = Field(default=2, gt=0)
    fallback_configs: list[ImageGenerationConfig] | None = None


class AudioGenerationConfig(BaseGenerationConfig):
    """Provider configuration for TTS and STS (timeout 240 s; default model: the TTS one)."""

    _default_operation: ClassVar[str] = "tts"

    timeout: float = Field(default=240, gt=0)
    max_poll_attempts: int = Field(default=120, ge=1)
    poll_interval: float = Field(default=1, gt=0)
    fallback_configs: list[AudioGenerationConfig] | None = None


# --------------------------------------------------------------------------- requests


class BaseGenerationRequest(BaseModel):
    """Fields shared by every request; unknown keys are collected into ``extra_params``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    extra_params: dict[str, Any] = Field(
        default_factory=dict, description="Provider parameters passed through as-is."
    )
    provider_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Parameters for one provider only, keyed by provider name "
        "(e.g. {'fal': {'loop': True}}); applied only when that provider runs.",
    )

    @model_validator(mode="before")
    @classmethod
    def _collect_unknown(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        known = set(cls.model_fields)
        for field in cls.model_fields.values():
            if field.alias:
                known.add(field.alias)
        unknown = {k: v for k, v in data.items() if k not in known}
        if not unknown:
            return data
        out = {k: v for k, v in data.items() if k in known}  # never mutate the caller's dict
        extra = dict(out.get("extra_params") or {})
        for key, value in unknown.items():
            extra.setdefault(key, value)
        out["extra_params"] = extra
        return out

    @model_validator(mode="after")
    def _check_text_encodable(self) -> BaseGenerationRequest:
        # A lone surrogate (e.g. half of an emoji cut by a bad slice, or bytes decoded with
        # surrogateescape) cannot be encoded to JSON/UTF-8: fail here, before any network.
        for name in type(self).model_fields:
            problem = _first_text_problem(getattr(self, name))
            if problem:
                raise ValueError(f"{name} {problem}")
        return self

    def set_fields(self) -> dict[str, Any]:
        """Fields whose value differs from the default (what the caller actually asked for)."""
        out: dict[str, Any] = {}
        for name, default in _field_defaults(type(self)).items():
            value = getattr(self, name)
            if value is not None and value != default:
                out[name] = value
        return out


def _first_text_problem(value: Any, depth: int = 0) -> str | None:
    """The first unencodable string in a field value (strings, lists, dicts; bounded depth)."""
    if isinstance(value, str):
        return text_problem(value)
    if depth > 8:
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = _first_text_problem(key, depth + 1) or _first_text_problem(item, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            problem = _first_text_problem(item, depth + 1)
            if problem:
                return problem
    return None


_DEFAULTS: dict[type[BaseModel], dict[str, Any]] = {}


def _field_defaults(cls: type[BaseModel]) -> dict[str, Any]:
    """Each request class's field defaults, computed once (``set_fields`` is on the hot path)."""
    cached = _DEFAULTS.get(cls)
    if cached is None:
        cached = {
            name: field.get_default(call_default_factory=True)
            for name, field in cls.model_fields.items()
            if name not in ("extra_params", "provider_options")
        }
        _DEFAULTS[cls] = cached
    return cached


class VideoGenerationRequest(BaseGenerationRequest):
    """What to generate: a video."""

    prompt: str = Field(description="Text description of the video to generate.")
    duration_seconds: int | None = Field(default=None, ge=1, le=600)
    resolution: Resolution | None = None
    aspect_ratio: AspectRatio | None = None
    generate_audio: bool | None = None
    image_list: list[ImageType] = Field(
        default_factory=list, description="Input images with roles (reference, first/last frame…)."
    )
    video: MediaType | None = Field(default=None, description="Input video (edit, extend, v2v).")
    audio: MediaType | None = Field(default=None, description="Input audio (lip sync, avatars).")
    seed: int | None = Field(default=None, ge=0)
    number_of_videos: int = Field(default=1, ge=1, le=8)
    negative_prompt: str | None = None
    enhance_prompt: bool | None = None


class ImageGenerationRequest(BaseGenerationRequest):
    """What to generate: one or more images."""

    prompt: str = Field(description="Text description of the image to generate.")
    negative_prompt: str | None = None
    size: str | None = Field(default=None, description="e.g. '1024x1024'.")
    quality: str | None = None
    style: str | None = None
    n: int | None = Field(default=None, ge=1, le=16)
    image_list: list[ImageType] = Field(default_factory=list)
    mask_image: MediaType | None = None
    seed: int | None = Field(default=None, ge=0)
    aspect_ratio: AspectRatio | None = None


def _default_audio_format() -> AudioOutputFormat:
    return AudioOutputFormat(format="mp3", sample_rate=44100, bitrate=128)


class TTSRequest(BaseGenerationRequest):
    """Text to speech."""

    text: str = Field(min_length=1, description="Text to convert to speech.")
    voice_id: str | None = None
    output_format: AudioOutputFormat = Field(default_factory=_default_audio_format)
    language_code: str | None = None
    voice_settings: dict[str, Any] | None = None


class STSRequest(BaseGenerationRequest):
    """Speech to speech (voice changer)."""

    audio: MediaType = Field(description="Input audio: URL, bytes, base64, MediaContent or path.")
    voice_id: str = Field(min_length=1, description="Target voice (provider-specific id).")
    output_format: AudioOutputFormat = Field(default_factory=_default_audio_format)
    voice_settings: dict[str, Any] | None = None


# --------------------------------------------------------------------------- metadata


class Cost(BaseModel):
    """What the provider says the job cost. Absent (``None`` on the response) means unknown."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    amount: float
    unit: Literal["usd", "credits"] = "usd"
    source: Literal["provider", "estimate"] = "provider"
    detail: dict[str, Any] = Field(default_factory=dict)


class AttemptMetadata(BaseModel):
    """One attempt against one config of the chain."""

    model_config = ConfigDict(defer_build=True)  # schema built on first use, not at import

    provider: str
    model: str
    attempt_number: int
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    status: Literal["success", "failed", "skipped"] = "failed"
    error_type: str | None = None
    error_message: str | None = None
    is_retryable: bool | None = None
    request_id: str | None = Field(default=None, description="The provider's request id.")
    is_fallback: bool = False
    config_index: int = 0
    retry_number: int = 0
    is_mock: bool = False
    cancelled_upstream: bool | None = None
    gate_wait_seconds: float | None = Field(
        default=None, description="Time spent waiting for a provider request slot."
    )

    @field_validator("error_message", "request_id", mode="after")
    @classmethod
    def _no_secrets(cls, value: str | None) -> str | None:
        return redact_text(value) if value else value

    @property
    def duration_seconds(self) -> float | None:
        """Wall time of the attempt."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class ExecutionMetadata(BaseModel):
    """Every attempt of one call: retries, fallbacks, timings, outcomes."""

    model_config = ConfigDict(defer_build=True)  # schema built on first use, not at import

    total_attempts: int = 0
    successful_attempt: int | None = None
    attempts: list[AttemptMetadata] = Field(default_factory=list)
    fallback_triggered: bool = False
    configs_in_chain: int = 1
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None

    @property
    def total_duration_seconds(self) -> float | None:
        """Wall time of the whole call."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


# --------------------------------------------------------------------------- responses

MediaOutput = str | MediaContent
"""A generated media item: a URL/data URI/base64 string or raw bytes with type."""


class BaseGenerationResponse(BaseModel):
    """Fields shared by every response."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        ser_json_bytes="base64",
        val_json_bytes="base64",
        defer_build=True,
    )

    request_id: str = Field(description="Tarash-assigned unique ID for this request.")
    status: Literal["completed", "failed"] = "completed"
    is_mock: bool = False
    raw_response: dict[str, Any] = Field(default_factory=dict)
    execution_metadata: ExecutionMetadata | None = None
    provider: str | None = None
    model: str | None = None
    provider_request_id: str | None = Field(default=None, description="The provider's job id.")
    cost: Cost | None = Field(default=None, description="Provider-reported cost; None = unknown.")
    warnings: list[str] = Field(default_factory=list)

    @field_validator("raw_response", mode="before")
    @classmethod
    def _jsonable_raw(cls, value: Any) -> Any:
        return _jsonable(value) if value is not None else {}

    # --- short reprs (issue 15 item 7): media by type and size, never inline bytes/base64
    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, _short_media(value)


class _Shown(str):
    """A placeholder whose repr is itself (``<video/mp4, 1.1 MB>``), not a quoted string."""

    def __repr__(self) -> str:
        return str(self)


def _size_text(num: int) -> str:
    size = float(num)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _short_media(value: Any, depth: int = 0) -> Any:
    """``value`` for a repr: bytes, data URIs and long base64 as type and size."""
    if depth > 6:
        return _Shown("…")
    if isinstance(value, bytes | bytearray | memoryview):
        return _Shown(f"<{_size_text(len(value))}>")
    if isinstance(value, str) and len(value) > 200:
        if value.startswith("data:"):
            head = value[5:].split(",", 1)[0].split(";", 1)[0] or "data"
            return _Shown(f"<data URI {head}, {_size_text(len(value) * 3 // 4)}>")
        return _Shown(f"<{len(value)} characters: {value[:40]}…>")
    if isinstance(value, Mapping):
        content = value.get("content")
        if isinstance(content, bytes | bytearray) and "content_type" in value:
            return _Shown(f"<{value.get('content_type') or 'bytes'}, {_size_text(len(content))}>")
        return {k: _short_media(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_short_media(v, depth + 1) for v in value]
    return value


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Copy of a raw provider payload that always serialises (bytes become size notes)."""
    if depth > 30:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return _jsonable(dump(), depth + 1)
        except Exception:  # pragma: no cover - defensive
            return repr(value)
    return repr(value)


async def _media_bytes(item: MediaOutput, content_type: str | None) -> tuple[bytes, str]:
    from tarash.tarash_gateway.media import to_media_input

    if isinstance(item, dict):
        return item["content"], item.get("content_type") or content_type or ""
    media = to_media_input(item)
    data, ctype = await media.read(max_bytes=2**34)
    return data, content_type or ctype


def _target_path(path: str | Path, content_type: str | None, stem: str) -> Path:
    target = Path(path)
    if target.is_dir():
        target = target / f"{stem}{extension_for(content_type)}"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


class VideoGenerationResponse(BaseGenerationResponse):
    """A generated video (URL or bytes) with what the provider reported about it."""

    video: MediaOutput = Field(description="Video URL, data URI, or bytes with type.")
    videos: list[MediaOutput] = Field(
        default_factory=list, description="All videos when number_of_videos > 1 (first = video)."
    )
    content_type: str | None = None
    audio_url: str | None = None
    duration: float | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    width: int | None = None
    height: int | None = None
    file_size: int | None = None
    seed: int | None = None

    async def read_bytes_async(self) -> bytes:
        """The video bytes (downloads URLs on the shared client)."""
        data, _ = await _media_bytes(self.video, self.content_type)
        return data

    async def save_async(self, path: str | Path) -> Path:
        """Write the video to ``path`` (a directory gets ``<request_id>.mp4``)."""
        import asyncio

        data, ctype = await _media_bytes(self.video, self.content_type)
        target = _target_path(path, ctype or "video/mp4", self.request_id)
        await asyncio.to_thread(target.write_bytes, data)
        return target

    def save(self, path: str | Path) -> Path:
        """Blocking :meth:`save_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.save_async(path))


class ImageGenerationResponse(BaseGenerationResponse):
    """Generated images: URLs, data URIs or base64 strings."""

    images: list[str] = Field(description="Image URLs or base64 data.")
    content_type: str | None = "image/png"
    revised_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    seed: int | None = None

    async def read_bytes_async(self, index: int = 0) -> bytes:
        """Bytes of image ``index`` (downloads URLs)."""
        data, _ = await _media_bytes(self.images[index], self.content_type)
        return data

    async def save_async(self, path: str | Path, index: int | None = None) -> Path:
        """Write image ``index`` to ``path`` (a directory gets ``<request_id>-<i>.<ext>``).

        With several images and no ``index``, image 0 is written and a ``UserWarning``
        says so: :meth:`save_all_async` writes every one.
        """
        import asyncio

        if index is None:
            if len(self.images) > 1:
                import warnings

                warnings.warn(
                    f"this response has {len(self.images)} images; save() wrote image 0 only "
                    "(use save_all() for every image, or save(path, index=i))",
                    UserWarning,
                    stacklevel=3,
                )
            index = 0
        data, ctype = await _media_bytes(self.images[index], self.content_type)
        target = _target_path(path, ctype, f"{self.request_id}-{index}")
        await asyncio.to_thread(target.write_bytes, data)
        return target

    def save(self, path: str | Path, index: int | None = None) -> Path:
        """Blocking :meth:`save_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.save_async(path, index))

    async def save_all_async(self, path: str | Path) -> list[Path]:
        """Write every image: ``cat.png`` → ``cat-1.png``, ``cat-2.png`` … (one image:
        ``cat.png``); a directory gets ``<request_id>-<i>.<ext>`` files."""
        import asyncio

        target = Path(path)
        if len(self.images) <= 1 or await asyncio.to_thread(target.is_dir):
            return [await self.save_async(target, i) for i in range(len(self.images))]
        stem, suffix = target.with_suffix(""), target.suffix
        return [
            await self.save_async(stem.parent / f"{stem.name}-{i + 1}{suffix}", i)
            for i in range(len(self.images))
        ]

    def save_all(self, path: str | Path) -> list[Path]:
        """Blocking :meth:`save_all_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.save_all_async(path))


class _AudioResponse(BaseGenerationResponse):
    audio: str = Field(description="Base64-encoded audio bytes.")
    content_type: str | None = None
    duration: float | None = None
    sample_rate: int | None = None
    output_format: str | None = Field(default=None, description="e.g. 'mp3_44100_128'.")

    @property
    def audio_bytes(self) -> bytes:
        """The decoded audio."""
        return base64.b64decode(self.audio)

    def save(self, path: str | Path) -> Path:
        """Write the audio to ``path`` (a directory gets ``<request_id>.<ext>``)."""
        target = _target_path(path, self.content_type, self.request_id)
        target.write_bytes(self.audio_bytes)
        return target


class TTSResponse(_AudioResponse):
    """Synthesised speech (base64 in ``audio``; ``audio_bytes`` decodes it)."""


class STSResponse(_AudioResponse):
    """Converted speech (base64 in ``audio``; ``audio_bytes`` decodes it)."""


AnyResponse = VideoGenerationResponse | ImageGenerationResponse | TTSResponse | STSResponse
AnyConfig = VideoGenerationConfig | ImageGenerationConfig | AudioGenerationConfig
AnyRequest = VideoGenerationRequest | ImageGenerationRequest | TTSRequest | STSRequest

# --------------------------------------------------------------------------- progress

ResponseT = TypeVar("ResponseT", bound=BaseGenerationResponse)


class BaseGenerationUpdate(BaseModel, Generic[ResponseT]):
    """One progress event: the same shape for every provider and operation."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    request_id: str = Field(description="Tarash request id (same as the response's).")
    status: StatusType
    progress_percent: int | None = Field(default=None, ge=0, le=100)
    update: dict[str, Any] = Field(default_factory=dict, description="Provider detail.")
    result: ResponseT | None = None
    error: str | None = None
    provider: str | None = None
    model: str | None = None
    queue_position: int | None = None
    logs: list[str] = Field(default_factory=list)

    elapsed_seconds: float | None = None
    attempt: int | None = None
    config_index: int | None = Field(default=None, description="Position in the fallback chain.")
    is_fallback: bool | None = None
    provider_request_id: str | None = None
    job: JobRef | None = Field(default=None, description="Reference to resume/cancel the job.")

    @field_validator("error", mode="after")
    @classmethod
    def _no_secret_in_error(cls, value: str | None) -> str | None:
        return redact_text(value) if value else value

    @field_validator("update", "logs", mode="after")
    @classmethod
    def _no_secret_in_detail(cls, value: Any) -> Any:
        # Provider status payloads and log lines may echo the key back.
        return scrub_secrets(value)


# The concrete updates subclass the generic base unparametrised at run time and narrow
# ``result`` themselves: parametrising a pydantic generic (``Base[VideoResponse]``) builds
# its schema at import even with ``defer_build`` (about a third of this module's import
# time). Type checkers still see ``BaseGenerationUpdate[VideoGenerationResponse]``.
if TYPE_CHECKING:
    _VideoUpdateBase = BaseGenerationUpdate[VideoGenerationResponse]
    _ImageUpdateBase = BaseGenerationUpdate[ImageGenerationResponse]
    _TTSUpdateBase = BaseGenerationUpdate[TTSResponse]
    _STSUpdateBase = BaseGenerationUpdate[STSResponse]
else:
    _VideoUpdateBase = _ImageUpdateBase = _TTSUpdateBase = _STSUpdateBase = BaseGenerationUpdate


class VideoGenerationUpdate(_VideoUpdateBase):
    """Progress of a video generation."""

    result: VideoGenerationResponse | None = None


class ImageGenerationUpdate(_ImageUpdateBase):
    """Progress of an image generation."""

    result: ImageGenerationResponse | None = None


class TTSUpdate(_TTSUpdateBase):
    """Progress of a TTS generation."""

    result: TTSResponse | None = None


class STSUpdate(_STSUpdateBase):
    """Progress of an STS conversion."""

    result: STSResponse | None = None


ProgressCallback = Callable[[VideoGenerationUpdate], None | Awaitable[None]]
ImageProgressCallback = Callable[[ImageGenerationUpdate], None | Awaitable[None]]
TTSProgressCallback = Callable[[TTSUpdate], None | Awaitable[None]]
STSProgressCallback = Callable[[STSUpdate], None | Awaitable[None]]
AnyProgressCallback = Callable[[Any], None | Awaitable[None]]

# Names of the published 0.1.0, kept so its users' imports keep working.
Base64 = str
AnyDict = dict[str, Any]
SyncProgressCallback = Callable[[VideoGenerationUpdate], None]
AsyncProgressCallback = Callable[[VideoGenerationUpdate], Awaitable[None]]
SyncImageProgressCallback = Callable[[ImageGenerationUpdate], None]
AsyncImageProgressCallback = Callable[[ImageGenerationUpdate], Awaitable[None]]
SyncTTSProgressCallback = Callable[[TTSUpdate], None]
AsyncTTSProgressCallback = Callable[[TTSUpdate], Awaitable[None]]
SyncSTSProgressCallback = Callable[[STSUpdate], None]
AsyncSTSProgressCallback = Callable[[STSUpdate], Awaitable[None]]


# --------------------------------------------------------------------------- handler protocols


@runtime_checkable
class ProviderHandler(Protocol):
    """A video provider: the two methods a custom handler needs (see ``register_provider``).

    Built-in handlers also implement the step interface of
    :class:`tarash.tarash_gateway.providers.base.BaseProviderHandler`
    (prepare/submit/status/result/cancel), which makes their jobs resumable.
    """

    def generate_video(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse: ...

    async def generate_video_async(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse: ...


@runtime_checkable
class ImageProviderHandler(Protocol):
    """An image provider (custom handlers implement these two methods)."""

    def generate_image(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse: ...

    async def generate_image_async(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse: ...


@runtime_checkable
class TTSProviderHandler(Protocol):
    """A text-to-speech provider."""

    def generate_tts(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse: ...

    async def generate_tts_async(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse: ...


@runtime_checkable
class STSProviderHandler(Protocol):
    """A speech-to-speech (voice changer) provider."""

    def generate_sts(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse: ...

    async def generate_sts_async(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse: ...


# --------------------------------------------------------------------------- operation table


@dataclass(frozen=True)
class OperationSpec:
    """How one operation maps onto the model classes and handler method names."""

    name: Operation
    config_type: type[BaseGenerationConfig]
    request_type: type[BaseGenerationRequest]
    response_type: type[BaseGenerationResponse]
    update_type: type[BaseGenerationUpdate[Any]]
    method: str


OPERATIONS: dict[Operation, OperationSpec] = {
    "video": OperationSpec(
        name="video",
        config_type=VideoGenerationConfig,
        request_type=VideoGenerationRequest,
        response_type=VideoGenerationResponse,
        update_type=VideoGenerationUpdate,
        method="generate_video",
    ),
    "image": OperationSpec(
        name="image",
        config_type=ImageGenerationConfig,
        request_type=ImageGenerationRequest,
        response_type=ImageGenerationResponse,
        update_type=ImageGenerationUpdate,
        method="generate_image",
    ),
    "tts": OperationSpec(
        name="tts",
        config_type=AudioGenerationConfig,
        request_type=TTSRequest,
        response_type=TTSResponse,
        update_type=TTSUpdate,
        method="generate_tts",
    ),
    "sts": OperationSpec(
        name="sts",
        config_type=AudioGenerationConfig,
        request_type=STSRequest,
        response_type=STSResponse,
        update_type=STSUpdate,
        method="generate_sts",
    ),
}


def operation_for_request(request: BaseGenerationRequest) -> OperationSpec:
    """The operation a request belongs to."""
    for spec in OPERATIONS.values():
        if isinstance(request, spec.request_type):
            return spec
    raise TypeError(f"not a generation request: {type(request).__name__}")
