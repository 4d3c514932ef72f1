"""Shared plumbing of the Google handler: clients, per-call options, SDK calls, raw payloads."""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from tarash.tarash_gateway.exceptions import (
    OperationNotSupportedError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.media import MediaInput, MediaTooLargeError
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.google.errors import PROVIDER, auth_hint, map_exception
from tarash.tarash_gateway.providers.google.modes import ApiMode

if TYPE_CHECKING:
    from google.genai import Client
    from google.genai.client import AsyncClient
    from google.genai.types import HttpOptions

__all__ = [
    "GEMINI_REST_API_VERSION",
    "GoogleClients",
    "b64",
    "build",
    "call",
    "http_options",
    "load_sdk",
    "read_media",
    "rest_api_version",
    "rest_post",
    "scrub",
]

T = TypeVar("T")

GEMINI_REST_API_VERSION = "v1beta"
"""API version of the Gemini API's Veo/Imagen endpoints (predict, operations, files)."""

_MAX_RAW_STRING = 4096


@dataclass
class GoogleClients:
    """One ``genai.Client`` (its async side is what the handler uses), closable by the cache."""

    client: Client
    mode: ApiMode

    @property
    def aio(self) -> AsyncClient:
        """The SDK's async client."""
        return self.client.aio

    async def aclose(self) -> None:
        """Close the async sessions and the sync transport of the client."""
        try:
            await self.client.aio.aclose()
        finally:
            self.client.close()


async def load_sdk() -> None:
    """Import google-genai in a worker thread the first time (≈1.4 s that would block the loop)."""
    if "google.genai.types" in sys.modules and "google.genai.errors" in sys.modules:
        return

    def _import() -> None:
        for name in ("google.genai", "google.genai.types", "google.genai.errors"):
            importlib.import_module(name)

    await asyncio.to_thread(_import)


def http_options(
    ctx: AttemptContext,
    *,
    api_version: str | None = None,
    cap: float = 120.0,
    floor: float = 1.0,
) -> HttpOptions:
    """Per-call SDK options: a timeout bounded by the attempt's deadline (+ API version)."""
    from google.genai import types

    timeout_ms = int(max(floor, ctx.http_timeout(cap)) * 1000)
    return types.HttpOptions(timeout=timeout_ms, api_version=api_version)


def build(ctx: AttemptContext, cls: Callable[..., T], **fields: Any) -> T:
    """Build an SDK request type; values it rejects become a :class:`ValidationError`."""
    import pydantic

    try:
        return cls(**fields)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            f"google-genai rejected the request parameters: {exc}",
            PROVIDER,
            ctx.model,
            field="extra_params",
        ) from exc


def rest_api_version(ctx: AttemptContext) -> str:
    """API version of the Gemini API's long-running endpoints (config wins)."""
    return ctx.config.api_version or GEMINI_REST_API_VERSION


async def call(ctx: AttemptContext, awaitable: Awaitable[T], *, mode: ApiMode | None = None) -> T:
    """Await one SDK call; any failure comes out as a typed gateway error.

    An SDK-level timeout (aiohttp raises the builtin ``TimeoutError``) becomes a
    retryable :class:`~tarash.tarash_gateway.exceptions.TimeoutError` here, so
    the orchestrator treats it as a transient failure of that one call rather
    than as the end of the attempt's deadline.
    """
    try:
        return await awaitable
    except asyncio.CancelledError:
        raise
    except TarashException:
        raise
    except Exception as exc:
        hint = auth_hint(mode.vertex, mode.location is None) if mode is not None else None
        mapped = map_exception(exc, model=ctx.model, timeout=ctx.http_timeout(), hint=hint)
        if mapped is None:
            raise
        raise mapped from exc


async def rest_post(
    ctx: AttemptContext, clients: GoogleClients, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST ``body`` to ``path`` through the SDK's own authenticated transport.

    google-genai 3.x no longer exposes Veo/Imagen in Gemini API mode, although
    the Gemini API still serves them; this sends the documented REST request
    with the SDK's client (same auth header, base URL, timeout, error classes).
    """
    api_client = getattr(clients.aio, "_api_client", None)
    request = getattr(api_client, "async_request", None)
    if not callable(request):
        raise OperationNotSupportedError(
            "this google-genai version exposes neither Veo/Imagen in Gemini API mode nor the "
            "transport needed to call them; use provider_config={'vertexai': True} "
            "(Vertex AI) or pin google-genai<3",
            PROVIDER,
            ctx.model,
        )
    options = http_options(ctx, api_version=rest_api_version(ctx))
    response = await call(ctx, request("post", path, dict(body), options), mode=clients.mode)
    text = getattr(response, "body", None) or ""
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        mapped = map_exception(exc, model=ctx.model)
        assert mapped is not None
        raise mapped from exc
    if not isinstance(data, dict):
        raise ValidationError(
            f"{PROVIDER} answered {path} with {type(data).__name__}, expected an object",
            PROVIDER,
            ctx.model,
        )
    return data


async def read_media(ctx: AttemptContext, media: MediaInput, field: str) -> tuple[bytes, str]:
    """Bytes and MIME type of an input image (URLs downloaded, within ``max_input_bytes``)."""
    try:
        return await media.read(max_bytes=ctx.config.max_input_bytes)
    except MediaTooLargeError as exc:
        raise ValidationError(str(exc), PROVIDER, ctx.model, field=field) from exc


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def scrub(value: Any, depth: int = 0) -> Any:
    """A JSON-able copy of a payload with media bytes and long base64 replaced by size notes."""
    if depth > 25:
        return "…"
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        value = dump(mode="python", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > _MAX_RAW_STRING:
        return f"<{len(value)} chars>"
    if value is None or isinstance(value, str | int | float | bool):
        return value
    name = getattr(value, "value", None)  # enums
    if isinstance(name, str):
        return name
    return repr(value)
