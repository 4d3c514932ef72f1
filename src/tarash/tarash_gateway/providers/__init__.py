"""Built-in providers, one sub-package each (handler + field mappings), imported lazily.

Nothing here imports a provider module; use
:func:`tarash.tarash_gateway.registry.get_handler` or the public ``generate_*``
functions, which load a provider on first use.
"""
