"""xAI Grok Imagine (images, deferred video) through the official ``xai-sdk`` (gRPC)."""

from tarash.tarash_gateway.providers.xai.handler import XAIProviderHandler

__all__ = ["XAIProviderHandler"]
