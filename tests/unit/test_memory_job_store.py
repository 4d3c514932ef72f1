"""MemoryJobStore: finished records are evicted oldest first, pending ones are kept."""

from __future__ import annotations

from tarash.tarash_gateway.jobs import JobRef, MemoryJobStore


def _job(i: int) -> JobRef:
    return JobRef(
        provider="fal",
        model="m",
        operation="video",
        provider_request_id=f"j{i}",
        request_id=f"r{i}",
    )


async def test_finished_records_beyond_the_bound_are_evicted_oldest_first() -> None:
    store = MemoryJobStore(keep_finished=3)
    jobs = [_job(i) for i in range(8)]
    for job in jobs:
        await store.record(job)
    for job in jobs[:6]:
        await store.update(job, "completed")
    await store.update(jobs[6], "processing")
    assert [r.job.provider_request_id for r in await store.pending()] == ["j7", "j6"]
    assert await store.get("fal:j2") is None  # evicted
    kept = [await store.get(f"fal:j{i}") for i in (3, 4, 5)]
    assert all(r is not None and r.state == "completed" for r in kept)
    # a finished job updated again moves to the newest end and is not evicted next
    await store.update(jobs[3], "completed")
    await store.update(jobs[7], "failed")
    assert await store.get("fal:j4") is None
    assert await store.get("fal:j3") is not None
    assert await store.get("fal:j6") is not None  # pending: always kept
