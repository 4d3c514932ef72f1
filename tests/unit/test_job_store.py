"""Job stores: submit intents, the SQLite store's group commit, migration, durability."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tarash.tarash_gateway.jobs import (
    JobRecord,
    JobRef,
    JobStore,
    MemoryJobStore,
    SQLiteJobStore,
    SubmitIntent,
    get_job_store,
    intent_key,
    job_key,
    list_pending_jobs,
    list_pending_jobs_async,
    payload_hash,
    payload_hash_async,
    set_job_store,
)
from tarash.tarash_gateway.media import MediaInput

SRC = Path(__file__).resolve().parents[2] / "src"


def make_job(n: int | str, request_id: str | None = None, provider: str = "fal") -> JobRef:
    return JobRef(
        provider=provider,
        model="fal-ai/veo3",
        operation="video",
        provider_request_id=f"req-{n}",
        request_id=request_id or f"tg_{n}",
    )


def make_intent(n: int | str, request_id: str | None = None, **fields: Any) -> SubmitIntent:
    data: dict[str, Any] = {
        "intent_id": f"in-{n}",
        "request_id": request_id or f"tg_{n}",
        "provider": "fal",
        "model": "fal-ai/veo3",
        "operation": "video",
        "payload_hash": payload_hash({"prompt": f"fox {n}"}),
        **fields,
    }
    return SubmitIntent.model_validate(data)


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    if request.param == "memory":
        yield MemoryJobStore()
        return
    sqlite_store = SQLiteJobStore(tmp_path / "jobs.db")
    try:
        yield sqlite_store
    finally:
        await sqlite_store.aclose()


# ----------------------------------------------------------------------------- models


def test_intent_and_job_store_urls_without_userinfo() -> None:
    intent = make_intent(1, base_url="https://user:s3cret@proxy.example:8443/fal?x=1")
    assert intent.base_url == "https://proxy.example:8443/fal?x=1"
    job = JobRef.model_validate({**make_job(1).model_dump(), "base_url": "http://k:v@127.0.0.1:9/"})
    assert job.base_url == "http://127.0.0.1:9/"
    assert "s3cret" not in intent.model_dump_json()
    assert make_intent(2, base_url=None).base_url is None
    assert make_intent(3, base_url="https://h/p@q").base_url == "https://h/p@q"  # '@' in the path


def test_submit_intent_is_frozen_strict_and_utc() -> None:
    intent = make_intent(1)
    assert intent.attempt_number == 1
    assert intent.created_at.tzinfo is not None
    assert intent.created_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError):
        SubmitIntent.model_validate({**intent.model_dump(), "api_key": "x"})
    with pytest.raises(ValidationError):
        intent.intent_id = "other"  # type: ignore[misc]


def test_job_record_needs_a_job_or_an_intent() -> None:
    with pytest.raises(ValidationError, match="needs a job, an intent"):
        JobRecord()
    only_intent = JobRecord(intent=make_intent(7), state="intent")
    assert only_intent.key == "intent:in-7" == intent_key("in-7")
    assert (only_intent.request_id, only_intent.provider, only_intent.intent_id) == (
        "tg_7",
        "fal",
        "in-7",
    )
    both = JobRecord(job=make_job(7), intent=make_intent(7))
    assert both.key == job_key(make_job(7)) == "fal:req-7"
    assert both.job is not None and both.submitted_at == both.job.submitted_at
    with pytest.raises(ValidationError):
        JobRecord(job=make_job(1), state="exploded")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- payload hash


def test_payload_hash_is_canonical_and_content_based(tmp_path: Path) -> None:
    first = tmp_path / "a.png"
    first.write_bytes(b"\x89PNG-one")
    payload = {
        "prompt": "a fox",
        "n": 2,
        "image": MediaInput(data=b"\x00\x01", content_type="image/png"),
        "ref": MediaInput(url="https://example.com/x.png"),
        "file": MediaInput(path=first),
        "tags": {"b", "a"},
        "when": datetime(2026, 1, 2, tzinfo=UTC),
    }
    reordered = dict(reversed(list(payload.items())))
    reordered["tags"] = {"a", "b"}
    assert payload_hash(payload) == payload_hash(reordered)
    assert len(payload_hash(payload)) == 64 and int(payload_hash(payload), 16) >= 0
    # equal content in a fresh object → equal hash; different content → different hash
    copy = {**payload, "image": MediaInput(data=bytes([0, 1]), content_type="image/png")}
    assert payload_hash(copy) == payload_hash(payload)
    assert payload_hash({**payload, "image": MediaInput(data=b"\x00\x02")}) != payload_hash(payload)
    assert payload_hash({**payload, "prompt": "a cat"}) != payload_hash(payload)
    before = payload_hash(payload)
    first.write_bytes(b"\x89PNG-two-longer")  # same path, new content
    assert payload_hash(payload) != before
    assert payload_hash({"x": float("nan")}) == payload_hash({"x": float("nan")})
    assert payload_hash({"b": b"x"}) != payload_hash({"b": "x"})


class Opaque:
    """An object with the default repr (which holds a memory address)."""

    def __init__(self, value: int) -> None:
        self.value = value


def test_payload_hash_never_uses_a_memory_address_repr() -> None:
    one, two = Opaque(1), Opaque(1)
    assert repr(one) != repr(two)
    assert payload_hash({"o": one}) == payload_hash({"o": two})
    assert payload_hash({"o": Opaque(1)}) != payload_hash({"o": Opaque(2)})


_HASH_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {src!r})
sys.path.insert(0, {tests!r})
from tarash.tarash_gateway.jobs import payload_hash
from tarash.tarash_gateway.media import MediaInput
from test_job_store import Opaque
print(payload_hash({{
    "prompt": "a fox", "image": MediaInput(data=b"\\x00\\x01", content_type="image/png"),
    "file": Path({file!r}), "o": Opaque(3), "tags": {{"z", "y", "x"}}, "raw": b"abc",
}}))
"""


def test_payload_hash_is_equal_across_processes(tmp_path: Path) -> None:
    file = tmp_path / "clip.mp4"
    file.write_bytes(b"\x00\x00\x00\x18ftypmp42" * 100)
    script = _HASH_CHILD.format(src=str(SRC), tests=str(Path(__file__).parent), file=str(file))
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout.strip()
        for seed in ("1", "2")
    ]
    here = payload_hash(
        {
            "prompt": "a fox",
            "image": MediaInput(data=b"\x00\x01", content_type="image/png"),
            "file": file,
            "o": Opaque(3),
            "tags": {"x", "y", "z"},
            "raw": b"abc",
        }
    )
    assert runs == [here, here]


async def test_payload_hash_async_matches(tmp_path: Path) -> None:
    payload = {"a": [1, 2, {"b": b"\xff" * 2_000_000}]}
    assert await payload_hash_async(payload) == payload_hash(payload)


# ----------------------------------------------------------------------------- lifecycle


async def test_intent_lifecycle_resolved_into_a_job(store: JobStore) -> None:
    intent = make_intent(1)
    await store.record_intent(intent)
    (pending,) = await store.pending()
    assert (pending.state, pending.key, pending.job, pending.intent) == (
        "intent",
        "intent:in-1",
        None,
        intent,
    )
    for ident in ("tg_1", "in-1", "intent:in-1"):
        found = await store.get(ident)
        assert found is not None and found.intent == intent, ident

    job = make_job(1)
    await store.resolve_intent("in-1", job)
    (record,) = await store.pending()  # the intent record BECAME the job record
    assert (record.state, record.key, record.job, record.intent) == (
        "submitted",
        "fal:req-1",
        job,
        intent,
    )
    for ident in ("tg_1", "in-1", "fal:req-1"):
        found = await store.get(ident)
        assert found is not None and found.key == "fal:req-1" and found.intent_id == "in-1"

    await store.update(job, "processing")
    updated = await store.get("tg_1")
    assert updated is not None and updated.state == "processing" and updated.intent == intent
    await store.update_intent("in-1", "unknown", "late outcome")  # already resolved: ignored
    after = await store.get("in-1")
    assert after is not None and after.state == "processing" and after.job == job
    await store.update(job, "completed")
    assert await store.pending() == []
    done = await store.get("tg_1")
    assert done is not None and done.state == "completed" and done.intent_id == "in-1"


async def test_unknown_outcome_stays_pending_and_not_sent_is_terminal(store: JobStore) -> None:
    await store.record_intent(make_intent(1))
    await store.record_intent(make_intent(2))
    await store.update_intent("in-1", "unknown", "connection reset after the request was sent")
    await store.update_intent("in-2", "not_sent", "connection refused")
    (pending,) = await store.pending()
    assert (pending.intent_id, pending.state, pending.error) == (
        "in-1",
        "unknown",
        "connection reset after the request was sent",
    )
    assert [r.intent_id for r in await list_pending_jobs_async(store)] == ["in-1"]
    not_sent = await store.get("in-2")
    assert not_sent is not None and not_sent.state == "not_sent" and not_sent.is_terminal
    with pytest.raises(ValueError, match="unknown"):
        await store.update_intent("in-1", "submitted")  # only resolve_intent makes a job
    await store.update_intent("missing", "unknown")  # nothing to update: no error, no record
    assert await store.get("missing") is None


async def test_resolving_an_intent_the_store_never_saw_still_records_the_job(
    store: JobStore,
) -> None:
    job = make_job(9)
    await store.resolve_intent("in-never-recorded", job)
    (record,) = await store.pending()
    assert (record.key, record.state, record.job) == ("fal:req-9", "submitted", job)


async def test_record_without_intent_and_retries_keep_their_own_records(store: JobStore) -> None:
    first, second = make_job("a", "tg_call"), make_job("b", "tg_call")
    await store.record(first)
    await store.update(first, "abandoned", "timeout")
    await store.record_intent(make_intent("b", "tg_call"))
    await store.resolve_intent("in-b", second)
    states = {r.key: r.state for r in await store.pending()}
    assert states == {"fal:req-a": "abandoned", "fal:req-b": "submitted"}
    latest = await store.get("tg_call")
    assert latest is not None and latest.key == "fal:req-b"


async def test_several_attempts_of_one_request_each_keep_an_intent(store: JobStore) -> None:
    for attempt in (1, 2):
        await store.record_intent(make_intent(f"r{attempt}", "tg_req", attempt_number=attempt))
    await store.update_intent("in-r1", "unknown", "read timeout")
    await store.resolve_intent("in-r2", make_job("r2", "tg_req"))
    pending = {
        r.key: (r.state, r.intent.attempt_number if r.intent else 0) for r in await store.pending()
    }
    assert pending == {"intent:in-r1": ("unknown", 1), "fal:req-r2": ("submitted", 2)}


def test_list_pending_jobs_sync_uses_the_active_store() -> None:
    previous = get_job_store()
    store = MemoryJobStore()
    set_job_store(store)
    try:
        asyncio.run(store.record_intent(make_intent(5)))
        asyncio.run(store.update_intent("in-5", "unknown"))
        assert [(r.intent_id, r.state) for r in list_pending_jobs()] == [("in-5", "unknown")]
    finally:
        set_job_store(previous)


# ----------------------------------------------------------------------------- SQLite


async def test_sqlite_records_survive_reopen_and_other_instances_see_commits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.db"
    writer, reader = SQLiteJobStore(path), SQLiteJobStore(path)
    try:
        await writer.record_intent(make_intent(1))
        await writer.update_intent("in-1", "unknown", "truncated body")
        await writer.record(make_job(2))
        seen = {r.key: r.state for r in await reader.pending()}
        assert seen == {"intent:in-1": "unknown", "fal:req-2": "submitted"}
    finally:
        writer.close()
        await reader.aclose()
    reopened = SQLiteJobStore(path)
    try:
        record = await reopened.get("in-1")
        assert record is not None and record.state == "unknown" and record.error == "truncated body"
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        reopened.close()


async def test_sqlite_burst_is_group_committed(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db")
    try:
        jobs = [make_job(i) for i in range(1000)]
        await asyncio.gather(*(store.record(job) for job in jobs))
        assert store.transactions < 100, store.transactions  # not one transaction per write
        assert {r.key for r in await store.pending()} == {job_key(j) for j in jobs}
    finally:
        store.close()


async def test_sqlite_concurrent_intents_resolves_and_updates(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db")

    async def one(n: int) -> None:
        await store.record_intent(make_intent(n))
        await asyncio.sleep(0)
        if n % 3 == 0:
            await store.update_intent(f"in-{n}", "unknown", "reset")
            return
        await store.resolve_intent(f"in-{n}", make_job(n))
        await store.update(make_job(n), "completed" if n % 3 == 1 else "abandoned")

    try:
        await asyncio.gather(*(one(n) for n in range(300)))
        states = {r.key: r.state for r in await store.pending()}
    finally:
        store.close()
    expected = {f"intent:in-{n}": "unknown" for n in range(0, 300, 3)}
    expected |= {f"fal:req-{n}": "abandoned" for n in range(2, 300, 3)}
    assert states == expected


async def test_event_loop_keeps_running_during_a_burst(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db", synchronous="FULL")
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    try:
        for round_ in range(5):
            await asyncio.gather(*(store.record(make_job(f"{round_}-{i}")) for i in range(200)))
    finally:
        stop.set()
        await beat
        store.close()
    assert gaps and max(gaps) < 0.25, max(gaps)


async def test_a_cancelled_caller_does_not_lose_its_write(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = SQLiteJobStore(path)
    try:
        tasks = [asyncio.create_task(store.record(make_job(i))) for i in range(50)]
        await asyncio.sleep(0)  # every task has queued its write
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        store.flush()
        assert len(await store.pending()) == 50
    finally:
        store.close()


async def test_one_failing_write_does_not_fail_the_rest_of_its_batch(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO tarash_job_records(job_key, request_id, state, updated_at)"
            " VALUES ('x', 'tg_x', 'submitted', 'now')"
        )
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    try:
        results = await asyncio.gather(
            *(store.record(make_job(i)) for i in range(20)),
            store._call(broken),
            *(store.record(make_job(i)) for i in range(20, 40)),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1 and isinstance(errors[0], sqlite3.OperationalError)
        keys = {r.key for r in await store.pending()}
        assert keys == {f"fal:req-{i}" for i in range(40)}  # the failed op left nothing behind
    finally:
        store.close()


async def test_close_is_idempotent_and_refuses_later_writes(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db")
    await store.record(make_job(1))
    store.close()
    store.close()
    await store.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await store.record(make_job(2))
    again = SQLiteJobStore(tmp_path / "jobs.db")
    try:
        assert [r.key for r in await again.pending()] == ["fal:req-1"]
    finally:
        again.close()


def test_invalid_synchronous_setting() -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteJobStore(":memory:", synchronous="OFF")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- migration

_OLD_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tarash_job_records ("
    " job_key TEXT PRIMARY KEY, request_id TEXT NOT NULL, job TEXT NOT NULL,"
    " state TEXT NOT NULL, error TEXT, updated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS tarash_job_records_request ON tarash_job_records(request_id)",
)


def _old_file(path: Path) -> list[JobRef]:
    """A store file exactly as the previous release wrote it (rollback journal, v0 table)."""
    jobs = [make_job(i) for i in range(3)]
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in _OLD_SCHEMA:
            conn.execute(statement)
        for job, state in zip(jobs, ("submitted", "abandoned", "completed"), strict=True):
            conn.execute(
                "INSERT INTO tarash_job_records VALUES (?, ?, ?, ?, ?, ?)",
                (job_key(job), job.request_id, job.to_json(), state, None, "2026-01-01T00:00:00"),
            )
    return jobs


async def test_migrates_an_old_schema_file_and_runs_again_safely(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    jobs = _old_file(path)
    old_pending = {job_key(jobs[0]): "submitted", job_key(jobs[1]): "abandoned"}
    for run in range(2):  # the second open finds the current schema and changes nothing
        store = SQLiteJobStore(path)
        try:
            pending = {r.key: r.state for r in await store.pending()}
            assert pending == old_pending | ({"intent:in-new": "unknown"} if run else {})
            done = await store.get(jobs[2].request_id)
            assert done is not None and done.state == "completed" and done.job == jobs[2]
            await store.record_intent(make_intent("new"))
            await store.update_intent("in-new", "unknown")
        finally:
            store.close()
    with closing(sqlite3.connect(path)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(tarash_job_records)")]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        indexes = sorted(
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
            if not r[0].startswith("sqlite_autoindex")
        )
        notnull = {row[1]: row[3] for row in conn.execute("PRAGMA table_info(tarash_job_records)")}
    assert columns == [
        "job_key", "request_id", "job", "intent_id", "intent", "state", "error", "updated_at",
    ]  # fmt: skip
    assert tables == ["tarash_job_records"]
    assert indexes == [
        "tarash_job_records_intent",
        "tarash_job_records_pending",
        "tarash_job_records_request",
    ]
    assert notnull["job"] == 0  # an intent has no job yet


async def test_two_processes_opening_an_old_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_file(path)
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path.insert(0, {str(SRC)!r})
        from tarash.tarash_gateway.jobs import SQLiteJobStore
        store = SQLiteJobStore({str(path)!r})
        print(len(asyncio.run(store.pending())))
        store.close()
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [child.communicate(timeout=60)[0].strip() for child in children]
    assert [child.returncode for child in children] == [0, 0, 0]
    assert outputs == ["2", "2", "2"]


# ----------------------------------------------------------------------------- exit and kill -9

_EXIT_CHILD = """
import asyncio, sys
sys.path.insert(0, {src!r})
from tarash.tarash_gateway.jobs import JobRef, SQLiteJobStore
store = SQLiteJobStore({path!r}, busy_timeout=60)
print("opened", flush=True)
sys.stdin.readline()  # the parent now holds the write lock

async def main():
    jobs = [JobRef(provider="fal", model="m", operation="video", provider_request_id=f"x{{i}}",
                   request_id=f"tg_{{i}}") for i in range(100)]
    tasks = [asyncio.create_task(store.record(job)) for job in jobs]
    await asyncio.sleep(0.2)  # queued; the writer waits for the parent's lock
    print("exiting", flush=True)
    # asyncio.run cancels the waiting tasks; the interpreter exits without close()

asyncio.run(main())
"""


def test_writes_queued_at_interpreter_exit_are_flushed(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _EXIT_CHILD.format(src=str(SRC), path=str(path))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    blocker = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "opened"
        blocker.execute("BEGIN IMMEDIATE")  # hold the write lock: the child cannot commit
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "exiting"
        time.sleep(0.3)
        assert child.poll() is None  # still flushing at exit
        blocker.execute("ROLLBACK")
        assert child.wait(timeout=60) == 0
    finally:
        blocker.close()
        if child.poll() is None:
            child.kill()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tarash_job_records").fetchone()[0] == 100


_BURST_CHILD = """
import asyncio, os, sys
sys.path.insert(0, {src!r})
from tarash.tarash_gateway.jobs import JobRef, SQLiteJobStore, job_key
store = SQLiteJobStore({path!r})
out = sys.stdout

async def one(job):
    await store.record(job)
    out.write(job_key(job) + "\\n")  # acknowledged: the row is committed
    out.flush()

async def main():
    out.write("ready\\n"); out.flush()
    for burst in range(200):  # 300 concurrent records per burst until killed
        jobs = [JobRef(provider="fal", model="m", operation="video",
                       provider_request_id=f"b{{burst}}-{{i}}", request_id=f"tg_{{burst}}_{{i}}",
                       data={{"payload": "x" * 400}}) for i in range(300)]
        await asyncio.gather(*(one(job) for job in jobs))

asyncio.run(main())
"""


@pytest.mark.parametrize("kill_after", ["0.5", "random-1", "random-2"])
def test_kill_9_during_a_burst_loses_no_acknowledged_job(tmp_path: Path, kill_after: str) -> None:
    import random
    import signal

    delay = random.uniform(0.05, 1.5) if kill_after.startswith("random") else float(kill_after)
    path = tmp_path / "jobs.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _BURST_CHILD.format(src=str(SRC), path=str(path))],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == b"ready\n"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        output, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL, "the child finished before the kill"
    lines = output.split(b"\n")
    acknowledged = {line.decode() for line in lines[:-1]}  # the last one may be cut off
    assert len(acknowledged) >= 300, f"only {len(acknowledged)} acks within {delay:.2f}s"
    with closing(sqlite3.connect(path)) as conn:  # opening replays the write-ahead log
        stored = {row[0] for row in conn.execute("SELECT job_key FROM tarash_job_records")}
    missing = acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged jobs lost (kill after {delay:.2f}s)"
    assert (
        json.loads(
            sqlite3.connect(path)
            .execute("SELECT job FROM tarash_job_records LIMIT 1")
            .fetchone()[0]
        )["provider"]
        == "fal"
    )
