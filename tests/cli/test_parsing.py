"""The command line's pure helpers, in process: argument parsing, output names, error mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tarash.tarash_gateway.cli._errors import describe_error
from tarash.tarash_gateway.cli._generate import _image_arg, _parse_params
from tarash.tarash_gateway.cli._results import output_paths
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    OperationNotSupportedError,
    ProviderNotFoundError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import ImageGenerationResponse, VideoGenerationResponse


@pytest.mark.parametrize(
    ("value", "source", "role"),
    [
        ("https://example.com/a.png", "https://example.com/a.png", "reference"),
        ("https://example.com/a.png:style", "https://example.com/a.png", "style"),
        ("https://example.com:8080/b.png", "https://example.com:8080/b.png", "reference"),
        ("https://example.com:8080/b.png:last_frame", "https://example.com:8080/b.png", "last_frame"),
        ("data:image/png;base64,iVBORw0KGgo=:asset", "data:image/png;base64,iVBORw0KGgo=", "asset"),
    ],
)  # fmt: skip
def test_image_argument_role_suffix(value: str, source: str, role: str) -> None:
    assert _image_arg(value) == {"image": source, "type": role}


def test_image_argument_local_file_and_explicit_role(tmp_path: Path) -> None:
    image = tmp_path / "frame:1.png"  # a colon in the name is not a role
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert _image_arg(str(image)) == {"image": image, "type": "reference"}
    assert _image_arg(f"{image}:first_frame") == {"image": image, "type": "first_frame"}
    assert _image_arg(str(image), "last_frame") == {"image": image, "type": "last_frame"}


def test_params_are_json_when_valid_and_scoped_by_provider() -> None:
    extra, scoped = _parse_params(
        ["n=3", "loop=true", "style=anime", 'cfg={"a": [1]}', "empty=", "eq=a=b", "fal.speed=1.5"]
    )
    assert extra == {
        "n": 3,
        "loop": True,
        "style": "anime",
        "cfg": {"a": [1]},
        "empty": "",
        "eq": "a=b",
    }
    assert scoped == {"fal": {"speed": 1.5}}
    assert _parse_params(["not_a_provider.x=1"]) == ({"not_a_provider.x": 1}, {})


def test_output_paths() -> None:
    video = VideoGenerationResponse(request_id="tg_0123456789abcdef", video="https://x/v.mp4")
    assert output_paths("video", video, None) == [Path("tarash-video-01234567.mp4")]
    assert output_paths("video", video, "out/") == [Path("out/tarash-video-01234567.mp4")]
    assert output_paths("video", video, "fox") == [Path("fox.mp4")]
    images = ImageGenerationResponse(
        request_id="tg_fedcba9876543210", images=["a", "b", "c"], content_type="image/jpeg"
    )
    assert output_paths("image", images, "cat.png") == [
        Path("cat-1.png"),
        Path("cat-2.png"),
        Path("cat-3.png"),
    ]
    assert output_paths("image", images, None)[2] == Path("tarash-image-fedcba98-3.jpg")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError("bad"), 2),
        (ProviderNotFoundError("who"), 2),
        (OperationNotSupportedError("no"), 2),
        (AuthenticationError("key"), 3),
        (ContentModerationError("no"), 4),
        (RateLimitError("slow down"), 5),
        (HTTPError("boom", status_code=502), 6),
        (HTTPConnectionError("down"), 7),
        (TimeoutError("late"), 8),
        (GenerationFailedError("failed"), 9),
        (KeyboardInterrupt(), 130),
        (RuntimeError("bug"), 1),
        (PermissionError(13, "Permission denied", "/root/x.mp4"), 1),
    ],
)
def test_every_error_class_has_its_exit_code(error: BaseException, code: int) -> None:
    report = describe_error(error)
    assert report.exit_code == code
    assert "\n" not in report.message and report.message
