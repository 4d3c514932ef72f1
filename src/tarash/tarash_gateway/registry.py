"""Provider registry: built-in providers by name (imported lazily) and user-registered ones.

Importing the package imports no provider module and no provider SDK; a
built-in handler module and its SDK are imported the first time the provider is
planned (:func:`get_handler`), so a missing SDK is a typed
:class:`~tarash.tarash_gateway.exceptions.ProviderSDKMissingError` before anything
runs. Field-mapping registries are separate modules without SDK imports, so
listing models never needs an extra.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

from tarash.tarash_gateway.exceptions import ProviderNotFoundError, ProviderSDKMissingError
from tarash.tarash_gateway.logging import log_debug
from tarash.tarash_gateway.providers.adapter import adapt_handler
from tarash.tarash_gateway.providers.field_mappers import FieldMapper
from tarash.tarash_gateway.providers.steps import StepHandler

__all__ = [
    "BUILTIN_PROVIDERS",
    "BUILTIN_SDKS",
    "PROVIDER_ALIASES",
    "get_handler",
    "get_provider_field_mapping",
    "list_providers",
    "register_provider",
    "register_provider_field_mapping",
    "resolve_provider_name",
]

_P = "tarash.tarash_gateway.providers"

BUILTIN_PROVIDERS: dict[str, str] = {
    "mock": f"{_P}.mock:MockProviderHandler",
    "fal": f"{_P}.fal:FalProviderHandler",
    "replicate": f"{_P}.replicate:ReplicateProviderHandler",
    "openai": f"{_P}.openai:OpenAIProviderHandler",
    "azure_openai": f"{_P}.azure_openai:AzureOpenAIProviderHandler",
    "google": f"{_P}.google:GoogleProviderHandler",
    "runway": f"{_P}.runway:RunwayProviderHandler",
    "stability": f"{_P}.stability:StabilityProviderHandler",
    "xai": f"{_P}.xai:XAIProviderHandler",
    "elevenlabs": f"{_P}.elevenlabs:ElevenLabsProviderHandler",
    "cartesia": f"{_P}.cartesia:CartesiaProviderHandler",
    "hume": f"{_P}.hume:HumeProviderHandler",
    "sarvam": f"{_P}.sarvam:SarvamProviderHandler",
}
"""Built-in provider name → ``module:HandlerClass`` (imported on first use)."""

BUILTIN_FIELD_MAPPINGS: dict[str, str] = {
    "mock": f"{_P}.mock.field_mappings:MODEL_MAPPINGS",
    "fal": f"{_P}.fal.field_mappings:MODEL_MAPPINGS",
    "replicate": f"{_P}.replicate.field_mappings:MODEL_MAPPINGS",
    "openai": f"{_P}.openai.field_mappings:MODEL_MAPPINGS",
    "azure_openai": f"{_P}.azure_openai.field_mappings:MODEL_MAPPINGS",
    "google": f"{_P}.google.field_mappings:MODEL_MAPPINGS",
    "runway": f"{_P}.runway.field_mappings:MODEL_MAPPINGS",
    "stability": f"{_P}.stability.field_mappings:MODEL_MAPPINGS",
    "xai": f"{_P}.xai.field_mappings:MODEL_MAPPINGS",
}
"""Built-in provider name → ``module:MAPPING`` of its model registry (no SDK imports)."""

BUILTIN_SDKS: dict[str, tuple[str, str, str]] = {
    "fal": ("fal_client", "fal-client", "fal"),
    "replicate": ("replicate", "replicate", "replicate"),
    "openai": ("openai", "openai", "openai"),
    "azure_openai": ("openai", "openai", "azure"),
    "google": ("google.genai", "google-genai", "google"),
    "runway": ("runwayml", "runwayml", "runway"),
    "xai": ("xai_sdk", "xai-sdk", "xai"),
    "elevenlabs": ("elevenlabs", "elevenlabs", "elevenlabs"),
    "cartesia": ("cartesia", "cartesia", "cartesia"),
    "hume": ("hume", "hume", "hume"),
    "sarvam": ("sarvamai", "sarvamai", "sarvam"),
}
"""Built-in provider name → (SDK module, pip package, ``tarash-gateway`` extra), as the
extras of pyproject.toml declare them. ``mock`` and ``stability`` (plain httpx) need none."""

PROVIDER_ALIASES: dict[str, str] = {
    "azure": "azure_openai",
    "azure-openai": "azure_openai",
    "gemini": "google",
    "vertex": "google",
    "vertexai": "google",
    "runwayml": "runway",
    "stabilityai": "stability",
    "stability-ai": "stability",
    "grok": "xai",
    "x-ai": "xai",
    "eleven_labs": "elevenlabs",
    "eleven-labs": "elevenlabs",
    "fal-ai": "fal",
    "fal_ai": "fal",
    "hume_ai": "hume",
    "humeai": "hume",
    "hume-ai": "hume",
    "sarvamai": "sarvam",
    "sarvam_ai": "sarvam",
    "sarvam-ai": "sarvam",
    "azureopenai": "azure_openai",
    "google-genai": "google",
}

_lock = threading.RLock()
_HANDLERS: dict[str, StepHandler] = {}
_FIELD_MAPPER_REGISTRIES: dict[str, dict[str, dict[str, FieldMapper]]] = {}
_LOADED_BUILTIN_MAPPINGS: set[str] = set()


def resolve_provider_name(provider: str) -> str:
    """Canonical provider name (``"Azure"`` → ``"azure_openai"``)."""
    name = provider.strip()
    if name in _HANDLERS or name in BUILTIN_PROVIDERS:
        return name
    lowered = name.lower()
    return PROVIDER_ALIASES.get(lowered, lowered)


def _import(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def _sdk_error(name: str) -> ProviderSDKMissingError:
    _module, package, extra = BUILTIN_SDKS[name]
    return ProviderSDKMissingError(
        f"provider {name!r} needs the {package} package, which is not installed: "
        f"pip install 'tarash-gateway[{extra}]'",
        name,
        package=package,
        extra=extra,
    )


def _missing_sdk(name: str, exc: ModuleNotFoundError) -> ProviderSDKMissingError | None:
    """The typed error when ``exc`` (from importing ``name``'s handler) is its SDK missing."""
    sdk = BUILTIN_SDKS.get(name)
    missing = exc.name or ""
    if sdk is None or not missing:
        return None
    module = sdk[0]
    if module == missing or module.startswith(missing + ".") or missing.startswith(module + "."):
        return _sdk_error(name)
    return None


def _require_sdk(name: str) -> None:
    """Import ``name``'s SDK now (at planning, before anything runs) unless already imported.

    Handlers import their SDK lazily, when they first build a client; without this a
    missing SDK would surface mid-run as a failed generation. Only the first
    :func:`get_handler` of a provider gets here (handlers are cached), and an SDK that
    is already in ``sys.modules`` costs one dictionary lookup.
    """
    sdk = BUILTIN_SDKS.get(name)
    if sdk is None or sdk[0] in sys.modules:
        return
    try:
        importlib.import_module(sdk[0])
    except ModuleNotFoundError as exc:
        raise _sdk_error(name) from exc


def get_handler(provider: str) -> StepHandler:
    """The handler registered for ``provider`` (built-ins are created on first use).

    A registered handler with only ``generate_*`` methods comes back wrapped in a
    :class:`~tarash.tarash_gateway.providers.adapter.ProtocolHandlerAdapter`: the
    orchestrator runs one contract.

    Raises:
        ProviderNotFoundError: no such provider.
        ProviderSDKMissingError: a built-in provider whose SDK is not installed (its
            message carries the ``pip install 'tarash-gateway[extra]'`` line).
    """
    name = resolve_provider_name(provider)
    with _lock:
        handler = _HANDLERS.get(name)
        if handler is not None:
            return handler
        target = BUILTIN_PROVIDERS.get(name)
        if target is None:
            known = ", ".join(sorted(set(BUILTIN_PROVIDERS) | set(_HANDLERS)))
            raise ProviderNotFoundError(
                f"unknown provider {provider!r}; known providers: {known}", provider
            )
        try:
            handler_cls = _import(target)
        except ModuleNotFoundError as exc:
            missing = _missing_sdk(name, exc)
            if missing is not None:
                raise missing from exc
            raise ProviderNotFoundError(
                f"provider {name!r} could not be loaded: {exc}", name
            ) from exc
        _require_sdk(name)
        handler = handler_cls()
        assert isinstance(handler, StepHandler)
        _HANDLERS[name] = handler
        return handler


def register_provider(provider: str, handler: Any) -> None:
    """Register (or replace) the handler used for ``provider``."""
    if not provider or not isinstance(provider, str):
        raise ValueError("provider name must be a non-empty string")
    name = provider.strip()
    step = handler if isinstance(handler, StepHandler) else adapt_handler(name, handler)
    with _lock:
        _HANDLERS[name] = step
    log_debug(
        "Registered provider handler",
        {"provider": provider, "handler": type(handler).__name__},
        "registry",
    )


def list_providers() -> list[str]:
    """Names of every built-in and registered provider."""
    with _lock:
        return sorted(set(BUILTIN_PROVIDERS) | set(_HANDLERS))


def _load_builtin_mappings(name: str) -> None:
    if name in _LOADED_BUILTIN_MAPPINGS:
        return
    _LOADED_BUILTIN_MAPPINGS.add(name)
    target = BUILTIN_FIELD_MAPPINGS.get(name)
    if target is None:
        return
    try:
        builtin: dict[str, dict[str, FieldMapper]] = _import(target)
    except (ModuleNotFoundError, AttributeError):
        return
    current = _FIELD_MAPPER_REGISTRIES.get(name, {})
    # User registrations made before the first lookup take precedence.
    _FIELD_MAPPER_REGISTRIES[name] = {**builtin, **current}


def register_provider_field_mapping(
    provider: str,
    model_mappings: dict[str, dict[str, FieldMapper]],
    *,
    replace: bool = False,
) -> None:
    """Add field mappings for a provider's models (longest segment prefix wins on lookup).

    Entries are merged over the provider's existing registry (built-in or
    earlier registrations), so built-in providers pick them up too; pass
    ``replace=True`` to discard the previous registry.
    """
    name = resolve_provider_name(provider)
    with _lock:
        if replace:
            _LOADED_BUILTIN_MAPPINGS.add(name)
            _FIELD_MAPPER_REGISTRIES[name] = dict(model_mappings)
        else:
            _load_builtin_mappings(name)
            merged = dict(_FIELD_MAPPER_REGISTRIES.get(name, {}))
            merged.update(model_mappings)
            _FIELD_MAPPER_REGISTRIES[name] = merged
    log_debug(
        "Registered field mappings for provider",
        {"provider": name, "num_models": len(model_mappings), "replace": replace},
        "api",
    )


def get_provider_field_mapping(provider: str) -> dict[str, dict[str, FieldMapper]] | None:
    """The field-mapper registry of a provider, or ``None`` if it has none."""
    name = resolve_provider_name(provider)
    with _lock:
        _load_builtin_mappings(name)
        return _FIELD_MAPPER_REGISTRIES.get(name)
