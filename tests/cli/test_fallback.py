"""Retries and fallback chains (``--fallback``, ``--mock-fail``) show up in output and metadata."""

from __future__ import annotations

import pytest

from tests.cli.conftest import CliResult, assert_mp4, assert_png, make_cli

FAILING_FIRST = ["--provider", "mock", "--mock-fail", "rate_limit", "--retries", "0"]
COMMANDS = {
    "json": ["video", "a fox", *FAILING_FIRST, "--fallback", "mock:mock-video:backup", "--json"],
    # attempt 1 fails, attempt 2 (a retry on the same config) succeeds
    "retried": ["image", "a dog", "-p", "mock", "--mock-fail", "server_error", "--mock-fail",
                "ok", "--retries", "1", "-o", "dog.png"],
    "announced": ["video", "a fox", *FAILING_FIRST, "--fallback", "mock:mock-video:backup"],
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliResult]:
    """The commands of this module, run concurrently."""
    cli = make_cli(tmp_path_factory.mktemp("fallback"))
    return dict(zip(COMMANDS, cli.many(list(COMMANDS.values())), strict=True))


def test_fallback_chain_is_recorded_and_reported(runs: dict[str, CliResult]) -> None:
    as_json = runs["json"]

    assert as_json.code == 0, as_json
    data = as_json.json()
    assert data["model"] == "mock-video:backup"
    assert_mp4(as_json.cwd / data["files"][0])
    meta = data["execution_metadata"]
    assert meta["configs_in_chain"] == 2
    assert meta["fallback_triggered"] is True
    assert meta["total_attempts"] == 2 and meta["successful_attempt"] == 2
    first, second = meta["attempts"]
    assert (first["status"], first["error_type"], first["is_retryable"]) == (
        "failed",
        "RateLimitError",
        True,
    )
    assert (first["config_index"], first["is_fallback"], first["model"]) == (0, False, "mock-video")
    assert (second["status"], second["config_index"], second["is_fallback"]) == ("success", 1, True)
    assert second["model"] == "mock-video:backup"


def test_a_retry_on_the_same_provider_is_announced(runs: dict[str, CliResult]) -> None:
    result = runs["retried"]

    assert result.code == 0, result
    assert_png(result.cwd / "dog.png")
    failure = [line for line in result.stderr_lines if line.startswith("✗")]
    assert failure == [
        "✗ mock/mock-image: mock server error (status=503, provider=mock, model=mock-image) "
        "→ trying again (attempt 2)"
    ], result
    assert "2 attempts" in result.stdout and "after fallback" not in result.stdout


def test_fallback_to_another_model_is_announced(runs: dict[str, CliResult]) -> None:
    result = runs["announced"]

    assert result.code == 0, result
    assert any(
        line.startswith("✗ mock/mock-video: mock rate limit")
        and line.endswith("→ falling back to mock/mock-video:backup")
        for line in result.stderr_lines
    ), result
    assert "mock/mock-video:backup" in result.stdout
