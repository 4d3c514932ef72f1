"""One exception hierarchy for every provider.

Every error the gateway raises is a :class:`TarashException` carrying the
provider, the model, the provider's request id (when known), the raw provider
response and a ``retryable`` flag that the orchestrator alone uses to decide
between *retry the same config*, *fall back to the next config* and *stop*.

Messages are passed through the secret redactor, so an API key that a
provider echoes back in an error body never reaches logs or tracebacks.
"""

from __future__ import annotations

from types import EllipsisType
from typing import TYPE_CHECKING, Any, ClassVar, Self

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
    "ModelRetiredError",
    "ModelUnavailableError",
    "OperationNotSupportedError",
    "ProviderNotFoundError",
    "ProviderSDKMissingError",
    "RateLimitError",
    "TarashException",
    "TarashTimeoutError",
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
    default_retry_same_config: bool = True

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
        retry_same_config: bool | None = None,
        request_sent: bool | None = None,
    ) -> None:
        self.message = redact_text(str(message))
        self.provider = provider
        self.model = model
        # A provider that echoes the key puts it in its body (and sometimes its ids).
        self.request_id = redact_text(request_id) if isinstance(request_id, str) else request_id
        self.raw_response = scrub_secrets(raw_response)
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.retry_same_config = (
            self.default_retry_same_config if retry_same_config is None else retry_same_config
        )
        """False: retrying this config is pointless or would pay again (credits exhausted,
        a failed generation), but a fallback config may still succeed when ``retryable``."""
        self.request_sent = request_sent
        """For transport failures: False when the request provably never reached the
        provider (connection refused, connect timeout, DNS); True or None when it may have."""
        self.execution_metadata: ExecutionMetadata | None = None
        self.job: JobRef | None = None
        self.outcome_unknown = False
        """True when this error ended a submit that was sent and whose outcome is unknown:
        the provider may have accepted (and may bill) it. It is never resent to the same
        config; ``intent_id`` names its record in the job store (state ``unknown``)."""
        self.intent_id: str | None = None
        super().__init__(self.message)

    def mark_outcome_unknown(self, intent_id: str | None, *, moving_on: bool) -> Self:
        """Record that the submit this error ended may have been accepted upstream."""
        self.outcome_unknown = True
        self.retry_same_config = False
        self.intent_id = intent_id
        where = f"; intent {intent_id} is kept in the job store as 'unknown'" if intent_id else ""
        self.message = redact_text(
            f"{self.message} — the request was sent and its outcome is unknown, so it is not "
            f"resent to this config (that could pay twice){where}"
            + ("; trying the next config" if moving_on else "")
        )
        self.args = (self.message,)
        return self

    def attach(
        self,
        *,
        job: JobRef | None = None,
        request_id: str | None = None,
        execution_metadata: ExecutionMetadata | None = None,
        job_may_still_run: bool = False,
    ) -> Self:
        """The one way the gateway adds context after construction.

        ``job`` and ``request_id`` fill in only what is still unknown (the innermost
        knowledge wins); ``execution_metadata`` always replaces (the outermost call
        knows every attempt). ``job_may_still_run``: the error ended the wait for a job
        the provider accepted and did not confirm cancelled (or that finished and was
        not fetched) — submitting to this config again could pay twice, so
        ``retry_same_config`` becomes False. Returns the exception, for
        ``raise exc.attach(...)``.
        """
        if job_may_still_run:
            self.retry_same_config = False
        if job is not None and self.job is None:
            self.job = job
        if request_id and not self.request_id:
            self.request_id = request_id
        if execution_metadata is not None:
            self.execution_metadata = execution_metadata
        return self

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
        retry_same_config: bool | None = None,
    ) -> None:
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            retryable=retryable,
            retry_same_config=retry_same_config,
        )
        self.field = field
        self.errors = scrub_secrets(errors) or (
            [{"field": field, "message": self.message}] if field else []
        )


class ContentModerationError(TarashException):
    """The provider refused the prompt or the output for safety reasons. Never retried."""


class HTTPError(TarashException):
    """The provider answered with an HTTP error status.

    Retryable for 408, 409, 425, 429 and 5xx unless the provider says otherwise.
    Subclasses set ``default_status_code`` (used when no status is passed) and, with
    ``status_decides = False``, take ``retryable`` from ``default_retryable`` instead of
    from the status.
    """

    default_status_code: ClassVar[int | None] = None
    status_decides: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        status_code: int | None | EllipsisType = ...,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        retry_same_config: bool | None = None,
    ) -> None:
        code = self.default_status_code if status_code is ... else status_code
        if retryable is None and self.status_decides and code is not None:
            retryable = is_retryable_status(code)
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            retryable=retryable,
            retry_after=retry_after,
            retry_same_config=retry_same_config,
            request_sent=True,  # the provider answered
        )
        self.status_code = code

    def _context(self) -> str:
        base = super()._context()
        return f"status={self.status_code}, {base}" if self.status_code else base


class AuthenticationError(HTTPError):
    """The API key was missing, invalid or lacks permission (401/403). Never retried."""

    default_status_code = 401
    status_decides = False
    default_retryable = False


class RateLimitError(HTTPError):
    """429 Too Many Requests (or the provider's equivalent); retried after ``retry_after``."""

    default_status_code = 429
    status_decides = False
    default_retryable = True


class HTTPConnectionError(TarashException):
    """The provider could not be reached (DNS, refused, reset, dropped connection)."""

    default_retryable = True


class TarashTimeoutError(TarashException):
    """The attempt exceeded its time budget (``config.timeout``) or poll budget.

    Named apart from the builtin :class:`TimeoutError`; ``exceptions.TimeoutError`` is
    kept as an alias for code written against 0.1.0.

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
        request_sent: bool | None = None,
    ) -> None:
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            retryable=retryable,
            request_sent=request_sent,
        )
        self.timeout_seconds = timeout_seconds
        self.cancelled_upstream = cancelled_upstream


TimeoutError = TarashTimeoutError
"""Alias of :class:`TarashTimeoutError` for 0.1.0 code (``except exceptions.TimeoutError``)."""


class GenerationFailedError(TarashException):
    """The provider accepted the job but the generation failed (or came back unusable).

    It moves on to the next config of the chain, but is *not* retried on the same
    config: a failed generation is usually paid, and the same provider failing the
    same request again would pay again. A handler that knows a failure was free and
    transient passes ``retry_same_config=True``; one that knows no provider can do
    better passes ``retryable=False``.
    """

    default_retryable = True
    default_retry_same_config = False


class OperationNotSupportedError(TarashException, NotImplementedError):
    """The provider does not offer this operation (e.g. TTS on a video-only provider)."""


class ProviderNotFoundError(TarashException, LookupError):
    """No provider is registered under that name."""


class ProviderSDKMissingError(ProviderNotFoundError):
    """The provider's SDK is not installed; raised while the chain is planned (nothing ran).

    Not retryable: no fallback is tried and nothing is paid for. ``install`` is the exact
    command that fixes it (``pip install 'tarash-gateway[openai]'``).

    Attributes:
        package: The missing pip package (``openai``, ``google-genai`` …).
        extra: The ``tarash-gateway`` extra that installs it.
        install: ``pip install 'tarash-gateway[<extra>]'``.
    """

    def __init__(
        self, message: str, provider: str | None = None, *, package: str, extra: str
    ) -> None:
        super().__init__(message, provider, retryable=False)
        self.package = package
        self.extra = extra
        self.install = f"pip install 'tarash-gateway[{extra}]'"


class ModelRetiredError(ValidationError):
    """The model is retired (per the gateway's catalog); raised while the chain is planned.

    Attributes:
        retired_on: ISO date the provider stopped serving it, when known.
        replacement: The model the provider recommends instead, when known.
    """

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        *,
        field: str | None = "model",
        retired_on: str | None = None,
        replacement: str | None = None,
    ) -> None:
        super().__init__(message, provider, model, field=field)
        self.retired_on = retired_on
        self.replacement = replacement


class ModelUnavailableError(HTTPError):
    """The provider answered that the model does not exist, was sunset or is not served
    in this region / API. Falls back to the next config at once (no same-config retry)."""

    default_status_code = 404
    status_decides = False
    default_retryable = True
    default_retry_same_config = False
