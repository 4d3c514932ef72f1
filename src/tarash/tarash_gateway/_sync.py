"""The sync API's bridge: one long-lived event loop in a daemon thread.

Blocking calls submit their coroutine to that loop and wait. No event loop is
created per call or per poll, cached async clients are reused across sync
calls, and the sync API works from any thread — including a thread whose own
event loop is running (Jupyter, FastAPI handlers, executor workers), because
it never runs a loop on the caller's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


def portal_loop() -> asyncio.AbstractEventLoop:
    """The background loop (started on first use)."""
    global _loop, _thread
    with _lock:
        if _loop is not None and _thread is not None and _thread.is_alive():
            return _loop
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        thread = threading.Thread(
            target=_run_loop, args=(loop, ready), name="tarash-gateway-sync", daemon=True
        )
        thread.start()
        ready.wait(10)
        _loop, _thread = loop, thread
        return loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the background loop and block until it finishes.

    An interruption while waiting (``KeyboardInterrupt``) cancels the coroutine
    and waits (bounded) for its clean-up, so an accepted job is cancelled upstream.
    """
    loop = portal_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError(
            "the blocking tarash-gateway API was called from inside a progress callback; "
            "use the *_async functions there"
        )
    done = threading.Event()
    box: dict[str, Any] = {}

    async def runner() -> None:
        box["task"] = asyncio.current_task()
        try:
            box["result"] = await coro
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    asyncio.run_coroutine_threadsafe(runner(), loop)
    try:
        done.wait()
    except BaseException:
        task = box.get("task")
        if task is not None:
            loop.call_soon_threadsafe(task.cancel)
        done.wait(15)
        raise
    if "error" in box:
        error: BaseException = box.pop("error")
        raise error
    result: T = box["result"]
    return result
