"""Pure pieces of the fal provider: admission gate, pools, log cursor, error mapping, URLs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    RateLimitError,
    ValidationError,
)
from tarash.tarash_gateway.providers.fal.errors import http_error, job_error
from tarash.tarash_gateway.providers.fal.handler import _LogCursor, _percent
from tarash.tarash_gateway.providers.fal.session import (
    FalEndpoints,
    FalSettings,
    PriorityGate,
    ShardedPool,
)

pytestmark = pytest.mark.timeout(10)


# --------------------------------------------------------------------------- gate


async def test_gate_admits_capacity_then_queues() -> None:
    gate = PriorityGate(2)
    await gate.acquire(high=False)
    await gate.acquire(high=False)
    assert gate.in_use == 2
    waiter = asyncio.create_task(gate.acquire(high=False))
    await asyncio.sleep(0)
    assert not waiter.done()
    gate.release()
    await asyncio.wait_for(waiter, 1)
    assert gate.in_use == 2


async def test_gate_serves_high_priority_first_and_fifo_within() -> None:
    gate = PriorityGate(1)
    await gate.acquire(high=False)
    order: list[str] = []

    async def take(name: str, high: bool) -> None:
        await gate.acquire(high=high)
        order.append(name)
        gate.release()

    tasks = [
        asyncio.create_task(take("low1", False)),
        asyncio.create_task(take("low2", False)),
        asyncio.create_task(take("high1", True)),
        asyncio.create_task(take("high2", True)),
    ]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert order == ["high1", "high2", "low1", "low2"]
    assert gate.in_use == 0


async def test_new_low_priority_callers_wait_behind_queued_ones() -> None:
    gate = PriorityGate(1)
    await gate.acquire(high=False)
    queued = asyncio.create_task(gate.acquire(high=False))
    await asyncio.sleep(0)
    gate.release()  # hands the slot to `queued`
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(gate.acquire(high=False), 0.05)
    await queued
    assert gate.in_use == 1


async def test_gate_survives_cancelled_waiters() -> None:
    gate = PriorityGate(1)
    await gate.acquire(high=True)
    waiter = asyncio.create_task(gate.acquire(high=True))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.release()
    assert gate.in_use == 0
    # a waiter cancelled right after the slot was handed to it gives the slot back
    await gate.acquire(high=True)
    handed = asyncio.create_task(gate.acquire(high=True))
    await asyncio.sleep(0)
    gate.release()
    handed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert gate.in_use == 0


# --------------------------------------------------------------------------- pools


def test_sharded_pool_fills_shards_and_reuses_the_latest() -> None:
    made: list[int] = []

    def make(size: int) -> Any:
        made.append(size)
        return object()

    pool = ShardedPool(make, shard_size=2, capacity=5)
    slots = [pool.try_acquire() for _ in range(5)]
    assert all(slots) and pool.try_acquire() is None
    assert len(pool.shards) == 3 and made == [2, 2, 2]
    assert [s.active for s in pool.shards] == [2, 2, 1]
    first = slots[0]
    assert first is not None
    pool.release(first)
    again = pool.try_acquire()
    assert again is not None
    assert len(pool.shards) == 3
    for slot in [again, *slots[1:]]:
        assert slot is not None
        pool.release(slot)
    assert pool.active == 0 and all(s.active == 0 for s in pool.shards)


# --------------------------------------------------------------------------- logs


def _log(n: int) -> dict[str, Any]:
    return {"message": f"line {n}", "timestamp": f"2026-01-01T00:00:0{n}"}


def test_log_cursor_handles_cumulative_lists() -> None:
    cursor = _LogCursor()
    assert cursor.advance([_log(1)]) == [_log(1)]
    assert cursor.advance([_log(1), _log(2), _log(3)]) == [_log(2), _log(3)]
    assert cursor.advance([_log(1), _log(2), _log(3)]) == []
    assert cursor.advance([]) == []


def test_log_cursor_handles_incremental_events() -> None:
    cursor = _LogCursor()
    assert cursor.advance([_log(1)]) == [_log(1)]
    assert cursor.advance([_log(2)]) == [_log(2)]
    assert cursor.advance([_log(3), _log(4)]) == [_log(3), _log(4)]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Progress: 40%"], 40),
        (["step", " 45%|████▌     | 12/28 [00:03<00:04]"], 45),
        (["Progress: 10%", "Progress: 62.5%"], 62),
        (["loading weights"], None),
        (["1000%", "done"], None),
    ],
)
def test_percent_from_logs(lines: list[str], expected: int | None) -> None:
    assert _percent(lines) == expected


# --------------------------------------------------------------------------- errors


def _http(status: int, body: Any, headers: dict[str, str] | None = None, et: str | None = None):
    return http_error(
        status, body, headers or {}, error_type=et, provider="fal", model="fal-ai/veo3"
    )


def test_http_error_mapping() -> None:
    err = _http(422, {"detail": [{"loc": ["body", "seed"], "msg": "too big", "type": "x"}]})
    assert isinstance(err, ValidationError) and err.field == "seed" and not err.retryable
    err = _http(422, {"detail": [{"loc": ["body", "prompt"], "type": "content_policy_violation"}]})
    assert isinstance(err, ContentModerationError)
    assert isinstance(_http(401, {"detail": "no"}), AuthenticationError)
    assert isinstance(_http(403, {"detail": "no"}), AuthenticationError)
    err = _http(429, {"detail": "slow down"}, {"Retry-After": "3"})
    assert isinstance(err, RateLimitError) and err.retry_after == 3 and err.retryable
    err = _http(503, {"detail": "x", "error_type": "runner_disconnected"}, et="runner_disconnected")
    assert isinstance(err, HTTPError) and err.retryable and "runner_disconnected" in err.message
    err = _http(504, {"detail": "t"}, {"x-fal-retryable": "false"}, et="request_timeout")
    assert err.retryable is False
    err = _http(400, {"detail": "t"}, {"X-Fal-Retryable": "true"})
    assert isinstance(err, ValidationError) and err.retryable is True
    err = _http(400, {"detail": "x"}, et="runner_server_error")
    assert isinstance(err, HTTPError) and err.retryable


def test_job_error_mapping() -> None:
    mod = job_error(
        "flagged", "content_policy_violation", provider="fal", model="m", request_id="r", raw={}
    )
    assert isinstance(mod, ContentModerationError)
    infra = job_error(
        "gone", "runner_disconnected", provider="fal", model="m", request_id="r", raw={}
    )
    assert isinstance(infra, GenerationFailedError) and infra.retry_same_config
    model = job_error("bad output", None, provider="fal", model="m", request_id="r", raw={})
    assert isinstance(model, GenerationFailedError)
    assert model.retryable and not model.retry_same_config  # next config only


# --------------------------------------------------------------------------- URLs + settings


def test_endpoints_follow_the_owner_alias_rule() -> None:
    ends = FalEndpoints.resolve("http://proxy.test/fal/", FalSettings())
    assert ends.submit_url("fal-ai/kling-video/v2/master/text-to-video") == (
        "http://proxy.test/fal/fal-ai/kling-video/v2/master/text-to-video"
    )
    assert ends.request_url("fal-ai/kling-video/v2/master/text-to-video", "r1") == (
        "http://proxy.test/fal/fal-ai/kling-video/requests/r1"
    )
    assert ends.request_url("workflows/me/flow/run", "r2") == (
        "http://proxy.test/fal/workflows/me/flow/requests/r2"
    )


def test_default_endpoints_come_from_the_sdk() -> None:
    from fal_client import client as fal_sdk

    ends = FalEndpoints.resolve(None, FalSettings(cdn_url="https://cdn.test"))
    assert ends.queue == fal_sdk.QUEUE_URL_FORMAT.rstrip("/")
    assert ends.rest == fal_sdk.REST_URL
    assert ends.cdn == "https://cdn.test"
    assert httpx.URL(ends.queue).host == "queue.fal.run"


def test_settings_parse_and_reject() -> None:
    settings = FalSettings.from_provider_config(
        {"max_concurrency": 8, "max_streams": 0, "priority": "low", "start_timeout": 30}
    )
    assert (settings.max_concurrency, settings.max_streams, settings.priority) == (8, 0, "low")
    assert settings.start_timeout == 30.0
    for bad in ({"max_concurrency": True}, {"stream_idle_timeout": -1}, {"x": 1}):
        with pytest.raises(ValueError):
            FalSettings.from_provider_config(bad)
