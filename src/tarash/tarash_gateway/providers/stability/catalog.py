"""Stability AI model catalog (pure data).

Source (checked 2026-12-04): Stability REST API v2beta reference,
https://platform.stability.ai/docs/api-reference (``/v2beta/stable-image/generate/
{ultra,core,sd3}``; the sd3 endpoint's ``model`` enum: sd3.5-large, sd3.5-large-turbo,
sd3.5-medium, sd3.5-flash). No Stability SDK is used.
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry
from tarash.tarash_gateway.providers.stability.field_mappings import (
    ALL_FORMATS,
    ASPECT_RATIOS,
    MAX_PROMPT_CHARS,
    MODEL_MAPPINGS,
    OPTION_KEYS,
)

CHECKED = "2026-12-04"
SOURCE = "https://platform.stability.ai/docs/api-reference (v2beta stable-image generate)"

ENTRIES: tuple[ModelEntry, ...] = tuple(
    entry(
        "stability",
        name,
        "image",
        SOURCE,
        CHECKED,
        constraints={
            "aspect_ratios": ASPECT_RATIOS,
            "formats": ALL_FORMATS,
            "max_text_chars": MAX_PROMPT_CHARS,
        },
        # Form fields of the v2beta generate endpoints besides the mapped request fields.
        params=OPTION_KEYS | {"style_preset", "mode", "negative_prompt", "aspect_ratio", "seed"},
    )
    for name in sorted(MODEL_MAPPINGS)
)
