"""Secret redaction shared by logging, reprs and exceptions.

Every API key the gateway is given (through a config) is remembered here, so
that any text we emit — log lines, exception messages, progress payloads — can
be scrubbed of it even when a provider echoes it back in an error body.
Keys named like secrets (``api_key``, ``authorization``, ``token`` …) are also
masked structurally in logged dictionaries.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"
_MIN_SECRET_LEN = 6
_SECRET_KEY_RE = re.compile(
    r"(api[-_]?key|apikey|secret|token|password|passwd|authorization|auth|credential|"
    r"x-goog-api-key|xi-api-key|cookie|signature)",
    re.IGNORECASE,
)
# Bearer/Key/Basic schemes in free text: "Authorization: Bearer abc.def"
_AUTH_SCHEME_RE = re.compile(r"\b(Bearer|Key|Basic|Token)\s+[A-Za-z0-9._~+/=:\-]{6,}")

_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact_text` removes it everywhere."""
    global _pattern
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value in _known:
            return
        _known.add(value)
        # Longest first so that a key containing another key is removed whole.
        ordered = sorted(_known, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact_text(text: str) -> str:
    """Replace every registered secret and every ``Bearer …`` credential in ``text``."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _AUTH_SCHEME_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)


def is_secret_key(name: str) -> bool:
    """Whether a mapping key names a secret (``api_key``, ``Authorization`` …)."""
    return bool(_SECRET_KEY_RE.search(name)) and not name.lower().endswith(
        ("_tokens", "tokens", "max_tokens")
    )


def redact_value(value: Any, *, max_str: int = 500, _depth: int = 0) -> Any:
    """Return a JSON-friendly, redacted copy of ``value`` for logs.

    Pydantic models are dumped (their SecretStr fields are already masked),
    secret-named keys are masked at any depth, bytes become a size note and
    long strings (base64 blobs) are shortened.
    """
    if _depth > 12:
        return "…"
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            value = dump(mode="json", exclude_none=True)
        except Exception:  # pragma: no cover - defensive: never fail while logging
            value = repr(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            if is_secret_key(key) and v is not None and not isinstance(v, bool | int | float):
                out[key] = MASK
            else:
                out[key] = redact_value(v, max_str=max_str, _depth=_depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, max_str=max_str, _depth=_depth + 1) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        text = redact_text(value)
        if len(text) > max_str:
            return f"{text[:max_str]}…<{len(text)} chars>"
        return text
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(repr(value))
