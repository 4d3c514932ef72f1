"""Field mappings of the mock provider's models: every common field, with the ranges the
mock can render (other mock model names accept any request)."""

from __future__ import annotations

from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    aspect_ratio_field_mapper,
    audio_field_mapper,
    bool_field_mapper,
    duration_field_mapper,
    image_list_field_mapper,
    mask_image_field_mapper,
    n_images_field_mapper,
    passthrough_field_mapper,
    range_field_mapper,
    resolution_field_mapper,
    seed_field_mapper,
    size_field_mapper,
    video_url_field_mapper,
)

MOCK_VIDEO: dict[str, FieldMapper] = {
    "prompt": passthrough_field_mapper("prompt", required=True),
    "duration_seconds": duration_field_mapper("int", minimum=1, maximum=60),
    "aspect_ratio": aspect_ratio_field_mapper(),
    "resolution": resolution_field_mapper(["360p", "480p", "540p", "720p", "1080p"]),
    "seed": seed_field_mapper(),
    "generate_audio": bool_field_mapper("generate_audio"),
    "image_list": image_list_field_mapper(),
    "negative_prompt": passthrough_field_mapper("negative_prompt"),
    "number_of_videos": range_field_mapper(
        "number_of_videos", minimum=1, maximum=4, field_type="int"
    ),
    "enhance_prompt": bool_field_mapper("enhance_prompt"),
    "video": video_url_field_mapper(),
    "audio": audio_field_mapper(),
}

MOCK_IMAGE: dict[str, FieldMapper] = {
    "prompt": passthrough_field_mapper("prompt", required=True),
    "size": size_field_mapper(),
    "aspect_ratio": aspect_ratio_field_mapper(),
    "n": n_images_field_mapper(1, 8),
    "seed": seed_field_mapper(),
    "image_list": image_list_field_mapper(),
    "negative_prompt": passthrough_field_mapper("negative_prompt"),
    "quality": passthrough_field_mapper("quality"),
    "style": passthrough_field_mapper("style"),
    "mask_image": mask_image_field_mapper(),
}

MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {
    "mock-video": MOCK_VIDEO,
    "mock-image": MOCK_IMAGE,
}
