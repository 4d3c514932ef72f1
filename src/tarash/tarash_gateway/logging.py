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

from tarash.tarash_gateway._secrets import redact_text, redact_value

ROOT_LOGGER_NAME = "tarash.tarash_gateway"
logging.getLogger(ROOT_LOGGER_NAME).addHandler(logging.NullHandler())

__all__ = [
    "ROOT_LOGGER_NAME",
    "get_logger",
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
