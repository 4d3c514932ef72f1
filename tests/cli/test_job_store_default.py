"""The CLI's default SQLite job store: kill -9 leaves a resumable job, SIGTERM/SIGHUP act
like Ctrl-C, and ``tarash jobs`` lists submits whose outcome is unknown."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from tarash.tarash_gateway.jobs import SQLiteJobStore, SubmitIntent, payload_hash, utcnow
from tests.cli.conftest import Cli, assert_mp4


def default_db(cli: Cli) -> Path:
    """Where the isolated home's default store lives ($XDG_DATA_HOME/tarash/jobs.db)."""
    return cli.home / ".local" / "share" / "tarash" / "jobs.db"


def job_rows(db: Path) -> list[tuple[str, str]]:
    """(request_id, state) of every record; [] before the CLI created the table."""
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as conn:
        try:
            return list(conn.execute("SELECT request_id, state FROM tarash_job_records"))
        except sqlite3.OperationalError:
            return []


def wait_for_submitted(db: Path) -> list[tuple[str, str]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = job_rows(db)
        if rows and rows[0][1] == "submitted":
            return rows
        time.sleep(0.05)
    pytest.fail(f"no job was recorded in {db}")


def test_jobs_go_to_the_default_store_unless_told_otherwise(cli: Cli) -> None:
    default = cli("video", "a fox", "-p", "mock", "--no-wait", "-q")
    other = cli.home / "elsewhere"
    by_xdg = cli("video", "a cat", "-p", "mock", "--no-wait", "-q",
                 env={"XDG_DATA_HOME": str(other)})  # fmt: skip
    by_env = cli("video", "a dog", "-p", "mock", "--no-wait", "-q",
                 env={"TARASH_JOBS_DB": "mine.db", "XDG_DATA_HOME": str(other)})  # fmt: skip
    no_xdg = cli("video", "an owl", "-p", "mock", "--no-wait", "-q", env={"XDG_DATA_HOME": ""})
    for result in (default, by_xdg, by_env, no_xdg):
        assert result.code == 0, result
    # XDG_DATA_HOME empty → ~/.local/share (the same file as the isolated default)
    assert {r for r, _ in job_rows(default_db(cli))} == {
        default.stdout.strip(),
        no_xdg.stdout.strip(),
    }
    assert job_rows(other / "tarash" / "jobs.db") == [(by_xdg.stdout.strip(), "submitted")]
    assert job_rows(cli.cwd / "mine.db") == [(by_env.stdout.strip(), "submitted")]

    listing = cli("jobs", "--json")
    assert listing.code == 0, listing
    data = listing.json()
    assert data["jobs_db"] == str(default_db(cli))
    assert {row["request_id"] for row in data["pending"]} == {
        default.stdout.strip(),
        no_xdg.stdout.strip(),
    }


def test_listing_before_any_job_creates_nothing(cli: Cli) -> None:
    listing = cli("jobs")
    assert listing.code == 0, listing
    assert f"no pending jobs in {default_db(cli)}" in " ".join(listing.stdout.split())
    assert not default_db(cli).exists()
    missing = cli("jobs", "--jobs-db", "typo.db")
    assert missing.code == 2 and "job store not found: typo.db" in missing.stderr


def test_a_killed_cli_leaves_a_resumable_job(cli: Cli) -> None:
    cli.write_config("[mock]\ndelay = 0.6\n")  # queued → processing → completed in ~1.2 s
    running = cli.start("video", "a fox", "-p", "mock", "-o", "fox.mp4")
    ((request_id, _),) = wait_for_submitted(default_db(cli))
    running.process.send_signal(signal.SIGKILL)
    killed = running.wait()
    assert killed.code == -signal.SIGKILL
    assert not (cli.cwd / "fox.mp4").exists()

    listing = cli("jobs")
    assert listing.code == 0 and request_id in listing.stdout and "submitted" in listing.stdout
    resumed = cli("jobs", "resume", request_id, "-o", "fox.mp4", "--json")
    assert resumed.code == 0, resumed
    assert resumed.json()["request_id"] == request_id
    assert_mp4(cli.cwd / "fox.mp4")
    assert job_rows(default_db(cli)) == [(request_id, "completed")]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_cancel_the_job_like_ctrl_c(cli: Cli, sig: int, code: int) -> None:
    cli.write_config("[mock]\ndelay = 10\n")  # a job that would take 20 s
    running = cli.start("video", "a fox", "-p", "mock", "--json")
    db = default_db(cli)
    ((request_id, _),) = wait_for_submitted(db)

    running.process.send_signal(sig)
    result = running.wait()

    name = signal.Signals(sig).name
    assert result.code == code, result
    (line,) = result.stderr_lines
    assert line == f"error: terminated by {name}; the gateway asked the provider to cancel the job"
    error = result.json()["error"]
    assert error["exit_code"] == code and error["signal"] == name
    assert job_rows(db) == [(request_id, "cancelled")]  # the mock confirmed the upstream cancel
    assert not list(cli.cwd.glob("*.mp4"))


def _write_intents(db: Path) -> None:
    async def write() -> None:
        store = SQLiteJobStore(db)
        try:
            unknown = SubmitIntent(
                intent_id="in-unknown-1",
                request_id="tg_unknown_1",
                provider="fal",
                model="fal-ai/veo3",
                operation="video",
                payload_hash=payload_hash({"prompt": "a fox"}),
                base_url="https://user:pw@proxy.example/fal",
                created_at=utcnow() - timedelta(minutes=3, seconds=5),
            )
            await store.record_intent(unknown)
            await store.update_intent(unknown.intent_id, "unknown", "connection reset after send")
            refused = unknown.model_copy(
                update={"intent_id": "in-refused", "request_id": "tg_refused"}
            )
            await store.record_intent(refused)
            await store.update_intent("in-refused", "not_sent", "connection refused")
        finally:
            await store.aclose()

    asyncio.run(write())


def test_jobs_lists_unknown_intents_and_refuses_to_resume_them(cli: Cli) -> None:
    db = default_db(cli)
    db.parent.mkdir(parents=True)
    _write_intents(db)

    table, as_json, resume, cancel, refused = cli.many(
        [
            ["jobs"],
            ["jobs", "list", "--json"],
            ["jobs", "resume", "tg_unknown_1"],
            ["jobs", "cancel", "tg_unknown"],
            ["jobs", "resume", "tg_refused"],
        ]
    )

    assert table.code == 0, table
    text = " ".join(table.stdout.split())
    assert "tg_unknown_1" in text and "fal/fal-ai/veo3" in text and "unknown" in text
    assert "outcome unknown — may have been accepted; not resent" in text
    assert re.search(r"\b3m \d+s\b", text), text  # age of the intent (3 min 5 s, or more)
    assert "tg_refused" not in text  # not sent: nothing can bill, nothing pending

    (row,) = as_json.json()["pending"]
    assert row["state"] == "unknown" and row["provider_request_id"] is None
    assert row["intent_id"] == "in-unknown-1"
    assert row["payload_hash"] == payload_hash({"prompt": "a fox"})
    assert row["error"] == "connection reset after send"
    assert row["note"] == "outcome unknown — may have been accepted; not resent"
    assert row["age_seconds"] >= 185

    for result in (resume, cancel):
        assert result.code == 1, result
        message = " ".join(result.stderr.split())
        assert "tg_unknown_1 has no provider job to resume or cancel" in message
        assert "may have been accepted and may bill, and it was not resent" in message
    assert refused.code == 1 and "failed before the provider could accept it" in refused.stderr
    assert "pw@" not in db.read_bytes().decode("latin-1")  # no userinfo in the file


def test_an_unusable_default_store_warns_and_runs_in_memory(cli: Cli) -> None:
    blocked = cli.home / "not-a-dir"
    blocked.write_text("a file where the data directory should be", encoding="utf-8")
    env = {"XDG_DATA_HOME": str(blocked)}
    ran, no_wait, named = cli.many(
        [
            ["video", "a fox", "-p", "mock", "-o", "fox.mp4"],
            ["video", "a fox", "-p", "mock", "--no-wait"],
            ["video", "a fox", "-p", "mock", "--jobs-db", str(blocked / "jobs.db")],
        ],
        env=env,
    )
    assert ran.code == 0, ran
    warning = " ".join(ran.stderr.split())
    assert f"cannot open the job store {blocked}/tarash/jobs.db" in warning
    assert "this job is kept in memory only" in warning
    assert_mp4(cli.cwd / "fox.mp4")
    for refused in (no_wait, named):  # nothing to resume from: a usage of the store fails
        assert refused.code == 1, refused
        assert "cannot open the job store" in refused.stderr
