"""Emulator of fal.ai's queue, storage and CDN APIs (one host serves all three).

Wire protocol (what ``fal-client`` 1.x and our handler speak; see
``/work/shared/research/provider-wire-protocols.md`` §1):

* ``POST /{app_id}`` (``Authorization: Key <key>``) — queue submission; JSON body is the
  model input; answers ``{"request_id", "response_url", "status_url", "cancel_url",
  "queue_position"}`` with **absolute** URLs that use only ``owner/alias`` (fal's sub-path
  rule: ``fal-ai/kling-video/v2/master/text-to-video`` → ``fal-ai/kling-video/requests/{id}``;
  ``workflows/`` and ``comfy/`` namespaces keep the prefix).
* ``GET  /{owner}/{alias}/requests/{id}/status?logs=1`` — ``IN_QUEUE`` (+``queue_position``),
  ``IN_PROGRESS`` (+``logs``, cumulative), ``COMPLETED`` (+``logs``, ``metrics``, and
  ``error`` / ``error_type`` for failed jobs). Sub-path URLs get 404, like fal.
* ``GET  /{owner}/{alias}/requests/{id}/status/stream?logs=1`` — server-sent events, one
  ``data:`` JSON status per change (logs incremental), ending after ``COMPLETED``.
* ``GET  /{owner}/{alias}/requests/{id}`` — the result (images / video / audio objects);
  400 while running; the job's error status and body when it failed.
* ``PUT  /{owner}/{alias}/requests/{id}/cancel`` — 202 ``CANCELLATION_REQUESTED``,
  400 ``ALREADY_COMPLETED``, 404 ``NOT_FOUND``.
* ``POST /storage/auth/token?storage_type=fal-cdn-v3`` — ``{"token", "token_type",
  "base_url", "expires_at"}``; ``POST /files/upload`` (``Authorization: Bearer <token>``,
  raw bytes, ``X-Fal-File-Name``) → ``{"access_url"}`` served under ``/__files__/``.
* Errors: ``{"detail": "..."}`` (auth, infrastructure: + ``error_type`` and header
  ``X-Fal-Error-Type``), ``{"detail": [{"loc", "msg", "type"}]}`` for 422s.
* Accepted endpoints and inputs come from fal's own schema facts, the dated snapshot
  ``tests/data/schemas/fal.json`` (see :func:`schema_rejection`): an endpoint id fal's
  generated list does not contain is a 404 ``Application '<id>' not found``; an input the
  endpoint's schema rejects (missing required field, value outside an enum or range) is a
  422 ``{"detail": [{"loc": ["body", field], "msg", "type", "input", "ctx"}]}`` with
  ``X-Fal-Retryable: false``. ``emulator.add_endpoint(id)`` admits a model newer than the
  snapshot (what "new models usable on day one" tests need); ``workflows/`` and ``comfy/``
  apps are the user's own and always admitted.
* ``GET /__admin__/stats`` (no auth) — per-job creation/finish times (``time.monotonic``,
  comparable across processes on one machine), status polls and stream opens, the
  faults fired on each job's requests, and :meth:`FalEmulator.counters`.
* ``POST /__admin__/faults`` (no auth) — ``{"rate": 0.2 | {"submit": 0.2, ...},
  "seed": 1, "kinds": {"submit": ["503", ...]}, "hold": 40}``: see :meth:`inject_chaos`;
  ``{"clear": true}`` removes every fault.

Fault injection per endpoint (:data:`ENDPOINTS`: ``submit``, ``status``,
``status_stream``, ``result``, ``cancel``) with seeded random rates and kinds
(:data:`FAULT_KINDS`): ``500``, ``503``, ``429`` (with ``Retry-After``), ``reset``
(the request was processed — a submitted job exists — then the connection is reset
before any response), ``reset_mid`` (processed, half the response body, then reset),
``truncated`` (processed, a 200 with half its JSON body), ``held`` (processed, the
response held ``hold`` seconds: past the client's timeout), ``silent`` (a status
stream that sends its headers and then nothing), ``already_completed`` (a cancel
answered 400 ``ALREADY_COMPLETED``).

Counting logical jobs: our fal handler sends its request id in the
``X-Tarash-Request-Id`` header of every submission; the emulator groups accepted
submissions by it (:attr:`FalEmulator.submissions`), so a benchmark can count
duplicate upstream jobs (``counters()["duplicates"]``).

Run it alone (for the benchmark): ``python -m tests.emulators.fal --port 8080 --job-seconds 2``
(``--fault-rate 0.2 --fault-seed 1`` turns chaos on from the start).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import types
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aiohttp import web

from tests.emulators.harness import (
    Abort,
    Auth,
    Emulator,
    Fault,
    FaultKind,
    JobScript,
    JobSnapshot,
    JobState,
    ScriptedJob,
    SSEStream,
    recorded,
    route,
)
from tests.emulators.schemas import fal_endpoint_ids, fal_fields, input_problems

FAL_API_KEY = "fal-test-key"
APP_NAMESPACES = ("workflows", "comfy")
MARKER_HEADER = "X-Tarash-Request-Id"
"""Header that carries the client's logical request id on a submission."""

ENDPOINTS: dict[str, tuple[str, str]] = {
    "submit": ("POST", r"^/(?!storage/|files/|__admin__/)[^/]+/[^/]+"),
    "status": ("GET", r"/requests/[^/]+/status$"),
    "status_stream": ("GET", r"/requests/[^/]+/status/stream$"),
    "result": ("GET", r"/requests/[^/]+$"),
    "cancel": ("PUT", r"/requests/[^/]+/cancel$"),
}
"""(method, path regex) of each fault-injectable endpoint."""

FAULT_KINDS: dict[str, tuple[str, ...]] = {
    "submit": ("500", "503", "429", "reset", "reset_mid", "truncated", "held"),
    "status": ("500", "503", "429", "reset", "reset_mid", "truncated", "held"),
    "status_stream": ("500", "503", "429", "reset", "silent"),
    "result": ("500", "503", "429", "reset", "reset_mid", "truncated", "held"),
    "cancel": ("500", "503", "429", "reset", "already_completed"),
}
"""Default fault kinds per endpoint (every kind is described in the module docs)."""
_IMAGE_HINTS = (
    "flux",
    "imagen",
    "nano-banana",
    "seedream",
    "qwen-image",
    "gemini-25-flash-image",
    "gemini-3-pro-image",
    "gemini-3.1-flash-image",
    "text-to-image",
    "image-to-image",
    "recraft",
    "ideogram",
)
_AUDIO_HINTS = ("speech", "/tts", "kokoro", "text-to-speech")


@cache
def _media() -> dict[str, tuple[bytes, str]]:
    from tarash.tarash_gateway.providers.mock.media import make_mp4, make_png, make_wav

    return {
        "image.png": (make_png(64, 48, seed=7), "image/png"),
        "video.mp4": (make_mp4(64, 48, duration_seconds=0.2, fps=5, seed=7), "video/mp4"),
        "audio.wav": (make_wav(0.3, sample_rate=16000, seed=7), "audio/wav"),
    }


def split_app(path: str) -> tuple[str, str | None]:
    """``owner/alias`` (with namespace) of an endpoint id, and the rest of the path."""
    parts = [p for p in path.strip("/").split("/") if p]
    take = 3 if parts and parts[0] in APP_NAMESPACES else 2
    head = "/".join(parts[:take])
    rest = "/".join(parts[take:]) or None
    return head, rest


def kind_of(app_id: str) -> str:
    lowered = app_id.lower()
    if any(h in lowered for h in _AUDIO_HINTS):
        return "audio"
    if "video" in lowered.rsplit("/", 1)[-1] or "-to-video" in lowered:
        return "video"
    if any(h in lowered for h in _IMAGE_HINTS):
        return "image"
    return "video"


class FalEmulator(Emulator):
    """fal.ai queue + storage + CDN on one 127.0.0.1 port."""

    name = "fal"
    api_key = FAL_API_KEY
    auth = (Auth.key(),)
    public_paths = (
        r"^/__files__/",
        r"^/__health__$",
        r"^/__static__/",
        r"^/__admin__/",
        r"^/files/upload$",
    )
    default_job_script = JobScript.success(
        queued=0.05,
        running=0.1,
        queue_position=2,
        logs=("Loading model", "Progress: 50%", "Progress: 100%"),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokens: dict[str, float] = {}
        self.uploads: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.submissions: dict[str, list[str]] = {}
        self.token_lifetime = 3600.0
        self.extra_endpoints: dict[str, dict[str, Any] | None] = {}

    def add_endpoint(self, endpoint_id: str, fields: dict[str, Any] | None = None) -> None:
        """Admit an endpoint the snapshot does not list (``fields``: its input schema, if any)."""
        self.extra_endpoints[endpoint_id] = fields

    def on_reset(self) -> None:
        self.extra_endpoints.clear()
        self.tokens.clear()
        self.uploads.clear()
        self.cancelled.clear()
        with self._lock:
            self.submissions.clear()
        self.token_lifetime = 3600.0

    # -- error shapes --------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        if status == 401:
            return {"detail": "Invalid or missing API key. Use 'Authorization: Key <FAL_KEY>'."}
        return {"detail": message}

    def fal_error(
        self,
        status: int,
        error_type: str,
        detail: str | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> Any:
        """Inject a fal infrastructure error (``detail`` + ``error_type`` + headers)."""
        headers = {"X-Fal-Error-Type": error_type, "x-fal-request-id": uuid.uuid4().hex}
        if retryable is not None:
            headers["X-Fal-Retryable"] = "true" if retryable else "false"
        return self.inject_status(
            status,
            {"detail": detail or error_type.replace("_", " "), "error_type": error_type},
            path=path,
            method=method,
            times=times,
            headers=headers,
            retry_after=retry_after,
        )

    def validation_error(
        self,
        loc: list[str],
        msg: str,
        error_type: str = "value_error",
        *,
        path: str | None = None,
        times: int | None = 1,
        retryable: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> Any:
        """Inject a 422 model error ``{"detail": [{"loc", "msg", "type", ...}]}``."""
        item = {"loc": loc, "msg": msg, "type": error_type, **(extra or {})}
        return self.inject_status(
            422,
            {"detail": [item]},
            path=path,
            method="POST",
            times=times,
            headers={"X-Fal-Retryable": "true" if retryable else "false"},
        )

    # -- random faults ("chaos") -----------------------------------------------------------
    def fault_kind(
        self, name: str, *, hold: float = 30.0, retry_after: float = 1.0, streamed: bool = False
    ) -> Fault:
        """The unregistered :class:`Fault` of a :data:`FAULT_KINDS` name (``streamed``: for
        a streamed answer, which cannot be spoilt after the handler ran: the reset then
        comes before any of it)."""
        headers = {"X-Fal-Error-Type": "runner_server_error"}
        specs: dict[str, Fault] = {
            "500": self.fault_spec(
                status=500,
                body={"detail": "Internal server error", "error_type": "internal_error"},
                headers={"X-Fal-Error-Type": "internal_error"},
            ),
            "503": self.fault_spec(
                status=503,
                body={"detail": "Runner unavailable", "error_type": "runner_server_error"},
                headers=headers,
            ),
            "429": self.fault_spec(
                status=429, body={"detail": "Too many requests"}, retry_after=retry_after
            ),
            "reset": self.fault_spec(
                FaultKind.DROP, after=not streamed, partial_body=b"", reset=True
            ),
            "reset_mid": self.fault_spec(FaultKind.DROP, after=True, reset=True),
            "truncated": self.fault_spec(FaultKind.MALFORMED, after=True),
            "held": self.fault_spec(FaultKind.DELAY, after=True, delay=hold),
            "silent": self.fault_spec(FaultKind.SILENT, hold=hold),
            "already_completed": self.fault_spec(status=400, body={"status": "ALREADY_COMPLETED"}),
        }
        if name not in specs:
            raise ValueError(f"unknown fal fault kind {name!r}; known: {', '.join(specs)}")
        fault = specs[name]
        fault.label = name
        return fault

    def inject_chaos(
        self,
        rate: float | dict[str, float] = 0.2,
        *,
        seed: int = 0,
        kinds: dict[str, list[str] | tuple[str, ...]] | None = None,
        hold: float = 30.0,
        retry_after: float = 1.0,
    ) -> dict[str, Fault]:
        """Fault ``rate`` of the requests of each endpoint (a dict: per endpoint, missing
        ones untouched) with a random kind of ``kinds[endpoint]`` (default
        :data:`FAULT_KINDS`); seeded, so a run in the same request order repeats."""
        rates = rate if isinstance(rate, dict) else dict.fromkeys(ENDPOINTS, rate)
        unknown = sorted(set(rates) - set(ENDPOINTS) | set(kinds or {}) - set(ENDPOINTS))
        if unknown:
            raise ValueError(f"unknown fal endpoint(s) {unknown}; known: {list(ENDPOINTS)}")
        self.seed_faults(seed)
        out: dict[str, Fault] = {}
        for endpoint, share in rates.items():
            if share <= 0:
                continue
            method, path = ENDPOINTS[endpoint]
            names = (kinds or {}).get(endpoint) or FAULT_KINDS[endpoint]
            choices = [
                self.fault_kind(
                    n, hold=hold, retry_after=retry_after, streamed=endpoint == "status_stream"
                )
                for n in names
            ]
            out[endpoint] = self.inject_random(
                share, choices, path=path, method=method, label=f"chaos:{endpoint}"
            )
        return out

    def counters(self) -> dict[str, int]:
        """Accepted, completed, results fetched (a 200 result), cancelled jobs; submissions
        with a logical-request marker and the duplicates among them (more than one
        accepted job for one marker)."""
        jobs = list(self.jobs.values())
        with self._lock:
            groups = [len(v) for v in self.submissions.values()]
        return {
            "accepted": len(jobs),
            "completed": sum(1 for j in jobs if j.peek().state is JobState.SUCCEEDED),
            "failed": sum(1 for j in jobs if j.peek().state is JobState.FAILED),
            "cancelled": sum(1 for j in jobs if j.peek().state is JobState.CANCELLED),
            "results_fetched": sum(1 for j in jobs if j.data.get("results_ok", 0) > 0),
            "logical_requests": len(groups),
            "duplicates": sum(n - 1 for n in groups if n > 1),
            "faults_fired": sum(1 for r in self.requests if r.fault is not None),
        }

    # -- wire format ---------------------------------------------------------------------
    def request_base(self, job: ScriptedJob) -> str:
        return self.url(f"/{job.data['app']}/requests/{job.id}")

    def _logs(self, job: ScriptedJob, lines: tuple[str, ...]) -> list[dict[str, Any]]:
        stamps: list[str] = job.data["log_stamps"]
        return [
            {"message": line, "level": "INFO", "source": "user", "timestamp": stamps[i]}
            for i, line in enumerate(lines)
        ]

    def status_json(
        self, job: ScriptedJob, snap: JobSnapshot, *, logs: bool, since: int = 0
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": job.id,
            "response_url": self.request_base(job),
            "status_url": self.request_base(job) + "/status",
            "cancel_url": self.request_base(job) + "/cancel",
        }
        entries = self._logs(job, snap.logs)[since:] if logs else None
        if snap.state is JobState.QUEUED:
            out.update(status="IN_QUEUE", queue_position=snap.queue_position or 0)
        elif snap.state is JobState.RUNNING:
            out.update(status="IN_PROGRESS", logs=entries)
        else:
            out.update(status="COMPLETED", logs=entries, metrics={"inference_time": snap.elapsed})
            if snap.state is JobState.FAILED:
                error = snap.error
                if isinstance(error, dict):
                    out["error"] = error.get("error") or error.get("detail") or "failed"
                    if error.get("error_type"):
                        out["error_type"] = error["error_type"]
                else:
                    out["error"] = str(error)
            elif snap.state is JobState.CANCELLED:
                out.update(error="Request was cancelled", error_type="client_cancelled")
        return out

    def default_result(self, job: ScriptedJob) -> dict[str, Any]:
        payload = job.payload if isinstance(job.payload, dict) else {}
        kind = job.data["kind"]
        if kind == "image":
            count = (
                payload.get("num_images", 1) if isinstance(payload.get("num_images"), int) else 1
            )
            return {
                "images": [
                    {
                        "url": self.url(f"/__static__/image.png?job={job.id}&i={i}"),
                        "width": 64,
                        "height": 48,
                        "content_type": "image/png",
                    }
                    for i in range(count)
                ],
                "seed": payload.get("seed", 1234),
                "has_nsfw_concepts": [False] * count,
                "prompt": payload.get("prompt"),
                "timings": {"inference": 0.01},
            }
        if kind == "audio":
            data, ctype = _media()["audio.wav"]
            return {
                "audio": {
                    "url": self.url("/__static__/audio.wav"),
                    "content_type": ctype,
                    "file_name": "speech.wav",
                    "file_size": len(data),
                },
                "duration_ms": 300,
            }
        data, ctype = _media()["video.mp4"]
        return {
            "video": {
                "url": self.url(f"/__static__/video.mp4?job={job.id}"),
                "content_type": ctype,
                "file_name": "output.mp4",
                "file_size": len(data),
            },
            "seed": payload.get("seed", 42),
        }

    def _job_from_path(self, request: web.Request) -> tuple[ScriptedJob, str | None]:
        """The job of ``/{owner}/{alias}/requests/{id}[/action]``; 404 for sub-path URLs."""
        path = request.match_info["tail"]
        head, _, tail = path.partition("/requests/")
        if not tail:
            raise self.abort(404, f"Path /{path} not found")
        request_id, _, action = tail.partition("/")
        job = self.jobs.get(request_id)
        if job is None:
            raise Abort404(self, request_id)
        if head != job.data["app"]:
            # fal only serves owner/alias URLs for requests; a sub-path here is not found.
            raise self.abort(404, f"Request {request_id} not found for app {head}")
        return job, action or None

    def _snapshot(self, job: ScriptedJob) -> JobSnapshot:
        job.data["status_polls"] += 1
        return job.snapshot()

    # -- queue ---------------------------------------------------------------------------
    @route("POST", "/storage/auth/token")
    async def storage_token(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("storage_type") != "fal-cdn-v3":
            return self.error_response(400, "unsupported storage_type")
        token = uuid.uuid4().hex
        expires = datetime.now(UTC) + timedelta(seconds=self.token_lifetime)
        self.tokens[token] = time.time() + self.token_lifetime
        return web.json_response(
            {
                "token": token,
                "token_type": "Bearer",
                "base_url": self.base_url,
                "expires_at": expires.isoformat(),
            }
        )

    @route("POST", "/files/upload")
    async def cdn_upload(self, request: web.Request) -> web.StreamResponse:
        rec = recorded(request)
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or self.tokens.get(token, 0) < time.time():
            return web.json_response({"detail": "Invalid or expired upload token"}, status=401)
        if not rec.body:
            return self.error_response(400, "empty upload")
        ctype = request.headers.get("Content-Type", "application/octet-stream")
        name = request.headers.get("X-Fal-File-Name") or "upload.bin"
        url = self.add_file(rec.body, ctype, filename=name)
        self.uploads.append({"url": url, "content_type": ctype, "name": name, "data": rec.body})
        return web.json_response({"access_url": url})

    @route("GET", "/__static__/{name}")
    async def static(self, request: web.Request) -> web.StreamResponse:
        entry = _media().get(request.match_info["name"])
        if entry is None:
            return self.error_response(404, "not found")
        return web.Response(body=entry[0], content_type=entry[1])

    @route("GET", "/__admin__/stats")
    async def stats(self, request: web.Request) -> web.StreamResponse:
        faults: dict[str, list[str]] = {}
        marker_faults: dict[str, list[str]] = {}
        requests = self.requests
        for rec in requests:
            if rec.fault is None:
                continue
            label = rec.fault.label or rec.fault.kind.value
            if "/requests/" in rec.path:
                job_id = rec.path.split("/requests/", 1)[1].split("/", 1)[0]
                faults.setdefault(job_id, []).append(label)
            elif rec.method == "POST" and rec.header(MARKER_HEADER):
                marker_faults.setdefault(rec.header(MARKER_HEADER) or "", []).append(label)
        jobs = {
            job.id: {
                "created_at": job.created_at,
                "finished_at": job.finished_at,
                "state": job.peek().state.value,
                "status_polls": job.data["status_polls"],
                "streams": job.data["streams"],
                "results": job.data["results"],
                "results_ok": job.data.get("results_ok", 0),
                "reported_at": job.data.get("reported_at"),
                "marker": job.data.get("marker"),
                "faults": faults.get(job.id, []),
            }
            for job in list(self.jobs.values())
        }
        counts: dict[str, int] = {}
        for rec in requests:
            kind = rec.path.rsplit("/", 1)[-1] if "/requests/" in rec.path else rec.path
            if "/requests/" in rec.path and kind not in ("status", "stream", "cancel"):
                kind = "result"
            label = f"{rec.method} {kind if '/requests/' in rec.path else 'submit'}"
            if rec.path.startswith(("/__", "/storage/", "/files/")):
                label = f"{rec.method} {rec.path}"
            counts[label] = counts.get(label, 0) + 1
        return web.json_response(
            {
                "clock": time.monotonic(),
                "jobs": jobs,
                "requests": counts,
                "counters": self.counters(),
                "submit_faults": marker_faults,
            }
        )

    @route("POST", "/__admin__/faults")
    async def set_faults(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json or {}
        self.clear_faults()
        if body.get("clear"):
            return web.json_response({"ok": True})
        try:
            faults = self.inject_chaos(
                body.get("rate", 0.2),
                seed=int(body.get("seed", 0)),
                kinds=body.get("kinds"),
                hold=float(body.get("hold", 30.0)),
                retry_after=float(body.get("retry_after", 1.0)),
            )
        except (TypeError, ValueError) as exc:
            return self.error_response(400, str(exc))
        return web.json_response({"ok": True, "endpoints": sorted(faults)})

    @route("POST", "/__admin__/script")
    async def set_script(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json or {}
        self.job_script = JobScript.success(
            queued=float(body.get("queued", 0.0)),
            running=float(body.get("running", 0.0)),
            queue_position=int(body.get("queue_position", 0)),
            logs=tuple(body.get("logs", ())),
        )
        return web.json_response({"ok": True})

    @route("GET", "/{tail:.+}")
    async def get_request(self, request: web.Request) -> web.StreamResponse:
        job, action = self._job_from_path(request)
        with_logs = request.query.get("logs", "0").lower() in ("1", "true")
        if action == "status":
            snap = self._snapshot(job)
            if snap.done:
                job.data.setdefault("reported_at", time.monotonic())
            return web.json_response(self.status_json(job, snap, logs=with_logs), status=200)
        if action == "status/stream":
            return await self._stream(request, job, with_logs)
        if action is not None:
            return self.error_response(404, f"unknown action {action}")
        job.data["results"] += 1
        snap = job.peek()
        if snap.state is JobState.SUCCEEDED:
            result = snap.result if snap.result is not None else self.default_result(job)
            job.data["results_ok"] = job.data.get("results_ok", 0) + 1
            return web.json_response(result, headers={"x-fal-request-id": job.id})
        if snap.state is JobState.FAILED:
            error = snap.error if isinstance(snap.error, dict) else {"error": str(snap.error)}
            status = int(error.get("status", 500))
            body = error.get("body") or {
                "detail": error.get("error") or "failed",
                "error_type": error.get("error_type"),
            }
            return web.json_response(body, status=status)
        if snap.state is JobState.CANCELLED:
            return web.json_response({"detail": "Request was cancelled"}, status=400)
        return web.json_response({"detail": "Request is still in progress"}, status=400)

    async def _stream(
        self, request: web.Request, job: ScriptedJob, with_logs: bool
    ) -> web.StreamResponse:
        job.data["streams"] += 1
        stream = await SSEStream.open(request)
        sent_logs = 0
        last: tuple[Any, ...] | None = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            snap = job.snapshot() if job.script.by_polls else job.peek()
            key = (snap.state, snap.queue_position, len(snap.logs))
            if key != last:
                await stream.send(self.status_json(job, snap, logs=with_logs, since=sent_logs))
                sent_logs = len(snap.logs)
                last = key
                if snap.done:
                    job.data.setdefault("reported_at", time.monotonic())
            if snap.done:
                break
            await asyncio.sleep(self._next_change(job, snap))
        return await stream.close()

    @staticmethod
    def _next_change(job: ScriptedJob, snap: JobSnapshot) -> float:
        """Seconds until the job's reported state can change (so completion is pushed at once)."""
        script = job.script
        if script.by_polls:
            return 0.02
        now = time.monotonic() - job.created_at
        marks = [script.queued, script.total]
        if script.queue_position and script.queued:
            step = script.queued / (script.queue_position + 1)
            marks.extend(step * k for k in range(1, script.queue_position + 1))
        if script.logs and script.running:
            step = script.running / len(script.logs)
            marks.extend(script.queued + step * k for k in range(1, len(script.logs)))
        upcoming = [m - now for m in marks if m > now]
        return max(0.001, min(upcoming, default=0.05) + 0.0005)

    @route("PUT", "/{tail:.+}")
    async def put_request(self, request: web.Request) -> web.StreamResponse:
        try:
            job, action = self._job_from_path(request)
        except Abort404:
            return web.json_response({"status": "NOT_FOUND"}, status=404)
        if action != "cancel":
            return self.error_response(405, "Method not allowed")
        self.cancelled.append(job.id)
        if job.cancel():
            return web.json_response({"status": "CANCELLATION_REQUESTED"}, status=202)
        return web.json_response({"status": "ALREADY_COMPLETED"}, status=400)

    @route("POST", "/{tail:.+}")
    async def submit(self, request: web.Request) -> web.StreamResponse:
        rec = recorded(request)
        app_id = request.match_info["tail"].strip("/")
        head, _ = split_app(app_id)
        if head.count("/") < 1:
            return self.error_response(404, f"Application '{app_id}' not found")
        body = rec.json
        if not isinstance(body, dict):
            return web.json_response(
                {
                    "detail": [
                        {"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}
                    ]
                },
                status=422,
            )
        rejected = schema_rejection(app_id, body, self.extra_endpoints)
        if rejected is not None:
            return rejected
        job = self.create_job(payload=body)
        marker = request.headers.get(MARKER_HEADER)
        if marker:
            with self._lock:
                self.submissions.setdefault(marker, []).append(job.id)
        job.data.update(
            marker=marker,
            app=head,
            app_id=app_id,
            kind=kind_of(app_id),
            status_polls=0,
            streams=0,
            results=0,
            log_stamps=[
                (datetime.now(UTC) + timedelta(milliseconds=i)).isoformat()
                for i in range(len(job.script.logs))
            ],
        )
        snap = job.peek()
        return web.json_response(
            {
                "request_id": job.id,
                "response_url": self.request_base(job),
                "status_url": self.request_base(job) + "/status",
                "cancel_url": self.request_base(job) + "/cancel",
                "queue_position": snap.queue_position or 0,
            },
            headers={"x-fal-request-id": job.id},
        )

    def new_id(self, prefix: str = "") -> str:
        return prefix + str(uuid.uuid4())


# --------------------------------------------------------------------------- schema validation


def _pydantic_item(problem: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """One problem in the shape of fal's 422 items (pydantic v2 error entries)."""
    name = problem["field"]
    item: dict[str, Any] = {"loc": ["body", name], "msg": problem["message"]}
    enum = (fields.get(name) or {}).get("enum")
    if problem["type"] == "missing":
        item["type"] = "missing"
    elif problem["type"] == "enum" and enum:
        expected = ", ".join(repr(v) for v in enum[:-1]) + f" or {enum[-1]!r}"
        item.update(
            type="literal_error", msg=f"Input should be {expected}", ctx={"expected": expected}
        )
    else:
        item["type"] = "value_error"
    if "input" in problem:
        item["input"] = problem["input"]
    return item


def schema_rejection(
    app_id: str, body: dict[str, Any], extra: dict[str, dict[str, Any] | None]
) -> web.Response | None:
    """fal's answer to a submission its schema rejects, or ``None`` to accept it.

    The rules are the snapshot's (``tests/data/schemas/fal.json``), loaded once: unknown
    endpoint → 404; inputs against the endpoint's input schema → 422 (extra fields are
    ignored, as fal's input models do).
    """
    if app_id.split("/", 1)[0] in APP_NAMESPACES:
        return None
    if app_id in extra:
        fields = extra[app_id]
    elif app_id in fal_endpoint_ids():
        fields = fal_fields(app_id)
    else:
        return web.json_response({"detail": f"Application '{app_id}' not found"}, status=404)
    if not fields:
        return None
    problems = input_problems(fields, body)
    if not problems:
        return None
    return web.json_response(
        {"detail": [_pydantic_item(p, fields) for p in problems]},
        status=422,
        headers={"X-Fal-Retryable": "false", "x-fal-request-id": uuid.uuid4().hex},
    )


class Abort404(Abort):
    """No such request id (cancel answers NOT_FOUND; other calls a plain 404)."""

    def __init__(self, emulator: FalEmulator, request_id: str) -> None:
        super().__init__(emulator.error_response(404, f"Request {request_id} not found"))


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.emulators.fal --port N [--job-seconds S] [--queued-seconds Q]``."""
    parser = argparse.ArgumentParser(description="fal.ai emulator on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    parser.add_argument("--api-key", default=None, help=f"expected key (default {FAL_API_KEY})")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without a key")
    parser.add_argument("--job-seconds", type=float, default=None, help="running time per job")
    parser.add_argument("--queued-seconds", type=float, default=0.0, help="queued time per job")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="chaos: share faulted")
    parser.add_argument("--fault-seed", type=int, default=0, help="chaos: RNG seed")
    parser.add_argument("--fault-hold", type=float, default=30.0, help="chaos: held/silent s")
    args = parser.parse_args(argv)
    api_key: str | types.EllipsisType | None = ...
    if args.no_auth:
        api_key = None
    elif args.api_key is not None:
        api_key = args.api_key
    emulator = FalEmulator(api_key=api_key, port=args.port)
    if args.job_seconds is not None:
        emulator.default_job_script = JobScript.success(
            queued=args.queued_seconds, running=args.job_seconds
        )
        emulator.job_script = emulator.default_job_script
    if args.fault_rate > 0:
        emulator.inject_chaos(args.fault_rate, seed=args.fault_seed, hold=args.fault_hold)
    emulator.serve()


if __name__ == "__main__":
    main()
