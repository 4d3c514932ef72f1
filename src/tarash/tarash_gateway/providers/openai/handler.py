"""OpenAI provider: GPT Image / DALL·E images, Sora videos and speech through the ``openai`` SDK.

Operations and endpoints (all through ``AsyncOpenAI``, imported lazily, one
cached client per key/base URL/event loop, SDK retries off):

* **image** — ``POST /images/generations`` (JSON) without input images,
  ``POST /images/edits`` (multipart: ``image`` or repeated ``image[]``, ``mask``)
  with them. GPT Image models always answer base64 (``b64_json``); DALL·E
  answers URLs unless ``response_format="b64_json"``.
* **video** — the Videos API: ``POST /videos`` (always multipart, optional
  ``input_reference`` image), ``GET /videos/{id}`` polled (``progress`` and the
  ``openai-poll-after-ms`` header), ``GET /videos/{id}/content`` for the MP4,
  ``POST /videos/{id}/remix`` when ``remix_video_id`` is given, and
  ``DELETE /videos/{id}`` as the (unconfirmed-stop) cancel.
* **tts** — ``POST /audio/speech``; :meth:`OpenAIProviderHandler.stream_tts`
  yields the audio as it arrives.

:class:`~tarash.tarash_gateway.providers.azure_openai.AzureOpenAIProviderHandler`
reuses everything here and only swaps clients, model routing and credentials.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from tarash.tarash_gateway.audio import audio_facts
from tarash.tarash_gateway.catalog import as_model_unavailable, check_model
from tarash.tarash_gateway.exceptions import (
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    RateLimitError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_status, error_from_transport, parse_retry_after
from tarash.tarash_gateway.jobs import JobRef, JobStatus, Operation
from tarash.tarash_gateway.logging import log_debug
from tarash.tarash_gateway.media import (
    MediaContent,
    MediaInput,
    MediaTooLargeError,
    extension_for,
    sniff_content_type,
)
from tarash.tarash_gateway.models import (
    AudioOutputFormat,
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    Cost,
    TTSRequest,
)
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
    Prepared,
    Submission,
)
from tarash.tarash_gateway.providers.field_mappers import apply_field_mappers, field_errors
from tarash.tarash_gateway.providers.openai import pricing
from tarash.tarash_gateway.providers.openai.field_mappings import (
    ALL_VOICES,
    IMAGE_MODELS,
    TTS_FORMATS,
    TTS_MAX_CHARS,
    TTS_MODELS,
    TTS_SAMPLE_RATE,
    TTS_SPEED,
    VIDEO_MODELS,
    ImageModelSpec,
    TTSModelSpec,
    VideoModelSpec,
    check_image_params,
    check_video_params,
    generic_image_mappers,
    infer_family,
    operation_of,
)

__all__ = ["OpenAIProviderHandler"]

_LOG = "providers.openai"
_DIRECT_CALL_CAP = 600.0
"""Images and speech are one long call: only the attempt's deadline bounds it."""
Purpose = Literal["images", "speech", "videos"]

# Keyword arguments of the SDK methods; every other parameter goes in ``extra_body``.
_GENERATE_KWARGS = frozenset(
    {
        "background",
        "complexity",
        "moderation",
        "n",
        "output_compression",
        "output_format",
        "quality",
        "response_format",
        "safety_identifier",
        "size",
        "style",
        "user",
    }
)
_EDIT_KWARGS = frozenset(
    {
        "background",
        "complexity",
        "input_fidelity",
        "n",
        "output_compression",
        "output_format",
        "quality",
        "response_format",
        "safety_identifier",
        "size",
        "user",
    }
)
_VIDEO_KWARGS = frozenset({"seconds", "size"})
_SPEECH_KWARGS = frozenset({"instructions", "response_format", "speed", "stream_format"})

# Error codes that mean "the safety system refused" (OpenAI and Azure spellings).
_MODERATION_CODES = frozenset(
    {
        "moderation_blocked",
        "content_policy_violation",
        "content_filter",
        "contentfilter",
        "responsibleaipolicyviolation",
        "safety_violation",
    }
)
# Sora job failures that are worth another attempt.
_TRANSIENT_VIDEO_CODES = frozenset(
    {"internal_error", "server_error", "service_unavailable", "timeout", "rate_limit_exceeded"}
)
_VIDEO_STATES: dict[str, Literal["queued", "processing", "completed", "failed"]] = {
    "queued": "queued",
    "in_progress": "processing",
    "completed": "completed",
    "failed": "failed",
}
_IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


class OpenAIProviderHandler(BaseProviderHandler):
    """OpenAI: images (GPT Image, DALL·E), Sora video and speech, through ``AsyncOpenAI``."""

    name: ClassVar[str] = "openai"
    operations: ClassVar[frozenset[Operation]] = frozenset({"image", "video", "tts"})
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL",)  # read by the SDK itself
    supports_streaming: ClassVar[bool] = True

    image_models: ClassVar[Mapping[str, ImageModelSpec]] = IMAGE_MODELS
    video_models: ClassVar[Mapping[str, VideoModelSpec]] = VIDEO_MODELS
    tts_models: ClassVar[Mapping[str, TTSModelSpec]] = TTS_MODELS
    estimates_cost: ClassVar[bool] = True
    """Attach cost estimates from OpenAI's public price list (Azure bills differently)."""

    # ================================================================== model routing

    def known_models(self) -> set[str]:
        """Every model name this handler validates."""
        return set(self.image_models) | set(self.video_models) | set(self.tts_models)

    def model_family(self, config: BaseGenerationConfig) -> str | None:
        """The known model ``config`` runs (``provider_config["model_family"]`` overrides)."""
        explicit = config.provider_config.get("model_family")
        if explicit is not None:
            return infer_family(str(explicit), self.known_models())
        return infer_family(config.model, self.known_models())

    def api_model(self, config: BaseGenerationConfig) -> str:
        """The ``model`` value sent to the API."""
        return config.model

    def _generic_allowed(self, config: BaseGenerationConfig) -> bool:
        """Unknown OpenAI models go out with a generic mapping (Azure needs a model family)."""
        return self.name == "openai" and config.provider_config.get("model_family") is None

    def _unknown_model(self, config: BaseGenerationConfig, operation: Operation) -> ValidationError:
        models = {
            "image": self.image_models,
            "video": self.video_models,
            "tts": self.tts_models,
        }.get(operation, {})
        explicit = config.provider_config.get("model_family")
        what = f"model_family {explicit!r}" if explicit is not None else f"model {config.model!r}"
        return ValidationError(
            f"{what} is not a known {operation} model of provider {self.name!r}; known: "
            + ", ".join(sorted(models))
            + " (dated snapshots such as 'sora-2-2025-10-06' are accepted; for another model "
            "set provider_config={'model_family': <closest known model>} or register a "
            "field mapping)",
            self.name,
            config.model,
            field="model_family" if explicit is not None else "model",
        )

    def _check_operation(
        self, family: str, operation: Operation, config: BaseGenerationConfig
    ) -> None:
        serves = operation_of(family)
        if serves is not None and serves != operation:
            raise ValidationError(
                f"model {config.model!r} is a {serves} model; it cannot serve {operation} "
                f"generation on {self.name!r}",
                self.name,
                config.model,
                field="model",
            )

    # ================================================================== 1. prepare

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        if operation == "tts":
            assert isinstance(request, TTSRequest)
            return self._prepare_tts(config, request, warnings), self.model_family(config)
        registry = self.field_mappings()
        family = self.model_family(config)
        if config.model in registry:
            key: str | None = config.model
        elif family is not None and family in registry:
            key = family
        else:
            key = None
        if key is None and not (operation == "image" and self._generic_allowed(config)):
            raise self._unknown_model(config, operation)
        if family is not None:
            self._check_operation(family, operation, config)
        # A new image model (not in the catalog yet): common fields under the Images API's
        # names; the catalog check already warned that it was not validated.
        mappers = registry[key] if key is not None else generic_image_mappers()
        payload = apply_field_mappers(mappers, request, provider=self.name, model=config.model)
        self.check_unsupported(config, request, mappers, warnings)
        extras = self.passthrough_params(request)
        errors: list[dict[str, Any]] = []
        if operation == "image" and family is not None and family in self.image_models:
            spec = self.image_models[family]
            errors = check_image_params(
                spec, {**payload, **extras}, is_edit=bool(payload.get("image"))
            )
        elif operation == "video" and family is not None and family in self.video_models:
            errors = check_video_params(self.video_models[family], payload, extras)
        if errors:
            raise field_errors(errors, self.name, config.model)
        return payload, key

    def _prepare_tts(
        self, config: BaseGenerationConfig, request: TTSRequest, warnings: list[str]
    ) -> dict[str, Any]:
        family = self.model_family(config)
        if family is None and self._generic_allowed(config):
            # A new speech model: the SDK's voices, instructions allowed (the API decides).
            spec = TTSModelSpec(config.model, ALL_VOICES, instructions=True)
        elif family is None or family not in self.tts_models:
            if family is not None:
                self._check_operation(family, "tts", config)
            raise self._unknown_model(config, "tts")
        else:
            spec = self.tts_models[family]
        extras = self.passthrough_params(request)

        def invalid(field: str, message: str) -> ValidationError:
            return ValidationError(
                f"invalid speech request for model {config.model!r}: {field}: {message}",
                self.name,
                config.model,
                field=field,
            )

        if len(request.text) > TTS_MAX_CHARS:
            raise invalid(
                "text", f"is {len(request.text)} characters; the limit is {TTS_MAX_CHARS}"
            )
        voice: Any = extras.get("voice", request.voice_id or "alloy")
        if isinstance(voice, str) and voice.startswith("voice_"):
            voice = {"id": voice}  # a custom voice created from audio samples
        elif isinstance(voice, Mapping) and isinstance(voice.get("id"), str):
            voice = {"id": voice["id"]}
        elif voice not in spec.voices:
            raise invalid(
                "voice_id",
                f"{voice!r} is not a voice of {spec.name}; allowed: {', '.join(spec.voices)} "
                "or a custom voice id ('voice_…')",
            )
        fmt = request.output_format
        if fmt.format not in TTS_FORMATS:
            raise invalid(
                "output_format",
                f"{fmt.format!r} is not supported; allowed: {', '.join(TTS_FORMATS)}",
            )
        unsupported: list[str] = []
        if "output_format" in request.set_fields():
            if fmt.sample_rate not in (None, TTS_SAMPLE_RATE):
                unsupported.append("output_format.sample_rate")
            if fmt.bitrate is not None:
                unsupported.append("output_format.bitrate")
        if request.language_code is not None:
            unsupported.append("language_code")
        speed: Any = extras.get("speed")
        for key, value in (request.voice_settings or {}).items():
            if key == "speed":
                speed = value if speed is None else speed
            else:
                unsupported.append(f"voice_settings.{key}")
        self.report_unsupported(config, unsupported, warnings)

        payload: dict[str, Any] = {
            "input": request.text,
            "voice": voice,
            "response_format": fmt.format,
        }
        if speed is not None:
            if isinstance(speed, bool) or not isinstance(speed, int | float):
                raise invalid("speed", f"must be a number, got {speed!r}")
            low, high = TTS_SPEED
            if not low <= float(speed) <= high:
                raise invalid("speed", f"must be between {low:g} and {high:g}, got {speed!r}")
            payload["speed"] = float(speed)
        instructions = extras.get("instructions")
        if instructions is not None:
            if not spec.instructions:
                raise invalid(
                    "instructions", f"{spec.name} does not take instructions (gpt-4o-mini-tts does)"
                )
            if not isinstance(instructions, str) or not instructions.strip():
                raise invalid("instructions", "must be a non-empty string")
            payload["instructions"] = instructions
        stream_format = extras.get("stream_format")
        if stream_format not in (None, "audio"):
            raise invalid(
                "stream_format",
                "only 'audio' is supported (the gateway returns and streams raw audio)",
            )
        passthrough = {
            k: v for k, v in extras.items() if k not in ("voice", "speed", "instructions")
        }
        payload.update(passthrough)
        return payload

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        self.require(operation, config)
        self.check_credentials(config)
        warnings: list[str] = check_model(self.name, operation, config, request)
        payload, key = self.prepare_payload(operation, config, request, warnings)
        if operation != "tts":  # speech merged (and translated) its pass-through params itself
            payload.update(self.passthrough_params(request))
        return Prepared(operation, request, payload, key, warnings)

    # ================================================================== clients

    def _client(self, ctx: AttemptContext, purpose: Purpose) -> Any:
        """The cached ``AsyncOpenAI`` client of this config (same one for every purpose)."""
        config = ctx.config

        def factory() -> Any:
            from openai import AsyncOpenAI

            options: dict[str, Any] = {
                "api_key": self.api_key(config),
                "max_retries": 0,
                "organization": config.provider_config.get("organization"),
                "project": config.provider_config.get("project"),
            }
            if config.base_url:
                options["base_url"] = config.base_url
            return AsyncOpenAI(**options)

        return self.client(config, factory, kind="openai")

    # ================================================================== 2. submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Submission:
        await _load_sdk()
        if prepared.operation == "image":
            return await self._submit_image(ctx, prepared)
        if prepared.operation == "video":
            return await self._submit_video(ctx, prepared)
        if prepared.operation == "tts":
            return await self._submit_tts(ctx, prepared)
        return await super().submit(ctx, prepared)

    async def _read_media(
        self, ctx: AttemptContext, media: MediaInput, field: str, stem: str
    ) -> tuple[str, bytes, str]:
        """A multipart file tuple for ``media`` (downloads URLs; enforces the size limit)."""
        try:
            data, ctype = await media.read(
                max_bytes=ctx.config.max_input_bytes, timeout=ctx.http_timeout(60.0)
            )
        except MediaTooLargeError as exc:
            raise ValidationError(str(exc), self.name, ctx.model, field=field) from exc
        except (OSError, ValueError) as exc:
            raise ValidationError(
                f"could not read {field}: {exc}", self.name, ctx.model, field=field
            ) from exc
        ctype = sniff_content_type(data) or ctype or "application/octet-stream"
        return f"{stem}{extension_for(ctype, '.png')}", data, ctype

    # ------------------------------------------------------------------ images

    async def _submit_image(
        self, ctx: AttemptContext, prepared: Prepared
    ) -> BaseGenerationResponse:
        payload = dict(prepared.payload)
        images: list[MediaInput] = payload.pop("image", None) or []
        mask: MediaInput | None = payload.pop("mask", None)
        prompt = payload.pop("prompt")
        allowed = _EDIT_KWARGS if images else _GENERATE_KWARGS
        kwargs = {k: v for k, v in payload.items() if k in allowed}
        extra_body = {k: v for k, v in payload.items() if k not in allowed}
        client = self._client(ctx, "images")
        await ctx.emit(JobStatus(state="processing", message="generating image"))
        if images:
            files = [
                await self._read_media(ctx, media, "image_list", f"image_{i}")
                for i, media in enumerate(images)
            ]
            image_arg: Any = files[0] if len(files) == 1 else files
            if mask is not None:
                kwargs["mask"] = await self._read_media(ctx, mask, "mask_image", "mask")
            raw = await client.images.with_raw_response.edit(
                image=image_arg,
                prompt=prompt,
                model=self.api_model(ctx.config),
                extra_body=extra_body or None,
                timeout=ctx.http_timeout(_DIRECT_CALL_CAP),
                **kwargs,
            )
        else:
            raw = await client.images.with_raw_response.generate(
                prompt=prompt,
                model=self.api_model(ctx.config),
                extra_body=extra_body or None,
                timeout=ctx.http_timeout(_DIRECT_CALL_CAP),
                **kwargs,
            )
        body = self._json_body(raw, ctx, "image response")
        return self._image_response(ctx, prepared, body, raw.headers, edit=bool(images))

    def _image_response(
        self,
        ctx: AttemptContext,
        prepared: Prepared,
        body: dict[str, Any],
        headers: Mapping[str, str],
        *,
        edit: bool,
    ) -> BaseGenerationResponse:
        items = [d for d in body.get("data") or [] if isinstance(d, dict)]
        images: list[str] = []
        has_b64 = False
        for item in items:
            if isinstance(item.get("b64_json"), str) and item["b64_json"]:
                images.append(item["b64_json"])
                has_b64 = True
            elif isinstance(item.get("url"), str) and item["url"]:
                images.append(item["url"])
        request_id = _request_id(headers)
        summary = _image_summary(body, request_id, edit=edit)
        if not images:
            raise GenerationFailedError(
                f"{ctx.provider} answered without any image",
                ctx.provider,
                ctx.model,
                request_id,
                summary,
                retryable=True,
            )
        output_format = body.get("output_format") or prepared.payload.get("output_format")
        content_type = _IMAGE_TYPES.get(str(output_format), "image/png")
        if has_b64:
            sniffed = _sniff_b64(images[0])
            content_type = sniffed or content_type
        size = body.get("size") or prepared.payload.get("size")
        width, height = _dimensions(size)
        revised = next(
            (d["revised_prompt"] for d in items if isinstance(d.get("revised_prompt"), str)), None
        )
        cost: Cost | None = None
        family = self.model_family(ctx.config)
        if self.estimates_cost and family is not None:
            usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
            cost = pricing.image_cost(
                family,
                usage=usage,
                images=len(images),
                size=str(size) if size else None,
                quality=body.get("quality") or prepared.payload.get("quality"),
            )
        response: BaseGenerationResponse = ctx.image_response(
            images=images,
            content_type=content_type,
            revised_prompt=revised,
            width=width,
            height=height,
            provider_request_id=request_id,
            raw_response=summary,
            cost=cost,
        )
        return response

    # ------------------------------------------------------------------ video

    video_api: ClassVar[str] = "openai"

    async def _submit_video(self, ctx: AttemptContext, prepared: Prepared) -> JobRef:
        payload = dict(prepared.payload)
        remix = payload.pop("remix_video_id", None)
        prompt = payload.pop("prompt")
        reference: MediaInput | None = payload.pop("input_reference", None)
        client = self._client(ctx, "videos")
        if remix is not None:
            extra_body = {k: v for k, v in payload.items() if k not in _VIDEO_KWARGS}
            raw = await client.videos.with_raw_response.remix(
                str(remix),
                prompt=prompt,
                extra_body=extra_body or None,
                timeout=ctx.http_timeout(),
            )
        else:
            kwargs: dict[str, Any] = {
                k: str(v) for k, v in payload.items() if k in _VIDEO_KWARGS and v is not None
            }
            extra_body = {k: v for k, v in payload.items() if k not in _VIDEO_KWARGS}
            if reference is not None:
                kwargs["input_reference"] = await self._read_media(
                    ctx, reference, "image_list", "input_reference"
                )
            # kept to find the job again if the answer is lost (see find_submitted)
            ctx.job_state["sent"] = (self.api_model(ctx.config), prompt, dict(kwargs))
            raw = await client.videos.with_raw_response.create(
                prompt=prompt,
                model=self.api_model(ctx.config),
                extra_body=extra_body or None,
                timeout=ctx.http_timeout(),
                **kwargs,
            )
        video = self._json_body(raw, ctx, "video job")
        video_id = video.get("id")
        if not isinstance(video_id, str) or not video_id:
            raise HTTPError(
                f"{ctx.provider} accepted the video request but returned no job id",
                ctx.provider,
                ctx.model,
                _request_id(raw.headers),
                video,
                raw.status_code,
                retryable=True,
            )
        log_debug("Sora job created", {"video_id": video_id, "remix_of": remix}, _LOG)
        return ctx.job(
            video_id,
            data={
                "api": self.video_api,
                "family": self.model_family(ctx.config),
                "seconds": video.get("seconds"),
                "size": video.get("size"),
                "remix_of": remix,
            },
        )

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        if job.operation != "video":
            return await super().status(ctx, job)
        await _load_sdk()
        client = self._client(ctx, "videos")
        raw = await client.videos.with_raw_response.retrieve(
            job.provider_request_id, timeout=ctx.http_timeout(30.0)
        )
        video = self._json_body(raw, ctx, "video status")
        poll_after = _poll_after(raw.headers)
        state = _VIDEO_STATES.get(str(video.get("status")), "processing")
        progress = video.get("progress")
        percent = (
            int(progress)
            if isinstance(progress, int | float) and not isinstance(progress, bool)
            else None
        )
        if state == "failed":
            error = self._video_failure(ctx, job, video)
            return JobStatus(
                state="failed", message=error.message, error=error, raw=video, poll_after=poll_after
            )
        if percent is not None:
            percent = max(0, min(100, percent))
        return JobStatus(
            state=state,
            progress_percent=percent,
            message=str(video.get("status")),
            raw=video,
            poll_after=poll_after,
        )

    def _video_failure(
        self, ctx: AttemptContext, job: JobRef, video: dict[str, Any]
    ) -> TarashException:
        found = video.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = str(error.get("code") or "")
        message = str(error.get("message") or "video generation failed")
        text = f"Sora job {job.provider_request_id} failed: {message}" + (
            f" (code={code})" if code else ""
        )
        if _is_moderation(code, error):
            return ContentModerationError(
                text, ctx.provider, ctx.model, job.provider_request_id, video
            )
        headers = error.get("headers") if isinstance(error.get("headers"), dict) else None
        retry_after = parse_retry_after(headers)
        retryable = code.lower() in _TRANSIENT_VIDEO_CODES or retry_after is not None
        return GenerationFailedError(
            text,
            ctx.provider,
            ctx.model,
            job.provider_request_id,
            video,
            retry_same_config=retryable,  # a transient failure the provider reported
            retry_after=retry_after,
        )

    async def result(self, ctx: AttemptContext, job: JobRef) -> BaseGenerationResponse:
        if job.operation != "video":
            return await super().result(ctx, job)
        await _load_sdk()
        client = self._client(ctx, "videos")
        video_id = job.provider_request_id
        raw_video = await client.videos.with_raw_response.retrieve(
            video_id, timeout=ctx.http_timeout(30.0)
        )
        video = self._json_body(raw_video, ctx, "video status")
        download = await client.videos.with_raw_response.download_content(
            video_id, variant="video", timeout=max(30.0, ctx.http_timeout(300.0))
        )
        data: bytes = download.content
        if not data:
            raise GenerationFailedError(
                f"{ctx.provider} returned an empty video for {video_id}",
                ctx.provider,
                ctx.model,
                video_id,
                video,
                retryable=True,
            )
        header_type = str(download.headers.get("content-type", "")).split(";")[0].strip()
        content_type = sniff_content_type(data) or (
            header_type if header_type.startswith("video/") else "video/mp4"
        )
        size = video.get("size") or job.data.get("size")
        width, height = _dimensions(size)
        seconds = _as_float(video.get("seconds") or job.data.get("seconds"))
        family = job.data.get("family") or self.model_family(ctx.config)
        cost = None
        if self.estimates_cost and isinstance(family, str):
            cost = pricing.video_cost(
                family,
                seconds=seconds,
                size=str(size) if size else None,
                remix=bool(job.data.get("remix_of") or video.get("remixed_from_video_id")),
            )
        response: BaseGenerationResponse = ctx.video_response(
            video=MediaContent(content=data, content_type=content_type),
            content_type=content_type,
            duration=seconds,
            width=width,
            height=height,
            resolution=f"{min(width, height)}p" if width and height else None,
            aspect_ratio=_ratio(width, height),
            file_size=len(data),
            provider_request_id=video_id,
            raw_response=video,
            cost=cost,
        )
        return response

    async def find_submitted(
        self, ctx: AttemptContext, prepared: Prepared, sent_after: datetime, known: set[str]
    ) -> JobRef | None:
        """The video job a lost ``POST /videos`` created: ``GET /videos`` (newest first)
        lists model, prompt, seconds, size and creation time; exactly one match created
        since the send, and not already ours, is it (remixes are never reconciled)."""
        sent = ctx.job_state.get("sent")
        if sent is None or prepared.operation != "video":
            return None
        model, prompt, kwargs = sent
        client = self._client(ctx, "videos")
        page = await client.videos.list(limit=50, order="desc", timeout=ctx.http_timeout(15.0))
        earliest = sent_after.timestamp() - 10  # clock skew between us and the API
        candidates = [
            v
            for v in page.data
            if v.id not in known
            and v.model == model
            and v.prompt == prompt
            and v.created_at >= earliest
            and all(
                str(getattr(v, k, None)) == str(val)
                for k, val in kwargs.items()
                if k in ("seconds", "size")
            )
        ]
        if len(candidates) != 1:
            return None  # none, or ambiguous: never guess which job is ours
        video = candidates[0]
        return ctx.job(
            video.id,
            data={
                "api": self.video_api,
                "family": self.model_family(ctx.config),
                "seconds": video.seconds,
                "size": video.size,
                "remix_of": None,
                "reconciled": True,
            },
        )

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
        """``DELETE /videos/{id}``; True only when the API answers ``deleted: true``.

        OpenAI documents DELETE as removing a video and its assets, not as
        stopping a render in progress or its billing: a confirmed delete means
        the job is gone, not that nothing is charged.
        """
        if job.operation != "video":
            return False
        await _load_sdk()
        client = self._client(ctx, "videos")
        raw = await client.videos.with_raw_response.delete(
            job.provider_request_id, timeout=ctx.http_timeout(15.0)
        )
        body = self._json_body(raw, ctx, "video delete")
        return body.get("deleted") is True

    # ------------------------------------------------------------------ speech

    def _speech_call(self, ctx: AttemptContext, prepared: Prepared) -> dict[str, Any]:
        payload = dict(prepared.payload)
        text = payload.pop("input")
        voice = payload.pop("voice")
        kwargs = {k: v for k, v in payload.items() if k in _SPEECH_KWARGS}
        extra_body = {k: v for k, v in payload.items() if k not in _SPEECH_KWARGS}
        return {
            "input": text,
            "voice": voice,
            "model": self.api_model(ctx.config),
            "extra_body": extra_body or None,
            "timeout": ctx.http_timeout(_DIRECT_CALL_CAP),
            **kwargs,
        }

    async def _submit_tts(self, ctx: AttemptContext, prepared: Prepared) -> BaseGenerationResponse:
        client = self._client(ctx, "speech")
        await ctx.emit(JobStatus(state="processing", message="synthesising speech"))
        raw = await client.audio.speech.with_raw_response.create(**self._speech_call(ctx, prepared))
        audio: bytes = raw.content
        request_id = _request_id(raw.headers)
        fmt = str(prepared.payload.get("response_format", "mp3"))
        if not audio:
            raise GenerationFailedError(
                f"{ctx.provider} returned no audio",
                ctx.provider,
                ctx.model,
                request_id,
                retryable=True,
            )
        sample_rate = TTS_SAMPLE_RATE if fmt in ("wav", "pcm") else None
        duration: float | None = None
        if fmt in ("wav", "pcm"):
            seconds = audio_facts(audio, fmt, TTS_SAMPLE_RATE).duration
            duration = None if seconds is None else round(seconds, 3)
        header_type = str(raw.headers.get("content-type", "")).split(";")[0].strip()
        content_type = header_type if header_type.startswith("audio/") else _AUDIO_TYPES[fmt]
        family = self.model_family(ctx.config)
        cost = None
        if self.estimates_cost and family is not None:
            cost = pricing.speech_cost(family, characters=len(str(prepared.payload["input"])))
        response: BaseGenerationResponse = ctx.audio_response(
            audio=base64.b64encode(audio).decode("ascii"),
            content_type=content_type,
            duration=duration,
            sample_rate=sample_rate,
            output_format=AudioOutputFormat(
                format=fmt, sample_rate=sample_rate
            ).to_provider_string(),
            provider_request_id=request_id,
            raw_response={
                "request_id": request_id,
                "content_type": header_type or None,
                "bytes": len(audio),
                "response_format": fmt,
            },
            cost=cost,
        )
        return response

    async def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """Yield speech audio chunks as OpenAI sends them (``with_streaming_response``).

        Errors come out typed (the same mapping as :meth:`map_error`).
        """
        if prepared.operation != "tts":
            raise ValidationError(
                f"stream_tts needs a tts request, got {prepared.operation}", self.name, ctx.model
            )
        await _load_sdk()
        client = self._client(ctx, "speech")
        try:
            async with client.audio.speech.with_streaming_response.create(
                **self._speech_call(ctx, prepared)
            ) as response:
                async for chunk in response.iter_bytes():
                    if chunk:
                        yield chunk
        except (TarashException, asyncio.CancelledError):
            raise
        except Exception as exc:
            mapped = self.map_error(exc, ctx) or GenerationFailedError(
                f"{ctx.provider} raised {type(exc).__name__}: {exc}", ctx.provider, ctx.model
            )
            raise mapped from exc

    # ================================================================== errors

    def _json_body(self, raw: Any, ctx: AttemptContext, what: str) -> dict[str, Any]:
        content: bytes = raw.content
        try:
            body = json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPError(
                f"{ctx.provider} returned malformed JSON for the {what}: {exc}",
                ctx.provider,
                ctx.model,
                _request_id(raw.headers),
                {"body": content[:500].decode("utf-8", "replace")},
                raw.status_code,
                retryable=True,
            ) from exc
        if not isinstance(body, dict):
            raise HTTPError(
                f"{ctx.provider} returned {type(body).__name__}, not an object, for the {what}",
                ctx.provider,
                ctx.model,
                _request_id(raw.headers),
                {"body": body},
                raw.status_code,
                retryable=True,
            )
        return body

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """``openai`` exceptions → typed errors (moderation, validation, auth, rate limit …)."""
        try:
            import openai
        except ImportError:  # pragma: no cover - the SDK raised, so it is installed
            return None
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, ctx)
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            return error_from_transport(
                exc, provider=ctx.provider, model=ctx.model, timeout_seconds=ctx.http_timeout()
            )
        if isinstance(exc, openai.APIResponseValidationError):
            return HTTPError(
                f"{ctx.provider} returned an unexpected response: {exc.message}",
                ctx.provider,
                ctx.model,
                None,
                exc.body,
                exc.status_code,
                retryable=True,
            )
        if type(exc).__module__.split(".")[0] in ("httpx2", "httpx", "httpcore"):
            return error_from_transport(exc, provider=ctx.provider, model=ctx.model)
        return None

    def _status_error(self, exc: Any, ctx: AttemptContext) -> TarashException:
        status = int(exc.status_code)
        body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
        headers = exc.response.headers
        code = str(body.get("code") or exc.code or "")
        message = str(body.get("message") or exc.message)
        param = body.get("param") or exc.param
        details = ", ".join(
            f"{k}={v}"
            for k, v in (("code", code), ("type", body.get("type")), ("param", param))
            if v
        )
        text = f"{message} ({details})" if details else message
        request_id = _request_id(headers) or exc.request_id
        raw = {"status_code": status, "error": body if body else exc.body}
        if _is_moderation(code, body):
            return ContentModerationError(
                f"HTTP {status}: {text}", ctx.provider, ctx.model, request_id, raw
            )
        should_retry = str(headers.get("x-should-retry", "")).lower()
        hint: bool | None = {"true": True, "false": False}.get(should_retry)
        if status == 429:
            quota = code == "insufficient_quota" or body.get("type") == "insufficient_quota"
            return RateLimitError(
                f"HTTP 429: {text}"
                + (" — the account is out of quota; retrying will not help" if quota else ""),
                ctx.provider,
                ctx.model,
                request_id,
                raw,
                retryable=False if quota else (hint if hint is not None else True),
                retry_after=None if quota else parse_retry_after(headers),
            )
        mapped = error_from_status(
            status,
            text,
            provider=ctx.provider,
            model=ctx.model,
            request_id=request_id,
            raw_response=raw,
            headers=headers,
            retryable=hint if status >= 500 or status in (408, 409) else None,
        )
        if isinstance(mapped, ValidationError):
            field = str(param) if param else None
            mapped.field = field
            mapped.errors = [{"field": field, "message": message}] if field else []
        return mapped


# ============================================================================ helpers


async def _load_sdk() -> None:
    """Import ``openai`` in a worker thread on first use (a cold import takes ~2 s)."""
    if "openai" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "openai")


def _request_id(headers: Mapping[str, str] | None) -> str | None:
    if not headers:
        return None
    for name in ("x-request-id", "apim-request-id"):
        value = headers.get(name)
        if value:
            return str(value)
    return None


def _is_moderation(code: str, error: Mapping[str, Any]) -> bool:
    if code.lower() in _MODERATION_CODES:
        return True
    inner = error.get("innererror")
    if isinstance(inner, Mapping) and str(inner.get("code", "")).lower() in _MODERATION_CODES:
        return True
    return False


def _poll_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("openai-poll-after-ms")
    if value is None:
        return None
    try:
        return max(0.0, float(value) / 1000.0)
    except ValueError:
        return None


def _dimensions(size: Any) -> tuple[int | None, int | None]:
    if not isinstance(size, str) or "x" not in size:
        return None, None
    width, _, height = size.partition("x")
    if width.isdigit() and height.isdigit():
        return int(width), int(height)
    return None, None


def _ratio(width: int | None, height: int | None) -> str | None:
    if not width or not height:
        return None
    from math import gcd

    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


def _as_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _sniff_b64(data: str) -> str | None:
    try:
        head = base64.b64decode(data[:32] + "=" * (-len(data[:32]) % 4))
    except ValueError:
        return None
    return sniff_content_type(head)


def _image_summary(body: dict[str, Any], request_id: str | None, *, edit: bool) -> dict[str, Any]:
    """The image response without the base64 payloads (they are in ``images``)."""
    summary = {k: v for k, v in body.items() if k != "data"}
    items = []
    for item in body.get("data") or []:
        if not isinstance(item, dict):
            continue
        entry = dict(item)
        if isinstance(entry.get("b64_json"), str):
            entry["b64_json"] = f"<{len(entry['b64_json'])} base64 characters>"
        items.append(entry)
    summary["data"] = items
    summary["request_id"] = request_id
    summary["endpoint"] = "images/edits" if edit else "images/generations"
    return summary
