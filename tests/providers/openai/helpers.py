"""Config builders and small assertions shared by the OpenAI and Azure OpenAI tests."""

from __future__ import annotations

from typing import Any, TypeVar

from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    BaseGenerationConfig,
    ImageGenerationConfig,
    VideoGenerationConfig,
)
from tests.conftest import FAST_RETRY
from tests.emulators.openai import AZURE_API_KEY, OPENAI_API_KEY, OpenAIEmulator

C = TypeVar("C", bound=BaseGenerationConfig)


def openai_config(emu: OpenAIEmulator, cls: type[C], model: str, **fields: Any) -> C:
    """A config for the OpenAI routes of the emulator (Bearer key, base_url .../v1)."""
    fields.setdefault("api_key", OPENAI_API_KEY)
    fields.setdefault("base_url", emu.base_url + "/v1")
    fields.setdefault("retry", FAST_RETRY)
    if cls is VideoGenerationConfig:
        fields.setdefault("poll_interval", 0.05)
        fields.setdefault("timeout", 20)
    return cls(provider="openai", model=model, **fields)


def azure_config(emu: OpenAIEmulator, cls: type[C], deployment: str, **fields: Any) -> C:
    """A config for the Azure routes of the emulator (api-key, endpoint = emulator root)."""
    if "api_key" not in fields and "azure_ad_token" not in fields.get("provider_config", {}):
        fields["api_key"] = AZURE_API_KEY
    fields.setdefault("base_url", emu.base_url)
    fields.setdefault("retry", FAST_RETRY)
    if cls is VideoGenerationConfig:
        fields.setdefault("poll_interval", 0.05)
        fields.setdefault("timeout", 20)
    return cls(provider="azure_openai", model=deployment, **fields)


def image_config(emu: OpenAIEmulator, model: str, **fields: Any) -> ImageGenerationConfig:
    return openai_config(emu, ImageGenerationConfig, model, **fields)


def video_config(emu: OpenAIEmulator, model: str, **fields: Any) -> VideoGenerationConfig:
    return openai_config(emu, VideoGenerationConfig, model, **fields)


def audio_config(emu: OpenAIEmulator, model: str, **fields: Any) -> AudioGenerationConfig:
    return openai_config(emu, AudioGenerationConfig, model, **fields)
