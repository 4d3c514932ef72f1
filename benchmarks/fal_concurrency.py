"""N concurrent fal video jobs: tarash-gateway ``generate_video_async`` vs a bare fal-client loop.

Run: ``python -m benchmarks.fal_concurrency`` — by default tarash-gateway alone at N=1,000
and N=10,000 jobs of 10 s (issue 12's "Fast" figures); ``--clients bare,tarash``,
``--n 1,100,1000`` and ``--job-seconds 2`` for the comparison with a bare fal-client loop.

* The fal emulator (``tests.emulators.fal``) runs in its own process; every job takes
  ``--job-seconds`` of wall clock there.
* Each client × N runs in a fresh worker process, so CPU time and peak RSS are its own:
  a warm-up job first (imports, client set-up), then the N jobs at once.
* ``bare`` is what one writes with the SDK alone: ``fal_client.AsyncClient`` (module URL
  globals patched to the emulator, as one would), ``submit`` then ``handle.status()`` every
  0.1 s, then the result, with at most 90 HTTP requests in flight (a semaphore).
* ``tarash`` is ``generate_video_async`` with a default config (status stream, adaptive
  polling fallback, bounded pools).

Measured per run: client CPU seconds of the run phase (per job), peak RSS and its growth over
the pre-run baseline (per job: RSS per in-flight job, all N being in flight at once), status
requests per job counted at the emulator (polls + stream opens), the delay between the job
finishing at the emulator and the call returning (detection delay, p50/p95; both sides use
``time.monotonic``, one clock per machine), the submit drain time (from the start of the run
until the emulator has accepted the last of the N jobs) and, for tarash, the longest wait
for a request slot of the fal session's short-request gate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "fal-test-key"
MODEL = "fal-ai/veo3.1"
BARE_IN_FLIGHT = 90
BARE_POLL = 0.1


# ============================================================================ worker side


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def _bare(base_url: str, n: int) -> list[tuple[str | None, float, str | None]]:
    import fal_client
    from fal_client import client as fal_sdk

    fal_sdk.QUEUE_URL_FORMAT = fal_sdk.RUN_URL_FORMAT = base_url + "/"
    client = fal_client.AsyncClient(key=API_KEY)
    gate = asyncio.Semaphore(BARE_IN_FLIGHT)

    async def one(i: int) -> tuple[str | None, float, str | None]:
        try:
            async with gate:
                handle = await client.submit(MODEL, {"prompt": f"job {i}"})
            while True:
                await asyncio.sleep(BARE_POLL)
                async with gate:
                    status = await handle.status()
                if isinstance(status, fal_client.Completed):
                    break
            http = await client._client
            async with gate:
                response = await http.get(handle.response_url, timeout=120)
            response.raise_for_status()
            assert response.json()["video"]["url"]
            return handle.request_id, time.monotonic(), None
        except Exception as exc:
            return None, time.monotonic(), f"{type(exc).__name__}: {exc}"

    await one(-1)  # warm-up: imports, client, connections
    return await _measure(one, n)


async def _tarash(base_url: str, n: int) -> list[tuple[str | None, float, str | None]]:
    from tarash.tarash_gateway import generate_video_async
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
    from tarash.tarash_gateway.registry import get_handler

    config = VideoGenerationConfig(
        model=MODEL, provider="fal", api_key=API_KEY, base_url=base_url, timeout=300
    )

    async def one(i: int) -> tuple[str | None, float, str | None]:
        try:
            response = await generate_video_async(config, VideoGenerationRequest(prompt=f"job {i}"))
            return response.provider_request_id, time.monotonic(), None
        except Exception as exc:
            return None, time.monotonic(), f"{type(exc).__name__}: {exc}"

    await one(-1)  # warm-up: imports, session, connections
    results = await _measure(one, n)
    gate = get_handler("fal").session(config).gate.stats
    _RUN["gate"] = {"max_wait": gate.max_wait, "waited": gate.waited, "timeouts": gate.timeouts}
    return results


_RUN: dict[str, Any] = {}


async def _measure(one: Any, n: int) -> list[tuple[str | None, float, str | None]]:
    gc.collect()
    _RUN["baseline_rss"] = _rss_bytes()
    _RUN["cpu0"] = time.process_time()
    _RUN["t0"] = time.monotonic()
    results: list[tuple[str | None, float, str | None]] = await asyncio.gather(
        *(one(i) for i in range(n))
    )
    _RUN["cpu"] = time.process_time() - _RUN["cpu0"]
    _RUN["wall"] = time.monotonic() - _RUN["t0"]
    return results


def worker(kind: str, base_url: str, n: int) -> None:
    """Run one client × N in this process; print a JSON line with the measurements."""
    runner = _bare if kind == "bare" else _tarash
    results = asyncio.run(runner(base_url, n))
    print(
        json.dumps(
            {
                "kind": kind,
                "n": n,
                "cpu": _RUN["cpu"],
                "wall": _RUN["wall"],
                "t0": _RUN["t0"],
                "gate": _RUN.get("gate"),
                "baseline_rss": _RUN["baseline_rss"],
                "peak_rss": _peak_rss_bytes(),
                "jobs": [[rid, at] for rid, at, err in results if rid],
                "errors": [err for _rid, _at, err in results if err][:5],
                "error_count": sum(1 for *_, err in results if err),
            }
        ),
        flush=True,
    )


# ============================================================================ parent side


def _start_emulator(job_seconds: float, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """The fal emulator in its own process (``extra``: more of its command-line flags)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulators.fal",
            "--port",
            "0",
            "--job-seconds",
            str(job_seconds),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError(f"emulator did not start: {line!r}")
    return proc, line


def _stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(base_url + "/__admin__/stats", timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def _run_worker(kind: str, base_url: str, n: int, timeout: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.fal_concurrency",
            "--worker",
            kind,
            "--base-url",
            base_url,
            "--n",
            str(n),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"},
        check=False,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} worker failed (rc={out.returncode}):\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summarise(run: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    jobs = stats["jobs"]
    delays: list[float] = []
    client_delays: list[float] = []
    status_requests = polls = streams = 0
    last_accepted = run["t0"]
    for rid, returned_at in run["jobs"]:
        job = jobs.get(rid)
        if job is None:
            continue
        last_accepted = max(last_accepted, job["created_at"])
        polls += job["status_polls"]
        streams += job["streams"]
        status_requests += job["status_polls"] + job["streams"]
        if job["finished_at"] is not None:
            delays.append(returned_at - job["finished_at"])
        if job.get("reported_at") is not None:
            client_delays.append(returned_at - job["reported_at"])
    done = max(1, len(run["jobs"]))
    n = run["n"]
    return {
        "client": run["kind"],
        "n": n,
        "ok": len(run["jobs"]),
        "errors": run["error_count"],
        "wall_s": run["wall"],
        "cpu_s": run["cpu"],
        "cpu_ms_per_job": 1000 * run["cpu"] / n,
        "peak_rss_mb": run["peak_rss"] / 2**20,
        "growth_kb_per_job": max(0, run["peak_rss"] - run["baseline_rss"]) / 1024 / n,
        "status_per_job": status_requests / done,
        "polls_per_job": polls / done,
        "streams_per_job": streams / done,
        "delay_p50_ms": 1000 * _percentile(delays, 0.50),
        "delay_p95_ms": 1000 * _percentile(delays, 0.95),
        "client_p50_ms": 1000 * _percentile(client_delays, 0.50),
        "client_p95_ms": 1000 * _percentile(client_delays, 0.95),
        "drain_s": last_accepted - run["t0"],
        "gate_max_wait_s": (run.get("gate") or {}).get("max_wait", float("nan")),
        "gate_timeouts": (run.get("gate") or {}).get("timeouts", 0),
        "sample_errors": run["errors"],
    }


def _table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'client':<7} {'N':>5} {'ok':>5} {'wall s':>7} {'CPU s':>7} {'CPU ms/job':>10} "
        f"{'peak RSS MB':>11} {'growth KB/job':>13} {'status/job':>10} "
        f"{'(polls+streams)':>15} {'delay p50 ms':>12} {'delay p95 ms':>12} "
        f"{'after report p50/p95 ms':>23} {'drain s':>7} {'gate wait s (timeouts)':>22}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['client']:<7} {r['n']:>5} {r['ok']:>5} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} "
            f"{r['cpu_ms_per_job']:>10.2f} {r['peak_rss_mb']:>11.1f} "
            f"{r['growth_kb_per_job']:>13.1f} {r['status_per_job']:>10.2f} "
            f"{r['polls_per_job']:>7.2f}+{r['streams_per_job']:<7.2f} "
            f"{r['delay_p50_ms']:>12.0f} {r['delay_p95_ms']:>12.0f} "
            f"{r['client_p50_ms']:>11.0f}/{r['client_p95_ms']:<11.0f} "
            f"{r['drain_s']:>7.2f} {r['gate_max_wait_s']:>14.2f} ({r['gate_timeouts']:>4})"
        )
    return "\n".join(lines)


def _verdicts(rows: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    by = {(r["client"], r["n"]): r for r in rows}
    for (client, n), ours in sorted(by.items()):
        if client != "tarash":
            continue
        bare = by.get(("bare", n))
        parts = [f"N={n}:"]
        if bare:
            cpu_ratio = ours["cpu_ms_per_job"] / max(bare["cpu_ms_per_job"], 1e-9)
            status_ratio = ours["status_per_job"] / max(bare["status_per_job"], 1e-9)
            parts.append(f"CPU/job {cpu_ratio:.2f}x bare (target <= 1.2x)")
            parts.append(f"status/job {status_ratio:.2f}x bare (target <= 0.33x)")
        parts.append(f"CPU {ours['cpu_ms_per_job']:.2f} ms/job (target <= 3 at 10,000)")
        parts.append(f"p95 delay {ours['delay_p95_ms']:.0f} ms (target < 300)")
        parts.append(f"growth {ours['growth_kb_per_job']:.1f} KB/job (target < 50)")
        out.append("  ".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", default="1000,10000", help="comma-separated job counts")
    parser.add_argument("--clients", default="tarash", help="bare and/or tarash")
    parser.add_argument("--job-seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=None, help="also write rows as JSON here")
    parser.add_argument("--worker", choices=("bare", "tarash"), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Every in-flight job holds a status-stream connection: raise the open-file limit
    # (inherited by the emulator and the workers) as far as the hard limit allows.
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    if args.worker:
        worker(args.worker, args.base_url, int(args.n))
        return 0

    counts = [int(x) for x in str(args.n).split(",") if x.strip()]
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    emulator, base_url = _start_emulator(args.job_seconds)
    rows: list[dict[str, Any]] = []
    try:
        for n in counts:
            for kind in clients:
                run = _run_worker(kind, base_url, n, timeout=120 + 0.2 * n)
                row = _summarise(run, _stats(base_url))
                rows.append(row)
                print(
                    f"  {kind:<7} N={n:<5} done in {row['wall_s']:.1f}s ({row['errors']} errors)",
                    file=sys.stderr,
                    flush=True,
                )
                if row["sample_errors"]:
                    print(f"    e.g. {row['sample_errors'][0]}", file=sys.stderr)
    finally:
        emulator.terminate()
        try:
            emulator.wait(10)
        except subprocess.TimeoutExpired:
            emulator.kill()
    print()
    print(f"fal video jobs of {args.job_seconds:g} s against the emulator in its own process")
    print(_table(rows))
    print()
    for line in _verdicts(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
