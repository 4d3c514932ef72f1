"""Facts about synthesised audio read from its bytes: duration and sample rate.

Used by the audio providers (ElevenLabs, Cartesia) to fill ``duration`` and
``sample_rate`` on :class:`~tarash.tarash_gateway.models.TTSResponse` /
``STSResponse`` without decoding anything:

* **WAV** — the RIFF ``fmt `` and ``data`` chunks (streamed WAV files often
  declare a placeholder data size; the bytes actually present win);
* **raw PCM / G.711** — byte count ÷ (rate × bytes per sample);
* **MP3** — a walk over the MPEG audio frame headers (MPEG 1/2/2.5,
  Layer I/II/III), skipping ID3v2 tags and the Xing/Info frame, and applying
  the LAME encoder-delay/padding of gapless files, so the result matches what
  a gapless decoder plays;
* **Ogg Opus** — the last page's granule position minus the pre-skip.

Anything else (or malformed data) gives ``None``: an unknown duration is
reported as unknown, never guessed.

It also resolves STS audio inputs (:func:`check_audio_input` before any call,
:func:`read_audio_input` at submit time) so every provider enforces
``config.max_input_bytes`` the same way and reports ``field="audio"``.

No SDK imports. The providers share this module; it belongs in core
(``tarash_gateway/audio.py``) once that module exists.
"""

from __future__ import annotations

import mimetypes
import struct
from dataclasses import dataclass
from typing import Any

from tarash.tarash_gateway.exceptions import TarashException, ValidationError
from tarash.tarash_gateway.media import MediaInput, MediaTooLargeError, extension_for

__all__ = [
    "AudioFacts",
    "AudioInput",
    "audio_facts",
    "check_audio_input",
    "mp3_duration",
    "ogg_opus_duration",
    "pcm_duration",
    "pick_headers",
    "read_audio_input",
    "wav_facts",
]


@dataclass(frozen=True)
class AudioFacts:
    """What could be read from audio bytes (``None`` = unknown)."""

    duration: float | None
    sample_rate: int | None


# ------------------------------------------------------------------------------------- PCM


def pcm_duration(
    nbytes: int, sample_rate: int, *, bytes_per_sample: int = 2, channels: int = 1
) -> float | None:
    """Seconds of raw interleaved PCM: ``nbytes / (rate × width × channels)``."""
    frame = sample_rate * bytes_per_sample * channels
    if frame <= 0 or nbytes < 0:
        return None
    return nbytes / frame


# ------------------------------------------------------------------------------------- WAV


def wav_facts(data: bytes) -> AudioFacts | None:
    """Duration and sample rate of a RIFF/WAVE file (``None`` if it is not one)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    rate = block = 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt " and body + 16 <= len(data):
            _fmt, _channels, rate, _byte_rate, block, _bits = struct.unpack_from(
                "<HHIIHH", data, body
            )
        elif chunk_id == b"data":
            if not rate or not block:
                return None
            available = len(data) - body
            # 0 and 0xFFFFFFFF are streaming placeholders: the real size is what follows.
            present = available if size in (0, 0xFFFFFFFF) else min(size, available)
            return AudioFacts(duration=(present // block) / rate, sample_rate=rate)
        pos = body + size + (size & 1)
    return AudioFacts(duration=None, sample_rate=rate or None) if rate else None


# ------------------------------------------------------------------------------------- MP3

_MP3_BITRATES = {
    # (mpeg1?, layer) -> kbps by index 0..14 (index 0 = free format, unsupported)
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@dataclass(frozen=True)
class _Frame:
    length: int
    samples: int
    sample_rate: int
    mpeg1: bool
    mono: bool


def _mp3_frame(data: bytes, pos: int) -> _Frame | None:
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3]
    version = (b1 >> 3) & 0x3  # 0 = MPEG2.5, 1 = reserved, 2 = MPEG2, 3 = MPEG1
    layer = 4 - ((b1 >> 1) & 0x3)  # 4 = reserved
    bitrate_index = b2 >> 4
    rate_index = (b2 >> 2) & 0x3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    kbps = _MP3_BITRATES[(mpeg1, layer)][bitrate_index]
    rate = _MP3_RATES[version][rate_index]
    padding = (b2 >> 1) & 0x1
    if layer == 1:
        length = (12 * kbps * 1000 // rate + padding) * 4
        samples = 384
    elif layer == 2 or mpeg1:
        length = 144 * kbps * 1000 // rate + padding
        samples = 1152
    else:  # Layer III, MPEG2/2.5
        length = 72 * kbps * 1000 // rate + padding
        samples = 576
    return _Frame(length, samples, rate, mpeg1, (b3 >> 6) == 3)


def _skip_id3(data: bytes, pos: int) -> int:
    while data[pos : pos + 3] == b"ID3" and pos + 10 <= len(data):
        size_bytes = data[pos + 6 : pos + 10]
        if any(b & 0x80 for b in size_bytes):
            return pos
        size = 0
        for b in size_bytes:
            size = (size << 7) | b
        footer = 10 if data[pos + 5] & 0x10 else 0
        pos += 10 + size + footer
    return pos


def _gapless_trim(data: bytes, pos: int, frame: _Frame) -> tuple[bool, int]:
    """Whether the frame at ``pos`` is a Xing/Info header, and the LAME delay+padding."""
    if frame.mpeg1:
        side = 17 if frame.mono else 32
    else:
        side = 9 if frame.mono else 17
    tag = pos + 4 + side
    if data[tag : tag + 4] not in (b"Xing", b"Info"):
        return data[pos + 36 : pos + 40] == b"VBRI", 0
    (flags,) = struct.unpack_from(">I", data, tag + 4)
    offset = tag + 8
    for bit, size in ((0x1, 4), (0x2, 4), (0x4, 100), (0x8, 4)):
        if flags & bit:
            offset += size
    lame = data[offset : offset + 24]
    if len(lame) == 24 and lame[:4] in (b"LAME", b"Lavf", b"Lavc"):
        packed = lame[21:24]
        delay = (packed[0] << 4) | (packed[1] >> 4)
        padding = ((packed[1] & 0x0F) << 8) | packed[2]
        # Gapless players drop ``delay`` samples at the start and ``padding`` at the end.
        return True, delay + padding
    return True, 0


def mp3_duration(data: bytes) -> float | None:
    """Seconds of MPEG audio from its frame headers (``None`` if no frame chain is found)."""
    pos = _skip_id3(data, 0)
    samples = 0
    rate: int | None = None
    frames = 0
    trim = 0
    first = True
    end = len(data)
    while pos + 4 <= end:
        frame = _mp3_frame(data, pos)
        if frame is None or (rate is not None and frame.sample_rate != rate):
            if frames:
                # ID3v1 / APE tags or junk after the audio: stop at the first non-frame.
                break
            nxt = data.find(b"\xff", pos + 1)
            if nxt < 0:
                return None
            pos = nxt
            continue
        if first:
            # A sync word must be followed by another frame (or the end) to count.
            follow = pos + frame.length
            if follow + 4 <= end and _mp3_frame(data, follow) is None:
                nxt = data.find(b"\xff", pos + 1)
                if nxt < 0:
                    return None
                pos = nxt
                continue
            first = False
            rate = frame.sample_rate
            is_header, trim = _gapless_trim(data, pos, frame)
            if is_header:
                pos += frame.length
                continue
        if pos + frame.length > end:
            break  # truncated last frame: not playable
        samples += frame.samples
        frames += 1
        pos += frame.length
    if not frames or rate is None:
        return None
    return max(0, samples - trim) / rate


# ------------------------------------------------------------------------------------- Ogg Opus


def ogg_opus_duration(data: bytes) -> float | None:
    """Seconds of an Ogg Opus stream: last granule position minus pre-skip, at 48 kHz."""
    if not data.startswith(b"OggS"):
        return None
    head = data.find(b"OpusHead", 0, 512)
    if head < 0 or head + 12 > len(data):
        return None
    pre_skip: int = struct.unpack_from("<H", data, head + 10)[0]
    last = data.rfind(b"OggS")
    if last < 0 or last + 14 > len(data):
        return None
    granule: int = struct.unpack_from("<q", data, last + 6)[0]
    if granule < 0:
        return None
    return max(0, granule - pre_skip) / 48000.0


# ------------------------------------------------------------------------------------- dispatch

_G711 = ("mulaw", "ulaw", "alaw", "pcm_mulaw", "pcm_alaw")


def audio_facts(
    data: bytes, container: str, sample_rate: int | None, *, encoding: str | None = None
) -> AudioFacts:
    """Duration and sample rate of ``data`` in ``container`` (mp3, wav, pcm/raw, ulaw, opus…).

    ``sample_rate`` is what was requested; for WAV the file's own header wins.
    ``encoding`` refines raw audio (``pcm_s16le``, ``pcm_f32le``, ``pcm_mulaw``, ``pcm_alaw``).
    """
    kind = container.lower()
    if kind == "wav" or data[:4] == b"RIFF":
        facts = wav_facts(data)
        if facts is not None:
            return facts
        return AudioFacts(None, sample_rate)
    if kind == "mp3":
        return AudioFacts(mp3_duration(data), sample_rate)
    if kind in ("opus", "ogg"):
        return AudioFacts(ogg_opus_duration(data), 48000 if data.startswith(b"OggS") else None)
    if sample_rate is None:
        return AudioFacts(None, None)
    if kind in _G711 or (encoding or "") in _G711:
        return AudioFacts(pcm_duration(len(data), sample_rate, bytes_per_sample=1), sample_rate)
    if kind in ("pcm", "raw"):
        width = 4 if (encoding or "").endswith("f32le") else 2
        return AudioFacts(pcm_duration(len(data), sample_rate, bytes_per_sample=width), sample_rate)
    return AudioFacts(None, sample_rate)


# ------------------------------------------------------------------------------------- STS inputs

_NOT_AUDIO = ("image/", "text/", "application/json", "application/pdf")


@dataclass(frozen=True)
class AudioInput:
    """STS input audio ready for a multipart upload."""

    data: bytes
    content_type: str
    filename: str

    def as_file(self) -> tuple[str, bytes, str]:
        """``(filename, bytes, content_type)`` as SDK multipart helpers take it."""
        return self.filename, self.data, self.content_type


def _too_large(size: int | str, limit: int, provider: str, model: str) -> ValidationError:
    return ValidationError(
        f"audio input is {size} bytes, over the {limit}-byte limit "
        "(raise config.max_input_bytes to allow larger inputs)",
        provider,
        model,
        field="audio",
    )


def check_audio_input(media: MediaInput, max_bytes: int, *, provider: str, model: str) -> None:
    """Reject local audio over ``max_bytes`` (or obviously not audio) before any call.

    Remote URLs are checked while they download (see :func:`read_audio_input`).
    """
    size: int | None = None
    if media.data is not None:
        size = len(media.data)
    elif media.path is not None:
        try:
            size = media.path.stat().st_size
        except OSError as exc:
            raise ValidationError(
                f"audio input file cannot be read: {exc}", provider, model, field="audio"
            ) from exc
    if size is not None and size > max_bytes:
        raise _too_large(size, max_bytes, provider, model)
    ctype = (media.content_type or "").lower()
    if ctype.startswith(_NOT_AUDIO):
        raise ValidationError(
            f"audio input looks like {ctype}, not audio", provider, model, field="audio"
        )


async def read_audio_input(
    media: MediaInput, max_bytes: int, *, provider: str, model: str, timeout: float = 60.0
) -> AudioInput:
    """Bytes of an STS input (URLs downloaded on the shared client, capped at ``max_bytes``).

    Raises:
        ValidationError: too large, unreadable, or the URL answered 4xx (``field="audio"``).
        TarashException: a transient download failure (retryable).
    """
    try:
        data, ctype = await media.read(max_bytes, timeout=timeout)
    except MediaTooLargeError as exc:
        raise ValidationError(str(exc), provider, model, field="audio") from exc
    except OSError as exc:
        raise ValidationError(
            f"audio input file cannot be read: {exc}", provider, model, field="audio"
        ) from exc
    except TarashException as exc:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and status != 429:
            raise ValidationError(
                f"audio input URL could not be downloaded: {exc.message}",
                provider,
                model,
                field="audio",
            ) from exc
        exc.provider = provider
        exc.model = model
        raise
    if not data:
        raise ValidationError("audio input is empty", provider, model, field="audio")
    ctype = (ctype or "application/octet-stream").split(";")[0].strip().lower()
    if ctype.startswith(_NOT_AUDIO):
        raise ValidationError(
            f"audio input looks like {ctype}, not audio", provider, model, field="audio"
        )
    return AudioInput(data, ctype, _filename(media, ctype))


def _filename(media: MediaInput, ctype: str) -> str:
    if media.path is not None:
        return media.path.name
    if media.url is not None:
        tail = media.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if tail and "." in tail:
            return tail
    ext = extension_for(ctype, "") or mimetypes.guess_extension(ctype) or ".bin"
    return f"audio{ext}"


def pick_headers(headers: Any, names: tuple[str, ...]) -> dict[str, str]:
    """The listed response headers (case-insensitive) that are present."""
    if not headers:
        return {}
    lower = {str(k).lower(): str(v) for k, v in dict(headers).items()}
    return {name: lower[name] for name in names if name in lower}
