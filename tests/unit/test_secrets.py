"""API keys never appear in logs, reprs or exception texts."""

from __future__ import annotations

import logging
import traceback

import pytest

from tarash.tarash_gateway import (
    HTTPError,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    generate_video_async,
)
from tarash.tarash_gateway._secrets import redact_text, redact_value
from tarash.tarash_gateway.logging import log_info
from tests.conftest import NO_RETRY

KEYS = ["sk-primary-0123456789abcdef", "fal-fallback-key-ABCDEFGH", "r8_nested_token_zzzzzz"]


def _config(kind: str | None) -> VideoGenerationConfig:
    responses = [MockResponse(error=kind)] if kind else None  # type: ignore[arg-type]
    mock = MockConfig(
        enabled=True, responses=responses, polling=MockPollingConfig(delay_between_updates=0.01)
    )
    return VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        api_key=KEYS[0],
        mock=mock,
        retry=NO_RETRY,
        provider_config={"api_token": KEYS[2]},
        fallback_configs=[
            VideoGenerationConfig(
                provider="mock", model="f", api_key=KEYS[1], mock=mock, retry=NO_RETRY
            )
        ],
    )


@pytest.mark.parametrize("kind", [None, "rate_limit", "moderation", "server_error"])
async def test_no_key_in_any_log_record_or_exception(
    kind: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tarash")
    texts: list[str] = []
    try:
        response = await generate_video_async(_config(kind), VideoGenerationRequest(prompt="x"))
        texts.append(response.model_dump_json(exclude={"video", "videos"}))
    except Exception as exc:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        texts.append(repr(getattr(exc, "execution_metadata", None)))
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(getattr(r, "tarash_context", "")) for r in caplog.records]
    texts.append(repr(_config(kind)))
    assert caplog.records, "the scenario must have logged something"
    for key in KEYS:
        assert all(key not in text for text in texts), key


def test_provider_echoing_the_key_is_redacted() -> None:
    VideoGenerationConfig(provider="mock", model="m", api_key="echoed-secret-987654")
    exc = HTTPError("invalid key echoed-secret-987654 for account", "fal", status_code=401)
    assert "echoed-secret-987654" not in str(exc)
    assert "***" in str(exc)


def test_structural_redaction_of_secret_named_keys() -> None:
    value = redact_value(
        {"headers": {"Authorization": "Bearer abcdefgh123", "x": 1}, "max_tokens": 5}
    )
    assert value == {"headers": {"Authorization": "***", "x": 1}, "max_tokens": 5}
    assert redact_text("Authorization: Bearer abc.def.ghi123") == "Authorization: Bearer ***"


def test_log_helper_redacts_context(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tarash")
    log_info("calling", {"api_key": "plain-key-123456", "model": "m"}, "test")
    record = caplog.records[-1]
    assert "plain-key-123456" not in record.getMessage()
    assert record.tarash_context == {"api_key": "***", "model": "m"}  # type: ignore[attr-defined]
    assert record.name == "tarash.tarash_gateway.test"
