"""Exit codes and the one-line error message the ``tarash`` command prints per failure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tarash.tarash_gateway._secrets import redact_text
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    OperationNotSupportedError,
    ProviderNotFoundError,
    ProviderSDKMissingError,
    RateLimitError,
    TarashException,
    TarashTimeoutError,
    ValidationError,
)

if TYPE_CHECKING:
    from pydantic import ValidationError as PydanticValidationError

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_HTTP",
    "EXIT_INTERRUPTED",
    "EXIT_MODERATION",
    "EXIT_OK",
    "EXIT_RATE_LIMIT",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "CliError",
    "ErrorReport",
    "Terminated",
    "describe_error",
    "for_cli",
    "one_line",
]

EXIT_OK = 0
EXIT_ERROR = 1
"""Anything else: the output could not be written, an unexpected error."""
EXIT_USAGE = 2
"""Invalid options or request, unknown provider/model, unsupported operation, bad config."""
EXIT_AUTH = 3
"""No API key, or the provider rejected it."""
EXIT_MODERATION = 4
"""The provider refused the prompt or the output."""
EXIT_RATE_LIMIT = 5
"""Rate limited (after the retries and fallbacks)."""
EXIT_HTTP = 6
"""The provider answered with an HTTP error (5xx, unexpected 4xx)."""
EXIT_CONNECTION = 7
"""The provider could not be reached."""
EXIT_TIMEOUT = 8
"""The job did not finish within --timeout."""
EXIT_FAILED = 9
"""The provider accepted the job and reported that generation failed."""
EXIT_INTERRUPTED = 130
"""Interrupted with Ctrl-C (the job is cancelled upstream)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled like Ctrl-C (the running job is cancelled upstream or
    kept in the job store), exit code 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """``SIGTERM`` / ``SIGHUP``."""
        import signal

        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self) -> int:
        """``128 + signum`` (143 for SIGTERM, 129 for SIGHUP), as shells report it."""
        return 128 + self.signum


class CliError(Exception):
    """An error of the command line itself, with the exit code to use."""

    def __init__(
        self,
        message: str,
        exit_code: int = EXIT_USAGE,
        *,
        kind: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.kind = kind or ("usage" if exit_code == EXIT_USAGE else "error")
        """The ``--json`` error type: ``usage`` only for bad input (exit 2)."""
        self.details = details or {}


# Most specific first: AuthenticationError and RateLimitError are HTTPErrors.
_CLASSES: tuple[tuple[type[TarashException], int, str], ...] = (
    (ValidationError, EXIT_USAGE, "invalid request"),
    (ProviderSDKMissingError, EXIT_USAGE, "provider SDK not installed"),
    (ProviderNotFoundError, EXIT_USAGE, "unknown provider"),
    (OperationNotSupportedError, EXIT_USAGE, "not supported"),
    (AuthenticationError, EXIT_AUTH, "authentication failed"),
    (ContentModerationError, EXIT_MODERATION, "refused by content moderation"),
    (RateLimitError, EXIT_RATE_LIMIT, "rate limited"),
    (HTTPError, EXIT_HTTP, "provider error"),
    (HTTPConnectionError, EXIT_CONNECTION, "connection failed"),
    (TarashTimeoutError, EXIT_TIMEOUT, "timed out"),
    (GenerationFailedError, EXIT_FAILED, "generation failed"),
)

_REQUEST_OPTIONS = {
    "prompt": "PROMPT",
    "text": "TEXT",
    "duration_seconds": "--duration",
    "resolution": "--resolution",
    "aspect_ratio": "--aspect-ratio",
    "generate_audio": "--generate-audio",
    "image_list": "--image",
    "video": "--input-video",
    "seed": "--seed",
    "number_of_videos": "--count",
    "n": "--count",
    "negative_prompt": "--negative-prompt",
    "enhance_prompt": "--enhance-prompt",
    "size": "--size",
    "quality": "--quality",
    "style": "--style",
    "mask_image": "--mask",
    "voice_id": "--voice",
    "output_format": "--format",
    "language_code": "--language",
    "voice_settings": "--voice-settings",
    "extra_params": "--param",
    "timeout": "--timeout",
    "poll_interval": "--poll-interval",
    "max_retries": "--retries",
    "retry": "--retries",
    "base_url": "--base-url",
    "model": "--model",
    "provider": "--provider",
}
"""Request/config field → the option a user typed (for validation messages)."""


def option_for_field(name: str, operation: str | None = None) -> str:
    """The command-line spelling of a request or config field."""
    if name == "audio":
        return "AUDIO" if operation == "sts" else "--input-audio"
    return _REQUEST_OPTIONS.get(name, name)


_OBJECT_ADDRESS = re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>")
"""``<ssl.SSLContext object at 0x7f…>`` in an SDK's message: the address tells a user
nothing (and differs every run); the type is kept."""


def one_line(text: str, limit: int = 1000) -> str:
    """``text`` on a single line, secrets redacted, at most ``limit`` characters."""
    flat = " ".join(redact_text(str(text)).split())
    flat = _OBJECT_ADDRESS.sub(r"<\1>", flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_pydantic(exc: PydanticValidationError, operation: str | None = None) -> str:
    """``--aspect-ratio: aspect ratio must look like '16:9' …; --duration: …``."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        name = option_for_field(loc[0], operation) if loc else "input"
        message = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        parts.append(f"{name}: {message}")
    return "; ".join(dict.fromkeys(parts))


def _toml_items(text: str) -> str:
    """``'vertexai': True, 'project': ...`` → ``vertexai = true, project = ...``."""
    out = re.sub(r"'(\w+)':\s*", r"\1 = ", text)
    return out.replace("True", "true").replace("False", "false").replace("'", '"')


def _param_value(value: str) -> str:
    value = value.strip().strip("'\"")
    return {"True": "true", "False": "false", "None": "null"}.get(value, value)


def for_cli(text: str, provider: str | None, operation: str | None = None) -> str:
    """An error message of the Python API in command-line terms.

    ``request.voice_id`` → ``--voice``; ``extra_params={'size': 'WxH'}`` → ``--param
    size=WxH``; ``provider_options={'cartesia': {'voice_id': ...}}`` → ``--param
    cartesia.voice_id=…``; ``provider_config={...}`` and ``api_key``/``base_url`` in the
    config → the config file's ``[providers.<name>]`` table or ``--base-url``.
    """
    table = f"[providers.{provider}]" if provider else "[providers.<name>]"
    text = re.sub(
        r"provider_options=\{'(\w+)': \{'(\w+)': [^}]*\}\}",
        lambda m: f"--param {m.group(1)}.{m.group(2)}=…",
        text,
    )
    text = re.sub(
        r"extra_params=\{'(\w+)': ([^},]*)\}",
        lambda m: f"--param {m.group(1)}={_param_value(m.group(2))}",
        text,
    )
    text = re.sub(
        r"provider_config=\{([^}]*)\}",
        lambda m: (
            f"provider_config = {{{_toml_items(m.group(1))}}} under {table} in the config file"
        ),
        text,
    )
    text = re.sub(r"request\.(\w+)", lambda m: option_for_field(m.group(1), operation), text)
    fields = "|".join(sorted((k for k in _REQUEST_OPTIONS if "_" in k), key=len, reverse=True))
    text = re.sub(
        rf"(?<![\w.'\"-])({fields}):", lambda m: option_for_field(m.group(1), operation) + ":", text
    )
    text = text.replace("pass base_url=", "pass --base-url ")
    text = text.replace(
        "pass api_key in the config", f"add api_key under {table} in the config file"
    )
    return text.replace("pass api_key,", f"add api_key under {table} in the config file,")


@dataclass
class ErrorReport:
    """What to tell the user about one failure."""

    exit_code: int
    message: str
    kind: str
    details: dict[str, Any]


def _attempt_summary(exc: TarashException) -> str:
    meta = exc.execution_metadata
    if meta is None or meta.total_attempts <= 1:
        return ""
    chain = " → ".join(dict.fromkeys(f"{a.provider}/{a.model}" for a in meta.attempts))
    return f" [after {meta.total_attempts} attempts: {chain}]"


def describe_error(exc: BaseException, operation: str | None = None) -> ErrorReport:
    """Exit code, one-line message and JSON details of ``exc``."""
    # imported here: a failure is where they are needed, not ``tarash --help``
    from pydantic import ValidationError as PydanticValidationError

    from tarash.tarash_gateway.media import MediaTooLargeError

    if isinstance(exc, CliError):
        return ErrorReport(exc.exit_code, one_line(exc.message), exc.kind, dict(exc.details))
    if isinstance(exc, PydanticValidationError):
        return ErrorReport(EXIT_USAGE, one_line(format_pydantic(exc, operation)), "usage", {})
    if isinstance(exc, Terminated):
        return ErrorReport(
            exc.exit_code,
            f"terminated by {exc.name}; the gateway asked the provider to cancel the job",
            "interrupted",
            {"signal": exc.name},
        )
    if isinstance(exc, KeyboardInterrupt):
        return ErrorReport(
            EXIT_INTERRUPTED,
            "interrupted; the gateway asked the provider to cancel the job",
            "interrupted",
            {},
        )
    if isinstance(exc, TarashException):
        code, label = EXIT_ERROR, "error"
        for cls, cls_code, cls_label in _CLASSES:
            if isinstance(exc, cls):
                code, label = cls_code, cls_label
                break
        text = for_cli(str(exc), exc.provider, operation)
        if not text.lower().startswith(label.split()[0]) and not isinstance(
            exc, ProviderSDKMissingError
        ):
            text = f"{label}: {text}"
        details: dict[str, Any] = {
            "provider": exc.provider,
            "model": exc.model,
            "provider_request_id": exc.request_id,
            "retryable": exc.retryable,
        }
        status_code = getattr(exc, "status_code", None)
        if status_code is not None:
            details["status_code"] = status_code
        errors = getattr(exc, "errors", None)
        if errors:
            details["errors"] = errors
        if isinstance(exc, ProviderSDKMissingError):
            details["install"] = exc.install
        return ErrorReport(
            code, one_line(text + _attempt_summary(exc)), type(exc).__name__, details
        )
    if isinstance(exc, MediaTooLargeError):
        return ErrorReport(EXIT_USAGE, one_line(str(exc)), "usage", {})
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        reason = exc.strerror or str(exc)
        return ErrorReport(EXIT_ERROR, one_line(f"cannot access{where}: {reason}"), "io", {})
    return ErrorReport(
        EXIT_ERROR,
        one_line(f"unexpected {type(exc).__name__}: {exc} (run again with --debug for details)"),
        type(exc).__name__,
        {},
    )
