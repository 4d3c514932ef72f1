"""`tarash serve` overhead: added latency and throughput for mock images, and memory with
1,000 open video jobs.

    python -m benchmarks.serve_latency            # about a minute on 2 cores
    python -m benchmarks.serve_latency --n 300 --open-jobs 1000

1. **Direct**: ``generate_image_async`` on the mock provider in this process, ``--n``
   requests one after the other (latency), then ``--n`` with ``--concurrency`` in flight
   (throughput).
2. **Server**: the same requests as ``POST /v1/images/generations`` (``b64_json``) to a
   ``tarash serve`` subprocess on 127.0.0.1 (SQLite, synchronous=FULL), with httpx.
   Added latency = server − direct, per percentile.
3. **Open jobs**: ``--open-jobs`` video jobs on a fal emulator whose jobs run 10 minutes;
   the server's RSS before and once every job is accepted and being polled, and the
   database rows. A waiting job is a row, not a coroutine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tarash.tarash_gateway import generate_image_async
from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _direct(n: int, concurrency: int) -> tuple[list[float], float]:
    config = ImageGenerationConfig(provider="mock", model="mock-image")
    request = ImageGenerationRequest(prompt="a lighthouse at dusk")
    await generate_image_async(config, request)  # warm-up
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        await generate_image_async(config, request)
        lat.append(time.perf_counter() - t)
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            await generate_image_async(config, request)

    t = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return lat, n / (time.perf_counter() - t)


async def _server(base: str, n: int, concurrency: int) -> tuple[list[float], float]:
    body = {"prompt": "a lighthouse at dusk", "model": "mock/mock-image"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        (await client.post("/v1/images/generations", json=body)).raise_for_status()
        lat = []
        for _ in range(n):
            t = time.perf_counter()
            r = await client.post("/v1/images/generations", json=body)
            r.raise_for_status()
            lat.append(time.perf_counter() - t)
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with sem:
                (await client.post("/v1/images/generations", json=body)).raise_for_status()

        t = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return lat, n / (time.perf_counter() - t)


def _start(cmd: list[str], env: dict[str, str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready, timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{cmd[:4]} did not start; see {log}")


async def _open_jobs(base: str, count: int, pid: int) -> tuple[int, int, float]:
    before = _rss_kb(pid)
    body = {"operation": "video", "model": "slow-video", "request": {"prompt": "x"}}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        sem = asyncio.Semaphore(32)

        async def one() -> str:
            async with sem:
                r = await client.post("/v1/jobs", json=body)
                r.raise_for_status()
                return str(r.json()["id"])

        t = time.perf_counter()
        ids = await asyncio.gather(*(one() for _ in range(count)))
        accept = time.perf_counter() - t
        deadline = time.monotonic() + 120
        wanted = f'tarash_jobs{{provider="fal",state="in_progress"}} {float(len(ids))}'
        while time.monotonic() < deadline:  # every job accepted upstream and being polled
            if wanted in (await client.get("/metrics")).text:
                break
            await asyncio.sleep(0.5)
        else:
            raise SystemExit("the open jobs were not all accepted in 120 s")
        await asyncio.sleep(2)
    return before, _rss_kb(pid), accept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--open-jobs", type=int, default=1000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tarash-serve-bench-"))
    fal_port, port = _port(), _port()
    env = {k: v for k, v in os.environ.items() if k != "TARASH_MASTER_KEY"}
    fal = _start(
        [
            sys.executable,
            "-m",
            "tests.emulators.fal",
            "--port",
            str(fal_port),
            "--no-auth",
            "--job-seconds",
            "600",
        ],
        env,
        f"http://127.0.0.1:{fal_port}/__admin__/stats",
        tmp / "fal.log",
    )
    (tmp / "config.toml").write_text(
        f'[server]\nresults_dir = "{tmp / "results"}"\nworkers = 32\n\n'
        '[providers.fal]\napi_key = "bench"\n\n'
        '[models.slow-video]\nprovider = "fal"\nmodel = "fal-ai/veo3.1"\noperation = "video"\n'
        f'base_url = "http://127.0.0.1:{fal_port}"\npoll_interval = 10\n'
    )
    server = _start(
        [
            sys.executable,
            "-m",
            "tarash.tarash_gateway.cli",
            "serve",
            "--port",
            str(port),
            "--config",
            str(tmp / "config.toml"),
            "--db",
            f"sqlite:///{tmp / 'server.db'}",
            "--log-level",
            "warning",
        ],
        env,
        f"http://127.0.0.1:{port}/healthz",
        tmp / "server.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        d_lat, d_tput = asyncio.run(_direct(args.n, args.concurrency))
        s_lat, s_tput = asyncio.run(_server(base, args.n, args.concurrency))
        before, after, accept = asyncio.run(_open_jobs(base, args.open_jobs, server.pid))
        db_size = (tmp / "server.db").stat().st_size
    finally:
        for proc in (server, fal):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    print(f"\nmock image, n={args.n} sequential; throughput with {args.concurrency} in flight\n")
    print(f"{'path':<22}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}{'req/s':>10}")
    for name, lat, tput in (("library (direct)", d_lat, d_tput), ("tarash serve", s_lat, s_tput)):
        mean = statistics.fmean(lat) * 1000
        print(
            f"{name:<22}{_pct(lat, 0.5):>10.1f}{_pct(lat, 0.95):>10.1f}{mean:>10.1f}{tput:>10.1f}"
        )
    print(
        f"{'added by the server':<22}{_pct(s_lat, 0.5) - _pct(d_lat, 0.5):>10.1f}"
        f"{_pct(s_lat, 0.95) - _pct(d_lat, 0.95):>10.1f}"
    )
    print(f"\n{args.open_jobs} open video jobs (fal emulator, 10-minute jobs, polled every 10 s)\n")
    print(f"  accepted in          {accept:.2f} s ({args.open_jobs / accept:.0f} jobs/s)")
    print(f"  server RSS before    {before / 1024:.1f} MiB")
    print(
        f"  server RSS with jobs {after / 1024:.1f} MiB"
        f"  ({(after - before) / args.open_jobs:.1f} KiB/job)"
    )
    print(f"  SQLite file          {db_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
