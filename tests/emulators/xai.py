"""Emulator of xAI's gRPC Image and Video services — a real gRPC server for the real ``xai-sdk``.

The HTTP harness (``tests/emulators/harness.py``) cannot serve gRPC, so this module has its
own small analogue with the same vocabulary:

* :class:`XAIEmulator` — ``grpc.server`` on 127.0.0.1 (free port) implementing the SDK's
  ``ImageServicer.GenerateImage`` and ``VideoServicer.GenerateVideo`` / ``GetDeferredVideo``;
  ``start()`` / ``stop()`` / ``reset()`` / context manager; ``base_url`` is
  ``http://127.0.0.1:<port>`` (plaintext gRPC) and ``target`` is ``127.0.0.1:<port>``.
* Auth: metadata ``authorization: Bearer <api_key>`` or the call fails ``UNAUTHENTICATED``.
* Recording: every call is kept as :class:`RecordedCall` (method, the request **proto**,
  metadata, final status code) — ``emu.calls``, ``emu.last("GenerateImage")``, ``emu.count()``.
* Faults (after auth, first live match wins): ``inject_status(grpc.StatusCode.X, times=...)``,
  ``inject_delay(seconds)`` (a delay past the client's deadline gives DEADLINE_EXCEEDED).
* Deferred videos follow a :class:`VideoScript`: ``pending_polls`` PENDING answers (with
  ``progress`` values if given), then DONE / FAILED (``error_code``/``error_message``) / EXPIRED.
  ``emu.video_script = ...`` sets the default, ``emu.queue_video_scripts(...)`` one-shot ones.
* Images: URL or base64 data URI per the request ``format``, ``n`` images; indices in
  ``emu.moderated_images`` come back with ``respect_moderation=False`` and no content.

Fixture: ``xai = xai_emulator_fixture(scope="module")``. Run it alone:
``python -m tests.emulators.xai --port 50051``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Literal

import grpc
from xai_sdk.proto import (
    deferred_pb2,
    image_pb2,
    image_pb2_grpc,
    usage_pb2,
    video_pb2,
    video_pb2_grpc,
)

__all__ = [
    "XAI_API_KEY",
    "GrpcFault",
    "RecordedCall",
    "VideoScript",
    "XAIEmulator",
    "xai_emulator_fixture",
]

XAI_API_KEY = "xai-test-key"
HOST = "127.0.0.1"
JPEG_MAGIC = b"\xff\xd8\xff\xe0"


@dataclass(repr=False)
class RecordedCall:
    """One RPC the emulator received (the decoded request proto and the metadata)."""

    index: int
    method: str
    request: Any
    metadata: dict[str, str]
    code: grpc.StatusCode = grpc.StatusCode.OK
    fault: GrpcFault | None = None

    def __repr__(self) -> str:
        meta = {k: ("<redacted>" if k == "authorization" else v) for k, v in self.metadata.items()}
        return f"RecordedCall(#{self.index} {self.method} code={self.code.name} metadata={meta})"


@dataclass(repr=False)
class GrpcFault:
    """A scripted failure/delay for the next ``times`` matching calls (``None`` = always)."""

    method: re.Pattern[str] | None
    code: grpc.StatusCode | None
    details: str
    delay: float = 0.0
    times: int | None = 1
    trailing: tuple[tuple[str, str], ...] = ()
    fired: int = 0

    def matches(self, method: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return self.method is None or self.method.search(method) is not None

    def __repr__(self) -> str:
        code = self.code.name if self.code else "delay"
        return f"GrpcFault({code}, delay={self.delay}, fired={self.fired}, times={self.times})"


@dataclass(frozen=True)
class VideoScript:
    """Lifecycle of one deferred video: ``pending_polls`` PENDING answers, then the outcome."""

    pending_polls: int = 1
    outcome: Literal["done", "failed", "expired"] = "done"
    progress: tuple[int, ...] = ()
    url: str | None = None
    duration: int | None = None
    respect_moderation: bool = True
    error_code: str = "internal_error"
    error_message: str = "video generation failed"
    cost_in_usd_ticks: int | None = None


@dataclass
class DeferredVideo:
    request_id: str
    script: VideoScript
    request: video_pb2.GenerateVideoRequest
    polls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def poll(self, base_url: str) -> video_pb2.GetDeferredVideoResponse:
        with self.lock:
            self.polls += 1
            n = self.polls
        script = self.script
        if n <= script.pending_polls:
            progress = script.progress[min(n, len(script.progress)) - 1] if script.progress else 0
            return video_pb2.GetDeferredVideoResponse(
                status=deferred_pb2.DeferredStatus.PENDING,
                response=video_pb2.VideoResponse(model=self.request.model, progress=progress),
            )
        if script.outcome == "expired":
            return video_pb2.GetDeferredVideoResponse(status=deferred_pb2.DeferredStatus.EXPIRED)
        if script.outcome == "failed":
            return video_pb2.GetDeferredVideoResponse(
                status=deferred_pb2.DeferredStatus.FAILED,
                response=video_pb2.VideoResponse(
                    model=self.request.model,
                    error=video_pb2.VideoError(
                        code=script.error_code, message=script.error_message
                    ),
                ),
            )
        usage = usage_pb2.SamplingUsage()
        if script.cost_in_usd_ticks is not None:
            usage.cost_in_usd_ticks = script.cost_in_usd_ticks
        duration = script.duration or (
            self.request.duration if self.request.HasField("duration") else 8
        )
        video = video_pb2.GeneratedVideo(
            url=""
            if not script.respect_moderation
            else script.url or f"{base_url}/xai-emulator/videos/{self.request_id}.mp4",
            duration=duration,
            respect_moderation=script.respect_moderation,
        )
        return video_pb2.GetDeferredVideoResponse(
            status=deferred_pb2.DeferredStatus.DONE,
            response=video_pb2.VideoResponse(
                video=video, model=self.request.model, usage=usage, progress=100
            ),
        )


class XAIEmulator:
    """gRPC emulator of ``xai_api.Image`` and ``xai_api.Video`` (see the module docs)."""

    name = "xai"

    def __init__(
        self,
        *,
        api_key: str | None = XAI_API_KEY,
        port: int = 0,
        workers: int = 16,
        echo_key_in_errors: bool = False,
    ):
        self.api_key = api_key
        # True: every aborted call's details echo the credential the client sent (see
        # harness.Emulator.echo_key_in_errors), to prove the gateway redacts it.
        self.echo_key_in_errors = echo_key_in_errors
        self._port = port
        self._workers = workers
        self._lock = threading.RLock()
        self._calls: list[RecordedCall] = []
        self._faults: list[GrpcFault] = []
        self._scripts: deque[VideoScript] = deque()
        self._server: grpc.Server | None = None
        self._bound_port: int | None = None
        self.videos: dict[str, DeferredVideo] = {}
        self.video_script = VideoScript()
        self.moderated_images: set[int] = set()
        self.image_cost_ticks: int | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._workers))
        image_pb2_grpc.add_ImageServicer_to_server(_ImageServicer(self), server)
        video_pb2_grpc.add_VideoServicer_to_server(_VideoServicer(self), server)
        port = server.add_insecure_port(f"{HOST}:{self._port}")
        if not port:
            raise RuntimeError(f"xai emulator could not bind {HOST}:{self._port}")
        server.start()
        self._server, self._bound_port = server, port
        return self.base_url

    def stop(self) -> None:
        server, self._server, self._bound_port = self._server, None, None
        if server is not None:
            server.stop(grace=0).wait(5)

    def __enter__(self) -> XAIEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget calls, faults, videos and per-test scripts."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._scripts.clear()
            self.videos.clear()
            self.video_script = VideoScript()
            self.moderated_images = set()
            self.image_cost_ticks = None

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("xai emulator is not running; call start() first")
        return self._bound_port

    @property
    def target(self) -> str:
        """``127.0.0.1:<port>`` (what ``xai_sdk`` takes as ``api_host``)."""
        return f"{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` — an http URL means plaintext gRPC to the gateway."""
        return f"http://{self.target}"

    # -- recording ---------------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def find(self, method: str | None = None) -> list[RecordedCall]:
        return [c for c in self.calls if method is None or c.method == method]

    def last(self, method: str | None = None) -> RecordedCall:
        found = self.find(method)
        if not found:
            raise LookupError(f"no {method or ''} call; received: {[c.method for c in self.calls]}")
        return found[-1]

    def count(self, method: str | None = None) -> int:
        return len(self.find(method))

    # -- faults ------------------------------------------------------------------------
    def inject_status(
        self,
        code: grpc.StatusCode,
        details: str | None = None,
        *,
        method: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
        retry_after: float | None = None,
    ) -> GrpcFault:
        """Fail the next ``times`` calls of ``method`` (regex; None = any) with ``code``."""
        trailing = (("retry-after", f"{retry_after:g}"),) if retry_after is not None else ()
        fault = GrpcFault(
            re.compile(method) if method else None,
            code,
            details or f"emulated {code.name}",
            delay,
            times,
            trailing,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def inject_delay(
        self, seconds: float, *, method: str | None = None, times: int | None = 1
    ) -> GrpcFault:
        """Sleep ``seconds`` (stopping early if the client gives up), then answer normally."""
        fault = GrpcFault(re.compile(method) if method else None, None, "", seconds, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    # -- videos ------------------------------------------------------------------------
    def queue_video_scripts(self, *scripts: VideoScript) -> None:
        """One-shot scripts used by the next videos in order, then ``video_script`` again."""
        with self._lock:
            self._scripts.extend(scripts)

    def _next_script(self) -> VideoScript:
        with self._lock:
            return self._scripts.popleft() if self._scripts else self.video_script

    # -- pipeline: record → auth → fault → handler --------------------------------------
    def handle(
        self,
        method: str,
        request: Any,
        context: grpc.ServicerContext,
        handler: Callable[[Any, grpc.ServicerContext], Any],
    ) -> Any:
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        if self.echo_key_in_errors:
            sent = [metadata.get("authorization") or "", self.api_key or ""]
            context = _EchoingContext(context, " [echo: you sent " + " | ".join(sent) + "]")
        with self._lock:
            call = RecordedCall(len(self._calls), method, request, metadata)
            self._calls.append(call)
        if self.api_key is not None and metadata.get("authorization") != f"Bearer {self.api_key}":
            call.code = grpc.StatusCode.UNAUTHENTICATED
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Invalid or missing API key")
        fault = self._take_fault(method)
        if fault is not None:
            call.fault = fault
            deadline = time.monotonic() + fault.delay
            while time.monotonic() < deadline and context.is_active():
                time.sleep(0.01)
            if not context.is_active():
                call.code = grpc.StatusCode.CANCELLED
                context.abort(grpc.StatusCode.CANCELLED, "client went away")
            if fault.code is not None:
                call.code = fault.code
                if fault.trailing:
                    context.set_trailing_metadata(fault.trailing)
                context.abort(fault.code, fault.details)
        try:
            return handler(request, context)
        except Exception:
            if call.code is grpc.StatusCode.OK:
                call.code = context.code() or grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
            raise

    def _take_fault(self, method: str) -> GrpcFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method):
                    fault.fired += 1
                    return fault
        return None

    # -- handlers ----------------------------------------------------------------------
    def generate_image(
        self, request: image_pb2.GenerateImageRequest, context: grpc.ServicerContext
    ) -> image_pb2.ImageResponse:
        if not request.prompt.strip():
            self._invalid(context, "prompt must not be empty")
        if not request.model:
            self._invalid(context, "model is required")
        n = request.n if request.HasField("n") else 1
        if not 1 <= n <= 10:
            self._invalid(context, f"n must be in [1, 10], got {n}")
        if request.HasField("image") and len(request.images):
            self._invalid(context, "image and images are mutually exclusive")
        images = []
        for i in range(n):
            if i in self.moderated_images:
                images.append(image_pb2.GeneratedImage(respect_moderation=False))
                continue
            tag = hashlib.sha256(f"{request.prompt}:{i}".encode()).hexdigest()[:12]
            if request.format == image_pb2.ImageFormat.IMG_FORMAT_BASE64:
                data = JPEG_MAGIC + b"XAI-EMULATOR:" + tag.encode()
                encoded = "data:image/jpeg;base64," + base64.b64encode(data).decode()
                images.append(image_pb2.GeneratedImage(base64=encoded, respect_moderation=True))
            else:
                url = f"{self.base_url}/xai-emulator/images/{tag}.jpeg"
                images.append(image_pb2.GeneratedImage(url=url, respect_moderation=True))
        usage = usage_pb2.SamplingUsage()
        if self.image_cost_ticks is not None:
            usage.cost_in_usd_ticks = self.image_cost_ticks
        return image_pb2.ImageResponse(images=images, model=request.model, usage=usage)

    def generate_video(
        self, request: video_pb2.GenerateVideoRequest, context: grpc.ServicerContext
    ) -> deferred_pb2.StartDeferredResponse:
        if not request.prompt.strip() and not request.HasField("image"):
            self._invalid(context, "prompt must not be empty")
        if request.HasField("duration") and not 1 <= request.duration <= 15:
            self._invalid(context, f"duration must be in [1, 15], got {request.duration}")
        request_id = str(uuid.uuid4())
        with self._lock:
            self.videos[request_id] = DeferredVideo(request_id, self._next_script(), request)
        return deferred_pb2.StartDeferredResponse(request_id=request_id)

    def get_deferred_video(
        self, request: video_pb2.GetDeferredVideoRequest, context: grpc.ServicerContext
    ) -> video_pb2.GetDeferredVideoResponse:
        video = self.videos.get(request.request_id)
        if video is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"request {request.request_id} not found")
        assert video is not None
        return video.poll(self.base_url)

    @staticmethod
    def _invalid(context: grpc.ServicerContext, message: str) -> None:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)


class _EchoingContext:
    """A servicer context whose ``abort`` details carry the client's credential."""

    def __init__(self, context: grpc.ServicerContext, note: str) -> None:
        self._context = context
        self._note = note

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self._context.abort(code, details + self._note)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class _ImageServicer(image_pb2_grpc.ImageServicer):  # type: ignore[misc]
    def __init__(self, emu: XAIEmulator) -> None:
        self.emu = emu

    def GenerateImage(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.emu.handle("GenerateImage", request, context, self.emu.generate_image)


class _VideoServicer(video_pb2_grpc.VideoServicer):  # type: ignore[misc]
    def __init__(self, emu: XAIEmulator) -> None:
        self.emu = emu

    def GenerateVideo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.emu.handle("GenerateVideo", request, context, self.emu.generate_video)

    def GetDeferredVideo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.emu.handle("GetDeferredVideo", request, context, self.emu.get_deferred_video)


def xai_emulator_fixture(scope: Literal["function", "module"] = "module") -> Any:
    """A pytest fixture yielding a running :class:`XAIEmulator` (module scope: reset per test)."""
    import pytest

    if scope == "function":

        @pytest.fixture
        def _fresh() -> Iterator[XAIEmulator]:
            with XAIEmulator() as emu:
                yield emu

        return _fresh

    shared: dict[str, XAIEmulator] = {}

    @pytest.fixture
    def _shared(request: pytest.FixtureRequest) -> XAIEmulator:
        owner = request.node.getparent(pytest.Module)
        key = owner.nodeid if owner is not None else "<session>"
        emu = shared.get(key)
        if emu is None:
            emu = XAIEmulator()
            emu.start()
            shared[key] = emu

            def _stop(emu: XAIEmulator = emu, key: str = key) -> None:
                shared.pop(key, None)
                emu.stop()

            (owner or request.session).addfinalizer(_stop)
        emu.reset()
        return emu

    return _shared


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.emulators.xai --port N``: serve until Ctrl-C; prints the base URL."""
    parser = argparse.ArgumentParser(description="xAI gRPC emulator on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=XAI_API_KEY)
    args = parser.parse_args(argv)
    with XAIEmulator(api_key=args.api_key, port=args.port) as emu:
        print(emu.base_url, flush=True)
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
