"""Fixtures for the ElevenLabs tests: one emulator of each audio provider per module."""

from __future__ import annotations

from typing import Any

from tarash.tarash_gateway.models import AudioGenerationConfig
from tests.conftest import FAST_RETRY
from tests.emulators.cartesia import CARTESIA_API_KEY, CartesiaEmulator
from tests.emulators.elevenlabs import ELEVENLABS_API_KEY, ElevenLabsEmulator
from tests.emulators.harness import emulator_fixture

elevenlabs = emulator_fixture(ElevenLabsEmulator, scope="module")
cartesia = emulator_fixture(CartesiaEmulator, scope="module")


def el_config(
    emu: ElevenLabsEmulator, model: str = "eleven_multilingual_v2", **kw: Any
) -> AudioGenerationConfig:
    """An ElevenLabs config aimed at the emulator, with fast retries and short timeouts."""
    fields: dict[str, Any] = {
        "provider": "elevenlabs",
        "model": model,
        "api_key": ELEVENLABS_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
    }
    fields.update(kw)
    return AudioGenerationConfig(**fields)


def ca_config(emu: CartesiaEmulator, model: str = "sonic-3", **kw: Any) -> AudioGenerationConfig:
    """A Cartesia config aimed at the emulator, with fast retries and short timeouts."""
    fields: dict[str, Any] = {
        "provider": "cartesia",
        "model": model,
        "api_key": CARTESIA_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
    }
    fields.update(kw)
    return AudioGenerationConfig(**fields)
