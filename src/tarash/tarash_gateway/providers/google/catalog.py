"""Google model catalog: Veo, Imagen and Gemini image, per API surface (pure data).

The same id can live on one surface and be gone (or never offered) on the other, so
entries carry ``api``: ``"gemini"`` (Gemini API, ai.google.dev) or ``"vertex"``
(Vertex AI); ``None`` means both. google-genai 3.6.1 carries no model constants (model
is a free string), so every lifecycle below cites Google's pages; constraints come
from the validated tables in ``field_mappings.py``.

Sources (checked 2026-12-04):

* Gemini API deprecations, https://ai.google.dev/gemini-api/docs/deprecations:
  ``veo-3.0-fast-generate-001`` shut down 2026-06-30; ``imagen-4.0-generate-001``,
  ``-ultra-``, ``-fast-`` shut down on the Gemini API 2026-08-17 (replacement
  ``gemini-3.1-flash-image``); ``gemini-2.5-flash-image`` shut down on the Gemini API
  2026-10-02; ``gemini-3.1-flash-image-preview`` and ``gemini-3-pro-image-preview``
  shut down 2026-06-25 (replacements: their GA ids).
* Gemini API video guide, https://ai.google.dev/gemini-api/docs/video: Veo 3.1 ids
  ``veo-3.1-generate-preview`` / ``veo-3.1-fast-generate-preview``.
* Vertex AI Veo 3.1 page,
  https://cloud.google.com/vertex-ai/generative-ai/docs/models/veo/3-1-generate:
  ``veo-3.1-generate-001`` / ``veo-3.1-fast-generate-001`` and the ``-preview`` ids.
* Vertex AI Imagen 3 page,
  https://cloud.google.com/vertex-ai/generative-ai/docs/models/imagen/3-0-generate:
  Imagen 3 discontinuation date June 30, 2026, every Imagen endpoint (3.x and
  4.0-*-001) migrates to ``gemini-2.5-flash-image``; Vertex's hard shutdown of the
  Imagen 4 endpoints is 2026-08-17.
"""

from __future__ import annotations

from typing import Any

from tarash.tarash_gateway.catalog import ModelEntry, entry
from tarash.tarash_gateway.providers.google.field_mappings import (
    GEMINI_IMAGE_MODELS,
    IMAGEN_MODELS,
    VEO_MODELS,
)

CHECKED = "2026-12-04"
GEMINI_DEPRECATIONS = "https://ai.google.dev/gemini-api/docs/deprecations"
GEMINI_VIDEO = "https://ai.google.dev/gemini-api/docs/video"
VERTEX_VEO31 = "https://cloud.google.com/vertex-ai/generative-ai/docs/models/veo/3-1-generate"
VERTEX_IMAGEN = "https://cloud.google.com/vertex-ai/generative-ai/docs/models/imagen/3-0-generate"
GEMINI_IMAGE = "https://ai.google.dev/gemini-api/docs/image-generation"
UNVERIFIED = "google field_mappings.py table (lifecycle not re-verified on 2026-12-04)"


def _veo_constraints(model: str) -> dict[str, Any]:
    spec = VEO_MODELS[model]
    return {
        "durations": spec.durations,
        "resolutions": spec.resolutions,
        "aspect_ratios": spec.aspect_ratios,
        "audio": spec.audio,
        "last_frame": spec.last_frame,
        "max_videos": spec.max_videos,
    }


def _imagen_constraints(model: str) -> dict[str, Any]:
    spec = IMAGEN_MODELS[model]
    return {
        "aspect_ratios": spec.aspect_ratios,
        "image_sizes": spec.image_sizes,
        "max_images": spec.max_images,
    }


def _gemini_constraints(model: str) -> dict[str, Any]:
    spec = GEMINI_IMAGE_MODELS[model]
    return {
        "aspect_ratios": spec.aspect_ratios,
        "image_sizes": spec.image_sizes,
        "max_input_images": spec.max_input_images,
    }


def _veo(model: str, source: str, **fields: Any) -> ModelEntry:
    return entry(
        "google", model, "video", source, CHECKED, constraints=_veo_constraints(model), **fields
    )


def _imagen(model: str, source: str, **fields: Any) -> ModelEntry:
    return entry(
        "google", model, "image", source, CHECKED, constraints=_imagen_constraints(model), **fields
    )


def _gemini(model: str, source: str, **fields: Any) -> ModelEntry:
    return entry(
        "google", model, "image", source, CHECKED, constraints=_gemini_constraints(model), **fields
    )


_IMAGEN4 = (
    "imagen-4.0-generate-001",
    "imagen-4.0-ultra-generate-001",
    "imagen-4.0-fast-generate-001",
)
_IMAGEN3 = ("imagen-3.0-generate-002", "imagen-3.0-generate-001", "imagen-3.0-fast-generate-001")

ENTRIES: tuple[ModelEntry, ...] = (
    # ---- Veo
    _veo("veo-3.1-generate-preview", GEMINI_VIDEO + " ; " + VERTEX_VEO31),
    _veo("veo-3.1-fast-generate-preview", GEMINI_VIDEO + " ; " + VERTEX_VEO31),
    _veo("veo-3.1-generate-001", VERTEX_VEO31, api="vertex"),
    _veo("veo-3.1-fast-generate-001", VERTEX_VEO31, api="vertex"),
    _veo(
        "veo-3.0-fast-generate-001",
        GEMINI_DEPRECATIONS,
        lifecycle="retired",
        shutdown="2026-06-30",
        replacement="veo-3.1-fast-generate-preview",
    ),
    _veo("veo-3.0-generate-001", UNVERIFIED),
    _veo("veo-3.0-generate-preview", UNVERIFIED),
    _veo("veo-3.0-fast-generate-preview", UNVERIFIED),
    _veo("veo-2.0-generate-001", UNVERIFIED),
    _veo("veo-2.0-generate-preview", UNVERIFIED),
    _veo("veo-2.0-generate-exp", UNVERIFIED),
    # ---- Imagen
    *(
        _imagen(
            model,
            GEMINI_DEPRECATIONS,
            api="gemini",
            lifecycle="retired",
            shutdown="2026-08-17",
            replacement="gemini-3.1-flash-image",
        )
        for model in _IMAGEN4
    ),
    *(
        _imagen(
            model,
            VERTEX_IMAGEN,
            api="vertex",
            lifecycle="retired",
            shutdown="2026-08-17",
            replacement="gemini-2.5-flash-image",
        )
        for model in _IMAGEN4
    ),
    *(
        _imagen(
            model,
            VERTEX_IMAGEN,
            lifecycle="retired",
            shutdown="2026-06-30",
            replacement="gemini-2.5-flash-image",
        )
        for model in _IMAGEN3
    ),
    # ---- Gemini image
    _gemini("gemini-3.1-flash-image", GEMINI_DEPRECATIONS + " (replacement of Imagen 4)"),
    _gemini("gemini-3-pro-image", GEMINI_DEPRECATIONS + " (replacement of the preview)"),
    _gemini(
        "gemini-3.1-flash-image-preview",
        GEMINI_DEPRECATIONS,
        api="gemini",
        lifecycle="retired",
        shutdown="2026-06-25",
        replacement="gemini-3.1-flash-image",
    ),
    _gemini(
        "gemini-3-pro-image-preview",
        GEMINI_DEPRECATIONS,
        api="gemini",
        lifecycle="retired",
        shutdown="2026-06-25",
        replacement="gemini-3-pro-image",
    ),
    _gemini("gemini-3.1-flash-image-preview", UNVERIFIED, api="vertex"),
    _gemini("gemini-3-pro-image-preview", UNVERIFIED, api="vertex"),
    _gemini(
        "gemini-2.5-flash-image",
        GEMINI_DEPRECATIONS,
        api="gemini",
        lifecycle="retired",
        shutdown="2026-10-02",
        replacement="gemini-3.1-flash-image",
    ),
    _gemini(
        "gemini-2.5-flash-image", VERTEX_IMAGEN + " (the Imagen migration target)", api="vertex"
    ),
)
