"""HTTP routes: the OpenAI-compatible media routes, then Tarash's own job routes.

Shapes follow the installed ``openai`` SDK (3.60.0, checked 2026-12-04):
``types/images_response.py`` (``{created, data: [{b64_json | url}]}``),
``types/video.py`` (status exactly ``queued | in_progress | completed | failed``,
``progress`` int), ``types/video_delete_response.py``, ``pagination.py``
(``ConversationCursorPage``: ``{data, has_more, last_id}``, next page ``after=last_id``),
``resources/videos.py`` (``poll()`` sleeps ``openai-poll-after-ms``),
``types/webhooks/webhook_endpoint*.py`` and ``types/model.py``.

Every job-creating POST honours ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-
header-06 §2.7): same key and same request → the same job, never submitted again; same key,
another request → 422; the first request still being accepted → 409.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.engine import Connection
from starlette.datastructures import UploadFile
from starlette.responses import StreamingResponse

from tarash.tarash_gateway import stream_tts_async
from tarash.tarash_gateway.exceptions import TarashException
from tarash.tarash_gateway.media import sniff_content_type, to_data_uri
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    AudioOutputFormat,
    BaseGenerationRequest,
    ImageGenerationRequest,
    STSRequest,
    TTSRequest,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.server import auth, previews
from tarash.tarash_gateway.server import db as dbm
from tarash.tarash_gateway.server.config import ServerConfigError
from tarash.tarash_gateway.server.webhooks import new_secret
from tarash.tarash_gateway.server.workers import REQUEST_TYPES, add_event, error_json

__all__ = ["ApiError", "router"]

router = APIRouter()

MAX_UPLOAD = 50 * 1024 * 1024


class ApiError(Exception):
    """An error answered in OpenAI's shape ``{"error": {message, type, code, param}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "invalid_request",
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        body = {
            "error": {"message": self.message, "type": kind, "code": self.code, "param": self.param}
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


# ============================================================================ auth


async def principal(request: Request) -> auth.Principal:
    """The caller; 401 without a valid key when ``TARASH_MASTER_KEY`` is set."""
    state = request.app.state
    master: str | None = state.master_key
    if master is None:
        return auth.Principal(key_id=auth.OPEN_KEY_ID, is_admin=True)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing Authorization: Bearer <key>", "missing_api_key")
    if auth.check_master(token, master):
        return auth.Principal(key_id=auth.MASTER_KEY_ID, is_admin=True)
    found: auth.Principal | None = await state.db.run(lambda c: auth.lookup_key(c, token))
    if found is None:
        raise ApiError(401, "invalid API key", "invalid_api_key")
    return found


def admin(who: auth.Principal = Depends(principal)) -> auth.Principal:
    if not who.is_admin:
        raise ApiError(403, "this route needs the master key", "forbidden")
    return who


# ============================================================================ request safety


_BLOCKED_HOSTS = {"localhost", "localhost.localdomain", "metadata.google.internal"}


async def check_media_urls(request: BaseGenerationRequest) -> None:
    """Server mode refuses local files and URLs of private addresses (SSRF guard).

    The library reads ``file://`` URLs and existing paths for local callers; a server
    must not let a client make it read its own disk or its private network. Data URIs
    and public http(s) URLs pass; hostnames are resolved and every address checked.
    """
    for field, value in _media_values(request):
        if value.startswith("data:"):
            continue
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if scheme not in ("http", "https"):
            raise ApiError(
                422,
                f"{field}: only http(s) URLs and data URIs are accepted by the server "
                "(no local paths or file:// URLs)",
                "unsafe_media_reference",
                field,
            )
        host = urlsplit(value).hostname or ""
        if host.lower() in _BLOCKED_HOSTS or host.lower().endswith(".localhost"):
            raise ApiError(422, f"{field}: private address", "unsafe_media_reference", field)
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError:
                raise ApiError(
                    422, f"{field}: cannot resolve {host}", "unsafe_media_reference", field
                ) from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        for address in addresses:
            if not address.is_global:
                raise ApiError(
                    422, f"{field}: private address {address}", "unsafe_media_reference", field
                )


async def check_callback_url(request: Request, url: str) -> None:
    """Webhook targets: http(s), and public unless ``allow_private_urls``."""
    if not url.startswith(("http://", "https://")):
        raise ApiError(422, "a webhook URL must be http(s)", "invalid_webhook_url", "url")
    if not request.app.state.settings.allow_private_urls:
        await check_media_urls(
            ImageGenerationRequest(prompt="-", image_list=[{"image": url, "type": "reference"}])
        )


def _media_values(request: BaseGenerationRequest) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in ("image_list", "mask_image", "video", "audio"):
        value = getattr(request, name, None)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, dict):
                item = item.get("url") or item.get("image") or item.get("content")
            if isinstance(item, str):
                out.append((name, item))
            elif item is not None and not isinstance(item, bytes | bytearray):
                raise ApiError(
                    422, f"{name}: unsupported media value", "unsafe_media_reference", name
                )
    return out


# ============================================================================ jobs


def _public_job_id(operation: str) -> str:
    prefix = {"video": "video", "image": "img", "tts": "tts", "sts": "sts"}[operation]
    return f"{prefix}_{secrets.token_hex(12)}"


def _hash(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


async def create_job(
    request: Request,
    who: auth.Principal,
    *,
    route: str,
    operation: str,
    model: str,
    job_request: BaseGenerationRequest,
    options: dict[str, Any] | None = None,
    callback_url: str | None = None,
    state: str = "queued",
) -> tuple[dict[str, Any], bool]:
    """Make the job a committed row (or find the one this Idempotency-Key made).

    Returns ``(row, replayed)``.
    """
    app = request.app.state
    settings = app.settings
    if not who.may_use(model):
        raise ApiError(403, f"this key may not use model {model!r}", "model_not_allowed", "model")
    if who.over_budget():
        raise ApiError(402, "this key's budget is spent", "budget_exceeded")
    alias = settings.resolve(model)
    if alias is None:
        raise ApiError(
            404, f"unknown model {model!r} (see GET /v1/models)", "model_not_found", "model"
        )
    if alias.operation is not None and alias.operation != operation:
        raise ApiError(400, f"model {model!r} does not do {operation}", "wrong_operation", "model")
    try:
        settings.build_configs(model, operation)
    except (ServerConfigError, PydanticValidationError) as exc:
        raise ApiError(400, str(exc), "invalid_model_config", "model") from None
    if callback_url is not None:
        await check_callback_url(request, callback_url)
    if not settings.allow_private_urls:
        await check_media_urls(job_request)
    body = job_request.model_dump(mode="json")
    for key, value in alias.defaults.items():
        if body.get(key) in (None, [], {}):
            body[key] = value
    try:
        job_request = REQUEST_TYPES[operation].model_validate(body)
    except PydanticValidationError as exc:
        raise ApiError(400, f"model defaults: {exc}", "invalid_request") from None
    request_json = json.dumps(body, default=str)
    idem_key = request.headers.get("idempotency-key")
    if idem_key is not None and not (0 < len(idem_key) <= 255):
        raise ApiError(400, "Idempotency-Key must be 1–255 characters", "invalid_idempotency_key")
    fingerprint = _hash(
        {"route": route, "model": model, "request": body, "options": options, "cb": callback_url}
    )
    t = dbm.now()
    row = {
        "id": _public_job_id(operation),
        "key_id": who.key_id,
        "operation": operation,
        "model_alias": model,
        "provider": alias.provider,
        "request": request_json,
        "options": json.dumps(options or {}),
        "chain_index": 0,
        "state": state,
        "attempts": 0,
        "submits": 0,
        "progress": 0,
        "next_poll_at": t,
        "cancel_requested": False,
        "callback_url": callback_url,
        "created_at": t,
        "updated_at": t,
        "deleted": False,
    }
    if state == "streaming":
        row["lease_owner"] = app.engine.worker_id
        row["lease_expires_at"] = t + settings.lease_seconds

    own = getattr(request.state, "idem_reserved", None) == (who.key_id, idem_key)

    def insert(conn: Connection) -> tuple[dict[str, Any], bool]:
        filled = False
        if idem_key is not None and own:  # this request's reservation: fill it in
            filled = bool(
                conn.execute(
                    dbm.idempotency.update()
                    .where(
                        dbm.idempotency.c.key_id == who.key_id,
                        dbm.idempotency.c.idem_key == idem_key,
                        dbm.idempotency.c.job_id.is_(None),
                    )
                    .values(request_hash=fingerprint, job_id=row["id"], route=route)
                ).rowcount
            )
        if idem_key is not None and not filled:
            seen_id = _idempotent_lookup(conn, who.key_id, idem_key, fingerprint)
            if seen_id is not None:
                job = get_job_row(conn, seen_id)
                assert job is not None
                return job, True
            conn.execute(
                dbm.idempotency.insert().values(
                    key_id=who.key_id,
                    idem_key=idem_key,
                    route=route,
                    request_hash=fingerprint,
                    job_id=row["id"],
                    created_at=t,
                )
            )
        conn.execute(dbm.jobs.insert().values(**row))
        add_event(conn, row["id"], "job.queued", {"state": state, "model": model})
        stored = get_job_row(conn, row["id"])
        assert stored is not None
        return stored, False

    created, replayed = await app.db.run(insert)
    if not replayed:
        app.engine.notifier.work.set()
    return created, replayed


def _idempotent_lookup(
    conn: Connection, key_id: str, idem_key: str, fingerprint: str
) -> str | None:
    """The resource an Idempotency-Key made (``None``: first use); 422 on another request."""
    seen = dbm.first(
        conn.execute(
            sa.select(dbm.idempotency).where(
                dbm.idempotency.c.key_id == key_id,
                dbm.idempotency.c.idem_key == idem_key,
            )
        )
    )
    if seen is None:
        return None
    if seen["request_hash"] != fingerprint:
        raise ApiError(
            422, "this Idempotency-Key was used with another request", "idempotency_key_reused"
        )
    if seen["job_id"] is None:
        raise ApiError(
            409,
            "a request with this Idempotency-Key is still being accepted",
            "idempotency_conflict",
        )
    return str(seen["job_id"])


RESERVATION_STALE = 120.0
"""Seconds after which a reservation left by a crashed request no longer blocks its key."""


async def reserve_idempotency(request: Request, who: auth.Principal, route: str) -> None:
    """For routes whose acceptance is slow (uploads): the key is reserved in the database
    (``job_id`` NULL) before the body is read, so a second request with it — on any
    instance — gets 409 instead of a second job."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return
    if not 0 < len(key) <= 255:
        raise ApiError(400, "Idempotency-Key must be 1–255 characters", "invalid_idempotency_key")
    i = dbm.idempotency

    def reserve(conn: Connection) -> bool:
        where = sa.and_(i.c.key_id == who.key_id, i.c.idem_key == key)
        seen = dbm.first(conn.execute(sa.select(i).where(where)))
        t = dbm.now()
        if seen is None:
            conn.execute(
                i.insert().values(
                    key_id=who.key_id,
                    idem_key=key,
                    route=route,
                    request_hash="",
                    job_id=None,
                    created_at=t,
                )
            )
            return True
        if seen["job_id"] is not None:
            return False  # made already: create_job replays it (or answers 422)
        if t - seen["created_at"] < RESERVATION_STALE:
            raise ApiError(
                409,
                "a request with this Idempotency-Key is still being accepted",
                "idempotency_conflict",
            )
        conn.execute(i.update().where(where).values(created_at=t, route=route))
        return True

    if await request.app.state.db.run(reserve):
        request.state.idem_reserved = (who.key_id, key)


async def release_idempotency(request: Request) -> None:
    """Drop this request's reservation if it made no job (validation failed, client left)."""
    reserved = getattr(request.state, "idem_reserved", None)
    if reserved is None:
        return
    i = dbm.idempotency
    await request.app.state.db.run(
        lambda c: c.execute(
            i.delete().where(
                i.c.key_id == reserved[0], i.c.idem_key == reserved[1], i.c.job_id.is_(None)
            )
        )
    )


def get_job_row(conn: Connection, job_id: str) -> dict[str, Any] | None:
    return dbm.first(conn.execute(sa.select(dbm.jobs).where(dbm.jobs.c.id == job_id)))


async def owned_job(request: Request, who: auth.Principal, job_id: str) -> dict[str, Any]:
    """The job if it exists, is not deleted and belongs to the caller; else 404 — for
    every other key, the master key included (it manages keys, not other keys' jobs)."""
    row: dict[str, Any] | None = await request.app.state.db.run(lambda c: get_job_row(c, job_id))
    if row is None or row["deleted"] or row["key_id"] != who.key_id:
        raise ApiError(404, f"no job {job_id!r}", "not_found")
    return row


async def wait_final(request: Request, job_id: str, timeout: float) -> dict[str, Any]:
    """Wait until a job is final (wake-ups, with a database re-read every second)."""
    app = request.app.state
    deadline = time.monotonic() + timeout
    while True:
        row: dict[str, Any] | None = await app.db.run(lambda c: get_job_row(c, job_id))
        assert row is not None
        if row["state"] in dbm.TERMINAL_STATES:
            return row
        left = deadline - time.monotonic()
        if left <= 0:
            return row
        await app.engine.notifier.wait_job(job_id, min(1.0, left))


def _failure(row: dict[str, Any]) -> ApiError:
    error = dbm.loads(row["error"]) or {}
    code = error.get("code") or "generation_failed"
    status = 400 if code in ("invalid_request", "moderation_blocked") else 502
    if row["state"] not in dbm.TERMINAL_STATES:
        status, code = 504, "timeout"
    # A submit may have been sent: tell the openai client not to retry by itself.
    return ApiError(
        status,
        error.get("message") or f"job {row['id']} is {row['state']}",
        code,
        headers={"x-should-retry": "false", "x-tarash-job-id": row["id"]},
    )


def signed_url(request: Request, job_id: str, name: str, ttl: int = 3600) -> str:
    exp = int(time.time()) + ttl
    sig = _url_sig(request.app.state.url_secret, job_id, name, exp)
    return str(
        request.url_for("signed_file", job_id=job_id, name=name).include_query_params(
            exp=exp, sig=sig
        )
    )


def _url_sig(secret: str, job_id: str, name: str, exp: int) -> str:
    mac = hmac.new(secret.encode(), f"{job_id}/{name}/{exp}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def result_items(request: Request, row: dict[str, Any]) -> list[dict[str, Any]]:
    result = dbm.loads(row["result"]) or {}
    items = []
    for item in result.get("items", []):
        if "file" in item:
            items.append({**item, "url": signed_url(request, row["id"], item["file"])})
        else:
            items.append(item)
    return items


def result_item(row: dict[str, Any], index: int) -> dict[str, Any]:
    """Result ``index`` of a completed job (409 while it is not, 404 past the end)."""
    if row["state"] != "completed":
        raise ApiError(409, f"job {row['id']} is {row['state']}, not completed", "not_ready")
    items = (dbm.loads(row["result"]) or {}).get("items", [])
    if not 0 <= index < len(items):
        raise ApiError(404, f"no result {index} for job {row['id']}", "not_found")
    item: dict[str, Any] = items[index]
    return item


async def content_response(request: Request, row: dict[str, Any], index: int) -> Response:
    item = result_item(row, index)
    if "file" in item:
        store = request.app.state.results
        response: Response = await store.response(row["id"], item["file"], item.get("content_type"))
        return response
    return RedirectResponse(item["url"], status_code=302)


# ============================================================================ models, keys


@router.get("/v1/models")
async def list_models(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    data = [
        {"id": name, "object": "model", "created": 0, "owned_by": alias.provider}
        for name, alias in request.app.state.settings.model_names()
        if who.may_use(name)
    ]
    return {"object": "list", "data": data}


class KeyCreate(BaseModel):
    name: str = ""
    models: list[str] = Field(default_factory=list)
    budget_usd: float | None = Field(default=None, ge=0)


@router.post("/v1/keys")
async def create_key(body: KeyCreate, request: Request, _: auth.Principal = Depends(admin)) -> Any:
    secret, record = await request.app.state.db.run(
        lambda c: auth.create_key(c, body.name, body.models, body.budget_usd)
    )
    return {**record, "key": secret}


@router.get("/v1/keys")
async def get_keys(request: Request, _: auth.Principal = Depends(admin)) -> Any:
    return {"object": "list", "data": await request.app.state.db.run(auth.list_keys)}


@router.delete("/v1/keys/{key_id}")
async def delete_key(key_id: str, request: Request, _: auth.Principal = Depends(admin)) -> Any:
    done = await request.app.state.db.run(lambda c: auth.revoke_key(c, key_id))
    if not done:
        raise ApiError(404, f"no live key {key_id!r}", "not_found")
    return {"id": key_id, "object": "key", "revoked": True}


# ============================================================================ images


class ImageGenerate(BaseModel):
    prompt: str
    model: str | None = None
    n: int | None = Field(default=None, ge=1, le=10)
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = "b64_json"
    background: str | None = None
    output_format: str | None = None
    user: str | None = None


def _default_model(request: Request, operation: str) -> str:
    for name, alias in request.app.state.settings.model_names():
        if alias.operation == operation:
            return str(name)
    raise ApiError(400, "model is required", "missing_model", "model")


async def _images_answer(
    request: Request, who: auth.Principal, row: dict[str, Any], response_format: str
) -> Any:
    settings = request.app.state.settings
    timeout = settings.build_configs(row["model_alias"], "image")[0].timeout * 2
    final = await wait_final(request, row["id"], timeout)
    if final["state"] != "completed":
        raise _failure(final)
    data = []
    for item in result_items(request, final):
        if response_format == "url":
            data.append({"url": item["url"]})
        elif "file" in item:
            raw = await request.app.state.results.read(final["id"], item["file"])
            data.append({"b64_json": base64.b64encode(raw).decode()})
        else:
            data.append({"url": item["url"]})
    meta = (dbm.loads(final["result"]) or {}).get("meta", {})
    body: dict[str, Any] = {"created": int(final["created_at"]), "data": data}
    if meta.get("revised_prompt"):
        for entry in data:
            entry["revised_prompt"] = meta["revised_prompt"]
    return JSONResponse(body, headers={"x-tarash-job-id": final["id"]})


@router.post("/v1/images/generations")
async def images_generations(
    body: ImageGenerate, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    model = body.model or _default_model(request, "image")
    job_request = _build(
        ImageGenerationRequest,
        prompt=body.prompt,
        n=body.n,
        size=None if body.size in (None, "auto") else body.size,
        quality=body.quality,
        style=body.style,
    )
    row, _ = await create_job(
        request,
        who,
        route="images.generations",
        operation="image",
        model=model,
        job_request=job_request,
        options={"response_format": body.response_format},
    )
    return await _images_answer(request, who, row, body.response_format or "b64_json")


async def _read_upload(value: Any, field: str) -> str:
    if not isinstance(value, UploadFile):
        raise ApiError(400, f"{field} must be a file", "invalid_request", field)
    data = await value.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ApiError(413, f"{field} is larger than {MAX_UPLOAD} bytes", "too_large", field)
    ctype = sniff_content_type(data) or value.content_type or "application/octet-stream"
    return to_data_uri(data, ctype)


def _form_str(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value != "" else None


@router.post("/v1/images/edits")
async def images_edits(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    await reserve_idempotency(request, who, "images.edits")
    try:
        form = await request.form(max_part_size=MAX_UPLOAD)
        files = [*form.getlist("image[]"), *form.getlist("image")]
        if not files:
            raise ApiError(400, "image is required", "invalid_request", "image")
        images = [await _read_upload(f, "image") for f in files]
        mask = form.get("mask")
        prompt = _form_str(form, "prompt")
        if prompt is None:
            raise ApiError(400, "prompt is required", "invalid_request", "prompt")
        n = _form_str(form, "n")
        size = _form_str(form, "size")
        job_request = _build(
            ImageGenerationRequest,
            prompt=prompt,
            image_list=[{"image": i, "type": "reference"} for i in images],
            mask_image=await _read_upload(mask, "mask") if mask is not None else None,
            n=int(n) if n else None,
            size=None if size in (None, "auto") else size,
            quality=_form_str(form, "quality"),
        )
        model = _form_str(form, "model") or _default_model(request, "image")
        response_format = _form_str(form, "response_format") or "b64_json"
        row, _ = await create_job(
            request,
            who,
            route="images.edits",
            operation="image",
            model=model,
            job_request=job_request,
            options={"response_format": response_format},
        )
    finally:
        await release_idempotency(request)
    return await _images_answer(request, who, row, response_format)


def _build(model: type[BaseGenerationRequest], **fields: Any) -> Any:
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(400, f"{param}: {first['msg']}", "invalid_request", param) from None


# ============================================================================ speech


class Speech(BaseModel):
    model: str
    input: str = Field(min_length=1, max_length=4096)
    voice: str | dict[str, Any] | None = None
    instructions: str | None = None
    response_format: str = "mp3"
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    stream_format: str = "audio"


@router.post("/v1/audio/speech")
async def audio_speech(
    body: Speech, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    """Speech, streamed as the provider produces it (``stream_format=sse``: OpenAI's
    ``speech.audio.delta`` / ``speech.audio.done`` events). The job is a row first; its
    audio is also kept, so ``GET /v1/jobs/{id}/content`` serves it afterwards."""
    voice = body.voice.get("id") if isinstance(body.voice, dict) else body.voice
    extra: dict[str, Any] = {}
    if body.speed is not None:
        extra["speed"] = body.speed
    if body.instructions:
        extra["instructions"] = body.instructions
    job_request = _build(
        TTSRequest,
        text=body.input,
        voice_id=voice,
        output_format=AudioOutputFormat(format=body.response_format),
        extra_params=extra or None,
    )
    row, replayed = await create_job(
        request,
        who,
        route="audio.speech",
        operation="tts",
        model=body.model,
        job_request=job_request,
        options={"stream_format": body.stream_format},
        state="queued" if request.headers.get("idempotency-key") else "streaming",
    )
    if replayed or row["state"] == "queued":
        # With an Idempotency-Key the job runs as a durable job; the answer is its audio.
        final = await wait_final(request, row["id"], 600)
        if final["state"] != "completed":
            raise _failure(final)
        return await content_response(request, final, 0)
    return await _stream_speech(request, row, job_request, body.stream_format == "sse")


async def _stream_speech(
    request: Request, row: dict[str, Any], job_request: TTSRequest, sse: bool
) -> Response:
    app = request.app.state
    engine = app.engine
    job_id = row["id"]
    config = app.settings.build_configs(row["model_alias"], "tts")[0]
    assert isinstance(config, AudioGenerationConfig)
    stream = stream_tts_async(config, job_request)
    engine.streaming.add(job_id)
    try:
        iterator = stream.__aiter__()
        first = await iterator.__anext__()
    except (TarashException, StopAsyncIteration) as exc:
        engine.streaming.discard(job_id)
        await stream.aclose()
        error = (
            error_json(exc)
            if isinstance(exc, TarashException)
            else {"code": "empty_audio", "message": "no audio"}
        )
        await app.db.run(lambda c: engine._finish(c, job_id, "failed", error=error))
        raise _failure({**row, "state": "failed", "error": json.dumps(error)}) from None
    ctype = stream.content_type or sniff_content_type(first) or "application/octet-stream"
    name = f"0{_ext(ctype)}"
    fh = await app.results.open_writer(job_id, name)

    async def body() -> AsyncIterator[bytes]:
        size = 0
        outcome: tuple[str, dict[str, Any] | None] = (
            "failed",
            {"code": "client_disconnected", "message": "the client went away during the stream"},
        )
        try:
            chunk: bytes | None = first
            while chunk is not None:
                await fh.write(chunk)
                size += len(chunk)
                if sse:
                    event = {
                        "type": "speech.audio.delta",
                        "audio": base64.b64encode(chunk).decode(),
                    }
                    yield f"data: {json.dumps(event)}\n\n".encode()
                else:
                    yield chunk
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    chunk = None
            if sse:
                done = {
                    "type": "speech.audio.done",
                    "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
                }
                yield f"data: {json.dumps(done)}\n\n".encode()
            outcome = ("completed", None)
        except TarashException as exc:
            outcome = ("failed", error_json(exc))
        finally:
            await fh.close()
            await stream.aclose()
            result: dict[str, Any] = {
                "items": [{"file": name, "content_type": ctype, "size": size}],
                "meta": {},
                "cost": None,
                "warnings": [],
            }
            state, error = outcome
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    app.db.run(
                        lambda c: engine._finish(
                            c,
                            job_id,
                            state,
                            result=result if state == "completed" else None,
                            error=error,
                            fence=False,
                        )
                    )
                )
            engine.streaming.discard(job_id)

    media = "text/event-stream" if sse else ctype
    return StreamingResponse(body(), media_type=media, headers={"x-tarash-job-id": job_id})


def _ext(ctype: str) -> str:
    from tarash.tarash_gateway.media import extension_for

    return extension_for(ctype)


@router.post("/v1/audio/voice-changer")
async def voice_changer(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    """Speech to speech: multipart ``audio`` (file) + ``voice_id`` + ``model``; answers the
    converted audio (the job stays fetchable at ``/v1/jobs/{id}``)."""
    await reserve_idempotency(request, who, "audio.voice_changer")
    try:
        form = await request.form(max_part_size=MAX_UPLOAD)
        audio = form.get("audio")
        if audio is None:
            raise ApiError(400, "audio is required", "invalid_request", "audio")
        voice = _form_str(form, "voice_id") or _form_str(form, "voice")
        if voice is None:
            raise ApiError(400, "voice_id is required", "invalid_request", "voice_id")
        fmt = _form_str(form, "output_format")
        job_request = _build(
            STSRequest,
            audio=await _read_upload(audio, "audio"),
            voice_id=voice,
            output_format=AudioOutputFormat(format=fmt) if fmt else None,
        )
        model = _form_str(form, "model") or _default_model(request, "sts")
        row, _ = await create_job(
            request,
            who,
            route="audio.voice_changer",
            operation="sts",
            model=model,
            job_request=job_request,
        )
    finally:
        await release_idempotency(request)
    final = await wait_final(request, row["id"], 600)
    if final["state"] != "completed":
        raise _failure(final)
    return await content_response(request, final, 0)


# ============================================================================ videos


_OPENAI_STATUS = {
    "queued": "queued",
    "submitting": "queued",
    "in_progress": "in_progress",
    "fetching": "in_progress",
    "cancelling": "in_progress",
    "completed": "completed",
}

_SIZES = {  # OpenAI video sizes (types/video_size.py) → our aspect ratio and resolution
    "720x1280": ("9:16", "720p"),
    "1280x720": ("16:9", "720p"),
    "1024x1792": ("9:16", "1080p"),
    "1792x1024": ("16:9", "1080p"),
}


def video_object(row: dict[str, Any]) -> dict[str, Any]:
    """A job as OpenAI's ``Video``."""
    request = json.loads(row["request"])
    options = json.loads(row["options"] or "{}")
    status = _OPENAI_STATUS.get(row["state"], "failed")
    body: dict[str, Any] = {
        "id": row["id"],
        "object": "video",
        "status": status,
        "progress": int(row["progress"] or 0) if status != "completed" else 100,
        "created_at": int(row["created_at"]),
        "completed_at": int(row["completed_at"])
        if row["completed_at"] and status == "completed"
        else None,
        "expires_at": None,
        "model": row["model_alias"],
        "prompt": request.get("prompt"),
        "seconds": _video_seconds(row, options, request, status),
        "size": options.get("size") or "",
        "remixed_from_video_id": options.get("remixed_from"),
        "error": None,
    }
    if status == "failed":
        error = dbm.loads(row["error"]) or {}
        code = error.get("code") or ("cancelled" if row["state"] == "cancelled" else row["state"])
        body["error"] = {"code": code, "message": error.get("message") or row["state"]}
    return body


def _video_seconds(
    row: dict[str, Any], options: dict[str, Any], request: dict[str, Any], status: str
) -> str:
    if options.get("video_mode") == "extend" and status == "completed":
        duration = ((dbm.loads(row["result"]) or {}).get("meta") or {}).get("duration")
        if isinstance(duration, int | float) and duration > 0:
            return str(round(duration))  # the stitched total the provider reported
    return str(options.get("seconds") or request.get("duration_seconds") or "")


def _poll_after_ms(row: dict[str, Any]) -> str:
    if row["state"] in dbm.TERMINAL_STATES:
        return "0"
    wait = max(0.0, row["next_poll_at"] - time.time())
    return str(int(max(250.0, min(5000.0, wait * 1000 + 100))))


def _video_response(row: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        video_object(row),
        status_code=status_code,
        headers={"openai-poll-after-ms": _poll_after_ms(row)},
    )


@router.post("/v1/videos")
async def create_video(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    await reserve_idempotency(request, who, "videos.create")
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            form: Any = await request.json()
        else:
            form = await request.form(max_part_size=MAX_UPLOAD)
        prompt = _form_str(form, "prompt")
        if prompt is None:
            raise ApiError(400, "prompt is required", "invalid_request", "prompt")
        seconds = _form_str(form, "seconds")
        size = _form_str(form, "size")
        images: list[str] = []
        reference = form.get("input_reference")
        if reference is not None and not isinstance(reference, str | dict):
            images.append(await _read_upload(reference, "input_reference"))
        url = _form_str(form, "input_reference[image_url]")
        if isinstance(reference, dict):
            url = reference.get("image_url")
        if url:
            images.append(url)
        aspect, resolution = _SIZES.get(size or "", (None, None))
        if size and aspect is None and "x" in size:
            w, _, h = size.partition("x")
            if w.isdigit() and h.isdigit():
                aspect = f"{w}:{h}"
        if seconds is not None and not seconds.isdigit():
            raise ApiError(400, "seconds must be a whole number", "invalid_request", "seconds")
        job_request = _build(
            VideoGenerationRequest,
            prompt=prompt,
            duration_seconds=int(seconds) if seconds else None,
            aspect_ratio=aspect,
            resolution=resolution,
            image_list=[{"image": i, "type": "first_frame"} for i in images] or None,
        )
        model = _form_str(form, "model") or _default_model(request, "video")
        row, _ = await create_job(
            request,
            who,
            route="videos.create",
            operation="video",
            model=model,
            job_request=job_request,
            options={"seconds": seconds, "size": size},
            callback_url=_form_str(form, "callback_url"),
        )
    finally:
        await release_idempotency(request)
    return _video_response(row)


@router.get("/v1/videos")
async def list_videos(
    request: Request,
    after: str | None = None,
    limit: int = 20,
    order: str = "desc",
    who: auth.Principal = Depends(principal),
) -> Any:
    limit = max(1, min(100, limit))
    j = dbm.jobs

    def query(conn: Connection) -> list[dict[str, Any]]:
        where = [j.c.key_id == who.key_id, j.c.operation == "video", j.c.deleted.is_(False)]
        if after:
            pivot = get_job_row(conn, after)
            if pivot is not None:
                where.append(
                    j.c.created_at < pivot["created_at"]
                    if order == "desc"
                    else j.c.created_at > pivot["created_at"]
                )
        ordering = j.c.created_at.desc() if order == "desc" else j.c.created_at.asc()
        return dbm.rows(
            conn.execute(sa.select(j).where(*where).order_by(ordering).limit(limit + 1))
        )

    found = await request.app.state.db.run(query)
    page = found[:limit]
    data = [video_object(r) for r in page]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(found) > limit,
    }


@router.get("/v1/videos/{video_id}")
async def get_video(
    video_id: str, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    row = await owned_job(request, who, video_id)
    if row["operation"] != "video":
        raise ApiError(404, f"no video {video_id!r}", "not_found")
    return _video_response(row)


@router.get("/v1/videos/{video_id}/content")
async def video_content(
    video_id: str,
    request: Request,
    variant: str = "video",
    who: auth.Principal = Depends(principal),
) -> Any:
    """The video (``variant=video``, the default), or a preview made from it:
    ``thumbnail`` (WebP) or ``spritesheet`` (JPEG) — see ``server/previews.py``."""
    row = await owned_job(request, who, video_id)
    if row["operation"] != "video":
        raise ApiError(404, f"no video {video_id!r}", "not_found")
    if variant not in previews.VARIANTS:
        raise ApiError(
            400,
            f"variant must be one of {', '.join(previews.VARIANTS)}, not {variant!r}",
            "invalid_request",
            "variant",
        )
    kind = previews.VARIANTS[variant]
    if kind is None:
        return await content_response(request, row, 0)
    item = result_item(row, 0)
    content_type, name = kind
    store = request.app.state.results
    if not await store.exists(row["id"], name):
        if not previews.have_decoder():
            raise ApiError(
                404,
                f"variant {variant!r} is not available for video {video_id}: the server has "
                "no video decoder to make it (install tarash-gateway[previews])",
                "variant_not_available",
                "variant",
            )
        source = await _video_bytes(request, row, item)
        try:
            image = await asyncio.to_thread(previews.make_preview, source, variant)
        except previews.PreviewError as exc:
            raise ApiError(
                404,
                f"variant {variant!r} is not available for video {video_id}: {exc}",
                "variant_not_available",
                "variant",
            ) from None
        await store.write(row["id"], name, image, content_type)
    response: Response = await store.response(row["id"], name, content_type)
    return response


MAX_PREVIEW_SOURCE = 512 * 1024 * 1024
"""Largest video downloaded from a provider URL to make a preview of it."""


async def _video_bytes(request: Request, row: dict[str, Any], item: dict[str, Any]) -> bytes:
    """A video result's bytes: from storage, or downloaded (bounded) from its URL."""
    if "file" in item:
        data: bytes = await request.app.state.results.read(row["id"], item["file"])
        return data
    url = str(item["url"])
    if not request.app.state.settings.allow_private_urls:
        await check_media_urls(VideoGenerationRequest(prompt="-", video=url))
    import httpx

    chunks: list[bytes] = []
    size = 0
    try:
        async with (
            httpx.AsyncClient(timeout=60, follow_redirects=True) as client,
            client.stream("GET", url) as answer,
        ):
            answer.raise_for_status()
            async for chunk in answer.aiter_bytes():
                size += len(chunk)
                if size > MAX_PREVIEW_SOURCE:
                    raise ApiError(
                        404,
                        f"video {row['id']} is larger than {MAX_PREVIEW_SOURCE} bytes: no preview",
                        "variant_not_available",
                        "variant",
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ApiError(
            502,
            f"cannot download video {row['id']} from its provider to make a preview: "
            f"{type(exc).__name__}",
            "upstream_error",
        ) from None
    return b"".join(chunks)


@router.delete("/v1/videos/{video_id}")
async def delete_video(
    video_id: str, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    """Deletes the video; a job still running is cancelled upstream first."""
    row = await owned_job(request, who, video_id)
    if row["operation"] != "video":
        raise ApiError(404, f"no video {video_id!r}", "not_found")
    await _request_cancel(request, row, delete=True)
    if row["state"] in dbm.TERMINAL_STATES:
        await request.app.state.results.remove(row["id"])
    return {"id": video_id, "deleted": True, "object": "video.deleted"}


class Remix(BaseModel):
    prompt: str = Field(min_length=1)


@router.post("/v1/videos/{video_id}/remix")
async def remix_video(
    video_id: str, body: Remix, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    """A new video from a completed one and a new prompt, on the same model: the source
    video goes to the provider as the request's input ``video`` (models that take no
    input video fail the new job with ``invalid_request``)."""
    source = await owned_job(request, who, video_id)
    if source["operation"] != "video":
        raise ApiError(404, f"no video {video_id!r}", "not_found")
    if source["state"] != "completed":
        raise ApiError(400, f"video {video_id} is {source['state']}, not completed", "not_ready")
    video = await _source_video(request, source)
    original = json.loads(source["request"])
    options = json.loads(source["options"] or "{}")
    job_request = _build(
        VideoGenerationRequest,
        prompt=body.prompt,
        video=video,
        duration_seconds=original.get("duration_seconds"),
        aspect_ratio=original.get("aspect_ratio"),
        resolution=original.get("resolution"),
    )
    row, _ = await create_job(
        request,
        who,
        route="videos.remix",
        operation="video",
        model=source["model_alias"],
        job_request=job_request,
        options={**options, "remixed_from": video_id},
    )
    return _video_response(row)


# POST /v1/videos/edits and /v1/videos/extensions, as the installed openai SDK sends them
# (resources/videos.py `edit` / `extend`, types/video_edit_params.py and
# video_extend_params.py; checked 2026-12-04): always multipart; `prompt`; `video` either a
# file or a reference `{"id": <completed video>}`, which the SDK's form encoding sends as
# the field `video[id]`; `seconds` (extensions, required: types/video_seconds.py "4" | "8" |
# "12", the docstring also names 16 and 20) is the length of the new segment.

_VIDEO_MODE_ROUTE = {"edit": "videos.edits", "extend": "videos.extensions"}


@router.post("/v1/videos/edits")
async def edit_video(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    """A new video made by editing a source video (a completed video or an upload)."""
    return await _video_to_video(request, who, "edit")


@router.post("/v1/videos/extensions")
async def extend_video(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    """A new video: the source video continued by ``seconds`` more."""
    return await _video_to_video(request, who, "extend")


async def _video_to_video(request: Request, who: auth.Principal, mode: str) -> Any:
    route = _VIDEO_MODE_ROUTE[mode]
    await reserve_idempotency(request, who, route)
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            form: Any = await request.json()
            if not isinstance(form, dict):
                raise ApiError(400, "the body must be a JSON object", "invalid_request")
        else:
            form = await request.form(max_part_size=MAX_UPLOAD)
        prompt = _form_str(form, "prompt")
        if prompt is None:
            raise ApiError(400, "prompt is required", "invalid_request", "prompt")
        seconds = _form_str(form, "seconds")
        if mode == "extend" and seconds is None:
            raise ApiError(400, "seconds is required", "invalid_request", "seconds")
        if seconds is not None and not seconds.isdigit():
            raise ApiError(400, "seconds must be a whole number", "invalid_request", "seconds")
        given = form.get("video")
        reference = _form_str(form, "video[id]")
        if isinstance(given, dict):
            reference = given.get("id") if isinstance(given.get("id"), str) else None
            given = None
        elif isinstance(given, str):
            given = None
        if reference is not None and given is not None:
            raise ApiError(
                400, "give video as a file or as video[id], not both", "invalid_request", "video"
            )
        if reference is None and given is None:
            raise ApiError(
                400, "video is required (a file, or video[id])", "invalid_request", "video"
            )
        original: dict[str, Any] = {}
        source_options: dict[str, Any] = {}
        if reference is not None:
            source = await owned_job(request, who, reference)
            if source["operation"] != "video":
                raise ApiError(404, f"no video {reference!r}", "not_found", "video")
            if source["state"] != "completed":
                raise ApiError(
                    400, f"video {reference} is {source['state']}, not completed", "not_ready"
                )
            video = await _source_video(request, source)
            original = json.loads(source["request"])
            source_options = json.loads(source["options"] or "{}")
            default_model = str(source["model_alias"])
        else:
            video = await _read_upload(given, "video")
            default_model = _default_video_model(request, mode)
        model = _form_str(form, "model") or default_model
        alias = request.app.state.settings.resolve(model)
        if alias is not None and not alias.serves_video_mode(mode):
            what = "edit" if mode == "edit" else "extend"
            raise ApiError(
                400,
                f"model {model!r} ({alias.provider}/{alias.model}) cannot {what} videos here: "
                f'only models whose [models.<alias>] video_modes lists "{mode}" are sent a '
                "source video for this route (the mock does both)",
                "unsupported_video_operation",
                "model",
            )
        job_request = _build(
            VideoGenerationRequest,
            prompt=prompt,
            video=video,
            duration_seconds=int(seconds) if seconds else original.get("duration_seconds"),
            aspect_ratio=original.get("aspect_ratio"),
            resolution=original.get("resolution"),
            provider_options={"mock": {"video_mode": mode}},  # only the mock reads it
        )
        from_key = "edited_from" if mode == "edit" else "extended_from"
        source_seconds = str(
            source_options.get("seconds") or original.get("duration_seconds") or ""
        )
        total = seconds  # an extension's `seconds` is the stitched total, once known
        if mode == "extend" and seconds and source_seconds.isdigit():
            total = str(int(source_seconds) + int(seconds))
        options = {
            "seconds": total if mode == "extend" else (source_seconds or None),
            "segment_seconds": seconds if mode == "extend" else None,
            "size": source_options.get("size"),
            "video_mode": mode,
            from_key: reference,
        }
        row, _ = await create_job(
            request,
            who,
            route=route,
            operation="video",
            model=model,
            job_request=job_request,
            options=options,
            callback_url=_form_str(form, "callback_url"),
        )
    finally:
        await release_idempotency(request)
    return _video_response(row)


def _default_video_model(request: Request, mode: str) -> str:
    """For an uploaded source: the first video model that serves ``mode``."""
    for name, alias in request.app.state.settings.model_names():
        if alias.operation == "video" and alias.serves_video_mode(mode):
            return str(name)
    raise ApiError(
        400, f"model is required (no model here serves {mode})", "missing_model", "model"
    )


async def _source_video(request: Request, source: dict[str, Any]) -> str:
    """A completed video as an input: its stored bytes as a data URI (≤ 50 MB), or the
    provider's URL."""
    item = (dbm.loads(source["result"]) or {}).get("items", [{}])[0]
    if "file" not in item:
        return str(item["url"])
    if item.get("size", 0) > MAX_UPLOAD:
        raise ApiError(400, f"video {source['id']} is too large to use as input", "too_large")
    data = await request.app.state.results.read(source["id"], item["file"])
    return to_data_uri(data, item.get("content_type") or "video/mp4")


@router.post("/v1/videos/{video_id}/cancel")
async def cancel_video(
    video_id: str, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    row = await owned_job(request, who, video_id)
    row = await _request_cancel(request, row)
    return _video_response(row)


async def _request_cancel(
    request: Request, row: dict[str, Any], delete: bool = False
) -> dict[str, Any]:
    app = request.app.state
    job_id = row["id"]

    def mark(conn: Connection) -> dict[str, Any]:
        values: dict[str, Any] = {"updated_at": dbm.now()}
        if delete:
            values["deleted"] = True
        conn.execute(dbm.jobs.update().where(dbm.jobs.c.id == job_id).values(**values))
        conn.execute(
            dbm.jobs.update()
            .where(dbm.jobs.c.id == job_id, dbm.jobs.c.state.not_in(dbm.TERMINAL_STATES))
            .values(cancel_requested=True, next_poll_at=dbm.now())
        )
        add_event(conn, job_id, "job.cancel_requested", {})
        found = get_job_row(conn, job_id)
        assert found is not None
        return found

    updated: dict[str, Any] = await app.db.run(mark)
    app.engine.notifier.work.set()
    return updated


# ============================================================================ own jobs


class JobCreate(BaseModel):
    operation: str = Field(pattern="^(video|image|tts|sts)$")
    model: str
    request: dict[str, Any]
    callback_url: str | None = None


def job_object(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    result = dbm.loads(row["result"]) or {}
    ref = dbm.loads(row["job_ref"]) or {}
    return {
        "id": row["id"],
        "object": "job",
        "operation": row["operation"],
        "model": row["model_alias"],
        "state": row["state"],
        "progress": row["progress"],
        "provider": row["provider"],
        "provider_request_id": ref.get("provider_request_id"),
        "intent_id": row["intent_id"],
        "attempts": row["attempts"],
        "submits": row["submits"],
        "chain_index": row["chain_index"],
        "cancel_requested": bool(row["cancel_requested"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "completed_at": row["completed_at"],
        "error": dbm.loads(row["error"]),
        "result": {
            "items": result_items(request, row),
            "meta": result.get("meta", {}),
            "cost": result.get("cost"),
            "warnings": result.get("warnings", []),
        }
        if row["state"] == "completed"
        else None,
    }


@router.post("/v1/jobs")
async def create_any_job(
    body: JobCreate, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    job_request = _build(REQUEST_TYPES[body.operation], **body.request)
    row, replayed = await create_job(
        request,
        who,
        route="jobs",
        operation=body.operation,
        model=body.model,
        job_request=job_request,
        callback_url=body.callback_url,
    )
    headers = {"idempotent-replayed": "true"} if replayed else {}
    return JSONResponse(
        job_object(request, row), status_code=200 if replayed else 201, headers=headers
    )


@router.get("/v1/jobs")
async def list_jobs(
    request: Request, limit: int = 50, who: auth.Principal = Depends(principal)
) -> Any:
    limit = max(1, min(500, limit))
    j = dbm.jobs
    found = await request.app.state.db.run(
        lambda c: dbm.rows(
            c.execute(
                sa.select(j)
                .where(j.c.key_id == who.key_id, j.c.deleted.is_(False))
                .order_by(j.c.created_at.desc())
                .limit(limit)
            )
        )
    )
    return {"object": "list", "data": [job_object(request, r) for r in found]}


@router.get("/v1/jobs/{job_id}")
async def get_job(job_id: str, request: Request, who: auth.Principal = Depends(principal)) -> Any:
    return job_object(request, await owned_job(request, who, job_id))


@router.post("/v1/jobs/{job_id}/cancel")
async def cancel_job(
    job_id: str, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    row = await owned_job(request, who, job_id)
    return job_object(request, await _request_cancel(request, row))


@router.get("/v1/jobs/{job_id}/content")
async def job_content(
    job_id: str, request: Request, index: int = 0, who: auth.Principal = Depends(principal)
) -> Any:
    return await content_response(request, await owned_job(request, who, job_id), index)


@router.get("/v1/jobs/{job_id}/events")
async def job_events(
    job_id: str, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    """Server-sent events of one job, from the start or after ``Last-Event-ID``; the
    stream ends after the final event. Each event: ``id`` (sequence), ``event`` (type),
    ``data`` (JSON)."""
    await owned_job(request, who, job_id)
    app = request.app.state
    last = request.headers.get("last-event-id") or request.query_params.get("last_event_id") or "0"
    try:
        after = int(last)
    except ValueError:
        raise ApiError(400, "Last-Event-ID must be an event id", "invalid_request") from None

    def read(conn: Connection, after: int) -> tuple[list[dict[str, Any]], str]:
        events = dbm.rows(
            conn.execute(
                sa.select(dbm.job_events)
                .where(dbm.job_events.c.job_id == job_id, dbm.job_events.c.seq > after)
                .order_by(dbm.job_events.c.seq)
                .limit(500)
            )
        )
        state = conn.execute(
            sa.select(dbm.jobs.c.state).where(dbm.jobs.c.id == job_id)
        ).scalar_one()
        return events, str(state)

    async def stream() -> AsyncIterator[bytes]:
        cursor = after
        idle = 0.0
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            events, state = await app.db.run(lambda c, at=cursor: read(c, at))
            for event in events:
                cursor = event["seq"]
                yield f"id: {cursor}\nevent: {event['type']}\ndata: {event['data']}\n\n".encode()
            if not events and state in dbm.TERMINAL_STATES:
                return
            if events:
                idle = 0.0
                continue
            await app.engine.notifier.wait_job(job_id, 1.0)
            idle += 1.0
            if idle >= 15:
                idle = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


@router.get("/v1/files/{job_id}/{name}", name="signed_file")
async def signed_file(job_id: str, name: str, exp: int, sig: str, request: Request) -> Any:
    """A result file behind a signed, expiring URL (for ``response_format=url``)."""
    good = _url_sig(request.app.state.url_secret, job_id, name, exp)
    if exp < time.time() or not hmac.compare_digest(good, sig):
        raise ApiError(403, "invalid or expired link", "forbidden")
    store = request.app.state.results
    try:
        found = await store.exists(job_id, name)
    except ValueError:
        found = False
    if not found:
        raise ApiError(404, "no such file", "not_found")
    return await store.response(job_id, name, None, download=False)


# ============================================================================ webhook endpoints


class EndpointCreate(BaseModel):
    url: str
    name: str = ""
    event_types: list[str] = Field(default_factory=list)


def _endpoint(row: dict[str, Any], with_secret: bool = False) -> dict[str, Any]:
    body = {
        "id": row["id"],
        "object": "webhook_endpoint",
        "created_at": int(row["created_at"]),
        "event_types": json.loads(row["event_types"]),
        "name": row["name"],
        "url": row["url"],
        "signing_secret_hint": row["secret"][-4:],
        "updated_at": None,
    }
    if with_secret:
        body["signing_secret"] = row["secret"]
    return body


@router.post("/v1/webhook_endpoints")
async def create_endpoint(
    body: EndpointCreate, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    await check_callback_url(request, body.url)
    row = {
        "id": "we_" + secrets.token_hex(10),
        "key_id": who.key_id,
        "name": body.name,
        "url": body.url,
        "secret": new_secret(),
        "event_types": json.dumps(body.event_types),
        "created_at": dbm.now(),
        "deleted": False,
    }
    idem_key = request.headers.get("idempotency-key")
    fingerprint = _hash({"route": "webhook_endpoints", "body": body.model_dump()})

    def insert(conn: Connection) -> dict[str, Any]:
        if idem_key is not None:
            found = _idempotent_lookup(conn, who.key_id, idem_key, fingerprint)
            if found is not None:
                w = dbm.webhook_endpoints
                existing = dbm.first(conn.execute(sa.select(w).where(w.c.id == found)))
                assert existing is not None
                return existing
            conn.execute(
                dbm.idempotency.insert().values(
                    key_id=who.key_id,
                    idem_key=idem_key,
                    route="webhook_endpoints",
                    request_hash=fingerprint,
                    job_id=row["id"],
                    created_at=dbm.now(),
                )
            )
        conn.execute(dbm.webhook_endpoints.insert().values(**row))
        return row

    created: dict[str, Any] = await request.app.state.db.run(insert)
    return _endpoint(created, with_secret=True)


@router.get("/v1/webhook_endpoints")
async def list_endpoints(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    w = dbm.webhook_endpoints
    found = await request.app.state.db.run(
        lambda c: dbm.rows(
            c.execute(sa.select(w).where(w.c.key_id == who.key_id, w.c.deleted.is_(False)))
        )
    )
    data = [_endpoint(r) for r in found]
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "last_id": data[-1]["id"] if data else None,
    }


@router.delete("/v1/webhook_endpoints/{endpoint_id}")
async def delete_endpoint(
    endpoint_id: str, request: Request, who: auth.Principal = Depends(principal)
) -> Any:
    w = dbm.webhook_endpoints
    done = await request.app.state.db.run(
        lambda c: (
            c.execute(
                w.update()
                .where(w.c.id == endpoint_id, w.c.key_id == who.key_id, w.c.deleted.is_(False))
                .values(deleted=True)
            ).rowcount
        )
    )
    if not done:
        raise ApiError(404, f"no webhook endpoint {endpoint_id!r}", "not_found")
    return {"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True}


@router.get("/v1/callback_secret")
async def callback_secret(request: Request, who: auth.Principal = Depends(principal)) -> Any:
    """The ``whsec_`` secret that signs this key's ``callback_url`` deliveries."""
    return {
        "object": "callback_secret",
        "secret": request.app.state.webhooks.callback_secret(who.key_id),
    }


@router.get("/v1/webhook_deliveries")
async def list_deliveries(
    request: Request, job_id: str, who: auth.Principal = Depends(principal)
) -> Any:
    await owned_job(request, who, job_id)
    d = dbm.webhook_deliveries
    found = await request.app.state.db.run(
        lambda c: dbm.rows(
            c.execute(sa.select(d).where(d.c.job_id == job_id).order_by(d.c.created_at))
        )
    )
    keep = (
        "id",
        "event_type",
        "url",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "created_at",
        "delivered_at",
    )
    return {"object": "list", "data": [{k: r[k] for k in keep} for r in found]}


# ============================================================================ health, metrics


@router.get("/healthz")
async def healthz(request: Request) -> Any:
    await request.app.state.db.run(lambda c: c.execute(sa.text("SELECT 1")))
    return {"status": "ok", "worker_id": request.app.state.engine.worker_id}


@router.get("/metrics")
async def metrics(request: Request, _: auth.Principal = Depends(admin)) -> Any:
    j = dbm.jobs
    counts = await request.app.state.db.run(
        lambda c: [
            (str(r[0]), str(r[1] or ""), int(r[2]))
            for r in c.execute(
                sa.select(j.c.state, j.c.provider, sa.func.count()).group_by(
                    j.c.state, j.c.provider
                )
            )
        ]
    )
    m = request.app.state.metrics
    m.set_job_counts(counts)
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
