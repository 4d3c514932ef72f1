"""``--no-wait`` + ``tarash jobs``: submit now, list, resume from another process, cancel."""

from __future__ import annotations

from tests.cli.conftest import Cli, assert_mp4


def test_submit_list_resume_and_cancel(cli: Cli) -> None:
    # The second job runs on a slow mock (3 steps × 30 s): still running when it is
    # cancelled (a finished job is never cancelled: its paid result is kept).
    (cli.cwd / "slow.toml").write_text("[mock]\ndelay = 30\n")
    submit = [
        "video", "a fox", "-p", "mock", "--no-wait", "--jobs-db", "jobs.db", "--json",
        "--param", "loop=true", "--param", "name=fox", "--param", 'cfg={"a": [1, 2]}',
        "--param", "fal.speed=2",
    ]  # fmt: skip
    started = cli.start(*submit)
    second = cli.start("video", "a second fox", "-p", "mock", "--no-wait", "-q",
                       "--config", "slow.toml",
                       env={"TARASH_JOBS_DB": "jobs.db"}).wait()  # fmt: skip
    first = started.wait()

    assert first.code == 0, first
    job = first.json()
    assert job["submitted"] is True and job["operation"] == "video"
    # --param values: JSON when valid JSON, else text; PROVIDER.KEY goes to that provider only
    payload = job["job"]["data"]["payload"]
    assert payload["extra_params"] == {"loop": True, "name": "fox", "cfg": {"a": [1, 2]}}
    assert payload["provider_options"] == {"fal": {"speed": 2}}
    assert second.code == 0, second
    second_id = second.stdout.strip()
    assert second_id.startswith("tg_") and second.stderr == ""

    listing = cli("jobs", "list", "--json", env={"TARASH_JOBS_DB": "jobs.db"})
    pending = {row["request_id"]: row for row in listing.json()["pending"]}
    assert set(pending) == {job["request_id"], second_id}
    assert pending[job["request_id"]]["state"] == "submitted"

    resumed, cancelled, missing = cli.many(
        [
            ["jobs", "resume", job["request_id"][:12], "--jobs-db", "jobs.db", "-o", "later.mp4",
             "--json"],
            ["jobs", "cancel", second_id, "--jobs-db", "jobs.db", "--config", "slow.toml"],
            ["jobs", "resume", "tg_nope", "--jobs-db", "jobs.db"],
        ]
    )  # fmt: skip

    assert resumed.code == 0, resumed
    data = resumed.json()
    assert data["request_id"] == job["request_id"] and data["files"] == ["later.mp4"]
    assert_mp4(resumed.cwd / "later.mp4")
    assert cancelled.code == 0 and f"cancelled {second_id}" in cancelled.stdout

    assert missing.code == 2 and "no job 'tg_nope'" in missing.stderr

    after = cli("jobs", "--jobs-db", "jobs.db")
    assert after.code == 0 and "no pending jobs in jobs.db" in after.stdout


def test_cancel_of_a_finished_job_says_it_finished_and_keeps_it_fetchable(cli: Cli) -> None:
    (cli.cwd / "fast.toml").write_text("[mock]\ndelay = 0\n")
    env = {"TARASH_JOBS_DB": "jobs.db"}
    submitted = cli("video", "a fox", "-p", "mock", "--no-wait", "-q", "--config", "fast.toml",
                    env=env)  # fmt: skip
    assert submitted.code == 0, submitted
    request_id = submitted.stdout.strip()

    cancelled = cli("jobs", "cancel", request_id, "--config", "fast.toml", env=env)
    assert cancelled.code == 1, cancelled
    assert "had already finished on mock, so there was nothing to cancel" in cancelled.stderr
    assert f"tarash jobs resume {request_id}" in cancelled.stderr
    as_json = cli("jobs", "cancel", request_id, "--config", "fast.toml", "--json", env=env)
    assert as_json.code == 1 and as_json.json()["error"]["type"] == "already_finished"

    # the paid result was not thrown away: it is still listed and can be fetched
    listing = cli("jobs", "list", "--json", env=env).json()["pending"]
    assert [(r["request_id"], r["state"]) for r in listing] == [(request_id, "result_pending")]
    resumed = cli("jobs", "resume", request_id, "-o", "kept.mp4", "-q", env=env)
    assert resumed.code == 0, resumed
    assert_mp4(resumed.cwd / "kept.mp4")
