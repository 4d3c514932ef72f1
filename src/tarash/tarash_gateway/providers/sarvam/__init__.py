"""Sarvam AI provider: Bulbul text-to-speech for eleven Indian languages (``sarvamai`` SDK)."""

from tarash.tarash_gateway.providers.sarvam.handler import SarvamProviderHandler

__all__ = ["SarvamProviderHandler"]
