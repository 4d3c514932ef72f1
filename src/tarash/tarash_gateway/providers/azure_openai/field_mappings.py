"""Azure OpenAI models (no SDK import): the OpenAI registry as Azure serves it.

Azure deployments are named by the customer, so the handler first resolves
which model a deployment runs (``provider_config["model_family"]`` or the
deployment name) and validates against that model's entry here. Differences
from OpenAI: no DALL·E 2 (retired on Azure), Sora clips of 4/8/12 s (the
durations Azure documents for Sora 2), and Azure's names for the speech
models (``tts``, ``tts-hd``) accepted as aliases.
"""

from __future__ import annotations

import re

from tarash.tarash_gateway.providers.field_mappers import FieldMapper
from tarash.tarash_gateway.providers.openai.field_mappings import (
    IMAGE_MODELS as OPENAI_IMAGE_MODELS,
)
from tarash.tarash_gateway.providers.openai.field_mappings import (
    SORA2_PRO_SIZES,
    SORA2_SIZES,
    TTS_MODELS,
    ImageModelSpec,
    TTSModelSpec,
    VideoModelSpec,
    build_image_mappers,
    build_video_mappers,
    infer_family,
)

__all__ = [
    "AZURE_ALIASES",
    "IMAGE_MODELS",
    "MODEL_MAPPINGS",
    "TTS_MODELS",
    "VIDEO_MODELS",
    "family_from_deployment",
]

AZURE_SORA_SECONDS = (4, 8, 12)

IMAGE_MODELS: dict[str, ImageModelSpec] = {
    name: spec for name, spec in OPENAI_IMAGE_MODELS.items() if name != "dall-e-2"
}
VIDEO_MODELS: dict[str, VideoModelSpec] = {
    "sora-2": VideoModelSpec(
        "sora-2",
        SORA2_SIZES,
        AZURE_SORA_SECONDS,
        {"720p": {"16:9": "1280x720", "9:16": "720x1280"}},
    ),
    "sora-2-pro": VideoModelSpec(
        "sora-2-pro",
        SORA2_PRO_SIZES,
        AZURE_SORA_SECONDS,
        # openai 3.60.0 ``VideoSize`` has no 1080p size (checked 2026-12-04).
        {"720p": {"16:9": "1280x720", "9:16": "720x1280"}},
    ),
}
SPEECH_MODELS: dict[str, TTSModelSpec] = dict(TTS_MODELS)

AZURE_ALIASES = {
    "tts": "tts-1",
    "tts-hd": "tts-1-hd",
    "dalle3": "dall-e-3",
    "dall-e3": "dall-e-3",
    "dalle-3": "dall-e-3",
}
"""Azure's model names (and common deployment spellings) → the model they are."""

MODEL_MAPPINGS: dict[str, dict[str, FieldMapper]] = {
    **{name: build_image_mappers(spec) for name, spec in IMAGE_MODELS.items()},
    **{name: build_video_mappers(spec) for name, spec in VIDEO_MODELS.items()},
}
"""Request-field mappers of every model Azure OpenAI serves (keyed by model, not deployment)."""

_KNOWN = (*IMAGE_MODELS, *VIDEO_MODELS, *SPEECH_MODELS)


def family_from_deployment(deployment: str) -> str | None:
    """Guess the model of a deployment from its name (``prod-gpt-image-1-eu`` → ``gpt-image-1``).

    The longest known model name (or Azure alias) found in the deployment name
    as a whole ``-``/``_``-separated part wins; ``None`` when nothing matches.
    """
    exact = infer_family(deployment, _KNOWN)
    if exact is not None:
        return exact
    name = deployment.strip().lower().replace("_", "-")
    if name in AZURE_ALIASES:
        return AZURE_ALIASES[name]
    candidates: list[tuple[int, str]] = []
    for known in (*_KNOWN, *AZURE_ALIASES):
        pattern = rf"(?<![a-z0-9.]){re.escape(known)}(?![a-z0-9.])"
        if re.search(pattern, name):
            candidates.append((len(known), AZURE_ALIASES.get(known, known)))
    if not candidates:
        return None
    return max(candidates)[1]
