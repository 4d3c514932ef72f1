"""Shared test setup: loopback only, no SDK retries, fast retry policies."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

# Emulators bind 127.0.0.1; never let a proxy setting route test traffic elsewhere.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)
# The emulators serve media from 127.0.0.1: allow the gateway's own downloads from there
# (everything else private stays blocked; tests/unit/test_media_policy.py checks both).
os.environ["TARASH_ALLOW_PRIVATE_MEDIA_HOSTS"] = "127.0.0.1,localhost"
os.environ.pop("TARASH_SERVER_MODE", None)
# Provider keys from the developer's shell must never leak into tests.
for _var in (
    "FAL_KEY",
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "REPLICATE_API_TOKEN",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "RUNWAYML_API_SECRET",
    "STABILITY_API_KEY",
    "XAI_API_KEY",
    "ELEVENLABS_API_KEY",
    "CARTESIA_API_KEY",
    "HUME_API_KEY",
    "SARVAM_API_KEY",
    "TARASH_GATEWAY_MOCK",
):
    os.environ.pop(_var, None)

from tarash.tarash_gateway import _secrets  # noqa: E402
from tarash.tarash_gateway.models import RetryPolicy  # noqa: E402

FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=0.2)
"""Retry policy for tests: real retries, millisecond backoff, Retry-After capped at 0.2 s."""

NO_RETRY = RetryPolicy(max_retries=0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Live tests talk to real providers: skipped unless TARASH_LIVE_TESTS=1, never in CI."""
    if os.environ.get("TARASH_LIVE_TESTS") == "1" and not os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="live provider test: set TARASH_LIVE_TESTS=1 (never in CI)")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


class _RecordAll(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(self.format(record))
        except Exception:  # a broken third-party record must not fail the scan
            self.texts.append(repr(record.msg))
        context = getattr(record, "tarash_context", None)
        if context is not None:
            self.texts.append(repr(context))


@pytest.fixture(autouse=True)
def _no_secret_in_logs() -> Iterator[None]:
    """Every log record of every test (tarash at DEBUG, everything else at INFO) is scanned
    for every API key registered during the suite; a hit fails the test."""
    handler = _RecordAll()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    tarash_logger = logging.getLogger("tarash")
    root = logging.getLogger()
    old_levels = (tarash_logger.level, root.level)
    tarash_logger.setLevel(logging.DEBUG)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
    root.addHandler(handler)
    tarash_logger.addHandler(handler)
    tarash_logger.propagate = True
    try:
        yield
    finally:
        root.removeHandler(handler)
        tarash_logger.removeHandler(handler)
        tarash_logger.setLevel(old_levels[0])
        root.setLevel(old_levels[1])
    secrets = set(_secrets._known)
    leaked = sorted({s[:4] + "…" for s in secrets for text in handler.texts if s in text})
    assert not leaked, f"API key(s) {leaked} appeared in log output"
