"""A real PostgreSQL for the server tests.

``TARASH_TEST_POSTGRES_URL`` (set by ``.ci/run``, which starts a throw-away cluster) names
a server we may create databases on. Without it, a PostgreSQL found on this machine
(``initdb``/``pg_ctl`` on PATH or under /usr/lib/postgresql/*/bin) is started for the test
session by ``.ci/pg-cluster`` in a temporary directory on 127.0.0.1. With neither, the
PostgreSQL tests are skipped with a message saying so. Each test gets a fresh database.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / ".ci" / "pg-cluster"


def _have_binaries() -> bool:
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return True
    return any(
        os.path.exists(os.path.join(d, "initdb")) for d in glob.glob("/usr/lib/postgresql/*/bin")
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("TARASH_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if not _have_binaries():
        pytest.skip(
            "PostgreSQL tests skipped: TARASH_TEST_POSTGRES_URL is unset and no initdb/pg_ctl "
            "was found (install the distribution's `postgresql` package; .ci/run does)"
        )
    tmp = tempfile.mkdtemp(prefix="tarash-pg-")
    proc = subprocess.run(
        [str(CLUSTER), "start", tmp, str(_free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TARASH_PG_NO_INSTALL": "1"},
    )
    if proc.returncode != 0:
        pytest.fail(f"could not start a local PostgreSQL: {proc.stderr[-2000:]}")
    try:
        yield proc.stdout.strip()
    finally:
        subprocess.run([str(CLUSTER), "stop", tmp], capture_output=True, timeout=60)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test cluster (dropped afterwards)."""
    import psycopg

    name = f"tarash_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
