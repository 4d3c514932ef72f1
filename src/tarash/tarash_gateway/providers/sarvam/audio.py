"""Text splitting and audio joining for Sarvam's per-request text limit (standard library only).

Bulbul takes at most 1,500 (``bulbul:v2``) or 2,500 (``bulbul:v3``,
``bulbul:v4-flash``) characters per REST call. Longer text is split at
sentence boundaries (``.``, ``!``, ``?``, the Devanagari danda ``।`` / ``॥``,
line breaks …) into pieces that fit, each piece is synthesised by its own
request, and the audio is joined so the result is **one valid file**:

* **WAV** — the ``fmt `` chunks must agree; the ``data`` chunks are joined
  under a single new RIFF header (sizes rewritten);
* **raw PCM / G.711** (``linear16``, ``mulaw``, ``alaw``) — samples are
  concatenated (a RIFF wrapper, if the service sent one, is removed first);
* **MP3** — MPEG audio frames are concatenated; ID3 tags and the Xing/Info
  frame of every piece are dropped (a decoder would otherwise trust the first
  piece's frame count and stop early);
* **AAC (ADTS)** — ADTS frames are self-delimiting, so pieces are concatenated.

FLAC and Opus have per-file headers that cannot be joined without re-encoding,
so long text in those codecs is rejected before any request (see the handler).

Also here: durations read from the bytes (WAV header, PCM byte count, MP3
frame walk) so ``TTSResponse.duration`` is filled without decoding anything.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

__all__ = [
    "AudioJoinError",
    "WavData",
    "join_audio",
    "mp3_duration",
    "parse_wav",
    "raw_samples",
    "split_text",
    "wav_bytes",
]

# ------------------------------------------------------------------------------------ text

# A sentence ends after terminal punctuation (Latin, Devanagari danda, Arabic/CJK forms)
# plus any closing quotes/brackets, or at a line break.
_CLOSERS = "[\"'”’)\\]»]*"
_SENTENCE = re.compile(
    r".*?(?:[.!?…]+" + _CLOSERS + r"(?=\s|\Z)"  # Latin terminators followed by a space
    r"|[।॥؟。！？]+"
    + _CLOSERS  # danda, Arabic and CJK terminators
    + r"|\n|\Z)\s*",
    re.DOTALL,
)
_CLAUSE = re.compile(r".*?(?:[,;:،]+(?=\s|\Z)|[、，；]+|\Z)\s*", re.DOTALL)


def _pieces(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [m.group(0) for m in pattern.finditer(text) if m.group(0)]


def _split_oversized(unit: str, limit: int) -> list[str]:
    """Cut one sentence longer than ``limit``: at clauses, then spaces, then hard."""
    out: list[str] = []
    for clause in _pieces(unit, _CLAUSE) or [unit]:
        if len(clause) <= limit:
            out.append(clause)
            continue
        words = re.findall(r"\S+\s*", clause) or [clause]
        for word in words:
            while len(word) > limit:
                out.append(word[:limit])
                word = word[limit:]
            if word:
                out.append(word)
    return out


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at sentence boundaries.

    Sentences are packed greedily; a sentence longer than ``limit`` is cut at
    clause punctuation, then at whitespace, and only as a last resort inside a
    word. Pieces are stripped; no text is lost except surrounding whitespace.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    stripped = text.strip()
    if len(stripped) <= limit:
        return [stripped] if stripped else []
    units: list[str] = []
    for sentence in _pieces(stripped, _SENTENCE):
        units.extend([sentence] if len(sentence) <= limit else _split_oversized(sentence, limit))
    chunks: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + len(unit.rstrip()) > limit:
            chunks.append(current.strip())
            current = ""
        current += unit
    if current.strip():
        chunks.append(current.strip())
    return [c for c in chunks if c]


# ------------------------------------------------------------------------------------- WAV


@dataclass(frozen=True)
class WavData:
    """The parts of a RIFF/WAVE file that matter for joining and timing."""

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


def parse_wav(data: bytes) -> WavData | None:
    """``fmt `` and ``data`` of a RIFF/WAVE file; ``None`` if ``data`` is not one.

    A ``data`` chunk whose declared size runs past the end (streamed WAV files
    often declare ``0xFFFFFFFF``) takes the bytes actually present.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    fmt: bytes | None = None
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        if cid == b"fmt ":
            fmt = data[body_start : body_start + size]
            if len(fmt) < 16:
                return None
        elif cid == b"data":
            if fmt is None:
                return None
            end = min(len(data), body_start + size)
            return WavData(fmt=fmt, data=data[body_start:end])
        pos = body_start + size + (size & 1)
    return None


def wav_bytes(fmt: bytes, samples: bytes) -> bytes:
    """A RIFF/WAVE file with the given ``fmt `` chunk body and sample data."""
    fmt_chunk = b"fmt " + struct.pack("<I", len(fmt)) + fmt + (b"\x00" if len(fmt) & 1 else b"")
    data_chunk = b"data" + struct.pack("<I", len(samples)) + samples
    pad = b"\x00" if len(samples) & 1 else b""
    riff_size = 4 + len(fmt_chunk) + len(data_chunk) + len(pad)
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + fmt_chunk + data_chunk + pad


def raw_samples(data: bytes) -> tuple[bytes, int | None]:
    """Raw sample bytes of ``data``: the ``data`` chunk of a WAV file, else ``data`` itself.

    Returns ``(samples, sample_rate_from_header_or_None)``.
    """
    wav = parse_wav(data)
    if wav is None:
        return data, None
    return wav.data, wav.sample_rate


# ------------------------------------------------------------------------------------- MP3

_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_BITRATES_V1 = {
    3: (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),  # layer I
    2: (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),  # layer II
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # layer III
}
_BITRATES_V2 = {
    3: (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    1: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}


@dataclass(frozen=True)
class _Frame:
    offset: int
    length: int
    samples: int
    sample_rate: int
    is_tag: bool  # Xing/Info/VBRI header frame (carries no audio of the stream)


def _frame_at(data: bytes, pos: int) -> _Frame | None:
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version = (data[pos + 1] >> 3) & 3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    layer = (data[pos + 1] >> 1) & 3  # 1 = III, 2 = II, 3 = I
    bitrate_index = data[pos + 2] >> 4
    rate_index = (data[pos + 2] >> 2) & 3
    padding = (data[pos + 2] >> 1) & 1
    if version == 1 or layer == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    rate = _MP3_RATES[version][rate_index]
    table = _BITRATES_V1 if version == 3 else _BITRATES_V2
    bitrate = table[layer][bitrate_index] * 1000
    if layer == 3:
        samples = 384
        length = (12 * bitrate // rate + padding) * 4
    elif layer == 2 or version == 3:
        samples = 1152
        length = 144 * bitrate // rate + padding
    else:  # layer III, MPEG-2/2.5
        samples = 576
        length = 72 * bitrate // rate + padding
    if length < 4:
        return None
    mono = (data[pos + 3] >> 6) == 3
    if version == 3:
        side = 17 if mono else 32
    else:
        side = 9 if mono else 17
    tag_at = pos + 4 + side
    is_tag = layer == 1 and data[tag_at : tag_at + 4] in (b"Xing", b"Info")
    is_tag = is_tag or data[pos + 36 : pos + 40] == b"VBRI"
    return _Frame(pos, length, samples, rate, is_tag)


def _skip_id3v2(data: bytes, pos: int) -> int:
    while data[pos : pos + 3] == b"ID3" and pos + 10 <= len(data):
        size = 0
        for byte in data[pos + 6 : pos + 10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if data[pos + 5] & 0x10 else 0
        pos += 10 + size + footer
    return pos


def _mp3_frames(data: bytes) -> list[_Frame]:
    """Every MPEG audio frame of ``data`` (ID3v2/ID3v1 and junk between frames skipped)."""
    frames: list[_Frame] = []
    pos = _skip_id3v2(data, 0)
    while pos + 4 <= len(data):
        if data[pos : pos + 3] == b"TAG" and len(data) - pos == 128:  # ID3v1 trailer
            break
        frame = _frame_at(data, pos)
        if frame is not None and (
            pos + frame.length == len(data)
            or _frame_at(data, pos + frame.length) is not None
            or data[pos + frame.length : pos + frame.length + 3] in (b"TAG", b"ID3")
        ):
            frames.append(frame)
            pos += frame.length
            continue
        if frame is not None and pos + frame.length > len(data) and frames:
            frames.append(frame)  # a truncated last frame: decoders play what is there
            break
        pos += 1  # resynchronise
        if data[pos : pos + 3] == b"ID3":
            pos = _skip_id3v2(data, pos)
    return frames


def _gapless_trim(data: bytes, frame: _Frame) -> int:
    """Encoder delay + padding (samples) from the LAME tag of a Xing/Info frame, else 0."""
    pos = frame.offset
    version = (data[pos + 1] >> 3) & 3
    mono = (data[pos + 3] >> 6) == 3
    side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    tag = pos + 4 + side
    if data[tag : tag + 4] not in (b"Xing", b"Info"):
        return 0
    (flags,) = struct.unpack_from(">I", data, tag + 4)
    at = tag + 8 + (4 if flags & 1 else 0) + (4 if flags & 2 else 0)
    at += (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    if at + 24 > pos + frame.length or data[at : at + 4] not in (b"LAME", b"Lavc", b"Lavf"):
        return 0
    b0, b1, b2 = data[at + 21 : at + 24]
    return ((b0 << 4) | (b1 >> 4)) + (((b1 & 0x0F) << 8) | b2)


def mp3_duration(data: bytes) -> float | None:
    """Seconds of MPEG audio in ``data``; ``None`` when no frame is found.

    Walks the frame headers; when the first frame is a Xing/Info frame with a
    LAME tag, its encoder delay and padding are subtracted (what a gapless
    decoder plays).
    """
    frames = _mp3_frames(data)
    audio = [f for f in frames if not f.is_tag]
    if not audio:
        return None
    samples = sum(f.samples for f in audio)
    if frames[0].is_tag:
        samples = max(0, samples - _gapless_trim(data, frames[0]))
    return samples / audio[0].sample_rate


def _join_mp3(parts: list[bytes]) -> bytes:
    out = bytearray()
    for part in parts:
        frames = _mp3_frames(part)
        if not frames:
            out += part  # not MPEG audio we understand: keep it rather than lose audio
            continue
        for frame in frames:
            if not frame.is_tag:
                out += part[frame.offset : frame.offset + frame.length]
    return bytes(out)


# ------------------------------------------------------------------------------------ join


class AudioJoinError(ValueError):
    """The pieces cannot be joined into one valid file (e.g. WAV formats differ)."""


def join_audio(parts: list[bytes], codec: str) -> bytes:
    """Join the audio of consecutive text pieces into one file of ``codec``.

    ``codec`` is Sarvam's ``output_audio_codec``: ``wav``, ``linear16``, ``mulaw``,
    ``alaw``, ``mp3`` or ``aac``. Raises :class:`AudioJoinError` when WAV pieces
    disagree on their format or the codec cannot be joined.
    """
    if len(parts) == 1:
        return parts[0]
    if codec == "wav":
        wavs = [parse_wav(p) for p in parts]
        if any(w is None for w in wavs):
            raise AudioJoinError("a piece of the WAV audio has no valid RIFF header")
        first = wavs[0]
        assert first is not None
        if any(w is not None and w.fmt[:16] != first.fmt[:16] for w in wavs):
            raise AudioJoinError("the pieces of the WAV audio have different formats")
        return wav_bytes(first.fmt, b"".join(w.data for w in wavs if w is not None))
    if codec in ("linear16", "mulaw", "alaw"):
        return b"".join(raw_samples(p)[0] for p in parts)
    if codec == "mp3":
        return _join_mp3(parts)
    if codec == "aac":
        return b"".join(parts)
    raise AudioJoinError(f"{codec} audio cannot be joined without re-encoding")
