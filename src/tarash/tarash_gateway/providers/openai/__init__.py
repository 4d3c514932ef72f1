"""OpenAI provider: GPT Image / DALL·E images, Sora 2 video and speech (``openai`` SDK, lazy)."""

from tarash.tarash_gateway.providers.openai.handler import OpenAIProviderHandler

__all__ = ["OpenAIProviderHandler"]
