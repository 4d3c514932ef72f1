"""Shared fixtures of the OpenAI provider tests: one emulator per module, reset per test."""

from __future__ import annotations

import openai  # noqa: F401  (warm the ~2 s SDK import so sub-second timeouts measure the API)

from tests.emulators.harness import emulator_fixture
from tests.emulators.openai import OpenAIEmulator

openai_emu = emulator_fixture(OpenAIEmulator, scope="module")
