"""The ``tarash`` command end to end against the fal emulator: real SDK, real HTTP, real file."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli, assert_mp4
from tests.emulators.fal import FAL_API_KEY, FalEmulator
from tests.emulators.harness import JobScript, emulator_fixture

fal = emulator_fixture(FalEmulator, scope="module")


def _run(cli: Cli, fal: FalEmulator, *args: str, key: str = FAL_API_KEY) -> object:
    return cli(
        "video",
        "a red fox running through snow",
        "--provider",
        "fal",
        "--model",
        "fal-ai/veo3.1/fast",
        "--base-url",
        fal.base_url,
        *args,
        env={"FAL_KEY": key},
    )


def test_video_through_the_fal_emulator_writes_a_playable_file(cli: Cli, fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(queued=0.05, running=0.1)
    result = _run(cli, fal, "--duration", "8", "--aspect-ratio", "16:9", "-o", "fox.mp4", "--json")
    assert result.code == 0, result  # type: ignore[attr-defined]
    payload = result.json()  # type: ignore[attr-defined]
    assert payload["provider"] == "fal"
    assert payload["model"] == "fal-ai/veo3.1/fast"
    assert payload["execution_metadata"]["total_attempts"] == 1
    width, height, frames = assert_mp4(Path(cli.cwd / "fox.mp4"))
    assert (width, height) == (64, 48) and frames >= 1
    submit = fal.last(r"^/fal-ai/veo3\.1/fast$", "POST")
    assert submit is not None
    assert submit.json["prompt"] == "a red fox running through snow"
    assert submit.json["duration"] == "8s"
    assert submit.json["aspect_ratio"] == "16:9"
    assert FAL_API_KEY not in result.output  # type: ignore[attr-defined]


def test_invalid_duration_exits_2_before_any_request(cli: Cli, fal: FalEmulator) -> None:
    result = _run(cli, fal, "--duration", "7")
    assert result.code == 2, result  # type: ignore[attr-defined]
    assert len(result.stderr_lines) == 1  # type: ignore[attr-defined]
    assert "duration" in result.stderr_lines[0]  # type: ignore[attr-defined]
    assert fal.count(method="POST") == 0


def test_wrong_key_exits_3_with_one_line(cli: Cli, fal: FalEmulator) -> None:
    result = _run(cli, fal, key="fal-wrong-key-000000")
    assert result.code == 3, result  # type: ignore[attr-defined]
    assert len(result.stderr_lines) == 1  # type: ignore[attr-defined]
    assert "fal-wrong-key-000000" not in result.output  # type: ignore[attr-defined]
