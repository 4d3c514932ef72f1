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
import contextlib
import inspect
import logging
import math
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from tarash.tarash_gateway._secrets import redact_text, redact_value, scrub_exception
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    OperationNotSupportedError,
    TarashException,
    TarashTimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.http import error_from_transport, request_never_sent
from tarash.tarash_gateway.jobs import (
    JobRef,
    JobStatus,
    SubmitIntent,
    get_job_store,
    payload_hash_async,
    utcnow,
)
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
from tarash.tarash_gateway.providers.steps import (
    AttemptContext,
    CancelOutcome,
    Prepared,
    StepHandler,
    Submission,
    cancel_confirmed,
    new_request_id,
)
from tarash.tarash_gateway.registry import get_handler, resolve_provider_name

__all__ = [
    "Plan",
    "backoff_delay",
    "cancel_job",
    "execute",
    "fetch_job_result",
    "get_job_status",
    "map_exception",
    "mock_forced",
    "plan_chain",
    "record_failure",
    "run_chain",
    "should_retry",
    "submit_job",
    "submit_outcome",
    "wait_for_job",
]

T = TypeVar("T")
_LOG = "orchestrator"
_logger = get_logger(_LOG)
MOCK_ENV = "TARASH_GATEWAY_MOCK"
_MAX_POLL_FAILURES = 5
_CANCEL_BUDGET = 15.0
_LOOK_BUDGET = 10.0
"""Seconds for the one status look taken before a job is given up."""
_STREAM_IDLE_CAP = 15.0
"""A status stream silent this long (at most) gets a status poll as a backstop."""


# ============================================================================ 1. plan


@dataclass(frozen=True)
class Plan:
    """One config of the chain with its handler and its prepared request."""

    index: int
    config: BaseGenerationConfig
    handler: StepHandler
    prepared: Prepared
    is_mock: bool


def mock_forced() -> bool:
    """Whether ``TARASH_GATEWAY_MOCK`` sends every request to the offline mock."""
    return os.environ.get(MOCK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _handler_for(
    config: BaseGenerationConfig, override: StepHandler | None = None
) -> tuple[StepHandler, bool]:
    if override is not None:
        return override, override.name == "mock"
    if config.is_mock or mock_forced():
        return get_handler("mock"), True
    return get_handler(config.provider), False


def plan_chain(
    spec: OperationSpec,
    chain: list[BaseGenerationConfig],
    request: BaseGenerationRequest,
    override: StepHandler | None = None,
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
        prepared = handler.prepare(spec.name, config, request)
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
    handler: StepHandler | None = None,
    use_fallbacks: bool = True,
    blocking: bool = False,
) -> Any:
    """Run one generation through the config chain; returns the operation's response.

    ``blocking`` tells custom handlers that the caller used the blocking API (their
    sync method is then preferred).

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
        exc.attach(execution_metadata=metadata)
        raise

    async def attempt(plan: Plan, ctx: AttemptContext, record: AttemptMetadata) -> Any:
        return await _one_attempt(plan, spec, ctx, record, progress)

    async def failed(ctx: AttemptContext, record: AttemptMetadata, exc: TarashException) -> None:
        await progress.send(
            status="failed",
            error=str(exc),
            provider=ctx.provider,
            model=ctx.model,
            attempt=record.attempt_number,
            config_index=ctx.config_index,
            is_fallback=ctx.is_fallback,
            provider_request_id=record.request_id,
        )

    plan, response = await run_chain(
        plans,
        request_id=request_id,
        metadata=metadata,
        attempt=attempt,
        total_timeout=config.retry.total_timeout,
        blocking=blocking,
        on_failure=failed,
    )
    metadata.ended_at = utcnow()
    log_info(
        f"{spec.name} generation completed",
        {
            "request_id": request_id,
            "provider": plan.config.provider,
            "attempts": len(metadata.attempts),
        },
        _LOG,
    )
    final = response.model_copy(update={"execution_metadata": metadata, "request_id": request_id})
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


# ============================================================================ 2. the attempt engine


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
    unless ``retry_on_timeout``; unknown submit outcomes and failed generations never)."""
    if not isinstance(exc, TarashException) or not exc.retryable:
        return False
    if not exc.retry_same_config:
        return False
    return not (isinstance(exc, TarashTimeoutError) and not policy.retry_on_timeout)


def _moves_on(plan: Plan, exc: TarashException) -> bool:
    """Whether the chain continues with the next config after ``exc`` ended this one."""
    if not exc.retryable:
        return False
    return not (exc.outcome_unknown and plan.config.retry.on_unknown_outcome == "stop")


AttemptFn = Callable[[Plan, AttemptContext, AttemptMetadata], Awaitable[T]]
FailureHook = Callable[[AttemptContext, AttemptMetadata, TarashException], Awaitable[None]]


async def run_chain(
    plans: list[Plan],
    *,
    request_id: str,
    metadata: ExecutionMetadata,
    attempt: AttemptFn[T],
    total_timeout: float | None = None,
    blocking: bool = False,
    on_failure: FailureHook | None = None,
) -> tuple[Plan, T]:
    """The one attempt engine: every config of the chain in order, each retried under its
    ``RetryPolicy`` (backoff with jitter, Retry-After), within the call's total budget.

    ``attempt`` does the work of one attempt (a whole generation, or opening a speech
    stream up to its first chunk); every call gets a fresh :class:`AttemptContext` and
    an :class:`AttemptMetadata` record in ``metadata``. Returns the plan that
    succeeded and what ``attempt`` returned; raises the last error (with the metadata
    attached) when no config succeeded, or the first that ends the chain.
    """
    deadline = time.monotonic() + total_timeout if total_timeout else math.inf
    last_error: TarashException | None = None
    for plan in plans:
        if time.monotonic() >= deadline:
            break
        try:
            result = await _config_attempts(
                plan, request_id, metadata, attempt, deadline, blocking, on_failure
            )
        except TarashException as exc:
            last_error = exc
            if not _moves_on(plan, exc):
                break
            log_info(
                "Config failed with a retryable error; trying the next config",
                {"request_id": request_id, "provider": plan.config.provider, "error": str(exc)},
                _LOG,
            )
            continue
        return plan, result
    if last_error is None:  # the total budget was spent before any attempt could start
        first = plans[0].config
        last_error = TarashTimeoutError(
            f"total_timeout of {total_timeout}s spent before any attempt",
            first.provider,
            first.model,
            request_sent=False,
        )
    metadata.ended_at = utcnow()
    log_warning(
        "Generation failed",
        {"request_id": request_id, "error": str(last_error), "attempts": metadata.total_attempts},
        _LOG,
    )
    raise last_error.attach(execution_metadata=metadata)


async def _config_attempts(
    plan: Plan,
    request_id: str,
    metadata: ExecutionMetadata,
    attempt: AttemptFn[T],
    deadline: float,
    blocking: bool,
    on_failure: FailureHook | None,
) -> T:
    from tenacity import AsyncRetrying, retry_if_exception  # first use only: import cost

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
                operation=plan.prepared.operation,
                config=plan.config,
                provider=plan.config.provider,
                deadline=min(time.monotonic() + plan.config.timeout, deadline),
                attempt_number=record.attempt_number,
                config_index=plan.index,
                is_fallback=plan.index > 0,
                is_mock=plan.is_mock,
                blocking=blocking,
                warnings=list(plan.prepared.warnings),
            )
            try:
                result = await attempt(plan, ctx, record)
            except TarashException as exc:
                record_failure(record, exc, ctx)
                if on_failure is not None:
                    await on_failure(ctx, record, exc)
                raise
            except asyncio.CancelledError:
                record.ended_at = utcnow()
                record.error_type = "CancelledError"
                record.error_message = "cancelled by the caller"
                record.request_id = record.request_id or request_id
                raise
            record.status = "success"
            record.ended_at = utcnow()
            record.request_id = record.request_id or request_id
            record.gate_wait_seconds = ctx.gate_wait_seconds or None
            metadata.successful_attempt = record.attempt_number
            return result
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def record_failure(
    record: AttemptMetadata, exc: TarashException, ctx: AttemptContext | None = None
) -> None:
    """Close a failed attempt's record (shared by calls, jobs and TTS streams).

    Every record carries a request id: the provider's where there is one, ours otherwise.
    """
    record.ended_at = utcnow()
    record.status = "failed"
    record.error_type = type(exc).__name__
    record.error_message = exc.message
    record.is_retryable = exc.retryable
    record.request_id = record.request_id or exc.request_id or (ctx.request_id if ctx else None)
    if ctx is not None and ctx.gate_wait_seconds:
        record.gate_wait_seconds = ctx.gate_wait_seconds
    if isinstance(exc, TarashTimeoutError):
        record.cancelled_upstream = exc.cancelled_upstream


async def _one_attempt(
    plan: Plan,
    spec: OperationSpec,
    ctx: AttemptContext,
    record: AttemptMetadata,
    progress: _Progress,
) -> BaseGenerationResponse:
    response = await _step_attempt(plan, ctx, record, progress)
    if not isinstance(response, spec.response_type):
        raise GenerationFailedError(
            f"{ctx.provider} returned {type(response).__name__} for a {spec.name} request "
            f"(expected {spec.response_type.__name__})",
            ctx.provider,
            ctx.model,
            retryable=False,  # a handler bug: no provider call can fix it
        )
    _check_not_empty(response, ctx)
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
        )


# ============================================================================ 3-5. steps


def map_exception(
    handler: StepHandler | None, ctx: AttemptContext, exc: BaseException
) -> TarashException:
    """The typed error for an exception a handler let through (the one mapping of the core)."""
    if isinstance(exc, TarashException):
        return exc
    scrub_exception(exc)  # an SDK error may echo the key; it becomes our error's __cause__
    mapped = handler.map_error(exc, ctx) if handler is not None else None
    if mapped is not None:
        if mapped.request_sent is None and request_never_sent(exc):
            mapped.request_sent = False  # e.g. an SDK's connection error wrapping a refusal
        return mapped
    if isinstance(exc, MediaTooLargeError):
        return ValidationError(str(exc), ctx.provider, ctx.model, field="media")
    if isinstance(exc, NotImplementedError):
        return OperationNotSupportedError(
            f"{ctx.provider} does not implement this: {exc}", ctx.provider, ctx.model
        )
    module = type(exc).__module__
    if isinstance(exc, OSError | TimeoutError) or module.startswith(
        ("httpx", "httpcore", "httpx2", "aiohttp")
    ):
        return error_from_transport(exc, provider=ctx.provider, model=ctx.model)
    # Unexpected: we cannot tell what reached the provider (e.g. an unreadable answer).
    return GenerationFailedError(
        f"{ctx.provider} raised {type(exc).__name__}: {exc}",
        ctx.provider,
        ctx.model,
        request_sent=True,
    )


async def _guard(handler: StepHandler, ctx: AttemptContext, call: Awaitable[T]) -> T:
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
        raise map_exception(handler, ctx, exc) from exc


# ---------------------------------------------------------------------------- submit


_REFUSED = (
    ValidationError,
    AuthenticationError,
    ContentModerationError,
    HTTPError,
    OperationNotSupportedError,
)

SubmitOutcome = Literal["not_sent", "failed", "unknown"]


def submit_outcome(exc: TarashException) -> SubmitOutcome:
    """What a failed submit means for the money: was a job possibly created?

    * ``not_sent`` — the provider answered with a refusal (an HTTP error status, a
      validation, moderation or auth error), or the request never left (connection
      refused, connect timeout, DNS): nothing runs, a retry cannot pay twice;
    * ``failed`` — the provider answered that the generation failed (a
      :class:`GenerationFailedError` it reported);
    * ``unknown`` — anything else: a reset after sending, a truncated or unreadable
      answer, a read timeout, an unexpected exception. The job may exist.
    """
    if exc.outcome_unknown:
        return "unknown"
    if isinstance(exc, _REFUSED) or exc.request_sent is False:
        return "not_sent"
    if isinstance(exc, GenerationFailedError) and exc.request_sent is not True:
        return "failed"
    return "unknown"


async def _submit(handler: StepHandler, ctx: AttemptContext, prepared: Prepared) -> Submission:
    """Send a prepared request under the submission semantics (see the README).

    Before it is sent, an intent (our id, provider, model, payload hash) is written
    to the job store; when the provider accepts, the intent becomes the job record
    before anything else happens. A submit that failed before the provider could
    have accepted it is an ordinary error (retried as usual); one whose outcome is
    unknown keeps its error type, is marked ``outcome_unknown`` and is never resent to
    this config — its intent stays in the store as ``unknown``.
    """
    intent_id = f"{ctx.request_id}.{ctx.attempt_number}"
    store = _Intents(intent_id)
    await store.begin(ctx, prepared)
    lost: TarashException | None = None
    try:
        async with asyncio.timeout(ctx.remaining()):
            submission = await _guard(handler, ctx, handler.submit(ctx, prepared))
    except TimeoutError as exc:
        lost = TarashTimeoutError(
            f"{ctx.provider} did not answer the {ctx.operation} submit within "
            f"{ctx.config.timeout:g}s",
            ctx.provider,
            ctx.model,
            timeout_seconds=ctx.config.timeout,
        )
        lost.__cause__ = exc
    except asyncio.CancelledError:
        await asyncio.shield(store.mark("unknown", "cancelled while the submit was in flight"))
        raise
    except TarashException as exc:
        outcome = submit_outcome(exc)
        if outcome != "unknown":
            await store.mark(outcome, redact_text(str(exc)))
            raise
        lost = exc
    if lost is not None:
        found = await _reconcile(handler, ctx, prepared, store.started)
        if found is None:
            raise await store.unknown(ctx, lost)
        # The provider did accept it: carry on with that job (nothing is sent again).
        log_info(
            "Submit outcome was unknown; found the job it created",
            {"request_id": ctx.request_id, "job": found.provider_request_id},
            _LOG,
        )
        submission = found
    if isinstance(submission, JobRef):
        recorded = asyncio.ensure_future(store.accepted(submission))
        try:
            await asyncio.shield(recorded)
        except asyncio.CancelledError:
            # Cancelled while the accepted job was being recorded: finish the write, then
            # let the caller give the job up (cancel it upstream) before the cancel goes on.
            await asyncio.wait({recorded})
            raise _CancelledAfterAccept(submission) from None
    else:
        await store.mark("completed", None)
    return submission


class _CancelledAfterAccept(BaseException):
    """The caller cancelled right after the provider accepted ``job`` (internal)."""

    def __init__(self, job: JobRef) -> None:
        super().__init__(job.provider_request_id)
        self.job = job


_RECONCILE_DELAY = 1.0
"""Seconds before looking for the job of a lost submit (listings lag behind creation)."""


async def _reconcile(
    handler: StepHandler, ctx: AttemptContext, prepared: Prepared, sent_after: datetime
) -> JobRef | None:
    """One bounded look for the job a submit with an unknown outcome created."""
    if type(handler).find_submitted is StepHandler.find_submitted:
        return None  # this provider cannot look
    try:
        known = {
            r.job.provider_request_id
            for r in await get_job_store().pending()
            if r.job is not None and r.job.provider == ctx.provider
        }
        async with asyncio.timeout(_LOOK_BUDGET):
            await asyncio.sleep(_RECONCILE_DELAY)
            return await _guard(
                handler, ctx, handler.find_submitted(ctx, prepared, sent_after, known)
            )
    except (TarashException, TimeoutError) as exc:
        log_debug("Reconciliation look failed", {"error": str(exc)}, _LOG)
        return None


class _Intents:
    """The job-store side of one submit (stores without intent support are skipped)."""

    def __init__(self, intent_id: str) -> None:
        self.intent_id = intent_id
        self.started = utcnow()
        self.store: Any = get_job_store()
        self.enabled = callable(getattr(self.store, "record_intent", None))

    async def _safely(self, call: Awaitable[None], what: str) -> None:
        await _store_safely(call, {"intent": self.intent_id, "what": what})

    async def begin(self, ctx: AttemptContext, prepared: Prepared) -> None:
        if not self.enabled:
            return
        intent = SubmitIntent(
            intent_id=self.intent_id,
            request_id=ctx.request_id,
            provider=ctx.provider,
            model=ctx.model,
            operation=ctx.operation,
            payload_hash=await payload_hash_async(prepared.payload),
            base_url=ctx.config.base_url,
            attempt_number=ctx.attempt_number,
        )
        # Durable before the request leaves: a crash during the send leaves it findable.
        await self._safely(self.store.record_intent(intent), "intent")

    async def mark(self, state: str, error: str | None) -> None:
        if self.enabled:
            await self._safely(self.store.update_intent(self.intent_id, state, error), state)

    async def accepted(self, job: JobRef) -> None:
        if self.enabled:
            await self._safely(self.store.resolve_intent(self.intent_id, job), "accepted")
        else:
            await _store_write(job, "submitted")

    async def unknown(self, ctx: AttemptContext, exc: TarashException) -> TarashException:
        await asyncio.shield(self.mark("unknown", redact_text(str(exc))))
        moving_on = ctx.config.retry.on_unknown_outcome == "fallback"
        return exc.mark_outcome_unknown(
            self.intent_id if self.enabled else None, moving_on=moving_on
        )


async def _step_attempt(
    plan: Plan,
    ctx: AttemptContext,
    record: AttemptMetadata,
    progress: _Progress,
) -> BaseGenerationResponse:
    async def report(status: JobStatus) -> None:
        await progress.observe(ctx, None, status)

    ctx.report = report
    try:
        submission = await _submit(plan.handler, ctx, plan.prepared)
    except _CancelledAfterAccept as accepted:
        await asyncio.shield(
            _give_up(plan.handler, ctx, accepted.job, "cancelled by the caller", keep_result=True)
        )
        raise asyncio.CancelledError from None
    if isinstance(submission, BaseGenerationResponse):
        record.request_id = submission.provider_request_id
        return submission
    job = submission
    record.request_id = job.provider_request_id
    if _logger.isEnabledFor(logging.DEBUG):  # the dump is not free on the hot path
        log_debug(
            "Job accepted",
            {"request_id": ctx.request_id, "job": job.model_dump(mode="json")},
            _LOG,
        )
    return await _wait(plan.handler, ctx, job, progress, announce=True)


# ---------------------------------------------------------------------------- wait


class _PollBudgetExceeded(Exception):
    pass


async def _store_safely(call: Awaitable[None], detail: dict[str, Any]) -> None:
    """A job-store write: a failing store is logged and never replaces the real outcome."""
    try:
        await call
    except Exception:
        log_warning("Job store write failed", detail, _LOG, exc_info=True)


async def _store_write(job: JobRef, state: str, error: str | None = None) -> None:
    """Record a job's state (``submitted`` records a newly accepted job)."""
    store = get_job_store()
    call = store.record(job) if state == "submitted" else store.update(job, state, error)
    await _store_safely(call, {"job": job.provider_request_id, "state": state})


async def _wait(
    handler: StepHandler,
    ctx: AttemptContext,
    job: JobRef,
    progress: _Progress,
    *,
    announce: bool = False,
) -> BaseGenerationResponse:
    """Observe ``job`` until it finishes, then fetch its result.

    Whatever ends the wait early — the deadline, the poll budget, the caller's
    cancellation, a polling error, an exception from a callback — the job is looked
    at once before it is given up: a finished job's result is fetched (and returned,
    unless the caller cancelled), never thrown away; otherwise it is cancelled
    upstream, or, when the provider cannot confirm, kept in the job store as
    ``abandoned`` and attached to the error, so a retry or fallback never leaves a
    paid job running unnoticed.
    """
    try:
        if announce:  # inside the guard: a cancel during the callback still gives the job up
            await progress.observe(ctx, job, JobStatus(state="queued"))
        async with asyncio.timeout(ctx.remaining()):
            final = await _observe(handler, ctx, job, progress)
    except (TimeoutError, _PollBudgetExceeded) as exc:
        reason = (
            f"{ctx.config.max_poll_attempts} status polls"
            if isinstance(exc, _PollBudgetExceeded)
            else f"{ctx.config.timeout:g}s"
        )
        outcome = await asyncio.shield(_give_up(handler, ctx, job, f"timeout ({reason})"))
        if isinstance(outcome, BaseGenerationResponse):
            return outcome
        cancelled = outcome
        raise TarashTimeoutError(
            f"{ctx.operation} job on {ctx.provider} did not finish within {reason}"
            + ("; cancelled upstream" if cancelled else "; upstream cancel not confirmed"),
            ctx.provider,
            ctx.model,
            job.provider_request_id,
            timeout_seconds=ctx.config.timeout,
            cancelled_upstream=cancelled,
        ).attach(job=None if cancelled else job, job_may_still_run=not cancelled) from None
    except BaseException as exc:
        caller = isinstance(exc, asyncio.CancelledError)
        reason = "cancelled by the caller" if caller else str(exc)
        outcome = await asyncio.shield(_give_up(handler, ctx, job, reason, keep_result=caller))
        if isinstance(outcome, BaseGenerationResponse):
            return outcome
        if isinstance(exc, TarashException):
            exc.attach(job=job, request_id=job.provider_request_id, job_may_still_run=not outcome)
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
    raise err.attach(request_id=job.provider_request_id)


async def _give_up(
    handler: StepHandler,
    ctx: AttemptContext,
    job: JobRef,
    reason: str,
    *,
    keep_result: bool = False,
) -> BaseGenerationResponse | bool:
    """Our wait for ``job`` ends early: look once, then fetch, cancel or record it.

    Returns the response when the job turned out finished (unless ``keep_result``:
    the caller is gone, so the job stays ``result_pending`` in the store, fetchable);
    otherwise whether the cancel was confirmed.
    """
    finished = False
    try:
        async with asyncio.timeout(_LOOK_BUDGET):
            status = await _guard(handler, ctx, handler.status(ctx, job))
        finished = status.state == "completed"
    except (TarashException, TimeoutError) as exc:
        log_debug("Status look before giving up failed", {"error": str(exc)}, _LOG)
    if not finished:
        outcome = await _cancel_upstream(handler, ctx, job)
        if cancel_confirmed(outcome):
            await _store_write(job, "cancelled", redact_text(reason))
            return True
        finished = outcome == "already_completed"
        if not finished:
            await _store_write(job, "abandoned", redact_text(reason))
            return False
    # Finished upstream (and paid): never throw the result away.
    if keep_result:
        await _store_write(job, "result_pending", "finished upstream; " + redact_text(reason))
        return False
    try:
        return await _fetch_result(handler, ctx, job)
    except TarashException:
        return False  # _fetch_result left it as result_pending


_RESULT_TRIES = 6
"""Fetches of a finished job's result before giving up (backoff 0.5, 1, 2, 4, 8 s)."""


async def _fetch_result(
    handler: StepHandler, ctx: AttemptContext, job: JobRef
) -> BaseGenerationResponse:
    """Fetch a completed job's result, retrying the (idempotent) fetch itself on transient
    errors: resubmitting would pay for the job twice."""
    for attempt in range(1, _RESULT_TRIES + 1):
        try:
            async with asyncio.timeout(max(ctx.remaining(), 30.0)):
                response = await _guard(handler, ctx, handler.result(ctx, job))
        except TimeoutError:
            error: TarashException = TarashTimeoutError(
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
            # Finished and paid: kept fetchable (wait_for_job), never submitted again here.
            raise error.attach(job=job, request_id=job.provider_request_id, job_may_still_run=True)
        pause = max(0.5 * 2 ** (attempt - 1), error.retry_after or 0.0)
        await asyncio.sleep(min(pause, 8.0, max(0.1, ctx.remaining())))
    raise AssertionError("unreachable")  # pragma: no cover


def _next_delay(ctx: AttemptContext, status: JobStatus | None, previous: float) -> float:
    """Adaptive polling: provider hint first, slow while deep in a queue, else grow to the cap."""
    cap = ctx.config.poll_interval
    if status is not None and status.poll_after is not None:
        return max(0.05, min(status.poll_after, ctx.remaining()))
    if status is not None and status.state == "queued" and (status.queue_position or 0) > 5:
        return cap
    return min(cap, max(0.25, previous * 1.5))


def _stream_idle(ctx: AttemptContext) -> float:
    """How long a status stream may stay silent before a backstop poll (< the attempt)."""
    return max(0.5, min(_STREAM_IDLE_CAP, 2 * ctx.config.poll_interval, ctx.remaining() / 3))


async def _watch(
    handler: StepHandler,
    ctx: AttemptContext,
    job: JobRef,
    progress: _Progress,
    stream: AsyncIterator[JobStatus],
) -> JobStatus | None:
    """Follow the handler's status stream; ``None`` when it ended or broke (poll instead).

    A stream silent for :func:`_stream_idle` seconds gets one status poll as a
    backstop while it stays open, so a stalled stream never is the only observation.
    """
    iterator = aiter(stream)
    pending: asyncio.Future[JobStatus] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=_stream_idle(ctx))
            if not done:
                status = await _backstop_poll(handler, ctx, job)
                if status is not None:
                    await progress.observe(ctx, job, status)
                    if status.is_terminal:
                        return status
                continue
            task, pending = pending, None
            try:
                status = task.result()
            except StopAsyncIteration:
                return None
            await progress.observe(ctx, job, status)
            if status.is_terminal:
                return status
    except (asyncio.CancelledError, TimeoutError):
        raise
    except Exception as exc:
        mapped = map_exception(handler, ctx, exc)
        if not mapped.retryable:
            raise mapped from exc
        log_debug("Status stream broke; polling instead", {"error": str(mapped)}, _LOG)
        return None
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        closer = getattr(stream, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()


async def _backstop_poll(
    handler: StepHandler, ctx: AttemptContext, job: JobRef
) -> JobStatus | None:
    try:
        async with asyncio.timeout(min(_LOOK_BUDGET, max(0.1, ctx.remaining()))):
            return await _guard(handler, ctx, handler.status(ctx, job))
    except (TarashException, TimeoutError) as exc:
        log_debug("Backstop status poll failed", {"error": str(exc)}, _LOG)
        return None


async def _observe(
    handler: StepHandler, ctx: AttemptContext, job: JobRef, progress: _Progress
) -> JobStatus:
    stream = handler.watch(ctx, job)
    if stream is not None:
        final = await _watch(handler, ctx, job, progress, stream)
        if final is not None:
            return final
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


async def _cancel_upstream(handler: StepHandler, ctx: AttemptContext, job: JobRef) -> CancelOutcome:
    try:
        async with asyncio.timeout(_CANCEL_BUDGET):
            answer = await _guard(handler, ctx, handler.cancel(ctx, job))
    except (TarashException, TimeoutError) as exc:
        log_warning(
            "Upstream cancel failed; the job may still run and bill",
            {"request_id": ctx.request_id, "job": job.provider_request_id, "error": str(exc)},
            _LOG,
        )
        return "unconfirmed"
    outcome: CancelOutcome
    if answer is True:
        outcome = "cancelled"
    elif answer is False:
        outcome = "unconfirmed"
    else:
        outcome = answer
    log_info(
        f"Upstream cancel: {outcome}",
        {"request_id": ctx.request_id, "job": job.provider_request_id},
        _LOG,
    )
    return outcome


# ============================================================================ durable jobs API


def _context_for_job(
    job: JobRef, config: BaseGenerationConfig | None
) -> tuple[StepHandler, AttemptContext, OperationSpec]:
    spec = OPERATIONS[job.operation]
    if config is None:
        config = spec.config_type(provider=job.provider, model=job.model, base_url=job.base_url)
    if job.provider != "mock" and (
        resolve_provider_name(job.provider) != resolve_provider_name(config.provider)
    ):
        # A reference comes back from storage: it must not steer the key elsewhere.
        raise ValidationError(
            f"job {job.provider_request_id!r} belongs to provider {job.provider!r}, "
            f"not to the config's provider {config.provider!r}",
            config.provider,
            job.model,
            field="job",
        )
    handler = get_handler("mock") if job.provider == "mock" else get_handler(job.provider)
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

    Direct operations (most images and audio) return their response. The job is
    recorded in the job store (its intent before the request is sent); resume it
    with :func:`wait_for_job`.
    """
    spec = operation_for_request(request)
    plan = plan_chain(spec, [config], request)[0]
    ctx = AttemptContext(
        request_id=new_request_id(),
        operation=spec.name,
        config=config,
        provider=config.provider,
        deadline=time.monotonic() + config.timeout,
        is_mock=plan.is_mock,
        warnings=list(plan.prepared.warnings),
    )
    try:
        return await _submit(plan.handler, ctx, plan.prepared)
    except _CancelledAfterAccept:
        raise asyncio.CancelledError from None  # the job is recorded: resumable, cancellable


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
        record_failure(record, exc, ctx)
        metadata.ended_at = utcnow()
        exc.attach(execution_metadata=metadata)
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


async def fetch_job_result(job: JobRef, config: BaseGenerationConfig | None = None) -> Any:
    """The response of a job that has completed upstream (one fetch, retried in place on
    transient errors; the job is never resubmitted). A step for callers that drive jobs
    themselves — a server's workers, a queue consumer — one observation at a time."""
    handler, ctx, _ = _context_for_job(job, config)
    response = await _fetch_result(handler, ctx, job)
    _check_not_empty(response, ctx)
    return response


async def get_job_status(job: JobRef, config: BaseGenerationConfig | None = None) -> JobStatus:
    """One status observation of an accepted job."""
    handler, ctx, _ = _context_for_job(job, config)
    return await _guard(handler, ctx, handler.status(ctx, job))


async def cancel_job(job: JobRef, config: BaseGenerationConfig | None = None) -> bool:
    """Ask the provider to cancel an accepted job; True only when it confirmed.

    A job that already finished is not cancelled: it stays ``result_pending`` in the
    store, so its (paid) result can still be fetched with :func:`wait_for_job`.
    """
    handler, ctx, _ = _context_for_job(job, config)
    try:
        async with asyncio.timeout(_LOOK_BUDGET):
            seen = await _guard(handler, ctx, handler.status(ctx, job))
    except (TarashException, TimeoutError):
        seen = None
    if seen is not None and seen.state == "completed":
        # Finished (and paid): a cancel would at best do nothing, at worst delete the
        # result (Runway and OpenAI cancel by DELETE). Keep it fetchable instead.
        await get_job_store().update(job, "result_pending", "finished before the cancel")
        return False
    outcome = await _cancel_upstream(handler, ctx, job)
    state = {
        "cancelled": "cancelled",
        "already_completed": "result_pending",
        "not_found": "abandoned",
    }.get(outcome, "cancel_requested")
    await get_job_store().update(job, state, None if outcome == "cancelled" else outcome)
    return cancel_confirmed(outcome)
