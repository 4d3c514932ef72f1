"""The mock's edits and extensions of an input video (library level, no server)."""

from __future__ import annotations

import io

import av
import pytest

from tarash.tarash_gateway import generate_video_async
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.media import to_data_uri
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers.mock import media
from tarash.tarash_gateway.providers.mock.video_edit import read_mp4

CONFIG = VideoGenerationConfig(provider="mock", model="mock-video")


def _frames(mp4: bytes) -> list[bytes]:
    with av.open(io.BytesIO(mp4)) as c:
        return [bytes(f.reformat(format="rgb24").planes[0]) for f in c.decode(video=0)]


async def test_extension_is_the_source_then_new_frames() -> None:
    source = media.make_mp4(96, 64, 2.5, fps=10, seed=2)
    request = VideoGenerationRequest(
        prompt="go on",
        video=to_data_uri(source, "video/mp4"),
        duration_seconds=3,
        provider_options={"mock": {"video_mode": "extend"}},
    )
    response = await generate_video_async(CONFIG, request)
    data = await response.read_bytes_async()
    assert response.duration == pytest.approx(5.5) and (response.width, response.height) == (96, 64)
    assert read_mp4(data).duration == pytest.approx(5.5)
    frames, before = _frames(data), _frames(source)
    assert len(frames) == len(before) + 30 and frames[: len(before)] == before
    assert frames[len(before)] != before[-1] or frames[-1] != before[-1]


async def test_edit_keeps_size_rate_and_length_with_new_pictures() -> None:
    source = media.make_mp4(128, 72, 1.5, fps=8, seed=4)
    request = VideoGenerationRequest(
        prompt="recolour", video=source, provider_options={"mock": {"video_mode": "edit"}}
    )
    response = await generate_video_async(CONFIG, request)
    data = await response.read_bytes_async()
    clip = read_mp4(data)
    assert (clip.width, clip.height, clip.fps) == (128, 72, 8)
    assert clip.duration == pytest.approx(1.5)
    assert _frames(data) != _frames(source)


@pytest.mark.parametrize(
    ("video", "mode", "match"),
    [
        (b"\0\0\0\x08free", "edit", "cannot read the input video"),
        (None, "extend", "needs an input video"),
        ("https://example.com/a.mp4", "edit", "not URLs"),
        (b"x", "rewind", "video_mode must be one of"),
    ],
)
async def test_bad_inputs_are_refused_before_submit(video: object, mode: str, match: str) -> None:
    request = VideoGenerationRequest(
        prompt="p", video=video, provider_options={"mock": {"video_mode": mode}}
    )
    with pytest.raises(ValidationError, match=match):
        await generate_video_async(CONFIG, request)
