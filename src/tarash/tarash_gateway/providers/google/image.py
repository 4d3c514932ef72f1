"""Imagen (``predict``) and Gemini image models (``generateContent``): direct calls.

* **Imagen on Vertex AI** — ``client.aio.models.generate_images``; ``includeRaiReason``
  is always requested so filtered images come back with their reason.
* **Imagen on the Gemini API** — google-genai refuses ``generate_images`` in this
  mode since 2.20; the documented ``models/{model}:predict`` request goes
  through the SDK's own transport (:func:`~.common.rest_post`).
* **Gemini image models** — ``client.aio.models.generate_content`` in both modes,
  input images sent inline, ``imageConfig`` for aspect ratio and size.

Images are returned as base64 strings (``gs://`` URIs when Imagen writes to
``output_gcs_uri``). A request where nothing survives Google's safety filters
raises :class:`ContentModerationError`; partial filtering becomes a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tarash.tarash_gateway.exceptions import ContentModerationError, GenerationFailedError
from tarash.tarash_gateway.models import ImageGenerationResponse
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.google.common import (
    GoogleClients,
    b64,
    build,
    call,
    http_options,
    read_media,
    rest_post,
    scrub,
)
from tarash.tarash_gateway.providers.google.errors import PROVIDER

__all__ = ["generate_gemini_image", "generate_imagen"]

_IMAGEN_FIELDS = ("number_of_images", "aspect_ratio", "image_size", "negative_prompt", "seed")
_IMAGEN_REST = {
    "number_of_images": "sampleCount",
    "aspect_ratio": "aspectRatio",
    "image_size": "sampleImageSize",
    "person_generation": "personGeneration",
    "safety_filter_level": "safetySetting",
    "guidance_scale": "guidanceScale",
    "language": "language",
    "include_safety_attributes": "includeSafetyAttributes",
}
_MODERATION_FINISH = frozenset(
    {
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
        "JAILBREAK",
    }
)
_GENERATION_CONFIG_EXTRAS = (
    "temperature",
    "top_p",
    "top_k",
    "max_output_tokens",
    "system_instruction",
    "safety_settings",
    "thinking_config",
    "labels",
)


@dataclass
class _Outcome:
    images: list[str] = field(default_factory=list)
    mime_types: list[str] = field(default_factory=list)
    filtered: list[str] = field(default_factory=list)
    revised_prompt: str | None = None


def _image_response(
    ctx: AttemptContext, outcome: _Outcome, raw: Any, seed: int | None, empty: str
) -> ImageGenerationResponse:
    if not outcome.images:
        if outcome.filtered:
            raise ContentModerationError(
                f"Google's safety filters removed every generated image: "
                f"{'; '.join(outcome.filtered)}",
                PROVIDER,
                ctx.model,
                raw_response=raw,
            )
        raise GenerationFailedError(empty, PROVIDER, ctx.model, raw_response=raw, retryable=True)
    if outcome.filtered:
        ctx.warnings.append(
            f"Google's safety filters removed {len(outcome.filtered)} image(s): "
            + "; ".join(outcome.filtered)
        )
    built: ImageGenerationResponse = ctx.image_response(
        images=outcome.images,
        content_type=outcome.mime_types[0] if outcome.mime_types else "image/png",
        revised_prompt=outcome.revised_prompt,
        raw_response=raw,
        seed=seed,
    )
    return built


# --------------------------------------------------------------------------- Imagen


async def generate_imagen(
    ctx: AttemptContext, clients: GoogleClients, payload: dict[str, Any], model_name: str
) -> ImageGenerationResponse:
    """One Imagen ``predict`` call."""
    if clients.mode.vertex:
        outcome, raw = await _imagen_vertex(ctx, clients, payload, model_name)
    else:
        outcome, raw = await _imagen_gemini(ctx, clients, payload, model_name)
    return _image_response(ctx, outcome, raw, payload.get("seed"), "Imagen returned no image")


async def _imagen_vertex(
    ctx: AttemptContext, clients: GoogleClients, payload: dict[str, Any], model_name: str
) -> tuple[_Outcome, Any]:
    from google.genai import types

    fields: dict[str, Any] = {k: payload[k] for k in _IMAGEN_FIELDS if k in payload}
    fields.update(payload.get("extra", {}))
    fields["include_rai_reason"] = True
    config = build(ctx, types.GenerateImagesConfig, **fields, http_options=http_options(ctx))
    response = await call(
        ctx,
        clients.aio.models.generate_images(
            model=model_name, prompt=payload["prompt"], config=config
        ),
        mode=clients.mode,
    )
    outcome = _Outcome()
    for generated in response.generated_images or []:
        image = generated.image
        if image is not None and image.image_bytes:
            outcome.images.append(b64(image.image_bytes))
            outcome.mime_types.append(image.mime_type or "image/png")
        elif image is not None and image.gcs_uri:
            outcome.images.append(image.gcs_uri)
            outcome.mime_types.append(image.mime_type or "image/png")
        elif generated.rai_filtered_reason:
            outcome.filtered.append(generated.rai_filtered_reason)
        if generated.enhanced_prompt and outcome.revised_prompt is None:
            outcome.revised_prompt = generated.enhanced_prompt
    return outcome, scrub(response)


async def _imagen_gemini(
    ctx: AttemptContext, clients: GoogleClients, payload: dict[str, Any], model_name: str
) -> tuple[_Outcome, Any]:
    values = {**payload, **payload.get("extra", {})}
    parameters: dict[str, Any] = {
        wire: values[key] for key, wire in _IMAGEN_REST.items() if key in values
    }
    output = {
        wire: values[key]
        for key, wire in (
            ("output_mime_type", "mimeType"),
            ("output_compression_quality", "compressionQuality"),
        )
        if key in values
    }
    if output:
        parameters["outputOptions"] = output
    parameters["includeRaiReason"] = True
    body = {"instances": [{"prompt": payload["prompt"]}], "parameters": parameters}
    path = model_name if model_name.startswith("models/") else f"models/{model_name}"
    data = await rest_post(ctx, clients, f"{path}:predict", body)
    outcome = _Outcome()
    predictions = data.get("predictions") or []
    for item in predictions if isinstance(predictions, list) else []:
        if not isinstance(item, dict) or item.get("contentType") == "Positive Prompt":
            continue
        encoded = item.get("bytesBase64Encoded")
        if isinstance(encoded, str) and encoded:
            outcome.images.append(encoded)
            outcome.mime_types.append(str(item.get("mimeType") or "image/png"))
        elif item.get("raiFilteredReason"):
            outcome.filtered.append(str(item["raiFilteredReason"]))
        if isinstance(item.get("prompt"), str) and outcome.revised_prompt is None:
            outcome.revised_prompt = item["prompt"]
    return outcome, scrub(data)


# --------------------------------------------------------------------------- Gemini image


async def generate_gemini_image(
    ctx: AttemptContext, clients: GoogleClients, payload: dict[str, Any], model_name: str
) -> ImageGenerationResponse:
    """One ``generateContent`` call on a Gemini image model."""
    from google.genai import types

    extra: dict[str, Any] = dict(payload.get("extra", {}))
    parts: list[Any] = []
    for index, media in enumerate(payload.get("images", [])):
        data, mime = await read_media(ctx, media, f"image_list[{index}]")
        parts.append(types.Part.from_bytes(data=data, mime_type=mime))
    parts.append(types.Part.from_text(text=payload["prompt"]))
    image_config = {
        key: value
        for key, value in (
            ("aspect_ratio", payload.get("aspect_ratio")),
            ("image_size", payload.get("image_size")),
            ("person_generation", extra.pop("person_generation", None)),
        )
        if value is not None
    }
    fields: dict[str, Any] = {k: extra[k] for k in _GENERATION_CONFIG_EXTRAS if k in extra}
    fields["response_modalities"] = extra.get("response_modalities") or ["TEXT", "IMAGE"]
    if image_config:
        fields["image_config"] = build(ctx, types.ImageConfig, **image_config)
    if "seed" in payload:
        fields["seed"] = payload["seed"]
    config = build(ctx, types.GenerateContentConfig, **fields, http_options=http_options(ctx))
    response = await call(
        ctx,
        clients.aio.models.generate_content(
            model=model_name,
            contents=[types.Content(role="user", parts=parts)],
            config=config,
        ),
        mode=clients.mode,
    )
    raw = scrub(response)
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = getattr(feedback.block_reason, "value", feedback.block_reason)
        detail = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
        raise ContentModerationError(
            f"Google blocked the prompt ({reason}){detail}", PROVIDER, ctx.model, raw_response=raw
        )
    candidates = response.candidates or []
    if not candidates:
        raise ContentModerationError(
            "Google returned no candidates for the prompt (blocked before generation)",
            PROVIDER,
            ctx.model,
            raw_response=raw,
        )
    outcome = _Outcome()
    texts: list[str] = []
    reasons: list[str] = []
    for candidate in candidates:
        finish = candidate.finish_reason
        finish_name = str(getattr(finish, "value", finish)) if finish is not None else None
        content_parts = candidate.content.parts if candidate.content else None
        produced = False
        for part in content_parts or []:
            if part.thought:
                continue  # interim "thinking" images/text of Gemini 3 image models
            if part.inline_data is not None and part.inline_data.data:
                outcome.images.append(b64(part.inline_data.data))
                outcome.mime_types.append(part.inline_data.mime_type or "image/png")
                produced = True
            elif part.text:
                texts.append(part.text)
        if not produced and finish_name in _MODERATION_FINISH:
            message = f" ({candidate.finish_message})" if candidate.finish_message else ""
            outcome.filtered.append(f"finish reason {finish_name}{message}")
        elif not produced and finish_name:
            reasons.append(finish_name)
    outcome.revised_prompt = "\n".join(texts) or None
    empty = "the Gemini image model returned no image"
    if reasons:
        empty += f" (finish reason {', '.join(reasons)})"
    if outcome.revised_prompt:
        empty += f"; it answered: {outcome.revised_prompt[:300]!r}"
    return _image_response(ctx, outcome, raw, payload.get("seed"), empty)
