"""Runway provider (video and image) on the official ``runwayml`` SDK."""

from tarash.tarash_gateway.providers.runway.handler import RunwayProviderHandler

__all__ = ["RunwayProviderHandler"]
