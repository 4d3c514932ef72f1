"""Fixtures for the Sarvam tests: one Bulbul emulator per module, configs aimed at it."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway.models import AudioGenerationConfig
from tests.conftest import FAST_RETRY
from tests.emulators.harness import emulator_fixture
from tests.emulators.sarvam import SARVAM_API_KEY, SarvamEmulator

sarvam_emu = emulator_fixture(SarvamEmulator, scope="module")


def sarvam_config(emu: SarvamEmulator, **overrides: Any) -> AudioGenerationConfig:
    """A config for the emulator: real SDK, fast retries, short timeout."""
    fields: dict[str, Any] = {
        "provider": "sarvam",
        "model": "bulbul:v3",
        "api_key": SARVAM_API_KEY,
        "base_url": emu.base_url,
        "retry": FAST_RETRY,
        "timeout": 10,
    }
    fields.update(overrides)
    return AudioGenerationConfig(**fields)


@pytest.fixture
def sarvam_cfg(sarvam_emu: SarvamEmulator) -> Any:
    def make(**overrides: Any) -> AudioGenerationConfig:
        return sarvam_config(sarvam_emu, **overrides)

    return make
