"""Every failure: the documented exit code, ONE readable stderr line, no traceback."""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from tests.cli.conftest import Cli, CliResult

# (arguments, exit code, text the single error line must contain)
CASES: list[tuple[list[str], int, str]] = [
    # usage and validation → 2
    (["video", "a fox", "--aspect-ratio", "wide"], 2, "--aspect-ratio: aspect ratio must look"),
    (["video", "a fox", "--duration", "0"], 2, "--duration"),
    (["video", "a fox", "--duration", "abc"], 2, "'--duration'"),
    (["video"], 2, "Missing argument 'PROMPT'"),
    (["video", "   "], 2, "PROMPT must not be empty"),
    (["video", "a fox", "--provider", "nosuch"], 2, "unknown provider 'nosuch'"),
    (["video", "a fox", "--provider", "mokc"], 2, "did you mean 'mock'?"),
    (["video", "a fox", "--fallback", "nosuch:x"], 2, "--fallback: unknown provider"),
    (["tts", "hello", "--provider", "stability"], 2, "stability does not offer tts"),
    (["image", "a cat", "--image", "missing.png"], 2, "--image: no such file: missing.png"),
    (["image", "a cat", "--param", "novalue"], 2, "expected KEY=VALUE"),
    (["tts", "hi", "--format", "mp3_fast"], 2, "--format: audio format must look like"),
    (["tts", "hi", "--voice-settings", "{bad"], 2, "--voice-settings: not valid JSON"),
    (["sts", "missing.wav", "--voice", "v"], 2, "AUDIO: no such file"),
    (["sts", "in.wav"], 2, "Missing option '--voice'"),
    (["video", "a fox", "--config", "nope.toml"], 2, "config file not found: nope.toml"),
    (["vidoe", "a fox"], 2, "No such command 'vidoe'"),
    # no key for a real provider → 3, before anything is sent
    (["image", "a cat", "--provider", "openai"], 3, "no API key for openai: set OPENAI_API_KEY"),
    # provider failures rehearsed on the mock (one attempt, no fallback)
    (["video", "a fox", "--mock-fail", "validation"], 2, "invalid request"),
    (["video", "a fox", "--mock-fail", "authentication"], 3, "authentication failed"),
    (["video", "a fox", "--mock-fail", "moderation"], 4, "refused by content moderation"),
    (["video", "a fox", "--mock-fail", "rate_limit"], 5, "rate limited: mock rate limit"),
    (["video", "a fox", "--mock-fail", "server_error"], 6, "status=503"),
    (["image", "a cat", "--mock-fail", "connection"], 7, "connection failed"),
    (["tts", "hello", "--mock-fail", "timeout"], 8, "timed out"),
    (["video", "a fox", "--mock-fail", "generation_failed"], 9, "generation failed"),
]


PROGRESS_LINE = re.compile(r"^\[\s*\d+\.\d+s\] \S+/\S+: (queued|processing)")


def _assert_single_error_line(result: CliResult, code: int, expected: str) -> None:
    assert result.code == code, result
    assert result.stdout == "", result
    *before, line = result.stderr_lines
    assert line.startswith("error: "), result
    assert expected in line, result
    # Only progress lines of a job that was accepted may precede it: no traceback, no noise.
    assert all(PROGRESS_LINE.match(other) for other in before), result
    assert "Traceback" not in result.stderr


def test_each_error_class_has_its_exit_code_and_one_line(cli: Cli) -> None:
    (cli.cwd / "in.wav").write_bytes(b"RIFF")
    commands = []
    for args, _, _ in CASES:
        extra = ["--provider", "mock", "--retries", "0"] if "--mock-fail" in args else []
        commands.append([*args, *extra])

    results = cli.batch(commands)

    for result, (_, code, expected) in zip(results, CASES, strict=True):
        _assert_single_error_line(result, code, expected)


def test_json_mode_reports_the_error_as_json_and_debug_adds_a_traceback(cli: Cli) -> None:
    failing = ["video", "a fox", "-p", "mock", "--mock-fail", "rate_limit", "--retries", "1"]
    moderated = ["image", "a cat", "-p", "mock", "--mock-fail", "moderation", "--debug"]
    result, as_json, debug = cli.many([failing, [*failing, "--json"], moderated])

    _assert_single_error_line(result, 5, "after 2 attempts: mock/mock-video")
    assert as_json.code == 5
    (line,) = as_json.stderr_lines
    assert line.startswith("error: rate limited")
    data = as_json.json()
    assert data["ok"] is False and data["operation"] == "video"
    error = data["error"]
    assert error["type"] == "RateLimitError" and error["exit_code"] == 5
    assert error["status_code"] == 429 and error["retryable"] is True
    assert error["provider"] == "mock" and error["model"] == "mock-video"
    meta = data["execution_metadata"]
    assert meta["total_attempts"] == 2  # one retry on the same provider
    assert [a["status"] for a in meta["attempts"]] == ["failed"] * 2
    assert {a["error_type"] for a in meta["attempts"]} == {"RateLimitError"}
    assert [a["retry_number"] for a in meta["attempts"]] == [0, 1]

    # the traceback is there only with --debug (every other case above has none)
    assert debug.code == 4
    assert "Traceback (most recent call last)" in debug.stderr
    assert "ContentModerationError" in debug.stderr
    assert debug.stderr_lines[-1].startswith("error: refused by content moderation")


def _job_states(db: Path) -> list[str]:
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT state FROM tarash_job_records")]
        except sqlite3.OperationalError:  # the CLI has created the file, not yet the table
            return []


def test_ctrl_c_cancels_the_accepted_job_upstream(cli: Cli) -> None:
    cli.write_config("[mock]\ndelay = 10\n")  # a job that would take 20 s
    running = cli.start("video", "a fox", "-p", "mock", "--jobs-db", "jobs.db", "--json")
    db = cli.cwd / "jobs.db"
    deadline = time.monotonic() + 30
    while not _job_states(db) and time.monotonic() < deadline:  # until the job is accepted
        time.sleep(0.05)
    assert _job_states(db) == ["submitted"]

    running.process.send_signal(signal.SIGINT)
    result = running.wait()

    assert result.code == 130, result
    (line,) = result.stderr_lines
    assert line == "error: interrupted; the gateway asked the provider to cancel the job"
    assert result.json()["error"]["exit_code"] == 130
    assert _job_states(db) == ["cancelled"]  # the mock confirmed the upstream cancel
    assert not list(cli.cwd.glob("*.mp4"))
