"""Emulator of Sarvam AI's Bulbul text-to-speech REST API (what ``sarvamai`` 0.1.39 calls).

Wire protocol (``api-subscription-key`` header; errors ``{"error": {"message", "code"}}``,
an invalid key answers **403** ``invalid_api_key_error`` as Sarvam documents):

* ``POST /text-to-speech`` JSON ``{text, language_code, model?, speaker?, pitch?, pace?,
  loudness?, speech_sample_rate?, enable_preprocessing?, output_audio_codec?, temperature?,
  dict_id?, enable_cached_responses?}`` → ``{"request_id", "audios": [<base64>]}``
* ``POST /text-to-speech/stream`` same body (+ ``output_audio_bitrate``) → chunked audio bytes

The service's rules are enforced (so the tests can tell the handler validated first):
text length per model (v2 1,500, v3/v4-flash 2,500, stream 3,500), the eleven language
codes, speakers per model, v2-only pitch/loudness, pace ranges, sample rates, codecs.

Audio is real and tiny: a tone from the mock media generator, encoded with PyAV (the
``av`` test dependency) to MP3/AAC/FLAC/Opus, wrapped as WAV, or raw PCM / G.711.

Run it alone: ``python -m tests.emulators.sarvam --port 8080``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import typing
from typing import Any

from aiohttp import web
from sarvamai.types import TextToSpeechModel

from tarash.tarash_gateway.providers.mock.media import make_pcm
from tests.emulators.harness import Auth, Emulator, recorded, route, run_main, stream_bytes

SARVAM_API_KEY = "sarvam-test-key"

LANGUAGES = {"bn-IN", "en-IN", "gu-IN", "hi-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN"}
LANGUAGES |= {"ta-IN", "te-IN"}
V2_SPEAKERS = {"anushka", "manisha", "vidya", "arya", "abhilash", "karun", "hitesh"}
V3_SPEAKERS = {
    "shubh", "aditya", "ritu", "priya", "neha", "rahul", "pooja", "rohan", "simran", "kavya",
    "amit", "dev", "ishita", "shreya", "ratan", "varun", "manan", "sumit", "roopa", "kabir",
    "aayan", "ashutosh", "advait", "anand", "tanya", "tarun", "sunny", "mani", "gokul",
    "vijay", "shruti", "suhani", "mohit", "kavitha", "rehan", "soham", "rupali",
}  # fmt: skip
MAX_CHARS = {"bulbul:v2": 1500, "bulbul:v3": 2500, "bulbul:v4-flash": 2500}
SDK_MODELS = frozenset(
    v for v in typing.get_args(typing.get_args(TextToSpeechModel)[0]) if isinstance(v, str)
)
"""The installed sarvamai SDK's ``TextToSpeechModel`` literal (the API's Fern definition)."""
STREAM_MAX_CHARS = 3500
RATES = {8000, 16000, 22050, 24000}
HIGH_RATES = RATES | {32000, 44100, 48000}
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "linear16": "audio/pcm",
    "mulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "opus": "audio/ogg",
}
_ERROR_CODES = {
    400: "invalid_request_error",
    403: "invalid_api_key_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "unprocessable_entity_error",
    429: "rate_limit_exceeded_error",
    500: "internal_server_error",
    503: "rate_limit_exceeded_error",
}


# ------------------------------------------------------------------------------ real audio


def wav_wrap(samples: bytes, rate: int, *, format_tag: int = 1, bits: int = 16) -> bytes:
    """A RIFF/WAVE file around mono ``samples`` (PCM by default; 7 = µ-law, 6 = A-law)."""
    block = bits // 8
    fmt = struct.pack("<HHIIHH", format_tag, 1, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(samples)) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _av_encode(pcm: bytes, rate: int, codec: str, container: str) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream: Any = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def encode_speech(pcm: bytes, rate: int, codec: str) -> bytes:
    """Encode mono s16le ``pcm`` at ``rate`` as ``codec`` (Sarvam codec names, plus ``pcm``)."""
    if codec == "wav":
        return wav_wrap(pcm, rate)
    if codec in ("linear16", "pcm"):
        return pcm
    if codec == "mp3":
        return _av_encode(pcm, rate, "libmp3lame", "mp3")
    if codec == "aac":
        return _av_encode(pcm, rate, "aac", "adts")
    if codec == "flac":
        return _av_encode(pcm, rate, "flac", "flac")
    if codec == "opus":
        return _av_encode(pcm, rate, "libopus", "ogg")
    if codec == "mulaw":
        return _av_encode(pcm, rate, "pcm_mulaw", "mulaw")
    if codec == "alaw":
        return _av_encode(pcm, rate, "pcm_alaw", "alaw")
    raise ValueError(f"unknown codec {codec!r}")


def speech_seconds(text: str, pace: float = 1.0) -> float:
    """How long the emulator's "speech" for ``text`` lasts (short, deterministic)."""
    return round(min(1.5, max(0.2, len(text) / 40.0)) / max(pace, 0.3), 3)


def speech_pcm(text: str, rate: int, pace: float = 1.0) -> bytes:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    return make_pcm(speech_seconds(text, pace), sample_rate=rate, seed=seed)


# ------------------------------------------------------------------------------ emulator


class SarvamEmulator(Emulator):
    name = "sarvam"
    api_key = SARVAM_API_KEY
    auth = (Auth.with_header("api-subscription-key"),)

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "code": _ERROR_CODES.get(status, "api_error")}}

    def unauthorized_response(self, request: web.BaseRequest) -> web.StreamResponse:
        return web.json_response(
            {
                "error": {
                    "message": "Invalid API key. Please check your api-subscription-key.",
                    "code": "invalid_api_key_error",
                }
            },
            status=403,
        )

    def _fail(self, message: str, status: int = 400) -> web.Response:
        return self.error_response(status, message)

    def _check(self, body: Any, *, stream: bool) -> tuple[dict[str, Any], web.Response | None]:
        """The service's own validation; returns (body, error response or None)."""
        if not isinstance(body, dict):
            return {}, self._fail("Request body must be a JSON object", 422)
        model = body.get("model") or "bulbul:v3"
        if model not in SDK_MODELS or model not in MAX_CHARS:
            return body, self._fail(f"Invalid model: {model}")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return body, self._fail("text is required", 422)
        limit = STREAM_MAX_CHARS if stream else MAX_CHARS[model]
        if len(text) > limit:
            return body, self._fail(
                f"Text length {len(text)} exceeds the maximum of {limit} characters for {model}"
            )
        if body.get("language_code") not in LANGUAGES:
            return body, self._fail(f"Invalid language_code: {body.get('language_code')}")
        speaker = body.get("speaker")
        if speaker is not None:
            valid = (
                V2_SPEAKERS
                if model == "bulbul:v2"
                else V3_SPEAKERS
                if model == "bulbul:v3"
                else None
            )
            if valid is not None and speaker not in valid:
                return body, self._fail(f"Speaker '{speaker}' is not compatible with {model}")
            if valid is None and speaker.count("_") < 2:
                return body, self._fail(f"Speaker '{speaker}' is not compatible with {model}")
        if model != "bulbul:v2":
            for key in ("pitch", "loudness", "enable_preprocessing"):
                if body.get(key) is not None:
                    return body, self._fail(f"{key} is not supported for {model}")
        pace = body.get("pace", 1.0)
        lo, hi = (0.3, 3.0) if model == "bulbul:v2" else (0.5, 2.0)
        if not isinstance(pace, int | float) or not lo <= pace <= hi:
            return body, self._fail(f"pace must be between {lo} and {hi}", 422)
        rate = body.get("speech_sample_rate") or 22050
        rates = RATES if (stream or model == "bulbul:v2") else HIGH_RATES
        codec = body.get("output_audio_codec") or "wav"
        if codec == "opus":
            rates = {8000, 12000, 16000, 24000, 48000}
            if not stream and model != "bulbul:v2":
                return body, self._fail(f"opus is not supported on /text-to-speech for {model}")
        if rate not in rates:
            return body, self._fail(f"Unsupported speech_sample_rate {rate}")
        if codec not in CONTENT_TYPES:
            return body, self._fail(f"Unsupported output_audio_codec {codec}", 422)
        return body, None

    @route("POST", "/text-to-speech")
    async def tts(self, request: web.Request) -> web.StreamResponse:
        body, error = self._check(recorded(request).json, stream=False)
        if error is not None:
            return error
        rate = body.get("speech_sample_rate") or 22050
        codec = body.get("output_audio_codec") or "wav"
        data = encode_speech(speech_pcm(body["text"], rate, body.get("pace", 1.0)), rate, codec)
        return web.json_response(
            {
                "request_id": self.new_id("20260101_"),
                "audios": [base64.b64encode(data).decode("ascii")],
            }
        )

    @route("POST", "/text-to-speech/stream")
    async def tts_stream(self, request: web.Request) -> web.StreamResponse:
        body, error = self._check(recorded(request).json, stream=True)
        if error is not None:
            return error
        rate = body.get("speech_sample_rate") or 22050
        codec = body.get("output_audio_codec") or "mp3"
        data = encode_speech(speech_pcm(body["text"], rate, body.get("pace", 1.0)), rate, codec)
        size = max(1, len(data) // 4)
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        return await stream_bytes(
            request, chunks, content_type=CONTENT_TYPES[codec], interval=0.005
        )


def decoded_seconds(data: bytes) -> tuple[float, int]:
    """(seconds, sample rate) of ``data`` as decoded by FFmpeg (PyAV): proof the audio plays."""
    import av

    container: Any
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples: int = sum(frame.samples for frame in container.decode(stream))
        rate = int(stream.rate or 0)
    return samples / rate, rate


if __name__ == "__main__":
    run_main(SarvamEmulator)
