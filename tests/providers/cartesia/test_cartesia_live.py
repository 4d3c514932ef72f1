"""Live Cartesia tests (the design doc's three E2E tests): real API, real money.

Skipped unless ``TARASH_LIVE_TESTS=1`` (never in CI). ``tests/conftest.py`` strips
``CARTESIA_API_KEY`` from the environment so that no developer key leaks into
offline tests; give the key for these tests as ``TARASH_LIVE_CARTESIA_API_KEY``
(``CARTESIA_LIVE_VOICE_ID`` picks another voice). Run::

    TARASH_LIVE_TESTS=1 TARASH_LIVE_CARTESIA_API_KEY=sk_car_... \\
        .venv/bin/pytest tests/providers/cartesia/test_cartesia_live.py
"""

from __future__ import annotations

import os

import pytest

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    STSRequest,
    TTSRequest,
    generate_sts_async,
    generate_tts,
    generate_tts_async,
)
from tarash.tarash_gateway.models import MediaContent

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

VOICE = os.environ.get("CARTESIA_LIVE_VOICE_ID", "a0e99841-438c-4a64-b679-ae501e7d6091")


@pytest.fixture
def api_key() -> str:
    key = os.environ.get("TARASH_LIVE_CARTESIA_API_KEY")
    if not key:
        pytest.skip("set TARASH_LIVE_CARTESIA_API_KEY to run live Cartesia tests")
    return key


def _config(api_key: str, model: str) -> AudioGenerationConfig:
    return AudioGenerationConfig(provider="cartesia", model=model, api_key=api_key, timeout=60)


async def test_tts_async_sonic3_with_generation_config(api_key: str) -> None:
    request = TTSRequest(
        text="Hello from the Tarash gateway live test.",
        voice_id=VOICE,
        language_code="en",
        output_format="mp3_44100_128",
        extra_params={"generation_config": {"emotion": "excited", "speed": 1.1, "volume": 1.2}},
    )
    response = await generate_tts_async(_config(api_key, "sonic-3"), request)
    assert response.provider == "cartesia"
    assert response.content_type == "audio/mpeg"
    assert response.audio_bytes[:3] == b"ID3" or response.audio_bytes[0] == 0xFF
    assert response.duration is not None and response.duration > 0.5


def test_tts_sync_sonic_turbo(api_key: str) -> None:
    response = generate_tts(
        _config(api_key, "sonic-turbo"),
        TTSRequest(text="Quick check.", voice_id=VOICE, output_format="wav_44100"),
    )
    assert response.content_type == "audio/wav"
    assert response.audio_bytes[:4] == b"RIFF"
    assert response.sample_rate == 44100
    assert response.duration is not None and response.duration > 0.2


async def test_sts_async_voice_changer(api_key: str) -> None:
    tts = await generate_tts_async(
        _config(api_key, "sonic-3"),
        TTSRequest(
            text="This sentence goes through the voice changer.",
            voice_id=VOICE,
            output_format="wav_16000",
        ),
    )
    sts = await generate_sts_async(
        _config(api_key, "sonic-3"),
        STSRequest(
            audio=MediaContent(content=tts.audio_bytes, content_type="audio/wav"),
            voice_id=VOICE,
            output_format="wav_16000",
        ),
    )
    assert sts.content_type == "audio/wav"
    assert sts.duration is not None
    assert tts.duration is not None
    assert abs(sts.duration - tts.duration) < 1.0
