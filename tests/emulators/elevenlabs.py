"""Local emulator of the ElevenLabs HTTP API (TTS, streaming TTS, voice changer).

Wire protocol (as the ``elevenlabs`` SDK 2.x speaks it):

* auth: ``xi-api-key: <key>``; a bad key gets 401
  ``{"detail": {"type": "authentication_error", "code": "invalid_api_key", …}}``;
* ``POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128`` JSON
  ``{"text", "model_id", "voice_settings", "language_code", "seed", …}`` → raw audio
  in the requested format (real MP3 / WAV / PCM / G.711 / Ogg Opus bytes) with
  ``Content-Type`` to match and ``request-id`` / ``character-cost`` /
  ``history-item-id`` headers;
* ``POST /v1/text-to-speech/{voice_id}/stream`` — the same audio, chunked
  (``stream_chunks`` pieces, ``chunk_delay`` seconds apart);
* ``POST /v1/voice-changer/{voice_id}`` and the older
  ``/v1/speech-to-speech/{voice_id}`` — multipart file ``audio`` + fields
  ``model_id``, ``voice_settings`` (JSON string), ``seed``… → raw audio;
* errors: the new ``{"detail": {"type", "code", "message", "request_id", "param"}}``
  shape (:meth:`error_body`), the legacy ``{"detail": {"status", "message"}}``
  (:func:`legacy_error`) and FastAPI 422 lists (:func:`validation_error`).

Generation time is simulated: a convert call answers after
``stream_chunks × chunk_delay`` seconds, a stream sends its first chunk after
``chunk_delay`` — what the streaming benchmark compares.

Run alone: ``python -m tests.emulators.elevenlabs --port 8080``.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import math
import typing
import uuid
from array import array
from typing import Any

from aiohttp import web
from elevenlabs.text_to_speech.types import (
    TextToSpeechConvertRequestOutputFormat,
    TextToSpeechStreamRequestOutputFormat,
)

from tarash.tarash_gateway.providers.mock.media import make_pcm, make_wav
from tests.emulators.harness import Auth, ChunkedStreams, Emulator, recorded, route, run_main

ELEVENLABS_API_KEY = "xi-test-key"


def _sdk_formats(alias: Any) -> frozenset[str]:
    return frozenset(
        v
        for arg in typing.get_args(alias)
        for v in (typing.get_args(arg) or (arg,))
        if isinstance(v, str)
    )


# The installed SDK's own enums (the API's Fern definition), not the gateway's table:
OUTPUT_FORMATS = _sdk_formats(TextToSpeechConvertRequestOutputFormat)
"""``/v1/text-to-speech/{voice_id}`` and the voice changer."""
STREAM_FORMATS = _sdk_formats(TextToSpeechStreamRequestOutputFormat)
"""``/v1/text-to-speech/{voice_id}/stream`` (no ``wav_*``)."""
LANGUAGE_MODELS = frozenset({"eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5"})
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "ulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
    "opus": "audio/ogg",
}
PREMADE_VOICES = (("JBFqnCBsd6RMkjVDRZzb", "George"), ("21m00Tcm4TlvDq8ikWAM", "Rachel"))
"""Voices ``GET /v2/voices`` lists (ids as in the ElevenLabs API reference examples)."""

MISSING_VOICE = "voice_missing"
"""A voice id the emulator does not know (404 voice_not_found)."""


# ------------------------------------------------------------------------------- real audio


def _encode(fmt: str, codec: str, pcm: bytes, rate: int, bit_rate: int | None) -> bytes:
    import av  # dev dependency: real encoders (LAME, libopus, G.711) for real audio bytes

    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)  # type: ignore[call-overload]
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@functools.lru_cache(maxsize=128)
def render_audio(
    container: str,
    sample_rate: int,
    *,
    bit_rate: int | None = None,
    encoding: str = "pcm_s16le",
    duration: float = 0.5,
    seed: int = 0,
) -> bytes:
    """Real audio bytes: ``container`` in mp3, wav, pcm/raw, ulaw/mulaw, alaw, opus.

    ``bit_rate`` is in bits/s (mp3, opus); ``encoding`` selects raw/wav sample
    coding (``pcm_s16le``, ``pcm_f32le``, ``pcm_mulaw``, ``pcm_alaw``).
    """
    kind = container.lower()
    if kind == "raw":
        kind = {"pcm_mulaw": "ulaw", "pcm_alaw": "alaw", "pcm_f32le": "f32"}.get(encoding, "pcm")
    if kind == "wav":
        if encoding == "pcm_s16le":
            return make_wav(duration, sample_rate=sample_rate, seed=seed)
        codec = {"pcm_f32le": "pcm_f32le", "pcm_mulaw": "pcm_mulaw", "pcm_alaw": "pcm_alaw"}
        pcm = make_pcm(duration, sample_rate=sample_rate, seed=seed)
        return _encode("wav", codec[encoding], pcm, sample_rate, None)
    pcm = make_pcm(duration, sample_rate=sample_rate, seed=seed)
    if kind == "pcm":
        return pcm
    if kind == "f32":
        samples = array("h", pcm)
        return array("f", (s / 32768.0 for s in samples)).tobytes()
    if kind in ("ulaw", "mulaw"):
        return _encode("mulaw", "pcm_mulaw", pcm, sample_rate, None)
    if kind == "alaw":
        return _encode("alaw", "pcm_alaw", pcm, sample_rate, None)
    if kind == "mp3":
        return _encode("mp3", "libmp3lame", pcm, sample_rate, bit_rate or 128000)
    if kind == "opus":
        return _encode("ogg", "libopus", pcm, 48000, bit_rate or 64000)
    raise ValueError(f"cannot render {container!r}")


def speech_seconds(text: str) -> float:
    """Audio length the emulators produce for ``text`` (60 ms per character, 0.2–3 s)."""
    return round(min(3.0, max(0.2, 0.06 * len(text))), 2)


def split_chunks(data: bytes, count: int) -> list[bytes]:
    """``data`` in ``count`` nearly equal pieces (never empty ones)."""
    count = max(1, min(count, len(data)))
    size = math.ceil(len(data) / count)
    return [data[i : i + size] for i in range(0, len(data), size)]


# ------------------------------------------------------------------------------- error bodies


def legacy_error(status: str, message: str) -> dict[str, Any]:
    """The legacy ElevenLabs error shape ``{"detail": {"status", "message"}}``."""
    return {"detail": {"status": status, "message": message}}


def validation_error(*items: tuple[tuple[str | int, ...], str]) -> dict[str, Any]:
    """A FastAPI 422 body: ``validation_error((("body", "text"), "Field required"))``."""
    return {
        "detail": [
            {"loc": list(loc), "msg": msg, "type": "value_error", "input": None}
            for loc, msg in items
        ]
    }


def new_error(
    kind: str, code: str, message: str, *, param: str | None = None, status: str | None = None
) -> dict[str, Any]:
    """The current ElevenLabs error shape (``status`` repeats ``code`` for old clients)."""
    return {
        "detail": {
            "type": kind,
            "code": code,
            "message": message,
            "status": status or code,
            "request_id": f"req_{uuid.uuid4().hex[:16]}",
            "param": param,
        }
    }


_ERROR_KINDS = {
    400: ("validation_error", "invalid_parameters"),
    401: ("authentication_error", "invalid_api_key"),
    402: ("billing_error", "payment_required"),
    403: ("authorization_error", "missing_permissions"),
    404: ("not_found_error", "not_found"),
    422: ("validation_error", "invalid_parameters"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_server_error"),
    503: ("server_error", "service_unavailable"),
}


class ElevenLabsEmulator(ChunkedStreams, Emulator):
    """ElevenLabs TTS / streaming TTS / voice changer on 127.0.0.1."""

    name = "elevenlabs"
    api_key = ELEVENLABS_API_KEY
    auth = (Auth.with_header("xi-api-key"),)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_reset()

    def on_reset(self) -> None:
        self.reset_streams()
        self.send_cost = True

    # -- error shapes ------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        kind, code = _ERROR_KINDS.get(status, ("server_error", "internal_server_error"))
        return new_error(kind, code, message)

    def unauthorized_response(self, request: web.BaseRequest) -> web.StreamResponse:
        body = new_error("authentication_error", "invalid_api_key", "Invalid API key")
        return web.json_response(body, status=401)

    # -- helpers -----------------------------------------------------------------------
    def _output_format(self, request: web.Request, allowed: frozenset[str] = OUTPUT_FORMATS) -> str:
        fmt = request.query.get("output_format", "mp3_44100_128")
        if fmt not in allowed:
            body = new_error(
                "validation_error",
                "invalid_parameters",
                f"output_format {fmt!r} is not supported",
                param="output_format",
            )
            raise _abort(400, body)
        return fmt

    @staticmethod
    def _check_voice(voice_id: str) -> None:
        if voice_id == MISSING_VOICE:
            body = new_error(
                "not_found_error",
                "voice_not_found",
                f"A voice with voice_id {voice_id} was not found.",
                param="voice_id",
            )
            raise _abort(404, body)

    def _headers(self, fmt: str, text_chars: int, model: str) -> dict[str, str]:
        headers = {
            "Content-Type": CONTENT_TYPES[fmt.split("_")[0]],
            "request-id": f"req_{uuid.uuid4().hex[:20]}",
            "history-item-id": uuid.uuid4().hex[:20],
            "x-character-count": str(text_chars),
        }
        if self.send_cost:
            factor = 0.5 if "flash" in model or "turbo" in model else 1.0
            headers["character-cost"] = str(math.ceil(text_chars * factor))
        return headers

    @staticmethod
    def _audio(fmt: str, duration: float, seed: int) -> bytes:
        parts = fmt.split("_")
        container, rate = parts[0], int(parts[1])
        bit_rate = int(parts[2]) * 1000 if len(parts) > 2 else None
        return render_audio(container, rate, bit_rate=bit_rate, duration=duration, seed=seed)

    def _tts_body(self, request: web.Request) -> tuple[str, dict[str, Any]]:
        rec = recorded(request)
        voice_id = request.match_info["voice_id"]
        if not rec.is_json or not isinstance(rec.json, dict):
            raise _abort(422, validation_error((("body",), "Input should be a valid object")))
        body: dict[str, Any] = rec.json
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise _abort(422, validation_error((("body", "text"), "Field required")))
        settings = body.get("voice_settings")
        if settings is not None:
            if not isinstance(settings, dict):
                raise _abort(
                    422, validation_error((("body", "voice_settings"), "Input should be an object"))
                )
            speed = settings.get("speed")
            if speed is not None and not 0.7 <= float(speed) <= 1.2:
                raise _abort(
                    422,
                    validation_error(
                        (("body", "voice_settings", "speed"), "Input should be 0.7..1.2")
                    ),
                )
        model = str(body.get("model_id") or "eleven_multilingual_v2")
        if body.get("language_code") and model not in LANGUAGE_MODELS:
            raise _abort(
                400,
                new_error(
                    "validation_error",
                    "unsupported_language",
                    f"Model {model} does not support language_code",
                    param="language_code",
                ),
            )
        self._check_voice(voice_id)
        return model, body

    # -- routes ------------------------------------------------------------------------
    @route("GET", "/v2/voices")
    async def voices(self, request: web.Request) -> web.StreamResponse:
        """``GET /v2/voices`` ("Search voices"): ``{voices, has_more, total_count,
        next_page_token}`` with ``voice_id``/``name``/``category`` per voice (elevenlabs SDK
        2.x ``GetVoicesV2Response`` and ``Voice`` types, checked 2026-12-04); premade ids
        from the ElevenLabs API reference examples."""
        size = int(request.query.get("page_size") or 10)
        if not 1 <= size <= 100:
            raise _abort(422, validation_error((("query", "page_size"), "Input should be 1..100")))
        voices = [
            {"voice_id": voice_id, "name": name, "category": "premade"}
            for voice_id, name in PREMADE_VOICES[:size]
        ]
        return web.json_response(
            {
                "voices": voices,
                "has_more": len(PREMADE_VOICES) > size,
                "total_count": len(PREMADE_VOICES),
                "next_page_token": None,
            }
        )

    @route("POST", "/v1/text-to-speech/{voice_id}")
    async def tts(self, request: web.Request) -> web.StreamResponse:
        fmt = self._output_format(request)
        model, body = self._tts_body(request)
        text = body["text"]
        audio = self._audio(fmt, speech_seconds(text), int(body.get("seed") or 0))
        if self.chunk_delay:
            await asyncio.sleep(self.chunk_delay * self.stream_chunks)
        return web.Response(body=audio, headers=self._headers(fmt, len(text), model))

    @route("POST", "/v1/text-to-speech/{voice_id}/stream")
    async def tts_stream(self, request: web.Request) -> web.StreamResponse:
        fmt = self._output_format(request, STREAM_FORMATS)
        model, body = self._tts_body(request)
        text = body["text"]
        audio = self._audio(fmt, speech_seconds(text), int(body.get("seed") or 0))
        chunks = split_chunks(audio, self.stream_chunks)
        return await self.send_chunked(request, chunks, self._headers(fmt, len(text), model))

    @route("POST", "/v1/voice-changer/{voice_id}")
    @route("POST", "/v1/speech-to-speech/{voice_id}")
    async def voice_changer(self, request: web.Request) -> web.StreamResponse:
        fmt = self._output_format(request)
        rec = recorded(request)
        upload = rec.files.get("audio")
        if upload is None or not upload.data:
            raise _abort(422, validation_error((("body", "audio"), "Field required")))
        settings = rec.form.get("voice_settings")
        if settings:
            try:
                parsed = json.loads(settings)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise _abort(
                    400,
                    new_error(
                        "validation_error",
                        "invalid_parameters",
                        "voice_settings must be a JSON object",
                        param="voice_settings",
                    ),
                )
        self._check_voice(request.match_info["voice_id"])
        model = rec.form.get("model_id") or "eleven_english_sts_v2"
        duration = _wav_seconds(upload.data) or 0.5
        audio = self._audio(fmt, duration, int(rec.form.get("seed") or 0))
        if self.chunk_delay:
            await asyncio.sleep(self.chunk_delay * self.stream_chunks)
        headers = self._headers(fmt, math.ceil(duration * 1000 / 60), model)
        return web.Response(body=audio, headers=headers)


def _abort(status: int, body: Any) -> Exception:
    from tests.emulators.harness import Abort

    return Abort(web.json_response(body, status=status))


def _wav_seconds(data: bytes) -> float | None:
    import wave

    try:
        with wave.open(io.BytesIO(data)) as wav:
            return round(wav.getnframes() / float(wav.getframerate()), 3)
    except (wave.Error, EOFError, ValueError):
        return None


if __name__ == "__main__":
    run_main(ElevenLabsEmulator)
