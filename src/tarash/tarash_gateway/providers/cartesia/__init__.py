"""Cartesia provider: Sonic TTS, voice changer (STS) and streaming TTS via the ``cartesia`` SDK.

Importing this package does not import the SDK; the handler loads it on first use.
"""

from tarash.tarash_gateway.providers.cartesia.handler import (
    CartesiaProviderHandler,
    parse_output_format,
    supports_generation_config,
)

__all__ = ["CartesiaProviderHandler", "parse_output_format", "supports_generation_config"]
