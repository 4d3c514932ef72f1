"""A per-submit hint from a host (``tarash serve``) that the provider should call a URL.

The server sets :data:`provider_webhook_url` around one ``submit_job_async`` call;
providers that support completion webhooks (fal: ``fal_webhook`` query parameter;
Replicate: ``webhook`` + ``webhook_events_filter``) read it and ask for one. Unset (the
default, and always for library users) nothing changes. A context variable, so
concurrent submits in one process never see each other's URL.
"""

from __future__ import annotations

import contextvars

__all__ = ["provider_webhook_url"]

provider_webhook_url: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tarash_provider_webhook_url", default=None
)
