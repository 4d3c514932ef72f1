"""The sync API's bridge: one long-lived event loop in a daemon thread.

Blocking calls submit their coroutine to that loop and wait. No event loop is
created per call or per poll, cached async clients are reused across sync
calls, and the sync API works from any thread — including a thread whose own
event loop is running (Jupyter, FastAPI handlers, executor workers), because
it never runs a loop on the caller's thread.

Called on a thread whose event loop is running (an ``async def`` FastAPI
handler, a Jupyter cell), a blocking call still works but stalls that loop for
the whole generation; :class:`BlockingCallInEventLoopWarning` is issued once
per process to say so (use the ``*_async`` functions there).
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["BlockingCallInEventLoopWarning", "portal_loop", "run_sync", "warn_if_loop_running"]


class BlockingCallInEventLoopWarning(RuntimeWarning):
    """A blocking tarash-gateway function was called on a thread whose event loop is running.

    The call works, but that loop (every other request of an async web server, every
    other cell task in Jupyter) is frozen until it returns. Await the ``*_async``
    function instead, or run the blocking call in a worker thread.
    """


_warned = False

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


def warn_if_loop_running(stacklevel: int = 3) -> None:
    """Warn (once per process) when the calling thread has a running event loop."""
    global _warned
    if _warned:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    with _lock:
        if _warned:
            return
        _warned = True
    warnings.warn(
        "a blocking tarash-gateway function was called inside a running event loop; it "
        "blocks that loop until the generation finishes. Await the *_async function instead "
        "(e.g. `await generate_video_async(...)`), or call the blocking one from a worker "
        "thread (`await asyncio.to_thread(generate_video, ...)`).",
        BlockingCallInEventLoopWarning,
        stacklevel=stacklevel,
    )


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
    # run_sync <- generate_video <- the caller: point the warning at the caller's line.
    warn_if_loop_running(stacklevel=4)
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
