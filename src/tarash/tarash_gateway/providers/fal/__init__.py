"""fal.ai provider: queue API through the official ``fal-client`` SDK (imported lazily)."""

from tarash.tarash_gateway.providers.fal.handler import FalProviderHandler

__all__ = ["FalProviderHandler"]
