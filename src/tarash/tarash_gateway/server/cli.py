"""``tarash serve`` and ``tarash keys create|list|revoke``."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

__all__ = ["keys_create", "keys_list", "keys_revoke", "serve"]

_MISSING = "tarash serve needs the server extra: pip install 'tarash-gateway[server]'"


def _settings(config: str | None, db: str | None, **overrides: object) -> object:
    try:
        from tarash.tarash_gateway.server.config import ServerConfigError, load_server_settings
    except ImportError:
        typer.echo(_MISSING, err=True)
        raise typer.Exit(2) from None
    try:
        return load_server_settings(config, db=db, **overrides)
    except ServerConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    config: Annotated[
        str | None, typer.Option(help="TOML file with [server] and [models.*].")
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="Database URL (sqlite:///PATH); else $TARASH_DB_URL.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP gateway (OpenAI-compatible media routes, durable jobs)."""
    settings = _settings(config, db, host=host, port=port)
    from tarash.tarash_gateway.server.app import OpenBindError
    from tarash.tarash_gateway.server.app import serve as run
    from tarash.tarash_gateway.server.config import MASTER_KEY_ENV, ServerSettings

    assert isinstance(settings, ServerSettings)
    master = os.environ.get(MASTER_KEY_ENV) or None
    if master is None:
        sys.stderr.write(
            "\n*** WARNING: TARASH_MASTER_KEY is not set: this gateway is OPEN — anyone who can "
            f"reach {settings.host}:{settings.port} can spend your provider keys. Listening on "
            "loopback only. ***\n\n"
        )
    from tarash.tarash_gateway.server.storage import StorageError

    try:
        run(settings, master, log_level=log_level)
    except (OpenBindError, StorageError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _db(config: str | None, db: str | None) -> object:
    settings = _settings(config, db)
    from tarash.tarash_gateway.server import db as dbm
    from tarash.tarash_gateway.server.config import ServerSettings

    assert isinstance(settings, ServerSettings)
    database = dbm.Database(settings.db_url())
    database.migrate()
    return database


def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Allowed model (repeat); none = all.")
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Budget in USD.")] = None,
    config: Annotated[str | None, typer.Option(help="Server TOML file.")] = None,
    db: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Create a virtual key (printed once; only its SHA-256 is stored)."""
    from tarash.tarash_gateway.server import auth
    from tarash.tarash_gateway.server.db import Database

    database = _db(config, db)
    assert isinstance(database, Database)
    try:
        secret, record = database.run_sync(
            lambda c: auth.create_key(c, name, list(model or []), budget)
        )
    finally:
        database.close()
    typer.echo(json.dumps({**record, "key": secret}, indent=2))


def keys_list(
    config: Annotated[str | None, typer.Option(help="Server TOML file.")] = None,
    db: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """List virtual keys (never their secrets)."""
    from tarash.tarash_gateway.server import auth
    from tarash.tarash_gateway.server.db import Database

    database = _db(config, db)
    assert isinstance(database, Database)
    try:
        records = database.run_sync(auth.list_keys)
    finally:
        database.close()
    typer.echo(json.dumps(records, indent=2))


def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")],
    config: Annotated[str | None, typer.Option(help="Server TOML file.")] = None,
    db: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Revoke a virtual key."""
    from tarash.tarash_gateway.server import auth
    from tarash.tarash_gateway.server.db import Database

    database = _db(config, db)
    assert isinstance(database, Database)
    try:
        done = database.run_sync(lambda c: auth.revoke_key(c, key_id))
    finally:
        database.close()
    if not done:
        typer.echo(f"no live key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
