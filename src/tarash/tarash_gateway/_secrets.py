"""Secret redaction shared by logging, reprs and exceptions.

Every API key the gateway is given (through a config) is remembered here, so
that any text we emit — log lines, exception messages, progress payloads — can
be scrubbed of it even when a provider echoes it back in an error body.
Keys named like secrets (``api_key``, ``authorization``, ``token`` …) are also
masked structurally in logged dictionaries.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"
_MIN_SECRET_LEN = 6
_SECRET_KEY_RE = re.compile(
    r"(api[-_]?key|apikey|secret|token|password|passwd|authorization|(^|[-_])auth($|[-_])|"
    r"credential|private|access[-_]?key|subscription[-_]?key|(^|[-_])key$|"
    r"x-goog-api-key|xi-api-key|cookie|signature)",
    re.IGNORECASE,
)
# Bearer/Key/Basic schemes in free text: "Authorization: Bearer abc.def"
_AUTH_SCHEME_RE = re.compile(r"\b(Bearer|Key|Basic|Token)\s+[A-Za-z0-9._~+/=:\-]{6,}")
# Secrets are matched as whole tokens (set lookup), so registering thousands of keys
# costs nothing per log line and nothing to recompile.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-.~+/]+")
_EDGE = "._-~+/"
_SUBTOKEN_SPLIT_RE = re.compile(r"([/.~+=])")
_SUBTOKEN_CHARS = frozenset("/.~+=")

_lock = threading.Lock()
_known: set[str] = set()
_parts: frozenset[str] = frozenset()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact_text` removes it everywhere."""
    global _parts
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value in _known:
            return
        _known.add(value)
        pieces = {p for p in _TOKEN_RE.findall(value) if len(p) >= _MIN_SECRET_LEN}
        # Also the pieces between '/', '.', '~', '+', '=': a key glued to a URL path
        # ("?token=<key>/model") or a sentence full stop still matches piece by piece.
        pieces |= {p for p in _SUBTOKEN_SPLIT_RE.split(value) if len(p) >= _MIN_SECRET_LEN}
        _parts = _parts | pieces


def register_secrets_in(value: Any, _depth: int = 0) -> None:
    """Register every string found under a secret-named key, at any depth."""
    if _depth > 12:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str) and is_secret_key(str(key)):
                register_secret(item)
            else:
                register_secrets_in(item, _depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            register_secrets_in(item, _depth + 1)


def _mask_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if token in _parts:
        return MASK
    core = token.strip(_EDGE)
    if core and core in _parts:
        return token.replace(core, MASK)
    if len(token) > _MIN_SECRET_LEN and _SUBTOKEN_CHARS.intersection(token):
        pieces = _SUBTOKEN_SPLIT_RE.split(token)
        if any(p in _parts for p in pieces):
            return "".join(MASK if p in _parts else p for p in pieces)
    return token


def redact_text(text: str) -> str:
    """Replace every registered secret and every ``Bearer …`` credential in ``text``."""
    if _parts:
        text = _TOKEN_RE.sub(_mask_token, text)
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
            # Python mode keeps bytes as bytes (size note below) and SecretStr masked.
            value = dump(mode="python", exclude_none=True)
        except Exception:  # pragma: no cover - defensive: never fail while logging
            return f"<unloggable {type(value).__name__}>"
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
    text = redact_text(repr(value))
    return f"{text[:max_str]}…" if len(text) > max_str else text


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot travel in an HTTP header, or None when it can.

    HTTP/1.1 and HTTP/2 header values are ASCII without control characters; an API key with
    a curly quote pasted from a document or a trailing newline read from a file otherwise
    fails deep inside the HTTP client (or worse, splits a header). The answer never
    contains the value itself, so it is safe in an error message.
    """
    for index, char in enumerate(value):
        code = ord(char)
        if code > 0x7E:
            return (
                f"contains a non-ASCII character (U+{code:04X}) at position {index}; "
                "HTTP headers carry ASCII only (a pasted curly quote or dash?)"
            )
        if code < 0x20 or code == 0x7F:
            name = {0: "NUL", 9: "tab", 10: "newline", 13: "carriage return"}.get(
                code, f"control character 0x{code:02X}"
            )
            return (
                f"contains a {name} at position {index}; HTTP headers cannot carry it "
                "(strip the key read from a file or environment variable)"
            )
    return None


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as UTF-8 text (a lone surrogate), or None when it can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone surrogate (U+{ord(value[exc.start]):04X}) at position "
            f"{exc.start}, which is not valid Unicode and cannot be encoded as UTF-8 "
            "(decode the source text with errors='replace' or fix it)"
        )
    return None


def has_secret(text: str) -> bool:
    """Whether ``text`` contains a registered secret or a ``Bearer …`` credential."""
    return redact_text(text) != text


def scrub_secrets(value: Any, _depth: int = 0) -> Any:
    """``value`` with every registered secret masked in its strings, structure kept.

    Unlike :func:`redact_value` (for logs) nothing is shortened or dumped: dicts, lists and
    tuples are copied only when something inside them changed, other objects are returned
    as they are. Used for ``raw_response`` payloads that callers still read.
    """
    if _depth > 20:
        return value
    if isinstance(value, str):
        cleaned_text = redact_text(value)
        return value if cleaned_text == value else cleaned_text
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return value
        cleaned = redact_text(text)
        return value if cleaned == text else cleaned.encode("utf-8")
    if isinstance(value, Mapping):
        items = [(k, scrub_secrets(v, _depth + 1)) for k, v in value.items()]
        if all(new is old for (_, new), old in zip(items, value.values(), strict=True)):
            return value
        try:
            return type(value)(items)  # type: ignore[call-arg]
        except TypeError:
            return dict(items)
    if isinstance(value, list | tuple):
        cleaned_items = [scrub_secrets(v, _depth + 1) for v in value]
        if all(new is old for new, old in zip(cleaned_items, value, strict=True)):
            return value
        return type(value)(cleaned_items) if isinstance(value, list) else tuple(cleaned_items)
    return value


def _scrub_object_strings(obj: Any, depth: int) -> None:
    """Mask secrets in the str/bytes/dict/list attributes of ``obj`` (and of plain objects
    it holds, two levels down: an SDK error's ``_state`` carries gRPC details)."""
    if depth > 2:
        return
    try:
        attrs = vars(obj)
    except TypeError:
        return
    for name, item in list(attrs.items()):
        if isinstance(item, str | bytes | Mapping | list | tuple):
            cleaned = scrub_secrets(item)
            if cleaned is not item:
                with contextlib.suppress(AttributeError, TypeError):  # read-only: leave it
                    setattr(obj, name, cleaned)
        elif (
            hasattr(item, "__dict__")
            and not isinstance(item, type | BaseException)
            and type(item).__module__.split(".")[0] in ("grpc", "google")
        ):
            _scrub_object_strings(item, depth + 1)


def scrub_exception(exc: BaseException | None) -> None:
    """Mask registered secrets everywhere in ``exc`` and its ``__cause__``/``__context__`` chain.

    A provider that echoes the key in an error body puts it into the SDK's exception
    (``args``, ``message``, ``body``, gRPC ``details``), which our typed error chains with
    ``raise … from``; ``traceback.format_exception`` and error trackers print that chain.
    Exceptions are modified in place (idempotent, cycle-safe).
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc] if exc is not None else []
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        try:
            if item.args:
                cleaned = scrub_secrets(item.args)
                if cleaned is not item.args:
                    item.args = cleaned
            _scrub_object_strings(item, 0)
            notes = getattr(item, "__notes__", None)
            if isinstance(notes, list):
                item.__notes__ = [scrub_secrets(n) for n in notes]
        except Exception:  # noqa: S110 - scrubbing must never replace the real error
            pass
        for nxt in (item.__cause__, item.__context__):
            if nxt is not None:
                todo.append(nxt)
        if isinstance(item, BaseExceptionGroup):
            todo.extend(item.exceptions)


def strip_url_credentials(url: str) -> str:
    """``url`` without ``user:password@`` and without query parameters that carry secrets
    (secret-named, such as ``key=``/``token=``, or holding a registered secret).

    For URLs that are stored or shown (job references, the job store, reprs): the
    credentials come from the config again when the job is resumed.
    """
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc.rsplit("@", 1)[-1] if "@" in parts.netloc else parts.netloc
    query = parts.query
    if query:
        kept = [
            (k, v)
            for k, v in parse_qsl(query, keep_blank_values=True)
            if not is_secret_key(k) and redact_text(v) == v
        ]
        query = urlencode(kept)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
