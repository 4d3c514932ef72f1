"""Cartesia model catalog (pure data).

Sources (checked 2026-12-04): the installed cartesia 4.2.0 SDK's
``cartesia.types.TTSModel`` literal (sonic-3.5, sonic-3, their dated snapshots,
sonic-latest) and Cartesia's API changes page,
https://docs.cartesia.ai/build-with-cartesia/tts-models/api-changes — "Starting June 1,
2026, we are discontinuing several models": ``sonic`` (all snapshots),
``sonic-english``, ``sonic-multilingual``, ``sonic-2-2025-03-07`` and
``sonic-turbo-2025-03-07`` stop serving (error code ``model_sunsetted``); ``sonic-2``
and ``sonic-turbo`` keep a reduced set of languages. Migrate to ``sonic-3.5``.
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry

CHECKED = "2026-12-04"
SDK = "cartesia 4.2.0 cartesia.types.TTSModel"
CHANGES = "https://docs.cartesia.ai/build-with-cartesia/tts-models/api-changes"
SUNSET = "2026-06-01"

SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
CONTAINERS = ("mp3", "wav", "raw")
ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
SONIC3_LANGUAGES = [  # the SDK's SupportedLanguage literal (cartesia/types/supported_language.py)
    "en",
    "fr",
    "de",
    "es",
    "pt",
    "zh",
    "ja",
    "hi",
    "it",
    "ko",
    "nl",
    "pl",
    "ru",
    "sv",
    "tr",
    "tl",
    "bg",
    "ro",
    "ar",
    "cs",
    "el",
    "fi",
    "hr",
    "ms",
    "sk",
    "da",
    "ta",
    "uk",
    "hu",
    "no",
    "vi",
    "bn",
    "th",
    "he",
    "ka",
    "id",
    "te",
    "gu",
    "kn",
    "ml",
    "mr",
    "pa",
    "or",
    "ur",
]
"""sonic-3 languages (Cartesia older-models page, sonic-3-2026-01-12 row)."""

_FORMATS = {"containers": CONTAINERS, "encodings": ENCODINGS, "sample_rates": SAMPLE_RATES}

ENTRIES: tuple[ModelEntry, ...] = (
    *(
        entry(
            "cartesia",
            model,
            ("tts", "sts"),
            SDK,
            CHECKED,
            constraints={**_FORMATS, "languages": SONIC3_LANGUAGES},
        )
        for model in (
            "sonic-3.5",
            "sonic-3.5-2026-05-04",
            "sonic-3",
            "sonic-3-2026-01-12",
            "sonic-3-2025-10-27",
            "sonic-latest",
        )
    ),
    *(
        entry(
            "cartesia",
            model,
            ("tts", "sts"),
            CHANGES,
            CHECKED,
            lifecycle="retired",
            shutdown=SUNSET,
            replacement="sonic-3.5",
            notice="The requested model has been sunsetted and is no longer available.",
        )
        for model in (
            "sonic",
            "sonic-english",
            "sonic-multilingual",
            "sonic-2-2025-03-07",
            "sonic-turbo-2025-03-07",
        )
    ),
    *(
        entry(
            "cartesia",
            model,
            ("tts", "sts"),
            CHANGES + " (partially deprecated: reduced languages)",
            CHECKED,
            lifecycle="deprecated",
            since="2026-06-01",
            replacement="sonic-3.5",
            constraints=_FORMATS,
        )
        for model in (
            "sonic-2",
            "sonic-2-2025-04-16",
            "sonic-2-2025-05-08",
            "sonic-2-2025-06-11",
            "sonic-turbo",
        )
    ),
)
