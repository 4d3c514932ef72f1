"""Error mapping shared by the providers whose SDKs are Fern-generated (Hume, Sarvam).

Fern SDKs raise one ``ApiError`` (``status_code``, ``body``, ``headers``) for
every HTTP failure, ``pydantic.ValidationError`` / ``json.JSONDecodeError``
for a body they cannot parse, and let httpx/httpcore/OS errors through.
:func:`map_fern_error` maps all of those; the provider supplies only what
differs: how its error body reads and how its HTTP statuses map.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tarash.tarash_gateway.exceptions import GenerationFailedError, TarashException
from tarash.tarash_gateway.http import error_from_transport
from tarash.tarash_gateway.providers.base import AttemptContext

__all__ = ["map_fern_error"]


def map_fern_error(
    exc: BaseException,
    provider: str,
    ctx: AttemptContext,
    *,
    api_error: type[BaseException],
    describe: Callable[[Any], tuple[str, Any]],
    status_error: Callable[[int, Any, Mapping[str, str]], TarashException],
) -> TarashException | None:
    """A Fern SDK / transport exception → a typed gateway error (``None``: not ours).

    ``describe(body)`` gives ``(readable message, JSON-able raw body)``;
    ``status_error(status, body, headers)`` maps an HTTP error status. An
    ``ApiError`` without a status, or with a 2xx one (the SDK could not parse a
    successful answer), is a :class:`GenerationFailedError` (retryable for 2xx).
    """
    model = ctx.model
    if isinstance(exc, api_error):
        status: int | None = getattr(exc, "status_code", None)
        body = getattr(exc, "body", None)
        if status is None:
            message, raw = describe(body)
            return GenerationFailedError(
                f"{provider} error: {message}", provider, model, raw_response=raw
            )
        if 200 <= status < 300:
            _message, raw = describe(body)
            return GenerationFailedError(
                f"{provider} answered HTTP {status} with a body that is not valid JSON",
                provider,
                model,
                raw_response=raw,
                request_sent=True,  # an unreadable success: the speech may be paid for
            )
        return status_error(status, body, getattr(exc, "headers", None) or {})
    if _is_pydantic_error(exc):
        return GenerationFailedError(
            f"{provider} answered with an unexpected response shape: {exc}",
            provider,
            model,
            request_sent=True,
        )
    if isinstance(exc, json.JSONDecodeError):
        return GenerationFailedError(
            f"{provider} answered with a body that is not valid JSON",
            provider,
            model,
            request_sent=True,
        )
    name = type(exc).__module__
    if name.startswith(("httpx", "httpcore")) or isinstance(exc, OSError):
        return error_from_transport(
            exc, provider=provider, model=model, timeout_seconds=ctx.http_timeout()
        )
    return None


def _is_pydantic_error(exc: BaseException) -> bool:
    import pydantic

    return isinstance(exc, pydantic.ValidationError)
