"""The offline mock provider: real media bytes, simulated jobs, scripted failures.

Use ``provider="mock"`` or put ``mock=MockConfig(enabled=True)`` (or
``mock=True``) on any config to run it offline; setting the environment
variable ``TARASH_GATEWAY_MOCK=1`` mocks every config. A mocked real config
is still validated against the real model's field mapping, so a request that
would be rejected by the provider is rejected by the mock too.

Everything is deterministic: the seed comes from ``MockConfig.seed``, else the
request's ``seed``, else a hash of the request. Video jobs are polled like a
real provider (queued → processing with progress → completed); a job's state
is derived from its :class:`JobRef` and the clock, so mock jobs can be
resumed from another process like real ones.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import json
import math
import random
import time
import uuid
import wave
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from tarash.tarash_gateway.catalog import check_model
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    OperationNotSupportedError,
    ProviderNotFoundError,
    ProviderSDKMissingError,
    RateLimitError,
    TarashException,
    TarashTimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.jobs import JobRef, JobStatus, Operation
from tarash.tarash_gateway.media import MediaContent, to_data_uri, to_media_input
from tarash.tarash_gateway.models import (
    OPERATIONS,
    AudioOutputFormat,
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    Cost,
    ImageGenerationRequest,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    STSRequest,
    TTSRequest,
    TTSResponse,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers.base import AttemptContext, BaseProviderHandler, Prepared
from tarash.tarash_gateway.providers.field_mappers import apply_field_mappers, match_model_key
from tarash.tarash_gateway.providers.mock import media, video_edit

__all__ = ["MockProviderHandler"]

_VIDEO_POLLING = MockPollingConfig()
_LONG_SIDE = {"360p": 320, "480p": 320, "540p": 384, "720p": 384, "1080p": 480}
_MAX_IMAGE_SIDE = 1024


class MockProviderHandler(BaseProviderHandler):
    """Offline provider for every operation (video, image, TTS, STS)."""

    name: ClassVar[str] = "mock"
    operations: ClassVar[frozenset[Operation]] = frozenset({"video", "image", "tts", "sts"})
    requires_api_key: ClassVar[bool] = False

    def __init__(self) -> None:
        self._cancelled: set[str] = set()

    # ------------------------------------------------------------------ prepare

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        """Validate like the real provider would (when mocking a real config), then keep
        the request fields the mock needs."""
        warnings: list[str] = []
        if config.provider != "mock":
            self._validate_as_real_provider(operation, config, request, warnings)
        else:
            warnings.extend(check_model("mock", operation, config, request))
            registry = self.field_mappings()
            key = match_model_key(config.model, registry.keys())
            if key is not None:
                apply_field_mappers(registry[key], request, provider="mock", model=config.model)
                self.check_unsupported(config, request, registry[key], warnings)
            _check_mock_combinations(operation, config, request, warnings)  # issue 15
        if operation == "video":
            video_edit.source_of(request, config.model)  # a bad input video fails here
        payload = request.model_dump(
            mode="python", exclude={"image_list", "video", "audio", "mask_image"}
        )
        audio_format = getattr(request, "output_format", None)
        if isinstance(audio_format, AudioOutputFormat) and audio_format.format not in (
            "wav",
            "pcm",
        ):
            warnings.append(f"the mock returns WAV audio, not {audio_format.format}")
        return Prepared(operation, request, payload, None, warnings)

    def _validate_as_real_provider(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> None:
        from tarash.tarash_gateway.registry import get_handler

        try:
            real = get_handler(config.provider)
        except ProviderSDKMissingError as exc:  # issue 15: say so, never claim it validated
            warnings.append(
                f"{exc}; so the request was not validated against {config.provider}/"
                f"{config.model} (the mock runs it anyway)"
            )
            return
        except ProviderNotFoundError:
            return
        if not isinstance(real, BaseProviderHandler):
            return
        real.require(operation, config)
        warnings.extend(check_model(real.name, operation, config, request))
        try:
            real.prepare_payload(operation, config, request, warnings)
        except OperationNotSupportedError:
            raise
        except ValidationError:
            raise
        except TarashException:  # pragma: no cover - other checks need the network
            return

    # ------------------------------------------------------------------ outcome selection

    @staticmethod
    def _mock_config(config: BaseGenerationConfig) -> MockConfig:
        return config.mock or MockConfig(enabled=True)

    @staticmethod
    def _seed(config: BaseGenerationConfig, request_payload: dict[str, Any]) -> int:
        mock = config.mock
        if mock is not None and mock.seed is not None:
            return mock.seed
        seed = request_payload.get("seed")
        if isinstance(seed, int):
            return seed
        text = json.dumps(_canonical(request_payload), sort_keys=True)
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")

    def _choose(self, ctx: AttemptContext, seed: int) -> tuple[int, MockResponse | None]:
        mock = self._mock_config(ctx.config)
        responses = mock.responses or []
        if not responses:
            return -1, None
        if mock.selection == "sequence":
            index = min(ctx.attempt_number - 1, len(responses) - 1)
            return index, responses[index]
        rng = random.Random(seed * 1_000_003 + ctx.attempt_number)
        index = rng.choices(range(len(responses)), weights=[r.weight for r in responses])[0]
        return index, responses[index]

    @staticmethod
    def _error(choice: MockResponse, ctx: AttemptContext) -> TarashException | None:
        error = choice.error
        if error is None:
            return None
        if isinstance(error, TarashException):
            fresh = copy.copy(error)  # one MockResponse is shared by every call
            fresh.execution_metadata = None
            fresh.job = None
            fresh.__traceback__ = None
            return fresh
        if isinstance(error, Exception):
            return GenerationFailedError(
                f"mock error: {type(error).__name__}: {error}", ctx.provider, ctx.model
            )
        message = choice.error_message or f"mock {error.replace('_', ' ')}"
        args = (message, ctx.provider, ctx.model)
        kinds: dict[str, TarashException] = {
            "rate_limit": RateLimitError(*args, retry_after=choice.retry_after),
            "server_error": HTTPError(*args, status_code=503, retry_after=choice.retry_after),
            "timeout": TarashTimeoutError(*args, timeout_seconds=ctx.config.timeout),
            # refused: the request never left, so a retry cannot pay twice
            "connection": HTTPConnectionError(*args, request_sent=False),
            # dropped after the request was sent: the outcome is unknown
            "connection_reset": HTTPConnectionError(*args, request_sent=True),
            "moderation": ContentModerationError(*args),
            "validation": ValidationError(*args),
            "authentication": AuthenticationError(*args),
            "generation_failed": GenerationFailedError(*args, retryable=True),
        }
        return kinds[error]

    # ------------------------------------------------------------------ steps

    def _polling(
        self, config: BaseGenerationConfig, operation: Operation
    ) -> MockPollingConfig | None:
        mock = config.mock
        if mock is not None and mock.polling is not None:
            return mock.polling if mock.polling.enabled else None
        return _VIDEO_POLLING if operation == "video" else None

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Any:
        seed = self._seed(ctx.config, prepared.payload)
        index, choice = self._choose(ctx, seed)
        failure_at_end = False
        if choice is not None:
            error = self._error(choice, ctx)
            if error is not None and choice.error == "generation_failed":
                failure_at_end = True
            elif error is not None:
                raise error
        polling = self._polling(ctx.config, ctx.operation)
        input_duration = None
        if isinstance(prepared.request, STSRequest):
            input_duration = await asyncio.to_thread(_wav_duration, prepared.request)
        data = {
            "input_duration": input_duration,
            "seed": seed,
            "choice": index,
            "payload": _jsonable_payload(prepared.payload),
            "fail": failure_at_end,
            "polling": polling.model_dump(mode="json") if polling else None,
            "started": time.time(),
            "mock_config": self._mock_config(ctx.config).model_dump(
                mode="json", exclude={"responses"}
            ),
        }
        if ctx.operation == "video":
            source = video_edit.source_of(prepared.request, ctx.model)
            if source is not None:
                data["video_source"] = source
        job_id = f"mock_{uuid.uuid4().hex[:20]}"
        job = ctx.job(job_id, provider="mock", data=data)
        if polling is None:
            if failure_at_end:
                raise GenerationFailedError(
                    "mock generation failed", ctx.provider, ctx.model, job_id, retryable=True
                )
            return await self._build_off_loop(ctx, job, choice)
        return job

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        if job.provider_request_id in self._cancelled:
            return JobStatus(state="cancelled", message="cancelled by request")
        polling = MockPollingConfig.model_validate(job.data.get("polling") or {})
        statuses = list(polling.status_sequence) or ["completed"]
        if job.data.get("fail") and statuses[-1] != "failed":
            statuses[-1] = "failed"
        delay = polling.delay_between_updates
        elapsed = time.time() - float(job.data.get("started", time.time()))
        step = len(statuses) - 1 if delay <= 0 else min(int(elapsed / delay), len(statuses) - 1)
        state = statuses[step]
        percents = polling.progress_percentages
        if percents and step < len(percents):
            percent: int | None = percents[step]
        else:
            percent = round(100 * step / max(1, len(statuses) - 1))
        custom = (
            polling.custom_updates[step]
            if polling.custom_updates and step < len(polling.custom_updates)
            else {}
        )
        remaining = delay - (elapsed - step * delay) if delay > 0 else 0
        if state == "failed":
            error = GenerationFailedError(
                "mock generation failed",
                ctx.provider,
                ctx.model,
                job.provider_request_id,
                retryable=True,
            )
            return JobStatus(state="failed", message=error.message, error=error, raw=custom)
        return JobStatus(
            state=state,
            progress_percent=percent,
            queue_position=max(0, 2 - step) if state == "queued" else None,
            logs=[f"mock step {step + 1}/{len(statuses)}: {state}"],
            raw={"step": step, **custom},
            poll_after=max(0.02, remaining),
        )

    async def result(self, ctx: AttemptContext, job: JobRef) -> BaseGenerationResponse:
        mock = self._mock_config(ctx.config)
        index = int(job.data.get("choice", -1))
        choice = (
            mock.responses[index] if mock.responses and 0 <= index < len(mock.responses) else None
        )
        # Encoding media is CPU work: keep it off the event loop.
        response: BaseGenerationResponse = await self._build_off_loop(ctx, job, choice)
        return response

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
        self._cancelled.add(job.provider_request_id)
        return True

    # ------------------------------------------------------------------ streaming

    supports_streaming: ClassVar[bool] = True

    def stream_format(self, prepared: Prepared) -> tuple[str, str] | None:
        fmt = prepared.payload.get("output_format") or {"format": "wav"}
        return _mock_audio_format(AudioOutputFormat.model_validate(fmt))

    async def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """The mock's speech in ~100 ms chunks (scripted errors and job polling apply)."""
        submission = await self.submit(ctx, prepared)
        while isinstance(submission, JobRef):
            status = await self.status(ctx, submission)
            if status.state == "completed":
                submission = await self.result(ctx, submission)
            elif status.state in ("failed", "cancelled"):
                raise (
                    status.error
                    if isinstance(status.error, TarashException)
                    else (
                        GenerationFailedError(
                            status.message or "mock generation failed", ctx.provider, ctx.model
                        )
                    )
                )
            else:
                await asyncio.sleep(min(max(status.poll_after or 0.05, 0.01), ctx.remaining()))
        audio = submission.audio_bytes if isinstance(submission, TTSResponse) else b""
        rate = getattr(submission, "sample_rate", None) or 24000
        size = max(512, int(rate * 2 * 0.1))
        for start in range(0, len(audio), size):
            yield audio[start : start + size]
            await asyncio.sleep(0)

    # ------------------------------------------------------------------ media

    async def _build_off_loop(
        self, ctx: AttemptContext, job: JobRef, choice: MockResponse | None
    ) -> Any:
        """The response, built inline when its media are cached, else in a worker thread
        (encoding a new picture, clip or sound takes milliseconds to seconds)."""
        try:
            with media.cache_only():
                return self._build(ctx, job, choice)
        except media.CacheMiss:
            return await asyncio.to_thread(self._build, ctx, job, choice)

    def _build(self, ctx: AttemptContext, job: JobRef, choice: MockResponse | None) -> Any:
        spec = OPERATIONS[ctx.operation]
        if choice is not None and choice.mock_response is not None:
            given = choice.mock_response
            fields = given.model_dump() if hasattr(given, "model_dump") else dict(given)
            fields.update(request_id=ctx.request_id, is_mock=True)
            return spec.response_type.model_validate(fields)
        payload: dict[str, Any] = job.data.get("payload", {})
        seed = int(job.data.get("seed", 0))
        common = {
            "provider_request_id": job.provider_request_id,
            "raw_response": {"mock": True, "seed": seed, "job": job.provider_request_id},
            "cost": Cost(amount=0.0, unit="usd", source="provider", detail={"mock": True}),
        }
        if ctx.operation == "video":
            request = VideoGenerationRequest.model_validate(payload)
            source = job.data.get("video_source")
            if source is not None and choice is None:
                return self._video_from(ctx, request, source, seed, common)
            return self._video(ctx, request, seed, choice, common)
        if ctx.operation == "image":
            return self._image(ctx, ImageGenerationRequest.model_validate(payload), seed, common)
        if ctx.operation == "tts":
            return self._tts(ctx, TTSRequest.model_validate(payload), seed, common)
        return self._sts(ctx, payload, job.data.get("input_duration"), seed, common)

    def _video_from(
        self,
        ctx: AttemptContext,
        request: VideoGenerationRequest,
        source: dict[str, Any],
        seed: int,
        common: dict[str, Any],
    ) -> Any:
        """An edit or an extension of the input video (``video_edit``)."""
        clip, duration = video_edit.render(source, request.duration_seconds, seed)
        width, height = int(source["width"]), int(source["height"])
        return ctx.video_response(
            video=MediaContent(content=clip, content_type="video/mp4"),
            content_type="video/mp4",
            duration=duration,
            width=width,
            height=height,
            resolution=f"{min(width, height)}p",
            aspect_ratio=_ratio_text(width, height),
            file_size=len(clip),
            seed=seed,
            **common,
        )

    def _video(
        self,
        ctx: AttemptContext,
        request: VideoGenerationRequest,
        seed: int,
        choice: MockResponse | None,
        common: dict[str, Any],
    ) -> Any:
        duration = float(request.duration_seconds or 4)
        width, height = _video_size(request.aspect_ratio, request.resolution)
        if choice is not None and choice.output_video is not None:
            video: Any = choice.output_video
            if isinstance(video, dict) and choice.output_video_type == "url":
                video = to_data_uri(video["content"], video["content_type"])
            return ctx.video_response(
                video=str(video)
                if not isinstance(video, dict)
                else MediaContent(content=video["content"], content_type=video["content_type"]),
                content_type="video/mp4",
                duration=duration,
                **common,
            )
        clips = [
            MediaContent(
                content=media.cached_mp4(width, height, duration, fps=12, seed=seed + i),
                content_type="video/mp4",
            )
            for i in range(request.number_of_videos)
        ]
        return ctx.video_response(
            video=clips[0],
            videos=clips,
            content_type="video/mp4",
            duration=duration,
            width=width,
            height=height,
            resolution=request.resolution or f"{min(width, height)}p",
            aspect_ratio=request.aspect_ratio or _ratio_text(width, height),
            file_size=len(clips[0]["content"]),
            seed=seed,
            **common,
        )

    def _image(
        self,
        ctx: AttemptContext,
        request: ImageGenerationRequest,
        seed: int,
        common: dict[str, Any],
    ) -> Any:
        width, height = _image_size(request.size, request.aspect_ratio)
        count = request.n or 1
        images = [media.cached_png_base64(width, height, seed=seed + i) for i in range(count)]
        return ctx.image_response(
            images=images,
            content_type="image/png",
            width=width,
            height=height,
            seed=seed,
            revised_prompt=request.prompt,
            **common,
        )

    def _tts(
        self, ctx: AttemptContext, request: TTSRequest, seed: int, common: dict[str, Any]
    ) -> Any:
        duration = min(30.0, max(0.5, len(request.text) / 15.0))
        return self._audio(ctx, request.output_format, duration, seed, common)

    def _sts(
        self,
        ctx: AttemptContext,
        payload: dict[str, Any],
        duration: float | None,
        seed: int,
        common: dict[str, Any],
    ) -> Any:
        output_format = AudioOutputFormat.model_validate(
            payload.get("output_format") or {"format": "wav"}
        )
        return self._audio(ctx, output_format, duration or 2.0, seed, common)

    def _audio(
        self,
        ctx: AttemptContext,
        output_format: AudioOutputFormat,
        duration: float,
        seed: int,
        common: dict[str, Any],
    ) -> Any:
        rate = output_format.sample_rate or 24000
        fmt, ctype = _mock_audio_format(output_format)
        kind = "pcm" if output_format.format == "pcm" else "wav"
        audio = media.cached_audio_base64(kind, duration, sample_rate=rate, seed=seed)
        return ctx.audio_response(
            audio=audio,
            content_type=ctype,
            duration=duration,
            sample_rate=rate,
            output_format=fmt,
            **common,
        )


def _mock_audio_format(output_format: AudioOutputFormat) -> tuple[str, str]:
    """The mock produces raw PCM when asked for PCM, WAV for everything else."""
    rate = output_format.sample_rate or 24000
    if output_format.format == "pcm":
        return f"pcm_{rate}", "audio/pcm"
    return f"wav_{rate}", "audio/wav"


def _canonical(value: Any) -> Any:
    """A JSON-safe value that is identical across processes (sets sorted, objects typed)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=repr)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _canonical(dump(mode="json"))
    return type(value).__name__


def _jsonable_payload(payload: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _canonical(payload)
    return out


def _check_mock_combinations(
    operation: Operation,
    config: BaseGenerationConfig,
    request: BaseGenerationRequest,
    warnings: list[str],
) -> None:
    """As strict as the models it stands in for, and honest about what it renders.

    An image ``size`` whose ratio contradicts ``aspect_ratio`` is refused (no image model
    can honour both; the mock renders ``size`` and the ratio it implies). Its video has
    no soundtrack, so ``generate_audio=True`` says so instead of passing silently.
    """
    if operation == "image":
        size = getattr(request, "size", None)
        ratio = getattr(request, "aspect_ratio", None)
        if size and ratio and "x" in size.lower() and ":" in ratio:
            try:
                w, h = (int(x) for x in size.lower().split("x"))
                a, b = (float(x) for x in ratio.split(":"))
            except ValueError:
                return
            if h and b and abs(w / h - a / b) > 0.02:
                raise ValidationError(
                    f"size {size} is {_ratio_text(w, h)}, which contradicts aspect_ratio "
                    f"{ratio}; pass one of them",
                    "mock",
                    config.model,
                    field="aspect_ratio",
                )
    if operation == "video" and getattr(request, "generate_audio", None):
        warnings.append(
            "the mock's video has no soundtrack: generate_audio=True was accepted, not rendered"
        )


def _video_size(aspect_ratio: str | None, resolution: str | None) -> tuple[int, int]:
    long_side = _LONG_SIDE.get(resolution or "", 320)
    ratio = 16 / 9
    if aspect_ratio and ":" in aspect_ratio:
        w, h = (float(x) for x in aspect_ratio.split(":"))
        ratio = w / h
    if ratio >= 1:
        width, height = float(long_side), long_side / ratio
    else:
        width, height = long_side * ratio, float(long_side)
    return max(16, _even(width)), max(16, _even(height))


def _image_size(size: str | None, aspect_ratio: str | None) -> tuple[int, int]:
    if size and "x" in size.lower():
        try:
            w, h = (int(x) for x in size.lower().split("x"))
        except ValueError:
            w, h = 512, 512
        scale = min(1.0, _MAX_IMAGE_SIDE / max(w, h, 1))
        return max(16, _even(w * scale)), max(16, _even(h * scale))
    ratio = 1.0
    if aspect_ratio and ":" in aspect_ratio:
        a, b = (float(x) for x in aspect_ratio.split(":"))
        ratio = a / b
    base = 512
    if ratio >= 1:
        return base, max(16, _even(base / ratio))
    return max(16, _even(base * ratio)), base


def _even(value: float) -> int:
    return int(value) // 2 * 2


def _ratio_text(width: int, height: int) -> str:
    g = math.gcd(width, height)
    return f"{width // g}:{height // g}"


def _wav_duration(request: STSRequest) -> float | None:
    try:
        item = to_media_input(request.audio)
        if item.is_url:
            return None
        data, _ = item.read_local()
        with wave.open(io.BytesIO(data)) as wav:
            frames: int = wav.getnframes()
            rate: int = wav.getframerate()
            return frames / float(rate)
    except Exception:
        return None
