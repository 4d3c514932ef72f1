"""fal errors → the gateway's typed exceptions (no SDK import at module level).

* Model errors: HTTP 4xx (usually 422) with ``{"detail": [{"loc", "msg", "type", ...}]}``.
  ``type == "content_policy_violation"`` → :class:`ContentModerationError`;
  anything else → :class:`ValidationError` naming the fields (``loc``).
* Request (infrastructure) errors: ``{"detail": "...", "error_type": "..."}`` plus
  the ``X-Fal-Error-Type`` header; 5xx and the ``runner_*`` / timeout types are
  retryable. ``X-Fal-Retryable: true|false`` is authoritative when present.
* 401/403 → :class:`AuthenticationError`; 429 → :class:`RateLimitError` with
  ``Retry-After``; transport failures → ``http.error_from_transport``.
* A job that reports ``COMPLETED`` with ``error``/``error_type`` → :func:`job_error`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    RateLimitError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.http import parse_retry_after

__all__ = [
    "MODERATION_TYPES",
    "RETRYABLE_ERROR_TYPES",
    "http_error",
    "job_error",
]

MODERATION_TYPES = frozenset(
    {"content_policy_violation", "nsfw_content_detected", "content_moderation", "safety_violation"}
)
"""fal error ``type`` / ``error_type`` values that mean the content was refused."""

RETRYABLE_ERROR_TYPES = frozenset(
    {
        "request_timeout",
        "startup_timeout",
        "runner_scheduling_failure",
        "runner_connection_timeout",
        "runner_disconnected",
        "runner_connection_refused",
        "runner_connection_error",
        "runner_incomplete_response",
        "runner_server_error",
        "internal_error",
    }
)
"""Infrastructure ``error_type`` values worth retrying (fal's request-error reference)."""

_MODERATION_WORDS = ("content policy", "nsfw", "content_policy", "flagged by a content checker")


def _retryable_header(headers: Mapping[str, str]) -> bool | None:
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    value = lowered.get("x-fal-retryable")
    if value is None:
        return None
    return value.strip().lower() in ("1", "true", "yes")


def _detail_items(detail: Any) -> list[dict[str, Any]]:
    if isinstance(detail, list):
        return [d for d in detail if isinstance(d, dict)]
    return []


def _loc_field(loc: Any) -> str | None:
    if not isinstance(loc, list | tuple):
        return None
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or None


def _detail_text(detail: Any) -> str:
    items = _detail_items(detail)
    if items:
        return "; ".join(
            f"{_loc_field(d.get('loc')) or '?'}: {d.get('msg') or d.get('type') or 'invalid'}"
            + (f" [{d['type']}]" if d.get("type") else "")
            for d in items
        )
    if isinstance(detail, str):
        return detail
    return "" if detail is None else str(detail)[:500]


def _is_moderation(error_type: str | None, items: list[dict[str, Any]], text: str) -> bool:
    if error_type in MODERATION_TYPES:
        return True
    if any(d.get("type") in MODERATION_TYPES for d in items):
        return True
    lowered = text.lower()
    return any(word in lowered for word in _MODERATION_WORDS)


def http_error(
    status_code: int,
    body: Any,
    headers: Mapping[str, str],
    *,
    error_type: str | None,
    provider: str,
    model: str | None,
    request_id: str | None = None,
) -> TarashException:
    """The typed error for a fal HTTP error response."""
    detail = body.get("detail") if isinstance(body, dict) else body
    items = _detail_items(detail)
    text = _detail_text(detail) or f"HTTP {status_code}"
    kind = f" (error_type={error_type})" if error_type else ""
    message = f"fal HTTP {status_code}: {text}{kind}"
    retry_hint = _retryable_header(headers)
    raw = body if body is not None else None

    if _is_moderation(error_type, items, text) and status_code not in (401, 429):
        return ContentModerationError(message, provider, model, request_id, raw)
    if status_code in (401, 403):
        return AuthenticationError(message, provider, model, request_id, raw, status_code)
    if status_code == 429:
        return RateLimitError(
            message,
            provider,
            model,
            request_id,
            raw,
            retryable=retry_hint if retry_hint is not None else True,
            retry_after=parse_retry_after(headers),
        )
    if status_code in (400, 422) and error_type not in RETRYABLE_ERROR_TYPES:
        errors = [
            {
                "field": _loc_field(d.get("loc")) or "request",
                "message": str(d.get("msg") or d.get("type") or "invalid"),
                "type": d.get("type"),
            }
            for d in items
        ]
        return ValidationError(
            message,
            provider,
            model,
            request_id,
            raw,
            field=errors[0]["field"] if errors else None,
            errors=errors or None,
            retryable=bool(retry_hint),
        )
    retryable = retry_hint
    if retryable is None and error_type in RETRYABLE_ERROR_TYPES:
        retryable = True
    return HTTPError(
        message,
        provider,
        model,
        request_id,
        raw,
        status_code,
        retryable=retryable,
        retry_after=parse_retry_after(headers),
    )


def job_error(
    error: Any,
    error_type: str | None,
    *,
    provider: str,
    model: str | None,
    request_id: str | None,
    raw: Any,
) -> TarashException:
    """The typed error of a job fal reports as ``COMPLETED`` with an ``error``."""
    text = _detail_text(error) if not isinstance(error, str) else error
    items = _detail_items(error)
    kind = f" (error_type={error_type})" if error_type else ""
    message = f"fal job failed: {text or 'unknown error'}{kind}"
    if _is_moderation(error_type, items, text):
        return ContentModerationError(message, provider, model, request_id, raw)
    retryable = error_type in RETRYABLE_ERROR_TYPES
    return GenerationFailedError(
        message, provider, model, request_id, raw, retry_same_config=retryable
    )
