"""OpenAI model catalog (pure data; see :mod:`tarash.tarash_gateway.catalog`).

Sources, checked 2026-12-04 against the installed ``openai`` 3.60.0:

* ``openai.types.ImageModel`` (model ids) and the ``model`` docstring of
  ``openai.types.image_generate_params``: "gpt-image-1 was shut down on October 23,
  2026. Use gpt-image-2.5-sunburst or gpt-image-2.5-flare instead"; "dall-e-2",
  "dall-e-3": "This model was retired on May 12, 2026. Use a GPT image model instead."
* ``openai.types.VideoModel`` / ``VideoSeconds`` / ``VideoSize`` and the notice on every
  ``openai.resources.videos`` method: "The Sora API is scheduled to permanently shut
  down on September 24, 2026."
* ``openai.types.audio.SpeechModel`` and ``speech_create_params`` (formats, voices).
* https://platform.openai.com/docs/deprecations (2026-04-22 entry):
  ``gpt-4o-mini-tts-2025-03-20`` shut down 2026-07-23, replacement ``gpt-realtime``.
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry

CHECKED = "2026-12-04"
_IMAGE_SRC = "openai 3.60.0 openai.types.ImageModel + image_generate_params docstrings"
_VIDEO_SRC = "openai 3.60.0 openai.types.VideoModel/VideoSeconds/VideoSize + videos notice"
_TTS_SRC = "openai 3.60.0 openai.types.audio.SpeechModel + speech_create_params"
_DEPRECATIONS = "https://platform.openai.com/docs/deprecations"

SORA_SHUTDOWN = "2026-09-24"
SORA_NOTICE = "The Sora API is scheduled to permanently shut down on September 24, 2026."

IMAGE_PARAMS = frozenset(
    {
        # openai.types.image_generate_params / image_edit_params keys that are not
        # request fields of the gateway (prompt, n, size, quality, style, image, mask).
        "background",
        "complexity",
        "frame_count",
        "frame_duration_ms",
        "input_fidelity",
        "markup",
        "moderation",
        "output_compression",
        "output_format",
        "partial_images",
        "response_format",
        "safety_identifier",
        "size",
        "quality",
        "n",
        "style",
        "stream",
        "svg",
        "user",
        "effort",
    }
)
"""Provider-only image parameters (keys of the SDK's ImageGenerateParams/ImageEditParams)."""

IMAGE_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
IMAGE_FORMATS = ("png", "webp", "jpeg", "gif", "svg")
_GPT_IMAGE = {"max_text_chars": 32000, "n": (1, 10), "sizes": IMAGE_SIZES, "formats": IMAGE_FORMATS}
_QUALITIES = ("low", "medium", "high", "auto")
_QUALITIES_25 = ("low", "medium", "high", "xhigh", "max", "auto")

VIDEO_SECONDS = ("4", "8", "12")
"""``openai.types.VideoSeconds``."""
VIDEO_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
"""``openai.types.VideoSize``."""

TTS_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
TTS_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
    "fable",
    "onyx",
    "nova",
)


def _image(model: str, qualities: tuple[str, ...] = _QUALITIES, **fields: object) -> ModelEntry:
    return entry(
        "openai",
        model,
        "image",
        _IMAGE_SRC,
        CHECKED,
        constraints={**_GPT_IMAGE, "qualities": qualities},
        params=IMAGE_PARAMS,
        **fields,
    )


def _sora(model: str) -> ModelEntry:
    return entry(
        "openai",
        model,
        "video",
        _VIDEO_SRC,
        CHECKED,
        lifecycle="deprecated",
        shutdown=SORA_SHUTDOWN,
        notice=SORA_NOTICE,
        constraints={"seconds": VIDEO_SECONDS, "sizes": VIDEO_SIZES, "max_text_chars": 32000},
        params=frozenset({"size", "seconds", "remix_video_id"}),
    )


ENTRIES: tuple[ModelEntry, ...] = (
    _image("gpt-image-2"),
    _image("gpt-image-2-2026-04-21"),
    _image("gpt-image-2.5-sunburst", _QUALITIES_25),
    _image("gpt-image-2.5-sunburst-2026-09-08", _QUALITIES_25),
    _image("gpt-image-2.5-flare", _QUALITIES_25),
    _image("gpt-image-2.5-flare-2026-09-08", _QUALITIES_25),
    _image("gpt-image-2.6-sunburst"),
    _image("gpt-image-2.6-flare"),
    _image("gpt-image-1.5"),
    _image("gpt-image-1-mini"),
    _image("chatgpt-image-latest"),
    _image(
        "gpt-image-1",
        lifecycle="retired",
        shutdown="2026-10-23",
        replacement="gpt-image-2.5-sunburst",
        notice="GPT Image 1 was shut down on October 23, 2026. Use gpt-image-2.5-sunburst "
        "or gpt-image-2.5-flare instead.",
    ),
    _image(
        "dall-e-3",
        lifecycle="retired",
        shutdown="2026-05-12",
        replacement="gpt-image-2",
        notice="This model was retired on May 12, 2026. Use a GPT image model instead.",
    ),
    _image(
        "dall-e-2",
        lifecycle="retired",
        shutdown="2026-05-12",
        replacement="gpt-image-2",
        notice="This model was retired on May 12, 2026. Use a GPT image model instead.",
    ),
    _sora("sora-2"),
    _sora("sora-2-pro"),
    _sora("sora-2-2025-10-06"),
    _sora("sora-2-pro-2025-10-06"),
    _sora("sora-2-2025-12-08"),
    *(
        entry(
            "openai",
            model,
            "tts",
            _TTS_SRC,
            CHECKED,
            constraints={
                "formats": TTS_FORMATS,
                "voices": TTS_VOICES,
                "max_text_chars": 4096,
                "speed": (0.25, 4.0),
                "sample_rate": 24000,
            },
            params=frozenset({"instructions", "speed", "response_format", "stream_format"}),
        )
        for model in ("gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15", "tts-1", "tts-1-hd")
    ),
    entry(
        "openai",
        "gpt-4o-mini-tts-2025-03-20",
        "tts",
        _DEPRECATIONS + " (2026-04-22: legacy GPT model snapshots)",
        CHECKED,
        lifecycle="retired",
        shutdown="2026-07-23",
        replacement="gpt-4o-mini-tts",
    ),
)
