"""Replicate provider (video and image) on the official ``replicate`` SDK."""

from tarash.tarash_gateway.providers.replicate.handler import ReplicateProviderHandler

__all__ = ["ReplicateProviderHandler"]
