"""``tarash video|image|tts|sts`` on the offline mock write real, decodable media files.

Every command of this module is started at once (module fixture ``runs``); each test
then checks one of them — the commands are independent and mostly CPU-bound at start-up.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.cli.conftest import (
    Cli,
    CliResult,
    assert_mp4,
    assert_png,
    assert_wav,
    console_script,
    make_cli,
    write_wav,
)

COMMANDS: dict[str, list[str]] = {
    "video": ["video", "a red fox running through snow", "-o", "fox.mp4", "-d", "2", "-a", "9:16"],
    "video_json": ["video", "a fox", "--json", "-o", "clips/fox.mp4", "--seed", "7", "-r", "720p"],
    "images": ["image", "a cat in a spacesuit", "-o", "cat.png", "-n", "2", "--size", "640x480"],
    "quiet": ["image", "a cat", "-q"],
    "quiet_dir": ["image", "a cat", "-n", "2", "-o", "out/", "--quiet"],
    "tts": ["tts", "Hello there, this is the gateway speaking.", "-o", "hello.wav"],
    "sts": ["sts", "talk.wav", "--voice", "alice", "-o", "out.wav", "--json"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliResult]:
    """Every command of this module, run concurrently, each in its own directory."""
    started = {}
    for name, args in COMMANDS.items():
        cli = make_cli(tmp_path_factory.mktemp(name))
        write_wav(cli.cwd / "talk.wav", 1.5)
        started[name] = cli.start(*args)
    stdin_cli = make_cli(tmp_path_factory.mktemp("stdin"))
    started["stdin"] = stdin_cli.start("tts", "-", "-o", "hello.mp3", stdin="From stdin.")
    script_cli = make_cli(tmp_path_factory.mktemp("script"))
    started["script_image"] = script_cli.start("image", "a dog", "-q", "-o", "dog.png", script=True)
    return {name: running.wait() for name, running in started.items()}


def test_video_without_key_runs_on_mock_says_so_and_writes_a_playable_mp4(cli: Cli) -> None:
    result = cli(
        "video", "a red fox running through snow", "-o", "fox.mp4", "-d", "2", "-a", "9:16"
    )

    assert result.code == 0, result
    width, height, frames = assert_mp4(result.cwd / "fox.mp4")
    assert width < height  # 9:16 portrait
    assert frames == 24  # 2 s at the mock's 12 fps
    notes = [line for line in result.stderr_lines if line.startswith("note:")]
    assert len(notes) == 1 and "offline on the mock provider" in notes[0], result
    assert "error" not in result.stderr
    # Plain progress lines (stderr is not a terminal): queued → processing with a percent.
    assert re.search(r"mock/mock-video: queued", result.stderr), result
    assert re.search(r"mock/mock-video: processing \d+%", result.stderr), result
    assert "Saved fox.mp4" in result.stdout
    assert "video/mp4 · 2 s" in result.stdout


def test_video_json_has_files_metadata_cost_and_timings(runs: dict[str, CliResult]) -> None:
    result = runs["video_json"]

    assert result.code == 0, result
    data = result.json()
    assert data["ok"] is True
    assert data["operation"] == "video"
    assert data["files"] == ["clips/fox.mp4"]
    assert_mp4(result.cwd / "clips" / "fox.mp4")
    assert data["request_id"].startswith("tg_")
    assert data["provider"] == "mock" and data["model"] == "mock-video"
    assert data["is_mock"] is True
    assert data["content_type"] == "video/mp4"
    assert data["duration"] == 4.0
    assert data["seed"] == 7 and data["resolution"] == "720p"
    assert data["cost"]["amount"] == 0.0 and data["cost"]["unit"] == "usd"
    assert data["warnings"] == []
    assert "video" not in data and "raw_response" not in data  # no media blobs in the JSON
    meta = data["execution_metadata"]
    assert meta["total_attempts"] == 1 and meta["successful_attempt"] == 1
    assert meta["fallback_triggered"] is False and meta["configs_in_chain"] == 1
    assert meta["total_duration_seconds"] > 0
    (attempt,) = meta["attempts"]
    assert attempt["status"] == "success" and attempt["is_mock"] is True
    assert attempt["request_id"] == data["provider_request_id"]
    assert attempt["duration_seconds"] > 0
    assert datetime.fromisoformat(attempt["started_at"]) <= datetime.fromisoformat(
        attempt["ended_at"]
    )


def test_image_count_writes_numbered_pngs(runs: dict[str, CliResult]) -> None:
    result = runs["images"]

    assert result.code == 0, result
    first, second = result.cwd / "cat-1.png", result.cwd / "cat-2.png"
    assert assert_png(first) == (640, 480)
    assert assert_png(second) == (640, 480)
    assert first.read_bytes() != second.read_bytes()
    assert not (result.cwd / "cat.png").exists()
    assert "Saved cat-1.png" in result.stdout and "Saved cat-2.png" in result.stdout


def test_quiet_prints_only_the_paths(runs: dict[str, CliResult]) -> None:
    single, several = runs["quiet"], runs["quiet_dir"]

    assert single.code == 0, single
    assert single.stderr == ""  # not even the mock notice
    (path,) = single.stdout.splitlines()
    assert re.fullmatch(r"tarash-image-[0-9a-f]{8}\.png", path), path
    assert_png(single.cwd / path)

    assert several.code == 0, several
    assert several.stderr == ""
    paths = several.stdout.splitlines()
    assert len(paths) == 2
    for index, item in enumerate(paths, 1):
        assert re.fullmatch(rf"out/tarash-image-[0-9a-f]{{8}}-{index}\.png", item), item
        assert_png(several.cwd / item)


def test_tts_writes_wav_and_infers_the_format_from_the_extension(
    runs: dict[str, CliResult],
) -> None:
    result = runs["tts"]

    assert result.code == 0, result
    duration, rate = assert_wav(result.cwd / "hello.wav")
    assert 1.0 < duration < 10.0 and rate == 24000
    assert "warning" not in result.stderr  # wav asked for (from -o), wav received


def test_tts_reads_stdin_and_warns_when_the_name_lies_about_the_format(
    runs: dict[str, CliResult],
) -> None:
    result = runs["stdin"]

    assert result.code == 0, result
    assert_wav(result.cwd / "hello.mp3")  # the mock speaks WAV whatever was asked
    warnings = [line for line in result.stderr_lines if line.startswith("warning:")]
    assert any("holds audio/wav data" in w and ".mp3" in w for w in warnings), result


def test_sts_converts_a_local_file_keeping_its_duration(runs: dict[str, CliResult]) -> None:
    result = runs["sts"]

    assert result.code == 0, result
    data = result.json()
    assert data["operation"] == "sts" and data["files"] == ["out.wav"]
    assert data["content_type"] == "audio/wav"
    duration, _ = assert_wav(result.cwd / "out.wav")
    assert abs(duration - 1.5) < 0.01
    assert data["duration"] == 1.5


def test_console_script_is_installed_and_works(runs: dict[str, CliResult]) -> None:
    assert console_script().exists(), "run: uv pip install -e . (the tarash script is missing)"
    image = runs["script_image"]

    assert image.code == 0, image
    assert image.stdout.strip() == "dog.png"
    assert_png(image.cwd / "dog.png")
