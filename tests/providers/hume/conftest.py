"""Fixtures for the Hume tests: one Octave emulator per module, configs aimed at it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tarash.tarash_gateway.models import AudioGenerationConfig, TTSRequest
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.registry import get_handler
from tests.conftest import FAST_RETRY
from tests.emulators.harness import emulator_fixture
from tests.emulators.hume import HUME_API_KEY, HumeEmulator

hume_emu = emulator_fixture(HumeEmulator, scope="module")


def hume_config(emu: HumeEmulator, **overrides: Any) -> AudioGenerationConfig:
    """A config for the emulator: real SDK, fast retries, short timeout."""
    fields: dict[str, Any] = {
        "provider": "hume",
        "model": "octave-2",
        "api_key": HUME_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
    }
    fields.update(overrides)
    return AudioGenerationConfig(**fields)


async def stream_all(config: AudioGenerationConfig, request: TTSRequest) -> bytes:
    """Drive the handler's ``stream_tts`` hook the way the streaming API does."""
    handler = get_handler("hume")
    prepared = handler.prepare("tts", config, request)
    ctx = AttemptContext(
        request_id="tg_test",
        operation="tts",
        config=config,
        provider="hume",
        deadline=time.monotonic() + config.timeout,
    )
    chunks: list[bytes] = []
    stream: AsyncIterator[bytes] = handler.stream_tts(ctx, prepared)
    async for chunk in stream:
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def hume_cfg(hume_emu: HumeEmulator) -> Any:
    def make(**overrides: Any) -> AudioGenerationConfig:
        return hume_config(hume_emu, **overrides)

    return make
