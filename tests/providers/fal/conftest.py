"""Fixtures of the fal provider tests: one emulator per module, fast configs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import pytest

from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    BaseGenerationConfig,
    ImageGenerationConfig,
    VideoGenerationConfig,
)
from tests.conftest import FAST_RETRY
from tests.emulators.fal import FAL_API_KEY, FalEmulator
from tests.emulators.harness import emulator_fixture

fal = emulator_fixture(FalEmulator, scope="module")


@pytest.fixture
def other_fal() -> Iterator[FalEmulator]:
    """A second, independent fal emulator (another base URL)."""
    with FalEmulator() as emu:
        yield emu


C = TypeVar("C", bound=BaseGenerationConfig)


def _config(cls: type[C], emu: FalEmulator, model: str, kwargs: dict[str, Any]) -> C:
    """A fal config aimed at ``emu`` with test-sized timeouts and retries."""
    values: dict[str, Any] = {
        "model": model,
        "provider": "fal",
        "api_key": FAL_API_KEY,
        "base_url": emu.base_url,
        "timeout": 10,
        "poll_interval": 0.05,
        "retry": FAST_RETRY,
    }
    values.update(kwargs)
    return cls(**values)


def video_config(
    emu: FalEmulator, model: str = "fal-ai/veo3.1", **kwargs: Any
) -> VideoGenerationConfig:
    """A fal video config aimed at ``emu``."""
    return _config(VideoGenerationConfig, emu, model, kwargs)


def image_config(
    emu: FalEmulator, model: str = "fal-ai/flux/dev", **kwargs: Any
) -> ImageGenerationConfig:
    """A fal image config aimed at ``emu``."""
    return _config(ImageGenerationConfig, emu, model, kwargs)


def audio_config(
    emu: FalEmulator, model: str = "fal-ai/minimax/speech-02-hd", **kwargs: Any
) -> AudioGenerationConfig:
    """A fal TTS config aimed at ``emu``."""
    return _config(AudioGenerationConfig, emu, model, kwargs)


def submits(emu: FalEmulator) -> list[Any]:
    """Queue submissions the emulator received (POSTs other than storage/CDN/admin)."""
    return [
        r
        for r in emu.requests
        if r.method == "POST" and not r.path.startswith(("/storage/", "/files/", "/__admin__/"))
    ]
