"""The path of one request, top to bottom: validate → map → submit → poll → convert → fall back.

:func:`execute` is what every ``generate_*`` function runs:

1. **Plan** — resolve a handler for every config of the chain (the mock for
   mocked configs) and *prepare* each one: validate and map the request for
   that model. Any invalid config/request pair fails here, before anything is
   sent or charged.
2. **Attempt** — for each config in order, up to ``retry.max_retries + 1``
   attempts with exponential backoff and full jitter (tenacity), honouring
   ``Retry-After``; a non-retryable error (validation, moderation, auth) stops
   the whole chain at once; a retryable one moves on to the next config once
   the retries are spent.
3. **Submit** — a direct operation returns its response; a polled one returns a
   :class:`JobRef`, which is recorded in the job store at once.
4. **Poll** — the handler's stream (``watch``) or adaptive polling of
   ``status`` (provider hints and queue position respected, transient poll
   errors tolerated), bounded by ``config.timeout`` and ``max_poll_attempts``.
   On timeout or caller cancellation the job is cancelled upstream *before*
   any fallback starts.
5. **Convert** — the handler's ``result``; an empty result counts as a failed
   attempt; execution metadata (every attempt, UTC timings, fallbacks) is
   attached to the response, or to the exception when everything failed.

Nothing here is provider specific. Progress callbacks (sync or async) are
observers: an exception inside one is logged and never affects the request.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import logging
import math
import os
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception

from tarash.tarash_gateway._secrets import redact_text, redact_value
from tarash.tarash_gateway.exceptions import (
    GenerationFailedError,
    OperationNotSupportedError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.exceptions import TimeoutError as GatewayTimeoutError
from tarash.tarash_gateway.http import error_from_transport
from tarash.tarash_gateway.jobs import JobRef, JobStatus, get_job_store, utcnow
from tarash.tarash_gateway.logging import get_logger, log_debug, log_info, log_warning
from tarash.tarash_gateway.media import MediaTooLargeError
from tarash.tarash_gateway.models import (
    OPERATIONS,
    AttemptMetadata,
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    ExecutionMetadata,
    ImageGenerationResponse,
    OperationSpec,
    RetryPolicy,
    VideoGenerationResponse,
    operation_for_request,
)
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
    Prepared,
    new_request_id,
)
from tarash.tarash_gateway.registry import get_handler

__all__ = [
    "Plan",
    "backoff_delay",
    "cancel_job",
    "execute",
    "get_job_status",
    "mock_forced",
    "plan_chain",
    "record_failure",
    "should_retry",
    "submit_job",
    "wait_for_job",
]

T = TypeVar("T")
_LOG = "orchestrator"
_logger = get_logger(_LOG)
MOCK_ENV = "TARASH_GATEWAY_MOCK"
_MAX_POLL_FAILURES = 5
_CANCEL_BUDGET = 15.0


# ============================================================================ 1. plan


@dataclass
class Plan:
    """One config of the chain with its handler and its prepared request."""

    index: int
    config: BaseGenerationConfig
    handler: Any
    prepared: Prepared | None  # None: custom handler without the step interface
    is_mock: bool


def mock_forced() -> bool:
    """Whether ``TARASH_GATEWAY_MOCK`` sends every request to the offline mock."""
    return os.environ.get(MOCK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _handler_for(config: BaseGenerationConfig, override: Any = None) -> tuple[Any, bool]:
    if override is not None:
        return override, bool(getattr(override, "name", "") == "mock")
    if config.is_mock or mock_forced():
        return get_handler("mock"), True
    return get_handler(config.provider), False


def plan_chain(
    spec: OperationSpec,
    chain: list[BaseGenerationConfig],
    request: BaseGenerationRequest,
    override: Any,
) -> list[Plan]:
    """Resolve a handler for every config and prepare the request for each (no network).

    Raises the first validation/support error, naming the config at fault.
    """
    plans: list[Plan] = []
    for index, config in enumerate(chain):
        if not isinstance(config, spec.config_type):
            raise TypeError(
                f"{spec.name} generation needs a {spec.config_type.__name__}, "
                f"got {type(config).__name__} (chain position {index})"
            )
        handler, is_mock = _handler_for(config, override if index == 0 else None)
        if isinstance(handler, BaseProviderHandler):
            prepared = handler.prepare(spec.name, config, request)
        else:
            if not callable(getattr(handler, f"{spec.method}_async", None)) and not callable(
                getattr(handler, spec.method, None)
            ):
                raise OperationNotSupportedError(
                    f"provider {config.provider!r} does not support {spec.name} generation "
                    f"(its handler has no {spec.method} method)",
                    config.provider,
                    config.model,
                )
            prepared = None
        plans.append(Plan(index, config, handler, prepared, is_mock))
    return plans


# ============================================================================ progress


def _is_async_callable(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )


def _redacted_update_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Provider payloads reach the caller's callback scrubbed of secrets, percent in range."""
    out = dict(fields)
    if out.get("update"):
        out["update"] = redact_value(out["update"], max_str=1_000_000)
    if out.get("logs"):
        out["logs"] = [redact_text(str(line)) for line in out["logs"]]
    if out.get("error"):
        out["error"] = redact_text(str(out["error"]))
    percent = out.get("progress_percent")
    if percent is not None:
        out["progress_percent"] = max(0, min(100, int(percent)))
    return out


class _Progress:
    """Turns job observations into the operation's update model and calls the user."""

    def __init__(
        self, callback: Callable[[Any], Any] | None, spec: OperationSpec, request_id: str
    ) -> None:
        self.callback = callback
        self.spec = spec
        self.request_id = request_id
        self.started = time.monotonic()

    async def send(self, **fields: Any) -> None:
        if self.callback is None:
            return
        try:
            update = self.spec.update_type(
                request_id=self.request_id,
                elapsed_seconds=round(time.monotonic() - self.started, 3),
                **_redacted_update_fields(fields),
            )
            if _is_async_callable(self.callback):
                await self.callback(update)
            else:
                # Sync callbacks run in a worker thread: a slow one must not stall the loop
                # (which, for the blocking API, every thread shares).
                outcome = await asyncio.to_thread(self.callback, update)
                if inspect.isawaitable(outcome):
                    await outcome
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug in the caller's callback must never fail or re-route the request.
            log_warning(
                "Progress callback raised; ignored",
                {"request_id": self.request_id},
                _LOG,
                exc_info=True,
            )

    async def observe(self, ctx: AttemptContext, job: JobRef | None, status: JobStatus) -> None:
        if status.state == "completed":
            state = "processing"
            percent: int | None = 100
        else:
            state = "failed" if status.state in ("failed", "cancelled") else status.state
            percent = status.progress_percent
        await self.send(
            status=state,
            progress_percent=percent,
            queue_position=status.queue_position,
            logs=list(status.logs),
            update={**status.raw, "message": status.message} if status.message else status.raw,
            error=status.message if state == "failed" else None,
            provider=ctx.provider,
            model=ctx.model,
            attempt=ctx.attempt_number,
            config_index=ctx.config_index,
            is_fallback=ctx.is_fallback,
            provider_request_id=job.provider_request_id if job else None,
            job=job,
        )


# ============================================================================ entry point


async def execute(
    config: BaseGenerationConfig,
    request: BaseGenerationRequest,
    on_progress: Callable[[Any], Any] | None = None,
    *,
    handler: Any = None,
    use_fallbacks: bool = True,
) -> Any:
    """Run one generation through the config chain; returns the operation's response.

    Raises:
        TarashException: the last error when every config failed (with
            ``execution_metadata`` attached), or the first non-retryable one.
    """
    spec = operation_for_request(request)
    request_id = new_request_id()
    chain = config.chain() if use_fallbacks else [config]
    metadata = ExecutionMetadata(configs_in_chain=len(chain))
    progress = _Progress(on_progress, spec, request_id)
    log_info(
        f"{spec.name} generation started",
        {"request_id": request_id, "chain": [f"{c.provider}:{c.model}" for c in chain]},
        _LOG,
    )
    try:
        plans = plan_chain(spec, chain, request, handler)
    except TarashException as exc:
        metadata.ended_at = utcnow()
        exc.execution_metadata = metadata
        raise

    total = config.retry.total_timeout
    deadline = time.monotonic() + total if total else math.inf
    last_error: TarashException | None = None
    for plan in plans:
        if time.monotonic() >= deadline:
            break
        try:
            response = await _attempts_for_config(
                plan, spec, request, request_id, metadata, progress, deadline
            )
        except TarashException as exc:
            last_error = exc
            if not exc.retryable:
                break
            log_info(
                "Config failed with a retryable error; trying the next config",
                {"request_id": request_id, "provider": plan.config.provider, "error": str(exc)},
                _LOG,
            )
            continue
        metadata.ended_at = utcnow()
        log_info(
            f"{spec.name} generation completed",
            {
                "request_id": request_id,
                "provider": plan.config.provider,
                "attempts": metadata.total_attempts,
            },
            _LOG,
        )
        final = response.model_copy(
            update={"execution_metadata": metadata, "request_id": request_id}
        )
        await progress.send(
            status="completed",
            progress_percent=100,
            result=final,
            provider=plan.config.provider,
            model=plan.config.model,
            provider_request_id=final.provider_request_id,
            attempt=metadata.total_attempts,
        )
        return final

    if last_error is None:  # the total budget was spent before any attempt could start
        last_error = GatewayTimeoutError(
            f"total_timeout of {total}s spent before any attempt", config.provider, config.model
        )
    metadata.ended_at = utcnow()
    last_error.execution_metadata = metadata
    log_warning(
        f"{spec.name} generation failed",
        {"request_id": request_id, "error": str(last_error), "attempts": metadata.total_attempts},
        _LOG,
    )
    raise last_error


# ============================================================================ 2. attempts


def backoff_delay(policy: RetryPolicy, attempt_number: int, exc: BaseException | None) -> float:
    """Seconds to wait before retry ``attempt_number`` + 1: exponential backoff with full
    jitter, never shorter than the provider's ``Retry-After`` (capped by the policy)."""
    ceiling = min(
        policy.max_delay, policy.initial_delay * policy.multiplier ** max(0, attempt_number - 1)
    )
    delay = random.uniform(0, ceiling) if policy.jitter else ceiling
    hinted = getattr(exc, "retry_after", None)
    if policy.honor_retry_after and hinted is not None:
        delay = max(delay, min(float(hinted), policy.max_retry_after))
    return delay


def should_retry(policy: RetryPolicy, exc: BaseException) -> bool:
    """Whether ``exc`` may be retried on the same config (timeouts go to the next config
    unless ``retry_on_timeout``)."""
    if not isinstance(exc, TarashException) or not exc.retryable:
        return False
    if not exc.retry_same_config:
        return False
    return not (isinstance(exc, GatewayTimeoutError) and not policy.retry_on_timeout)


async def _attempts_for_config(
    plan: Plan,
    spec: OperationSpec,
    request: BaseGenerationRequest,
    request_id: str,
    metadata: ExecutionMetadata,
    progress: _Progress,
    deadline: float = math.inf,
) -> BaseGenerationResponse:
    policy = plan.config.retry

    def left() -> float:
        return deadline - time.monotonic()

    retrying = AsyncRetrying(
        # Bounded in count, and by the call's total budget when there is one.
        stop=lambda state: state.attempt_number >= policy.max_retries + 1 or left() <= 0,
        wait=lambda state: max(
            0.0,
            min(
                left(),
                backoff_delay(
                    policy,
                    state.attempt_number,
                    state.outcome.exception() if state.outcome else None,
                ),
            ),
        ),
        retry=retry_if_exception(lambda exc: should_retry(policy, exc)),
        reraise=True,
    )
    retry_number = 0
    async for tenacity_attempt in retrying:
        with tenacity_attempt:
            record = AttemptMetadata(
                provider=plan.config.provider,
                model=plan.config.model,
                attempt_number=len(metadata.attempts) + 1,
                is_fallback=plan.index > 0,
                config_index=plan.index,
                retry_number=retry_number,
                is_mock=plan.is_mock,
            )
            retry_number += 1
            metadata.attempts.append(record)
            metadata.total_attempts = len(metadata.attempts)
            metadata.fallback_triggered = metadata.fallback_triggered or plan.index > 0
            ctx = AttemptContext(
                request_id=request_id,
                operation=spec.name,
                config=plan.config,
                provider=plan.config.provider,
                deadline=min(time.monotonic() + plan.config.timeout, deadline),
                attempt_number=record.attempt_number,
                config_index=plan.index,
                is_fallback=plan.index > 0,
                is_mock=plan.is_mock,
                warnings=list(plan.prepared.warnings) if plan.prepared else [],
            )
            try:
                response = await _one_attempt(plan, spec, request, ctx, record, progress)
            except TarashException as exc:
                record_failure(record, exc)
                await progress.send(
                    status="failed",
                    error=str(exc),
                    provider=ctx.provider,
                    model=ctx.model,
                    attempt=record.attempt_number,
                    config_index=plan.index,
                    is_fallback=plan.index > 0,
                    provider_request_id=record.request_id,
                )
                raise
            except asyncio.CancelledError:
                record.ended_at = utcnow()
                record.error_type = "CancelledError"
                record.error_message = "cancelled by the caller"
                raise
            record.status = "success"
            record.ended_at = utcnow()
            record.request_id = record.request_id or response.provider_request_id
            metadata.successful_attempt = record.attempt_number
            return response
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def record_failure(record: AttemptMetadata, exc: TarashException) -> None:
    """Close a failed attempt's record (shared by calls, jobs and TTS streams)."""
    record.ended_at = utcnow()
    record.status = "failed"
    record.error_type = type(exc).__name__
    record.error_message = exc.message
    record.is_retryable = exc.retryable
    record.request_id = record.request_id or exc.request_id
    if isinstance(exc, GatewayTimeoutError):
        record.cancelled_upstream = exc.cancelled_upstream


async def _one_attempt(
    plan: Plan,
    spec: OperationSpec,
    request: BaseGenerationRequest,
    ctx: AttemptContext,
    record: AttemptMetadata,
    progress: _Progress,
) -> BaseGenerationResponse:
    if plan.prepared is None:
        response = await _custom_handler_attempt(plan, spec, request, ctx, progress)
    else:
        response = await _step_attempt(plan.handler, ctx, plan.prepared, record, progress)
    if not isinstance(response, spec.response_type):
        raise GenerationFailedError(
            f"{ctx.provider} returned {type(response).__name__} for a {spec.name} request",
            ctx.provider,
            ctx.model,
        )
    _check_not_empty(response, ctx)
    return response


async def _custom_handler_attempt(
    plan: Plan,
    spec: OperationSpec,
    request: BaseGenerationRequest,
    ctx: AttemptContext,
    progress: _Progress,
) -> BaseGenerationResponse:
    """A user handler with only ``generate_*`` methods: one call under the attempt deadline.

    The caller's ``on_progress`` is forwarded, its updates stamped with our request id,
    provider, model and attempt.
    """

    async def forward(update: Any) -> None:
        fields = update.model_dump(exclude={"request_id", "elapsed_seconds"}, exclude_none=True)
        fields.update(provider=ctx.provider, model=ctx.model, attempt=ctx.attempt_number)
        await progress.send(**fields)

    method = getattr(plan.handler, f"{spec.method}_async", None)
    try:
        async with asyncio.timeout(ctx.remaining()):
            if callable(method):
                response = await method(plan.config, request, forward)
            else:
                sync_method = getattr(plan.handler, spec.method)
                loop = asyncio.get_running_loop()

                def forward_sync(update: Any) -> None:
                    asyncio.run_coroutine_threadsafe(forward(update), loop).result(30)

                response = await asyncio.to_thread(sync_method, plan.config, request, forward_sync)
    except builtins.TimeoutError as exc:
        raise GatewayTimeoutError(
            f"{ctx.provider} did not answer within {plan.config.timeout:g}s",
            ctx.provider,
            ctx.model,
            timeout_seconds=plan.config.timeout,
        ) from exc
    except (TarashException, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise _map_exception(None, ctx, exc) from exc
    if not isinstance(response, spec.response_type):
        raise GenerationFailedError(
            f"handler returned {type(response).__name__}, expected {spec.response_type.__name__}",
            ctx.provider,
            ctx.model,
        )
    return response


def _check_not_empty(response: BaseGenerationResponse, ctx: AttemptContext) -> None:
    empty = False
    if isinstance(response, VideoGenerationResponse):
        empty = not response.video
    elif isinstance(response, ImageGenerationResponse):
        empty = not response.images
    else:
        empty = not getattr(response, "audio", "x")
    if empty:
        raise GenerationFailedError(
            f"{ctx.provider} reported success but returned no media",
            ctx.provider,
            ctx.model,
            response.provider_request_id,
            response.raw_response,
            retryable=True,
        )


# ============================================================================ 3-5. steps


def _map_exception(
    handler: BaseProviderHandler | None, ctx: AttemptContext, exc: BaseException
) -> TarashException:
    """The typed error for an exception a handler let through."""
    mapped = handler.map_error(exc, ctx) if handler is not None else None
    if mapped is not None:
        return mapped
    if isinstance(exc, MediaTooLargeError):
        return ValidationError(str(exc), ctx.provider, ctx.model, field="media")
    module = type(exc).__module__
    if isinstance(exc, OSError | builtins.TimeoutError) or module.startswith(
        ("httpx", "httpcore", "httpx2", "aiohttp")
    ):
        return error_from_transport(exc, provider=ctx.provider, model=ctx.model)
    return GenerationFailedError(
        f"{ctx.provider} raised {type(exc).__name__}: {exc}", ctx.provider, ctx.model
    )


async def _guard(handler: BaseProviderHandler, ctx: AttemptContext, call: Awaitable[T]) -> T:
    """Await a handler step, translating SDK/transport exceptions into typed errors.

    An SDK's own timeout (``TimeoutError`` from inside the step) becomes a retryable
    gateway timeout for that one call; the attempt's deadline arrives here as a
    cancellation instead, and is handled by the caller's ``asyncio.timeout``.
    """
    try:
        return await call
    except (TarashException, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise _map_exception(handler, ctx, exc) from exc


async def _step_attempt(
    handler: BaseProviderHandler,
    ctx: AttemptContext,
    prepared: Prepared,
    record: AttemptMetadata | None,
    progress: _Progress,
) -> BaseGenerationResponse:
    async def report(status: JobStatus) -> None:
        await progress.observe(ctx, None, status)

    ctx.report = report
    try:
        async with asyncio.timeout(ctx.remaining()):
            submission = await _guard(handler, ctx, handler.submit(ctx, prepared))
    except builtins.TimeoutError as exc:
        raise GatewayTimeoutError(
            f"{ctx.provider} did not accept the {ctx.operation} request within "
            f"{ctx.config.timeout:g}s",
            ctx.provider,
            ctx.model,
            timeout_seconds=ctx.config.timeout,
        ) from exc
    if isinstance(submission, BaseGenerationResponse):
        return submission
    job = submission
    if record is not None:
        record.request_id = job.provider_request_id
    if _logger.isEnabledFor(logging.DEBUG):  # the dump is not free on the hot path
        log_debug(
            "Job accepted",
            {"request_id": ctx.request_id, "job": job.model_dump(mode="json")},
            _LOG,
        )
    return await _wait(handler, ctx, job, progress, accepted=True)


class _PollBudgetExceeded(Exception):
    pass


async def _store_write(job: JobRef, state: str, error: str | None = None) -> None:
    """Record a job state; a failing store is logged and never replaces the real outcome."""
    store = get_job_store()
    try:
        if state == "submitted":
            await store.record(job)
        else:
            await store.update(job, state, error)
    except Exception:
        log_warning(
            "Job store write failed",
            {"job": job.provider_request_id, "state": state},
            _LOG,
            exc_info=True,
        )


async def _abandon(
    handler: BaseProviderHandler, ctx: AttemptContext, job: JobRef, reason: str
) -> bool:
    """Our wait for ``job`` ended early: cancel it upstream, or record it as abandoned."""
    cancelled = await _cancel_upstream(handler, ctx, job)
    await _store_write(job, "cancelled" if cancelled else "abandoned", redact_text(reason))
    return cancelled


async def _wait(
    handler: BaseProviderHandler,
    ctx: AttemptContext,
    job: JobRef,
    progress: _Progress,
    *,
    accepted: bool = False,
) -> BaseGenerationResponse:
    """Observe ``job`` until it finishes, then fetch its result.

    Whatever ends the wait early — the deadline, the poll budget, the caller's
    cancellation, a polling error, an exception from a callback — the job is cancelled
    upstream first (or, when the provider cannot confirm, kept in the job store as
    ``abandoned`` and attached to the error), so a retry or fallback never leaves a
    paid job running unnoticed.
    """
    if accepted:
        await _store_write(job, "submitted")
    try:
        if accepted:
            await progress.observe(ctx, job, JobStatus(state="queued"))
        async with asyncio.timeout(ctx.remaining()):
            final = await _observe(handler, ctx, job, progress)
    except (builtins.TimeoutError, _PollBudgetExceeded) as exc:
        reason = (
            f"{ctx.config.max_poll_attempts} status polls"
            if isinstance(exc, _PollBudgetExceeded)
            else f"{ctx.config.timeout:g}s"
        )
        cancelled = await asyncio.shield(_abandon(handler, ctx, job, f"timeout ({reason})"))
        error = GatewayTimeoutError(
            f"{ctx.operation} job on {ctx.provider} did not finish within {reason}"
            + ("; cancelled upstream" if cancelled else "; upstream cancel not confirmed"),
            ctx.provider,
            ctx.model,
            job.provider_request_id,
            timeout_seconds=ctx.config.timeout,
            cancelled_upstream=cancelled,
        )
        if not cancelled:
            error.job = job
        raise error from None
    except BaseException as exc:
        reason = "cancelled by the caller" if isinstance(exc, asyncio.CancelledError) else str(exc)
        await asyncio.shield(_abandon(handler, ctx, job, reason))
        if isinstance(exc, TarashException):
            exc.job = exc.job or job
            exc.request_id = exc.request_id or job.provider_request_id
        raise

    if final.state == "completed":
        return await _fetch_result(handler, ctx, job)
    await _store_write(job, final.state, final.message)
    if final.error is not None and isinstance(final.error, TarashException):
        err = final.error
    else:
        # An unclassified failure at the provider: another config may well succeed.
        err = GenerationFailedError(
            final.message or f"{ctx.operation} job {final.state} at {ctx.provider}",
            ctx.provider,
            ctx.model,
            job.provider_request_id,
            final.raw,
            retryable=final.state == "failed",
        )
    err.request_id = err.request_id or job.provider_request_id
    raise err


_RESULT_TRIES = 3


async def _fetch_result(
    handler: BaseProviderHandler, ctx: AttemptContext, job: JobRef
) -> BaseGenerationResponse:
    """Fetch a completed job's result, retrying the (idempotent) fetch itself on transient
    errors: resubmitting would pay for the job twice."""
    for attempt in range(1, _RESULT_TRIES + 1):
        try:
            async with asyncio.timeout(max(ctx.remaining(), 30.0)):
                response = await _guard(handler, ctx, handler.result(ctx, job))
        except builtins.TimeoutError:
            error: TarashException = GatewayTimeoutError(
                f"fetching the result of {job.provider_request_id} timed out",
                ctx.provider,
                ctx.model,
                job.provider_request_id,
            )
        except TarashException as exc:
            error = exc
        else:
            await _store_write(job, "completed")
            return response
        if not error.retryable or attempt == _RESULT_TRIES:
            await _store_write(job, "result_pending", redact_text(str(error)))
            error.job = error.job or job
            error.request_id = error.request_id or job.provider_request_id
            raise error
        await asyncio.sleep(min(0.5 * attempt, max(0.0, ctx.remaining())))
    raise AssertionError("unreachable")  # pragma: no cover


async def _as_generator(stream: AsyncIterator[JobStatus]) -> AsyncGenerator[JobStatus, None]:
    """Wrap any async iterator so ``aclosing`` can close the provider's stream early."""
    try:
        async for item in stream:
            yield item
    finally:
        closer = getattr(stream, "aclose", None)
        if closer is not None:
            await closer()


def _next_delay(ctx: AttemptContext, status: JobStatus | None, previous: float) -> float:
    """Adaptive polling: provider hint first, slow while deep in a queue, else grow to the cap."""
    cap = ctx.config.poll_interval
    if status is not None and status.poll_after is not None:
        return max(0.05, min(status.poll_after, ctx.remaining()))
    if status is not None and status.state == "queued" and (status.queue_position or 0) > 5:
        return cap
    return min(cap, max(0.25, previous * 1.5))


async def _observe(
    handler: BaseProviderHandler, ctx: AttemptContext, job: JobRef, progress: _Progress
) -> JobStatus:
    stream: AsyncIterator[JobStatus] | None = handler.watch(ctx, job)
    if stream is not None:
        try:
            async with contextlib.aclosing(_as_generator(stream)) as statuses:
                async for status in statuses:
                    await progress.observe(ctx, job, status)
                    if status.is_terminal:
                        return status
        except (asyncio.CancelledError, builtins.TimeoutError):
            raise
        except Exception as exc:
            mapped = exc if isinstance(exc, TarashException) else _map_exception(handler, ctx, exc)
            if not mapped.retryable:
                raise mapped from exc
            log_debug("Status stream broke; polling instead", {"error": str(mapped)}, _LOG)
    delay = min(ctx.config.poll_interval, 0.5)
    polls = 0
    failures = 0
    while True:
        await asyncio.sleep(delay)
        try:
            status = await _guard(handler, ctx, handler.status(ctx, job))
        except TarashException as exc:
            failures += 1
            if not exc.retryable or failures > _MAX_POLL_FAILURES:
                raise
            delay = max(exc.retry_after or 0.0, min(ctx.config.poll_interval, delay * 2))
            log_debug(
                "Transient status error; polling again",
                {"request_id": ctx.request_id, "error": str(exc), "delay": delay},
                _LOG,
            )
            continue
        failures = 0
        polls += 1
        await progress.observe(ctx, job, status)
        if status.is_terminal:
            return status
        if polls >= ctx.config.max_poll_attempts:
            raise _PollBudgetExceeded
        delay = _next_delay(ctx, status, delay)


async def _cancel_upstream(handler: BaseProviderHandler, ctx: AttemptContext, job: JobRef) -> bool:
    try:
        async with asyncio.timeout(_CANCEL_BUDGET):
            confirmed = await _guard(handler, ctx, handler.cancel(ctx, job))
    except (TarashException, builtins.TimeoutError) as exc:
        log_warning(
            "Upstream cancel failed; the job may still run and bill",
            {"request_id": ctx.request_id, "job": job.provider_request_id, "error": str(exc)},
            _LOG,
        )
        return False
    log_info(
        "Cancelled job upstream" if confirmed else "Upstream cancel not confirmed",
        {"request_id": ctx.request_id, "job": job.provider_request_id},
        _LOG,
    )
    return bool(confirmed)


# ============================================================================ durable jobs API


def _context_for_job(
    job: JobRef, config: BaseGenerationConfig | None
) -> tuple[BaseProviderHandler, AttemptContext, OperationSpec]:
    spec = OPERATIONS[job.operation]
    if config is None:
        config = spec.config_type(provider=job.provider, model=job.model, base_url=job.base_url)
    handler = get_handler("mock") if job.provider == "mock" else get_handler(job.provider)
    if not isinstance(handler, BaseProviderHandler):
        raise OperationNotSupportedError(
            f"provider {job.provider!r} has no resumable jobs", job.provider, job.model
        )
    # A reference comes back from storage: it must not steer the key elsewhere.
    handler.validate_job(job, config)
    ctx = AttemptContext(
        request_id=job.request_id,
        operation=job.operation,
        config=config,
        provider=job.provider if job.provider != "mock" else config.provider,
        deadline=time.monotonic() + config.timeout,
        is_mock=job.provider == "mock",
    )
    return handler, ctx, spec


async def submit_job(
    config: BaseGenerationConfig, request: BaseGenerationRequest
) -> JobRef | BaseGenerationResponse:
    """Validate and submit without waiting; a :class:`JobRef` for polled operations.

    Direct operations (most images and audio) return their response. The job
    is recorded in the job store; resume it with :func:`wait_for_job`.
    """
    spec = operation_for_request(request)
    plan = plan_chain(spec, [config], request, None)[0]
    if plan.prepared is None:
        raise OperationNotSupportedError(
            f"provider {config.provider!r} has no step interface to submit jobs",
            config.provider,
            config.model,
        )
    ctx = AttemptContext(
        request_id=new_request_id(),
        operation=spec.name,
        config=config,
        provider=config.provider,
        deadline=time.monotonic() + config.timeout,
        is_mock=plan.is_mock,
        warnings=list(plan.prepared.warnings),
    )
    handler: BaseProviderHandler = plan.handler
    submission = await _guard(handler, ctx, handler.submit(ctx, plan.prepared))
    if isinstance(submission, JobRef):
        await get_job_store().record(submission)
    return submission


async def wait_for_job(
    job: JobRef,
    config: BaseGenerationConfig | None = None,
    on_progress: Callable[[Any], Any] | None = None,
) -> Any:
    """Wait for an accepted job (from any process) and return its response.

    ``config`` supplies the API key and settings (timeout, polling); without it
    the provider's environment key and default settings are used.
    """
    handler, ctx, spec = _context_for_job(job, config)
    progress = _Progress(on_progress, spec, job.request_id)
    metadata = ExecutionMetadata(configs_in_chain=1)
    record = AttemptMetadata(
        provider=ctx.config.provider,
        model=job.model,
        attempt_number=1,
        request_id=job.provider_request_id,
        is_mock=ctx.is_mock,
    )
    metadata.attempts.append(record)
    metadata.total_attempts = 1
    try:
        response = await _wait(handler, ctx, job, progress)
        _check_not_empty(response, ctx)
    except TarashException as exc:
        record_failure(record, exc)
        metadata.ended_at = utcnow()
        exc.execution_metadata = metadata
        raise
    record.status = "success"
    record.ended_at = metadata.ended_at = utcnow()
    metadata.successful_attempt = 1
    final = response.model_copy(update={"execution_metadata": metadata})
    await progress.send(
        status="completed",
        progress_percent=100,
        result=final,
        provider=ctx.provider,
        model=ctx.model,
        provider_request_id=job.provider_request_id,
        job=job,
    )
    return final


async def get_job_status(job: JobRef, config: BaseGenerationConfig | None = None) -> JobStatus:
    """One status observation of an accepted job."""
    handler, ctx, _ = _context_for_job(job, config)
    return await _guard(handler, ctx, handler.status(ctx, job))


async def cancel_job(job: JobRef, config: BaseGenerationConfig | None = None) -> bool:
    """Ask the provider to cancel an accepted job; True when it confirmed."""
    handler, ctx, _ = _context_for_job(job, config)
    confirmed = await _cancel_upstream(handler, ctx, job)
    await get_job_store().update(job, "cancelled" if confirmed else "cancel_requested")
    return confirmed
