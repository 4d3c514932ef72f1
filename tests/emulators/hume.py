"""Emulator of Hume AI's Octave TTS REST API (what ``hume`` 0.14.1 ``client.tts`` calls).

Wire protocol (``X-Hume-Api-Key`` header):

* ``POST /v0/tts`` JSON ``{utterances: [{text, description?, speed?, trailing_silence?,
  voice?}], context?, format?: {type}, num_generations?, split_utterances?, strip_headers?,
  temperature?, version?, include_timestamp_types?, instant_mode?}`` →
  ``{"request_id", "generations": [{"generation_id", "duration", "encoding": {"format",
  "sample_rate"}, "file_size", "audio": <base64>, "snippets": [[snippet]]}]}``
* ``POST /v0/tts/file`` same body → the audio file (binary)
* ``POST /v0/tts/stream/file`` same body → chunked audio bytes (instant mode on by default,
  which needs a voice, as on the real service)

Errors: a bad key answers **401** with the Apigee body Hume's gateway sends
(``{"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode":
"oauth.v2.InvalidApiKey"}}}``), rate limits **429** with an Apigee quota ``fault``,
schema errors **422** FastAPI ``{"detail": [{"loc", "msg", "type"}]}``, other request
errors **400** ``{"error", "message"}``.

Voices: the library knows a few ``HUME_AI`` voices (``Kora``, ``Ava Song`` and one id)
and one ``CUSTOM_VOICE`` (``My Narrator``); an unknown voice is a 400. Audio is real
(48 kHz tone; MP3 through PyAV, WAV, or raw PCM).

Run it alone: ``python -m tests.emulators.hume --port 8080``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from aiohttp import web

from tarash.tarash_gateway.providers.mock.media import make_pcm
from tests.emulators.harness import Auth, Emulator, recorded, route, run_main, stream_bytes
from tests.emulators.sarvam import encode_speech

HUME_API_KEY = "hume-test-key"
SAMPLE_RATE = 48000
KORA_ID = "5bb7de05-c8fe-426a-8fcc-ba4fc4ce9f9c"
LIBRARY = {("name", "Kora"), ("name", "Ava Song"), ("id", KORA_ID)}
CUSTOM = {("name", "My Narrator"), ("id", "0f2a3b4c-0000-4000-8000-00000000c0de")}
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}


def utterance_seconds(text: str, speed: float | None = None) -> float:
    return round(min(1.2, max(0.2, len(text) / 50.0)) / (speed or 1.0), 3)


class HumeEmulator(Emulator):
    name = "hume"
    api_key = HUME_API_KEY
    auth = (Auth.with_header("X-Hume-Api-Key"),)

    def error_body(self, status: int, message: str) -> Any:
        if status in (401, 403):
            return {
                "fault": {
                    "faultstring": "Invalid ApiKey",
                    "detail": {"errorcode": "oauth.v2.InvalidApiKey"},
                }
            }
        if status == 429:
            return {
                "fault": {
                    "faultstring": "Rate limit quota violation. Quota limit  exceeded.",
                    "detail": {"errorcode": "policies.ratelimit.QuotaViolation"},
                }
            }
        if status == 422:
            return {"detail": [{"loc": ["body"], "msg": message, "type": "value_error"}]}
        return {"error": "Bad Request" if status == 400 else message, "message": message}

    # -- the service's own checks ---------------------------------------------------------
    def _invalid(self, loc: list[Any], msg: str) -> web.Response:
        return web.json_response(
            {"detail": [{"loc": ["body", *loc], "msg": msg, "type": "value_error"}]}, status=422
        )

    def _bad(self, message: str) -> web.Response:
        return web.json_response({"error": "Bad Request", "message": message}, status=400)

    def _check(self, body: Any, *, streaming: bool) -> web.Response | None:
        if not isinstance(body, dict):
            return self._invalid([], "Input should be a valid dictionary")
        utterances = body.get("utterances")
        if not isinstance(utterances, list) or not utterances:
            return self._invalid(["utterances"], "Field required")
        for i, utt in enumerate(utterances):
            if not isinstance(utt, dict) or not isinstance(utt.get("text"), str):
                return self._invalid(["utterances", i, "text"], "Field required")
            if len(utt["text"]) > 5000:
                return self._invalid(["utterances", i, "text"], "String too long")
            speed = utt.get("speed")
            if speed is not None and not 0.5 <= speed <= 2.0:
                return self._invalid(["utterances", i, "speed"], "out of range")
            voice = utt.get("voice")
            if voice is not None:
                key = "id" if "id" in voice else "name"
                known = LIBRARY if voice.get("provider") == "HUME_AI" else CUSTOM
                if (key, voice.get(key)) not in known:
                    return self._bad(f"Voice not found: {voice.get(key)}")
        fmt = (body.get("format") or {"type": "mp3"}).get("type")
        if fmt not in CONTENT_TYPES:
            return self._invalid(["format", "type"], "Input should be 'mp3', 'pcm' or 'wav'")
        has_voice = "voice" in utterances[0]
        if body.get("version") not in (None, "1", "2"):
            return self._invalid(["version"], "Input should be '1' or '2'")
        if body.get("version") == "2" and not has_voice:
            return self._bad("A voice must be specified when version is 2")
        instant = body.get("instant_mode", streaming)
        if instant and not streaming:
            return self._bad("instant_mode is only supported on streaming endpoints")
        if instant and not has_voice:
            return self._bad("instant_mode requires a voice to be specified")
        return None

    # -- synthesis ---------------------------------------------------------------------------
    def _pcm(self, body: dict[str, Any], generation: int) -> list[tuple[str, bytes]]:
        out = []
        for utt in body["utterances"]:
            text = utt["text"]
            seed = int.from_bytes(hashlib.sha256(f"{generation}:{text}".encode()).digest()[:4])
            pcm = make_pcm(
                utterance_seconds(text, utt.get("speed")), sample_rate=SAMPLE_RATE, seed=seed
            )
            silence = float(utt.get("trailing_silence") or 0.0)
            pcm += b"\x00\x00" * round(silence * SAMPLE_RATE)
            out.append((text, pcm))
        return out

    def _generation(self, body: dict[str, Any], index: int, fmt: str) -> dict[str, Any]:
        parts = self._pcm(body, index)
        pcm = b"".join(p for _, p in parts)
        data = encode_speech(pcm, SAMPLE_RATE, fmt)
        gid = self.new_id("gen-")
        stamps = set(body.get("include_timestamp_types") or [])
        snippets = []
        for i, (text, part) in enumerate(parts):
            timestamps = []
            if "word" in stamps:
                begin = 0
                for word in text.split():
                    timestamps.append(
                        {"text": word, "time": {"begin": begin, "end": begin + 200}, "type": "word"}
                    )
                    begin += 200
            snippets.append(
                [
                    {
                        "id": self.new_id("snip-"),
                        "text": text,
                        "generation_id": gid,
                        "utterance_index": i,
                        "transcribed_text": text,
                        "timestamps": timestamps,
                        "audio": base64.b64encode(encode_speech(part, SAMPLE_RATE, fmt)).decode(),
                    }
                ]
            )
        return {
            "generation_id": gid,
            "duration": round(len(pcm) / 2 / SAMPLE_RATE, 6),
            "encoding": {"format": fmt, "sample_rate": SAMPLE_RATE},
            "file_size": len(data),
            "audio": base64.b64encode(data).decode("ascii"),
            "snippets": snippets,
        }

    @route("GET", "/v0/tts/voices")
    async def voices(self, request: web.Request) -> web.StreamResponse:
        """``GET /v0/tts/voices?provider=HUME_AI|CUSTOM_VOICE&page_number&page_size``:
        ``{page_number, page_size, total_pages, voices_page: [{id, name, provider}]}``
        (hume SDK 0.x ``ReturnPagedVoices`` / ``ReturnVoice``, checked 2026-12-04)."""
        provider = request.query.get("provider")
        if provider not in ("HUME_AI", "CUSTOM_VOICE"):
            return web.json_response(
                {"detail": [{"loc": ["query", "provider"], "msg": "Field required",
                             "type": "missing"}]},
                status=422,
            )  # fmt: skip
        voices = (
            [{"id": KORA_ID, "name": "Kora", "provider": "HUME_AI"}]
            if provider == "HUME_AI"
            else [{"id": dict(CUSTOM)["id"], "name": dict(CUSTOM)["name"], "provider": provider}]
        )
        size = int(request.query.get("page_size") or 10)
        return web.json_response(
            {"page_number": 0, "page_size": size, "total_pages": 1, "voices_page": voices}
        )

    @route("POST", "/v0/tts")
    async def tts_json(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json
        error = self._check(body, streaming=False)
        if error is not None:
            return error
        fmt = (body.get("format") or {"type": "mp3"})["type"]
        count = body.get("num_generations") or 1
        return web.json_response(
            {
                "request_id": self.new_id("req-"),
                "generations": [self._generation(body, i, fmt) for i in range(count)],
            }
        )

    @route("POST", "/v0/tts/file")
    async def tts_file(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json
        error = self._check(body, streaming=False)
        if error is not None:
            return error
        fmt = (body.get("format") or {"type": "mp3"})["type"]
        pcm = b"".join(p for _, p in self._pcm(body, 0))
        return web.Response(
            body=encode_speech(pcm, SAMPLE_RATE, fmt), content_type=CONTENT_TYPES[fmt]
        )

    @route("POST", "/v0/tts/stream/file")
    async def tts_stream_file(self, request: web.Request) -> web.StreamResponse:
        body = recorded(request).json
        error = self._check(body, streaming=True)
        if error is not None:
            return error
        fmt = (body.get("format") or {"type": "mp3"})["type"]
        pcm = b"".join(p for _, p in self._pcm(body, 0))
        data = encode_speech(pcm, SAMPLE_RATE, fmt)
        size = max(1, len(data) // 5)
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        return await stream_bytes(request, chunks, content_type=CONTENT_TYPES[fmt], interval=0.005)


if __name__ == "__main__":
    run_main(HumeEmulator)
