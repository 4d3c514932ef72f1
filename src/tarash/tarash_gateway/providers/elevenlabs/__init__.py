"""ElevenLabs provider: TTS, STS (voice changer) and streaming TTS via the ``elevenlabs`` SDK.

Importing this package does not import the SDK; the handler loads it on first use.
"""

from tarash.tarash_gateway.providers.elevenlabs.handler import (
    ELEVENLABS_OUTPUT_FORMATS,
    ElevenLabsProviderHandler,
    elevenlabs_output_format,
)

__all__ = ["ELEVENLABS_OUTPUT_FORMATS", "ElevenLabsProviderHandler", "elevenlabs_output_format"]
