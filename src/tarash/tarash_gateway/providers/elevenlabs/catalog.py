"""ElevenLabs model catalog (pure data).

Sources (checked 2026-12-04): https://elevenlabs.io/docs/models (model ids, languages,
character limits) and the installed elevenlabs 2.78.0 SDK's format enums:
``TextToSpeechConvertRequestOutputFormat`` (``/v1/text-to-speech/{voice_id}``),
``TextToSpeechStreamRequestOutputFormat`` (``…/stream``: no ``wav_*``) and
``SpeechToSpeechConvertRequestOutputFormat``.
"""

from __future__ import annotations

from tarash.tarash_gateway.catalog import ModelEntry, entry

CHECKED = "2026-12-04"
MODELS_PAGE = "https://elevenlabs.io/docs/models"
SDK = "elevenlabs 2.78.0 TextToSpeech{Convert,Stream}RequestOutputFormat"

MP3 = (
    "mp3_22050_32",
    "mp3_24000_48",
    "mp3_44100_32",
    "mp3_44100_64",
    "mp3_44100_96",
    "mp3_44100_128",
    "mp3_44100_192",
)
PCM = tuple(f"pcm_{r}" for r in (8000, 16000, 22050, 24000, 32000, 44100, 48000))
WAV = tuple(f"wav_{r}" for r in (8000, 16000, 22050, 24000, 32000, 44100, 48000))
OPUS = tuple(f"opus_48000_{b}" for b in (32, 64, 96, 128, 192))
TELEPHONY = ("ulaw_8000", "alaw_8000")

CONVERT_FORMATS = (*MP3, *PCM, *WAV, *TELEPHONY, *OPUS)
"""``TextToSpeechConvertRequestOutputFormat`` (= ``SpeechToSpeechConvertRequestOutputFormat``)."""
STREAM_FORMATS = (*MP3, *PCM, *TELEPHONY, *OPUS)
"""``TextToSpeechStreamRequestOutputFormat``: the stream endpoint takes no ``wav_*``."""

_V3_LANGS = 70
_29 = 29
_32 = 32

# (model, operation, max characters per request, number of languages, lifecycle fields)
_TTS: tuple[tuple[str, int, int], ...] = (
    ("eleven_v3", 5000, _V3_LANGS),
    ("eleven_multilingual_v2", 10000, _29),
    ("eleven_flash_v2_5", 40000, _32),
    ("eleven_turbo_v2_5", 40000, _32),
    ("eleven_flash_v2", 30000, 1),
    ("eleven_turbo_v2", 30000, 1),
)

ENTRIES: tuple[ModelEntry, ...] = (
    *(
        entry(
            "elevenlabs",
            model,
            "tts",
            f"{MODELS_PAGE} ; {SDK}",
            CHECKED,
            constraints={
                "max_text_chars": chars,
                "languages": languages,
                "formats": CONVERT_FORMATS,
                "stream_formats": STREAM_FORMATS,
                "language_code": model in ("eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5"),
            },
        )
        for model, chars, languages in _TTS
    ),
    *(
        entry(
            "elevenlabs",
            model,
            "tts",
            MODELS_PAGE + " (deprecated models)",
            CHECKED,
            lifecycle="deprecated",
            replacement=replacement,
            constraints={"formats": CONVERT_FORMATS, "stream_formats": STREAM_FORMATS},
        )
        for model, replacement in (
            ("eleven_monolingual_v1", "eleven_multilingual_v2"),
            ("eleven_multilingual_v1", "eleven_multilingual_v2"),
        )
    ),
    entry(
        "elevenlabs",
        "eleven_multilingual_sts_v2",
        "sts",
        f"{MODELS_PAGE} ; elevenlabs 2.78.0 SpeechToSpeechConvertRequestOutputFormat",
        CHECKED,
        constraints={"languages": _29, "formats": CONVERT_FORMATS},
    ),
    entry(
        "elevenlabs",
        "eleven_english_sts_v2",
        "sts",
        f"{MODELS_PAGE} ; elevenlabs 2.78.0 SpeechToSpeechConvertRequestOutputFormat",
        CHECKED,
        constraints={"languages": 1, "formats": CONVERT_FORMATS},
    ),
)
