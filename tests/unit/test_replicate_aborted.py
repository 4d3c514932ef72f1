"""Replicate's documented ``aborted`` status (deadline passed before the prediction
started) is terminal: the attempt fails at once and falls back, instead of polling on
until the timeout (replicate 1.0.7's own parser rejects the status)."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway.exceptions import GenerationFailedError
from tarash.tarash_gateway.models import VideoGenerationConfig
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.replicate.handler import _get_prediction
from tarash.tarash_gateway.registry import get_handler

pytest.importorskip("replicate")

ABORTED = {
    "id": "p-aborted",
    "model": "google/veo-3-fast",
    "version": "v1",
    "status": "aborted",
    "input": {"prompt": "x"},
    "output": None,
    "logs": "",
    "error": None,
    "metrics": None,
    "created_at": "2026-12-04T03:00:00Z",
    "urls": {},
}


class _Response:
    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


class _Client:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.paths: list[str] = []

    async def _async_request(self, method: str, path: str, **_: Any) -> _Response:
        self.paths.append(f"{method} {path}")
        return _Response(self.body)


async def test_an_aborted_prediction_is_a_terminal_failure_that_falls_back() -> None:
    client = _Client(ABORTED)
    prediction = await _get_prediction(client, "p-aborted")  # type: ignore[arg-type]
    assert client.paths == ["GET /v1/predictions/p-aborted"]
    handler = get_handler("replicate")
    config = VideoGenerationConfig(provider="replicate", model="google/veo-3-fast", api_key="r8_x")
    ctx = AttemptContext("tg_1", "video", config, "replicate")
    status = handler._status_of(ctx, prediction)
    assert status.state == "failed"
    assert isinstance(status.error, GenerationFailedError)
    assert "deadline" in str(status.error)
    assert status.error.retryable is True and status.error.retry_same_config is False


async def test_other_statuses_still_go_through_the_sdk_parser() -> None:
    body = {**ABORTED, "status": "processing"}
    prediction = await _get_prediction(_Client(body), "p-aborted")  # type: ignore[arg-type]
    assert prediction.status == "processing"
