"""Azure OpenAI provider: images, Sora 2 and speech on Azure deployments (``openai`` SDK, lazy)."""

from tarash.tarash_gateway.providers.azure_openai.handler import AzureOpenAIProviderHandler

__all__ = ["AzureOpenAIProviderHandler"]
