"""Hume model catalog (pure data).

Source (checked 2026-12-04): the installed hume 0.14.1 SDK's
``hume.tts.types.OctaveVersion`` (``"1"``, ``"2"``) and ``FormatMp3/FormatWav/FormatPcm``;
limits from https://dev.hume.ai/reference/text-to-speech-tts (5000 characters of text per
utterance, 1000 of description, 48 kHz output). The gateway names the versions
``octave-1`` / ``octave-2`` (``octave`` lets Hume choose).
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry
from tarash.tarash_gateway.providers.hume.spec import (
    FORMATS,
    MAX_DESCRIPTION,
    MAX_TEXT,
    SAMPLE_RATE,
)

CHECKED = "2026-12-04"
SOURCE = (
    "hume 0.14.1 hume.tts.types.OctaveVersion + https://dev.hume.ai/reference/text-to-speech-tts"
)

_CONSTRAINTS = {
    "formats": tuple(FORMATS),
    "max_text_chars": MAX_TEXT,
    "max_description_chars": MAX_DESCRIPTION,
    "sample_rate": SAMPLE_RATE,
}

MODEL_VERSIONS = {
    "octave-2": "2",
    "octave-1": "1",
    "octave": None,
    "hume-v2": "2",
    "hume-v1": "1",
    "octave-auto": None,
}
"""Catalogued names → ``OctaveVersion`` (``None``: Hume picks the version)."""

ENTRIES: tuple[ModelEntry, ...] = tuple(
    entry(
        "hume",
        model,
        "tts",
        SOURCE,
        CHECKED,
        constraints={**_CONSTRAINTS, "version": version},
    )
    for model, version in MODEL_VERSIONS.items()
)
