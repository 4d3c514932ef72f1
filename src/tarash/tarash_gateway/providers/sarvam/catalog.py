"""Sarvam model catalog (pure data).

Source (checked 2026-12-04): the installed sarvamai 0.1.39 SDK's
``sarvamai.types.TextToSpeechModel`` literal (bulbul:v2, bulbul:v3, bulbul:v4-flash) and
its ``ConfigureConnection`` docs (pace ranges, sample rates); limits from
https://docs.sarvam.ai/api-reference-docs/text-to-speech/convert .
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry
from tarash.tarash_gateway.providers.sarvam.spec import LANGUAGES, MODELS

CHECKED = "2026-12-04"
SOURCE = "sarvamai 0.1.39 sarvamai.types.TextToSpeechModel + docs.sarvam.ai text-to-speech"

ENTRIES: tuple[ModelEntry, ...] = tuple(
    entry(
        "sarvam",
        name,
        "tts",
        SOURCE,
        CHECKED,
        constraints={
            "max_text_chars": spec.max_chars,
            "pace": spec.pace,
            "sample_rates": tuple(sorted(spec.sample_rates)),
            "formats": tuple(sorted(spec.codecs)),
            "languages": tuple(sorted(LANGUAGES)),
        },
    )
    for name, spec in MODELS.items()
)
