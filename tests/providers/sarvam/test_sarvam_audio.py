"""The text splitter and the audio joiner used for Sarvam's per-request limit."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tarash.tarash_gateway.audio import mp3_duration, parse_wav
from tarash.tarash_gateway.providers.mock.media import make_pcm, make_wav
from tarash.tarash_gateway.providers.sarvam.audio import AudioJoinError, join_audio, split_text
from tests.emulators.sarvam import decoded_seconds, encode_speech

ALPHABET = "ab कख .!?,;\n।॥。"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=400), limit=st.integers(1, 80))
def test_split_text_never_exceeds_the_limit_and_loses_nothing(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    squash = str.maketrans("", "", " \n")
    assert "".join(pieces).translate(squash) == text.translate(squash)
    assert all(p == p.strip() for p in pieces)


def test_split_text_prefers_sentence_then_clause_then_word_boundaries() -> None:
    text = "First sentence here. Second one, with a clause; and more words! Third?"
    assert split_text(text, 25) == [
        "First sentence here.",
        "Second one,",  # the 44-character sentence is cut at its clauses
        "with a clause;",
        "and more words! Third?",  # short sentences are packed together
    ]
    assert split_text("नमस्ते दुनिया। आज मौसम अच्छा है।", 20) == ["नमस्ते दुनिया।", "आज मौसम अच्छा है।"]
    assert split_text("Pi is 3.14 exactly. Yes.", 20) == ["Pi is 3.14 exactly.", "Yes."]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("  short  ", 100) == ["short"]
    assert split_text("   ", 10) == []


def test_join_wav_rewrites_one_header() -> None:
    a, b = make_wav(0.25, sample_rate=16000), make_wav(0.5, sample_rate=16000, seed=2)
    joined = join_audio([a, b], "wav")
    wav = parse_wav(joined)
    assert wav is not None
    assert wav.data == parse_wav(a).data + parse_wav(b).data  # type: ignore[union-attr]
    (riff_size,) = struct.unpack_from("<I", joined, 4)
    assert riff_size == len(joined) - 8
    assert wav.duration == pytest.approx(0.75)
    assert decoded_seconds(joined)[0] == pytest.approx(0.75, abs=1e-3)


def test_join_wav_refuses_different_formats() -> None:
    with pytest.raises(AudioJoinError, match="different formats"):
        join_audio([make_wav(0.2, sample_rate=16000), make_wav(0.2, sample_rate=22050)], "wav")
    with pytest.raises(AudioJoinError, match="RIFF"):
        join_audio([make_wav(0.2), b"not a wav"], "wav")
    with pytest.raises(AudioJoinError, match="re-encoding"):
        join_audio([b"fLaC1", b"fLaC2"], "flac")


def test_parse_wav_with_streaming_placeholder_size() -> None:
    data = bytearray(make_wav(0.1, sample_rate=8000))
    data[40:44] = b"\xff\xff\xff\xff"  # data chunk size unknown while streaming
    wav = parse_wav(bytes(data))
    assert wav is not None and wav.duration == pytest.approx(0.1)
    assert parse_wav(b"RIFF0000WAVE") is None
    assert parse_wav(b"ID3 not a wav file at all") is None


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 48000])
def test_mp3_duration_matches_the_decoder(rate: int) -> None:
    one = encode_speech(make_pcm(0.4, sample_rate=rate), rate, "mp3")
    two = encode_speech(make_pcm(0.3, sample_rate=rate, seed=9), rate, "mp3")
    assert mp3_duration(one) == pytest.approx(decoded_seconds(one)[0], abs=1e-6)
    joined = join_audio([one, two], "mp3")
    assert not joined.startswith(b"ID3")
    assert mp3_duration(joined) == pytest.approx(decoded_seconds(joined)[0], abs=1e-6)
    assert mp3_duration(b"no frames here") is None
