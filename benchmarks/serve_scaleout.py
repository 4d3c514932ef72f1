"""`tarash serve` scale-out on one PostgreSQL: 1, 2 and 3 instances, then many in-flight jobs.

    python -m benchmarks.serve_scaleout                       # PostgreSQL started for the run
    TARASH_TEST_POSTGRES_URL=postgresql://… python -m benchmarks.serve_scaleout --jobs 300

1. **Throughput**: for 1, 2 and 3 instances (each ``workers = 32``, fresh database),
   first ``--light-jobs`` jobs paced at ``--light-rate`` jobs/s (the latency a job sees
   below capacity), then a burst of ``--jobs`` fal video jobs (``POST /v1/jobs``, 32 in
   flight, spread round-robin over the instances) on a fal emulator whose jobs take
   ``--job-seconds`` (a subprocess). Reported:
   jobs/s (first accept → last completion), p50/p95 *added* latency per job
   (``completed_at − created_at`` from the rows, minus the emulator's job time — this
   includes the poll granularity, ``poll_interval = 0.25``), and each instance's share of the
   job steps (its ``tarash_job_steps_total`` from ``/metrics``).
2. **In flight**: 3 instances, ``--inflight`` jobs on a second emulator whose jobs run
   10 minutes, ``poll_interval = --inflight-poll`` s. Once all are accepted and being
   polled: rows in ``tarash_jobs``/``tarash_job_events``, the tables' size, and CPU over a
   ``--window`` second window of each instance and of the PostgreSQL server processes.

The PostgreSQL cluster is ``TARASH_TEST_POSTGRES_URL`` if set, else a throw-away one
(``.ci/pg-cluster``, the distribution's binaries). Everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
MASTER = "bench-master-key-0123456789"
TICKS = os.sysconf("SC_CLK_TCK")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _children(ppid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == ppid:
                out.append(int(entry.name))
    return out


def _start(cmd: list[str], env: dict[str, str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready, timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{cmd[:4]} did not start; see {log}")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


class Cluster:
    def __init__(self) -> None:
        self.url = os.environ.get("TARASH_TEST_POSTGRES_URL", "")
        self.dir: str | None = None
        if not self.url:
            self.dir = tempfile.mkdtemp(prefix="tarash-bench-pg-")
            out = subprocess.run(
                [str(ROOT / ".ci" / "pg-cluster"), "start", self.dir, str(_port())],
                check=True,
                capture_output=True,
                text=True,
            )
            self.url = out.stdout.strip()

    def postmaster(self) -> int | None:
        if self.dir is None:
            return None
        return int((Path(self.dir) / "data" / "postmaster.pid").read_text().split()[0])

    def database(self) -> str:
        name = f"tarash_bench_{secrets.token_hex(4)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rpartition("/")[0] + "/" + name

    def stop(self) -> None:
        if self.dir is not None:
            subprocess.run([str(ROOT / ".ci" / "pg-cluster"), "stop", self.dir], check=False)


def _servers(
    n: int, db: str, fal_port: int, poll: float, tmp: Path, env: dict[str, str]
) -> list[tuple[str, subprocess.Popen[bytes]]]:
    cfg = tmp / f"config-{fal_port}-{poll}.toml"
    cfg.write_text(
        f'[server]\nresults_dir = "{tmp / "results"}"\nworkers = 32\nidle_wakeup = 1.0\n'
        "poll_min = 0.05\nlease_seconds = 30\n\n"
        '[providers.fal]\napi_key = "bench"\n\n'
        '[models.video]\nprovider = "fal"\nmodel = "fal-ai/veo3.1"\noperation = "video"\n'
        f'base_url = "http://127.0.0.1:{fal_port}"\npoll_interval = {poll}\n'
    )
    out = []
    for i in range(n):
        port = _port()
        cmd = [
            sys.executable,
            "-m",
            "tarash.tarash_gateway.cli",
            "serve",
            "--port",
            str(port),
            "--config",
            str(cfg),
            "--db",
            db,
            "--log-level",
            "warning",
        ]
        log = tmp / f"server-{port}.log"
        out.append(
            (
                f"http://127.0.0.1:{port}",
                _start(cmd, env, f"http://127.0.0.1:{port}/healthz", log),
            )
        )
        _ = i
    return out


async def _submit(
    bases: list[str], count: int, concurrency: int = 32, rate: float | None = None
) -> list[str]:
    headers = {"Authorization": f"Bearer {MASTER}"}
    limits = httpx.Limits(max_connections=concurrency)
    clients = [
        httpx.AsyncClient(base_url=b, timeout=120, headers=headers, limits=limits) for b in bases
    ]
    sem = asyncio.Semaphore(concurrency)
    run = secrets.token_hex(4)

    async def one(i: int) -> str:
        if rate:  # paced: job i leaves at i / rate seconds
            await asyncio.sleep(i / rate)
        body = {"operation": "video", "model": "video", "request": {"prompt": f"b {i}"}}
        # A dropped keep-alive connection is retried (3 tries) under the same
        # Idempotency-Key, so a retry never makes a second job.
        headers = {"Idempotency-Key": f"{run}-{i}"}
        async with sem:
            for attempt in range(3):
                try:
                    r = await clients[i % len(clients)].post("/v1/jobs", json=body, headers=headers)
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.2)
            r.raise_for_status()
            return str(r.json()["id"])

    try:
        return await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        for c in clients:
            await c.aclose()


def _steps(base: str) -> float:
    text = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {MASTER}"}, timeout=30
    ).text
    return sum(float(m) for m in re.findall(r"^tarash_job_steps_total\{[^}]*\} (\S+)$", text, re.M))


def _wait_all(db: str, timeout: float = 600) -> list[tuple[str, float, float]]:
    deadline = time.monotonic() + timeout
    with psycopg.connect(db, autocommit=True) as conn:
        while True:
            left = conn.execute(
                "SELECT count(*) FROM tarash_jobs WHERE state NOT IN "
                "('completed','failed','cancelled','unknown')"
            ).fetchone()
            if left is not None and left[0] == 0:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs did not finish in {timeout:g} s")
            time.sleep(0.2)
        return [
            (str(r[0]), float(r[1]), float(r[2]))
            for r in conn.execute("SELECT state, created_at, completed_at FROM tarash_jobs")
        ]


def _throughput(
    cluster: Cluster,
    n: int,
    jobs: int,
    fal_port: int,
    job_seconds: float,
    tmp: Path,
    env: dict[str, str],
    light: int,
    light_rate: float,
) -> dict[str, object]:
    db = cluster.database()
    servers = _servers(n, db, fal_port, 0.25, tmp, env)
    try:
        # Light load first (paced well below capacity): the latency a job sees.
        asyncio.run(_submit([b for b, _ in servers], light, rate=light_rate))
        light_rows = _wait_all(db)
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("DELETE FROM tarash_job_events")
            conn.execute("DELETE FROM tarash_jobs")
        steps0 = [_steps(b) for b, _ in servers]
        asyncio.run(_submit([b for b, _ in servers], jobs))
        rows = _wait_all(db)
        steps = [_steps(b) - s0 for b, s0 in zip((b for b, _ in servers), steps0, strict=True)]
    finally:
        _stop([p for _, p in servers])
    light_added = [r[2] - r[1] - job_seconds for r in light_rows if r[0] == "completed"]
    done = [r for r in rows if r[0] == "completed"]
    added = [r[2] - r[1] - job_seconds for r in done]
    span = max(r[2] for r in done) - min(r[1] for r in done)
    total = sum(steps) or 1
    return {
        "instances": n,
        "completed": f"{len(done)}/{jobs}",
        "jobs/s": f"{len(done) / span:.1f}",
        f"p95 added, {light_rate:g}/s": f"{_pct(light_added, 0.95) * 1000:.0f} ms",
        "p50 added, burst": f"{_pct(added, 0.5) * 1000:.0f} ms",
        "p95 added, burst": f"{_pct(added, 0.95) * 1000:.0f} ms",
        "share": " / ".join(f"{s / total:.0%}" for s in steps),
    }


def _inflight(
    cluster: Cluster,
    count: int,
    poll: float,
    window: float,
    fal_port: int,
    tmp: Path,
    env: dict[str, str],
) -> dict[str, object]:
    db = cluster.database()
    servers = _servers(3, db, fal_port, poll, tmp, env)
    try:
        t = time.perf_counter()
        asyncio.run(_submit([b for b, _ in servers], count, concurrency=48))
        accept = time.perf_counter() - t
        deadline = time.monotonic() + 600
        with psycopg.connect(db, autocommit=True) as conn:
            while True:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'in_progress'), count(*) "
                    "FROM tarash_jobs"
                ).fetchone()
                assert row is not None
                if row[0] == count:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {row[0]} of {count} accepted in 600 s")
                time.sleep(0.5)
            time.sleep(poll)  # steady state: every job polled at least once more
            pids = [p.pid for _, p in servers]
            pm = cluster.postmaster()
            pg_pids = _children(pm) if pm is not None else []
            before = [_cpu_seconds(p) for p in pids]
            pg_before = sum(_cpu_seconds(p) for p in pg_pids if Path(f"/proc/{p}").exists())
            steps_before = sum(_steps(b) for b, _ in servers)
            time.sleep(window)
            after = [_cpu_seconds(p) for p in pids]
            pg_after = sum(_cpu_seconds(p) for p in pg_pids if Path(f"/proc/{p}").exists())
            steps_after = sum(_steps(b) for b, _ in servers)
            jobs_rows, events_rows = conn.execute(
                "SELECT (SELECT count(*) FROM tarash_jobs), "
                "(SELECT count(*) FROM tarash_job_events)"
            ).fetchone() or (0, 0)
            size = conn.execute(
                "SELECT pg_total_relation_size('tarash_jobs') + "
                "pg_total_relation_size('tarash_job_events')"
            ).fetchone()
    finally:
        _stop([p for _, p in servers])
    cpu = [(a - b) / window for a, b in zip(after, before, strict=True)]
    return {
        "in-flight jobs": count,
        "accepted in": f"{accept:.1f} s",
        "poll interval": f"{poll:g} s",
        "polls/s": f"{(steps_after - steps_before) / window:.0f}",
        "tarash_jobs rows": jobs_rows,
        "tarash_job_events rows": events_rows,
        "table size": f"{(size[0] if size else 0) / 2**20:.1f} MiB",
        "instance CPU": " / ".join(f"{c:.0%}" for c in cpu),
        "PostgreSQL CPU": f"{(pg_after - pg_before) / window:.0%}" if pg_pids else "n/a",
    }


def _table(rows: list[dict[str, object]]) -> str:
    keys = list(rows[0])
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in keys]
    line = "| " + " | ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(str(r[k]).ljust(w) for k, w in zip(keys, widths, strict=True)) + " |"
        for r in rows
    ]
    return "\n".join([line, sep, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--job-seconds", type=float, default=1.0)
    parser.add_argument("--light-jobs", type=int, default=40)
    parser.add_argument("--light-rate", type=float, default=4.0, help="jobs/s, paced")
    parser.add_argument("--inflight", type=int, default=10_000)
    parser.add_argument("--inflight-poll", type=float, default=30.0)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--instances", default="1,2,3")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tarash-scaleout-"))
    env = {**os.environ, "TARASH_MASTER_KEY": MASTER, "PYTHONUNBUFFERED": "1"}
    cluster = Cluster()
    emulators: list[subprocess.Popen[bytes]] = []
    try:
        ports = []
        for seconds in (args.job_seconds, 600.0):
            port = _port()
            emulators.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "tests.emulators.fal",
                        "--port",
                        str(port),
                        "--no-auth",
                        "--job-seconds",
                        str(seconds),
                    ],
                    env,
                    f"http://127.0.0.1:{port}/__admin__/stats",
                    tmp / f"fal-{port}.log",
                )
            )
            ports.append(port)
        print(f"PostgreSQL: {cluster.url}; {os.cpu_count()} CPUs; fal jobs {args.job_seconds:g} s")
        rows = [
            _throughput(
                cluster,
                int(n),
                args.jobs,
                ports[0],
                args.job_seconds,
                tmp,
                env,
                args.light_jobs,
                args.light_rate,
            )
            for n in args.instances.split(",")
        ]
        print(_table(rows))
        if args.inflight:
            print()
            row = _inflight(
                cluster, args.inflight, args.inflight_poll, args.window, ports[1], tmp, env
            )
            print(_table([{"metric": k, "value": v} for k, v in row.items()]))
    finally:
        _stop(emulators)
        cluster.stop()


if __name__ == "__main__":
    main()
