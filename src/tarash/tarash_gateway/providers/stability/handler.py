"""Stability AI image generation over REST v2beta (our own httpx code: no official REST SDK).

``POST {base}/v2beta/stable-image/generate/{ultra|core|sd3}`` with a
multipart/form-data body (always a real multipart body, even with text fields
only), ``Authorization: Bearer <key>`` and ``Accept`` set to ``image/*``
(default: raw bytes, ``finish-reason`` and ``seed`` response headers) or
``application/json`` (``{"image": base64, "finish_reason", "seed"}``) — pick
with ``provider_config={"accept": "application/json"}``.

Outcomes: ``finish_reason`` ``CONTENT_FILTERED`` (a 200) and 403
``content_moderation`` → :class:`ContentModerationError`; error bodies
``{"id", "name", "errors": [...]}``: 400/422 → :class:`ValidationError` (one
entry per message), 413 → :class:`ValidationError` (request too large), 401/403
→ :class:`AuthenticationError`, 429 → retryable :class:`RateLimitError`
(``Retry-After`` honoured), 5xx → retryable :class:`HTTPError`, network
failures → retryable :class:`HTTPConnectionError` / :class:`TimeoutError`.
The API reports no per-request credits, so ``cost`` stays ``None``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from tarash.tarash_gateway.catalog import as_model_unavailable
from tarash.tarash_gateway.exceptions import (
    ContentModerationError,
    GenerationFailedError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import DEFAULT_LIMITS, error_from_status, error_from_transport
from tarash.tarash_gateway.jobs import JobStatus, Operation
from tarash.tarash_gateway.media import MediaInput, extension_for, sniff_content_type
from tarash.tarash_gateway.models import BaseGenerationConfig, BaseGenerationRequest
from tarash.tarash_gateway.providers.base import AttemptContext, BaseProviderHandler, Prepared
from tarash.tarash_gateway.providers.field_mappers import apply_field_mappers, match_model_key
from tarash.tarash_gateway.providers.stability.field_mappings import (
    CORE,
    OPTION_KEYS,
    ULTRA,
    endpoint_for,
    sd3_mappers,
)

__all__ = ["DEFAULT_BASE_URL", "StabilityProviderHandler"]

DEFAULT_BASE_URL = "https://api.stability.ai"
_ACCEPT = {
    "image/*": "image/*",
    "image": "image/*",
    "application/json": "application/json",
    "json": "application/json",
}
_FORMAT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_FIELD_MESSAGE = re.compile(r"^\s*([A-Za-z_][\w.\[\]]*)\s*:\s*(.+)$", re.S)

FilePart = tuple[str, tuple[str | None, bytes | str] | tuple[str | None, bytes, str]]


class StabilityProviderHandler(BaseProviderHandler):
    """Stable Image Ultra / Core / SD 3.5 (``image`` operation)."""

    name: ClassVar[str] = "stability"
    operations: ClassVar[frozenset[Operation]] = frozenset({"image"})
    api_key_env: ClassVar[tuple[str, ...]] = ("STABILITY_API_KEY",)

    # ------------------------------------------------------------------ prepare

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Registry mappings; unknown ``sd3*`` models use the SD3 mappings with a warning."""
        self._accept(config)
        registry = self.field_mappings()
        name = config.model
        if match_model_key(name, registry.keys()) is None and (
            name.startswith("sd3") or "ultra" in name or "core" in name
        ):
            # A model not in the catalog yet goes to the endpoint its name points at, with
            # that endpoint's parameter rules (the catalog check already warned). Other
            # names cannot be routed (the sd3 endpoint's ``model`` is an enum).
            endpoint = endpoint_for(name)
            mappers = {"ultra": ULTRA, "core": CORE}.get(endpoint) or sd3_mappers(config.model)
            warnings.append(
                f"model {config.model!r} has no validated field mapping on 'stability'; "
                f"sent to the {endpoint} endpoint with its parameter rules"
            )
            payload = apply_field_mappers(mappers, request, provider=self.name, model=config.model)
            self.check_unsupported(config, request, mappers, warnings)
            return payload, None
        return super().prepare_payload(operation, config, request, warnings)

    def passthrough_params(self, request: BaseGenerationRequest) -> dict[str, Any]:
        """Pass-through parameters, minus those the field mappings validated and normalised."""
        return {
            k: v for k, v in super().passthrough_params(request).items() if k not in OPTION_KEYS
        }

    def _accept(self, config: BaseGenerationConfig) -> str:
        value = config.provider_config.get("accept", "image/*")
        accept = _ACCEPT.get(str(value).lower())
        if accept is None:
            raise ValidationError(
                f"provider_config['accept'] must be 'image/*' or 'application/json', got {value!r}",
                self.name,
                config.model,
                field="provider_config.accept",
            )
        return accept

    # ------------------------------------------------------------------ client

    def _http(self, config: BaseGenerationConfig) -> httpx.AsyncClient:
        base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")

        def factory() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=base_url,
                limits=DEFAULT_LIMITS,
                timeout=httpx.Timeout(60.0, connect=15.0),
                follow_redirects=False,
                trust_env=True,
            )

        return self.client(config, factory, kind="httpx")

    # ------------------------------------------------------------------ submit

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        """One multipart POST; the finished :class:`ImageGenerationResponse`."""
        config = ctx.config
        accept = self._accept(config)
        endpoint = endpoint_for(config.model, prepared.mapping_key)
        parts = await self._multipart(prepared.payload, config.max_input_bytes, ctx)
        headers = {"Authorization": f"Bearer {self.api_key(config)}", "Accept": accept}
        await ctx.emit(JobStatus(state="processing", raw={"endpoint": endpoint}))
        timeout = ctx.http_timeout(cap=config.timeout)
        try:
            response = await self._http(config).post(
                f"/v2beta/stable-image/generate/{endpoint}",
                files=parts,
                headers=headers,
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise error_from_transport(
                exc, provider=self.name, model=ctx.model, timeout_seconds=timeout
            ) from exc
        if response.status_code >= 400:
            raise self._status_error(response, ctx)
        return self._image_response(response, ctx, endpoint, prepared.payload)

    async def _multipart(
        self, payload: Mapping[str, Any], max_bytes: int, ctx: AttemptContext
    ) -> list[FilePart]:
        """Every parameter as a multipart part (files for media, plain fields otherwise)."""
        parts: list[FilePart] = []
        for name, value in payload.items():
            if value is None:
                continue
            if isinstance(value, MediaInput):
                try:
                    data, ctype = await value.read(max_bytes, timeout=ctx.http_timeout())
                except ValueError as exc:  # too large / unreadable local media
                    raise ValidationError(
                        f"input {name!r} cannot be sent: {exc}", self.name, ctx.model, field=name
                    ) from exc
                parts.append((name, (f"{name}{extension_for(ctype, '.png')}", data, ctype)))
            elif isinstance(value, list | tuple):
                parts.extend((name, (None, _form_text(item))) for item in value)
            else:
                parts.append((name, (None, _form_text(value))))
        return parts

    # ------------------------------------------------------------------ responses

    def _image_response(
        self,
        response: httpx.Response,
        ctx: AttemptContext,
        endpoint: str,
        payload: Mapping[str, Any],
    ) -> Any:
        mime = _mime(response.headers.get("content-type"))
        request_id = response.headers.get("x-request-id")
        fmt = str(payload.get("output_format") or "png")
        raw: dict[str, Any] = {"endpoint": endpoint, "content_type": mime}
        if mime == "application/json" or mime.endswith("+json"):
            body = self._json_body(response, ctx, request_id)
            encoded = body.get("image")
            finish = body.get("finish_reason")
            seed: Any = body.get("seed")
            raw.update({k: v for k, v in body.items() if k != "image"})
            data = _decode_b64(encoded) if isinstance(encoded, str) and encoded else b""
            if encoded and not data:
                raise GenerationFailedError(
                    "stability returned an image that is not valid base64",
                    self.name,
                    ctx.model,
                    request_id,
                    raw,
                    retryable=True,
                )
            declared = _param(response.headers.get("content-type"), "type")
            image_type = declared or sniff_content_type(data) or _FORMAT_TYPES.get(fmt)
        else:
            data = response.content
            finish = response.headers.get("finish-reason")
            seed = response.headers.get("seed")
            raw.update({"finish_reason": finish, "seed": seed})
            declared = mime if mime.startswith("image/") else None
            image_type = declared or sniff_content_type(data) or _FORMAT_TYPES.get(fmt)
        raw["bytes"] = len(data)
        reason = str(finish).upper() if finish else "SUCCESS"
        if reason == "CONTENT_FILTERED":
            raise ContentModerationError(
                "stability filtered the generated image (finish_reason=CONTENT_FILTERED)",
                self.name,
                ctx.model,
                request_id,
                raw,
            )
        if reason != "SUCCESS":
            raise GenerationFailedError(
                f"stability finished with finish_reason={reason}",
                self.name,
                ctx.model,
                request_id,
                raw,
                retryable=True,
            )
        if not data:
            raise GenerationFailedError(
                "stability reported success but returned no image",
                self.name,
                ctx.model,
                request_id,
                raw,
                retryable=True,
            )
        return ctx.image_response(
            images=[base64.b64encode(data).decode("ascii")],
            content_type=image_type or "image/png",
            seed=_int_or_none(seed),
            provider_request_id=request_id,
            raw_response=raw,
            cost=None,
        )

    def _json_body(
        self, response: httpx.Response, ctx: AttemptContext, request_id: str | None
    ) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise GenerationFailedError(
                f"stability returned unreadable JSON: {response.text[:200]!r}",
                self.name,
                ctx.model,
                request_id,
                {"body": response.text[:2000]},
                request_sent=True,  # an answer we cannot read: it may be a paid image
            ) from exc
        if not isinstance(body, dict):
            raise GenerationFailedError(
                f"stability returned unexpected JSON: {str(body)[:200]}",
                self.name,
                ctx.model,
                request_id,
                {"body": body},
                retryable=True,
            )
        return body

    def _status_error(self, response: httpx.Response, ctx: AttemptContext) -> TarashException:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = {"body": response.text[:2000]}
        name = body.get("name") if isinstance(body, dict) else None
        messages = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(messages, list):
            messages = [str(body.get("message") or body.get("body") or "")] if body else []
        messages = [str(m) for m in messages if m]
        error_id = body.get("id") if isinstance(body, dict) else None
        request_id = str(error_id) if error_id else response.headers.get("x-request-id")
        detail = "; ".join(messages) or response.reason_phrase
        message = f"{name}: {detail}" if name else detail
        moderation = name == "content_moderation" or (
            status == 403 and "moderat" in message.lower()
        )
        if moderation:
            return ContentModerationError(
                f"HTTP {status}: {message}", self.name, ctx.model, request_id, body
            )
        if status in (400, 413, 422):
            errors = [_error_item(m) for m in messages] or [{"field": None, "message": detail}]
            prefix = "request too large: " if status == 413 else ""
            return ValidationError(
                f"HTTP {status}: {prefix}{message}",
                self.name,
                ctx.model,
                request_id,
                body,
                field=next((e["field"] for e in errors if e["field"]), None),
                errors=errors,
            )
        return error_from_status(
            status,
            message,
            provider=self.name,
            model=ctx.model,
            request_id=request_id,
            raw_response=body,
            headers=response.headers,
        )

    # ------------------------------------------------------------------ errors

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Transport failures → retryable errors; bad local input → ValidationError."""
        if isinstance(exc, httpx.HTTPError):
            return error_from_transport(exc, provider=self.name, model=ctx.model)
        if isinstance(exc, ValueError):
            return ValidationError(f"invalid input for stability: {exc}", self.name, ctx.model)
        return None


# --------------------------------------------------------------------------- helpers


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if value == value and abs(value) < 1e15 else str(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _param(content_type: str | None, name: str) -> str | None:
    for piece in (content_type or "").split(";")[1:]:
        key, _, value = piece.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"') or None
    return None


def _decode_b64(text: str) -> bytes:
    if text.startswith("data:"):
        text = text.split(",", 1)[-1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _error_item(message: str) -> dict[str, Any]:
    match = _FIELD_MESSAGE.match(message)
    if match:
        return {"field": match.group(1), "message": match.group(2).strip()}
    return {"field": None, "message": message}
