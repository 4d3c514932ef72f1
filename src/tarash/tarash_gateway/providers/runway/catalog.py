"""Runway model catalog (pure data), from the installed ``runwayml`` SDK's typed params.

Source (checked 2026-12-04): runwayml 5.24.0 ``types/image_to_video_create_params``,
``text_to_video_create_params`` and ``text_to_image_create_params`` — one TypedDict per
model with its ``ratio`` / ``duration`` literals and ``Required`` keys. The
conformance test (tests/unit/test_catalog_conformance.py) re-reads them.
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry
from tarash.tarash_gateway.providers.runway.field_mappings import (
    IMAGE_SPECS,
    RETIRED_MODELS,
    VIDEO_SPECS,
)

CHECKED = "2026-12-04"
SOURCE = "runwayml 5.24.0 types image_to_video/text_to_video/text_to_image_create_params"
RETIRED_SOURCE = "absent from runwayml 5.24.0 create params (Runway API changelog)"

_REPLACEMENTS = {"gen3a_turbo": "gen4_turbo", "veo3": "veo3.1"}

ENTRIES: tuple[ModelEntry, ...] = (
    *(
        entry(
            "runway",
            name,
            "video",
            SOURCE,
            CHECKED,
            constraints={
                "t2v_ratios": spec.t2v_ratios,
                "i2v_ratios": spec.i2v_ratios,
                "durations": spec.durations or spec.duration_range,
                "i2v_prompt_required": spec.i2v_prompt_required,
                "max_text_chars": 1000,
            },
        )
        for name, spec in VIDEO_SPECS.items()
    ),
    *(
        entry(
            "runway",
            name,
            "image",
            SOURCE,
            CHECKED,
            constraints={
                "ratios": spec.ratios,
                "references": (spec.min_references, spec.max_references),
            },
        )
        for name, spec in IMAGE_SPECS.items()
    ),
    *(
        entry(
            "runway",
            name,
            "video",
            RETIRED_SOURCE,
            CHECKED,
            lifecycle="retired",
            replacement=_REPLACEMENTS.get(name),
            notice=notice,
        )
        for name, notice in RETIRED_MODELS.items()
    ),
)
