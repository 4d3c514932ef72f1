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

The WAV and MPEG parsing is the shared :mod:`tarash.tarash_gateway.audio`
(which also reads the durations).
"""

from __future__ import annotations

import re

from tarash.tarash_gateway.audio import mp3_frames, mp3_info_frame, parse_wav, wav_bytes

__all__ = [
    "AudioJoinError",
    "join_audio",
    "raw_samples",
    "split_text",
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


# ------------------------------------------------------------------------------------ join


def raw_samples(data: bytes) -> tuple[bytes, int | None]:
    """Raw sample bytes of ``data``: the ``data`` chunk of a WAV file, else ``data`` itself.

    Returns ``(samples, sample_rate_from_header_or_None)``.
    """
    wav = parse_wav(data)
    if wav is None:
        return data, None
    return wav.data, wav.sample_rate


def _join_mp3(parts: list[bytes]) -> bytes:
    """MPEG frames of every piece, without their ID3 tags and Xing/Info header frames.

    A decoder would otherwise trust the first piece's frame count and stop early.
    """
    out = bytearray()
    for part in parts:
        frames = list(mp3_frames(part))
        if not frames or frames[0].end > len(part):
            out += part  # not MPEG audio we understand: keep it rather than lose audio
            continue
        if mp3_info_frame(part, frames[0]) is not None:
            frames = frames[1:]
        for frame in frames:
            out += part[frame.offset : frame.end]  # a truncated last frame: what is there
    return bytes(out)


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
