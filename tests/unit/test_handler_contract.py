"""One handler contract, one attempt engine, typed responses and the 0.1.0 drop-in names.

Everything here goes through the public API (``generate_*``, ``stream_tts``,
``register_provider``), with custom handlers written exactly as the specification
shows them (only ``generate_*`` methods).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pydantic
import pytest

from tarash.tarash_gateway import (
    GenerationFailedError,
    OperationNotSupportedError,
    TarashTimeoutError,
    generate_video,
    generate_video_async,
    register_provider,
    stream_tts,
)
from tarash.tarash_gateway import exceptions as exc_module
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    MockConfig,
    MockResponse,
    RetryPolicy,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.registry import get_handler

FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.02, jitter=False)
REQ = VideoGenerationRequest(prompt="a fox")


def mock_video(**kw: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="mock", model="mock-video", retry=FAST, timeout=5, poll_interval=0.05, **kw
    )


class Recorder:
    """A spec-style handler: records which method ran on which thread."""

    def __init__(self, *, sync: bool = True, async_: bool = True) -> None:
        self.calls: list[tuple[str, str]] = []
        if not sync:
            self.generate_video = None  # type: ignore[assignment]
        if not async_:
            self.generate_video_async = None  # type: ignore[assignment]

    def generate_video(
        self, config: Any, request: Any, on_progress: Any = None
    ) -> VideoGenerationResponse:
        self.calls.append(("sync", threading.current_thread().name))
        if on_progress is not None:
            on_progress(
                VideoGenerationUpdate(request_id="x", status="processing", progress_percent=40)
            )
        return VideoGenerationResponse(request_id="their-sync-id", video="https://x/v.mp4")

    async def generate_video_async(
        self, config: Any, request: Any, on_progress: Any = None
    ) -> VideoGenerationResponse:
        self.calls.append(("async", threading.current_thread().name))
        if on_progress is not None:
            await on_progress(
                VideoGenerationUpdate(request_id="x", status="processing", progress_percent=60)
            )
        return VideoGenerationResponse(request_id="their-async-id", video="https://x/v.mp4")


def custom(name: str, handler: Any, **kw: Any) -> VideoGenerationConfig:
    register_provider(name, handler)
    return VideoGenerationConfig(provider=name, model="m", api_key="k-123456", retry=FAST, **kw)


# ---------------------------------------------------------------------------- the adapter


def test_blocking_api_calls_the_blocking_method_off_the_loop() -> None:
    handler = Recorder()
    updates: list[Any] = []
    response = generate_video(custom("rec-sync", handler), REQ, on_progress=updates.append)
    assert [kind for kind, _ in handler.calls] == ["sync"]
    thread = handler.calls[0][1]
    assert thread != threading.current_thread().name
    assert thread != "tarash-gateway-sync"  # a worker thread, not the shared event loop
    assert response.provider_request_id == "their-sync-id"
    assert response.request_id.startswith("tg_")
    assert 40 in [u.progress_percent for u in updates]  # the handler's progress reaches us


async def test_async_api_calls_the_async_method() -> None:
    handler = Recorder()
    updates: list[Any] = []
    response = await generate_video_async(
        custom("rec-async", handler), REQ, on_progress=updates.append
    )
    assert [kind for kind, _ in handler.calls] == ["async"]
    assert response.provider_request_id == "their-async-id"
    assert 60 in [u.progress_percent for u in updates]


async def test_either_method_serves_both_apis_when_the_other_is_missing() -> None:
    only_sync = Recorder(async_=False)
    await generate_video_async(custom("only-sync", only_sync), REQ)
    assert [kind for kind, _ in only_sync.calls] == ["sync"]
    only_async = Recorder(sync=False)
    await asyncio.to_thread(generate_video, custom("only-async", only_async), REQ)
    assert [kind for kind, _ in only_async.calls] == ["async"]


def test_not_implemented_from_a_handler_is_not_implemented() -> None:
    class Partial:
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
            raise NotImplementedError("image-to-video only")

    with pytest.raises(NotImplementedError, match="image-to-video only") as info:
        generate_video(custom("partial", Partial()), REQ)
    assert isinstance(info.value, OperationNotSupportedError)


def test_generation_failed_moves_on_without_paying_twice() -> None:
    class Failing:
        calls = 0

        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            Failing.calls += 1
            raise GenerationFailedError("the model crashed", "flaky", "m", "their-job-7")

    config = custom("flaky", Failing(), fallback_configs=[mock_video()])
    response = generate_video(config, REQ)
    assert Failing.calls == 1  # not retried on the same config (a failed generation is paid)
    meta = response.execution_metadata
    assert meta is not None
    assert [(a.provider, a.status) for a in meta.attempts] == [
        ("flaky", "failed"),
        ("mock", "success"),
    ]
    assert meta.attempts[0].request_id == "their-job-7"  # the provider's id where known
    assert all(a.request_id for a in meta.attempts)


def test_every_attempt_has_a_request_id_ours_when_the_provider_gave_none() -> None:
    class Broken:
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            raise GenerationFailedError("no id here")

    response = generate_video(custom("noid", Broken(), fallback_configs=[mock_video()]), REQ)
    meta = response.execution_metadata
    assert meta is not None
    assert meta.attempts[0].request_id == response.request_id
    assert meta.attempts[1].request_id and meta.attempts[1].request_id.startswith("mock_")


def test_orchestrator_has_one_handler_type_and_no_import_cycle() -> None:
    code = (
        "import sys\n"
        "import tarash.tarash_gateway.orchestrator as o\n"
        "assert 'tarash.tarash_gateway.providers.base' not in sys.modules, 'cycle'\n"
        "import typing\n"
        "hints = typing.get_type_hints(o.Plan)\n"
        "from tarash.tarash_gateway.providers.steps import StepHandler\n"
        "assert hints['handler'] is StepHandler, hints['handler']\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.strip() == "ok", out.stderr
    assert isinstance(get_handler("mock"), object)


# ---------------------------------------------------------------------------- one engine


def test_stream_tts_honours_the_total_budget() -> None:
    slow = AudioGenerationConfig(
        provider="mock",
        model="mock-tts",
        timeout=5,
        retry=RetryPolicy(max_retries=10, initial_delay=0.2, max_delay=0.2, total_timeout=0.5),
        mock=MockConfig(enabled=True, responses=[MockResponse(error="server_error")]),
    )
    started = time.monotonic()
    with pytest.raises(exc_module.HTTPError) as info:
        stream_tts(slow, TTSRequest(text="hello", voice_id="v")).read_all()
    assert time.monotonic() - started < 3
    meta = info.value.execution_metadata
    assert meta is not None and 1 < meta.total_attempts < 11


def test_unknown_submit_outcome_is_never_resent_to_the_same_config() -> None:
    reset = mock_video(
        mock=MockConfig(enabled=True, responses=[MockResponse(error="connection_reset")]),
    )
    with pytest.raises(exc_module.HTTPConnectionError) as info:
        generate_video(reset, REQ)
    assert info.value.outcome_unknown and not info.value.retry_same_config
    assert "outcome is unknown" in str(info.value)
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == 1  # max_retries=2 not used


def test_refused_connection_is_retried_on_the_same_config() -> None:
    refused = mock_video(
        mock=MockConfig(enabled=True, responses=[MockResponse(error="connection")]),
    )
    with pytest.raises(exc_module.HTTPConnectionError) as info:
        generate_video(refused, REQ)
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == 3  # nothing left: retrying is safe


def test_unknown_outcome_falls_back_or_stops_by_policy() -> None:
    reset = MockConfig(enabled=True, responses=[MockResponse(error="connection_reset")])
    fallback = [mock_video()]
    ok = generate_video(mock_video(mock=reset, fallback_configs=fallback), REQ)
    assert ok.execution_metadata is not None
    first = ok.execution_metadata.attempts[0]
    assert (first.error_type, ok.execution_metadata.total_attempts) == ("HTTPConnectionError", 2)
    stop = RetryPolicy(max_retries=2, initial_delay=0.01, on_unknown_outcome="stop")
    with pytest.raises(exc_module.HTTPConnectionError, match="outcome is unknown"):
        generate_video(
            mock_video(mock=reset, fallback_configs=fallback).model_copy(update={"retry": stop}),
            REQ,
        )


# ---------------------------------------------------------------------------- typed pieces


def test_responses_reject_unknown_fields() -> None:
    with pytest.raises(pydantic.ValidationError, match="duraton"):
        VideoGenerationResponse(request_id="r", video="https://x/v.mp4", duraton=5.0)  # type: ignore[call-arg]


def test_timeout_error_has_a_name_of_its_own_and_the_old_alias() -> None:
    assert exc_module.TimeoutError is TarashTimeoutError
    assert TarashTimeoutError is not TimeoutError  # the builtin is not shadowed
    assert not issubclass(TarashTimeoutError, TimeoutError)


def test_exception_context_has_one_way_in() -> None:
    error = GenerationFailedError("boom", "p", "m", retry_same_config=True)
    assert error.retryable and error.retry_same_config
    assert error.attach(request_id="first").attach(request_id="second").request_id == "first"


# ---------------------------------------------------------------------------- drop-in names


def test_names_0_1_0_users_import() -> None:
    from tarash.tarash_gateway import AspectRatio, Resolution, format_to_content_type

    assert format_to_content_type("mp3") == "audio/mpeg"
    assert "1080p" in Resolution.__args__  # type: ignore[attr-defined]
    assert AspectRatio is not None
    with pytest.raises(ImportError, match="use Cost"):
        from tarash.tarash_gateway import GenerationCost  # noqa: F401


def test_every_builtin_handler_class_is_importable_from_providers() -> None:
    code = (
        "import sys\n"
        "import tarash.tarash_gateway.providers as p\n"
        "from tarash.tarash_gateway.registry import BUILTIN_PROVIDERS\n"
        "assert not any(m.startswith('cartesia') for m in sys.modules)\n"
        "from tarash.tarash_gateway.providers import CartesiaProviderHandler\n"
        "names = [t.rpartition(':')[2] for t in BUILTIN_PROVIDERS.values()]\n"
        "assert all(isinstance(getattr(p, n), type) for n in names)\n"
        "assert CartesiaProviderHandler().name == 'cartesia'\n"
        "print(len(names))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.stdout.strip() == "13", out.stderr


def test_client_cache_follows_the_base_url_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = get_handler("cartesia")
    config = AudioGenerationConfig(provider="cartesia", model="sonic-3", api_key="sk-test-123")

    async def build() -> object:
        return handler.client(config, object)  # type: ignore[attr-defined]

    async def twice() -> tuple[object, object, object]:
        monkeypatch.setenv("CARTESIA_BASE_URL", "http://127.0.0.1:1")
        first = await build()
        same = await build()
        monkeypatch.setenv("CARTESIA_BASE_URL", "http://127.0.0.1:2")
        return first, same, await build()

    first, same, changed = asyncio.run(twice())
    assert first is same
    assert changed is not first


def test_cached_clients_are_closed_on_their_own_loop() -> None:
    code = (
        "import asyncio, gc, logging, sys\n"
        "logging.basicConfig(level=logging.ERROR, stream=sys.stdout)\n"
        "import httpx\n"
        "from tarash.tarash_gateway.http import client_cache\n"
        "closed = []\n"
        "class Client:\n"
        "    async def aclose(self):\n"
        "        asyncio.get_running_loop()\n"
        "        closed.append(True)\n"
        "async def main():\n"
        "    client_cache.get(('a',), Client)\n"
        "    client_cache.get(('h',), httpx.AsyncClient)\n"
        "for _ in range(3):\n"
        "    asyncio.run(main())\n"
        "gc.collect()\n"
        "print('closed', len(closed))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONASYNCIODEBUG": "0"},
    )
    assert out.stdout.strip().endswith("closed 3"), out.stdout + out.stderr
    assert "Event loop is closed" not in out.stdout + out.stderr
    assert "never retrieved" not in out.stdout + out.stderr


def test_the_public_names_are_one_table() -> None:
    import tarash.tarash_gateway as package

    assert set(package.__all__) == set(package._LAZY) | {"__version__"}
    for name in package.__all__:
        assert getattr(package, name) is not None
