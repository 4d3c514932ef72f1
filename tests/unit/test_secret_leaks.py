"""The API key never leaks, even when the provider echoes it back in every error body.

Each emulator runs with ``echo_key_in_errors=True``: every error response (HTTP >= 400, or an
aborted gRPC call) repeats the credential the client sent in every string of its body. Each
test then scans everything a caller, a logger or an error tracker can see: the exception,
its whole ``__cause__``/``__context__`` chain (args, attributes, ``repr``), the text of
``traceback.format_exception``, ``raw_response``, ``ValidationError.errors``, the execution
metadata, every progress update (the final one too), every log record of every logger at
DEBUG, ``repr(config)``, job references and the bytes of the SQLite job store file.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    TarashException,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    aclose_clients,
    generate_image_async,
    generate_tts_async,
    generate_video_async,
    submit_job_async,
)
from tarash.tarash_gateway.jobs import (
    JobRef,
    JobStore,
    SQLiteJobStore,
    get_job_store,
    set_job_store,
)
from tests.conftest import NO_RETRY
from tests.emulators.elevenlabs import ElevenLabsEmulator
from tests.emulators.fal import FalEmulator
from tests.emulators.harness import JobScript
from tests.emulators.openai import OpenAIEmulator
from tests.emulators.xai import XAIEmulator

pytestmark = pytest.mark.timeout(60)

KEYS = {
    "fal": "fal-LEAKPROBE-key-6f1d2c9a8b7e4d3c",
    "openai": "sk-LEAKPROBE-openai-0a1b2c3d4e5f6789",
    "elevenlabs": "xi-LEAKPROBE-2b3c4d5e6f708192",
    "xai": "xai-LEAKPROBE-3c4d5e6f70819203",
}


# ------------------------------------------------------------------ the scanner


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        item = todo.pop()
        if any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(e for e in (item.__cause__, item.__context__) if e is not None)
        if isinstance(item, BaseExceptionGroup):
            todo.extend(item.exceptions)
    return seen


def _texts_of_value(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 6:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes | bytearray):
        yield bytes(value).decode("utf-8", "replace")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _texts_of_value(v, depth + 1)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from _texts_of_value(v, depth + 1)
    else:
        yield repr(value)
        dump = getattr(value, "model_dump_json", None)
        if callable(dump):
            with contextlib.suppress(Exception):  # a scan must not fail on odd objects
                yield dump()


def exception_texts(exc: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(exc)), str(exc), repr(exc)]
    for item in _chain(exc):
        texts += [str(item), repr(item), repr(item.args)]
        texts += list(_texts_of_value(list(item.args)))
        for name, value in vars(item).items():
            if name.startswith("__"):
                continue
            texts += list(_texts_of_value(value))
        for name in ("message", "body", "details", "raw_response", "errors"):
            attr = getattr(item, name, None)
            if callable(attr) and name in ("details",):
                try:
                    attr = attr()
                except Exception:
                    attr = None
            texts += list(_texts_of_value(attr))
    return texts


class Scan:
    def __init__(self, key: str, caplog: pytest.LogCaptureFixture, store_path: Path) -> None:
        self.key = key
        self.caplog = caplog
        self.store_path = store_path
        self.updates: list[Any] = []

    def on_progress(self, update: Any) -> None:
        self.updates.append(update)

    def assert_clean(self, *things: Any, exc: BaseException | None = None) -> None:
        hits: list[str] = []
        if exc is not None:
            hits += [
                f"exception: …{t[max(0, t.find(self.key) - 80) :][:160]}"
                for t in exception_texts(exc)
                if self.key in t
            ]
        for update in self.updates:
            for text in (repr(update), update.model_dump_json()):
                if self.key in text:
                    hits.append(f"progress update {update.status}: {text[:200]}")
        for record in self.caplog.records:
            text = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
            text += repr(getattr(record, "tarash_context", ""))
            if self.key in text:
                hits.append(f"log {record.name}: {text[:300]}")
        for thing in things:
            for text in _texts_of_value(thing):
                if self.key in text:
                    hits.append(f"object {type(thing).__name__}: {text[:200]}")
        for path in self.store_path.parent.glob(self.store_path.name + "*"):
            if self.key.encode() in path.read_bytes():
                hits.append(f"job store file {path.name}")
        assert not hits, "API key leaked:\n" + "\n".join(hits)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    previous: JobStore = get_job_store()
    path = tmp_path / "jobs.db"
    set_job_store(SQLiteJobStore(path))
    try:
        yield path
    finally:
        set_job_store(previous)


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await aclose_clients()


def scanner(provider: str, caplog: pytest.LogCaptureFixture, store: Path) -> Scan:
    caplog.set_level(logging.DEBUG)  # every logger, httpx/httpcore/SDKs included
    return Scan(KEYS[provider], caplog, store)


async def expect_failure(coro: Any) -> TarashException:
    try:
        await coro
    except TarashException as exc:
        return exc
    raise AssertionError("the call did not fail")


# ------------------------------------------------------------------ fal (HTTP queue)


@pytest.fixture
def fal() -> Iterator[FalEmulator]:
    with FalEmulator(api_key=KEYS["fal"], echo_key_in_errors=True) as emu:
        yield emu


def fal_config(emu: FalEmulator, **kw: Any) -> VideoGenerationConfig:
    values: dict[str, Any] = {
        "provider": "fal",
        "model": "fal-ai/veo3.1",
        "api_key": KEYS["fal"],
        "base_url": emu.base_url,
        "timeout": 10,
        "poll_interval": 0.05,
        "retry": NO_RETRY,
    }
    values.update(kw)
    return VideoGenerationConfig(**values)


@pytest.mark.parametrize("status", [400, 401, 403, 422, 429, 500, 503])
async def test_fal_submit_error_echoing_the_key(
    fal: FalEmulator, status: int, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("fal", caplog, store)
    fal.inject_status(status, path=r"^/fal-ai/veo3\.1$", times=None)
    config = fal_config(fal)
    exc = await expect_failure(
        generate_video_async(config, VideoGenerationRequest(prompt="p"), scan.on_progress)
    )
    assert fal.requests and KEYS["fal"] in fal.requests[0].header("Authorization", "")
    scan.assert_clean(config, repr(config), exc.raw_response, exc.execution_metadata, exc=exc)


async def test_fal_status_and_result_errors_echoing_the_key(
    fal: FalEmulator, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("fal", caplog, store)
    fal.job_script = JobScript.success(queued=0.05, running=0.05)
    fal.inject_status(500, path=r"/requests/[^/]+$", method="GET", times=None)
    config = fal_config(fal)
    exc = await expect_failure(
        generate_video_async(config, VideoGenerationRequest(prompt="p"), scan.on_progress)
    )
    scan.assert_clean(exc.raw_response, exc.execution_metadata, exc.job, exc=exc)
    assert scan.updates  # the job was accepted and reported progress


async def test_fal_failed_job_whose_error_echoes_the_key(
    fal: FalEmulator, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("fal", caplog, store)
    fal.job_script = JobScript.failure(
        {"detail": [{"msg": f"bad key {KEYS['fal']} for this model", "type": "x"}]},
        queued=0.02,
        running=0.02,
    )
    exc = await expect_failure(
        generate_video_async(fal_config(fal), VideoGenerationRequest(prompt="p"), scan.on_progress)
    )
    scan.assert_clean(exc.raw_response, exc=exc)
    assert scan.updates and scan.updates[-1].status in ("failed", "processing", "queued")


async def test_fal_base_url_credentials_stay_out_of_reprs_logs_and_errors(
    fal: FalEmulator, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("fal", caplog, store)
    base = fal.base_url.replace("http://", f"http://user:{KEYS['fal']}@")
    config = fal_config(fal, base_url=f"{base}?token={KEYS['fal']}")
    assert KEYS["fal"] not in repr(config) and KEYS["fal"] not in str(config)
    assert "user:" not in repr(config)
    # httpx turns user:pass@ into Basic auth, which the emulator refuses (and echoes).
    exc = await expect_failure(
        generate_video_async(config, VideoGenerationRequest(prompt="p"), scan.on_progress)
    )
    assert fal.requests  # it did go out, and httpx logged its URL at INFO
    scan.assert_clean(config, exc.raw_response, exc=exc)


async def test_job_refs_and_the_store_file_never_hold_url_credentials(
    fal: FalEmulator, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("fal", caplog, store)
    job = await submit_job_async(fal_config(fal), VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef) and job.base_url == fal.base_url
    key = KEYS["fal"]
    ref = job.model_copy(update={"base_url": None, "endpoints": {}, "data": {}}).model_validate(
        {
            **job.model_dump(),
            "base_url": f"http://user:{key}@proxy.example/v1?api_key={key}&region=eu",
            "endpoints": {"status": f"http://proxy.example/s?token={key}&x=1"},
            "data": {"note": f"echoed {key}"},
        }
    )
    assert ref.base_url == "http://proxy.example/v1?region=eu"
    assert ref.endpoints == {"status": "http://proxy.example/s?x=1"}
    await get_job_store().record(ref)
    scan.assert_clean(job, ref, ref.to_json())


# ------------------------------------------------------------------ OpenAI (SDK, HTTP)


@pytest.fixture
def openai_emu() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=KEYS["openai"], echo_key_in_errors=True) as emu:
        yield emu


@pytest.mark.parametrize("status", [400, 401, 429, 500])
async def test_openai_sdk_error_echoing_the_key(
    openai_emu: OpenAIEmulator, status: int, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("openai", caplog, store)
    openai_emu.inject_status(status, times=None)
    config = ImageGenerationConfig(
        provider="openai",
        model="gpt-image-1",
        api_key=KEYS["openai"],
        base_url=openai_emu.base_url + "/v1",
        retry=NO_RETRY,
    )
    exc = await expect_failure(
        generate_image_async(config, ImageGenerationRequest(prompt="p"), scan.on_progress)
    )
    assert openai_emu.requests
    scan.assert_clean(exc.raw_response, exc.execution_metadata, exc=exc)


async def test_openai_wrong_key_is_not_echoed_either(
    openai_emu: OpenAIEmulator, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    wrong = "sk-LEAKPROBE-wrong-9f8e7d6c5b4a3210"
    caplog.set_level(logging.DEBUG)
    scan = Scan(wrong, caplog, store)
    config = ImageGenerationConfig(
        provider="openai",
        model="gpt-image-1",
        api_key=wrong,
        base_url=openai_emu.base_url + "/v1",
        retry=NO_RETRY,
    )
    exc = await expect_failure(generate_image_async(config, ImageGenerationRequest(prompt="p")))
    assert openai_emu.requests[0].status == 401
    scan.assert_clean(exc.raw_response, exc=exc)


# ------------------------------------------------------------------ ElevenLabs (SDK, HTTP)


@pytest.fixture
def eleven() -> Iterator[ElevenLabsEmulator]:
    with ElevenLabsEmulator(api_key=KEYS["elevenlabs"], echo_key_in_errors=True) as emu:
        yield emu


@pytest.mark.parametrize("status", [400, 401, 422, 429, 500])
async def test_elevenlabs_error_echoing_the_key(
    eleven: ElevenLabsEmulator, status: int, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("elevenlabs", caplog, store)
    eleven.inject_status(status, times=None)
    config = AudioGenerationConfig(
        provider="elevenlabs",
        model="eleven_multilingual_v2",
        api_key=KEYS["elevenlabs"],
        base_url=eleven.base_url,
        retry=NO_RETRY,
    )
    exc = await expect_failure(
        generate_tts_async(config, TTSRequest(text="hello", voice_id="v1"), scan.on_progress)
    )
    assert eleven.requests
    scan.assert_clean(exc.raw_response, exc.execution_metadata, exc=exc)


# ------------------------------------------------------------------ xAI (gRPC SDK)


@pytest.fixture
def xai() -> Iterator[XAIEmulator]:
    with XAIEmulator(api_key=KEYS["xai"], echo_key_in_errors=True) as emu:
        yield emu


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
    ],
)
async def test_xai_grpc_error_echoing_the_key(
    xai: XAIEmulator, code: grpc.StatusCode, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("xai", caplog, store)
    xai.inject_status(code, "request rejected", times=None)
    config = ImageGenerationConfig(
        provider="xai",
        model="grok-imagine-image",
        api_key=KEYS["xai"],
        base_url=xai.base_url,
        retry=NO_RETRY,
        timeout=10,
    )
    exc = await expect_failure(
        generate_image_async(config, ImageGenerationRequest(prompt="p"), scan.on_progress)
    )
    assert xai.count() >= 1
    scan.assert_clean(exc.raw_response, exc.execution_metadata, exc=exc)


async def test_xai_video_poll_error_echoing_the_key(
    xai: XAIEmulator, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    scan = scanner("xai", caplog, store)
    xai.inject_status(
        grpc.StatusCode.INTERNAL, "poll failed", method="GetDeferredVideo", times=None
    )
    config = VideoGenerationConfig(
        provider="xai",
        model="grok-imagine-video",
        api_key=KEYS["xai"],
        base_url=xai.base_url,
        retry=NO_RETRY,
        timeout=10,
        poll_interval=0.05,
    )
    exc = await expect_failure(
        generate_video_async(config, VideoGenerationRequest(prompt="p"), scan.on_progress)
    )
    scan.assert_clean(exc.raw_response, exc.execution_metadata, exc.job, exc=exc)


# ------------------------------------------------------------------ the scanner itself


def test_the_scanner_finds_a_key_hidden_in_a_chained_sdk_exception(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    key = "sk-LEAKPROBE-selftest-1234567890"
    scan = Scan(key, caplog, tmp_path / "none.db")

    class SDKError(Exception):
        def __init__(self, body: dict[str, Any]) -> None:
            super().__init__("provider said no")
            self.body = body

    try:
        try:
            raise SDKError({"error": {"message": f"bad key {key}"}})
        except SDKError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        with pytest.raises(AssertionError, match="API key leaked"):
            scan.assert_clean(exc=outer)


def test_typed_errors_scrub_their_own_fields() -> None:
    from tarash.tarash_gateway._secrets import register_secret
    from tarash.tarash_gateway.exceptions import HTTPError, ValidationError

    key = "sk-LEAKPROBE-fields-5566778899"
    register_secret(key)
    error = ValidationError(
        f"bad {key}",
        "p",
        raw_response={"error": {"message": f"echo {key}", "list": [key, 1]}},
        errors=[{"field": "api_key", "message": f"rejected {key}"}],
    )
    http = HTTPError("x", "p", request_id=f"req_1 {key}", raw_response=f"<html>{key}</html>")
    for text in (
        str(error),
        repr(error.raw_response),
        repr(error.errors),
        repr(http.request_id),
        repr(http.raw_response),
    ):
        assert key not in text, text
    assert error.raw_response["error"]["list"][1] == 1  # structure kept, only strings masked


async def test_stream_tts_error_echoing_the_key(
    eleven: ElevenLabsEmulator, caplog: pytest.LogCaptureFixture, store: Path
) -> None:
    from tarash.tarash_gateway import stream_tts_async

    scan = scanner("elevenlabs", caplog, store)
    eleven.inject_status(500, times=None)
    config = AudioGenerationConfig(
        provider="elevenlabs",
        model="eleven_multilingual_v2",
        api_key=KEYS["elevenlabs"],
        base_url=eleven.base_url,
        retry=NO_RETRY,
    )
    try:
        async for _ in stream_tts_async(config, TTSRequest(text="hello", voice_id="v1")):
            pass
    except TarashException as exc:
        scan.assert_clean(exc.raw_response, exc=exc)
    else:
        raise AssertionError("the stream did not fail")
