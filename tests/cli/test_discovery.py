"""``tarash providers``, ``tarash models``, ``--version`` and ``--help``.

These commands only read: they run through the entry point in one fresh interpreter
(``cli.batch``); the console script itself is exercised in ``test_generate``.
"""

from __future__ import annotations

import pytest

from tests.cli.conftest import CliResult, make_cli

ALL_PROVIDERS = {
    "mock", "fal", "replicate", "openai", "azure_openai", "google", "runway",
    "stability", "xai", "elevenlabs", "cartesia", "hume", "sarvam",
}  # fmt: skip
COMMANDS = {
    "table": ["providers"],
    "listing": ["providers", "--json"],
    "models": ["models", "mock", "mock-video"],
    "model_list": ["models", "mock"],
    "models_json": ["models", "mock", "--json"],
    "filtered": ["models", "mock", "--filter", "IMAGE", "--json"],
    "unknown": ["models", "nosuch"],
    "version": ["--version"],
    "bare": [],
    "help": ["--help"],
    "video_help": ["video", "--help"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliResult]:
    """Every command of this module, through the entry point in one fresh interpreter."""
    cli = make_cli(tmp_path_factory.mktemp("discovery"))
    return dict(zip(COMMANDS, cli.batch(list(COMMANDS.values())), strict=True))


def test_providers_table_and_json(runs: dict[str, CliResult]) -> None:
    table, listing = runs["table"], runs["listing"]

    assert table.code == 0, table
    for name in ALL_PROVIDERS:
        assert f"│ {name} " in table.stdout, name
    mock_row = next(line for line in table.stdout.splitlines() if line.startswith("│ mock "))
    assert "video, image, tts, sts" in mock_row and "not needed" in mock_row
    fal_row = next(line for line in table.stdout.splitlines() if line.startswith("│ fal "))
    assert "✗ set FAL_KEY" in fal_row  # no key in this environment
    assert "config file: " in table.stdout and "/.config/tarash/config.toml" in table.stdout

    assert listing.code == 0, listing
    data = listing.json()
    assert data["mock_forced"] is False
    providers = {p["name"]: p for p in data["providers"]}
    assert set(providers) >= ALL_PROVIDERS
    mock = providers["mock"]
    assert mock["available"] is True and mock["operations"] == ["video", "image", "tts", "sts"]
    assert mock["api_key"]["required"] is False
    assert mock["default_models"]["video"] == "mock-video"
    fal = providers["fal"]
    assert fal["sdk"]["package"] == "fal-client" and fal["sdk"]["extra"] == "fal"
    assert (fal["api_key"]["set"], fal["api_key"]["source"]) == (False, None)


def test_models_lists_parameters_ranges_and_cli_options(runs: dict[str, CliResult]) -> None:
    table, listing = runs["models"], runs["models_json"]
    filtered, unknown = runs["filtered"], runs["unknown"]

    assert table.code == 0, table
    assert "mock-video" in table.stdout
    model_list = runs["model_list"].stdout
    assert "mock-video" in model_list and "mock-image" in model_list
    duration_row = next(line for line in table.stdout.splitlines() if "duration_seconds" in line)
    assert "--duration" in duration_row and "seconds; range 1..60" in duration_row

    assert listing.code == 0, listing
    mock = listing.json()["mock"]
    assert mock["operations"] == ["video", "image", "tts", "sts"]
    rows = {row["param"]: row for row in mock["models"]["mock-video"]}
    assert rows["prompt"]["required"] is True and rows["prompt"]["option"] == "PROMPT"
    assert rows["duration_seconds"]["option"] == "--duration"
    assert rows["resolution"]["accepts"] == "resolution; one of 360p, 480p, 540p, 720p, 1080p"
    assert rows["image_list"]["option"] == "--image"
    assert {row["param"]: row["option"] for row in mock["models"]["mock-image"]}["n"] == "--count"

    assert list(filtered.json()["mock"]["models"]) == ["mock-image"]
    assert unknown.code == 2 and "unknown provider 'nosuch'" in unknown.stderr


def test_version_and_help(runs: dict[str, CliResult]) -> None:
    version, bare, help_text = runs["version"], runs["bare"], runs["help"]
    video_help = runs["video_help"]

    assert version.code == 0 and version.stdout.strip() == "tarash-gateway 0.2.0"
    for result in (bare, help_text):
        assert result.code == 0, result
        for command in ("video", "image", "tts", "sts", "providers", "models", "jobs"):
            assert command in result.stdout
    assert video_help.code == 0
    for option in ("--aspect-ratio", "--first-frame", "--fallback", "--param", "--json"):
        assert option in video_help.stdout
    assert "--api-key" not in video_help.stdout
