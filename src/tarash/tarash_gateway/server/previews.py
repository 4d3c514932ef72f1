"""Preview images of a video result: ``GET /v1/videos/{id}/content?variant=…``.

The variants and their types follow OpenAI's Videos API: the installed ``openai`` SDK's
``types/video_download_content_params.py`` (``variant: Literal["video", "thumbnail",
"spritesheet"]``, "Defaults to the MP4 video"; checked 2026-12-04), and OpenAI's video
guide's download variants: video (MP4), thumbnail (WebP), spritesheet (JPEG).

No provider the library drives hands back a thumbnail or a spritesheet of its own, so
both are made here from the video itself: decoded with PyAV (``tarash-gateway[previews]``,
imported lazily) and encoded with the encoders bundled in its FFmpeg (libwebp, mjpeg).
Without PyAV the variants are not available (the route answers 404 saying why).
"""

from __future__ import annotations

import importlib.util
import io
from fractions import Fraction
from typing import Any

__all__ = [
    "SPRITE_COLUMNS",
    "SPRITE_FRAMES",
    "SPRITE_TILE_WIDTH",
    "VARIANTS",
    "PreviewError",
    "have_decoder",
    "make_preview",
]

VARIANTS: dict[str, tuple[str, str] | None] = {
    "video": None,
    "thumbnail": ("image/webp", "thumbnail.webp"),
    "spritesheet": ("image/jpeg", "spritesheet.jpg"),
}
"""variant → (content type, stored name); ``video`` is the result itself."""

SPRITE_FRAMES = 16
"""Frames in a spritesheet (evenly spaced over the video; fewer when it has fewer)."""
SPRITE_COLUMNS = 4
SPRITE_TILE_WIDTH = 256
"""Width of one tile in pixels (height keeps the video's aspect ratio)."""


class PreviewError(Exception):
    """The video could not be decoded into a preview (not a video, no decoder…)."""


def have_decoder() -> bool:
    """Whether PyAV (``tarash-gateway[previews]``) is installed and imports."""
    if importlib.util.find_spec("av") is None:
        return False
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def make_preview(video: bytes, variant: str) -> bytes:
    """The ``thumbnail`` (WebP of the first frame, full size) or the ``spritesheet``
    (JPEG grid of :data:`SPRITE_FRAMES` frames) of ``video``."""
    if variant not in ("thumbnail", "spritesheet"):
        raise ValueError(f"not a preview variant: {variant!r}")
    if not have_decoder():
        raise PreviewError("no video decoder: install tarash-gateway[previews] (PyAV)")
    import av

    wanted = 1 if variant == "thumbnail" else SPRITE_FRAMES
    try:
        frames = _frames(av, video, wanted)
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise PreviewError(f"cannot decode the video: {exc}") from None
    if not frames:
        raise PreviewError("the video has no frames")
    if variant == "thumbnail":
        return _encode(av, frames[0], "libwebp", "yuv420p", {"quality": "85"})
    return _encode(av, _grid(av, frames), "mjpeg", "yuvj420p", {"qscale": "3"})


def _frames(av: Any, video: bytes, wanted: int) -> list[Any]:
    """``wanted`` frames evenly spaced over the video (decoded in one pass, bounded)."""
    with av.open(io.BytesIO(video), mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        total = int(stream.frames or 0)
        if total <= 0:  # unknown count: estimate from the duration and the rate
            rate = float(stream.average_rate or 24)
            seconds = float((stream.duration or 0) * (stream.time_base or 0)) or 10.0
            total = max(1, int(seconds * rate))
        picks = sorted({round(i * (total - 1) / max(1, wanted - 1)) for i in range(wanted)})
        if wanted == 1:
            picks = [0]
        out: list[Any] = []
        for index, frame in enumerate(container.decode(stream)):
            if index in picks:
                out.append(frame)
                if len(out) == len(picks):
                    break
            if index > 100_000:  # bounded: a corrupt count cannot make this run forever
                break
        return out


def _grid(av: Any, frames: list[Any]) -> Any:
    """Tiles of ``frames`` (row-major, :data:`SPRITE_COLUMNS` per row) as one RGB frame."""
    first = frames[0]
    tile_w = min(SPRITE_TILE_WIDTH, first.width) // 2 * 2
    tile_h = max(2, round(first.height * tile_w / first.width) // 2 * 2)
    cols = min(SPRITE_COLUMNS, len(frames))
    rows = -(-len(frames) // cols)
    width, height = cols * tile_w, rows * tile_h
    out = av.VideoFrame(width, height, "rgb24")
    stride = out.planes[0].line_size
    canvas = bytearray(stride * height)
    for n, frame in enumerate(frames):
        tile = frame.reformat(width=tile_w, height=tile_h, format="rgb24")
        plane = tile.planes[0]
        data = bytes(plane)
        x0, y0 = (n % cols) * tile_w, (n // cols) * tile_h
        for y in range(tile_h):
            src = y * plane.line_size
            dst = (y0 + y) * stride + x0 * 3
            canvas[dst : dst + tile_w * 3] = data[src : src + tile_w * 3]
    out.planes[0].update(bytes(canvas))
    return out


def _encode(av: Any, frame: Any, codec: str, pix_fmt: str, options: dict[str, str]) -> bytes:
    ctx = av.CodecContext.create(codec, "w")
    ctx.width = frame.width // 2 * 2
    ctx.height = frame.height // 2 * 2
    ctx.pix_fmt = pix_fmt
    ctx.time_base = Fraction(1, 1)
    ctx.options = options
    image = frame.reformat(width=ctx.width, height=ctx.height, format=pix_fmt)
    image.pts = 0
    packets = [*ctx.encode(image), *ctx.encode(None)]
    data = b"".join(bytes(p) for p in packets)
    if not data:
        raise PreviewError(f"the {codec} encoder produced nothing")
    return data
