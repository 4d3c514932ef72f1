"""xAI model catalog (pure data).

Sources (checked 2026-12-04): xai-sdk 1.21.0 protos ``xai_sdk.proto.v6.image_pb2``
(``ImageAspectRatio``, ``ImageResolution``, ``ImageQuality``, ``ImageFormat``) and
``video_pb2`` (``VideoAspectRatio``, ``VideoResolution``) for the values; model ids
from https://docs.x.ai/docs/models (the SDK takes the model as a free string).
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry
from tarash.tarash_gateway.providers.xai.field_mappings import (
    IMAGE_ASPECT_RATIOS,
    IMAGE_QUALITIES,
    IMAGE_RESOLUTIONS,
    MODEL_MAPPINGS,
    VIDEO_ASPECT_RATIOS,
    VIDEO_RESOLUTIONS,
)

CHECKED = "2026-12-04"
SOURCE = "https://docs.x.ai/docs/models + xai-sdk 1.21.0 proto v6 image_pb2/video_pb2 enums"

ENTRIES: tuple[ModelEntry, ...] = tuple(
    entry(
        "xai",
        name,
        "video" if "video" in name else "image",
        SOURCE,
        CHECKED,
        constraints=(
            {"aspect_ratios": VIDEO_ASPECT_RATIOS, "resolutions": VIDEO_RESOLUTIONS}
            if "video" in name
            else {
                "aspect_ratios": IMAGE_ASPECT_RATIOS,
                "resolutions": IMAGE_RESOLUTIONS,
                "qualities": IMAGE_QUALITIES,
            }
        ),
    )
    for name in sorted(MODEL_MAPPINGS)
)
