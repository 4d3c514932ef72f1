"""Job store under a burst: N concurrent ``await store.record(job)`` calls.

    python benchmarks/job_store_burst.py                 # N = 1, 100, 1000; ~20 s
    python benchmarks/job_store_burst.py --n 1,1000 --repeat 5 --dir /var/tmp --json out.json

Stores compared, each on a fresh file per run:

* **per-write** — the previous ``SQLiteJobStore`` (reproduced below): a new connection per
  write under a process-wide lock, in ``asyncio.to_thread``, SQLite's default rollback
  journal (synchronous=FULL);
* **group NORMAL** — the current store: one connection in one writer thread, WAL,
  group commit, ``synchronous=NORMAL`` (the default: survives kill -9);
* **group FULL** — the same with ``synchronous=FULL`` (also survives power loss).

Columns: *records/s* — N / wall time of the burst (median of the runs); *ack p50/p95 ms*
— time from the call to the return of each ``record()`` (every call of every run);
*tx* — write transactions per burst (median); *loop stall ms* — the longest gap seen by a
5 ms heartbeat task on the same event loop during the bursts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tarash.tarash_gateway.jobs import JobRef, SQLiteJobStore, job_key, utcnow


class ConnectionPerWriteStore:
    """The previous SQLiteJobStore's write path: connect, write, commit, close — per write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.transactions = 0
        with self._connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tarash_job_records ("
                " job_key TEXT PRIMARY KEY, request_id TEXT NOT NULL, job TEXT NOT NULL,"
                " state TEXT NOT NULL, error TEXT, updated_at TEXT NOT NULL)"
            )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def _write(self, job: JobRef, state: str) -> None:
        with self._lock, self._connection() as conn:
            conn.execute(
                "INSERT INTO tarash_job_records(job_key, request_id, job, state, error,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_key) DO UPDATE SET"
                " job=excluded.job, state=excluded.state, error=excluded.error,"
                " updated_at=excluded.updated_at",
                (job_key(job), job.request_id, job.to_json(), state, None, utcnow().isoformat()),
            )
            self.transactions += 1

    async def record(self, job: JobRef) -> None:
        await asyncio.to_thread(self._write, job, "submitted")

    def close(self) -> None:
        pass


def _jobs(n: int, run: int) -> list[JobRef]:
    return [
        JobRef(
            provider="fal",
            model="fal-ai/veo3",
            operation="video",
            provider_request_id=f"{run}-{i}",
            request_id=f"tg_{run}_{i}",
            endpoints={"status": f"https://queue.fal.run/fal-ai/veo3/requests/{run}-{i}/status"},
            data={"app_id": "fal-ai/veo3"},
        )
        for i in range(n)
    ]


def _make(kind: str, path: Path) -> Any:
    if kind == "per-write":
        return ConnectionPerWriteStore(path)
    return SQLiteJobStore(path, synchronous="FULL" if kind == "group FULL" else "NORMAL")


async def _burst(kind: str, n: int, run: int, folder: Path) -> tuple[float, list[float], int]:
    # opening (file creation, migration) is not part of the burst: off the loop
    store = await asyncio.to_thread(_make, kind, folder / f"{kind.replace(' ', '-')}-{n}-{run}.db")
    acks: list[float] = []

    async def one(job: JobRef) -> None:
        start = time.perf_counter()
        await store.record(job)
        acks.append(time.perf_counter() - start)

    jobs = _jobs(n, run)
    before = store.transactions
    start = time.perf_counter()
    await asyncio.gather(*(one(job) for job in jobs))
    wall = time.perf_counter() - start
    transactions = store.transactions - before
    await asyncio.to_thread(store.close)
    return wall, acks, transactions


async def _measure(kind: str, n: int, repeat: int, folder: Path) -> dict[str, Any]:
    stalls: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            stalls.append(now - last - 0.005)
            last = now

    beat = asyncio.create_task(heartbeat())
    walls, acks, txs = [], [], []
    for run in range(repeat):
        wall, run_acks, tx = await _burst(kind, n, run, folder)
        walls.append(wall)
        acks.extend(run_acks)
        txs.append(tx)
    stop.set()
    await beat
    acks.sort()
    return {
        "store": kind,
        "n": n,
        "records_per_s": n / statistics.median(walls),
        "ack_p50_ms": 1000 * acks[len(acks) // 2],
        "ack_p95_ms": 1000 * acks[min(len(acks) - 1, int(0.95 * len(acks)))],
        "transactions": statistics.median(txs),
        "loop_stall_ms": 1000 * max(stalls, default=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", default="1,100,1000", help="comma-separated burst sizes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (fresh file each)")
    parser.add_argument("--dir", default=None, help="where the database files go")
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    args = parser.parse_args()
    sizes = [int(x) for x in args.n.split(",") if x.strip()]
    kinds = ["per-write", "group NORMAL", "group FULL"]
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="tarash-jobs-bench-") as tmp:
        folder = Path(tmp)
        print(f"database files in {folder}; {args.repeat} runs per cell")
        for n in sizes:
            for kind in kinds:
                rows.append(asyncio.run(_measure(kind, n, args.repeat, folder)))
    header = (
        f"{'N':>5}  {'store':<13} {'records/s':>10} {'ack p50 ms':>11} {'ack p95 ms':>11}"
        f" {'tx':>6} {'loop stall ms':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['n']:>5}  {row['store']:<13} {row['records_per_s']:>10.0f}"
            f" {row['ack_p50_ms']:>11.2f} {row['ack_p95_ms']:>11.2f}"
            f" {row['transactions']:>6.0f} {row['loop_stall_ms']:>14.1f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
