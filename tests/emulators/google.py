"""Emulator of Google's generative media APIs: the Gemini API and Vertex AI (Agent Platform).

Wire protocol (what ``google-genai`` 3.x sends; any ``/v1*/`` version prefix is accepted):

Gemini API (``x-goog-api-key``)

* ``POST /{v}/models/{model}:generateContent`` — Gemini image models; answers a
  candidate with a text part and an ``inlineData`` PNG (or a queued override).
* ``POST /{v}/models/{model}:predict`` — Imagen ``{"instances":[{"prompt"}],
  "parameters":{...}}`` → ``{"predictions":[{"bytesBase64Encoded","mimeType"}]}``.
* ``POST /{v}/models/{model}:predictLongRunning`` — Veo → ``{"name":
  "models/{model}/operations/{id}"}``.
* ``GET /{v}/models/{model}/operations/{id}`` — ``{"name"}`` while running; done:
  ``{"name","done":true,"response":{"generateVideoResponse":{"generatedSamples":
  [{"video":{"uri":"https://generativelanguage.googleapis.com/v1beta/files/{fid}:download?alt=media"}}]}}}``
  (the SDK rebuilds the download URL from its base URL and the file id).
* ``GET /{v}/files/{fid}:download?alt=media`` — the video bytes.

Vertex AI (``x-goog-api-key`` in express mode, or ``Authorization: Bearer`` with
``projects/{p}/locations/{l}/`` in the path)

* ``POST /{v}/[projects/{p}/locations/{l}/]publishers/google/models/{model}:generateContent``
* ``POST …:predict`` (Imagen; ``gcsUri`` outputs when ``storageUri`` is given)
* ``POST …:predictLongRunning`` (Veo) → ``{"name": "projects/…/operations/{id}"}``
* ``POST …:fetchPredictOperation`` ``{"operationName"}`` → ``{"name","done":false}`` /
  ``{"name","done":true,"response":{"videos":[{"bytesBase64Encoded","mimeType"} |
  {"gcsUri","mimeType"}], "raiMediaFilteredCount"?, "raiMediaFilteredReasons"?}}``

Errors are ``{"error":{"code","message","status"}}``. A request without a key gets
403 PERMISSION_DENIED; a wrong key gets 400 INVALID_ARGUMENT with an
``API_KEY_INVALID`` ErrorInfo on the Gemini API and 401 UNAUTHENTICATED on Vertex.

Veo operations follow the emulator's :class:`JobScript` (``job_script`` /
``next_job_script``): a ``failure`` script ends in ``{"done":true,"error": <script
error>}``; a ``success`` script's ``result`` may hold ``{"rai_filtered": n,
"reasons": [...]}`` to filter n of the videos. Queue raw ``generateContent``
answers with ``content_responses.append(...)`` (see :func:`blocked_prompt` and
:func:`finished_without_image`) and set ``imagen_filtered`` to filter Imagen outputs.

Run it alone: ``python -m tests.emulators.google --port 8080``.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from typing import Any

from aiohttp import web

from tarash.tarash_gateway.providers.mock.media import make_png
from tests.emulators.harness import (
    Auth,
    Emulator,
    JobScript,
    JobState,
    ScriptedJob,
    recorded,
    route,
    run_main,
)

GOOGLE_API_KEY = "google-test-key"
GEMINI_FILES_HOST = "https://generativelanguage.googleapis.com"
DEFAULT_PROJECT = "emulator-project"
DEFAULT_LOCATION = "us-central1"

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_V = r"/(?P<version>v1[a-z0-9]*)"
_GEMINI_CALL = re.compile(
    _V + r"/models/(?P<model>[^/:]+):(?P<method>generateContent|predict|predictLongRunning)$"
)
_VERTEX_CALL = re.compile(
    _V + r"/(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"publishers/google/models/(?P<model>[^/:]+)"
    r":(?P<method>generateContent|predict|predictLongRunning|fetchPredictOperation)$"
)
_GEMINI_OPERATION = re.compile(_V + r"/models/(?P<model>[^/]+)/operations/(?P<op>[^/]+)$")
_FILE_DOWNLOAD = re.compile(_V + r"/files/(?P<file>[a-z0-9]+):download$")

PNG = make_png(16, 16, seed=7)
PNG_B64 = base64.b64encode(PNG).decode("ascii")


def video_bytes(job_id: str, index: int) -> bytes:
    """The bytes the emulator produces for video ``index`` of Veo job ``job_id``."""
    return b"\x00\x00\x00\x18ftypmp42" + f"veo:{job_id}:{index}".encode()


def blocked_prompt(reason: str = "SAFETY", message: str | None = None) -> dict[str, Any]:
    """A ``generateContent`` answer for a prompt blocked before generation (HTTP 200)."""
    feedback: dict[str, Any] = {"blockReason": reason}
    if message:
        feedback["blockReasonMessage"] = message
    return {"promptFeedback": feedback, "usageMetadata": {"promptTokenCount": 7}}


def finished_without_image(
    finish_reason: str = "IMAGE_SAFETY", text: str | None = None
) -> dict[str, Any]:
    """A candidate that stopped without an image (``finishReason`` tells why)."""
    parts = [{"text": text}] if text else []
    candidate: dict[str, Any] = {"finishReason": finish_reason, "index": 0}
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
    return {"candidates": [candidate], "usageMetadata": {"promptTokenCount": 7}}


class GoogleEmulator(Emulator):
    name = "google"
    api_key = GOOGLE_API_KEY
    auth = (Auth.with_header("x-goog-api-key"), Auth.bearer())
    default_job_script = JobScript.success(queued=0.05, running=0.15)

    def on_reset(self) -> None:
        self.content_responses: deque[dict[str, Any]] = deque()
        self.imagen_filtered = 0
        self.imagen_filter_reason = (
            "Your current safety filter threshold filtered out 1 generated image. "
            "Support codes: 58061214"
        )
        self.gemini_files: dict[str, bytes] = {}
        self.unknown_models: set[str] = set()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_reset()

    # -- errors ------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        return {
            "error": {
                "code": status,
                "message": message,
                "status": STATUS_NAMES.get(status, "UNKNOWN"),
            }
        }

    def unauthorized_response(self, request: web.BaseRequest) -> web.StreamResponse:
        sent = request.headers.get("x-goog-api-key") or request.headers.get("Authorization")
        if not sent:
            return self.error_response(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if "/publishers/" in request.path:
            return self.error_response(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
            )
        body = {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            }
        }
        return web.json_response(body, status=400)

    # -- routing -----------------------------------------------------------------------
    @route("POST", "/{path:.*}")
    async def post(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        match = _GEMINI_CALL.match(path)
        api = "gemini"
        if match is None:
            match = _VERTEX_CALL.match(path)
            api = "vertex"
        if match is None:
            return self.error_response(404, f"Method not found: POST {path}")
        model, method = match["model"], match["method"]
        if model in self.unknown_models:
            return self.error_response(
                404,
                f"models/{model} is not found for API version {match['version']}, or is not "
                "supported for this method.",
            )
        body = recorded(request).json
        if not isinstance(body, dict):
            return self.error_response(400, "Invalid JSON payload received.")
        groups = match.groupdict()
        if method == "generateContent":
            return self.generate_content(body)
        if method == "predict":
            return self.predict(body, api)
        if method == "predictLongRunning":
            return self.predict_long_running(body, api, model, groups)
        return self.fetch_predict_operation(body)

    @route("GET", "/{path:.*}")
    async def get(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        match = _GEMINI_OPERATION.match(path)
        if match is not None:
            job = self.get_job(match["op"])
            return web.json_response(self.operation_json(job))
        match = _FILE_DOWNLOAD.match(path)
        if match is not None:
            if request.query.get("alt") != "media":
                return self.error_response(400, "alt=media is required to download")
            data = self.gemini_files.get(match["file"])
            if data is None:
                return self.error_response(404, f"File files/{match['file']} not found.")
            return web.Response(body=data, content_type="video/mp4")
        return self.error_response(404, f"Method not found: GET {path}")

    # -- generateContent -----------------------------------------------------------------
    def generate_content(self, body: dict[str, Any]) -> web.StreamResponse:
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return self.error_response(
                400, "* GenerateContentRequest.contents: contents is not specified"
            )
        if self.content_responses:
            return web.json_response(self.content_responses.popleft())
        parts = [p for c in contents for p in c.get("parts", [])]
        inputs = sum(1 for p in parts if "inlineData" in p or "inline_data" in p)
        text = f"Here is the image you asked for ({inputs} input image(s))."
        return web.json_response(
            {
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [
                                {"text": "planning the picture", "thought": True},
                                {
                                    "inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="},
                                    "thought": True,
                                },
                                {"text": text},
                                {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
                            ],
                        },
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": 12,
                    "candidatesTokenCount": 1290,
                    "totalTokenCount": 1302,
                },
                "modelVersion": "emulated",
            }
        )

    # -- Imagen ----------------------------------------------------------------------------
    def predict(self, body: dict[str, Any], api: str) -> web.StreamResponse:
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances or "prompt" not in instances[0]:
            return self.error_response(400, "instances[0].prompt is required")
        params = body.get("parameters") or {}
        count = int(params.get("sampleCount", 4))
        if not 1 <= count <= 4:
            return self.error_response(400, "sampleCount must be between 1 and 4")
        storage = params.get("storageUri") if api == "vertex" else None
        mime = (params.get("outputOptions") or {}).get("mimeType", "image/png")
        predictions: list[dict[str, Any]] = []
        for index in range(count):
            if index >= count - self.imagen_filtered:
                if params.get("includeRaiReason"):
                    predictions.append({"raiFilteredReason": self.imagen_filter_reason})
                continue
            if storage:
                item: dict[str, Any] = {"gcsUri": f"{storage}/sample_{index}.png", "mimeType": mime}
            else:
                item = {"bytesBase64Encoded": PNG_B64, "mimeType": mime}
            if params.get("enhancePrompt"):
                item["prompt"] = f"{instances[0]['prompt']}, highly detailed"
            predictions.append(item)
        if params.get("includeSafetyAttributes"):
            predictions.append(
                {
                    "contentType": "Positive Prompt",
                    "safetyAttributes": {"categories": ["Violence"], "scores": [0.1]},
                }
            )
        return web.json_response({"predictions": predictions} if predictions else {})

    # -- Veo -------------------------------------------------------------------------------
    def predict_long_running(
        self, body: dict[str, Any], api: str, model: str, groups: dict[str, str | None]
    ) -> web.StreamResponse:
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances:
            return self.error_response(400, "instances is required")
        if not isinstance(instances[0].get("prompt"), str):
            return self.error_response(400, "instances[0].prompt must be a string")
        job = self.create_job(payload=body, job_id=self.new_id())
        params = body.get("parameters") or {}
        job.data.update(
            api=api,
            model=model,
            count=int(params.get("sampleCount", 1)),
            storage=params.get("storageUri"),
        )
        if api == "gemini":
            name = f"models/{model}/operations/{job.id}"
        else:
            project = groups.get("project") or DEFAULT_PROJECT
            location = groups.get("location") or DEFAULT_LOCATION
            name = (
                f"projects/{project}/locations/{location}/publishers/google/models/{model}"
                f"/operations/{job.id}"
            )
        job.data["name"] = name
        return web.json_response({"name": name})

    def fetch_predict_operation(self, body: dict[str, Any]) -> web.StreamResponse:
        name = body.get("operationName")
        if not isinstance(name, str) or "/operations/" not in name:
            return self.error_response(400, "operationName is required")
        job = self.get_job(name.rsplit("/operations/", 1)[1])
        return web.json_response(self.operation_json(job))

    def new_id(self, prefix: str = "") -> str:
        return prefix + super().new_id()[:20]

    def operation_json(self, job: ScriptedJob) -> dict[str, Any]:
        snap = job.snapshot()
        name = job.data["name"]
        gemini = job.data["api"] == "gemini"
        if not snap.done:
            return {"name": name} if gemini else {"name": name, "done": False}
        if snap.state is JobState.FAILED:
            error = (
                snap.error
                if isinstance(snap.error, dict)
                else {"code": 13, "message": str(snap.error)}
            )
            return {"name": name, "done": True, "error": error}
        outcome = snap.result if isinstance(snap.result, dict) else {}
        filtered = int(outcome.get("rai_filtered", 0))
        kept = max(0, job.data["count"] - filtered)
        videos: list[dict[str, Any]] = []
        for index in range(kept):
            data = video_bytes(job.id, index)
            if gemini:
                file_id = f"{job.id.lower()}{index}"
                self.gemini_files[file_id] = data
                uri = f"{GEMINI_FILES_HOST}/v1beta/files/{file_id}:download?alt=media"
                videos.append({"video": {"uri": uri}})
            elif job.data.get("storage"):
                videos.append(
                    {
                        "gcsUri": f"{job.data['storage']}/{job.id}/sample_{index}.mp4",
                        "mimeType": "video/mp4",
                    }
                )
            else:
                videos.append(
                    {
                        "bytesBase64Encoded": base64.b64encode(data).decode("ascii"),
                        "mimeType": "video/mp4",
                    }
                )
        result: dict[str, Any] = {}
        if videos:
            result["generatedSamples" if gemini else "videos"] = videos
        if filtered:
            result["raiMediaFilteredCount"] = filtered
            result["raiMediaFilteredReasons"] = list(
                outcome.get("reasons")
                or ["Video generation was blocked by Google's Responsible AI filters."]
            )
        if gemini:
            response = {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": result,
            }
        else:
            response = {
                "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                **result,
            }
        return {"name": name, "done": True, "response": response}


if __name__ == "__main__":
    run_main(GoogleEmulator)
