"""Media inputs and outputs: one type that accepts a URL, raw bytes, base64 or a local path.

Request fields that take media (reference images, first/last frames, masks,
input video, STS audio) are typed :data:`MediaType`. Whatever the caller gives
is checked when the request is built:

* ``"https://…"`` / ``"http://…"`` — a URL, passed to providers that accept URLs;
* ``"data:image/png;base64,…"`` — a data URI;
* ``b"…"`` / ``bytearray`` — raw bytes (content type sniffed from magic numbers);
* ``{"content": b"…", "content_type": "image/png"}`` — :class:`MediaContent`;
* ``pathlib.Path`` or a string naming an existing file (``"file://…"`` too) —
  read lazily, off the event loop, when a provider needs the bytes;
* any other string must be valid base64.

Providers call :func:`to_media_input` / :meth:`MediaInput.read` to get bytes,
a data URI or a URL, within the size limit (:data:`DEFAULT_MAX_MEDIA_BYTES`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlparse

from pydantic import BeforeValidator
from typing_extensions import TypedDict

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "ImageType",
    "MediaContent",
    "MediaInput",
    "MediaTooLargeError",
    "MediaType",
    "check_media_sizes",
    "coerce_media",
    "decode_data_uri",
    "extension_for",
    "sniff_content_type",
    "to_data_uri",
    "to_media_input",
]

DEFAULT_MAX_MEDIA_BYTES = 100 * 1024 * 1024
"""Largest media input the gateway reads into memory (100 MiB)."""

_DATA_URI_RE = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]+)*?)?,", re.I)
_B64_CHARS_RE = re.compile(r"^[A-Za-z0-9+/_\-\s]*={0,2}\s*$")


class MediaContent(TypedDict):
    """Raw media bytes with their MIME type (kept a TypedDict for 0.1.0 compatibility)."""

    content: bytes
    content_type: str


class MediaTooLargeError(ValueError):
    """A media input is larger than the allowed limit."""


def sniff_content_type(data: bytes) -> str | None:
    """Guess a MIME type from magic numbers (images, audio, video)."""
    head = bytes(data[:16])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        return "video/mp4"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"BM"):
        return "image/bmp"
    return None


_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/flac": ".flac",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
    "audio/pcm": ".pcm",
    "audio/basic": ".ulaw",
}


def extension_for(content_type: str | None, default: str = ".bin") -> str:
    """File extension for a MIME type (``image/png`` → ``.png``)."""
    if not content_type:
        return default
    base = content_type.split(";")[0].strip().lower()
    return _EXTENSIONS.get(base) or mimetypes.guess_extension(base) or default


def to_data_uri(data: bytes, content_type: str) -> str:
    """Encode bytes as a ``data:`` URI."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """Decode a ``data:`` URI into ``(bytes, content_type)``; raises ``ValueError``."""
    match = _DATA_URI_RE.match(uri)
    if not match:
        raise ValueError("not a valid data URI")
    payload = uri[match.end() :]
    params = match.group("params") or ""
    if ";base64" in params.lower():
        data = _b64decode(payload)
    else:
        data = unquote(payload).encode("utf-8")
    mime = match.group("mime") or sniff_content_type(data) or "application/octet-stream"
    return data, mime


def _b64decode(text: str) -> bytes:
    cleaned = "".join(text.split())
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("invalid base64 data") from exc


_SYSTEM_DIRS = ("/proc", "/sys", "/dev")


def _is_system_path(path: Path) -> bool:
    resolved = str(path.resolve())
    return any(resolved == d or resolved.startswith(d + "/") for d in _SYSTEM_DIRS)


def _looks_like_path(value: str) -> Path | None:
    """A bare string names a local file only if that file is a regular file with media
    magic bytes: a service forwarding user-supplied "URLs" must not be made to read and
    upload ``/proc/self/environ`` or a credentials file. Pass a ``Path`` (or ``file://``)
    to send other local files. A string naming any other existing file is refused."""
    if len(value) > 4096 or "\n" in value:
        return None
    from tarash.tarash_gateway._netpolicy import local_files_allowed

    if not local_files_allowed():
        return None  # server mode: a string is never a path (it may still be base64)
    try:
        candidate = Path(os.path.expanduser(value))
        if not candidate.exists():
            return None
        head = b""
        if candidate.is_file() and not _is_system_path(candidate):
            with candidate.open("rb") as handle:
                head = handle.read(32)
    except (OSError, ValueError):
        return None
    if head and sniff_content_type(head):
        return candidate
    raise ValueError(
        f"{value[:80]!r} names a local file that is not an image, audio or video file; "
        "pass a pathlib.Path (or a file:// URL) to send it anyway"
    )


def _require_local_files_allowed() -> None:
    from tarash.tarash_gateway._netpolicy import local_files_allowed

    if not local_files_allowed():
        raise ValueError(
            "local files are not accepted as media inputs in server mode; "
            "send an https URL, a data URI, base64 data or bytes"
        )


def _explicit_path(path: Path) -> Path:
    _require_local_files_allowed()
    if _is_system_path(path):
        raise ValueError(f"refusing to read media from a system path: {path}")
    if not path.is_file():
        raise ValueError(f"media file not found: {path}")
    return path


def coerce_media(value: Any) -> Any:
    """Normalise any accepted media input (see module docs); raise ``ValueError`` otherwise.

    Returns a URL/data-URI/base64 ``str``, a :class:`MediaContent` dict or a ``Path``.
    """
    # pydantic.networks costs ~10 ms to import (it loads importlib.metadata): a value can
    # only be an HttpUrl when some other code has imported it already.
    networks = sys.modules.get("pydantic.networks")
    if networks is not None and isinstance(value, networks.HttpUrl):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if not data:
            raise ValueError("media bytes are empty")
        return MediaContent(
            content=data, content_type=sniff_content_type(data) or "application/octet-stream"
        )
    if isinstance(value, os.PathLike):
        return _explicit_path(Path(os.fspath(value)).expanduser())
    if isinstance(value, dict):
        content = value.get("content")
        if not isinstance(content, bytes | bytearray):
            raise ValueError("MediaContent needs 'content' bytes")
        ctype = value.get("content_type") or sniff_content_type(bytes(content))
        if not ctype:
            raise ValueError("MediaContent needs a 'content_type'")
        return MediaContent(content=bytes(content), content_type=str(ctype))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("media input is an empty string")
        lowered = text[:8].lower()
        if lowered.startswith(("http://", "https://")):
            parsed = urlparse(text)
            if not parsed.netloc:
                raise ValueError(f"invalid media URL: {text[:80]}")
            return text
        if lowered.startswith("data:"):
            decode_data_uri(text)  # validates
            return text
        if lowered.startswith("file://"):
            return _explicit_path(Path(unquote(urlparse(text).path)))
        found = _looks_like_path(text)
        if found is not None:
            return found
        if len(text) >= 16 and _B64_CHARS_RE.match(text):
            try:
                _b64decode(text)
            except ValueError:
                pass
            else:
                return text
        raise ValueError(
            "media input must be an http(s) URL, a data URI, base64 data, bytes, "
            "MediaContent, a pathlib.Path / file:// URL, or a string naming an existing "
            f"image/audio/video file; got {text[:60]!r}"
        )
    raise ValueError(f"unsupported media input type: {type(value).__name__}")


MediaType = Annotated[str | MediaContent | Path, BeforeValidator(coerce_media)]
"""A media input: URL, data URI, base64 string, bytes, :class:`MediaContent` or local path."""


class ImageType(TypedDict):
    """An input image and its role (kept a TypedDict for 0.1.0 compatibility)."""

    image: MediaType
    type: Literal["reference", "first_frame", "last_frame", "asset", "style"]


@dataclass(frozen=True, slots=True)
class MediaInput:
    """A media input normalised for providers: exactly one of ``url``, ``data``, ``path``."""

    url: str | None = None
    data: bytes | None = None
    path: Path | None = None
    content_type: str | None = None

    @property
    def is_url(self) -> bool:
        """True when the media is a remote http(s) URL (no bytes at hand)."""
        return self.url is not None

    def __repr__(self) -> str:
        if self.url:
            return f"MediaInput(url={self.url[:80]!r})"
        if self.path:
            return f"MediaInput(path={str(self.path)!r})"
        return f"MediaInput(<{len(self.data or b'')} bytes {self.content_type}>)"

    def read_local(self, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES) -> tuple[bytes, str]:
        """Bytes and MIME type of in-memory or local-file media (blocking for files)."""
        if self.data is not None:
            _check_size(len(self.data), max_bytes)
            return self.data, self.content_type or "application/octet-stream"
        if self.path is not None:
            _require_local_files_allowed()  # built before server mode was switched on
            size = self.path.stat().st_size
            _check_size(size, max_bytes, str(self.path))
            data = self.path.read_bytes()
            ctype = (
                sniff_content_type(data)
                or mimetypes.guess_type(self.path.name)[0]
                or "application/octet-stream"
            )
            return data, ctype
        raise ValueError("remote media has no local bytes; use read()")

    async def read(
        self, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES, *, timeout: float = 60.0
    ) -> tuple[bytes, str]:
        """Bytes and MIME type, downloading URLs with the shared client (never blocks the loop)."""
        if self.url is None:
            if self.path is not None:
                return await asyncio.to_thread(self.read_local, max_bytes)
            return self.read_local(max_bytes)
        from tarash.tarash_gateway.http import download_bytes

        return await download_bytes(self.url, max_bytes=max_bytes, timeout=timeout)

    async def as_data_uri(self, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES) -> str:
        """A ``data:`` URI of the media (downloads URLs)."""
        data, ctype = await self.read(max_bytes)
        return to_data_uri(data, ctype)

    async def as_url_or_data_uri(self, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES) -> str:
        """The URL when remote, else a data URI (for providers that accept either)."""
        if self.url is not None:
            return self.url
        return await self.as_data_uri(max_bytes)


def _check_size(size: int, max_bytes: int, name: str = "media input") -> None:
    if size > max_bytes:
        raise MediaTooLargeError(
            f"{name} is {size} bytes, over the {max_bytes}-byte limit for media inputs"
        )


def to_media_input(value: Any) -> MediaInput:
    """Normalise a :data:`MediaType` value (already validated or raw) into a :class:`MediaInput`."""
    if isinstance(value, MediaInput):
        return value
    coerced = coerce_media(value)
    if isinstance(coerced, Path):
        return MediaInput(path=coerced, content_type=mimetypes.guess_type(coerced.name)[0])
    if isinstance(coerced, dict):
        return MediaInput(data=coerced["content"], content_type=coerced["content_type"])
    text = str(coerced)
    if text[:8].lower().startswith(("http://", "https://")):
        return MediaInput(url=text, content_type=mimetypes.guess_type(urlparse(text).path)[0])
    if text[:5].lower() == "data:":
        data, ctype = decode_data_uri(text)
        return MediaInput(data=data, content_type=ctype)
    data = _b64decode(text)
    return MediaInput(
        data=data, content_type=sniff_content_type(data) or "application/octet-stream"
    )


def _media_inputs(value: Any, depth: int = 0) -> list[MediaInput]:
    if isinstance(value, MediaInput):
        return [value]
    if depth > 12:
        return []
    if isinstance(value, Mapping):
        return [m for item in value.values() for m in _media_inputs(item, depth + 1)]
    if isinstance(value, list | tuple):
        return [m for item in value for m in _media_inputs(item, depth + 1)]
    return []


async def check_media_sizes(
    payload: Any,
    max_bytes: int,
    *,
    provider: str | None = None,
    model: str | None = None,
) -> None:
    """Size-check every in-memory and local-file media input of ``payload`` before any upload.

    Raises the gateway's ``ValidationError`` (``field="media"``) naming the first input over
    ``max_bytes``, so that no input is uploaded when a later one is too large. Files are
    checked with ``stat`` in a worker thread; remote URLs are capped while they download.
    """
    from tarash.tarash_gateway._netpolicy import local_files_allowed
    from tarash.tarash_gateway.exceptions import ValidationError

    items = _media_inputs(payload)
    paths = [m.path for m in items if m.path is not None]
    if paths and not local_files_allowed():
        raise ValidationError(
            "local files are not accepted as media inputs in server mode",
            provider,
            model,
            field="media",
        )
    sizes: dict[int, int] = {}
    if paths:

        def stat_all() -> list[int]:
            return [p.stat().st_size for p in paths]

        try:
            for path, size in zip(paths, await asyncio.to_thread(stat_all), strict=True):
                sizes[id(path)] = size
        except OSError as exc:
            raise ValidationError(
                f"media file cannot be read: {exc.strerror or type(exc).__name__}",
                provider,
                model,
                field="media",
            ) from None
    for index, item in enumerate(items):
        if item.data is not None:
            size, name = len(item.data), f"media input #{index + 1}"
        elif item.path is not None:
            size, name = sizes[id(item.path)], str(item.path)
        else:
            continue
        if size > max_bytes:
            raise ValidationError(
                f"{name} is {size} bytes, over the {max_bytes}-byte limit for media inputs "
                "(raise config.max_input_bytes to allow it); nothing was uploaded",
                provider,
                model,
                field="media",
            )
