"""Local emulator of the Replicate HTTP API (what the official ``replicate`` SDK talks to).

Wire protocol (bearer auth; errors are RFC 7807 problem JSON
``{"type", "title", "status", "detail"}``, 422 adds ``invalid_fields``):

* ``POST /v1/models/{owner}/{name}/predictions`` ``{"input": {...}}`` → 201 prediction
* ``POST /v1/predictions`` ``{"version": "<id>", "input": {...}}`` → 201 prediction
* ``POST /v1/deployments/{owner}/{name}/predictions`` ``{"input": {...}}`` → 201 prediction
  — all three honour ``Prefer: wait`` / ``Prefer: wait=N`` by holding the request until the
  prediction finishes or N seconds (≤ 60) pass;
* ``GET /v1/predictions`` → a page of predictions, newest first
* ``GET /v1/predictions/{id}`` → prediction (one status poll of the scripted job)
* ``POST /v1/predictions/{id}/cancel`` → prediction (``canceled`` unless already finished)
* ``POST /v1/files`` multipart ``content`` (+ ``metadata``) → file object with ``urls.get``
* ``GET /v1/files/{id}`` → file object

A prediction has non-null string ``id``/``model``/``version`` (the SDK's pydantic model
requires them), ``status`` starting → processing → succeeded | failed | canceled,
append-only ``logs`` with tqdm-style progress lines (``" 40%|████      | 20/50 [...]"``),
``metrics`` once finished and ``output``: the job script's result, else a ``data:`` URI
(an MP4 for video models, a list of one PNG for image models) so ``FileOutput`` works
offline.

Inputs of the models in the dated snapshot ``tests/data/schemas/replicate.json`` (the
models' published ``Input`` schemas) are validated like Replicate does (see
:meth:`ReplicateEmulator.schema_rejection`): a value outside a listed enum or range is a 422
problem with ``invalid_fields``. Models the snapshot does not verify are accepted as sent.

Run it alone: ``python -m tests.emulators.replicate --port 8080``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
import uuid
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Any

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
from tests.emulators.schemas import input_problems, replicate_fields

REPLICATE_API_KEY = "r8_emulator_test_token"
IMAGE_MODEL_HINTS = ("flux", "imagen", "ideogram", "recraft", "image", "sdxl", "stable-diffusion")
_STATUS = {
    JobState.QUEUED: "starting",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "succeeded",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "canceled",
}
_PREFER_WAIT = re.compile(r"^\s*wait(?:\s*=\s*(\d+))?\s*$", re.IGNORECASE)
_TQDM_TOTAL = 50


@cache
def sample_video() -> bytes:
    """A small playable MP4 (the default video output)."""
    return make_mp4(32, 32, 0.5)


@cache
def sample_image() -> bytes:
    """A small PNG (the default image output)."""
    return make_png(16, 16, seed=7)


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def tqdm_line(percent: float) -> str:
    """A tqdm progress line as Replicate models print it."""
    done = round(percent * _TQDM_TOTAL / 100)
    bar = ("█" * round(percent / 10)).ljust(10)
    return f"{int(percent):3d}%|{bar}| {done}/{_TQDM_TOTAL} [00:01<00:02, 9.50it/s]"


class ReplicateEmulator(Emulator):
    """Replicate predictions, files and problem-JSON errors on 127.0.0.1."""

    name = "replicate"
    api_key = REPLICATE_API_KEY
    auth = (Auth.bearer(),)
    default_job_script = JobScript.success(
        queued=0.05, running=0.15, logs=("Loading model", "Generating")
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.versions: dict[str, str] = {}
        self.deployments: dict[str, str] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: list[RecordedFile] = []

    def on_reset(self) -> None:
        self.versions.clear()
        self.deployments.clear()
        self.files.clear()
        self.uploads.clear()

    def new_id(self, prefix: str = "") -> str:
        return prefix + uuid.uuid4().hex[:26]

    def error_body(self, status: int, message: str) -> Any:
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = f"HTTP {status}"
        return {
            "type": f"https://replicate.com/docs/reference/http#{status}",
            "title": title,
            "status": status,
            "detail": message,
        }

    def problem(self, status: int, detail: str, **extra: Any) -> web.Response:
        body = self.error_body(status, detail)
        body.update(extra)
        return web.json_response(body, status=status, content_type="application/problem+json")

    # -- wire format -------------------------------------------------------------------
    def default_output(self, job: ScriptedJob) -> Any:
        model = str(job.payload.get("model", "")).lower()
        if any(hint in model for hint in IMAGE_MODEL_HINTS):
            return [data_uri(sample_image(), "image/png")]
        return data_uri(sample_video(), "video/mp4")

    def _append_logs(self, job: ScriptedJob, snap: JobSnapshot) -> str:
        """Logs only ever grow: script lines as they appear, a tqdm line per progress step."""
        logs: list[str] = job.data.setdefault("logs", [])
        seen: int = job.data.setdefault("script_logs", 0)
        for line in snap.logs[seen:]:
            logs.append(line)
        job.data["script_logs"] = max(seen, len(snap.logs))
        if snap.state is JobState.RUNNING and snap.progress != job.data.get("last_progress"):
            job.data["last_progress"] = snap.progress
            logs.append(tqdm_line(snap.progress))
        if snap.state is JobState.SUCCEEDED and job.data.get("last_progress") != 100.0:
            job.data["last_progress"] = 100.0
            logs.append(tqdm_line(100.0))
        return "".join(line + "\n" for line in logs)

    def prediction_json(self, job: ScriptedJob, snap: JobSnapshot) -> dict[str, Any]:
        status = _STATUS[snap.state]
        out: dict[str, Any] = {
            "id": job.id,
            "model": job.payload["model"],
            "version": job.payload["version"],
            "input": job.payload["input"],
            "logs": self._append_logs(job, snap),
            "output": None,
            "data_removed": False,
            "error": None,
            "status": status,
            "created_at": job.data["created_at"],
            "started_at": job.data.get("started_at"),
            "completed_at": None,
            "metrics": {},
            "urls": {
                "get": self.url(f"/v1/predictions/{job.id}"),
                "cancel": self.url(f"/v1/predictions/{job.id}/cancel"),
                "web": f"https://replicate.com/p/{job.id}",
            },
        }
        if snap.state is not JobState.QUEUED and out["started_at"] is None:
            out["started_at"] = job.data["started_at"] = _now()
        if snap.done:
            out["completed_at"] = job.data.setdefault("completed_at", _now())
            out["metrics"] = {
                "predict_time": round(max(0.0, snap.elapsed - job.script.queued), 3),
                "total_time": round(snap.elapsed, 3),
            }
        if snap.state is JobState.SUCCEEDED:
            out["output"] = snap.result if snap.result is not None else self.default_output(job)
        if snap.state is JobState.FAILED:
            out["error"] = snap.error if isinstance(snap.error, str) else json.dumps(snap.error)
        return out

    # -- predictions -------------------------------------------------------------------
    async def _create(
        self, request: web.Request, model: str, version: str, kind: str
    ) -> web.StreamResponse:
        body = recorded(request).json
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return self.problem(
                422,
                "- input: input is required and must be an object",
                invalid_fields=[{"type": "required", "field": "input", "description": "required"}],
            )
        inputs: dict[str, Any] = body["input"]
        prompt = inputs.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return self.problem(
                422,
                "- input.prompt: prompt is required",
                invalid_fields=[
                    {
                        "type": "required",
                        "field": "input.prompt",
                        "description": "prompt is required",
                    }
                ],
            )
        rejected = self.schema_rejection(model, inputs)
        if rejected is not None:
            return rejected
        job = self.create_job(
            payload={"model": model, "version": version, "input": inputs, "kind": kind},
            job_id=self.new_id(),
        )
        job.data["created_at"] = _now()
        wait = self._prefer_wait(request)
        if wait:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and not job.peek().done:
                await asyncio.sleep(0.01)
        return web.json_response(self.prediction_json(job, job.peek()), status=201)

    # -- schema validation ---------------------------------------------------------------
    def schema_rejection(self, model: str, inputs: dict[str, Any]) -> web.Response | None:
        """Replicate's 422 for inputs the model's snapshot schema rejects (``None``: accept)."""
        fields = replicate_fields(model)
        if not fields:
            return None
        problems = [p for p in input_problems(fields, inputs) if p["type"] != "missing"]
        if not problems:
            return None
        invalid = [
            {
                "type": "enum" if p["type"] == "enum" else "invalid",
                "field": f"input.{p['field']}",
                "description": p["message"],
            }
            for p in problems
        ]
        detail = "\n".join(f"- {i['field']}: {i['description']}" for i in invalid)
        return self.problem(422, detail, title="Input validation failed", invalid_fields=invalid)

    @staticmethod
    def _prefer_wait(request: web.Request) -> float:
        match = _PREFER_WAIT.match(request.headers.get("Prefer", ""))
        if not match:
            return 0.0
        return float(min(60, int(match.group(1)) if match.group(1) else 60))

    @route("POST", "/v1/models/{owner}/{name}/predictions")
    async def create_model_prediction(self, request: web.Request) -> web.StreamResponse:
        model = f"{request.match_info['owner']}/{request.match_info['name']}"
        return await self._create(request, model, "hidden", "model")

    @route("POST", "/v1/predictions")
    async def create_version_prediction(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json
        version = body.get("version") if isinstance(body, dict) else None
        if not isinstance(version, str) or not version:
            return self.problem(
                422,
                "- version: version is required",
                invalid_fields=[
                    {"type": "required", "field": "version", "description": "required"}
                ],
            )
        version_id = version.rsplit(":", 1)[-1]
        model = self.versions.get(version_id, "emulator/versioned-model")
        return await self._create(request, model, version_id, "version")

    @route("POST", "/v1/deployments/{owner}/{name}/predictions")
    async def create_deployment_prediction(self, request: web.Request) -> web.StreamResponse:
        deployment = f"{request.match_info['owner']}/{request.match_info['name']}"
        model = self.deployments.get(deployment, deployment)
        return await self._create(request, model, "deployment", "deployment")

    @route("GET", "/v1/predictions")
    async def list_predictions(self, request: web.Request) -> web.StreamResponse:
        """One page (100) of the account's predictions, newest first (Replicate's list)."""
        jobs = sorted(self.jobs.values(), key=lambda j: j.data["created_at"], reverse=True)
        results = [self.prediction_json(job, job.peek()) for job in jobs[:100]]
        return web.json_response({"next": None, "previous": None, "results": results})

    @route("GET", "/v1/predictions/{prediction_id}")
    async def get_prediction(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.get(request.match_info["prediction_id"])
        if job is None:
            return self.problem(404, "The requested resource could not be found.")
        return web.json_response(self.prediction_json(job, job.snapshot()))

    @route("POST", "/v1/predictions/{prediction_id}/cancel")
    async def cancel_prediction(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.get(request.match_info["prediction_id"])
        if job is None:
            return self.problem(404, "The requested resource could not be found.")
        job.cancel()
        return web.json_response(self.prediction_json(job, job.peek()))

    # -- files -------------------------------------------------------------------------
    def file_json(self, file_id: str) -> dict[str, Any]:
        return self.files[file_id]

    @route("POST", "/v1/files")
    async def create_file(self, request: web.Request) -> web.StreamResponse:
        rec = recorded(request)
        upload = rec.files.get("content")
        if upload is None:
            return self.problem(400, "multipart field 'content' is required")
        self.uploads.append(upload)
        file_id = self.new_id()
        name = upload.filename or "file"
        metadata = json.loads(rec.form["metadata"]) if rec.form.get("metadata") else {}
        self.files[file_id] = {
            "id": file_id,
            "name": name,
            "content_type": upload.content_type,
            "size": upload.size,
            "etag": hashlib.md5(upload.data).hexdigest(),  # noqa: S324 - an etag, not security
            "checksums": {"sha256": hashlib.sha256(upload.data).hexdigest()},
            "metadata": metadata,
            "created_at": _now(),
            "expires_at": None,
            "urls": {"get": self.add_file(upload.data, upload.content_type, filename=name)},
        }
        return web.json_response(self.files[file_id], status=201)

    @route("GET", "/v1/files/{file_id}")
    async def get_file(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return self.problem(404, "The requested resource could not be found.")
        return web.json_response(self.file_json(file_id))


if __name__ == "__main__":
    run_main(ReplicateEmulator)
