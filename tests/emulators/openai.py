"""Emulator of the OpenAI API and of Azure OpenAI (images, Sora videos, speech).

OpenAI routes (``Authorization: Bearer <OPENAI_API_KEY>``):

* ``POST /v1/images/generations`` JSON → ``{created, data: [{b64_json | url, revised_prompt?}], usage?…}``
* ``POST /v1/images/edits`` multipart (``image`` or repeated ``image[]``, ``mask``) → same
* ``POST /v1/audio/speech`` JSON → chunked audio bytes (mp3/opus/aac/flac/wav/pcm)
* ``POST /v1/videos`` multipart (``prompt, model, seconds, size, input_reference``) → video object
* ``GET /v1/videos/{id}`` → video object (queued → in_progress with ``progress`` → completed |
  failed) with an ``openai-poll-after-ms`` header
* ``GET /v1/videos/{id}/content?variant=video`` → MP4 bytes
* ``POST /v1/videos/{id}/remix`` JSON ``{prompt}`` → new video object
* ``DELETE /v1/videos/{id}`` → ``{id, object: "video.deleted", deleted: true}``

Azure OpenAI routes (``api-key: <AZURE_API_KEY>`` or ``Authorization: Bearer <AZURE_AD_TOKEN>``):

* ``POST /openai/deployments/{deployment}/images/generations|edits`` and
  ``…/audio/speech`` — need ``?api-version=`` (one of :data:`AZURE_API_VERSIONS`,
  else 404) and a known deployment (``azure_deployments``, else 404 DeploymentNotFound)
* ``/openai/v1/videos…`` — the OpenAI video routes (v1 API: no api-version needed; a
  Bearer API key is accepted too); ``model`` is the deployment name.

Errors are OpenAI-shaped: ``{"error": {"message", "type", "param", "code"}}``.
Run alone: ``python -m tests.emulators.openai --port 8080``.
"""

from __future__ import annotations

import base64
import hmac
import re
import struct
import time
import typing
import zlib
from typing import Any

import openai.types
import openai.types.audio
from aiohttp import web

from tests.emulators.harness import (
    Abort,
    Auth,
    Emulator,
    JobScript,
    JobSnapshot,
    JobState,
    ScriptedJob,
    recorded,
    route,
    run_main,
    stream_bytes,
)

OPENAI_API_KEY = "sk-openai-emulator-test-key"
AZURE_API_KEY = "azure-openai-emulator-test-key"
AZURE_AD_TOKEN = "azure-entra-emulator-test-token"
AZURE_API_VERSIONS = frozenset(
    {"2024-10-21", "2025-03-01-preview", "2025-04-01-preview", "preview"}
)

# Accepted models and values come from the installed SDK's literal types (what the real
# API's own client declares), never from the gateway's tables: openai.types.ImageModel,
# VideoModel, VideoSeconds, VideoSize and audio.SpeechModel (dated snapshots are folded
# into their base model by ``base_model``).
_IMAGE_MODELS = frozenset(typing.get_args(openai.types.ImageModel))
GPT_IMAGE = frozenset(m for m in _IMAGE_MODELS if not m.startswith("dall-e"))
DALLE = frozenset(m for m in _IMAGE_MODELS if m.startswith("dall-e"))
_VIDEO_SIZES = frozenset(typing.get_args(openai.types.VideoSize))
SORA_SIZES = {
    "sora-2": {"720x1280", "1280x720"},  # 720p only (OpenAI video generation guide)
    "sora-2-pro": set(_VIDEO_SIZES),
}
SORA_SECONDS = set(typing.get_args(openai.types.VideoSeconds))
TTS_MODELS = frozenset(typing.get_args(openai.types.audio.SpeechModel))
TTS_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
DEFAULT_AZURE_DEPLOYMENTS = {
    "gpt-image-1": "gpt-image-1",
    "img-prod": "gpt-image-1.5",
    "dalle3-eu": "dall-e-3",
    "tts-hd": "tts-1-hd",
    "speech-prod": "gpt-4o-mini-tts",
    "sora-2": "sora-2",
    "video-prod": "sora-2",
}
_STATUS = {
    JobState.QUEUED: "queued",
    JobState.RUNNING: "in_progress",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "failed",
}


def base_model(name: str) -> str:
    """A model name without its snapshot date (``sora-2-2025-10-06`` → ``sora-2``)."""
    return re.sub(r"-\d{4}-\d{2}-\d{2}$", "", name)


# ------------------------------------------------------------------------------ media


def png_bytes(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A small valid PNG (the emulator never renders full-size images)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def image_bytes(output_format: str, seed: int = 0) -> bytes:
    """Bytes of the requested format (PNG is a real image; JPEG/WebP carry their magic)."""
    if output_format == "jpeg":
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes([seed % 256]) * 32 + b"\xff\xd9"
    if output_format == "webp":
        body = b"WEBPVP8 " + bytes([seed % 256]) * 32
        return b"RIFF" + struct.pack("<I", len(body)) + body
    return png_bytes(rgb=(seed % 256, 120, 200))


def speech_bytes(response_format: str, text: str) -> bytes:
    """Deterministic audio for ``text``: 0.1 s per word at 24 kHz (real WAV/PCM samples)."""
    words = max(1, len(text.split()))
    samples = 2400 * words
    pcm = b"".join(struct.pack("<h", ((i * 37) % 2000) - 1000) for i in range(samples))
    if response_format == "pcm":
        return pcm
    if response_format == "wav":
        header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
        fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 24000, 48000, 2, 16)
        return header + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    magic = {
        "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
        "opus": b"OggS\x00\x02",
        "aac": b"\xff\xf1\x50\x80",
        "flac": b"fLaC\x00\x00\x00\x22",
    }[response_format]
    return magic + pcm[: 400 * words]


def mp4_bytes(seed: str) -> bytes:
    """A tiny ISO-BMFF blob (``ftyp`` box first, so it sniffs as video/mp4)."""
    ftyp = b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2mp41"
    payload = b"mdat" + seed.encode()[:64]
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(payload) + 4) + payload


# ------------------------------------------------------------------------------ emulator


class OpenAIEmulator(Emulator):
    name = "openai"
    api_key = OPENAI_API_KEY
    azure_api_key: str = AZURE_API_KEY
    azure_ad_token: str = AZURE_AD_TOKEN
    # Auth.with_header("api-key") makes the harness redact the Azure key in reprs.
    auth = (Auth.bearer(), Auth.with_header("api-key"))
    default_job_script = JobScript.success(queued=1, running=3, by_polls=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_after_ms: int | None = 10
        self.delete_running = "delete"  # or "reject": DELETE of an unfinished video → 400
        self.azure_deployments: dict[str, str] = dict(DEFAULT_AZURE_DEPLOYMENTS)
        self._counter = 0

    def on_reset(self) -> None:
        self.poll_after_ms = 10
        self.delete_running = "delete"
        self.azure_deployments = dict(DEFAULT_AZURE_DEPLOYMENTS)

    # -- auth + errors ----------------------------------------------------------------
    def check_auth(self, request: web.BaseRequest) -> bool:
        if self.api_key is None:
            return True
        path = request.path
        bearer = Auth.bearer().extract(request)
        if path.startswith("/openai/"):
            key = request.headers.get("api-key")
            if key is not None:
                return hmac.compare_digest(key.encode(), self.azure_api_key.encode())
            if bearer is None:
                return False
            if hmac.compare_digest(bearer.encode(), self.azure_ad_token.encode()):
                return True
            return path.startswith("/openai/v1/") and hmac.compare_digest(
                bearer.encode(), self.azure_api_key.encode()
            )
        return bearer is not None and hmac.compare_digest(bearer.encode(), self.api_key.encode())

    def unauthorized_response(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path.startswith("/openai/"):
            body = {
                "error": {
                    "code": "401",
                    "message": "Access denied due to invalid subscription key or wrong API "
                    "endpoint. Make sure to provide a valid key for an active subscription "
                    "and use a correct regional API endpoint for your resource.",
                }
            }
        else:
            body = {
                "error": {
                    "message": "Incorrect API key provided. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            }
        return web.json_response(body, status=401)

    def error_body(self, status: int, message: str) -> Any:
        kinds = {
            400: ("invalid_request_error", None),
            401: ("invalid_request_error", "invalid_api_key"),
            403: ("invalid_request_error", "unsupported_country_region_territory"),
            404: ("invalid_request_error", None),
            429: ("requests", "rate_limit_exceeded"),
        }
        kind, code = kinds.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def api_error(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ) -> Abort:
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
        return Abort(web.json_response(body, status=status, headers=self._headers()))

    def new_id(self, prefix: str = "") -> str:
        self._counter += 1
        return f"{prefix}{self._counter:04d}{super().new_id()[:20]}"

    def _headers(self) -> dict[str, str]:
        return {"x-request-id": f"req_{super().new_id()[:24]}"}

    # -- helpers ------------------------------------------------------------------------
    def _azure_deployment(self, request: web.Request) -> str:
        """Checks api-version + deployment on Azure deployment routes; returns the model."""
        version = request.query.get("api-version")
        if version not in AZURE_API_VERSIONS:
            raise Abort(
                web.json_response(
                    {"error": {"code": "404", "message": "Resource not found"}}, status=404
                )
            )
        deployment = request.match_info["deployment"]
        model = self.azure_deployments.get(deployment)
        if model is None:
            raise Abort(
                web.json_response(
                    {
                        "error": {
                            "code": "DeploymentNotFound",
                            "message": f"The API deployment {deployment} for this resource "
                            "does not exist.",
                        }
                    },
                    status=404,
                )
            )
        return model

    def _video_model(self, request: web.Request, model: str) -> str:
        if request.path.startswith("/openai/"):
            return self.azure_deployments.get(model, model)
        return model

    # -- images -------------------------------------------------------------------------
    @route("POST", "/v1/images/generations")
    @route("POST", "/openai/deployments/{deployment}/images/generations")
    async def images_generations(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json
        if not isinstance(body, dict):
            raise self.api_error(400, "We could not parse the JSON body of your request.")
        return self._images(request, body, inputs=0, has_mask=False)

    @route("POST", "/v1/images/edits")
    @route("POST", "/openai/deployments/{deployment}/images/edits")
    async def images_edits(self, request: web.Request) -> web.StreamResponse:
        rec = recorded(request)
        inputs = len(rec.file_lists.get("image", [])) + len(rec.file_lists.get("image[]", []))
        if not inputs:
            raise self.api_error(400, "Missing required parameter: 'image'.", param="image")
        params: dict[str, Any] = dict(rec.form)
        return self._images(request, params, inputs=inputs, has_mask="mask" in rec.files)

    def _images(
        self, request: web.Request, params: dict[str, Any], *, inputs: int, has_mask: bool
    ) -> web.StreamResponse:
        if request.path.startswith("/openai/"):
            model = self._azure_deployment(request)
        else:
            model = base_model(str(params.get("model") or "dall-e-2"))
        if model not in GPT_IMAGE | DALLE:
            raise self.api_error(400, f"Invalid value for 'model' = {model}.", param="model")
        prompt = params.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise self.api_error(400, "Missing required parameter: 'prompt'.", param="prompt")
        if "moderation-test" in prompt:
            raise self.api_error(
                400,
                "Your request was rejected by the safety system.",
                code="moderation_blocked",
                kind="image_generation_user_error",
            )
        n = int(params.get("n") or 1)
        gpt = model in GPT_IMAGE
        if gpt and params.get("response_format"):
            raise self.api_error(
                400,
                f"Unknown parameter: 'response_format' for {model}.",
                param="response_format",
                code="unknown_parameter",
            )
        if model == "dall-e-3" and n != 1:
            raise self.api_error(400, "dall-e-3 only supports n=1.", param="n")
        if has_mask and not inputs:
            raise self.api_error(400, "A mask needs an image.", param="mask")
        output_format = str(params.get("output_format") or "png")
        size = str(params.get("size") or "1024x1024")
        data: list[dict[str, Any]] = []
        for i in range(n):
            if gpt or params.get("response_format") == "b64_json":
                item: dict[str, Any] = {
                    "b64_json": base64.b64encode(image_bytes(output_format, seed=i)).decode()
                }
            else:
                item = {"url": self.add_file(png_bytes(rgb=(i, 10, 10)), "image/png")}
            if model == "dall-e-3":
                item["revised_prompt"] = f"A detailed rendering of: {prompt}"
            data.append(item)
        out: dict[str, Any] = {"created": int(time.time()), "data": data}
        if gpt:
            text_tokens = len(prompt.split())
            image_tokens = 323 * inputs
            output_tokens = 1056 * n
            out.update(
                background=params.get("background") or "opaque",
                output_format=output_format,
                quality=params.get("quality")
                if params.get("quality") not in (None, "auto")
                else "high",
                size=size if size != "auto" else "1024x1024",
                usage={
                    "input_tokens": text_tokens + image_tokens,
                    "input_tokens_details": {
                        "text_tokens": text_tokens,
                        "image_tokens": image_tokens,
                    },
                    "output_tokens": output_tokens,
                    "total_tokens": text_tokens + image_tokens + output_tokens,
                },
            )
        return web.json_response(out, headers=self._headers())

    # -- speech -------------------------------------------------------------------------
    @route("POST", "/v1/audio/speech")
    @route("POST", "/openai/deployments/{deployment}/audio/speech")
    async def speech(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json
        if not isinstance(body, dict):
            raise self.api_error(400, "We could not parse the JSON body of your request.")
        if request.path.startswith("/openai/"):
            model = self._azure_deployment(request)
        else:
            model = base_model(str(body.get("model")))
        if model not in TTS_MODELS:
            raise self.api_error(400, f"Invalid value for 'model' = {model}.", param="model")
        text = body.get("input")
        if not isinstance(text, str) or not text or len(text) > 4096:
            raise self.api_error(400, "'input' must be 1-4096 characters.", param="input")
        if not body.get("voice"):
            raise self.api_error(400, "Missing required parameter: 'voice'.", param="voice")
        fmt = str(body.get("response_format") or "mp3")
        if fmt not in TTS_CONTENT_TYPES:
            raise self.api_error(400, f"Invalid response_format {fmt}.", param="response_format")
        speed = body.get("speed", 1.0)
        if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
            raise self.api_error(400, "speed must be between 0.25 and 4.0.", param="speed")
        if "instructions" in body and model != "gpt-4o-mini-tts":
            raise self.api_error(400, "instructions are not supported.", param="instructions")
        audio = speech_bytes(fmt, text)
        step = max(1, len(audio) // 4)
        chunks = [audio[i : i + step] for i in range(0, len(audio), step)]
        return await stream_bytes(
            request,
            chunks,
            content_type=TTS_CONTENT_TYPES[fmt],
            interval=0.005,
            headers=self._headers(),
        )

    # -- videos -------------------------------------------------------------------------
    def video_json(self, job: ScriptedJob, snap: JobSnapshot) -> dict[str, Any]:
        meta: dict[str, Any] = job.data["meta"]
        status = _STATUS[snap.state]
        out: dict[str, Any] = {
            "id": job.id,
            "object": "video",
            "created_at": meta["created_at"],
            "completed_at": None,
            "expires_at": None,
            "model": meta["model"],
            "progress": 100 if status == "completed" else int(snap.progress),
            "prompt": meta["prompt"],
            "seconds": meta["seconds"],
            "size": meta["size"],
            "status": status,
            "error": None,
            "remixed_from_video_id": meta.get("remixed_from_video_id"),
        }
        if status == "completed":
            out["completed_at"] = meta["created_at"] + 30
            out["expires_at"] = meta["created_at"] + 86400
        if status == "failed":
            error = snap.error
            if not isinstance(error, dict):
                error = {"code": "video_generation_failed", "message": str(error or "failed")}
            out["error"] = error
        return out

    def _video_headers(self) -> dict[str, str]:
        headers = self._headers()
        if self.poll_after_ms is not None:
            headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return headers

    def _new_video(self, meta: dict[str, Any]) -> web.StreamResponse:
        job = self.create_job(payload=meta, job_id=self.new_id("video_"))
        job.data["meta"] = {**meta, "created_at": int(time.time())}
        job.data["content"] = mp4_bytes(job.id)
        return web.json_response(self.video_json(job, job.peek()), headers=self._video_headers())

    @route("GET", "/v1/videos")
    @route("GET", "/openai/v1/videos")
    async def list_videos(self, request: web.Request) -> web.StreamResponse:
        """``GET /videos`` (newest first with ``order=desc``, the default), one page."""
        limit = max(1, min(100, int(request.query.get("limit", "20"))))
        jobs = [j for j in self.jobs.values() if "meta" in j.data]
        jobs.sort(key=lambda j: j.data["meta"]["created_at"], reverse=True)
        if request.query.get("order") == "asc":
            jobs.reverse()
        data = [self.video_json(job, job.peek()) for job in jobs[:limit]]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(jobs) > limit,
            }
        )

    @route("POST", "/v1/videos")
    @route("POST", "/openai/v1/videos")
    async def create_video(self, request: web.Request) -> web.StreamResponse:
        rec = recorded(request)
        if not rec.content_type.startswith("multipart/form-data"):
            raise self.api_error(400, "Expected multipart/form-data.")
        form = rec.form
        prompt = form.get("prompt")
        if not prompt:
            raise self.api_error(400, "Missing required parameter: 'prompt'.", param="prompt")
        model = form.get("model", "sora-2")
        family = base_model(self._video_model(request, model))
        if family not in SORA_SIZES:
            raise self.api_error(400, f"Invalid value for 'model' = {model}.", param="model")
        seconds = form.get("seconds", "4")
        if seconds not in SORA_SECONDS:
            raise self.api_error(400, f"Invalid value for 'seconds' = {seconds}.", param="seconds")
        size = form.get("size", "720x1280")
        if size not in SORA_SIZES[family]:
            raise self.api_error(400, f"Invalid value for 'size' = {size}.", param="size")
        if "moderation-test" in prompt:
            raise self.api_error(
                400,
                "Your request was blocked by our moderation system.",
                code="moderation_blocked",
                param="prompt",
            )
        reference = rec.files.get("input_reference")
        return self._new_video(
            {
                "model": model,
                "prompt": prompt,
                "seconds": seconds,
                "size": size,
                "input_reference": reference.size if reference else None,
            }
        )

    def _job(self, request: web.Request) -> ScriptedJob:
        video_id = request.match_info["video_id"]
        job = self.jobs.get(video_id)
        if job is None:
            raise self.api_error(404, f"Video with id '{video_id}' not found.", param="video_id")
        return job

    @route("GET", "/v1/videos/{video_id}")
    @route("GET", "/openai/v1/videos/{video_id}")
    async def retrieve_video(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        return web.json_response(
            self.video_json(job, job.snapshot()), headers=self._video_headers()
        )

    @route("GET", "/v1/videos/{video_id}/content")
    @route("GET", "/openai/v1/videos/{video_id}/content")
    async def video_content(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job.peek().state is not JobState.SUCCEEDED:
            raise self.api_error(400, "Video is not ready yet.", code="video_not_ready")
        variant = request.query.get("variant", "video")
        if variant == "thumbnail":
            return web.Response(body=png_bytes(), content_type="image/png", headers=self._headers())
        return web.Response(
            body=job.data["content"], content_type="video/mp4", headers=self._headers()
        )

    @route("POST", "/v1/videos/{video_id}/remix")
    @route("POST", "/openai/v1/videos/{video_id}/remix")
    async def remix_video(self, request: web.Request) -> web.StreamResponse:
        source = self._job(request)
        body = recorded(request).json
        if not isinstance(body, dict) or not body.get("prompt"):
            raise self.api_error(400, "Missing required parameter: 'prompt'.", param="prompt")
        if source.peek().state is not JobState.SUCCEEDED:
            raise self.api_error(400, "Only completed videos can be remixed.", param="video_id")
        meta = dict(source.data["meta"])
        meta.update(prompt=body["prompt"], remixed_from_video_id=source.id)
        return self._new_video(meta)

    @route("DELETE", "/v1/videos/{video_id}")
    @route("DELETE", "/openai/v1/videos/{video_id}")
    async def delete_video(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if not job.peek().done:
            if self.delete_running == "reject":
                raise self.api_error(400, "Video is still being generated.", param="video_id")
            job.cancel()
        del self.jobs[job.id]
        return web.json_response(
            {"id": job.id, "object": "video.deleted", "deleted": True}, headers=self._headers()
        )


def video_failure(code: str, message: str = "generation failed", **extra: Any) -> dict[str, Any]:
    """The ``error`` object of a failed video (for ``JobScript.failure``)."""
    return {"code": code, "message": message, **extra}


def openai_error(
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    kind: str = "invalid_request_error",
) -> dict[str, Any]:
    """An OpenAI error body (for ``inject_status(..., body=openai_error(...))``)."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


if __name__ == "__main__":
    run_main(OpenAIEmulator)
