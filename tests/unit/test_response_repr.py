"""Response reprs are short (media by type and size), and the media stay usable."""

from __future__ import annotations

import base64
from pathlib import Path

from tarash.tarash_gateway import generate_image, generate_tts, generate_video
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)


def test_mock_responses_have_short_reprs_and_still_save(tmp_path: Path) -> None:
    video = generate_video(
        VideoGenerationConfig(provider="mock", model="mock-video", poll_interval=0.05),
        VideoGenerationRequest(prompt="a fox", duration_seconds=2),
    )
    image = generate_image(
        ImageGenerationConfig(provider="mock", model="mock-image"),
        ImageGenerationRequest(prompt="a cat"),
    )
    speech = generate_tts(
        AudioGenerationConfig(provider="mock", model="mock-tts"), TTSRequest(text="hello there")
    )
    for response in (video, image, speech):
        text = repr(response)
        assert len(text) < 4000, len(text)
        assert len(str(response)) < 4000
    assert "<video/mp4, " in repr(video) and " KB>" in repr(video)
    # bytes, data URIs and base64 are summarised, never inlined
    assert "\\x00" not in repr(video)
    assert speech.audio[:300] not in repr(speech) and "audio=<" in repr(speech)
    saved = video.save(tmp_path / "fox.mp4")
    assert saved.read_bytes()[4:8] == b"ftyp"
    assert image.save(tmp_path / "cat.png").read_bytes()[:4] == b"\x89PNG"
    assert speech.save(tmp_path / "hello.wav").read_bytes()[:4] == b"RIFF"


def test_data_uri_and_rich_repr_are_short() -> None:
    payload = b"\x00" * 300_000
    uri = "data:video/mp4;base64," + base64.b64encode(payload).decode()
    response = VideoGenerationResponse(request_id="tg_x", video=uri, raw_response={"b64": uri})
    text = repr(response)
    assert len(text) < 600 and "<data URI video/mp4, " in text
    args = dict(response.__rich_repr__())  # what rich / notebooks' pretty printers show
    assert len(repr(args["video"])) < 60
    small = VideoGenerationResponse(request_id="tg_y", video="https://cdn.example/v.mp4")
    assert "https://cdn.example/v.mp4" in repr(small)  # URLs are shown whole
