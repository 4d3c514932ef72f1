"""Stability AI (Stable Image Ultra / Core / SD 3.5) over its REST API, with our own httpx code."""

from tarash.tarash_gateway.providers.stability.handler import StabilityProviderHandler

__all__ = ["StabilityProviderHandler"]
