"""The one handler contract of the core: steps around a serialisable :class:`JobRef`.

Every handler the orchestrator runs is a :class:`StepHandler`:

1. :meth:`~StepHandler.prepare` — validate and map the request for one config
   (pure: no network, no I/O). Every config of a fallback chain is prepared
   before anything is sent, so a doomed request is rejected before it costs anything.
2. :meth:`~StepHandler.submit` — send it. A :class:`JobRef` for polled operations
   (video on most providers), or the finished response for direct ones.
3. :meth:`~StepHandler.status` / :meth:`~StepHandler.watch` — observe a job.
4. :meth:`~StepHandler.result` — fetch and convert the finished job.
5. :meth:`~StepHandler.cancel` — ask the provider to stop the job.

Built-in providers subclass :class:`~tarash.tarash_gateway.providers.base.BaseProviderHandler`
(credentials, cached clients, field-mapping validation on top of these steps); a
user's handler with only ``generate_*`` methods (the specification's
``ProviderHandler`` protocol) is wrapped in
:class:`~tarash.tarash_gateway.providers.adapter.ProtocolHandlerAdapter`, which
implements the same steps. This module imports nothing above it: the
orchestrator depends on it, never the other way round.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from tarash.tarash_gateway.exceptions import OperationNotSupportedError, TarashException
from tarash.tarash_gateway.jobs import JobRef, JobStatus, Operation
from tarash.tarash_gateway.models import (
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    Cost,
    ImageGenerationResponse,
    MediaOutput,
    STSResponse,
    TTSResponse,
    VideoGenerationResponse,
)

__all__ = [
    "AttemptContext",
    "CancelOutcome",
    "Prepared",
    "StepHandler",
    "Submission",
    "cancel_confirmed",
    "new_request_id",
]

CancelOutcome = Literal["cancelled", "already_completed", "not_found", "unconfirmed"]
"""What a provider answered to a cancel:

* ``cancelled`` — it confirmed the job is (being) stopped;
* ``already_completed`` — too late: the job finished (its result can still be fetched);
* ``not_found`` — it does not know the job (never accepted, or expired);
* ``unconfirmed`` — no answer we can rely on (the job may still run and bill).

Only ``cancelled`` is a confirmed cancel.
"""


def cancel_confirmed(outcome: bool | CancelOutcome) -> bool:
    """Whether a :meth:`StepHandler.cancel` answer confirms the job was stopped."""
    return outcome is True or outcome == "cancelled"


def new_request_id() -> str:
    """A fresh gateway request id."""
    return f"tg_{uuid.uuid4().hex}"


@dataclass
class Prepared:
    """A request validated and mapped for one config.

    Attributes:
        operation: The operation.
        request: The caller's request (unchanged).
        payload: The provider's parameters; media values are :class:`MediaInput`.
        mapping_key: Which field-mapping registry key matched (``None`` = generic).
        warnings: Things the caller should know (unsupported params under "warn" …).
    """

    operation: Operation
    request: BaseGenerationRequest
    payload: dict[str, Any]
    mapping_key: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class AttemptContext:
    """Everything a step needs to know about the attempt it serves (one per attempt).

    Per-job state a handler needs between steps belongs in the :class:`JobRef`
    (``data``), per-attempt state here — never on the handler, which the whole
    process shares.
    """

    request_id: str
    operation: Operation
    config: BaseGenerationConfig
    provider: str
    deadline: float = field(default_factory=lambda: time.monotonic() + 600)
    attempt_number: int = 1
    config_index: int = 0
    is_fallback: bool = False
    is_mock: bool = False
    blocking: bool = False
    """True when the caller used the blocking API (custom handlers get their sync method)."""
    warnings: list[str] = field(default_factory=list)
    report: Callable[[JobStatus], Awaitable[None]] | None = None
    gate_wait_seconds: float = 0.0
    """Time this attempt spent waiting for a provider request slot (handlers add to it)."""
    job_state: dict[str, Any] = field(default_factory=dict)
    """What a handler keeps between the steps of this attempt's job (a log cursor, the
    final status payload to build the result from). It dies with the attempt: a job
    resumed elsewhere starts without it, so handlers treat it as a cache, never as
    the only copy."""

    @property
    def model(self) -> str:
        """The model of this attempt."""
        return self.config.model

    def remaining(self) -> float:
        """Seconds left before the attempt's deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def http_timeout(self, cap: float = 120.0) -> float:
        """Timeout for one HTTP call: what is left of the attempt, at most ``cap``, at least 1 s."""
        return max(1.0, min(self.remaining(), cap))

    async def emit(self, status: JobStatus) -> None:
        """Report intermediate progress of a direct (non-polled) operation."""
        if self.report is not None:
            await self.report(status)

    # ---------------------------------------------------------------- typed builders

    def _common(
        self,
        provider_request_id: str | None,
        raw_response: Any,
        cost: Cost | None,
        warnings: list[str] | None,
    ) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "provider": self.provider,
            "model": self.model,
            "is_mock": self.is_mock,
            "warnings": [*self.warnings, *(warnings or [])],
            "provider_request_id": provider_request_id,
            "raw_response": raw_response,
            "cost": cost,
        }

    def video_response(
        self,
        *,
        video: MediaOutput,
        videos: Sequence[MediaOutput] | None = None,
        content_type: str | None = None,
        audio_url: str | None = None,
        duration: float | None = None,
        resolution: str | None = None,
        aspect_ratio: str | None = None,
        width: int | None = None,
        height: int | None = None,
        file_size: int | None = None,
        seed: int | None = None,
        provider_request_id: str | None = None,
        raw_response: Any = None,
        cost: Cost | None = None,
        warnings: list[str] | None = None,
    ) -> VideoGenerationResponse:
        """This attempt's video response, with the common fields filled in."""
        return VideoGenerationResponse(
            **self._common(provider_request_id, raw_response, cost, warnings),
            video=video,
            videos=list(videos or []),
            content_type=content_type,
            audio_url=audio_url,
            duration=duration,
            resolution=resolution,
            aspect_ratio=aspect_ratio,
            width=width,
            height=height,
            file_size=file_size,
            seed=seed,
        )

    def image_response(
        self,
        *,
        images: list[str],
        content_type: str | None = "image/png",
        revised_prompt: str | None = None,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        provider_request_id: str | None = None,
        raw_response: Any = None,
        cost: Cost | None = None,
        warnings: list[str] | None = None,
    ) -> ImageGenerationResponse:
        """This attempt's image response, with the common fields filled in."""
        return ImageGenerationResponse(
            **self._common(provider_request_id, raw_response, cost, warnings),
            images=images,
            content_type=content_type,
            revised_prompt=revised_prompt,
            width=width,
            height=height,
            seed=seed,
        )

    def audio_response(
        self,
        *,
        audio: str,
        content_type: str | None = None,
        duration: float | None = None,
        sample_rate: int | None = None,
        output_format: str | None = None,
        provider_request_id: str | None = None,
        raw_response: Any = None,
        cost: Cost | None = None,
        warnings: list[str] | None = None,
    ) -> TTSResponse | STSResponse:
        """This attempt's TTS or STS response (by the operation), common fields filled in."""
        cls = STSResponse if self.operation == "sts" else TTSResponse
        return cls(
            **self._common(provider_request_id, raw_response, cost, warnings),
            audio=audio,
            content_type=content_type,
            duration=duration,
            sample_rate=sample_rate,
            output_format=output_format,
        )

    def job(self, provider_request_id: str, **fields: Any) -> JobRef:
        """Build a :class:`JobRef` for a job the provider just accepted."""
        return JobRef(
            provider=fields.pop("provider", self.provider),
            model=self.model,
            operation=self.operation,
            provider_request_id=provider_request_id,
            request_id=self.request_id,
            base_url=self.config.base_url,
            **fields,
        )


Submission = JobRef | BaseGenerationResponse
"""What :meth:`StepHandler.submit` returns: a job to poll, or the finished response."""


class StepHandler:
    """The step contract the orchestrator runs (see the module docs).

    Class attributes:
        name: Registry name (``"fal"``).
        operations: Operations it offers.
        supports_streaming: True when :meth:`stream_tts` yields audio as it is generated.
    """

    name: ClassVar[str] = "base"
    operations: ClassVar[frozenset[Operation]] = frozenset()
    supports_streaming: ClassVar[bool] = False

    def supports(self, operation: Operation) -> bool:
        """Whether the provider offers ``operation``."""
        return operation in self.operations

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        """Validate and map ``request`` for ``config`` (no I/O). Raises ValidationError."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} does not support {operation} generation",
            self.name,
            config.model,
        )

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Submission:
        """Send the prepared request; a :class:`JobRef` for polled jobs, else the response."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} does not implement {prepared.operation}",
            self.name,
            ctx.model,
        )

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        """One observation of a submitted job."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} has no job status", self.name, ctx.model
        )

    def watch(self, ctx: AttemptContext, job: JobRef) -> AsyncIterator[JobStatus] | None:
        """Optional push/stream of status changes; ``None`` makes the orchestrator poll."""
        return None

    async def result(self, ctx: AttemptContext, job: JobRef) -> BaseGenerationResponse:
        """Fetch and convert the result of a completed job."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} has no job results", self.name, ctx.model
        )

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool | CancelOutcome:
        """Ask the provider to stop the job (see :data:`CancelOutcome`; ``True`` means
        ``"cancelled"``, ``False`` ``"unconfirmed"``)."""
        return "unconfirmed"

    async def find_submitted(
        self, ctx: AttemptContext, prepared: Prepared, sent_after: datetime, known: set[str]
    ) -> JobRef | None:
        """Find the job a submit with an unknown outcome may have created (reconciliation).

        Called once, after a submit was sent and its answer lost. A provider that can list
        its jobs returns the one job created at or after ``sent_after`` (give or take
        clock skew) from exactly the input this attempt sent, and not among ``known``
        (provider ids already recorded) — or ``None`` when there is none, or more than
        one (ambiguous: it is never guessed). The default cannot look.
        """
        return None

    def stream_tts(self, ctx: AttemptContext, prepared: Prepared) -> AsyncIterator[bytes]:
        """Yield TTS audio chunks as the provider produces them (see ``stream_tts``)."""
        raise OperationNotSupportedError(
            f"provider {self.name!r} cannot stream speech", self.name, ctx.model
        )

    def stream_format(self, prepared: Prepared) -> tuple[str, str] | None:
        """``(output_format, content_type)`` that :meth:`stream_tts` will produce, when it
        differs from what the request asked for (``None`` = as requested)."""
        return None

    def validate_job(self, job: JobRef, config: BaseGenerationConfig) -> None:
        """Refuse a stored job reference that must not be used with ``config``."""

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Translate an SDK/transport exception into a typed error (``None`` = unknown)."""
        return None
