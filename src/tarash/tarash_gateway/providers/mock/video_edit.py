"""The mock's video-to-video: edits and extensions of an input video.

Requests say which with ``provider_options["mock"]["video_mode"]`` (``"edit"`` or
``"extend"``; the gateway's ``POST /v1/videos/edits`` and ``/v1/videos/extensions`` set it —
under ``provider_options["mock"]``, so no other provider is sent the key). The mock reads
the input MP4 (one H.264 ``avc1`` track, as :func:`media.make_mp4` writes it):

* **edit** — a new clip with the source's frame size, frame rate and length;
* **extend** — the source's own frames, then ``duration_seconds`` of new frames at the
  same size and rate, in one MP4 (the samples are copied, not re-encoded: every mock
  segment starts with an IDR picture and shares the source's SPS/PPS).

Anything else as input (another codec, several tracks, a URL) is a ``ValidationError``
before the job is accepted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from tarash.tarash_gateway.providers.mock import media

__all__ = ["MAX_SOURCE_BYTES", "VIDEO_MODES", "Mp4Clip", "extend_clip", "read_mp4"]

VIDEO_MODES = ("edit", "extend")
MAX_SOURCE_BYTES = 64 * 1024 * 1024
"""Largest input video the mock reads."""


@dataclass(frozen=True)
class Mp4Clip:
    """What the mock needs of an MP4: its one video track's samples and parameters."""

    width: int
    height: int
    timescale: int
    deltas: list[int]
    samples: list[bytes]
    sync: list[int]
    sps: bytes
    pps: bytes

    @property
    def duration(self) -> float:
        return sum(self.deltas) / self.timescale

    @property
    def fps(self) -> int:
        return max(1, round(self.timescale / max(1, self.deltas[0])))


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, bytes]:
    """The child boxes of ``data[start:end]`` by type (the first of each type)."""
    end = len(data) if end is None else end
    out: dict[bytes, bytes] = {}
    pos = start
    for _ in range(10_000):  # bounded: a box of size 0 or garbage ends the walk
        if pos + 8 > end:
            break
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        if size < header or pos + size > end:
            raise ValueError(f"bad MP4 box {kind!r} at {pos}")
        out.setdefault(kind, data[pos + header : pos + size])
        pos += size
    return out


def _need(boxes: dict[bytes, bytes], kind: bytes) -> bytes:
    if kind not in boxes:
        raise ValueError(f"no {kind.decode()} box")
    return boxes[kind]


def read_mp4(data: bytes) -> Mp4Clip:
    """The samples of an MP4 with one H.264 track; ``ValueError`` for anything else."""
    top = _boxes(data)
    moov = _boxes(_need(top, b"moov"))
    trak = _boxes(_need(moov, b"trak"))
    tkhd = _need(trak, b"tkhd")
    width, height = (v >> 16 for v in struct.unpack_from(">II", tkhd, len(tkhd) - 8))
    mdia = _boxes(_need(trak, b"mdia"))
    mdhd = _need(mdia, b"mdhd")
    if mdhd[0] != 0:
        raise ValueError("mdhd version 1 is not read by the mock")
    timescale = struct.unpack_from(">I", mdhd, 12)[0]
    stbl = _boxes(_need(_boxes(_need(mdia, b"minf")), b"stbl"))
    stsd = _need(stbl, b"stsd")
    entry = _boxes(stsd, 8)
    avc1 = _need(entry, b"avc1")
    avcc = _need(_boxes(avc1, 78), b"avcC")
    sps_len = struct.unpack_from(">H", avcc, 6)[0]
    sps = avcc[8 : 8 + sps_len]
    pps_len = struct.unpack_from(">H", avcc, 9 + sps_len)[0]
    pps = avcc[11 + sps_len : 11 + sps_len + pps_len]

    stts = _need(stbl, b"stts")
    deltas: list[int] = []
    for i in range(struct.unpack_from(">I", stts, 4)[0]):
        count, delta = struct.unpack_from(">II", stts, 8 + 8 * i)
        deltas.extend([delta] * count)
    stsz = _need(stbl, b"stsz")
    fixed, count = struct.unpack_from(">II", stsz, 4)
    sizes = [fixed] * count if fixed else list(struct.unpack_from(f">{count}I", stsz, 12))
    stco = _need(stbl, b"stco")
    chunks = list(struct.unpack_from(f">{struct.unpack_from('>I', stco, 4)[0]}I", stco, 8))
    stsc = _need(stbl, b"stsc")
    runs = [
        struct.unpack_from(">III", stsc, 8 + 12 * i)
        for i in range(struct.unpack_from(">I", stsc, 4)[0])
    ]
    samples: list[bytes] = []
    for n, offset in enumerate(chunks, start=1):
        per_chunk = next((r[1] for r in reversed(runs) if r[0] <= n), 0)
        for _ in range(per_chunk):
            if len(samples) == len(sizes):
                break
            size = sizes[len(samples)]
            if offset + size > len(data):
                raise ValueError("a sample lies past the end of the file")
            samples.append(data[offset : offset + size])
            offset += size
    if "stss" in {k.decode() for k in stbl}:
        stss = stbl[b"stss"]
        sync = list(struct.unpack_from(f">{struct.unpack_from('>I', stss, 4)[0]}I", stss, 8))
    else:
        sync = list(range(1, len(samples) + 1))
    if not samples or len(samples) != len(deltas):
        raise ValueError("the sample tables do not agree")
    return Mp4Clip(width, height, timescale, deltas, samples, sync, sps, pps)


def extend_clip(source: Mp4Clip, seconds: float, seed: int) -> bytes:
    """``source`` followed by ``seconds`` of new frames, as one MP4."""
    tail = read_mp4(media.make_mp4(source.width, source.height, seconds, fps=source.fps, seed=seed))
    if (tail.sps, tail.pps, tail.timescale) != (source.sps, source.pps, source.timescale):
        raise ValueError(
            "the mock extends only videos it encoded itself (same H.264 parameters); "
            f"this one is {source.width}x{source.height} at {source.timescale} ticks/s"
        )
    offset = len(source.samples)
    scene = cast(Any, SimpleNamespace(width=source.width, height=source.height))
    return media._mux_mp4(
        scene,
        source.timescale,
        source.deltas + tail.deltas,
        source.samples + tail.samples,
        source.sync + [offset + s for s in tail.sync],
        source.sps,
        source.pps,
    )


def source_of(request: Any, model: str) -> dict[str, Any] | None:
    """What the mock keeps of a video-to-video request's input (``None``: not one).

    Raises the library's ``ValidationError`` for a bad mode or an input it cannot read.
    """
    import base64

    from tarash.tarash_gateway.exceptions import ValidationError
    from tarash.tarash_gateway.media import to_media_input

    options = (getattr(request, "provider_options", None) or {}).get("mock") or {}
    mode = options.get("video_mode")
    if mode is None:
        return None
    if mode not in VIDEO_MODES:
        raise ValidationError(
            f"video_mode must be one of {', '.join(VIDEO_MODES)}, not {mode!r}",
            "mock",
            model,
            field="video_mode",
        )
    if getattr(request, "video", None) is None:
        raise ValidationError(
            f"video_mode={mode} needs an input video", "mock", model, field="video"
        )
    given = to_media_input(request.video)
    if given.data is None:
        raise ValidationError(
            "the mock reads input videos given as bytes or data URIs, not URLs or paths",
            "mock",
            model,
            field="video",
        )
    if len(given.data) > MAX_SOURCE_BYTES:
        raise ValidationError(
            f"the input video is larger than {MAX_SOURCE_BYTES} bytes", "mock", model, field="video"
        )
    try:
        clip = read_mp4(given.data)
    except (ValueError, struct.error, IndexError, StopIteration) as exc:
        raise ValidationError(
            f"the mock cannot read the input video as an H.264 MP4: {exc}",
            "mock",
            model,
            field="video",
        ) from None
    kept: dict[str, Any] = {
        "mode": mode,
        "width": clip.width,
        "height": clip.height,
        "fps": clip.fps,
        "duration": clip.duration,
    }
    if mode == "extend":
        kept["mp4"] = base64.b64encode(given.data).decode("ascii")
    return kept


def render(source: dict[str, Any], seconds: float | None, seed: int) -> tuple[bytes, float]:
    """The edited or extended clip and its duration in seconds."""
    import base64

    if source["mode"] == "edit":
        duration = float(source["duration"])
        clip = media.make_mp4(
            int(source["width"]), int(source["height"]), duration, fps=int(source["fps"]), seed=seed
        )
        return clip, duration
    original = read_mp4(base64.b64decode(source["mp4"]))
    added = float(seconds or 4)
    return extend_clip(original, added, seed), original.duration + added
