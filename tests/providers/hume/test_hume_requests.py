"""Hume Octave through the public API with the real ``hume`` SDK: request mapping and responses."""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import pytest

from tarash.tarash_gateway import generate_tts, generate_tts_async
from tarash.tarash_gateway.models import TTSRequest, TTSUpdate
from tarash.tarash_gateway.providers.hume import HumeProviderHandler
from tarash.tarash_gateway.registry import get_handler
from tests.emulators.hume import KORA_ID, HumeEmulator, utterance_seconds
from tests.emulators.sarvam import decoded_seconds

pytestmark = pytest.mark.timeout(30)


async def test_voice_by_name_maps_to_library_voice_and_returns_real_mp3(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    response = await generate_tts_async(
        hume_cfg(),
        TTSRequest(
            text="Hello there, world.",
            voice_id="Kora",
            voice_settings={"description": "warm, upbeat", "speed": 1.25, "trailing_silence": 0.5},
        ),
    )

    sent = hume_emu.last("/v0/tts", "POST")
    assert sent.json == {
        "utterances": [
            {
                "text": "Hello there, world.",
                "description": "warm, upbeat",
                "speed": 1.25,
                "trailing_silence": 0.5,
                "voice": {"name": "Kora", "provider": "HUME_AI"},
            }
        ],
        "format": {"type": "mp3"},
        "version": "2",
    }
    assert sent.header("X-Hume-Api-Key") == "hume-test-key"
    assert sent.header("Content-Type") == "application/json"
    assert (sent.header("User-Agent") or "").startswith("hume/")
    assert hume_emu.count() == 1  # SDK retries off, one call

    expected = utterance_seconds("Hello there, world.", 1.25) + 0.5
    assert response.duration == pytest.approx(expected, abs=1e-3)
    assert response.content_type == "audio/mpeg"
    assert response.sample_rate == 48000
    assert response.output_format == "mp3_48000"
    assert response.provider == "hume" and response.model == "octave-2"
    seconds, rate = decoded_seconds(response.audio_bytes)
    assert rate == 48000
    assert seconds == pytest.approx(expected, abs=0.03)
    raw = response.raw_response
    assert response.provider_request_id == raw["request_id"]
    assert raw["generation_id"].startswith("gen-")
    assert raw["audio_bytes"] == len(response.audio_bytes)
    assert "audio" not in raw["generations"][0]  # no duplicated base64 in the raw payload
    assert raw["generations"][0]["snippets"][0][0]["text"] == "Hello there, world."
    assert response.execution_metadata is not None
    assert response.execution_metadata.total_attempts == 1


@pytest.mark.parametrize(
    ("voice_id", "settings", "voice"),
    [
        (KORA_ID, {}, {"id": KORA_ID, "provider": "HUME_AI"}),  # a UUID is looked up by id
        ("My Narrator", {"voice_provider": "CUSTOM_VOICE"}, None),
        ("My Narrator", {"voice_provider": "custom"}, None),  # 0.1.0 spelled it CUSTOM
        (
            "0f2a3b4c-0000-4000-8000-00000000c0de",
            {"voice_id_mode": "id", "voice_provider": "CUSTOM_VOICE"},
            {"id": "0f2a3b4c-0000-4000-8000-00000000c0de", "provider": "CUSTOM_VOICE"},
        ),
    ],
)
async def test_voice_lookup_modes(
    hume_emu: HumeEmulator,
    hume_cfg: Any,
    voice_id: str,
    settings: dict[str, Any],
    voice: dict[str, str] | None,
) -> None:
    await generate_tts_async(
        hume_cfg(), TTSRequest(text="Voice check.", voice_id=voice_id, voice_settings=settings)
    )
    sent = hume_emu.last("/v0/tts").json["utterances"][0]["voice"]
    assert sent == (voice or {"name": "My Narrator", "provider": "CUSTOM_VOICE"})


async def test_voice_described_in_words_lets_hume_choose_the_model(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    description = "a gravelly old sea captain telling a story by the fire"
    response = await generate_tts_async(
        hume_cfg(model="octave"),
        TTSRequest(text="Gather round, all of you.", extra_params={"description": description}),
    )
    body = hume_emu.last("/v0/tts").json
    assert body == {
        "utterances": [{"text": "Gather round, all of you.", "description": description}],
        "format": {"type": "mp3"},
    }  # no voice, no version: Hume designs the voice and routes the model
    assert response.warnings == []


async def test_several_utterances_with_their_own_acting_speed_and_silence(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    utterances = [
        {"text": "Breathe in.", "description": "calm, slow", "trailing_silence": 1.0},
        {"text": "And breathe out.", "speed": 0.75},
        "Good.",
    ]
    response = await generate_tts_async(
        hume_cfg(model="hume-v1"),
        TTSRequest(
            text="Breathe in. And breathe out. Good.",
            voice_id="Ava Song",
            voice_settings={"trailing_silence": 0.25},
            extra_params={"utterances": utterances, "split_utterances": False},
        ),
    )
    body = hume_emu.last("/v0/tts").json
    assert body["version"] == "1"
    assert body["split_utterances"] is False
    assert body["utterances"] == [
        {
            "text": "Breathe in.",
            "description": "calm, slow",
            "trailing_silence": 1.0,
            "voice": {"name": "Ava Song", "provider": "HUME_AI"},
        },
        {"text": "And breathe out.", "speed": 0.75, "trailing_silence": 0.25},
        {"text": "Good.", "trailing_silence": 0.25},
    ]
    expected = (
        utterance_seconds("Breathe in.") + 1.0
        + utterance_seconds("And breathe out.", 0.75) + 0.25
        + utterance_seconds("Good.") + 0.25
    )  # fmt: skip
    assert response.duration == pytest.approx(expected, abs=1e-3)
    assert len(response.raw_response["generations"][0]["snippets"]) == 3


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("wav", "audio/wav"), ("pcm", "audio/pcm"), ("mp3", "audio/mpeg")]
)
def test_output_formats_sync(
    hume_emu: HumeEmulator, hume_cfg: Any, fmt: str, content_type: str
) -> None:
    response = generate_tts(
        hume_cfg(), TTSRequest(text="Format test.", voice_id="Kora", output_format=fmt)
    )
    assert hume_emu.last("/v0/tts").json["format"] == {"type": fmt}
    assert response.content_type == content_type
    assert response.output_format == f"{fmt}_48000"
    data = response.audio_bytes
    expected = utterance_seconds("Format test.")
    if fmt == "wav":
        with wave.open(io.BytesIO(data)) as wav:
            assert wav.getframerate() == 48000
            assert wav.getnframes() / 48000 == pytest.approx(expected, abs=1e-3)
    elif fmt == "pcm":
        assert len(data) == round(expected * 48000) * 2
    else:
        assert decoded_seconds(data)[0] == pytest.approx(expected, abs=0.03)


async def test_output_format_with_48k_sample_rate_is_accepted(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    response = await generate_tts_async(
        hume_cfg(), TTSRequest(text="Rate.", voice_id="Kora", output_format="wav_48000")
    )
    assert response.sample_rate == 48000
    assert response.warnings == []


async def test_unsupported_sample_rate_can_be_downgraded_to_a_warning(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    response = await generate_tts_async(
        hume_cfg(on_unsupported_param="warn"),
        TTSRequest(
            text="Rate.", voice_id="Kora", output_format="mp3_44100_128", language_code="en-US"
        ),
    )
    assert hume_emu.last("/v0/tts").json == {
        "utterances": [{"text": "Rate.", "voice": {"name": "Kora", "provider": "HUME_AI"}}],
        "format": {"type": "mp3"},
        "version": "2",
    }
    assert len(response.warnings) == 1
    warning = response.warnings[0]
    for field in ("language_code", "output_format.sample_rate", "output_format.bitrate"):
        assert field in warning


async def test_generation_id_continuation(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    first = await generate_tts_async(hume_cfg(), TTSRequest(text="Chapter one.", voice_id="Kora"))
    gid = first.raw_response["generation_id"]
    await generate_tts_async(
        hume_cfg(),
        TTSRequest(
            text="Chapter two.", voice_id="Kora", extra_params={"context_generation_id": gid}
        ),
    )
    assert hume_emu.last("/v0/tts").json["context"] == {"generation_id": gid}


@pytest.mark.parametrize(
    ("context", "sent"),
    [
        (
            {"text": "Previously on the show..."},
            {"utterances": [{"text": "Previously on the show..."}]},
        ),
        ("gen-123", {"generation_id": "gen-123"}),
        (
            {"utterances": [{"text": "Earlier.", "description": "tired"}]},
            {"utterances": [{"text": "Earlier.", "description": "tired"}]},
        ),
    ],
)
async def test_context_shapes(
    hume_emu: HumeEmulator, hume_cfg: Any, context: Any, sent: dict[str, Any]
) -> None:
    await generate_tts_async(
        hume_cfg(),
        TTSRequest(text="Now.", voice_id="Kora", provider_options={"hume": {"context": context}}),
    )
    assert hume_emu.last("/v0/tts").json["context"] == sent


async def test_several_generations_keep_the_extra_audio_in_raw_response(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    response = await generate_tts_async(
        hume_cfg(), TTSRequest(text="Twice.", voice_id="Kora", extra_params={"num_generations": 2})
    )
    assert hume_emu.last("/v0/tts").json["num_generations"] == 2
    generations = response.raw_response["generations"]
    assert len(generations) == 2
    assert "audio" not in generations[0]
    second = base64.b64decode(generations[1]["audio"])
    assert decoded_seconds(second)[0] == pytest.approx(utterance_seconds("Twice."), abs=0.03)
    assert second != response.audio_bytes


async def test_word_timestamps_on_octave_2(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    response = await generate_tts_async(
        hume_cfg(),
        TTSRequest(
            text="Two words.",
            voice_id="Kora",
            extra_params={"include_timestamp_types": ["word"]},
        ),
    )
    assert hume_emu.last("/v0/tts").json["include_timestamp_types"] == ["word"]
    stamps = response.raw_response["generations"][0]["snippets"][0][0]["timestamps"]
    assert [s["text"] for s in stamps] == ["Two", "words."]
    assert stamps[1]["time"] == {"begin": 200, "end": 400}


async def test_unknown_extra_params_are_passed_through(
    hume_emu: HumeEmulator, hume_cfg: Any
) -> None:
    await generate_tts_async(
        hume_cfg(),
        TTSRequest(text="Hi.", voice_id="Kora", extra_params={"future_flag": True}),
    )
    assert hume_emu.last("/v0/tts").json["future_flag"] is True


async def test_api_key_from_environment(
    hume_emu: HumeEmulator, hume_cfg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUME_API_KEY", "hume-test-key")
    await generate_tts_async(hume_cfg(api_key=None), TTSRequest(text="Env.", voice_id="Kora"))
    assert hume_emu.last("/v0/tts").header("X-Hume-Api-Key") == "hume-test-key"


async def test_progress_events(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    updates: list[TTSUpdate] = []
    response = await generate_tts_async(
        hume_cfg(), TTSRequest(text="Progress.", voice_id="Kora"), on_progress=updates.append
    )
    assert [u.status for u in updates] == ["processing", "completed"]
    assert updates[-1].result is not None
    assert updates[-1].result.audio == response.audio
    assert all(u.request_id == response.request_id for u in updates)


async def test_long_acting_instructions_warn(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    response = await generate_tts_async(
        hume_cfg(),
        TTSRequest(text="Hi.", voice_id="Kora", voice_settings={"description": "calm " * 30}),
    )
    assert any("recommends at most 100" in w for w in response.warnings)


async def test_client_is_reused_and_targets_base_url(hume_emu: HumeEmulator, hume_cfg: Any) -> None:
    handler = get_handler("hume")
    assert isinstance(handler, HumeProviderHandler)
    config = hume_cfg()
    first = handler._client(config)
    assert handler._client(config) is first
    assert handler._client(hume_cfg(base_url="http://127.0.0.1:9")) is not first
