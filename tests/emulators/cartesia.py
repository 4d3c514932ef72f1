"""Local emulator of the Cartesia HTTP API (TTS bytes, TTS SSE, voice changer).

Wire protocol (as the ``cartesia`` SDK 4.x speaks it):

* auth: ``Authorization: Bearer <key>`` plus a ``cartesia-version`` header
  (missing → 400); errors are JSON ``{"error_code", "title", "message",
  "request_id"}`` (:meth:`error_body`);
* ``POST /tts/bytes`` JSON ``{"model_id", "transcript", "voice": {"id"}|str,
  "output_format": {"container": "mp3"|"wav"|"raw", "encoding"?, "sample_rate",
  "bit_rate"?}, "language"?, "generation_config"?, …}`` → raw audio (real MP3 /
  WAV / PCM s16le or f32le / G.711 bytes), chunked: ``stream_chunks`` pieces
  ``chunk_delay`` seconds apart;
* ``POST /tts/sse`` — same body (raw container only) → ``text/event-stream`` of
  ``{"type": "chunk", "data": <base64>, …}`` events then ``{"type": "done"}``;
* ``POST /voice-changer/bytes`` multipart: file ``clip``, fields ``voice[id]``,
  ``output_format[container]``, ``output_format[encoding]``,
  ``output_format[sample_rate]``, ``output_format[bit_rate]`` → raw audio.

Run alone: ``python -m tests.emulators.cartesia --port 8080``.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

from aiohttp import web

from tests.emulators.elevenlabs import _wav_seconds, render_audio, speech_seconds, split_chunks
from tests.emulators.harness import (
    Abort,
    Auth,
    ChunkedStreams,
    Emulator,
    SSEStream,
    recorded,
    route,
    run_main,
)

CARTESIA_API_KEY = "sk_car_test_key"
SUNSET_MODELS = frozenset(
    {"sonic", "sonic-english", "sonic-multilingual", "sonic-2-2025-03-07", "sonic-turbo-2025-03-07"}
)
"""Stopped serving on 2026-06-01 (https://docs.cartesia.ai/build-with-cartesia/tts-models/
api-changes, checked 2026-12-04)."""
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
BIT_RATES = (32000, 64000, 96000, 128000, 192000)
ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "raw": "application/octet-stream"}
_CODES = {
    400: "invalid_request",
    401: "invalid_api_key",
    402: "insufficient_credits",
    403: "permission_denied",
    404: "not_found",
    422: "invalid_request",
    429: "concurrency_limited",
    500: "internal_error",
    503: "service_unavailable",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def cartesia_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """A Cartesia JSON error body."""
    return {
        "error_code": code or _CODES.get(status, "error"),
        "title": _TITLES.get(status, "Error"),
        "message": message,
        "request_id": uuid.uuid4().hex,
    }


class CartesiaEmulator(ChunkedStreams, Emulator):
    """Cartesia TTS (bytes + SSE) and voice changer on 127.0.0.1."""

    name = "cartesia"
    api_key = CARTESIA_API_KEY
    auth = (Auth.bearer(),)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_reset()

    def on_reset(self) -> None:
        self.reset_streams()

    def error_body(self, status: int, message: str) -> Any:
        return cartesia_error(status, message)

    def _fail(self, status: int, message: str, code: str | None = None) -> Abort:
        return Abort(web.json_response(cartesia_error(status, message, code), status=status))

    # -- validation --------------------------------------------------------------------
    def _version(self, request: web.Request) -> None:
        if not request.headers.get("cartesia-version"):
            raise self._fail(400, "The cartesia-version header is required.", "missing_version")

    def _format(self, fmt: Any) -> dict[str, Any]:
        if not isinstance(fmt, dict):
            raise self._fail(400, "output_format is required")
        container = fmt.get("container")
        if container not in ("mp3", "wav", "raw"):
            raise self._fail(400, f"invalid output_format.container {container!r}")
        try:
            rate = int(fmt.get("sample_rate", 0))
        except (TypeError, ValueError):
            rate = 0
        if rate not in SAMPLE_RATES:
            raise self._fail(400, f"invalid output_format.sample_rate {fmt.get('sample_rate')!r}")
        out: dict[str, Any] = {"container": container, "sample_rate": rate}
        if container == "mp3":
            try:
                bit_rate = int(fmt.get("bit_rate", 0))
            except (TypeError, ValueError):
                bit_rate = 0
            if bit_rate not in BIT_RATES:
                raise self._fail(400, "output_format.bit_rate is required for mp3")
            out["bit_rate"] = bit_rate
        else:
            encoding = fmt.get("encoding")
            if encoding not in ENCODINGS:
                raise self._fail(400, f"invalid output_format.encoding {encoding!r}")
            out["encoding"] = encoding
        return out

    def _tts_body(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        self._version(request)
        rec = recorded(request)
        if not rec.is_json or not isinstance(rec.json, dict):
            raise self._fail(400, "request body must be JSON")
        body: dict[str, Any] = rec.json
        model = body.get("model_id")
        if isinstance(model, str) and model in SUNSET_MODELS:
            # Body as documented on Cartesia's api-changes page (the page gives no status).
            body = {
                "error_code": "model_sunsetted",
                "message": "The requested model has been sunsetted and is no longer available.",
                "title": "Model sunsetted",
            }
            raise Abort(web.json_response(body, status=400))
        if not isinstance(model, str) or not model.startswith("sonic"):
            raise self._fail(400, f"invalid model_id {model!r}", "invalid_model")
        transcript = body.get("transcript")
        if not isinstance(transcript, str) or not transcript:
            raise self._fail(400, "transcript is required")
        voice = body.get("voice")
        voice_id = voice.get("id") if isinstance(voice, dict) else voice
        if not isinstance(voice_id, str) or not voice_id:
            raise self._fail(400, "voice.id is required")
        if voice_id == "voice_missing":
            raise self._fail(404, f"voice {voice_id} not found", "voice_not_found")
        if body.get("language") and body.get("locale"):
            raise self._fail(400, "set language or locale, not both")
        gen = body.get("generation_config")
        if gen is not None:
            speed = gen.get("speed")
            if speed is not None and not 0.6 <= float(speed) <= 1.5:
                raise self._fail(422, "generation_config.speed must be between 0.6 and 1.5")
        return body, self._format(body.get("output_format"))

    @staticmethod
    def _audio(fmt: dict[str, Any], duration: float) -> bytes:
        return render_audio(
            fmt["container"],
            fmt["sample_rate"],
            bit_rate=fmt.get("bit_rate"),
            encoding=fmt.get("encoding", "pcm_s16le"),
            duration=duration,
        )

    async def _send_chunks(
        self, request: web.Request, chunks: list[bytes], content_type: str
    ) -> web.StreamResponse:
        return await self.send_chunked(request, chunks, {"Content-Type": content_type})

    # -- routes ------------------------------------------------------------------------
    @route("GET", "/voices")
    async def voices(self, request: web.Request) -> web.StreamResponse:
        """``GET /voices`` ("List Voices", cursor pagination): ``{"data": [Voice…],
        "has_more"}``; the Voice fields are the cartesia SDK 4.x ``types/voice.py`` ones
        (checked 2026-12-04). The id is the voice of Cartesia's API reference examples."""
        limit = int(request.query.get("limit") or 10)
        if not 1 <= limit <= 100:
            raise web.HTTPUnprocessableEntity(text="limit must be 1..100")
        voice = {
            "id": "a0e99841-438c-4a64-b679-ae501e7d6091",
            "access": "public",
            "created_at": "2024-06-01T00:00:00Z",
            "description": "A deep, rich voice",
            "is_owner": False,
            "language": "en",
            "locales": [],
            "name": "Barbershop Man",
            "tagline": "",
            "visibility": "all",
        }
        return web.json_response({"data": [voice][:limit], "has_more": False})

    @route("POST", "/tts/bytes")
    async def tts_bytes(self, request: web.Request) -> web.StreamResponse:
        body, fmt = self._tts_body(request)
        audio = self._audio(fmt, speech_seconds(body["transcript"]))
        chunks = split_chunks(audio, self.stream_chunks)
        return await self._send_chunks(request, chunks, CONTENT_TYPES[fmt["container"]])

    @route("POST", "/tts/sse")
    async def tts_sse(self, request: web.Request) -> web.StreamResponse:
        body, fmt = self._tts_body(request)
        if fmt["container"] != "raw":
            raise self._fail(400, "SSE output_format.container must be raw")
        audio = self._audio(fmt, speech_seconds(body["transcript"]))
        chunks = split_chunks(audio, self.stream_chunks)
        event: dict[str, Any] = {"path": request.path, "chunks": len(chunks), "sent": 0}
        self.stream_events.append(event)
        stream = await SSEStream.open(request)
        context = body.get("context_id")
        for index, chunk in enumerate(chunks):
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            await stream.send(
                {
                    "type": "chunk",
                    "data": base64.b64encode(chunk).decode("ascii"),
                    "done": False,
                    "status_code": 206,
                    "step_time": 12.5,
                    "context_id": context,
                }
            )
            event["sent"] = index + 1
        await stream.send({"type": "done", "done": True, "status_code": 200, "context_id": context})
        event["completed"] = True
        return await stream.close()

    @route("POST", "/voice-changer/bytes")
    async def voice_changer(self, request: web.Request) -> web.StreamResponse:
        self._version(request)
        rec = recorded(request)
        clip = rec.files.get("clip")
        if clip is None or not clip.data:
            raise self._fail(400, "clip is required")
        voice_id = rec.form.get("voice[id]")
        if not voice_id:
            raise self._fail(400, "voice[id] is required")
        fmt = self._format(
            {
                key: rec.form[f"output_format[{key}]"]
                for key in ("container", "encoding", "sample_rate", "bit_rate")
                if f"output_format[{key}]" in rec.form
            }
        )
        audio = self._audio(fmt, _wav_seconds(clip.data) or 0.5)
        chunks = split_chunks(audio, self.stream_chunks)
        return await self._send_chunks(request, chunks, CONTENT_TYPES[fmt["container"]])


if __name__ == "__main__":
    run_main(CartesiaEmulator)
