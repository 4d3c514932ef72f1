"""Example emulator for a fictional "acme" provider: the pattern for real provider emulators.

Wire protocol (bearer auth, errors shaped ``{"error": {"type": ..., "message": ...}}``):

* ``POST /v1/jobs``  JSON ``{"prompt": str}`` → 201 job JSON (a ScriptedJob is created)
* ``GET  /v1/jobs/{job_id}`` → job JSON (status, queue_position, progress, logs, output|error)
* ``GET  /v1/jobs/{job_id}/events`` → SSE stream of job JSON until the job ends
* ``POST /v1/jobs/{job_id}/cancel`` → job JSON (409 when already finished)
* ``GET  /v1/jobs/{job_id}/content`` → the produced bytes (video/mp4), 409 until succeeded
* ``POST /v1/upload`` multipart ``file`` + ``purpose`` → ``{"id", "filename", "bytes", "url"}``
* ``GET  /v1/speech?text=...`` → chunked audio/mpeg stream

Run it alone: ``python -m tests.emulators.example --port 8080``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.emulators.harness import (
    Auth,
    Emulator,
    JobScript,
    JobSnapshot,
    ScriptedJob,
    follow_job,
    recorded,
    route,
    run_main,
    sse_response,
    stream_bytes,
)

ACME_API_KEY = "acme-test-key"


class AcmeEmulator(Emulator):
    name = "acme"
    api_key = ACME_API_KEY
    auth = (Auth.bearer(),)
    default_job_script = JobScript.success(
        queued=0.05, running=0.1, queue_position=2, logs=("loading model", "rendering")
    )

    def error_body(self, status: int, message: str) -> Any:
        kind = {401: "authentication_error", 404: "not_found", 429: "rate_limited"}
        return {"error": {"type": kind.get(status, "api_error"), "message": message}}

    # -- wire format -------------------------------------------------------------------
    def job_json(self, job: ScriptedJob, snap: JobSnapshot) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": job.id,
            "status": snap.state.value,
            "queue_position": snap.queue_position,
            "progress": snap.progress,
            "logs": list(snap.logs),
        }
        if snap.state.value == "succeeded":
            default = {"content_url": self.url(f"/v1/jobs/{job.id}/content")}
            out["output"] = snap.result if snap.result is not None else default
        if snap.state.value == "failed":
            out["error"] = snap.error
        return out

    # -- handlers ----------------------------------------------------------------------
    @route("POST", "/v1/jobs")
    async def create(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            return self.error_response(422, "prompt is required")
        job = self.create_job(payload=body, job_id=self.new_id("job_"))
        job.data["content"] = b"ACME-VIDEO:" + body["prompt"].encode()
        return web.json_response(self.job_json(job, job.peek()), status=201)

    @route("GET", "/v1/jobs/{job_id}")
    async def status(self, request: web.Request) -> web.StreamResponse:
        job = self.get_job(request.match_info["job_id"])
        return web.json_response(self.job_json(job, job.snapshot()))

    @route("GET", "/v1/jobs/{job_id}/events")
    async def events(self, request: web.Request) -> web.StreamResponse:
        job = self.get_job(request.match_info["job_id"])
        interval = float(request.query.get("interval", "0.02"))
        return await sse_response(
            request,
            (self.job_json(job, snap) async for snap in follow_job(job, interval)),
        )

    @route("POST", "/v1/jobs/{job_id}/cancel")
    async def cancel(self, request: web.Request) -> web.StreamResponse:
        job = self.get_job(request.match_info["job_id"])
        if not job.cancel():
            return self.error_response(409, "job already finished")
        return web.json_response(self.job_json(job, job.peek()))

    @route("GET", "/v1/jobs/{job_id}/content")
    async def content(self, request: web.Request) -> web.StreamResponse:
        job = self.get_job(request.match_info["job_id"])
        if job.peek().state.value != "succeeded":
            return self.error_response(409, "job has no content yet")
        return web.Response(body=job.data["content"], content_type="video/mp4")

    @route("POST", "/v1/upload")
    async def upload(self, request: web.Request) -> web.StreamResponse:
        rec = recorded(request)
        upload = rec.files.get("file")
        if upload is None:
            return self.error_response(400, "multipart field 'file' is required")
        url = self.add_file(upload.data, upload.content_type, filename=upload.filename)
        return web.json_response(
            {
                "id": self.new_id("file_"),
                "filename": upload.filename,
                "purpose": rec.form.get("purpose"),
                "bytes": upload.size,
                "url": url,
            }
        )

    @route("GET", "/v1/speech")
    async def speech(self, request: web.Request) -> web.StreamResponse:
        text = request.query.get("text", "")
        chunks = [f"ID3-{i}:{word};".encode() for i, word in enumerate(text.split())]
        return await stream_bytes(request, chunks, content_type="audio/mpeg", interval=0.01)


if __name__ == "__main__":
    run_main(AcmeEmulator)
