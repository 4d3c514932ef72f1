"""Local emulator of Runway's developer API (what the official ``runwayml`` SDK talks to).

Wire protocol (bearer auth, ``X-Runway-Version: 2024-11-06`` required, camelCase JSON,
errors ``{"error": "..."}``; body validation errors add zod-style ``issues``):

* ``POST /v1/text_to_video`` ``{"model", "promptText", "ratio", "duration", ...}`` → ``{"id"}``
* ``POST /v1/image_to_video`` ``{"model", "promptImage": uri | [{uri, position}], ...}``
* ``POST /v1/text_to_image`` ``{"model", "promptText", "ratio", "referenceImages"?, ...}``
* ``GET /v1/tasks/{id}`` → ``PENDING`` / ``THROTTLED`` (while queued behind others) /
  ``RUNNING`` (``progress`` 0..1) with ``estimatedCost``, then ``SUCCEEDED`` (``output``
  URLs) / ``FAILED`` (``failure``, ``failureCode``) / ``CANCELLED`` with ``cost``
* ``DELETE /v1/tasks/{id}`` → 204 (cancels a running task)
* ``POST /v1/uploads`` ``{"filename", "type": "ephemeral"}`` → ``{uploadUrl, fields,
  runwayUri}``; the upload itself is the multipart ``POST`` to ``uploadUrl`` (served here
  too, without auth, like a presigned storage URL) with ``fields`` + ``file``.

Accepted models are the installed SDK's (:func:`sdk_models`); a test that plays "Runway
launched a model after our catalog" admits one explicitly with :meth:`RunwayEmulator.add_model`
(cleared on reset).

Credits: ``duration * 10`` for video (``5 * 10`` when no duration), ``8`` per image task;
``job.data["credits"]`` overrides. A job script's ``error`` may be a string (the
``failure``) or ``{"failure": ..., "failureCode": ...}``.

Run it alone: ``python -m tests.emulators.runway --port 8080``.
"""

from __future__ import annotations

import importlib
import typing
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

import typing_extensions as te
from aiohttp import web

from tarash.tarash_gateway.providers.mock.media import make_mp4, make_png
from tests.emulators.harness import (
    Auth,
    Emulator,
    JobScript,
    JobSnapshot,
    JobState,
    RecordedFile,
    ScriptedJob,
    recorded,
    route,
    run_main,
)

RUNWAY_API_KEY = "key_" + "0123456789abcdef" * 8
RUNWAY_VERSION = "2024-11-06"
_TASK_ENDPOINTS = ("text_to_video", "image_to_video", "text_to_image")
_SNAKE_KEYS = ("prompt_text", "prompt_image", "reference_images", "negative_prompt")
_SDK_PARAMS = {
    "text_to_video": ("text_to_video_create_params", "TextToVideoCreateParams"),
    "image_to_video": ("image_to_video_create_params", "ImageToVideoCreateParams"),
    "text_to_image": ("text_to_image_create_params", "TextToImageCreateParams"),
}


def _literals(tp: Any) -> tuple[Any, ...]:
    if te.get_origin(tp) in (typing.Literal, te.Literal):
        return te.get_args(tp)
    return tuple(v for arg in te.get_args(tp) for v in _literals(arg))


@cache
def sdk_models(endpoint: str) -> dict[str, dict[str, Any]]:
    """Per model of an endpoint, from the installed runwayml SDK's TypedDicts: the wire
    names of its ``Required`` keys and its ``ratio`` literal (what the real API checks)."""
    module, union = _SDK_PARAMS[endpoint]
    mod = importlib.import_module(f"runwayml.types.{module}")
    out: dict[str, dict[str, Any]] = {}
    for td in te.get_args(getattr(mod, union)):
        hints = typing.get_type_hints(td, include_extras=True)
        (model,) = _literals(hints["model"])
        required = set()
        for key, hint in hints.items():
            if te.get_origin(hint) is not te.Required or key == "model":
                continue
            alias = next(
                (
                    getattr(m, "alias", None)
                    for m in getattr(te.get_args(hint)[0], "__metadata__", ())
                ),
                None,
            )
            required.add(alias or key)
        ratios = _literals(hints["ratio"]) if "ratio" in hints else ()
        out[model] = {
            "required": required,
            "ratios": tuple(r for r in ratios if isinstance(r, str)),
        }
    return out


@cache
def sample_video() -> bytes:
    return make_mp4(32, 32, 0.5)


@cache
def sample_image() -> bytes:
    return make_png(16, 16, seed=3)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class RunwayEmulator(Emulator):
    """Runway tasks, ephemeral uploads and ``{"error": ...}`` bodies on 127.0.0.1."""

    name = "runway"
    api_key = RUNWAY_API_KEY
    auth = (Auth.bearer(),)
    public_paths = (r"^/__files__/", r"^/__health__$", r"^/__uploads__/")
    default_job_script = JobScript.success(queued=0.05, running=0.15)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.uploads: dict[str, dict[str, Any]] = {}
        self.extra_models: dict[str, dict[str, dict[str, Any]]] = {}

    def add_model(
        self,
        model: str,
        endpoints: tuple[str, ...] = ("text_to_video", "image_to_video"),
        *,
        required: tuple[str, ...] = (),
        ratios: tuple[str, ...] = (),
    ) -> None:
        """Admit a model the installed SDK does not list, on ``endpoints``, with the wire
        names of its required keys and its ratio literal (empty: any ratio)."""
        unknown = sorted(set(endpoints) - set(_TASK_ENDPOINTS))
        if unknown:
            raise ValueError(f"unknown Runway endpoint(s) {unknown}; known: {_TASK_ENDPOINTS}")
        for endpoint in endpoints:
            self.extra_models.setdefault(endpoint, {})[model] = {
                "required": set(required),
                "ratios": tuple(ratios),
            }

    def accepted_models(self, endpoint: str) -> dict[str, dict[str, Any]]:
        """The SDK's models of ``endpoint`` plus those a test admitted."""
        return {**sdk_models(endpoint), **self.extra_models.get(endpoint, {})}

    def on_reset(self) -> None:
        self.uploads.clear()
        self.extra_models.clear()

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def bad_request(self, message: str, issues: list[dict[str, Any]] | None = None) -> web.Response:
        body: dict[str, Any] = {"error": message}
        if issues:
            body["issues"] = issues
        return web.json_response(body, status=400)

    def _check_version(self, request: web.Request) -> web.Response | None:
        got = request.headers.get("X-Runway-Version")
        if got != RUNWAY_VERSION:
            return self.bad_request(
                f"API version {got!r} is not supported; send X-Runway-Version: {RUNWAY_VERSION}"
            )
        return None

    # -- wire format -------------------------------------------------------------------
    def default_output(self, job: ScriptedJob) -> list[str]:
        if job.payload["endpoint"] == "text_to_image":
            return [self.add_file(sample_image(), "image/png", filename="image.png")]
        return [self.add_file(sample_video(), "video/mp4", filename="video.mp4")]

    def credits(self, job: ScriptedJob) -> int:
        if "credits" in job.data:
            return int(job.data["credits"])
        if job.payload["endpoint"] == "text_to_image":
            return 8
        return int(job.payload["body"].get("duration") or 5) * 10

    def task_json(self, job: ScriptedJob, snap: JobSnapshot) -> dict[str, Any]:
        out: dict[str, Any] = {"id": job.id, "createdAt": job.data["created_at"]}
        credits = self.credits(job)
        if snap.state is JobState.QUEUED:
            out["status"] = "THROTTLED" if (snap.queue_position or 0) > 0 else "PENDING"
            out["estimatedCost"] = {"credits": credits}
        elif snap.state is JobState.RUNNING:
            out["status"] = "RUNNING"
            out["progress"] = round(snap.progress / 100.0, 3)
            out["estimatedCost"] = {"credits": credits}
        elif snap.state is JobState.SUCCEEDED:
            out["status"] = "SUCCEEDED"
            if "output" not in job.data:
                job.data["output"] = (
                    snap.result if snap.result is not None else self.default_output(job)
                )
            out["output"] = job.data["output"]
            out["cost"] = {"credits": credits}
        elif snap.state is JobState.FAILED:
            out["status"] = "FAILED"
            error = snap.error
            if isinstance(error, dict):
                out["failure"] = str(error.get("failure", "generation failed"))
                if error.get("failureCode"):
                    out["failureCode"] = str(error["failureCode"])
            else:
                out["failure"] = str(error)
            out["cost"] = {"credits": 0}
        else:
            out["status"] = "CANCELLED"
            out["cost"] = {"credits": 0}
        return out

    # -- tasks -------------------------------------------------------------------------
    async def _create(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        bad = self._check_version(request)
        if bad is not None:
            return bad
        body = recorded(request).json
        if not isinstance(body, dict):
            return self.bad_request("Request body must be a JSON object")
        issues: list[dict[str, Any]] = []
        snake = [key for key in _SNAKE_KEYS if key in body]
        for key in snake:
            issues.append({"code": "unrecognized_keys", "path": [key], "message": "Unknown key"})
        if not isinstance(body.get("model"), str):
            issues.append({"code": "invalid_type", "path": ["model"], "message": "Required"})
        if endpoint == "image_to_video":
            if not body.get("promptImage"):
                issues.append(
                    {"code": "invalid_type", "path": ["promptImage"], "message": "Required"}
                )
        elif not isinstance(body.get("promptText"), str) or not body["promptText"]:
            issues.append({"code": "invalid_type", "path": ["promptText"], "message": "Required"})
        model = body.get("model")
        known = self.accepted_models(endpoint)
        if isinstance(model, str) and model not in known:
            issues.append(
                {
                    "code": "invalid_union_discriminator",
                    "path": ["model"],
                    "message": f"Invalid discriminator value. Expected {' | '.join(known)}",
                }
            )
        elif isinstance(model, str):
            spec = known[model]
            for key in sorted(spec["required"]):
                if key not in body and not any(key in i["path"] for i in issues):
                    issues.append({"code": "invalid_type", "path": [key], "message": "Required"})
            ratio = body.get("ratio")
            if ratio is not None and spec["ratios"] and ratio not in spec["ratios"]:
                issues.append(
                    {
                        "code": "invalid_enum_value",
                        "path": ["ratio"],
                        "message": "Invalid enum value",
                    }
                )
        if issues:
            return self.bad_request("Validation of body failed", issues)
        job = self.create_job(
            payload={"endpoint": endpoint, "body": body}, job_id=str(uuid.uuid4())
        )
        job.data["created_at"] = _now()
        return web.json_response({"id": job.id})

    @route("POST", "/v1/text_to_video")
    async def text_to_video(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "text_to_video")

    @route("POST", "/v1/image_to_video")
    async def image_to_video(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "image_to_video")

    @route("POST", "/v1/text_to_image")
    async def text_to_image(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "text_to_image")

    @route("GET", "/v1/tasks/{task_id}")
    async def get_task(self, request: web.Request) -> web.StreamResponse:
        bad = self._check_version(request)
        if bad is not None:
            return bad
        job = self.jobs.get(request.match_info["task_id"])
        if job is None or job.data.get("deleted"):
            return self.error_response(404, "Task not found")
        return web.json_response(self.task_json(job, job.snapshot()))

    @route("DELETE", "/v1/tasks/{task_id}")
    async def delete_task(self, request: web.Request) -> web.StreamResponse:
        bad = self._check_version(request)
        if bad is not None:
            return bad
        job = self.jobs.get(request.match_info["task_id"])
        if job is None or job.data.get("deleted"):
            return self.error_response(404, "Task not found")
        if not job.cancel():
            job.data["deleted"] = True
        return web.Response(status=204)

    # -- uploads -----------------------------------------------------------------------
    @route("POST", "/v1/uploads")
    async def create_upload(self, request: web.Request) -> web.StreamResponse:
        bad = self._check_version(request)
        if bad is not None:
            return bad
        body = recorded(request).json
        if not isinstance(body, dict) or not isinstance(body.get("filename"), str):
            return self.bad_request(
                "Validation of body failed",
                [{"code": "invalid_type", "path": ["filename"], "message": "Required"}],
            )
        if body.get("type") != "ephemeral":
            return self.bad_request("Only ephemeral uploads are supported")
        upload_id = uuid.uuid4().hex
        fields = {"key": f"uploads/{upload_id}/{body['filename']}", "policy": "emulated-policy"}
        self.uploads[upload_id] = {"filename": body["filename"], "fields": fields, "file": None}
        return web.json_response(
            {
                "uploadUrl": self.url(f"/__uploads__/{upload_id}"),
                "fields": fields,
                "runwayUri": f"runway://uploads/{upload_id}/{body['filename']}",
            }
        )

    @route("POST", "/__uploads__/{upload_id}")
    async def receive_upload(self, request: web.Request) -> web.StreamResponse:
        upload = self.uploads.get(request.match_info["upload_id"])
        if upload is None:
            return web.Response(status=404, text="NoSuchUpload")
        rec = recorded(request)
        if any(rec.form.get(key) != value for key, value in upload["fields"].items()):
            return web.Response(status=403, text="policy fields missing or altered")
        file: RecordedFile | None = rec.files.get("file")
        if file is None:
            return web.Response(status=400, text="multipart field 'file' is required")
        upload["file"] = file
        return web.Response(status=204)


if __name__ == "__main__":
    run_main(RunwayEmulator)
