"""Fault-injection soak: N concurrent fal video jobs against a faulty fal emulator.

One command, one table::

    python -m benchmarks.fault_soak            # N=1000, 20 % faults, with and without fallback
    python -m benchmarks.fault_soak --n 200 --rate 0.3 --seed 7

The fal emulator (``tests.emulators.fal``) runs in its own process and faults
``--rate`` of the requests of *every* endpoint (submit, status, status stream,
result, cancel) with a seeded random kind: 500/503, 429 with Retry-After, a
connection reset after the request was processed (before or mid answer), a
truncated 200 body, an answer held past the client's timeout, a status stream that
goes silent, a cancel answered ``ALREADY_COMPLETED``. Our request id travels in a
header, so the emulator counts upstream jobs per logical request.

Each scenario runs N jobs through ``generate_video_async`` (fal only, then fal with a
fallback to the offline mock) and prints:

* results, typed errors (by class), other exceptions, hangs (a job not done after
  its whole budget plus a grace period);
* duplicate upstream jobs (more than one accepted job for one logical request);
* accepted but unaccounted jobs (upstream, but neither fetched, cancelled, nor
  findable in the job store);
* finished but unfetched jobs (completed upstream, never fetched and not kept
  fetchable in the store: a paid result thrown away);
* timeouts of jobs none of whose own requests was held or silenced by the emulator.

Targets: 0 other exceptions, 0 hangs, 0 duplicates, 0 unaccounted, 0 thrown away,
0 timeouts of jobs whose own requests were not held.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks import fal_concurrency  # noqa: E402 - the emulator process helpers

MODEL = "fal-ai/veo3.1/fast"
HELD = ("held", "silent")


def _start_emulator(rate: float, seed: int, hold: float, job_seconds: float) -> tuple[Any, str]:
    """The fal emulator with seeded chaos on every endpoint."""
    return fal_concurrency._start_emulator(
        job_seconds,
        *("--fault-rate", str(rate), "--fault-seed", str(seed), "--fault-hold", str(hold)),
    )


async def _scenario(
    base_url: str, n: int, fallback: bool, timeout: float
) -> tuple[dict[str, Any], list[tuple[str, str, str | None]]]:
    """Run N jobs; returns the store's records and (request_id, outcome, detail) per job."""
    from tarash.tarash_gateway import MemoryJobStore, generate_video_async, set_job_store
    from tarash.tarash_gateway.exceptions import TarashException
    from tarash.tarash_gateway.models import (
        RetryPolicy,
        VideoGenerationConfig,
        VideoGenerationRequest,
    )
    from tests.emulators.fal import FAL_API_KEY

    store = MemoryJobStore(keep_finished=10 * n)
    set_job_store(store)
    fallbacks = [VideoGenerationConfig(provider="mock", model="mock-video")] if fallback else []
    config = VideoGenerationConfig(
        provider="fal",
        model=MODEL,
        api_key=FAL_API_KEY,
        base_url=base_url,
        timeout=timeout,
        poll_interval=1.0,
        retry=RetryPolicy(max_retries=2, initial_delay=0.2, max_delay=2.0, max_retry_after=3),
        fallback_configs=fallbacks,
    )

    async def one(i: int) -> tuple[str, str, str | None]:
        request = VideoGenerationRequest(prompt=f"soak {i}", duration_seconds=4)
        seen: dict[str, str] = {}

        def track(update: Any) -> None:
            seen.setdefault("request_id", update.request_id)

        budget = timeout * (2 if fallback else 1) * 3 + 60  # every retry, fallback, grace
        try:
            response = await asyncio.wait_for(
                generate_video_async(config, request, on_progress=track), budget
            )
        except TimeoutError:
            return seen.get("request_id", f"unknown-{i}"), "hang", None
        except TarashException as exc:
            return seen.get("request_id", f"unknown-{i}"), "typed", type(exc).__name__
        except Exception as exc:
            return seen.get("request_id", f"unknown-{i}"), "other", type(exc).__name__
        return response.request_id, "result", response.provider

    outcomes = await asyncio.gather(*(one(i) for i in range(n)))
    records = {
        "records": [r for r in store._records.values()],
    }
    return records, list(outcomes)


def _analyse(
    stats: dict[str, Any], records: dict[str, Any], outcomes: list[tuple[str, str, str | None]]
) -> dict[str, Any]:
    jobs: dict[str, Any] = stats["jobs"]
    submit_faults: dict[str, list[str]] = stats.get("submit_faults", {})
    in_store: dict[str, str] = {}
    for record in records["records"]:
        if record.job is not None:
            in_store[record.job.provider_request_id] = record.state
    by_marker: dict[str, list[str]] = collections.defaultdict(list)
    for job_id, job in jobs.items():
        if job.get("marker"):
            by_marker[job["marker"]].append(job_id)
    kept = ("submitted", "abandoned", "result_pending", "cancel_requested", "unknown")
    unaccounted = 0
    thrown_away = 0
    for job_id, job in jobs.items():
        fetched = job["results_ok"] > 0
        cancelled = job["state"] == "cancelled"
        stored = in_store.get(job_id) in kept
        intent_kept = any(
            r.intent is not None
            and r.state == "unknown"
            and r.intent.request_id == job.get("marker")
            for r in records["records"]
        )
        if not (fetched or cancelled or stored or intent_kept):
            unaccounted += 1
        if job["state"] == "succeeded" and not fetched and not (stored or intent_kept):
            thrown_away += 1
    results = sum(1 for _, kind, _ in outcomes if kind == "result")
    typed = collections.Counter(d for _, kind, d in outcomes if kind == "typed")
    timeouts_unheld = 0
    for rid, kind, detail in outcomes:
        if kind == "typed" and detail == "TarashTimeoutError":
            faults = list(submit_faults.get(rid, []))
            for job_id in by_marker.get(rid, []):
                faults += jobs[job_id]["faults"]
            if not any(any(h in f for h in HELD) for f in faults):
                timeouts_unheld += 1
    return {
        "jobs": len(outcomes),
        "results": results,
        "via fallback": sum(1 for _, k, d in outcomes if k == "result" and d == "mock"),
        "typed errors": sum(typed.values()),
        "typed by class": dict(typed.most_common()),
        "other exceptions": sum(1 for _, k, _ in outcomes if k == "other"),
        "hangs": sum(1 for _, k, _ in outcomes if k == "hang"),
        "upstream jobs": stats["counters"]["accepted"],
        "duplicate upstream jobs": stats["counters"]["duplicates"],
        "accepted, unaccounted": unaccounted,
        "finished, thrown away": thrown_away,
        "timeouts, nothing held": timeouts_unheld,
        "faults fired": stats["counters"]["faults_fired"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=1000, help="concurrent jobs per scenario")
    parser.add_argument("--rate", type=float, default=0.2, help="share of faulted requests")
    parser.add_argument("--seed", type=int, default=1, help="fault RNG seed")
    parser.add_argument("--job-seconds", type=float, default=2.0, help="run time of a job")
    parser.add_argument("--timeout", type=float, default=30.0, help="attempt timeout (s)")
    parser.add_argument("--hold", type=float, default=40.0, help="held/silent faults (s)")
    args = parser.parse_args(argv)

    rows: list[tuple[str, dict[str, Any]]] = []
    for fallback in (False, True):
        proc, base_url = _start_emulator(args.rate, args.seed, args.hold, args.job_seconds)
        try:
            started = time.monotonic()
            records, outcomes = asyncio.run(_scenario(base_url, args.n, fallback, args.timeout))
            elapsed = time.monotonic() - started
            row = _analyse(fal_concurrency._stats(base_url), records, outcomes)
            row["wall seconds"] = round(elapsed, 1)
            rows.append(("fal → mock" if fallback else "fal only", row))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    print(
        f"fault soak: {args.n} fal video jobs per scenario, {args.rate:.0%} of the requests of"
        f" every endpoint faulted (seed {args.seed}), jobs of {args.job_seconds:g} s,"
        f" attempt timeout {args.timeout:g} s, held faults {args.hold:g} s"
    )
    keys = [k for k in rows[0][1] if k != "typed by class"]
    width = max(len(k) for k in keys) + 2
    print(f"{'':<{width}}" + "".join(f"{name:>14}" for name, _ in rows))
    for key in keys:
        print(f"{key:<{width}}" + "".join(f"{row[key]!s:>14}" for _, row in rows))
    for name, row in rows:
        print(f"typed errors ({name}): {row['typed by class'] or 'none'}")


if __name__ == "__main__":
    main()
