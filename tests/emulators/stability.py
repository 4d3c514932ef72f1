"""Emulator of Stability AI's Stable Image generate API (REST v2beta), on the shared harness.

Wire protocol:

* ``POST /v2beta/stable-image/generate/{ultra|core|sd3}`` — **multipart/form-data only**
  (a urlencoded or JSON body is a 400, like the real API), ``Authorization: Bearer <key>``.
  Fields are checked per endpoint (unknown fields, ranges, enums, ``image`` needs
  ``strength``, sd3 ``mode``/``model``) and answered with 400 bodies
  ``{"id", "name": "bad_request", "errors": ["<field>: <problem>", ...]}``.
* ``Accept: image/*`` (default) → the image bytes (``image/<output_format>``) with
  response headers ``finish-reason`` (``SUCCESS`` | ``CONTENT_FILTERED``), ``seed`` and
  ``x-request-id``; ``Accept: application/json`` → ``{"image": <base64>,
  "finish_reason", "seed"}`` with ``Content-Type: application/json; type=image/<fmt>``.
* A prompt containing one of ``moderated_words`` → 403 ``{"name": "content_moderation"}``;
  ``finish_reason = "CONTENT_FILTERED"`` makes the next generations come back filtered (200).
* A missing/wrong key → 401 ``{"id", "name": "unauthorized", "errors": [...]}``.

Run it alone: ``python -m tests.emulators.stability --port 8080``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from aiohttp import web

from tests.emulators.harness import Auth, Emulator, RecordedRequest, recorded, route, run_main

STABILITY_API_KEY = "sk-stability-test-key"

ASPECT_RATIOS = {"16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"}
STYLE_PRESETS = {
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
}
SD3_MODELS = {"sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash"}
COMMON_FIELDS = {
    "prompt",
    "negative_prompt",
    "aspect_ratio",
    "seed",
    "style_preset",
    "output_format",
}
ENDPOINT_FIELDS = {
    "ultra": COMMON_FIELDS | {"image", "strength"},
    "core": set(COMMON_FIELDS),
    "sd3": COMMON_FIELDS | {"image", "strength", "mode", "model", "cfg_scale"},
}
ENDPOINT_FORMATS = {
    "ultra": {"png", "jpeg", "webp"},
    "core": {"png", "jpeg", "webp"},
    "sd3": {"png", "jpeg"},
}
_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
_MAGIC = {
    "png": b"\x89PNG\r\n\x1a\n",
    "jpeg": b"\xff\xd8\xff\xe0",
    "webp": b"RIFF\x00\x00\x00\x00WEBP",
}


def fake_image(fmt: str, tag: str) -> bytes:
    """Bytes that sniff as ``image/<fmt>`` and identify the generation."""
    return _MAGIC[fmt] + b"STABILITY-EMULATOR:" + tag.encode()


class StabilityEmulator(Emulator):
    name = "stability"
    api_key = STABILITY_API_KEY
    auth = (Auth.bearer(),)

    finish_reason: str = "SUCCESS"
    moderated_words: tuple[str, ...] = ("forbidden-content",)

    def on_reset(self) -> None:
        self.finish_reason = "SUCCESS"

    def error_body(self, status: int, message: str) -> Any:
        return {"id": self.new_id(), "name": _NAMES.get(status, "error"), "errors": [message]}

    def unauthorized_response(self, request: web.BaseRequest) -> web.StreamResponse:
        return web.json_response(
            {
                "id": self.new_id(),
                "name": "unauthorized",
                "errors": ["authorization: invalid or missing API key"],
            },
            status=401,
        )

    def bad_request(self, errors: list[str], status: int = 400) -> web.Response:
        return web.json_response(
            {"id": self.new_id(), "name": _NAMES.get(status, "bad_request"), "errors": errors},
            status=status,
        )

    # -- validation --------------------------------------------------------------------
    def validate(self, endpoint: str, rec: RecordedRequest) -> list[str]:
        form, files = rec.form, rec.files
        errors: list[str] = []
        allowed = ENDPOINT_FIELDS[endpoint]
        for name in sorted(set(form) | set(files)):
            if name not in allowed:
                errors.append(f"{name}: unknown field for /{endpoint}")
        prompt = form.get("prompt", "")
        if not prompt.strip():
            errors.append("prompt: is required")
        elif len(prompt) > 10000:
            errors.append("prompt: must be at most 10000 characters")
        if len(form.get("negative_prompt", "")) > 10000:
            errors.append("negative_prompt: must be at most 10000 characters")
        if "aspect_ratio" in form and form["aspect_ratio"] not in ASPECT_RATIOS:
            errors.append(f"aspect_ratio: must be one of {sorted(ASPECT_RATIOS)}")
        if "style_preset" in form and form["style_preset"] not in STYLE_PRESETS:
            errors.append("style_preset: unknown preset")
        fmt = form.get("output_format", "png")
        if fmt not in ENDPOINT_FORMATS[endpoint]:
            errors.append(f"output_format: must be one of {sorted(ENDPOINT_FORMATS[endpoint])}")
        if "seed" in form:
            try:
                seed = int(form["seed"])
            except ValueError:
                seed = -1
            if not 0 <= seed <= 4294967294:
                errors.append("seed: must be an integer in [0, 4294967294]")
        has_image = "image" in files
        if "image" in form:
            errors.append("image: must be a file")
        if has_image and "strength" not in form:
            errors.append("strength: is required when image is provided")
        if "strength" in form:
            try:
                strength = float(form["strength"])
            except ValueError:
                strength = -1.0
            if not 0.0 <= strength <= 1.0:
                errors.append("strength: must be a number in [0, 1]")
        if endpoint == "sd3":
            mode = form.get("mode", "text-to-image")
            if mode not in ("text-to-image", "image-to-image"):
                errors.append("mode: must be text-to-image or image-to-image")
            if (mode == "image-to-image") != has_image:
                errors.append("mode: image-to-image requires image (and only then)")
            if form.get("model", "sd3.5-large") not in SD3_MODELS:
                errors.append(f"model: must be one of {sorted(SD3_MODELS)}")
            if "cfg_scale" in form and not 1.0 <= float(form["cfg_scale"]) <= 10.0:
                errors.append("cfg_scale: must be in [1, 10]")
        return errors

    # -- handler -----------------------------------------------------------------------
    @route("POST", "/v2beta/stable-image/generate/{endpoint}")
    async def generate(self, request: web.Request) -> web.StreamResponse:
        rec = recorded(request)
        endpoint = request.match_info["endpoint"]
        if endpoint not in ENDPOINT_FIELDS:
            return self.error_response(404, f"no such endpoint: {endpoint}")
        if not rec.content_type.lower().startswith("multipart/form-data"):
            return self.bad_request(["content-type: must be multipart/form-data"])
        errors = self.validate(endpoint, rec)
        if errors:
            return self.bad_request(errors)
        prompt = rec.form["prompt"]
        if any(word in prompt.lower() for word in self.moderated_words):
            return web.json_response(
                {
                    "id": self.new_id(),
                    "name": "content_moderation",
                    "errors": ["Your request was flagged by our content moderation system"],
                },
                status=403,
            )
        seed = int(rec.form.get("seed", "0")) or (
            int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") % 4294967294
        )
        fmt = rec.form.get("output_format", "png")
        model = rec.form.get("model", "sd3.5-large") if endpoint == "sd3" else endpoint
        data = fake_image(fmt, f"{model}:{seed}")
        request_id = self.new_id()
        accept = request.headers.get("Accept", "image/*").lower()
        if "application/json" in accept:
            body = {
                "image": base64.b64encode(data).decode(),
                "finish_reason": self.finish_reason,
                "seed": seed,
            }
            return web.Response(
                body=json.dumps(body).encode(),
                headers={
                    "Content-Type": f"application/json; type=image/{fmt}",
                    "x-request-id": request_id,
                },
            )
        if accept not in ("image/*", f"image/{fmt}", "*/*"):
            return self.bad_request([f"accept: must be image/* or application/json, got {accept}"])
        return web.Response(
            body=data,
            headers={
                "Content-Type": f"image/{fmt}",
                "finish-reason": self.finish_reason,
                "seed": str(seed),
                "x-request-id": request_id,
            },
        )


if __name__ == "__main__":
    run_main(StabilityEmulator)
