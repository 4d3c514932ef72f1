"""Offline mock provider: real PNG/WAV/MP4 bytes, simulated polled jobs, scripted failures."""

from tarash.tarash_gateway.providers.mock.handler import MockProviderHandler

__all__ = ["MockProviderHandler"]
