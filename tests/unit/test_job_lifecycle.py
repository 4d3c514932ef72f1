"""Exactly-once job handling in the orchestrator, with a scripted step handler.

The handler below speaks the step contract directly (as built-in providers do), so
each test sets exactly what the "provider" answers: a status stream that goes
silent, a job that finishes just as our deadline passes, a cancel answered
"already completed", a submit that is cancelled while it is being recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from tarash.tarash_gateway import (
    JobRef,
    MemoryJobStore,
    TarashTimeoutError,
    cancel_job_async,
    generate_video_async,
    get_job_store,
    register_provider,
    set_job_store,
    submit_job_async,
)
from tarash.tarash_gateway.jobs import JobStatus, Operation
from tarash.tarash_gateway.models import (
    BaseGenerationConfig,
    BaseGenerationRequest,
    RetryPolicy,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers.steps import (
    AttemptContext,
    CancelOutcome,
    Prepared,
    StepHandler,
)

NO_RETRY = RetryPolicy(max_retries=0)
REQ = VideoGenerationRequest(prompt="a fox")


class Scripted(StepHandler):
    """A polled provider whose answers each test scripts."""

    name: ClassVar[str] = "scripted"
    operations: ClassVar[frozenset[Operation]] = frozenset({"video"})

    def __init__(self) -> None:
        self.done_at = time.monotonic() + 3600.0  # the job finishes at this moment
        self.stream: str | None = None  # "silent": a status stream that never speaks
        self.cancel_answer: CancelOutcome = "cancelled"
        self.status_fails = False
        self.submits = self.statuses = self.results = self.cancels = 0

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        return Prepared(operation, request, {"prompt": getattr(request, "prompt", "")})

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> JobRef:
        self.submits += 1
        return ctx.job(f"job-{self.submits}")

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        self.statuses += 1
        if self.status_fails:
            raise ConnectionResetError("status endpoint down")
        done = time.monotonic() >= self.done_at
        return JobStatus(state="completed" if done else "processing")

    def watch(self, ctx: AttemptContext, job: JobRef) -> AsyncIterator[JobStatus] | None:
        if self.stream != "silent":
            return None

        async def silent() -> AsyncIterator[JobStatus]:
            yield JobStatus(state="queued")
            await asyncio.sleep(3600)  # connected, never another word

        return silent()

    async def result(self, ctx: AttemptContext, job: JobRef) -> Any:
        self.results += 1
        return ctx.video_response(
            video="https://x/v.mp4", provider_request_id=job.provider_request_id
        )

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> CancelOutcome:
        self.cancels += 1
        return self.cancel_answer


@pytest.fixture
def scripted() -> Scripted:
    handler = Scripted()
    register_provider("scripted", handler)
    return handler


@pytest.fixture(autouse=True)
def store() -> MemoryJobStore:
    previous = get_job_store()
    fresh = MemoryJobStore()
    set_job_store(fresh)
    yield fresh
    set_job_store(previous)


def cfg(timeout: float = 1.0, **kw: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {"poll_interval": 0.1, "retry": NO_RETRY, **kw}
    return VideoGenerationConfig(
        provider="scripted", model="m", api_key="k-1234567", timeout=timeout, **fields
    )


async def test_a_silent_status_stream_gets_a_backstop_poll(scripted: Scripted) -> None:
    scripted.stream = "silent"
    scripted.done_at = time.monotonic() + 0.3
    started = time.monotonic()
    response = await generate_video_async(cfg(timeout=5.0), REQ)
    assert response.video == "https://x/v.mp4"
    assert scripted.statuses >= 1  # the stream said nothing; a poll found the job done
    assert time.monotonic() - started < 2.0  # well before the 5 s attempt ran out


async def test_a_job_done_as_the_deadline_passes_is_fetched_not_cancelled(
    scripted: Scripted, store: MemoryJobStore
) -> None:
    scripted.done_at = time.monotonic() + 0.8  # finishes between our polls, before 1 s
    scripted.status_fails = False
    # polls at 0.5 s and 1.25 s: only the look at the 1 s deadline sees it done
    response = await generate_video_async(cfg(timeout=1.0, poll_interval=5.0), REQ)
    assert response.video and scripted.cancels == 0 and scripted.submits == 1
    (record,) = [r for r in await store.pending()] or [None]
    assert record is None  # completed, nothing left pending


async def test_cancel_answered_already_completed_keeps_the_result(
    scripted: Scripted, store: MemoryJobStore
) -> None:
    scripted.status_fails = True  # we cannot look; the cancel tells us instead
    scripted.cancel_answer = "already_completed"
    fallback = VideoGenerationConfig(provider="mock", model="mock-video")
    config = cfg(timeout=0.5, fallback_configs=[fallback])
    response = await generate_video_async(config, REQ)
    assert response.provider == "scripted"  # the paid result, not a second job elsewhere
    assert scripted.results == 1 and scripted.submits == 1


@pytest.mark.parametrize("answer", ["not_found", "unconfirmed"])
async def test_an_unconfirmed_cancel_keeps_the_job_pending(
    scripted: Scripted, store: MemoryJobStore, answer: CancelOutcome
) -> None:
    scripted.cancel_answer = answer
    with pytest.raises(TarashTimeoutError) as info:
        await generate_video_async(cfg(timeout=0.4), REQ)
    assert info.value.cancelled_upstream is False
    assert info.value.job is not None
    pending = await store.pending()
    assert [(r.job.provider_request_id, r.state) for r in pending if r.job] == [
        ("job-1", "abandoned")
    ]


async def test_a_confirmed_cancel_is_recorded(scripted: Scripted, store: MemoryJobStore) -> None:
    with pytest.raises(TarashTimeoutError) as info:
        await generate_video_async(cfg(timeout=0.4), REQ)
    assert info.value.cancelled_upstream is True and scripted.cancels == 1
    assert await store.pending() == []


async def test_caller_cancel_of_a_finished_job_leaves_it_fetchable(
    scripted: Scripted, store: MemoryJobStore
) -> None:
    task = asyncio.ensure_future(generate_video_async(cfg(timeout=30, poll_interval=5.0), REQ))
    await asyncio.sleep(0.3)
    scripted.done_at = time.monotonic()  # it finished; our next poll is seconds away
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert scripted.cancels == 0  # finished: not cancelled, not thrown away
    (record,) = await store.pending()
    assert record.state == "result_pending"


async def test_cancel_job_does_not_cancel_a_finished_job(
    scripted: Scripted, store: MemoryJobStore
) -> None:
    job = await submit_job_async(cfg(), REQ)
    assert isinstance(job, JobRef)
    scripted.done_at = time.monotonic()
    assert await cancel_job_async(job, cfg()) is False
    assert scripted.cancels == 0
    (record,) = await store.pending()
    assert record.state == "result_pending"


async def test_every_submit_leaves_an_intent_before_it_is_sent(
    scripted: Scripted, store: MemoryJobStore
) -> None:
    seen: list[str] = []
    original = Scripted.submit

    async def observing(self: Scripted, ctx: AttemptContext, prepared: Prepared) -> JobRef:
        seen.extend(r.state for r in await store.pending())
        return await original(self, ctx, prepared)

    Scripted.submit = observing  # type: ignore[method-assign]
    try:
        job = await submit_job_async(cfg(), REQ)
    finally:
        Scripted.submit = original  # type: ignore[method-assign]
    assert seen == ["intent"]  # in the store while the request was being sent
    assert isinstance(job, JobRef)
    (record,) = await store.pending()
    assert record.state == "submitted" and record.job == job and record.intent is not None


async def test_fetch_job_result_is_one_step_without_resubmitting(scripted: Scripted) -> None:
    from tarash.tarash_gateway import fetch_job_result_async, get_job_status_async

    job = await submit_job_async(cfg(), REQ)
    assert isinstance(job, JobRef)
    scripted.done_at = time.monotonic()
    assert (await get_job_status_async(job, cfg())).state == "completed"
    response = await fetch_job_result_async(job, cfg())
    assert response.video == "https://x/v.mp4"
    assert (scripted.submits, scripted.results) == (1, 1)


async def test_a_cancel_while_the_accepted_job_is_recorded_still_cancels_upstream(
    scripted: Scripted, store: MemoryJobStore
) -> None:
    recording = asyncio.Event()
    release = asyncio.Event()
    resolve = store.resolve_intent

    async def slow_resolve(intent_id: str, job: JobRef) -> None:
        recording.set()
        await release.wait()  # the write is in flight when the caller cancels
        await resolve(intent_id, job)

    store.resolve_intent = slow_resolve  # type: ignore[method-assign]
    task = asyncio.ensure_future(generate_video_async(cfg(timeout=30), REQ))
    await recording.wait()
    task.cancel()
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert scripted.cancels == 1  # the job was given up upstream, not orphaned
    records = [r for r in store._records.values() if r.job is not None]
    assert [(r.job.provider_request_id, r.state) for r in records] == [("job-1", "cancelled")]


async def test_a_cancel_during_the_accepted_progress_callback_still_cancels_upstream(
    scripted: Scripted, store: MemoryJobStore
) -> None:
    in_callback = asyncio.Event()

    async def slow_callback(update: Any) -> None:
        if update.status == "queued" and update.job is not None:
            in_callback.set()
            await asyncio.sleep(3600)  # the caller is cancelled right here

    task = asyncio.ensure_future(
        generate_video_async(cfg(timeout=30), REQ, on_progress=slow_callback)
    )
    await in_callback.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert scripted.cancels == 1
    records = [r for r in store._records.values() if r.job is not None]
    assert [r.state for r in records] == ["cancelled"]
