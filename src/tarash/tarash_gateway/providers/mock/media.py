"""Real, deterministic media bytes for the offline mock provider (standard library only).

Every function returns bytes that ordinary decoders (browsers, FFmpeg, PIL, ``wave``) accept:

* :func:`make_png` — an 8-bit RGB PNG: a diagonal two-colour gradient with soft stripes,
  a gentle vertical vignette and a "sun" disc.
* :func:`make_wav` / :func:`make_pcm` — 16-bit little-endian PCM audio: a soft sequence of
  pentatonic notes with short fades (no clicks), with or without a RIFF/WAVE header.
* :func:`make_mp4` — an ISO-BMFF MP4 with one H.264 Constrained Baseline video track that is
  encoded here: IDR pictures made of lossless ``I_PCM`` macroblocks, and P pictures that skip
  every unchanged macroblock and send only the changed ones as ``I_PCM``. The clip shows a
  ball gliding over a gradient, plus a progress bar along the bottom edge.

The output depends only on the arguments: the same call always returns identical bytes, and
different seeds give visibly different colours (and a different melody).

The mock handler goes through the ``cached_*`` functions: results (and their base64 text)
are kept in a bounded LRU (:data:`cache`), so a repeated generation costs no encoding.
"""

from __future__ import annotations

import base64
import hashlib
import math
import operator
import struct
import sys
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "CacheMiss",
    "cache",
    "cache_only",
    "cached_audio_base64",
    "cached_mp4",
    "cached_png",
    "cached_png_base64",
    "make_mp4",
    "make_pcm",
    "make_png",
    "make_wav",
]

_RGB = tuple[float, float, float]

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _digest(seed: int, tag: str) -> bytes:
    """32 pseudo-random bytes derived from ``seed`` (stable across runs and platforms)."""
    return hashlib.sha256(f"tarash-mock/{tag}/{seed}".encode()).digest()


def _hsv(hue: float, sat: float, val: float) -> _RGB:
    """HSV (all 0..1, hue wraps) to RGB floats in 0..1."""
    h6 = (hue % 1.0) * 6.0
    sector = int(h6) % 6
    frac = h6 - int(h6)
    p = val * (1.0 - sat)
    q = val * (1.0 - sat * frac)
    t = val * (1.0 - sat * (1.0 - frac))
    return (
        (val, t, p),
        (q, val, p),
        (p, val, t),
        (p, q, val),
        (t, p, val),
        (val, p, q),
    )[sector]


def _palette(seed: int) -> tuple[_RGB, _RGB, _RGB]:
    """(gradient start, gradient end, accent) colours for ``seed``."""
    d = _digest(seed, "palette")
    hue = d[0] / 256.0
    start = _hsv(hue, 0.50 + d[1] / 255.0 * 0.30, 0.90 + d[2] / 255.0 * 0.08)
    end = _hsv(hue + 0.15 + d[3] / 255.0 * 0.30, 0.60 + d[4] / 255.0 * 0.30, 0.38 + d[5] / 1275.0)
    accent = _hsv(hue + 0.42 + d[6] / 255.0 * 0.16, 0.30 + d[7] / 255.0 * 0.25, 1.0)
    return start, end, accent


def _smoothstep(t: float) -> float:
    t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
    return t * t * (3.0 - 2.0 * t)


def _mix(a: _RGB, b: _RGB, t: float, shade: float) -> _RGB:
    return (
        (a[0] + (b[0] - a[0]) * t) * shade,
        (a[1] + (b[1] - a[1]) * t) * shade,
        (a[2] + (b[2] - a[2]) * t) * shade,
    )


def _byte(v: float, lo: int = 0, hi: int = 255) -> int:
    i = round(v)
    return lo if i < lo else hi if i > hi else i


def _ycbcr(c: _RGB) -> tuple[int, int, int]:
    """RGB floats (0..1) to BT.601 limited-range Y'CbCr (Y 16..235, Cb/Cr 16..240)."""
    r, g, b = c
    y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128.0 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128.0 + 112.0 * r - 93.786 * g - 18.214 * b
    return _byte(y, 16, 235), _byte(cb, 16, 240), _byte(cr, 16, 240)


def _check_int(value: int, name: str, lo: int, hi: int) -> int:
    v = operator.index(value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {v}")
    return v


def _check_duration(value: float, hi: float) -> float:
    d = float(value)
    if not math.isfinite(d) or d <= 0.0 or d > hi:
        raise ValueError(f"duration_seconds must be > 0 and <= {hi:g}, got {value!r}")
    return d


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------

_MAX_IMAGE_SIDE = 8192
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def make_png(width: int, height: int, *, seed: int = 0) -> bytes:
    """Return a valid 8-bit RGB PNG of ``width`` x ``height`` pixels (each 1..8192).

    The picture is a diagonal gradient between two seed-derived colours with soft stripes, a
    gentle vertical vignette and a light "sun" disc whose place and size also follow ``seed``.
    """
    w = _check_int(width, "width", 1, _MAX_IMAGE_SIDE)
    h = _check_int(height, "height", 1, _MAX_IMAGE_SIDE)
    start, end, accent = _palette(seed)
    d = _digest(seed, "png")

    # Pixel (x, y) of the background is diag[x + y]: each row is a window into one line.
    span = w + h - 1
    denom = max(1, span - 1)
    period = max(6.0, (w + h) / (3.0 + d[0] % 5))
    diag = bytearray(3 * span)
    for k in range(span):
        shade = 1.0 + 0.05 * math.sin(2.0 * math.pi * k / period)
        r, g, b = _mix(start, end, _smoothstep(k / denom), shade)
        diag[3 * k] = _byte(r * 255.0)
        diag[3 * k + 1] = _byte(g * 255.0)
        diag[3 * k + 2] = _byte(b * 255.0)

    # A flat disc ("sun") painted span by span.
    radius = min(w, h) * (0.10 + d[1] / 255.0 * 0.10)
    cx = w * (0.20 + d[2] / 255.0 * 0.60)
    cy = h * (0.22 + d[3] / 255.0 * 0.30)
    sun = bytes(_byte(c * 255.0) for c in accent)

    # Vignette: a per-row brightness table, quantised so that runs of rows share a table
    # (which keeps the image very compressible: a row is then the previous one shifted).
    levels = 48
    tables: dict[int, bytes] = {}
    mid = (h - 1) / 2.0 or 1.0
    parts: list[bytes | bytearray] = []
    for y in range(h):
        row = diag[3 * y : 3 * (y + w)]
        dy = y + 0.5 - cy
        if abs(dy) < radius:
            half = math.sqrt(radius * radius - dy * dy)
            x0 = max(0, round(cx - half))
            x1 = min(w, round(cx + half))
            if x1 > x0:
                row[3 * x0 : 3 * x1] = sun * (x1 - x0)
        level = round(((y - mid) / mid) ** 2 * levels)
        table = tables.get(level)
        if table is None:
            factor = 1.0 - 0.22 * level / levels
            table = bytes(_byte(v * factor) for v in range(256))
            tables[level] = table
        parts.append(b"\x00")  # filter type 0 (None)
        parts.append(row.translate(table))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"".join(parts), 6)
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------------
# Audio (WAV / raw PCM)
# --------------------------------------------------------------------------------------------

_MAX_AUDIO_SECONDS = 600.0
_PENTATONIC = (0, 2, 4, 7, 9, 12, 14, 16, 19)
_NOTE_EIGHTHS = (2, 2, 3, 4, 4, 6)  # note lengths in eighths of a second


def _note_table(freq: float, sample_rate: int, amplitude: float) -> array[int]:
    """Whole cycles of a soft tone spanning ~50 ms, so that repeating the table is seamless."""
    target = max(2, round(sample_rate * 0.05))
    cycles = max(1, round(freq * target / sample_rate))
    period = max(2, round(cycles * sample_rate / freq))
    step = 2.0 * math.pi * cycles / period
    sin = math.sin
    scale = amplitude / 1.33
    return array(
        "h",
        [
            round(scale * (sin(step * i) + 0.25 * sin(2.0 * step * i) + 0.08 * sin(3.0 * step * i)))
            for i in range(period)
        ],
    )


def _mono_samples(duration: float, sample_rate: int, seed: int) -> array[int]:
    total = round(duration * sample_rate)
    out: array[int] = array("h")
    root = 55 + _digest(seed, "audio")[0] % 10  # G3 .. E4
    amplitude = 0.30 * 32767.0
    attack = max(1, round(0.012 * sample_rate))
    release = max(1, round(0.045 * sample_rate))
    tables: dict[int, array[int]] = {}
    pos = 0
    index = 0
    while pos < total:
        h = _digest(seed, f"note/{index}")
        semitones = _PENTATONIC[h[0] % len(_PENTATONIC)]
        length = min(_NOTE_EIGHTHS[h[1] % len(_NOTE_EIGHTHS)] * sample_rate // 8, total - pos)
        table = tables.get(semitones)
        if table is None:
            freq = 440.0 * 2.0 ** ((root + semitones - 69) / 12.0)
            table = _note_table(freq, sample_rate, amplitude)
            tables[semitones] = table
        reps, rest = divmod(length, len(table))
        note = table * reps + table[:rest]
        fade_in = min(attack, length // 2)
        fade_out = min(release, length - fade_in)
        for i in range(fade_in):
            note[i] = note[i] * i // fade_in
        last = length - 1
        for i in range(fade_out):
            note[last - i] = note[last - i] * i // fade_out
        out.extend(note)
        pos += length
        index += 1
    if sys.byteorder == "big":
        out.byteswap()  # the stored bytes must be little-endian
    return out


def make_pcm(duration_seconds: float, *, sample_rate: int = 24000, seed: int = 0) -> bytes:
    """Raw mono signed 16-bit little-endian samples: ``round(duration * sample_rate)`` of them.

    Identical to the data chunk of ``make_wav(..., channels=1)`` with the same arguments.
    """
    duration = _check_duration(duration_seconds, _MAX_AUDIO_SECONDS)
    rate = _check_int(sample_rate, "sample_rate", 8000, 192000)
    return _mono_samples(duration, rate, seed).tobytes()


def make_wav(
    duration_seconds: float, *, sample_rate: int = 24000, seed: int = 0, channels: int = 1
) -> bytes:
    """A RIFF/WAVE file (PCM, 16-bit) of ``round(duration * sample_rate)`` frames.

    All channels carry the same signal. ``duration_seconds`` must be in (0, 600],
    ``sample_rate`` in 8000..192000 and ``channels`` in 1..8.
    """
    duration = _check_duration(duration_seconds, _MAX_AUDIO_SECONDS)
    rate = _check_int(sample_rate, "sample_rate", 8000, 192000)
    nch = _check_int(channels, "channels", 1, 8)
    mono = _mono_samples(duration, rate, seed)
    if nch == 1:
        data = mono.tobytes()
    else:
        frames: array[int] = array("h", bytes(2 * nch * len(mono)))
        for ch in range(nch):
            frames[ch::nch] = mono
        data = frames.tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        nch,
        rate,
        rate * nch * 2,
        nch * 2,
        16,
        b"data",
        len(data),
    )
    return header + data


# --------------------------------------------------------------------------------------------
# H.264 (Constrained Baseline, I_PCM + P_Skip) in MP4
# --------------------------------------------------------------------------------------------

_MAX_VIDEO_SIDE = 1920
_MAX_VIDEO_SECONDS = 60.0
_LOG2_MAX_FRAME_NUM = 9
_IDR_INTERVAL_SECONDS = 2
_MB_TYPE_I_PCM_IN_I = 25
_MB_TYPE_I_PCM_IN_P = 5 + 25
# (level_idc, MaxFS in macroblocks, MaxMBPS) from H.264 Table A-1; level 3.0 is the floor.
_LEVELS = (
    (30, 1620, 40500),
    (31, 3600, 108000),
    (32, 5120, 216000),
    (40, 8192, 245760),
    (42, 8704, 522240),
    (50, 22080, 589824),
    (51, 36864, 983040),
    (52, 36864, 2073600),
)


class _BitWriter:
    """MSB-first bit writer for RBSPs (u(n), ue(v), se(v) and byte-aligned raw bytes)."""

    __slots__ = ("_acc", "_buf", "_nbits")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._acc = 0
        self._nbits = 0

    def u(self, bits: int, value: int) -> None:
        self._acc = (self._acc << bits) | value
        self._nbits += bits
        if self._nbits >= 64:
            self._flush()

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        pad = -self._nbits % 8
        if pad:
            self.u(pad, 0)

    def raw(self, data: bytes) -> None:
        """Append whole bytes; the writer must be byte-aligned."""
        self._flush()
        assert self._nbits == 0, "raw() needs a byte-aligned writer"
        self._buf += data

    def rbsp(self) -> bytes:
        """Finish with rbsp_trailing_bits() (stop bit + zero alignment) and return the bytes."""
        self.u(1, 1)
        self.align_zero()
        self._flush()
        return bytes(self._buf)

    def _flush(self) -> None:
        whole = self._nbits >> 3
        if whole:
            rest = self._nbits & 7
            self._buf += (self._acc >> rest).to_bytes(whole, "big")
            self._acc &= (1 << rest) - 1
            self._nbits = rest


def _escape(rbsp: bytes) -> bytes:
    """Insert emulation-prevention bytes: every 00 00 followed by 00..03 gets a 03 between."""
    pos = rbsp.find(b"\x00\x00")
    if pos < 0:
        return rbsp
    out = bytearray()
    start = 0
    size = len(rbsp)
    while pos >= 0:
        nxt = pos + 2
        if nxt < size and rbsp[nxt] <= 3:
            out += rbsp[start:nxt]
            out.append(3)
            start = nxt
            pos = rbsp.find(b"\x00\x00", nxt)
        else:
            pos = rbsp.find(b"\x00\x00", pos + 1)
    out += rbsp[start:]
    return bytes(out)


def _nal(ref_idc: int, nal_type: int, rbsp: bytes) -> bytes:
    return bytes([(ref_idc << 5) | nal_type]) + _escape(rbsp)


def _level_idc(mb_w: int, mb_h: int, fps: int) -> int:
    frame = mb_w * mb_h
    for level, max_fs, max_mbps in _LEVELS:
        side = math.isqrt(8 * max_fs)
        if frame <= max_fs and frame * fps <= max_mbps and mb_w <= side and mb_h <= side:
            return level
    return _LEVELS[-1][0]


class _VideoScene:
    """The clip's pictures, as padded 4:2:0 planes (width and height rounded up to 16).

    Pixel (x, y) of the background is a seed-coloured diagonal gradient; a flat disc glides
    left and right (bobbing a little) and a progress bar fills the bottom edge over the clip.
    """

    def __init__(self, width: int, height: int, n_frames: int, fps: int, seed: int) -> None:
        self.width = width
        self.height = height
        self.n_frames = n_frames
        self.fps = fps
        self.mb_w = (width + 15) // 16
        self.mb_h = (height + 15) // 16
        self.stride = self.mb_w * 16
        self.rows = self.mb_h * 16
        self.c_stride = self.stride // 2
        self.c_rows = self.rows // 2

        start, end, accent = _palette(seed)
        d = _digest(seed, "video")
        self.disc_colour = _ycbcr(accent)
        self.bar_colour = (224, 128, 128)
        self.radius = max(2, (min(width, height) // 36) * 2)
        self.bar_h = max(2, (height // 90) * 2)
        self.bar_y1 = height - self.bar_h
        self.bar_y0 = self.bar_y1 - self.bar_h
        self.phase_x = d[0] / 256.0
        self.phase_y = d[1] / 256.0

        denom = max(1, (width - 1) + (height - 1))
        period = max(6.0, (width + height) / (2.5 + d[2] % 4))

        def colour(pos: float) -> _RGB:
            shade = 1.0 + 0.06 * math.sin(2.0 * math.pi * pos / period)
            return _mix(start, end, _smoothstep(pos / denom), shade)

        # Luma (x, y) = line_y[x + y]; chroma (x, y) = line_c[x + y] (centred on luma 2k + 1).
        line_y = bytes(_ycbcr(colour(k))[0] for k in range(self.stride + self.rows))
        line_cb = bytearray()
        line_cr = bytearray()
        for k in range(self.c_stride + self.c_rows):
            _, cb, cr = _ycbcr(colour(2.0 * k + 1.0))
            line_cb.append(cb)
            line_cr.append(cr)
        bg_y = bytearray(b"".join(line_y[y : y + self.stride] for y in range(self.rows)))
        bg_cb = bytearray(b"".join(line_cb[y : y + self.c_stride] for y in range(self.c_rows)))
        bg_cr = bytearray(b"".join(line_cr[y : y + self.c_stride] for y in range(self.c_rows)))
        # The progress bar's dark track is part of the (static) background.
        self._fill_rect(bg_y, bg_cb, bg_cr, 0, width, (40, 128, 128))
        self.bg_y = bytes(bg_y)
        self.bg_cb = bytes(bg_cb)
        self.bg_cr = bytes(bg_cr)

    # -- geometry ---------------------------------------------------------------------------

    def disc_centre(self, index: int) -> tuple[int, int]:
        t = index / self.fps
        r = self.radius
        travel = max(0.0, self.width - 2.0 * r - 4.0)
        ease = (1.0 - math.cos(2.0 * math.pi * (t / 6.0 + self.phase_x))) / 2.0
        cx = r + 2.0 + ease * travel
        mid = self.bar_y0 / 2.0
        amp = max(0.0, min(0.08 * self.height, mid - r - 2.0))
        cy = mid + amp * math.sin(2.0 * math.pi * (t / 3.0 + self.phase_y))
        return 2 * round(cx / 2.0), 2 * round(cy / 2.0)

    def bar_length(self, index: int) -> int:
        return 2 * round(self.width / 2.0 * (index + 1) / self.n_frames)

    def _disc_rect(self, index: int) -> tuple[int, int, int, int]:
        cx, cy = self.disc_centre(index)
        r = self.radius + 2
        return cx - r, cy - r, cx + r, cy + r

    # -- painting ---------------------------------------------------------------------------

    def _fill_rect(
        self,
        y_plane: bytearray,
        cb_plane: bytearray,
        cr_plane: bytearray,
        x0: int,
        x1: int,
        colour: tuple[int, int, int],
    ) -> None:
        """Fill columns [x0, x1) (even bounds) of the progress-bar rows."""
        if x1 <= x0:
            return
        luma = bytes([colour[0]]) * (x1 - x0)
        for row in range(self.bar_y0, self.bar_y1):
            o = row * self.stride
            y_plane[o + x0 : o + x1] = luma
        cb = bytes([colour[1]]) * ((x1 - x0) // 2)
        cr = bytes([colour[2]]) * ((x1 - x0) // 2)
        for row in range(self.bar_y0 // 2, self.bar_y1 // 2):
            o = row * self.c_stride
            cb_plane[o + x0 // 2 : o + x1 // 2] = cb
            cr_plane[o + x0 // 2 : o + x1 // 2] = cr

    def _paint_disc(
        self, y_plane: bytearray, cb_plane: bytearray, cr_plane: bytearray, cx: int, cy: int
    ) -> None:
        r = self.radius
        yv, cbv, crv = self.disc_colour
        w, h = self.width, self.height
        for row in range(max(0, cy - r), min(h, cy + r)):
            dy = row + 0.5 - cy
            half = math.sqrt(max(0.0, r * r - dy * dy))
            x0 = max(0, round(cx - half))
            x1 = min(w, round(cx + half))
            if x1 > x0:
                o = row * self.stride
                y_plane[o + x0 : o + x1] = bytes([yv]) * (x1 - x0)
        for row in range(max(0, (cy - r) // 2), min(h // 2, (cy + r) // 2)):
            dy = 2.0 * row + 1.0 - cy
            half = math.sqrt(max(0.0, r * r - dy * dy))
            x0 = max(0, round((cx - half) / 2.0))
            x1 = min(w // 2, round((cx + half) / 2.0))
            if x1 > x0:
                o = row * self.c_stride
                cb_plane[o + x0 : o + x1] = bytes([cbv]) * (x1 - x0)
                cr_plane[o + x0 : o + x1] = bytes([crv]) * (x1 - x0)

    def render(self, index: int) -> tuple[bytearray, bytearray, bytearray]:
        """The padded (Y, Cb, Cr) planes of picture ``index`` (strides stride/c_stride)."""
        y_plane = bytearray(self.bg_y)
        cb_plane = bytearray(self.bg_cb)
        cr_plane = bytearray(self.bg_cr)
        cx, cy = self.disc_centre(index)
        self._paint_disc(y_plane, cb_plane, cr_plane, cx, cy)
        self._fill_rect(y_plane, cb_plane, cr_plane, 0, self.bar_length(index), self.bar_colour)
        return y_plane, cb_plane, cr_plane

    # -- macroblocks --------------------------------------------------------------------------

    def macroblock(self, planes: tuple[bytearray, bytearray, bytearray], addr: int) -> bytes:
        """The 384 I_PCM samples of macroblock ``addr``: 16x16 Y, then 8x8 Cb, then 8x8 Cr."""
        y_plane, cb_plane, cr_plane = planes
        my, mx = divmod(addr, self.mb_w)
        s, cs = self.stride, self.c_stride
        o = my * 16 * s + mx * 16
        oc = my * 8 * cs + mx * 8
        parts = [y_plane[o + r * s : o + r * s + 16] for r in range(16)]
        parts += [cb_plane[oc + r * cs : oc + r * cs + 8] for r in range(8)]
        parts += [cr_plane[oc + r * cs : oc + r * cs + 8] for r in range(8)]
        return b"".join(parts)

    def all_macroblocks(self, planes: tuple[bytearray, bytearray, bytearray]) -> list[bytes]:
        y_plane, cb_plane, cr_plane = planes
        s, cs = self.stride, self.c_stride
        out: list[bytes] = []
        for my in range(self.mb_h):
            y_rows = [bytes(y_plane[(my * 16 + r) * s : (my * 16 + r + 1) * s]) for r in range(16)]
            cb_rows = [bytes(cb_plane[(my * 8 + r) * cs : (my * 8 + r + 1) * cs]) for r in range(8)]
            cr_rows = [bytes(cr_plane[(my * 8 + r) * cs : (my * 8 + r + 1) * cs]) for r in range(8)]
            for mx in range(self.mb_w):
                a, c = mx * 16, mx * 8
                parts = [row[a : a + 16] for row in y_rows]
                parts += [row[c : c + 8] for row in cb_rows]
                parts += [row[c : c + 8] for row in cr_rows]
                out.append(b"".join(parts))
        return out

    def candidate_macroblocks(self, index: int) -> list[int]:
        """Macroblocks that may differ between pictures ``index - 1`` and ``index``."""
        rects = [self._disc_rect(index - 1), self._disc_rect(index)]
        a, b = self.bar_length(index - 1), self.bar_length(index)
        rects.append((min(a, b) - 2, self.bar_y0, max(a, b) + 2, self.bar_y1))
        found: set[int] = set()
        for x0, y0, x1, y1 in rects:
            x0, y0 = max(0, x0), max(0, y0)
            x1, y1 = min(self.stride, x1), min(self.rows, y1)
            if x1 <= x0 or y1 <= y0:
                continue
            for my in range(y0 // 16, (y1 - 1) // 16 + 1):
                for mx in range(x0 // 16, (x1 - 1) // 16 + 1):
                    found.add(my * self.mb_w + mx)
        return sorted(found)


def _sps(scene: _VideoScene, level: int) -> bytes:
    bw = _BitWriter()
    bw.u(8, 66)  # profile_idc: Baseline
    bw.u(8, 0b1100_0000)  # constraint_set0 + constraint_set1 (Constrained Baseline)
    bw.u(8, level)
    bw.ue(0)  # seq_parameter_set_id
    bw.ue(_LOG2_MAX_FRAME_NUM - 4)
    bw.ue(2)  # pic_order_cnt_type 2: output order == decoding order
    bw.ue(1)  # max_num_ref_frames
    bw.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    bw.ue(scene.mb_w - 1)
    bw.ue(scene.mb_h - 1)
    bw.u(1, 1)  # frame_mbs_only_flag
    bw.u(1, 1)  # direct_8x8_inference_flag
    crop_right = (scene.stride - scene.width) // 2  # CropUnitX = CropUnitY = 2 for 4:2:0
    crop_bottom = (scene.rows - scene.height) // 2
    if crop_right or crop_bottom:
        bw.u(1, 1)
        bw.ue(0)
        bw.ue(crop_right)
        bw.ue(0)
        bw.ue(crop_bottom)
    else:
        bw.u(1, 0)
    bw.u(1, 1)  # vui_parameters_present_flag
    bw.u(1, 0)  # aspect_ratio_info_present_flag (square pixels by default)
    bw.u(1, 0)  # overscan_info_present_flag
    bw.u(1, 1)  # video_signal_type_present_flag
    bw.u(3, 5)  # video_format: unspecified
    bw.u(1, 0)  # video_full_range_flag: limited range
    bw.u(1, 1)  # colour_description_present_flag
    bw.u(8, 6)  # colour_primaries: SMPTE 170M
    bw.u(8, 6)  # transfer_characteristics: SMPTE 170M
    bw.u(8, 6)  # matrix_coefficients: SMPTE 170M (BT.601)
    bw.u(1, 0)  # chroma_loc_info_present_flag
    bw.u(1, 1)  # timing_info_present_flag
    bw.u(32, 1)  # num_units_in_tick
    bw.u(32, 2 * scene.fps)  # time_scale (two ticks per frame)
    bw.u(1, 1)  # fixed_frame_rate_flag
    bw.u(1, 0)  # nal_hrd_parameters_present_flag
    bw.u(1, 0)  # vcl_hrd_parameters_present_flag
    bw.u(1, 0)  # pic_struct_present_flag
    bw.u(1, 1)  # bitstream_restriction_flag
    bw.u(1, 1)  # motion_vectors_over_pic_boundaries_flag
    bw.ue(0)  # max_bytes_per_pic_denom
    bw.ue(0)  # max_bits_per_mb_denom
    bw.ue(16)  # log2_max_mv_length_horizontal
    bw.ue(16)  # log2_max_mv_length_vertical
    bw.ue(0)  # max_num_reorder_frames
    bw.ue(1)  # max_dec_frame_buffering
    return _nal(3, 7, bw.rbsp())


def _pps() -> bytes:
    bw = _BitWriter()
    bw.ue(0)  # pic_parameter_set_id
    bw.ue(0)  # seq_parameter_set_id
    bw.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    bw.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    bw.ue(0)  # num_slice_groups_minus1
    bw.ue(0)  # num_ref_idx_l0_default_active_minus1
    bw.ue(0)  # num_ref_idx_l1_default_active_minus1
    bw.u(1, 0)  # weighted_pred_flag
    bw.u(2, 0)  # weighted_bipred_idc
    bw.se(0)  # pic_init_qp_minus26
    bw.se(0)  # pic_init_qs_minus26
    bw.se(0)  # chroma_qp_index_offset
    bw.u(1, 1)  # deblocking_filter_control_present_flag
    bw.u(1, 0)  # constrained_intra_pred_flag
    bw.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(3, 8, bw.rbsp())


def _slice_header(bw: _BitWriter, *, idr: bool, frame_num: int, idr_pic_id: int) -> None:
    bw.ue(0)  # first_mb_in_slice
    bw.ue(7 if idr else 5)  # slice_type: I / P (every slice of the picture)
    bw.ue(0)  # pic_parameter_set_id
    bw.u(_LOG2_MAX_FRAME_NUM, frame_num)
    if idr:
        bw.ue(idr_pic_id)
    else:
        bw.u(1, 0)  # num_ref_idx_active_override_flag
        bw.u(1, 0)  # ref_pic_list_modification_flag_l0
    # dec_ref_pic_marking() (every picture is a reference picture)
    if idr:
        bw.u(1, 0)  # no_output_of_prior_pics_flag
        bw.u(1, 0)  # long_term_reference_flag
    else:
        bw.u(1, 0)  # adaptive_ref_pic_marking_mode_flag: sliding window
    bw.se(0)  # slice_qp_delta
    bw.ue(1)  # disable_deblocking_filter_idc: off, so copies and PCM stay lossless


def _idr_picture(macroblocks: list[bytes], idr_pic_id: int) -> bytes:
    bw = _BitWriter()
    _slice_header(bw, idr=True, frame_num=0, idr_pic_id=idr_pic_id)
    for samples in macroblocks:
        bw.ue(_MB_TYPE_I_PCM_IN_I)
        bw.align_zero()  # pcm_alignment_zero_bit
        bw.raw(samples)
    return _nal(3, 5, bw.rbsp())


def _p_picture(changed: list[tuple[int, bytes]], total_mbs: int, frame_num: int) -> bytes:
    bw = _BitWriter()
    _slice_header(bw, idr=False, frame_num=frame_num, idr_pic_id=0)
    previous = -1
    for addr, samples in changed:
        bw.ue(addr - previous - 1)  # mb_skip_run (P_Skip with a zero motion vector: a copy)
        bw.ue(_MB_TYPE_I_PCM_IN_P)
        bw.align_zero()
        bw.raw(samples)
        previous = addr
    tail = total_mbs - previous - 1
    if tail:
        bw.ue(tail)
    return _nal(2, 1, bw.rbsp())


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


_MATRIX = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _avc1_entry(width: int, height: int, sps: bytes, pps: bytes) -> bytes:
    avcc = _box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFC | 3, 0xE0 | 1]),
        struct.pack(">H", len(sps)),
        sps,
        bytes([1]),
        struct.pack(">H", len(pps)),
        pps,
    )
    name = b"Tarash mock H.264"
    return _box(
        b"avc1",
        bytes(6),  # reserved
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),  # pre_defined / reserved
        struct.pack(">HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1),
        bytes([len(name)]) + name + bytes(31 - len(name)),  # compressorname
        struct.pack(">Hh", 0x18, -1),  # depth, pre_defined
        avcc,
    )


def _mux_mp4(
    scene: _VideoScene,
    timescale: int,
    deltas: list[int],
    samples: list[bytes],
    sync: list[int],
    sps: bytes,
    pps: bytes,
) -> bytes:
    duration = sum(deltas)
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso2", b"avc1", b"mp41")

    runs: list[tuple[int, int]] = []
    for delta in deltas:
        if runs and runs[-1][1] == delta:
            runs[-1] = (runs[-1][0] + 1, delta)
        else:
            runs.append((1, delta))

    def moov(chunk_offset: int) -> bytes:
        stbl = _box(
            b"stbl",
            _full_box(
                b"stsd",
                0,
                0,
                struct.pack(">I", 1),
                _avc1_entry(scene.width, scene.height, sps, pps),
            ),
            _full_box(
                b"stts",
                0,
                0,
                struct.pack(">I", len(runs)),
                b"".join(struct.pack(">II", n, d) for n, d in runs),
            ),
            _full_box(b"stss", 0, 0, struct.pack(f">I{len(sync)}I", len(sync), *sync)),
            _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(samples), 1)),
            _full_box(
                b"stsz",
                0,
                0,
                struct.pack(f">II{len(samples)}I", 0, len(samples), *map(len, samples)),
            ),
            _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)),
        )
        minf = _box(
            b"minf",
            _full_box(b"vmhd", 0, 1, struct.pack(">HHHH", 0, 0, 0, 0)),
            _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1))),
            stbl,
        )
        mdia = _box(
            b"mdia",
            _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)),
            _full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"vide"), b"Tarash mock video\x00"),
            minf,
        )
        tkhd = _full_box(
            b"tkhd",
            0,
            3,  # enabled | in movie
            struct.pack(">IIIII8xhhhH", 0, 0, 1, 0, duration, 0, 0, 0, 0),
            _MATRIX,
            struct.pack(">II", scene.width << 16, scene.height << 16),
        )
        mvhd = _full_box(
            b"mvhd",
            0,
            0,
            struct.pack(">IIIIih10x", 0, 0, timescale, duration, 0x10000, 0x100),
            _MATRIX,
            bytes(24),
            struct.pack(">I", 2),  # next_track_ID
        )
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    head = len(ftyp) + len(moov(0)) + 8
    payload = b"".join(samples)
    return ftyp + moov(head) + struct.pack(">I4s", 8 + len(payload), b"mdat") + payload


def make_mp4(
    width: int, height: int, duration_seconds: float, *, fps: int = 12, seed: int = 0
) -> bytes:
    """A playable MP4 (H.264 Constrained Baseline, ``avc1``) of a ball gliding over a gradient.

    ``width``/``height``: even, 16..1920. ``duration_seconds``: (0, 60]. ``fps``: 1..60.
    The clip has ``max(1, round(duration_seconds * fps))`` frames; the container duration is
    ``duration_seconds`` (to 1/(1000*fps) s — the last frame absorbs the rounding). Pictures
    are lossless (I_PCM macroblocks, BT.601 limited range), an IDR picture starts every
    2 seconds and in between only the macroblocks that change are sent.
    """
    w = _check_int(width, "width", 16, _MAX_VIDEO_SIDE)
    h = _check_int(height, "height", 16, _MAX_VIDEO_SIDE)
    if w % 2 or h % 2:
        raise ValueError(f"width and height must be even, got {w}x{h}")
    rate = _check_int(fps, "fps", 1, 60)
    duration = _check_duration(duration_seconds, _MAX_VIDEO_SECONDS)

    n_frames = max(1, round(duration * rate))
    timescale = 1000 * rate
    total_ticks = max(1, round(duration * timescale))
    deltas = [1000] * (n_frames - 1) + [total_ticks - 1000 * (n_frames - 1)]

    scene = _VideoScene(w, h, n_frames, rate, seed)
    sps = _sps(scene, _level_idc(scene.mb_w, scene.mb_h, rate))
    pps = _pps()
    total_mbs = scene.mb_w * scene.mb_h
    gop = _IDR_INTERVAL_SECONDS * rate
    max_frame_num = 1 << _LOG2_MAX_FRAME_NUM

    samples: list[bytes] = []
    sync: list[int] = []
    previous = scene.render(0)
    for index in range(n_frames):
        planes = scene.render(index)
        if index % gop == 0:
            nal = _idr_picture(scene.all_macroblocks(planes), (index // gop) & 0xFFFF)
            sync.append(index + 1)
        else:
            changed: list[tuple[int, bytes]] = []
            for addr in scene.candidate_macroblocks(index):
                now = scene.macroblock(planes, addr)
                if now != scene.macroblock(previous, addr):
                    changed.append((addr, now))
            nal = _p_picture(changed, total_mbs, (index % gop) % max_frame_num)
        samples.append(struct.pack(">I", len(nal)) + nal)
        previous = planes
    return _mux_mp4(scene, timescale, deltas, samples, sync, sps, pps)


# --------------------------------------------------------------------------------------------
# Encoded-media cache
# --------------------------------------------------------------------------------------------

_CACHE_MAX_BYTES = 64 * 1024 * 1024
"""Total size of the cached media (bytes plus their base64 text)."""
_CACHE_MAX_ENTRY = 8 * 1024 * 1024
"""Larger results are not cached (a long HD clip is rebuilt each time)."""
_CACHE_MAX_ENTRIES = 256


class CacheMiss(LookupError):
    """Raised inside :func:`cache_only` when a result is not cached yet."""


class _MediaCache:
    """A thread-safe LRU of encoded media, bounded in entries and in bytes.

    Every mock output depends only on its parameters (size, duration, sample rate, seed), so
    a repeated request reuses the bytes, and the base64 text, of the first one.
    """

    def __init__(self, max_bytes: int, max_entry: int, max_entries: int) -> None:
        self.max_bytes, self.max_entry, self.max_entries = max_bytes, max_entry, max_entries
        self._items: OrderedDict[tuple[Any, ...], bytes | str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...], build: Callable[[], bytes | str]) -> bytes | str:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        if _ONLY_CACHED.get():
            raise CacheMiss(key[0])
        value = build()  # outside the lock: two threads may build the same value once each
        size = len(value)
        if size <= self.max_entry:
            with self._lock:
                if key not in self._items:
                    self._items[key] = value
                    self._size += size
                while self._size > self.max_bytes or len(self._items) > self.max_entries:
                    _, dropped = self._items.popitem(last=False)
                    self._size -= len(dropped)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0
            self.hits = self.misses = 0

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._items)


cache = _MediaCache(_CACHE_MAX_BYTES, _CACHE_MAX_ENTRY, _CACHE_MAX_ENTRIES)
"""The process-wide cache of mock media (``cache.clear()`` empties it)."""

_ONLY_CACHED: ContextVar[bool] = ContextVar("tarash_mock_only_cached", default=False)


@contextmanager
def cache_only() -> Iterator[None]:
    """Within the block, a media function whose result is not cached raises :class:`CacheMiss`
    instead of encoding (so the caller can do the encoding off the event loop instead)."""
    token = _ONLY_CACHED.set(True)
    try:
        yield
    finally:
        _ONLY_CACHED.reset(token)


def _key_float(value: float) -> float:
    return round(float(value), 6)


def cached_png(width: int, height: int, *, seed: int = 0) -> bytes:
    """:func:`make_png`, cached."""
    data = cache.get(("png", width, height, seed), lambda: make_png(width, height, seed=seed))
    assert isinstance(data, bytes)
    return data


def cached_png_base64(width: int, height: int, *, seed: int = 0) -> str:
    """Base64 text of :func:`make_png`, cached."""
    text = cache.get(
        ("png-b64", width, height, seed),
        lambda: base64.b64encode(cached_png(width, height, seed=seed)).decode("ascii"),
    )
    assert isinstance(text, str)
    return text


def cached_audio_base64(
    kind: str, duration_seconds: float, *, sample_rate: int = 24000, seed: int = 0
) -> str:
    """Base64 text of :func:`make_wav` (``kind="wav"``) or :func:`make_pcm` (``"pcm"``), cached."""
    make = make_pcm if kind == "pcm" else make_wav
    text = cache.get(
        (f"{kind}-b64", _key_float(duration_seconds), sample_rate, seed),
        lambda: base64.b64encode(make(duration_seconds, sample_rate=sample_rate, seed=seed)).decode(
            "ascii"
        ),
    )
    assert isinstance(text, str)
    return text


def cached_mp4(
    width: int, height: int, duration_seconds: float, *, fps: int = 12, seed: int = 0
) -> bytes:
    """:func:`make_mp4`, cached (clips over the per-entry bound are rebuilt each time)."""
    data = cache.get(
        ("mp4", width, height, _key_float(duration_seconds), fps, seed),
        lambda: make_mp4(width, height, duration_seconds, fps=fps, seed=seed),
    )
    assert isinstance(data, bytes)
    return data
