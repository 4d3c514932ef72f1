"""Shared fixtures of the OpenAI provider tests: one emulator per module, reset per test."""

from __future__ import annotations

import datetime

import openai  # noqa: F401  (warm the ~2 s SDK import so sub-second timeouts measure the API)
import pytest

from tarash.tarash_gateway import catalog
from tests.emulators.harness import emulator_fixture
from tests.emulators.openai import OpenAIEmulator

openai_emu = emulator_fixture(OpenAIEmulator, scope="module")


@pytest.fixture(autouse=True)
def _catalog_as_of_2026_05_01(monkeypatch: pytest.MonkeyPatch) -> None:
    """These modules test the wire formats of models that were retired later in 2026
    (DALL·E, Sora, gpt-image-1, Imagen 4, Veo 3.0, Gemini 2.5 image on the Gemini API);
    the catalog is judged as of 2026-05-01, when each was still served. Lifecycle
    errors and warnings are tested in tests/unit/test_catalog.py against today's date."""
    monkeypatch.setattr(catalog, "current_date", lambda: datetime.date(2026, 5, 1))
