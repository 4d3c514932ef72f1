"""Provider answers that a model is gone become ModelUnavailableError and fall back at
once; streaming refuses formats the stream endpoint does not list (emulator-backed)."""

from __future__ import annotations

from tarash.tarash_gateway import generate_tts
from tarash.tarash_gateway.models import TTSRequest
from tests.emulators.cartesia import CartesiaEmulator
from tests.emulators.elevenlabs import ElevenLabsEmulator
from tests.providers.elevenlabs.conftest import ca_config, el_config


def test_a_sunset_cartesia_model_falls_back_without_same_config_retries(
    cartesia: CartesiaEmulator, elevenlabs: ElevenLabsEmulator
) -> None:
    # base_url points at the emulator, so the retired model is sent (with a warning)
    # and the provider's own "model_sunsetted" answer is what the gateway acts on.
    config = ca_config(cartesia, "sonic-english", fallback_configs=[el_config(elevenlabs)])
    before = cartesia.count("/tts/bytes")
    response = generate_tts(config, TTSRequest(text="hello", voice_id="v"))
    assert response.provider == "elevenlabs"
    assert cartesia.count("/tts/bytes") - before == 1  # no same-config retry
    meta = response.execution_metadata
    assert meta is not None
    first = meta.attempts[0]
    assert first.error_type == "ModelUnavailableError"
    assert meta.fallback_triggered
