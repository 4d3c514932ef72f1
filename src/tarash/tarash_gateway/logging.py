"""Structured, redacted logging under the ``tarash.tarash_gateway.*`` loggers.

The library never configures handlers (a :class:`logging.NullHandler` sits on
the package logger); applications decide where records go. Each record carries
its structured context in ``record.tarash_context`` (a redacted dict) and the
same context appended to the message as compact JSON, so plain formatters show
it too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from tarash.tarash_gateway._secrets import redact_text, redact_value, scrub_exception

ROOT_LOGGER_NAME = "tarash.tarash_gateway"
logging.getLogger(ROOT_LOGGER_NAME).addHandler(logging.NullHandler())

# Loggers of the HTTP stack and SDKs the gateway drives. httpx logs every request URL at
# INFO (a key in a query string, user:password@ in a base URL), httpcore logs response
# headers at DEBUG (a provider that echoes the key in a header), and SDKs log request
# options and retry reasons at DEBUG. A logger's filters see only records created on that
# exact logger, so each one is named.
HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpx2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "urllib3.connectionpool",
    "grpc._common",
    "grpc.aio._call",
    "fal_client.client",
    "google_genai._common",
    "openai._response",
    "runwayml._response",
    "cartesia._response",
    "openai._base_client",
    "openai",
    "replicate",
    "elevenlabs",
    "fal_client",
    "google_genai",
    "google_genai._api_client",
    "google_genai.models",
    "xai_sdk",
    "runwayml._base_client",
    "cartesia._base_client",
    "hume",
)


class RedactingFilter(logging.Filter):
    """Mask registered secrets in a record's message, arguments and exception chain."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's error path
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])
            record.exc_text = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(names: tuple[str, ...] = HTTP_LOGGERS) -> None:
    """Attach the redacting filter to ``names`` (idempotent; done at import)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


install_log_redaction()

__all__ = [
    "HTTP_LOGGERS",
    "ROOT_LOGGER_NAME",
    "RedactingFilter",
    "get_logger",
    "install_log_redaction",
    "log_debug",
    "log_error",
    "log_info",
    "log_warning",
]


def get_logger(name: str | None = None) -> logging.Logger:
    """Return a logger under the package namespace (``name`` may be a suffix or a full name)."""
    if not name:
        return logging.getLogger(ROOT_LOGGER_NAME)
    if not name.startswith(ROOT_LOGGER_NAME):
        name = f"{ROOT_LOGGER_NAME}.{name}"
    return logging.getLogger(name)


def _emit(
    level: int,
    message: str,
    context: Mapping[str, Any] | None,
    logger_name: str | None,
    redact: bool,
    exc_info: bool,
) -> None:
    logger = get_logger(logger_name)
    if not logger.isEnabledFor(level):
        return
    # Redaction is always applied to secrets; ``redact=False`` only keeps long values whole.
    safe = redact_value(dict(context or {}), max_str=500 if redact else 100_000)
    text = redact_text(message)
    if exc_info:  # the traceback prints the whole chain: an SDK error may carry the key
        import sys

        scrub_exception(sys.exc_info()[1])
    if safe:
        text = f"{text} {json.dumps(safe, default=str, separators=(',', ':'))}"
    logger.log(level, text, extra={"tarash_context": safe}, exc_info=exc_info, stacklevel=3)


def log_debug(
    message: str,
    context: Mapping[str, Any] | None = None,
    logger_name: str | None = None,
    redact: bool = True,
) -> None:
    """Log at DEBUG with structured, redacted context."""
    _emit(logging.DEBUG, message, context, logger_name, redact, False)


def log_info(
    message: str,
    context: Mapping[str, Any] | None = None,
    logger_name: str | None = None,
    redact: bool = True,
) -> None:
    """Log at INFO with structured, redacted context."""
    _emit(logging.INFO, message, context, logger_name, redact, False)


def log_warning(
    message: str,
    context: Mapping[str, Any] | None = None,
    logger_name: str | None = None,
    redact: bool = True,
    exc_info: bool = False,
) -> None:
    """Log at WARNING with structured, redacted context."""
    _emit(logging.WARNING, message, context, logger_name, redact, exc_info)


def log_error(
    message: str,
    context: Mapping[str, Any] | None = None,
    logger_name: str | None = None,
    redact: bool = True,
    exc_info: bool = False,
) -> None:
    """Log at ERROR with structured, redacted context."""
    _emit(logging.ERROR, message, context, logger_name, redact, exc_info)
