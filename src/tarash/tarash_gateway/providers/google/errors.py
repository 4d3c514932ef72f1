"""Google errors → the gateway's typed exceptions.

Google answers ``{"error": {"code", "message", "status", "details"}}``;
``google-genai`` raises it as ``errors.ClientError`` (4xx) / ``errors.ServerError``
(5xx) with ``.code``, ``.status``, ``.message``, ``.details`` and the HTTP
response. A finished long-running operation carries a ``google.rpc.Status``
(``{"code": <int>, "message"}``) instead.

=====================================  ==============================================
HTTP / status                          gateway error
=====================================  ==============================================
400 ``API_KEY_INVALID``                :class:`AuthenticationError`
400 safety wording (Responsible AI)    :class:`ContentModerationError`
400 INVALID_ARGUMENT / FAILED_PRECOND. :class:`ValidationError`
401, 403 PERMISSION_DENIED             :class:`AuthenticationError`
404 NOT_FOUND                          :class:`HTTPError` (not retryable)
429 RESOURCE_EXHAUSTED                 :class:`RateLimitError` (Retry-After honoured)
500/502/503/504                        :class:`HTTPError` (retryable)
timeouts / dropped connections         :class:`TimeoutError` / :class:`HTTPConnectionError`
a 200 with a body that is not JSON     :class:`HTTPError` (retryable)
=====================================  ==============================================
"""

from __future__ import annotations

import asyncio
import builtins
import json
import re
from collections.abc import Mapping
from typing import Any

from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    OperationNotSupportedError,
    RateLimitError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_status, error_from_transport, parse_retry_after

__all__ = [
    "MODERATION_RE",
    "auth_hint",
    "map_api_error",
    "map_exception",
    "operation_error",
]

PROVIDER = "google"

MODERATION_RE = re.compile(
    r"responsible ai|usage guidelines|safety (?:filter|polic|setting)|sensitive words"
    r"|prohibited content|violat\w* (?:our|google)|content polic|raimediafiltered",
    re.IGNORECASE,
)
"""Wording Google uses when it refuses a prompt or an output for safety reasons."""

_RETRYABLE_RPC_CODES = {4, 8, 10, 13, 14}  # DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, …
_RPC_NAMES = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}


def _headers(response: Any) -> Mapping[str, str] | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        return {str(k): str(v) for k, v in headers.items()}
    except Exception:  # pragma: no cover - exotic header containers
        return None


def _is_invalid_key(details: Any, message: str) -> bool:
    if "api key not valid" in message.lower() or "api_key_invalid" in message.lower():
        return True
    text = json.dumps(details, default=str) if details is not None else ""
    return "API_KEY_INVALID" in text


def auth_hint(vertex: bool, express: bool) -> str:
    """Where a rejected credential was sent, and what to try instead."""
    if vertex and express:
        return (
            "the API key was sent to Vertex AI express mode; a Gemini API (AI Studio) key "
            "works only on the Gemini API (drop provider_config['vertexai'])"
        )
    if vertex:
        return "Vertex AI project mode: check the credentials, project and location"
    return (
        "the API key was sent to the Gemini API; a Vertex AI key needs "
        "provider_config={'vertexai': True}"
    )


def map_api_error(exc: Any, *, model: str | None, hint: str | None = None) -> TarashException:
    """Map a ``google.genai.errors.APIError`` (duck-typed: ``code``/``status``/``message``).

    ``hint`` is appended to authentication errors (which API the key was sent to).
    """
    code = int(getattr(exc, "code", 0) or 0)
    status = str(getattr(exc, "status", "") or "")
    message = str(getattr(exc, "message", "") or "") or str(exc)
    details = getattr(exc, "details", None)
    headers = _headers(getattr(exc, "response", None))
    raw = details if isinstance(details, dict | list) else {"message": message}
    text = f"{status}: {message}" if status else message
    auth_text = f"{text} — {hint}" if hint else text
    if code in (400, 401, 403) and _is_invalid_key(details, message):
        return AuthenticationError(
            f"HTTP {code}: {auth_text}", PROVIDER, model, raw_response=raw, status_code=code
        )
    if code in (400, 403) and MODERATION_RE.search(message):
        return ContentModerationError(f"HTTP {code}: {text}", PROVIDER, model, raw_response=raw)
    if code == 400:
        return ValidationError(f"HTTP 400: {text}", PROVIDER, model, raw_response=raw)
    if code in (401, 403):
        return AuthenticationError(
            f"HTTP {code}: {auth_text}", PROVIDER, model, raw_response=raw, status_code=code
        )
    if code == 404:
        return HTTPError(
            f"HTTP 404: {text}", PROVIDER, model, raw_response=raw, status_code=404, retryable=False
        )
    if code == 429:
        return RateLimitError(
            f"HTTP 429: {text}",
            PROVIDER,
            model,
            raw_response=raw,
            retry_after=parse_retry_after(headers),
        )
    if code in (500, 502, 503, 504):
        return HTTPError(
            f"HTTP {code}: {text}",
            PROVIDER,
            model,
            raw_response=raw,
            status_code=code,
            retryable=True,
            retry_after=parse_retry_after(headers),
        )
    return error_from_status(
        code or 500, text, provider=PROVIDER, model=model, raw_response=raw, headers=headers
    )


def map_exception(
    exc: BaseException, *, model: str | None, timeout: float | None = None, hint: str | None = None
) -> TarashException | None:
    """Map any exception raised while talking to Google (``None`` when unknown)."""
    if isinstance(exc, TarashException):
        return exc
    try:
        from google.genai import errors as genai_errors
    except ImportError:  # pragma: no cover - the SDK is installed whenever we get here
        genai_errors = None  # type: ignore[assignment]
    if genai_errors is not None and isinstance(exc, genai_errors.APIError):
        return map_api_error(exc, model=model, hint=hint)
    if isinstance(exc, json.JSONDecodeError):
        return GenerationFailedError(
            f"{PROVIDER} returned a response that is not valid JSON: {exc}",
            PROVIDER,
            model,
            request_sent=True,  # an answer we cannot read: its outcome is unknown
        )
    module = type(exc).__module__
    if module.startswith("google.auth") and type(exc).__name__ not in (
        "TransportError",
        "TimeoutError",
    ):
        return AuthenticationError(
            f"Google credentials could not be used ({type(exc).__name__}): {exc}",
            PROVIDER,
            model,
            status_code=None,
        )
    transport = module.startswith(("httpx", "httpcore", "httpx2", "aiohttp", "google.auth"))
    if (
        transport
        or isinstance(exc, builtins.TimeoutError | asyncio.TimeoutError | OSError)
        or "Timeout" in type(exc).__name__
    ):
        return error_from_transport(exc, provider=PROVIDER, model=model, timeout_seconds=timeout)
    if isinstance(exc, ValueError) and "only supported in" in str(exc):
        return OperationNotSupportedError(f"google-genai refused the call: {exc}", PROVIDER, model)
    if type(exc).__name__ == "ValidationError" and module.startswith("pydantic"):
        return GenerationFailedError(
            f"{PROVIDER} returned a response google-genai could not parse: {exc}",
            PROVIDER,
            model,
            retryable=True,
        )
    if isinstance(exc, ValueError):
        return ValidationError(f"google-genai rejected the request: {exc}", PROVIDER, model)
    return None


def operation_error(
    error: Mapping[str, Any], *, model: str | None, request_id: str | None
) -> TarashException:
    """The typed error of a finished operation whose ``error`` is a ``google.rpc.Status``."""
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int) else 0
    message = str(error.get("message") or "the operation failed")
    name = _RPC_NAMES.get(code, str(raw_code) if raw_code is not None else "UNKNOWN")
    text = f"Veo operation failed ({name}): {message}"
    raw = {"error": dict(error)}
    if MODERATION_RE.search(message):
        return ContentModerationError(text, PROVIDER, model, request_id, raw)
    return GenerationFailedError(
        text, PROVIDER, model, request_id, raw, retry_same_config=code in _RETRYABLE_RPC_CODES
    )
