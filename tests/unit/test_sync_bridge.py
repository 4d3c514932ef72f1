"""The blocking API: from threads, from a running loop's worker thread, one loop reused."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tarash.tarash_gateway import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    generate_image,
)
from tarash.tarash_gateway._sync import portal_loop, run_sync

CONFIG = ImageGenerationConfig(provider="mock", model="mock-image")


def _one(prompt: str) -> ImageGenerationResponse:
    return generate_image(CONFIG, ImageGenerationRequest(prompt=prompt, size="32x32"))


def test_sync_api_from_many_threads_shares_one_loop() -> None:
    loop = portal_loop()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(_one, [f"p{i}" for i in range(16)]))
    assert len({r.request_id for r in results}) == 16
    assert portal_loop() is loop


async def test_sync_api_from_a_running_loops_worker_thread() -> None:
    loop = asyncio.get_running_loop()
    response = await loop.run_in_executor(None, _one, "from executor")
    assert response.images


@pytest.mark.filterwarnings("ignore::tarash.tarash_gateway._sync.BlockingCallInEventLoopWarning")
async def test_sync_api_called_directly_inside_a_running_loop() -> None:
    # Jupyter / FastAPI style: the caller's thread has a running loop; no asyncio.run inside.
    response = _one("inside loop")
    assert response.images


def test_sync_api_in_plain_thread() -> None:
    box: dict[str, ImageGenerationResponse] = {}
    thread = threading.Thread(target=lambda: box.setdefault("r", _one("thread")))
    thread.start()
    thread.join(30)
    assert box["r"].images


def test_errors_cross_the_bridge_unchanged() -> None:
    async def boom() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        run_sync(boom())


def test_blocking_call_from_the_portal_thread_is_refused() -> None:
    async def nested() -> str:
        try:
            _one("nested")
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "progress callback" in run_sync(nested())


async def test_blocking_call_inside_a_running_loop_warns_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tarash.tarash_gateway import _sync

    monkeypatch.setattr(_sync, "_warned", False)
    with pytest.warns(_sync.BlockingCallInEventLoopWarning, match="blocks that loop") as caught:
        _one("inside loop, first")
    assert len(caught) == 1
    assert caught[0].filename == __file__  # points at the caller, not at the library
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", _sync.BlockingCallInEventLoopWarning)
        _one("inside loop, second")  # once per process: no second warning


def test_blocking_call_without_a_running_loop_does_not_warn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warnings

    from tarash.tarash_gateway import _sync

    monkeypatch.setattr(_sync, "_warned", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", _sync.BlockingCallInEventLoopWarning)
        _one("no loop")
    assert _sync._warned is False


async def test_blocking_call_from_a_worker_thread_of_a_running_loop_does_not_warn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tarash.tarash_gateway import _sync

    monkeypatch.setattr(_sync, "_warned", False)
    await asyncio.to_thread(_one, "worker thread")
    assert _sync._warned is False
