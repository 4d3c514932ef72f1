"""`tarash serve` on a real PostgreSQL: concurrent migrations, SKIP LOCKED claims,
LISTEN/NOTIFY, and three instances sharing one database while one is killed -9.

The cluster comes from ``tests/server/conftest.py`` (``TARASH_TEST_POSTGRES_URL`` or a
local throw-away cluster); without PostgreSQL these tests are skipped.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tarash.tarash_gateway.server import db as dbm
from tarash.tarash_gateway.server.config import ServerSettings
from tarash.tarash_gateway.server.metrics import Metrics
from tarash.tarash_gateway.server.pg import JOB_CHANNEL, Listener
from tarash.tarash_gateway.server.workers import Engine, ResultStore
from tests.emulators.fal import FAL_API_KEY, FalEmulator
from tests.emulators.harness import JobScript
from tests.server.test_serve import Server, _sse

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(dbm.sqlalchemy_url(url))


def test_three_processes_migrate_at_once(postgres_url: str) -> None:
    code = (
        "import sys; from tarash.tarash_gateway.server.db import Database; "
        "d = Database(sys.argv[1]); print(d.migrate()); d.close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, postgres_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert sorted(outs) == ["[1, 2]", "[]", "[]"]  # exactly one applied them
    engine = _engine(postgres_url)
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM tarash_migrations")).scalars().all()
        triggers = conn.execute(
            sa.text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'tarash_%' ORDER BY 1")
        ).scalars()
        assert sorted(versions) == [1, 2]
        assert list(triggers) == [
            "tarash_job_events_notify",
            "tarash_jobs_notify_ins",
            "tarash_jobs_notify_upd",
        ]
    engine.dispose()


def _insert_jobs(db: dbm.Database, n: int) -> None:
    t = dbm.now()
    rows = [
        {
            "id": f"job_{i:08x}",
            "key_id": "k",
            "operation": "video",
            "model_alias": "mock/mock-video",
            "request": "{}",
            "options": "{}",
            "chain_index": 0,
            "state": "queued",
            "attempts": 0,
            "submits": 0,
            "progress": 0,
            "next_poll_at": t - 1,
            "cancel_requested": False,
            "created_at": t,
            "updated_at": t,
            "deleted": False,
        }
        for i in range(n)
    ]
    db.run_sync(lambda c: c.execute(dbm.jobs.insert(), rows))


def test_skip_locked_claims_never_overlap(postgres_url: str, tmp_path: Path) -> None:
    db = dbm.Database(postgres_url)
    db.migrate()
    _insert_jobs(db, 200)
    engines = [
        Engine(db, ServerSettings(), Metrics(), ResultStore(tmp_path), webhooks=None)
        for _ in range(4)
    ]
    claimed: list[list[str]] = [[] for _ in engines]
    barrier = threading.Barrier(len(engines))

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(20):
            rows = db.run_sync(lambda c: engines[i]._claim(c, limit=7))
            claimed[i].extend(r["id"] for r in rows)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = [j for c in claimed for j in c]
    assert len(every) == len(set(every)) == 200  # each row once, all of them
    assert all(claimed)  # every claimer got some: SKIP LOCKED, not a queue behind one
    with db.engine.connect() as conn:
        owners = conn.execute(sa.text("SELECT count(DISTINCT lease_owner) FROM tarash_jobs"))
        assert owners.scalar_one() == len(engines)
    db.close()


def test_listen_wakes_on_a_new_job_and_on_events(postgres_url: str) -> None:
    db = dbm.Database(postgres_url)
    db.migrate()

    async def main() -> tuple[int, list[str]]:
        work = asyncio.Event()
        jobs: list[str] = []
        listener = Listener(db.url, work.set, jobs.append)
        task = asyncio.create_task(listener.run())
        await asyncio.wait_for(listener.connected.wait(), 10)
        work.clear()
        await asyncio.to_thread(_insert_jobs, db, 1)
        await asyncio.wait_for(work.wait(), 5)  # a due insert notifies
        await asyncio.to_thread(
            db.run_sync,
            lambda c: c.execute(
                sa.text(
                    "INSERT INTO tarash_job_events (job_id, seq, type, data, created_at) "
                    "VALUES ('job_00000000', 1, 'job.progress', '{}', 0)"
                )
            ),
        )
        deadline = time.monotonic() + 5
        while not jobs and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # The listening session dies (a failover, an admin): it reconnects and listens again.
        killed = await asyncio.to_thread(
            db.run_sync,
            lambda c: c.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                )
            ).scalar_one(),
        )
        assert killed == 1
        deadline = time.monotonic() + 10
        while listener.connected.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.wait_for(listener.connected.wait(), 10)
        work.clear()
        await asyncio.to_thread(
            db.run_sync,
            lambda c: c.execute(sa.text("UPDATE tarash_jobs SET next_poll_at = 0")),
        )
        await asyncio.wait_for(work.wait(), 5)  # released due again: notified again
        task.cancel()
        return listener.received, jobs

    received, jobs = asyncio.run(main())
    assert received >= 3 and jobs == ["job_00000000"], (received, jobs, JOB_CHANNEL)
    db.close()


# ---------------------------------------------------------------------------- scale-out

N_JOBS = int(os.environ.get("TARASH_SCALEOUT_JOBS", "300"))


def _config(emu: FalEmulator, tmp: Path) -> str:
    return (
        f'\n[providers.fal]\napi_key = "{FAL_API_KEY}"\n'
        '\n[models.fal-video]\nprovider = "fal"\nmodel = "fal-ai/veo3.1"\noperation = "video"\n'
        f'base_url = "{emu.base_url}"\npoll_interval = 0.3\n'
    )


def test_three_instances_one_killed(postgres_url: str, tmp_path: Path) -> None:
    """300 fal jobs over 3 instances; one is killed -9 midway. Every job is submitted at
    most once; every job whose submit was not cut by the kill completes; all are fetchable
    from every instance; an SSE stream on a survivor follows a job to its end."""
    with FalEmulator(api_key=FAL_API_KEY) as emu:
        emu.default_job_script = JobScript.success(queued=0.3, running=1.0)
        emu.job_script = emu.default_job_script
        extra = "lease_seconds = 5\nworkers = 24\n" + _config(emu, tmp_path)
        servers = []
        for i in range(3):
            d = tmp_path / f"i{i}"
            d.mkdir()
            srv = Server(d, extra)
            srv.db = postgres_url
            srv.cfg.write_text(
                srv.cfg.read_text().replace(
                    f'results_dir = "{d / "results"}"', f'results_dir = "{tmp_path / "results"}"'
                )
            )
            servers.append(srv)
        for srv in servers:  # started together: migrations race under the advisory lock
            threading.Thread(target=srv.start).start()
        deadline = time.monotonic() + 30
        for srv in servers:
            while srv.proc is None or not _healthy(srv):
                assert time.monotonic() < deadline, "instances did not start"
                time.sleep(0.1)
        ids: list[str] = []
        sse: dict[str, Any] = {}
        try:
            clients = [srv.http() for srv in servers]
            alive = list(clients)
            for i in range(N_JOBS):
                r = alive[i % len(alive)].post(
                    "/v1/jobs",
                    json={
                        "operation": "video",
                        "model": "fal-video",
                        "request": {"prompt": f"scale {i}", "duration_seconds": 8},
                    },
                )
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
                if i == N_JOBS // 2:
                    # A job in flight across the kill, followed from a survivor.
                    watched = ids[-1]
                    t = threading.Thread(
                        target=lambda w=watched: sse.update(
                            events=_sse(servers[0].http(), f"/v1/jobs/{w}/events")
                        )
                    )
                    t.start()
                    sse["thread"] = t
                    dead = httpx.get(f"{servers[2].base}/healthz").json()["worker_id"]
                    held_q = sa.text(
                        "SELECT id FROM tarash_jobs WHERE lease_owner = :w "
                        "AND state NOT IN ('completed','failed','cancelled','unknown')"
                    )
                    probe = _engine(postgres_url)
                    with probe.connect() as conn:  # kill while it holds leases
                        until = time.monotonic() + 10
                        while (
                            len(conn.execute(held_q, {"w": dead}).all()) < 2
                            and time.monotonic() < until
                        ):
                            time.sleep(0.005)
                    servers[2].kill9()  # midway: steps of every kind are in flight
                    with probe.connect() as conn:
                        orphaned = [r.id for r in conn.execute(held_q, {"w": dead})]
                    probe.dispose()
                    alive = clients[:2]
            engine = _engine(postgres_url)
            deadline = time.monotonic() + 120
            while True:
                with engine.connect() as conn:
                    states = dict(
                        conn.execute(
                            sa.text("SELECT state, count(*) FROM tarash_jobs GROUP BY state")
                        ).all()
                    )
                if not set(states) & {"queued", "submitting", "in_progress", "fetching"}:
                    break
                assert time.monotonic() < deadline, states
                time.sleep(0.2)
            servers[2].start()  # back on the same database: it serves every job too
            submits = Counter(
                job.payload["prompt"] for job in list(emu.jobs.values()) if job.payload
            )
            assert max(submits.values()) == 1, submits.most_common(3)  # never twice upstream
            with engine.connect() as conn:
                rows = {
                    r.id: r
                    for r in conn.execute(
                        sa.text("SELECT id, state, submits, lease_owner, error FROM tarash_jobs")
                    )
                }
            assert len(rows) == N_JOBS
            unknown = [r for r in rows.values() if r.state == "unknown"]
            completed = [r for r in rows.values() if r.state == "completed"]
            assert len(completed) + len(unknown) == N_JOBS, Counter(r.state for r in rows.values())
            # The dead instance's leased rows were carried on by the others.
            assert orphaned, "the killed instance held no lease"
            assert all(rows[i].state in ("completed", "unknown") for i in orphaned)
            assert not any(rows[i].lease_owner == dead for i in orphaned)
            print(
                f"\n{N_JOBS} jobs: {Counter(r.state for r in rows.values())}; "
                f"{len(orphaned)} rows leased by the killed instance carried on"
            )
            # Only submits cut by the kill are unknown (at most one per worker slot there).
            assert len(unknown) <= 24, len(unknown)
            assert all('"submit_outcome_unknown"' in (r.error or "") for r in unknown)
            assert len(submits) == len(completed) + sum(
                1 for r in unknown if f"scale {ids.index(r.id)}" in submits
            )
            owners_by_instance = Counter()
            for srv, client in zip(servers, [*clients[:2], servers[2].http()], strict=True):
                for job_id in ids[:: max(1, N_JOBS // 60)] + [r.id for r in completed[:5]]:
                    body = client.get(f"/v1/jobs/{job_id}").json()
                    assert body["id"] == job_id and body["state"] in ("completed", "unknown")
                owners_by_instance[srv.port] += 1
            for r in completed[:3]:
                assert servers[2].http().get(f"/v1/jobs/{r.id}/content").status_code in (
                    200,
                    302,
                    307,
                )
            sse["thread"].join(30)
            events = sse.get("events") or []
            assert events and events[-1]["event"] in ("job.completed", "job.unknown"), events
            seqs = [int(e["id"]) for e in events]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            engine.dispose()
        finally:
            for srv in servers:
                srv.stop()


def _healthy(srv: Server) -> bool:
    try:
        return httpx.get(f"{srv.base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
