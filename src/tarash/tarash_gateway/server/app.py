"""The ASGI application: settings → database (migrated) → workers → routes.

``create_app(settings, master_key)`` builds a FastAPI app whose lifespan starts the
job workers and the webhook deliverer in this process and stops them (releasing
their leases) on shutdown. ``serve()`` runs it under uvicorn.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tarash.tarash_gateway._secrets import register_secret
from tarash.tarash_gateway.server import db as dbm
from tarash.tarash_gateway.server.config import ServerSettings
from tarash.tarash_gateway.server.metrics import Metrics
from tarash.tarash_gateway.server.routes import ApiError, router
from tarash.tarash_gateway.server.storage import StorageError, StoredObjectMissing, make_store
from tarash.tarash_gateway.server.webhooks import Webhooks
from tarash.tarash_gateway.server.webhooks_in import FalKeys
from tarash.tarash_gateway.server.webhooks_in import router as provider_webhooks_router
from tarash.tarash_gateway.server.workers import Engine

__all__ = ["OpenBindError", "create_app", "is_loopback", "serve"]

_log = logging.getLogger("tarash.server")


class OpenBindError(RuntimeError):
    """Asked to listen beyond loopback without ``TARASH_MASTER_KEY``."""


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(settings: ServerSettings, master_key: str | None) -> FastAPI:
    """The gateway app (its workers start with the app's lifespan)."""
    from tarash.tarash_gateway._netpolicy import set_server_mode

    set_server_mode(True)  # the library refuses local-file media inputs in this process
    if master_key:
        register_secret(master_key)  # never in a log line
    if settings.replicate_webhook_secret is not None:
        register_secret(settings.replicate_webhook_secret.get_secret_value())
    db = dbm.Database(settings.db_url())
    results = make_store(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        await asyncio.to_thread(db.migrate)
        url_secret = await asyncio.to_thread(db.meta, "url_secret")
        await results.start()
        metrics = Metrics()
        webhooks = Webhooks(db, url_secret, settings.webhook_max_attempts, settings.webhook_backoff)
        engine = Engine(db, settings, metrics, results, webhooks)
        state = app.state
        state.settings = settings
        state.master_key = master_key
        state.db = db
        state.results = results
        state.metrics = metrics
        state.webhooks = webhooks
        state.engine = engine
        state.url_secret = url_secret
        state.fal_keys = FalKeys(settings.fal_jwks_url)
        await engine.start()
        try:
            yield
        finally:
            await engine.stop()
            await asyncio.to_thread(db.close)

    app = FastAPI(title="tarash gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(router)
    app.include_router(provider_webhooks_router)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StoredObjectMissing)
    async def _missing(_: Request, exc: StoredObjectMissing) -> JSONResponse:
        return ApiError(404, "the result is missing from storage", "not_found").response()

    @app.exception_handler(StorageError)
    async def _storage(_: Request, exc: StorageError) -> JSONResponse:
        return ApiError(502, str(exc), "storage_error").response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", []) if p != "body"]
        param = ".".join(loc) or None
        return ApiError(
            400, f"{param}: {first.get('msg', 'invalid request')}", "invalid_request", param
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return ApiError(
            exc.status_code,
            str(exc.detail),
            "not_found" if exc.status_code == 404 else "http_error",
        ).response()

    @app.middleware("http")
    async def _measure(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        metrics: Metrics | None = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.requests.labels(name, str(response.status_code)).inc()
            metrics.request_seconds.labels(name).observe(time.perf_counter() - started)
        return response

    return app


def serve(settings: ServerSettings, master_key: str | None, log_level: str = "info") -> None:
    """Run the gateway under uvicorn (blocking)."""
    import uvicorn

    if master_key is None and not is_loopback(settings.host):
        raise OpenBindError(
            f"refusing to listen on {settings.host} without TARASH_MASTER_KEY: the server would "
            "be open to the network. Set TARASH_MASTER_KEY or bind 127.0.0.1."
        )
    if settings.storage:  # an unusable bucket is a clear error before anything listens
        import asyncio

        asyncio.run(make_store(settings).start())
    app = create_app(settings, master_key)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
