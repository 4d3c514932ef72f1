"""The mock provider's media generators produce real media that real decoders accept.

Validity is proven with independent readers: FFmpeg (through PyAV) for PNG and H.264/MP4,
FFmpeg's own H.264 header parser (the ``trace_headers`` bitstream filter), ``wave`` for WAV
and ``zlib`` for the PNG checksums and compressed stream.
"""

from __future__ import annotations

import io
import itertools
import struct
import time
import wave
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import av
import av.bitstream
import av.logging
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tarash.tarash_gateway.providers.mock import media
from tarash.tarash_gateway.providers.mock.media import make_mp4, make_pcm, make_png, make_wav

pytestmark = pytest.mark.timeout(60)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _open(data: bytes) -> av.container.InputContainer:
    container = av.open(io.BytesIO(data))
    assert isinstance(container, av.container.InputContainer)
    return container


@contextmanager
def _ffmpeg_log(level: int = av.logging.WARNING) -> Iterator[list[Any]]:
    """Capture FFmpeg's log messages (level, name, text) at ``level`` or more severe."""
    previous = av.logging.get_level()
    av.logging.set_level(level)
    try:
        with av.logging.Capture() as logs:
            yield logs
    finally:
        av.logging.set_level(previous)


def _errors(logs: list[Any]) -> list[Any]:
    return [entry for entry in logs if entry[0] <= av.logging.ERROR]


def _plane(frame: av.VideoFrame, index: int, width: int, height: int) -> bytes:
    """The visible ``width`` x ``height`` samples of a decoded plane, without line padding."""
    plane = frame.planes[index]
    data = bytes(plane)
    step = plane.line_size
    return b"".join(data[r * step : r * step + width] for r in range(height))


def _expected_planes(
    width: int, height: int, duration: float, fps: int, seed: int, index: int
) -> tuple[bytes, bytes, bytes]:
    """What the encoder meant picture ``index`` to look like (visible area only)."""
    n_frames = max(1, round(duration * fps))
    scene = media._VideoScene(width, height, n_frames, fps, seed)
    y, cb, cr = scene.render(index)
    s, cs = scene.stride, scene.c_stride
    return (
        b"".join(y[r * s : r * s + width] for r in range(height)),
        b"".join(cb[r * cs : r * cs + width // 2] for r in range(height // 2)),
        b"".join(cr[r * cs : r * cs + width // 2] for r in range(height // 2)),
    )


def _decode_mp4(data: bytes) -> tuple[av.container.InputContainer, list[av.VideoFrame]]:
    """Decode every frame with FFmpeg in strict mode: any bitstream error raises."""
    container = _open(data)
    stream = container.streams.video[0]
    stream.codec_context.options = {"err_detect": "crccheck+bitstream+buffer+explode"}
    with _ffmpeg_log() as logs:
        frames = list(container.decode(stream))
    assert _errors(logs) == []
    return container, frames


def _trace_headers(data: bytes) -> list[tuple[str, int]]:
    """(syntax element, value) pairs as parsed by FFmpeg's H.264 header reader."""
    container = _open(data)
    stream = container.streams.video[0]
    with _ffmpeg_log(av.logging.INFO) as logs:
        bsf = av.bitstream.BitStreamFilterContext("trace_headers", stream)
        for packet in container.demux(stream):
            list(bsf.filter(packet))
        list(bsf.filter(None))
    assert _errors(logs) == []
    fields: list[tuple[str, int]] = []
    for _level, name, text in logs:
        parts = text.split()
        if name == "trace_headers" and len(parts) == 5 and parts[3] == "=":
            fields.append((parts[1], int(parts[4])))
    return fields


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    return chunks


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(1, 1), (64, 48), (250, 141), (512, 512)])
def test_png_chunks_crcs_and_zlib_stream_are_valid(width: int, height: int) -> None:
    data = make_png(width, height, seed=3)
    chunks = _png_chunks(data)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", chunks[0][1]) == (width, height, 8, 2, 0, 0, 0)
    raw = zlib.decompress(chunks[1][1])
    row = 1 + 3 * width
    assert len(raw) == height * row
    assert all(raw[y * row] == 0 for y in range(height))  # filter type "None"


@pytest.mark.parametrize(("width", "height"), [(64, 48), (250, 141), (1024, 1024)])
def test_png_decodes_with_ffmpeg_to_the_encoded_pixels(width: int, height: int) -> None:
    data = make_png(width, height, seed=11)
    with _ffmpeg_log() as logs:
        container = _open(data)
        frames = list(container.decode(video=0))
    assert _errors(logs) == []
    assert len(frames) == 1
    frame = frames[0]
    assert (frame.width, frame.height) == (width, height)
    assert frame.format.name == "rgb24"
    pixels = _plane(frame, 0, 3 * width, height)
    assert len(set(pixels)) > 20  # a real picture, not a flat fill
    raw = zlib.decompress(_png_chunks(data)[1][1])
    row = 1 + 3 * width
    assert pixels == b"".join(raw[y * row + 1 : (y + 1) * row] for y in range(height))


def test_png_is_deterministic_and_seed_dependent() -> None:
    assert make_png(96, 64, seed=1) == make_png(96, 64, seed=1)
    images = {make_png(96, 64, seed=s) for s in range(8)}
    assert len(images) == 8
    # "visibly" different: the top-left colour differs noticeably between seeds 0 and 1
    a = zlib.decompress(_png_chunks(make_png(16, 16, seed=0))[1][1])[1:4]
    b = zlib.decompress(_png_chunks(make_png(16, 16, seed=1))[1][1])[1:4]
    assert sum(abs(x - y) for x, y in zip(a, b, strict=True)) > 30


def test_png_is_fast() -> None:
    start = time.perf_counter()
    make_png(1024, 1024, seed=5)
    assert time.perf_counter() - start < 1.5  # typically ~0.03 s


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (8193, 10), (-1, 5)])
def test_png_rejects_bad_sizes(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="must be between"):
        make_png(width, height)


# --------------------------------------------------------------------------------------------
# WAV / PCM
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "rate", "channels"),
    [(1.0, 24000, 1), (2.5, 44100, 2), (0.3, 8000, 1), (4.0, 48000, 2), (0.01, 16000, 1)],
)
def test_wav_reads_back_with_the_wave_module(duration: float, rate: int, channels: int) -> None:
    data = make_wav(duration, sample_rate=rate, seed=2, channels=channels)
    with wave.open(io.BytesIO(data), "rb") as reader:
        assert reader.getnchannels() == channels
        assert reader.getframerate() == rate
        assert reader.getsampwidth() == 2
        assert reader.getcomptype() == "NONE"
        assert reader.getnframes() == round(duration * rate)
        frames = reader.readframes(reader.getnframes())
    assert len(frames) == 2 * channels * round(duration * rate)
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    if channels == 2:
        assert samples[0::2] == samples[1::2]
    mono = samples[::channels]
    peak = max(abs(s) for s in mono)
    assert 1000 < peak < int(0.35 * 32768)  # audible but soft
    assert mono[0] == 0  # fades in from silence …
    assert mono[-1] == 0  # … and out to silence: no click at either end
    # No clicks anywhere: neighbouring samples never jump by more than a smooth tone allows.
    limit = 0.55 * 32768 if rate < 16000 else 0.25 * 32768
    assert max(abs(b - a) for a, b in itertools.pairwise(mono)) < limit


def test_wav_decodes_with_ffmpeg() -> None:
    data = make_wav(1.5, sample_rate=22050, seed=9)
    with _ffmpeg_log() as logs:
        container = _open(data)
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "pcm_s16le"
        total = sum(int(frame.samples) for frame in container.decode(stream))
    assert _errors(logs) == []
    assert total == round(1.5 * 22050)


def test_pcm_is_the_wav_payload_and_deterministic() -> None:
    pcm = make_pcm(2.0, sample_rate=24000, seed=4)
    assert len(pcm) == 2 * 48000
    assert make_wav(2.0, sample_rate=24000, seed=4)[44:] == pcm
    assert make_pcm(2.0, sample_rate=24000, seed=4) == pcm
    assert make_pcm(2.0, sample_rate=24000, seed=5) != pcm


def test_audio_is_fast() -> None:
    start = time.perf_counter()
    make_wav(10.0, sample_rate=44100, seed=1)
    assert time.perf_counter() - start < 1.5  # typically ~0.02 s


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_seconds": 0.0},
        {"duration_seconds": -1.0},
        {"duration_seconds": float("nan")},
        {"duration_seconds": 601.0},
        {"duration_seconds": 1.0, "sample_rate": 4000},
        {"duration_seconds": 1.0, "channels": 0},
        {"duration_seconds": 1.0, "channels": 9},
    ],
)
def test_wav_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        make_wav(**kwargs)


# --------------------------------------------------------------------------------------------
# MP4 / H.264
# --------------------------------------------------------------------------------------------

_SIZES = [(320, 180), (180, 320), (240, 240), (250, 140), (16, 16), (34, 18)]


@pytest.mark.parametrize(("width", "height"), _SIZES)
@pytest.mark.parametrize("seed", [0, 7])
def test_mp4_decodes_losslessly_frame_by_frame(width: int, height: int, seed: int) -> None:
    duration, fps = 2.5, 12
    data = make_mp4(width, height, duration, fps=fps, seed=seed)
    container, frames = _decode_mp4(data)
    stream = container.streams.video[0]
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.profile == "Constrained Baseline"
    assert (stream.width, stream.height) == (width, height)
    assert len(frames) == round(duration * fps)
    assert container.duration is not None
    assert container.duration / 1_000_000 == pytest.approx(duration, abs=1e-3)
    for index, frame in enumerate(frames):
        assert (frame.width, frame.height, frame.format.name) == (width, height, "yuv420p")
        # I_PCM and P_Skip are lossless and deblocking is off: every sample must match.
        y, cb, cr = _expected_planes(width, height, duration, fps, seed, index)
        assert _plane(frame, 0, width, height) == y, f"luma of frame {index}"
        assert _plane(frame, 1, width // 2, height // 2) == cb, f"Cb of frame {index}"
        assert _plane(frame, 2, width // 2, height // 2) == cr, f"Cr of frame {index}"


def test_mp4_shows_motion_and_seed_colours() -> None:
    width, height, seed = 320, 180, 21
    _, frames = _decode_mp4(make_mp4(width, height, 3.0, seed=seed))
    lumas = [_plane(f, 0, width, height) for f in frames]
    assert all(a != b for a, b in itertools.pairwise(lumas))  # something moves
    assert len(set(lumas[0])) > 40  # a gradient, not a flat picture

    start, _end, accent = media._palette(seed)
    first = frames[0].reformat(format="rgb24")
    rgb = _plane(first, 0, 3 * width, height)
    # the top-left pixel is the gradient's start colour …
    assert all(abs(got - round(want * 255)) <= 8 for got, want in zip(rgb[:3], start, strict=True))
    # … and the middle of the ball is the accent colour
    scene = media._VideoScene(width, height, 36, 12, seed)
    cx, cy = scene.disc_centre(0)
    pixel = rgb[3 * (cy * width + cx) : 3 * (cy * width + cx) + 3]
    assert all(abs(got - round(want * 255)) <= 8 for got, want in zip(pixel, accent, strict=True))


def test_mp4_gop_structure_and_p_frames_are_small() -> None:
    fps = 12
    data = make_mp4(320, 180, 6.0, fps=fps, seed=1)
    container = _open(data)
    packets = [p for p in container.demux(video=0) if p.size]
    assert len(packets) == 72
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert keys == [0, 24, 48]  # an IDR picture every 2 seconds
    key_size = packets[0].size
    assert all(p.size < key_size // 5 for p in packets if not p.is_keyframe)


def test_mp4_headers_parse_with_ffmpegs_bitstream_reader() -> None:
    fps = 15
    fields = dict(_trace_headers(make_mp4(250, 140, 1.0, fps=fps, seed=2)))
    assert fields["profile_idc"] == 66
    assert fields["constraint_set1_flag"] == 1  # Constrained Baseline
    assert fields["level_idc"] == 30
    assert fields["pic_width_in_mbs_minus1"] == 15  # 256 / 16 - 1
    assert fields["pic_height_in_map_units_minus1"] == 8  # 144 / 16 - 1
    assert fields["frame_cropping_flag"] == 1
    assert fields["frame_crop_right_offset"] == 3  # (256 - 250) / 2
    assert fields["frame_crop_bottom_offset"] == 2  # (144 - 140) / 2
    assert fields["entropy_coding_mode_flag"] == 0  # CAVLC
    assert fields["disable_deblocking_filter_idc"] == 1
    # num_units_in_tick (00 00 00 01) and time_scale need emulation prevention in the SPS.
    assert fields["num_units_in_tick"] == 1
    assert fields["time_scale"] == 2 * fps


def test_mp4_sps_carries_emulation_prevention_bytes() -> None:
    container = _open(make_mp4(64, 48, 1.0))
    extradata = container.streams.video[0].codec_context.extradata
    assert extradata is not None
    sps_len = int.from_bytes(extradata[6:8], "big")
    sps = extradata[8 : 8 + sps_len]
    assert b"\x00\x00\x03" in sps
    for i in range(len(sps) - 2):
        assert not (sps[i] == 0 and sps[i + 1] == 0 and sps[i + 2] < 3)


@pytest.mark.parametrize(
    ("rbsp", "escaped"),
    [
        (b"\x00\x00\x00", b"\x00\x00\x03\x00"),
        (b"\x00\x00\x01\x00\x00\x02", b"\x00\x00\x03\x01\x00\x00\x03\x02"),
        (b"\x00\x00\x00\x00\x01", b"\x00\x00\x03\x00\x00\x03\x01"),
        (b"\x00\x00\x04\x00\x00", b"\x00\x00\x04\x00\x00"),
        (b"\x12\x00\x00\x03\x00", b"\x12\x00\x00\x03\x03\x00"),
        (b"\xab\xcd", b"\xab\xcd"),
    ],
)
def test_emulation_prevention(rbsp: bytes, escaped: bytes) -> None:
    assert media._escape(rbsp) == escaped


def test_mp4_top_level_layout() -> None:
    data = make_mp4(64, 48, 1.0)
    kinds = []
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        kinds.append(kind)
        pos += size
    assert pos == len(data)
    assert kinds == [b"ftyp", b"moov", b"mdat"]


def test_mp4_duration_is_exact_for_non_multiples_of_the_frame_time() -> None:
    container, frames = _decode_mp4(make_mp4(64, 48, 1.3, fps=12))
    assert len(frames) == 16  # round(15.6)
    assert container.duration is not None
    assert container.duration / 1_000_000 == pytest.approx(1.3, abs=1e-4)


def test_mp4_is_deterministic_and_seed_dependent() -> None:
    a = make_mp4(96, 64, 1.0, seed=5)
    assert make_mp4(96, 64, 1.0, seed=5) == a
    assert make_mp4(96, 64, 1.0, seed=6) != a
    assert make_mp4(96, 64, 1.0, seed=5, fps=10) != a


@pytest.mark.parametrize(("width", "height"), [(320, 180), (180, 320), (240, 240)])
def test_mp4_default_sizes_are_small_and_fast(width: int, height: int) -> None:
    start = time.perf_counter()
    data = make_mp4(width, height, 10.0, fps=12, seed=3)
    elapsed = time.perf_counter() - start
    assert len(data) < 1_000_000  # ~0.7 MB
    assert elapsed < 1.0  # typically ~0.06 s


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((14, 32, 1.0), {}),
        ((32, 14, 1.0), {}),
        ((1922, 32, 1.0), {}),
        ((33, 32, 1.0), {}),
        ((32, 31, 1.0), {}),
        ((32, 32, 0.0), {}),
        ((32, 32, 60.5), {}),
        ((32, 32, float("inf")), {}),
        ((32, 32, 1.0), {"fps": 0}),
        ((32, 32, 1.0), {"fps": 61}),
    ],
)
def test_mp4_rejects_bad_arguments(args: tuple[int, int, float], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        make_mp4(*args, **kwargs)


@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    width=st.integers(8, 40).map(lambda v: 2 * v),
    height=st.integers(8, 40).map(lambda v: 2 * v),
    duration=st.floats(0.05, 1.5),
    fps=st.integers(1, 30),
    seed=st.integers(-(10**9), 10**9),
)
def test_property_every_mp4_decodes(
    width: int, height: int, duration: float, fps: int, seed: int
) -> None:
    _, frames = _decode_mp4(make_mp4(width, height, duration, fps=fps, seed=seed))
    assert len(frames) == max(1, round(duration * fps))
    last = len(frames) - 1
    y, _cb, _cr = _expected_planes(width, height, duration, fps, seed, last)
    assert _plane(frames[last], 0, width, height) == y


@settings(max_examples=20, deadline=None, database=None)
@given(
    width=st.integers(1, 70),
    height=st.integers(1, 70),
    seed=st.integers(-(10**9), 10**9),
)
def test_property_every_png_decodes(width: int, height: int, seed: int) -> None:
    container = _open(make_png(width, height, seed=seed))
    frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (width, height)


@settings(max_examples=20, deadline=None, database=None)
@given(
    duration=st.floats(0.001, 2.0),
    rate=st.sampled_from([8000, 16000, 22050, 24000, 44100, 48000]),
    channels=st.integers(1, 2),
    seed=st.integers(-(10**9), 10**9),
)
def test_property_every_wav_reads_back(
    duration: float, rate: int, channels: int, seed: int
) -> None:
    data = make_wav(duration, sample_rate=rate, seed=seed, channels=channels)
    with wave.open(io.BytesIO(data), "rb") as reader:
        assert reader.getnframes() == round(duration * rate)
        assert reader.getnchannels() == channels
