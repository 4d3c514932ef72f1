"""Azure OpenAI provider: the OpenAI operations on an Azure OpenAI resource.

Wire differences from OpenAI, all handled by the ``openai`` SDK's Azure client:

* images and speech go to the **deployment** routes
  ``{endpoint}/openai/deployments/{deployment}/images/generations|edits`` and
  ``…/audio/speech`` with ``?api-version=`` and the ``api-key`` header (or
  ``Authorization: Bearer <Entra ID token>``) — ``AsyncAzureOpenAI``;
* Sora 2 uses Azure's **v1 API** ``{endpoint}/openai/v1/videos…`` with the
  OpenAI request shapes — plain ``AsyncOpenAI`` with ``base_url`` set.

Configuration:

* endpoint: ``config.base_url`` (``https://<resource>.openai.azure.com``), else
  ``provider_config["azure_endpoint"]``, else ``AZURE_OPENAI_ENDPOINT``;
* deployment: ``provider_config["deployment"]``, else ``config.model``;
* model behind the deployment (for validation): ``provider_config["model_family"]``,
  else guessed from the deployment name;
* credentials: ``api_key`` / ``AZURE_OPENAI_API_KEY``, or an Entra ID token in
  ``provider_config["azure_ad_token"]`` (a secret: redacted everywhere);
* ``api_version`` (deployment routes): ``config.api_version``, default
  :data:`DEFAULT_API_VERSION`; ``provider_config["video_api_version"]`` adds an
  ``api-version`` to the v1 video routes (they need none).

Azure bills by region and agreement, so responses carry no cost estimate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from tarash.tarash_gateway._secrets import register_secret
from tarash.tarash_gateway.exceptions import AuthenticationError, ValidationError
from tarash.tarash_gateway.models import BaseGenerationConfig
from tarash.tarash_gateway.providers.azure_openai.field_mappings import (
    IMAGE_MODELS,
    SPEECH_MODELS,
    VIDEO_MODELS,
    family_from_deployment,
)
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.openai.field_mappings import (
    ImageModelSpec,
    TTSModelSpec,
    VideoModelSpec,
)
from tarash.tarash_gateway.providers.openai.handler import OpenAIProviderHandler, Purpose

__all__ = ["DEFAULT_API_VERSION", "AzureOpenAIProviderHandler", "azure_endpoint"]

DEFAULT_API_VERSION = "2025-04-01-preview"
"""Data-plane API version for the deployment routes (GPT Image, DALL·E 3 and speech)."""

ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"


def azure_endpoint(config: BaseGenerationConfig) -> str | None:
    """The resource endpoint without a trailing ``/openai`` or ``/openai/v1``."""
    raw = (
        config.base_url
        or config.provider_config.get("azure_endpoint")
        or os.environ.get(ENDPOINT_ENV)
    )
    if not raw:
        return None
    endpoint = str(raw).rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        if endpoint.endswith(suffix):
            endpoint = endpoint[: -len(suffix)]
    return endpoint


class AzureOpenAIProviderHandler(OpenAIProviderHandler):
    """Azure OpenAI: GPT Image / DALL·E 3, Sora 2 and speech on your Azure deployments."""

    name: ClassVar[str] = "azure_openai"
    api_key_env: ClassVar[tuple[str, ...]] = ("AZURE_OPENAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("AZURE_OPENAI_ENDPOINT",)  # read by the SDK itself

    image_models: ClassVar[Mapping[str, ImageModelSpec]] = IMAGE_MODELS
    video_models: ClassVar[Mapping[str, VideoModelSpec]] = VIDEO_MODELS
    tts_models: ClassVar[Mapping[str, TTSModelSpec]] = SPEECH_MODELS
    estimates_cost: ClassVar[bool] = False
    video_api: ClassVar[str] = "azure-v1"

    # ------------------------------------------------------------------ routing

    def deployment(self, config: BaseGenerationConfig) -> str:
        """The deployment name requests are routed to."""
        explicit = config.provider_config.get("deployment")
        return str(explicit) if explicit else config.model

    def api_model(self, config: BaseGenerationConfig) -> str:
        return self.deployment(config)

    def model_family(self, config: BaseGenerationConfig) -> str | None:
        explicit = config.provider_config.get("model_family")
        if explicit is not None:
            return family_from_deployment(str(explicit))
        return family_from_deployment(self.deployment(config))

    # ------------------------------------------------------------------ credentials

    @staticmethod
    def _ad_token(config: BaseGenerationConfig) -> str | None:
        token = config.provider_config.get("azure_ad_token")
        if isinstance(token, str) and token:
            register_secret(token)
            return token
        return None

    def _missing_endpoint(self, config: BaseGenerationConfig) -> ValidationError:
        return ValidationError(
            "Azure OpenAI needs the resource endpoint: pass base_url="
            "'https://<resource>.openai.azure.com' or set AZURE_OPENAI_ENDPOINT",
            self.name,
            config.model,
            field="base_url",
        )

    def check_credentials(self, config: BaseGenerationConfig) -> None:
        if azure_endpoint(config) is None:
            raise self._missing_endpoint(config)
        if self._ad_token(config) is None and not self.api_key(config):
            raise AuthenticationError(
                f"no credentials for provider {self.name!r}: pass api_key, set "
                "AZURE_OPENAI_API_KEY, or give an Entra ID token in "
                "provider_config['azure_ad_token']",
                self.name,
                config.model,
                status_code=None,
            )

    # ------------------------------------------------------------------ clients

    def _client(self, ctx: AttemptContext, purpose: Purpose) -> Any:
        config = ctx.config
        endpoint = azure_endpoint(config)
        if endpoint is None:  # prepared configs always have one; a resumed job may not
            raise self._missing_endpoint(config)
        token = self._ad_token(config)
        key = None if token else self.api_key(config)

        if purpose == "videos":

            def video_factory() -> Any:
                from openai import AsyncOpenAI

                version = config.provider_config.get("video_api_version")
                return AsyncOpenAI(
                    api_key=token or key,
                    base_url=f"{endpoint}/openai/v1",
                    max_retries=0,
                    default_headers={"api-key": key} if key else None,
                    default_query={"api-version": str(version)} if version else None,
                )

            return self.client(config, video_factory, kind="azure-v1")

        def deployment_factory() -> Any:
            from openai import AsyncAzureOpenAI

            credentials: dict[str, Any] = {"azure_ad_token": token} if token else {"api_key": key}
            return AsyncAzureOpenAI(
                azure_endpoint=endpoint,
                api_version=config.api_version or DEFAULT_API_VERSION,
                max_retries=0,
                **credentials,
            )

        return self.client(config, deployment_factory, kind="azure-deployments")
