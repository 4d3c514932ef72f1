"""Facts about synthesised audio read from its bytes: duration and sample rate.

Used by the audio providers (ElevenLabs, Cartesia, OpenAI, Sarvam) to fill
``duration`` and ``sample_rate`` on :class:`~tarash.tarash_gateway.models.TTSResponse` /
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

The parsing primitives are public for providers that edit audio (Sarvam joins
the pieces of long text): :func:`parse_wav` / :func:`wav_bytes` read and build
RIFF/WAVE files, :func:`mp3_frames` walks the MPEG frame chain and
:func:`mp3_info_frame` recognises its Xing/Info header.

It also resolves STS audio inputs (:func:`check_audio_input` before any call,
:func:`read_audio_input` at submit time) so every provider enforces
``config.max_input_bytes`` the same way and reports ``field="audio"``.

No SDK imports.
"""

from __future__ import annotations

import mimetypes
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tarash.tarash_gateway.exceptions import TarashException, ValidationError
from tarash.tarash_gateway.media import MediaInput, MediaTooLargeError, extension_for

__all__ = [
    "AudioFacts",
    "AudioInput",
    "Mp3Frame",
    "WavData",
    "audio_facts",
    "check_audio_input",
    "mp3_duration",
    "mp3_frames",
    "mp3_info_frame",
    "ogg_opus_duration",
    "parse_wav",
    "pcm_duration",
    "pick_headers",
    "read_audio_input",
    "wav_bytes",
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


@dataclass(frozen=True)
class WavData:
    """The ``fmt `` chunk body and sample data of a RIFF/WAVE file."""

    fmt: bytes  # the raw ``fmt `` chunk body (kept verbatim, WAVE_FORMAT_EXTENSIBLE too)
    data: bytes

    @property
    def format_tag(self) -> int:
        return int(struct.unpack_from("<H", self.fmt, 0)[0])

    @property
    def channels(self) -> int:
        return int(struct.unpack_from("<H", self.fmt, 2)[0])

    @property
    def sample_rate(self) -> int:
        return int(struct.unpack_from("<I", self.fmt, 4)[0])

    @property
    def block_align(self) -> int:
        return int(struct.unpack_from("<H", self.fmt, 12)[0])

    @property
    def duration(self) -> float | None:
        if self.block_align <= 0 or self.sample_rate <= 0:
            return None
        return (len(self.data) // self.block_align) / self.sample_rate


def _wav_chunks(data: bytes) -> tuple[bytes | None, bytes | None] | None:
    """``(fmt body, data body)`` of a RIFF/WAVE file, either ``None`` if absent.

    ``None`` if ``data`` is not RIFF/WAVE or its ``fmt `` chunk is malformed
    (shorter than 16 bytes, or after the ``data`` chunk).
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    fmt: bytes | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = data[body : body + size]
            if len(fmt) < 16:
                return None
        elif chunk_id == b"data":
            if fmt is None:
                return None
            # 0 and 0xFFFFFFFF are streaming placeholders: the real size is what follows.
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), body + size)
            return fmt, data[body:end]
        pos = body + size + (size & 1)
    return fmt, None


def parse_wav(data: bytes) -> WavData | None:
    """``fmt `` and ``data`` of a RIFF/WAVE file; ``None`` if ``data`` is not one.

    A ``data`` chunk whose declared size runs past the end (or is a streaming
    placeholder, ``0`` / ``0xFFFFFFFF``) takes the bytes actually present.
    """
    chunks = _wav_chunks(data)
    if chunks is None or chunks[0] is None or chunks[1] is None:
        return None
    return WavData(fmt=chunks[0], data=chunks[1])


def wav_bytes(fmt: bytes, samples: bytes) -> bytes:
    """A RIFF/WAVE file with the given ``fmt `` chunk body and sample data."""
    fmt_chunk = b"fmt " + struct.pack("<I", len(fmt)) + fmt + (b"\x00" if len(fmt) & 1 else b"")
    data_chunk = b"data" + struct.pack("<I", len(samples)) + samples
    pad = b"\x00" if len(samples) & 1 else b""
    riff_size = 4 + len(fmt_chunk) + len(data_chunk) + len(pad)
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + fmt_chunk + data_chunk + pad


def wav_facts(data: bytes) -> AudioFacts | None:
    """Duration and sample rate of a RIFF/WAVE file (``None`` if it is not one)."""
    fmt, samples = _wav_chunks(data) or (None, None)
    if fmt is None:
        return None
    wav = WavData(fmt=fmt, data=samples or b"")
    if samples is None:
        return AudioFacts(duration=None, sample_rate=wav.sample_rate) if wav.sample_rate else None
    if not wav.sample_rate or not wav.block_align:
        return None
    return AudioFacts(duration=wav.duration, sample_rate=wav.sample_rate)


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
class Mp3Frame:
    """One MPEG audio frame: where it is in the bytes and what it holds."""

    offset: int
    length: int
    samples: int
    sample_rate: int
    mpeg1: bool
    mono: bool

    @property
    def end(self) -> int:
        """Offset just past the frame (beyond ``len(data)`` for a truncated last frame)."""
        return self.offset + self.length


def _mp3_frame(data: bytes, pos: int) -> Mp3Frame | None:
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
    return Mp3Frame(pos, length, samples, rate, mpeg1, (b3 >> 6) == 3)


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


def mp3_info_frame(data: bytes, frame: Mp3Frame) -> int | None:
    """``None`` unless ``frame`` is a Xing/Info/VBRI header; else the gapless trim.

    The trim is the LAME encoder delay + padding (samples a gapless decoder
    drops), ``0`` when the header carries no LAME tag.
    """
    pos = frame.offset
    if frame.mpeg1:
        side = 17 if frame.mono else 32
    else:
        side = 9 if frame.mono else 17
    tag = pos + 4 + side
    if data[tag : tag + 4] not in (b"Xing", b"Info"):
        return 0 if data[pos + 36 : pos + 40] == b"VBRI" else None
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
        return delay + padding
    return 0


def mp3_frames(data: bytes) -> Iterator[Mp3Frame]:
    """The chain of MPEG audio frames in ``data``, in order.

    Leading ID3v2 tags and junk before the first frame are skipped; a sync
    word only starts the chain when another frame (or the end) follows it.
    The chain stops at the first non-frame after an audio frame (ID3v1/APE
    tags, junk) or at a change of sample rate. The first frame may be a
    Xing/Info/VBRI header (see :func:`mp3_info_frame`); the last one may be
    truncated (``frame.end > len(data)``).
    """
    pos = _skip_id3(data, 0)
    rate: int | None = None
    audio = False
    end = len(data)
    while pos + 4 <= end:
        frame = _mp3_frame(data, pos)
        # A sync word must be followed by another frame (or the end) to start the chain.
        if (
            rate is None
            and frame is not None
            and frame.end + 4 <= end
            and _mp3_frame(data, frame.end) is None
        ):
            frame = None
        if frame is None or (rate is not None and frame.sample_rate != rate):
            if audio:
                return  # ID3v1 / APE tags or junk after the audio: stop at the first non-frame.
            nxt = data.find(b"\xff", pos + 1)
            if nxt < 0:
                return
            pos = nxt
            continue
        yield frame
        if frame.end > end:
            return
        if rate is None:
            rate = frame.sample_rate
            audio = mp3_info_frame(data, frame) is None
        else:
            audio = True
        pos = frame.end


def mp3_duration(data: bytes) -> float | None:
    """Seconds of MPEG audio from its frame headers (``None`` if no frame chain is found).

    A Xing/Info first frame is not audio; its LAME encoder delay and padding are
    subtracted (what a gapless decoder plays). A truncated last frame is not counted.
    """
    samples = 0
    rate: int | None = None
    frames = 0
    trim = 0
    for frame in mp3_frames(data):
        if rate is None:
            rate = frame.sample_rate
            info = mp3_info_frame(data, frame)
            if info is not None:
                trim = info
                continue
        if frame.end > len(data):
            break  # truncated last frame: not playable
        samples += frame.samples
        frames += 1
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
