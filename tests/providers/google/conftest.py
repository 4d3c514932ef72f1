"""Fixtures of the Google provider tests: one emulator per test module, configs aimed at it."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import google.genai  # noqa: F401  (loaded once here: its ~1.4 s import is not under test)
import pytest

from tarash.tarash_gateway import catalog
from tarash.tarash_gateway._sync import run_sync
from tarash.tarash_gateway.http import aclose_clients
from tarash.tarash_gateway.models import ImageGenerationConfig, VideoGenerationConfig
from tests.conftest import FAST_RETRY
from tests.emulators.google import GOOGLE_API_KEY, GoogleEmulator
from tests.emulators.harness import emulator_fixture

emu = emulator_fixture(GoogleEmulator, scope="module")


@pytest.fixture(autouse=True, scope="module")
def _close_cached_clients() -> Iterator[None]:
    """Drop the sync bridge's cached SDK clients when a module's emulator goes away."""
    yield
    run_sync(aclose_clients())


@pytest.fixture(autouse=True)
def _no_vertex_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's environment switches must not leak in from the developer's shell."""
    for var in (
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_USE_ENTERPRISE",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_VERTEX_BASE_URL",
        "GOOGLE_GENAI_API_VERSION",
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)


def video_config(
    emu: GoogleEmulator, model: str = "veo-3.1-generate-preview", **kw: Any
) -> VideoGenerationConfig:
    """A Veo config on the emulator (Gemini API unless provider_config says otherwise)."""
    fields: dict[str, Any] = {
        "provider": "google",
        "model": model,
        "api_key": GOOGLE_API_KEY,
        "base_url": emu.base_url,
        "poll_interval": 0.1,
        "timeout": 20,
        "retry": FAST_RETRY,
    }
    fields.update(kw)
    return VideoGenerationConfig(**fields)


def image_config(
    emu: GoogleEmulator, model: str = "gemini-2.5-flash-image", **kw: Any
) -> ImageGenerationConfig:
    """An image config on the emulator."""
    fields: dict[str, Any] = {
        "provider": "google",
        "model": model,
        "api_key": GOOGLE_API_KEY,
        "base_url": emu.base_url,
        "timeout": 20,
        "retry": FAST_RETRY,
    }
    fields.update(kw)
    return ImageGenerationConfig(**fields)


VERTEX = {"vertexai": True}


@pytest.fixture(autouse=True)
def _catalog_as_of_2026_05_01(monkeypatch: pytest.MonkeyPatch) -> None:
    """These modules test the wire formats of models that were retired later in 2026
    (DALL·E, Sora, gpt-image-1, Imagen 4, Veo 3.0, Gemini 2.5 image on the Gemini API);
    the catalog is judged as of 2026-05-01, when each was still served. Lifecycle
    errors and warnings are tested in tests/unit/test_catalog.py against today's date."""
    monkeypatch.setattr(catalog, "current_date", lambda: datetime.date(2026, 5, 1))
