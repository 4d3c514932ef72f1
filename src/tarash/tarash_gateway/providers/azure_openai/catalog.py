"""Azure OpenAI model catalog (pure data).

Azure serves OpenAI's models on customer-named deployments and retires them on its own
schedule (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements),
which the gateway does not track: these entries list what the Azure handler validates
(``field_mappings.py``) and are not checked at planning time (a deployment name is not
a model id).
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry
from tarash.tarash_gateway.providers.azure_openai.field_mappings import (
    IMAGE_MODELS,
    SPEECH_MODELS,
    VIDEO_MODELS,
)

CHECKED = "2026-12-04"
SOURCE = "providers/azure_openai/field_mappings.py (Azure retirement schedule not tracked)"

ENTRIES: tuple[ModelEntry, ...] = (
    *(entry("azure_openai", m, "image", SOURCE, CHECKED) for m in IMAGE_MODELS),
    *(entry("azure_openai", m, "video", SOURCE, CHECKED) for m in VIDEO_MODELS),
    *(entry("azure_openai", m, "tts", SOURCE, CHECKED) for m in SPEECH_MODELS),
)
