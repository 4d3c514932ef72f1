"""Well-known default model of each built-in provider per operation.

A config that names no model gets this one (the specification's own example writes
``ImageGenerationConfig(provider="openai", api_key=...)``); the ``tarash`` command
uses the same table. Pure data: importing it imports nothing.
"""

from __future__ import annotations

# Every default is an active model of the catalog (tests/unit/test_catalog.py checks it):
# OpenAI's Sora API shut down on 2026-09-24 and gpt-image-1 on 2026-10-23 (openai 3.60.0
# notices), so OpenAI has no default video model; Google's defaults are ids both the
# Gemini API and Vertex AI serve (providers/google/catalog.py).
_OPENAI = {"image": "gpt-image-2", "tts": "gpt-4o-mini-tts"}
# Azure deployments follow Azure's own retirement schedule (not tracked by the catalog).
_AZURE_OPENAI = {"video": "sora-2", "image": "gpt-image-1", "tts": "gpt-4o-mini-tts"}

DEFAULT_MODELS: dict[str, dict[str, str]] = {
    "mock": {"video": "mock-video", "image": "mock-image", "tts": "mock-tts", "sts": "mock-sts"},
    "fal": {
        "video": "fal-ai/veo3.1/fast",  # fal-js endpoints.ts @381105e (2026-08-02)
        "image": "fal-ai/flux/dev",
        "tts": "fal-ai/minimax/speech-02-hd",
    },
    "replicate": {"video": "google/veo-3-fast", "image": "black-forest-labs/flux-schnell"},
    "openai": _OPENAI,
    "azure_openai": _AZURE_OPENAI,
    "google": {"video": "veo-3.1-fast-generate-preview", "image": "gemini-3.1-flash-image"},
    "runway": {"video": "gen4_turbo", "image": "gen4_image"},
    "stability": {"image": "sd3.5-large"},
    "xai": {"video": "grok-imagine-video", "image": "grok-imagine-image"},
    "elevenlabs": {"tts": "eleven_multilingual_v2", "sts": "eleven_multilingual_sts_v2"},
    "cartesia": {"tts": "sonic-3", "sts": "sonic-3"},
    "hume": {"tts": "octave-2"},
    "sarvam": {"tts": "bulbul:v2"},
}


def default_model(provider: str, operation: str) -> str | None:
    """The default model of ``provider`` for ``operation`` (``None`` when there is none)."""
    return DEFAULT_MODELS.get(provider.strip().lower(), {}).get(operation)
