"""Built-in providers, one sub-package each (handler + field mappings), imported lazily.

Nothing here imports a provider module; use
:func:`tarash.tarash_gateway.registry.get_handler` or the public ``generate_*``
functions, which load a provider on first use.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    """Every built-in handler class by name (``CartesiaProviderHandler`` …), imported on
    first access so that importing this package still loads no provider SDK."""
    from tarash.tarash_gateway.registry import BUILTIN_PROVIDERS, _import

    for target in BUILTIN_PROVIDERS.values():
        if target.rpartition(":")[2] == name:
            return _import(target)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    from tarash.tarash_gateway.registry import BUILTIN_PROVIDERS

    return sorted(t.rpartition(":")[2] for t in BUILTIN_PROVIDERS.values())
