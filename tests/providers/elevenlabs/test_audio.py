"""Durations read from audio bytes, checked against what a real decoder (FFmpeg via PyAV) plays."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from tarash.tarash_gateway.audio import (
    audio_facts,
    check_audio_input,
    mp3_duration,
    ogg_opus_duration,
    pcm_duration,
    wav_facts,
)
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.media import to_media_input
from tarash.tarash_gateway.providers.mock.media import make_pcm, make_png, make_wav
from tests.emulators.elevenlabs import render_audio

av = pytest.importorskip("av")


def decoded_seconds(data: bytes) -> float:
    """Samples a decoder outputs ÷ sample rate (FFmpeg applies gapless trimming)."""
    samples = 0
    rate = 1
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    return samples / rate


@pytest.mark.parametrize(
    ("rate", "bit_rate"),
    [
        (44100, 128000),
        (44100, 192000),
        (44100, 32000),
        (22050, 32000),
        (24000, 48000),
        (16000, 32000),
        (8000, 16000),
        (48000, 96000),
    ],
)
@pytest.mark.parametrize("seconds", [0.25, 1.0, 2.5])
def test_mp3_duration_matches_the_decoder(rate: int, bit_rate: int, seconds: float) -> None:
    data = render_audio("mp3", rate, bit_rate=bit_rate, duration=seconds)
    assert data[:3] == b"ID3"  # LAME output: ID3v2 tag + Xing/Info frame + audio frames
    assert mp3_duration(data) == pytest.approx(decoded_seconds(data), abs=1e-9)
    assert mp3_duration(data) == pytest.approx(seconds, abs=1 / rate)


def test_mp3_without_tags_counts_every_frame() -> None:
    data = render_audio("mp3", 44100, bit_rate=128000, duration=1.0)
    size = 10 + _syncsafe(data[6:10])
    headerless = data[size:]
    # Drop the Xing/Info frame too: plain CBR frames, no gapless info.
    first_len = 144 * 128000 // 44100 + ((headerless[2] >> 1) & 1)
    frames_only = headerless[first_len:]
    expected = decoded_seconds(frames_only)
    assert mp3_duration(frames_only) == pytest.approx(expected, abs=1e-9)
    assert expected > 1.0  # encoder delay + padding are audible without the LAME tag


def test_mp3_truncated_and_garbage() -> None:
    data = render_audio("mp3", 44100, bit_rate=128000, duration=1.0)
    cut = mp3_duration(data[: len(data) // 2])
    assert cut is not None and 0.4 < cut < 0.6  # whole frames only
    assert mp3_duration(b"not audio at all" * 10) is None
    assert mp3_duration(b"") is None
    assert mp3_duration(b"\xff\xfb" + b"\x00" * 50) is None  # a lone sync word is no frame chain


def _syncsafe(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value = (value << 7) | byte
    return value


def test_wav_facts_and_streaming_placeholder_sizes() -> None:
    wav = make_wav(0.75, sample_rate=22050)
    facts = wav_facts(wav)
    assert facts is not None
    assert facts.sample_rate == 22050 and facts.duration == pytest.approx(0.75, abs=1 / 22050)
    streamed = wav[:40] + struct.pack("<I", 0xFFFFFFFF) + wav[44:]
    again = wav_facts(streamed)
    assert again is not None and again.duration == facts.duration
    stereo = make_wav(0.5, sample_rate=16000, channels=2)
    stereo_facts = wav_facts(stereo)
    assert stereo_facts is not None and stereo_facts.duration == pytest.approx(0.5)
    assert wav_facts(b"RIFF....WAVE") is None
    assert wav_facts(b"nope") is None


@pytest.mark.parametrize(
    ("container", "rate", "encoding", "width"),
    [
        ("pcm", 16000, None, 2),
        ("raw", 24000, "pcm_s16le", 2),
        ("raw", 24000, "pcm_f32le", 4),
        ("ulaw", 8000, None, 1),
        ("raw", 8000, "pcm_alaw", 1),
    ],
)
def test_raw_durations(container: str, rate: int, encoding: str | None, width: int) -> None:
    data = bytes(rate * width)  # exactly one second
    facts = audio_facts(data, container, rate, encoding=encoding)
    assert facts.duration == pytest.approx(1.0)
    assert facts.sample_rate == rate
    assert pcm_duration(len(make_pcm(0.5, sample_rate=rate)), rate) == pytest.approx(0.5)


def test_ogg_opus_duration_from_granule_positions() -> None:
    data = render_audio("opus", 48000, bit_rate=64000, duration=1.3)
    assert data[:4] == b"OggS"
    assert ogg_opus_duration(data) == pytest.approx(1.3, abs=0.021)
    assert ogg_opus_duration(b"OggS" + b"\x00" * 40) is None
    assert ogg_opus_duration(b"ID3") is None


def test_unknown_containers_and_missing_rates_are_unknown() -> None:
    assert audio_facts(b"\x00" * 100, "flac", 44100).duration is None
    assert audio_facts(b"\x00" * 100, "pcm", None).duration is None


def test_check_audio_input(tmp_path: Path) -> None:
    wav = make_wav(0.2)
    check_audio_input(to_media_input(wav), len(wav), provider="p", model="m")
    with pytest.raises(ValidationError) as info:
        check_audio_input(to_media_input(wav), len(wav) - 1, provider="p", model="m")
    assert info.value.field == "audio"
    path = tmp_path / "a.wav"
    path.write_bytes(wav)
    with pytest.raises(ValidationError):
        check_audio_input(to_media_input(path), 10, provider="p", model="m")
    with pytest.raises(ValidationError, match="image/png"):
        check_audio_input(to_media_input(make_png(4, 4)), 10**6, provider="p", model="m")
    check_audio_input(to_media_input("https://example.com/a.wav"), 1, provider="p", model="m")
