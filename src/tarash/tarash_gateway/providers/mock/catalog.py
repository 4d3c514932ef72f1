"""The mock provider's models: a closed set (a misspelt mock model is an error)."""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry

CHECKED = "2026-12-04"
SOURCE = "tarash.tarash_gateway.providers.mock (built in)"

ENTRIES: tuple[ModelEntry, ...] = (
    entry(
        "mock",
        "mock-video",
        "video",
        SOURCE,
        CHECKED,
        constraints={
            "durations": (1, 60),
            "resolutions": ("360p", "480p", "540p", "720p", "1080p"),
        },
    ),
    entry("mock", "mock-image", "image", SOURCE, CHECKED, constraints={"n": (1, 8)}),
    entry("mock", "mock-tts", "tts", SOURCE, CHECKED, constraints={"formats": ("wav", "pcm")}),
    entry("mock", "mock-sts", "sts", SOURCE, CHECKED, constraints={"formats": ("wav", "pcm")}),
)
