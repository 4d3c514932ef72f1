"""``tarash serve``: an HTTP gateway with durable jobs (install the ``[server]`` extra).

Modules, in reading order: :mod:`.config` (settings), :mod:`.db` (schema, migrations),
:mod:`.auth` (keys), :mod:`.workers` (one step per claim), :mod:`.webhooks` (outbox,
signing), :mod:`.metrics`, :mod:`.routes` (HTTP), :mod:`.app` (wiring), :mod:`.cli`.
Nothing here is imported by ``import tarash.tarash_gateway``.
"""
