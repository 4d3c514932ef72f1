"""Veo: submit a long-running operation, observe it, turn the finished operation into videos.

* **Vertex AI** — ``client.aio.models.generate_videos`` (``:predictLongRunning``),
  polled with ``client.aio.operations.get`` (``:fetchPredictOperation``); videos come
  back as base64 bytes or, with ``output_gcs_uri``, as ``gs://`` URIs (left as URLs).
* **Gemini API** — google-genai 3.x refuses ``generate_videos`` in this mode, so
  the documented ``models/{model}:predictLongRunning`` request goes through the
  SDK's own transport (:func:`~.common.rest_post`); polling
  (``GET models/{model}/operations/{id}``) and the download of the produced file
  (``files/{id}:download``) use the SDK's public ``operations.get`` and
  ``files.download``.

Neither API can cancel a Veo operation, so :func:`cancel` is not offered: the
handler answers ``False`` and the orchestrator reports "upstream cancel not
confirmed" with the job attached to the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tarash.tarash_gateway.exceptions import (
    ContentModerationError,
    GenerationFailedError,
    TarashException,
)
from tarash.tarash_gateway.jobs import JobRef, JobStatus
from tarash.tarash_gateway.media import MediaContent, MediaInput
from tarash.tarash_gateway.models import MediaOutput, VideoGenerationResponse
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.google.common import (
    GoogleClients,
    b64,
    build,
    call,
    http_options,
    read_media,
    rest_api_version,
    rest_post,
    scrub,
)
from tarash.tarash_gateway.providers.google.errors import PROVIDER, operation_error

if TYPE_CHECKING:
    from google.genai.types import GenerateVideosOperation, Image

__all__ = ["fetch_operation", "interpret_operation", "submit_veo", "videos_response"]

_CONFIG_FIELDS = (
    "number_of_videos",
    "duration_seconds",
    "aspect_ratio",
    "resolution",
    "generate_audio",
    "negative_prompt",
    "seed",
    "enhance_prompt",
)
_REST_PARAMS = {
    "number_of_videos": "sampleCount",
    "duration_seconds": "durationSeconds",
    "aspect_ratio": "aspectRatio",
    "resolution": "resolution",
    "negative_prompt": "negativePrompt",
    "enhance_prompt": "enhancePrompt",
    "person_generation": "personGeneration",
}


def _model_path(model_name: str) -> str:
    return (
        model_name if model_name.startswith(("models/", "tunedModels/")) else f"models/{model_name}"
    )


# --------------------------------------------------------------------------- submit


async def submit_veo(
    ctx: AttemptContext, clients: GoogleClients, payload: dict[str, Any], model_name: str
) -> JobRef:
    """Start the Veo operation; the :class:`JobRef` carries the operation name."""
    if clients.mode.vertex:
        name, raw = await _submit_vertex(ctx, clients, payload, model_name)
    else:
        name, raw = await _submit_gemini(ctx, clients, payload, model_name)
    if not name:
        raise GenerationFailedError(
            f"{PROVIDER} accepted the video request but returned no operation name",
            PROVIDER,
            ctx.model,
            raw_response=raw,
            retryable=True,
        )
    requested = {k: payload.get(k) for k in ("duration_seconds", "resolution", "aspect_ratio")}
    requested["seed"] = payload.get("seed")
    return ctx.job(
        name,
        data={
            **clients.mode.to_data(),
            "family": "veo",
            "model_name": model_name,
            "api_version": ctx.config.api_version,
            "requested": requested,
        },
    )


def _gemini_version(ctx: AttemptContext, job: JobRef) -> str:
    """API version for polling/downloading a Gemini API job (the submit's, when resumed bare)."""
    version = job.data.get("api_version")
    return (
        ctx.config.api_version
        or (version if isinstance(version, str) else None)
        or (rest_api_version(ctx))
    )


async def _image(ctx: AttemptContext, media: MediaInput, field: str) -> Image:
    from google.genai import types

    data, mime = await read_media(ctx, media, field)
    return types.Image(image_bytes=data, mime_type=mime)


async def _submit_vertex(
    ctx: AttemptContext, clients: GoogleClients, payload: dict[str, Any], model_name: str
) -> tuple[str | None, dict[str, Any]]:
    from google.genai import types

    fields: dict[str, Any] = {k: payload[k] for k in _CONFIG_FIELDS if k in payload}
    fields.update(payload.get("extra", {}))
    if "last_frame" in payload:
        fields["last_frame"] = await _image(ctx, payload["last_frame"], "image_list[last_frame]")
    if "reference_images" in payload:
        fields["reference_images"] = [
            types.VideoGenerationReferenceImage(
                image=await _image(
                    ctx, ref["image"], f"image_list[{ref['reference_type'].lower()}]"
                ),
                reference_type=ref["reference_type"],
            )
            for ref in payload["reference_images"]
        ]
    source = types.GenerateVideosSource(prompt=payload["prompt"])
    if "image" in payload:
        source.image = await _image(ctx, payload["image"], "image_list[first_frame]")
    config = build(ctx, types.GenerateVideosConfig, **fields, http_options=http_options(ctx))
    operation = await call(
        ctx,
        clients.aio.models.generate_videos(model=model_name, source=source, config=config),
        mode=clients.mode,
    )
    return operation.name, scrub(operation)


async def _rest_image(ctx: AttemptContext, media: MediaInput, field: str) -> dict[str, str]:
    data, mime = await read_media(ctx, media, field)
    return {"bytesBase64Encoded": b64(data), "mimeType": mime}


async def _submit_gemini(
    ctx: AttemptContext, clients: GoogleClients, payload: dict[str, Any], model_name: str
) -> tuple[str | None, dict[str, Any]]:
    instance: dict[str, Any] = {"prompt": payload["prompt"]}
    if "image" in payload:
        instance["image"] = await _rest_image(ctx, payload["image"], "image_list[first_frame]")
    if "last_frame" in payload:
        instance["lastFrame"] = await _rest_image(
            ctx, payload["last_frame"], "image_list[last_frame]"
        )
    if "reference_images" in payload:
        instance["referenceImages"] = [
            {
                "image": await _rest_image(
                    ctx, ref["image"], f"image_list[{ref['reference_type'].lower()}]"
                ),
                "referenceType": ref["reference_type"],
            }
            for ref in payload["reference_images"]
        ]
    values = {**payload, **payload.get("extra", {})}
    parameters = {wire: values[key] for key, wire in _REST_PARAMS.items() if key in values}
    body = {"instances": [instance], "parameters": parameters}
    data = await rest_post(ctx, clients, f"{_model_path(model_name)}:predictLongRunning", body)
    name = data.get("name")
    return (name if isinstance(name, str) else None), data


# --------------------------------------------------------------------------- observe


async def fetch_operation(
    ctx: AttemptContext, clients: GoogleClients, job: JobRef
) -> GenerateVideosOperation:
    """The current state of the job's operation (one status request)."""
    from google.genai import types

    api_version = None if clients.mode.vertex else _gemini_version(ctx, job)
    options = types.GetOperationConfig(http_options=http_options(ctx, api_version=api_version))
    operation = types.GenerateVideosOperation.model_validate({"name": job.provider_request_id})
    return await call(ctx, clients.aio.operations.get(operation, config=options), mode=clients.mode)


def _filter_note(response: Any) -> tuple[int, list[str]]:
    count = int(getattr(response, "rai_media_filtered_count", None) or 0)
    reasons = [str(r) for r in getattr(response, "rai_media_filtered_reasons", None) or []]
    return count, reasons


def interpret_operation(
    ctx: AttemptContext, job: JobRef, operation: GenerateVideosOperation
) -> JobStatus:
    """Normalise one observation of a Veo operation."""
    raw = scrub(operation)
    if not operation.done:
        return JobStatus(state="processing", message="video generation in progress", raw=raw)
    if operation.error:
        error = operation_error(
            operation.error, model=ctx.model, request_id=job.provider_request_id
        )
        return JobStatus(state="failed", message=error.message, error=error, raw=raw)
    response = operation.response or operation.result
    videos = [v for v in (getattr(response, "generated_videos", None) or []) if v.video]
    if videos:
        return JobStatus(state="completed", progress_percent=100, raw=raw)
    count, reasons = _filter_note(response)
    failure: TarashException
    if count or reasons:
        detail = "; ".join(reasons) or "no reason given"
        failure = ContentModerationError(
            f"Google's safety filters removed every generated video ({count} filtered): {detail}",
            PROVIDER,
            ctx.model,
            job.provider_request_id,
            raw,
        )
    else:
        failure = GenerationFailedError(
            "the Veo operation finished without any video",
            PROVIDER,
            ctx.model,
            job.provider_request_id,
            raw,
            retryable=True,
        )
    return JobStatus(state="failed", message=failure.message, error=failure, raw=raw)


# --------------------------------------------------------------------------- result


def _is_files_uri(uri: str) -> bool:
    """A Gemini API file (downloadable with the API key through the SDK)."""
    return uri.startswith("files/") or (uri.startswith("https://") and "/files/" in uri)


async def videos_response(
    ctx: AttemptContext,
    clients: GoogleClients,
    job: JobRef,
    operation: GenerateVideosOperation,
) -> VideoGenerationResponse:
    """Convert a finished, successful operation into the response (downloads files URIs)."""
    from google.genai import types

    status = interpret_operation(ctx, job, operation)
    if status.state != "completed":
        error = status.error
        if isinstance(error, TarashException):
            raise error
        raise GenerationFailedError(
            status.message or "the Veo operation did not complete", PROVIDER, ctx.model
        )
    response = operation.response or operation.result
    outputs: list[MediaOutput] = []
    content_type = "video/mp4"
    for generated in getattr(response, "generated_videos", None) or []:
        video = generated.video
        if video is None:
            continue
        mime = video.mime_type or "video/mp4"
        if video.video_bytes:
            outputs.append(MediaContent(content=video.video_bytes, content_type=mime))
        elif video.uri and not clients.mode.vertex and _is_files_uri(video.uri):
            options = types.DownloadFileConfig(
                http_options=http_options(
                    ctx, api_version=_gemini_version(ctx, job), cap=300.0, floor=30.0
                )
            )
            data = await call(
                ctx,
                clients.aio.files.download(file=types.Video(uri=video.uri), config=options),
                mode=clients.mode,
            )
            outputs.append(MediaContent(content=data, content_type=mime))
        elif video.uri:
            outputs.append(video.uri)
        else:
            continue
        if len(outputs) == 1:
            content_type = mime
    count, reasons = _filter_note(response)
    if count or reasons:
        ctx.warnings.append(
            f"Google's safety filters removed {count} of the requested videos"
            + (f": {'; '.join(reasons)}" if reasons else "")
        )
    if not outputs:
        raise GenerationFailedError(
            "the Veo operation finished but its videos carry neither bytes nor a URI",
            PROVIDER,
            ctx.model,
            job.provider_request_id,
            status.raw,
            retryable=True,
        )
    requested: dict[str, Any] = job.data.get("requested") or {}
    first = outputs[0]
    built: VideoGenerationResponse = ctx.video_response(
        video=first,
        videos=outputs,
        content_type=content_type,
        provider_request_id=job.provider_request_id,
        raw_response=status.raw,
        duration=float(requested["duration_seconds"])
        if requested.get("duration_seconds")
        else None,
        resolution=requested.get("resolution"),
        aspect_ratio=requested.get("aspect_ratio"),
        seed=requested.get("seed"),
        file_size=len(first["content"]) if isinstance(first, dict) else None,
    )
    return built
