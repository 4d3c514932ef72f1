"""Hume AI provider: Octave expressive text-to-speech (``hume`` SDK)."""

from tarash.tarash_gateway.providers.hume.handler import HumeProviderHandler

__all__ = ["HumeProviderHandler"]
