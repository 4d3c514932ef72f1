"""One exception hierarchy for every provider.

Every error the gateway raises is a :class:`TarashException` carrying the
provider, the model, the provider's request id (when known), the raw provider
response and a ``retryable`` flag that the orchestrator alone uses to decide
between *retry the same config*, *fall back to the next config* and *stop*.

Messages are passed through the secret redactor, so an API key that a
provider echoes back in an error body never reaches logs or tracebacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tarash.tarash_gateway._secrets import redact_text, scrub_secrets

if TYPE_CHECKING:
    from tarash.tarash_gateway.jobs import JobRef
    from tarash.tarash_gateway.models import ExecutionMetadata

__all__ = [
    "AuthenticationError",
    "ContentModerationError",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "OperationNotSupportedError",
    "ProviderNotFoundError",
    "RateLimitError",
    "TarashException",
    "TimeoutError",
    "ValidationError",
    "is_retryable_status",
]


def is_retryable_status(status_code: int) -> bool:
    """HTTP statuses worth retrying: request timeout, conflict, rate limit, server errors."""
    return status_code in (408, 409, 425, 429) or status_code >= 500


class TarashException(Exception):
    """Base class of every error raised by the gateway.

    Attributes:
        message: Human readable description (secrets redacted).
        provider: Provider name the error came from, if any.
        model: Model name, if any.
        request_id: The provider's request/job id when the provider assigned one.
        raw_response: The provider's raw error body or job payload, if any.
        retryable: Whether retrying (same config or a fallback) may succeed.
        retry_same_config: False when only a *different* config may succeed
            (credits exhausted, payment required): the orchestrator falls back at once.
        retry_after: Seconds the provider asked us to wait before retrying.
        execution_metadata: Every attempt made before the error was raised
            (filled in by the orchestrator when the whole chain failed).
        job: Reference of a job the provider accepted and that may still run
            (e.g. cancellation could not be confirmed); resume or cancel it with
            :func:`tarash.tarash_gateway.wait_for_job` / ``cancel_job``.
    """

    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = redact_text(str(message))
        self.provider = provider
        self.model = model
        # A provider that echoes the key puts it in its body (and sometimes its ids).
        self.request_id = redact_text(request_id) if isinstance(request_id, str) else request_id
        self.raw_response = scrub_secrets(raw_response)
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.execution_metadata: ExecutionMetadata | None = None
        self.job: JobRef | None = None
        self.retry_same_config = True
        """False: retrying this config is pointless (e.g. credits exhausted), but a
        fallback config may still succeed when ``retryable`` is True."""
        super().__init__(self.message)

    def _context(self) -> str:
        parts = [f"{k}={v}" for k, v in (("provider", self.provider), ("model", self.model))]
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return ", ".join(p for p in parts if not p.endswith("=None"))

    def __str__(self) -> str:
        context = self._context()
        return f"{self.message} ({context})" if context else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self._context()})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_exception,
            (type(self), self.message, self.__dict__.copy()),
        )


def _rebuild_exception(
    cls: type[TarashException], message: str, state: dict[str, Any]
) -> TarashException:
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(state)
    return exc


class ValidationError(TarashException):
    """The request is invalid for the chosen provider/model; raised before any network call.

    Attributes:
        field: The request field (or API parameter) at fault, when there is one.
        errors: Individual problems as ``{"field": ..., "message": ...}`` dicts.
    """

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, provider, model, request_id, raw_response, retryable=retryable)
        self.field = field
        self.errors = scrub_secrets(errors) or (
            [{"field": field, "message": self.message}] if field else []
        )


class ContentModerationError(TarashException):
    """The provider refused the prompt or the output for safety reasons. Never retried."""


class HTTPError(TarashException):
    """The provider answered with an HTTP error status.

    Retryable for 408, 409, 425, 429 and 5xx unless the provider says otherwise.
    """

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        status_code: int | None = None,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        if retryable is None and status_code is not None:
            retryable = is_retryable_status(status_code)
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            retryable=retryable,
            retry_after=retry_after,
        )
        self.status_code = status_code

    def _context(self) -> str:
        base = super()._context()
        return f"status={self.status_code}, {base}" if self.status_code else base


class AuthenticationError(HTTPError):
    """The API key was missing, invalid or lacks permission (401/403). Never retried."""

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        status_code: int | None = 401,
        *,
        retryable: bool | None = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            status_code,
            retryable=retryable,
            retry_after=retry_after,
        )


class RateLimitError(HTTPError):
    """429 Too Many Requests (or the provider's equivalent); retried after ``retry_after``."""

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        status_code: int | None = 429,
        *,
        retryable: bool | None = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            status_code,
            retryable=retryable,
            retry_after=retry_after,
        )


class HTTPConnectionError(TarashException):
    """The provider could not be reached (DNS, refused, reset, dropped connection)."""

    default_retryable = True


class TimeoutError(TarashException):
    """The attempt exceeded its time budget (``config.timeout``) or poll budget.

    When the provider had accepted a job, the gateway asked it to cancel the job
    before raising; ``cancelled_upstream`` tells whether that was confirmed.
    """

    default_retryable = True

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        timeout_seconds: float | None = None,
        *,
        retryable: bool | None = None,
        cancelled_upstream: bool | None = None,
    ) -> None:
        super().__init__(message, provider, model, request_id, raw_response, retryable=retryable)
        self.timeout_seconds = timeout_seconds
        self.cancelled_upstream = cancelled_upstream


class GenerationFailedError(TarashException):
    """The provider accepted the job but reported that generation failed.

    Retryable only when the provider marks the failure as transient.
    """


class OperationNotSupportedError(TarashException, NotImplementedError):
    """The provider does not offer this operation (e.g. TTS on a video-only provider)."""


class ProviderNotFoundError(TarashException, LookupError):
    """No provider is registered under that name."""
