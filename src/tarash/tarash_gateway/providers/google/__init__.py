"""Google: Veo video, Imagen and Gemini image ("Nano Banana") models via ``google-genai``.

Importing this package imports no SDK; ``google-genai`` is loaded on first use.
"""

from tarash.tarash_gateway.providers.google.handler import GoogleProviderHandler

__all__ = ["GoogleProviderHandler"]
