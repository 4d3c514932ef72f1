"""``TARASH_GATEWAY_MOCK=1`` sends every request to the offline mock, even for real providers."""

from __future__ import annotations

from tests.cli.conftest import Cli, assert_mp4, assert_png

MOCKED = {"TARASH_GATEWAY_MOCK": "1"}


def test_real_provider_runs_offline_without_a_key(cli: Cli) -> None:
    video, image = cli.many(
        [
            ["video", "a red fox", "--provider", "fal", "--json", "-o", "fox.mp4"],
            ["image", "a cat", "-o", "cat.png"],
        ],
        env=MOCKED,
    )

    assert video.code == 0, video
    data = video.json()
    assert data["provider"] == "fal" and data["is_mock"] is True
    assert data["model"] == "fal-ai/veo3.1/fast"  # the default fal video model
    assert data["execution_metadata"]["attempts"][0]["is_mock"] is True
    assert_mp4(video.cwd / "fox.mp4")
    (note,) = video.stderr_lines
    assert note == (
        "note: TARASH_GATEWAY_MOCK is set: running offline on the mock provider "
        "(fal/fal-ai/veo3.1/fast is checked against its catalog entry, not called)"
    )

    assert image.code == 0, image
    assert_png(image.cwd / "cat.png")
    notes = [line for line in image.stderr_lines if line.startswith("note:")]
    assert notes == ["note: TARASH_GATEWAY_MOCK is set: running offline on the mock provider"]
