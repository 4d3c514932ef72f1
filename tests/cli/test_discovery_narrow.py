"""Discovery in an 80-column terminal: whole ids, one model's parameters, voices."""

from __future__ import annotations

from tests.cli.conftest import Cli
from tests.emulators.cartesia import CARTESIA_API_KEY, CartesiaEmulator
from tests.emulators.elevenlabs import ELEVENLABS_API_KEY, PREMADE_VOICES, ElevenLabsEmulator
from tests.emulators.harness import emulator_fixture
from tests.emulators.hume import HUME_API_KEY, HumeEmulator

elevenlabs = emulator_fixture(ElevenLabsEmulator, scope="module")
cartesia = emulator_fixture(CartesiaEmulator, scope="module")
hume = emulator_fixture(HumeEmulator, scope="module")

NARROW = {"COLUMNS": "80"}


def test_models_prints_every_id_whole_at_80_columns(cli: Cli) -> None:
    from tarash.tarash_gateway.catalog import entries

    fal, everything, providers = cli.many(
        [["models", "fal"], ["models"], ["providers"]], env=NARROW
    )
    assert fal.code == 0, fal
    lines = fal.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    listed = {line.split()[0] for line in lines if line.startswith("  ") and "/" in line}
    assert {e.model for e in entries("fal")} <= listed  # every id, uncut
    assert "fal-ai/veo3.1/fast" in listed
    # the overview lists ids, not every parameter of every model
    assert everything.code == 0, everything
    assert len(everything.stdout.splitlines()) < 600
    assert "parameters (option" not in everything.stdout
    assert providers.code == 0, providers
    assert "FAL_KEY" in providers.stdout and "ELEVENLABS_API_KEY" in providers.stdout
    rows = [line for line in providers.stdout.splitlines() if not line.startswith("config file")]
    assert all(len(line) <= 80 for line in rows), max(rows, key=len)


def test_models_provider_model_shows_its_parameters(cli: Cli) -> None:
    one, audio, typo = cli.many(
        [
            ["models", "fal", "fal-ai/veo3.1"],
            ["models", "elevenlabs", "eleven_v3"],
            ["models", "fal", "fal-ai/veo3.1/fsat"],
        ],
        env=NARROW,
    )
    assert one.code == 0, one
    duration = next(line for line in one.stdout.splitlines() if "--duration" in line)
    assert "4, 6, 8" in duration
    assert audio.code == 0, audio
    assert "eleven_v3" in audio.stdout and "formats:" in audio.stdout
    assert typo.code == 2 and "did you mean 'fal-ai/veo3.1/fast'?" in typo.stderr


def test_voices_offline_from_the_sdk_and_the_mock(cli: Cli) -> None:
    mock, openai, sarvam, text = cli.many(
        [
            ["voices", "mock", "--json"],
            ["voices", "openai", "--json"],
            ["voices", "sarvam", "--json"],
            ["voices", "openai"],
        ]
    )
    assert mock.code == 0 and mock.json()["any_id"] is True, mock
    assert openai.code == 0, openai
    data = openai.json()
    assert data["default"] == "alloy"
    assert {"alloy", "nova", "cedar"} <= {v["voice_id"] for v in data["voices"]}
    assert sarvam.code == 0, sarvam
    assert "shubh_hi_ads" in {v["voice_id"] for v in sarvam.json()["voices"]}
    assert "default: alloy" in text.stdout


def test_elevenlabs_voices_through_the_sdk(cli: Cli, elevenlabs: ElevenLabsEmulator) -> None:
    ok = cli(
        "voices", "elevenlabs", "--base-url", elevenlabs.base_url, "--json",
        env={"ELEVENLABS_API_KEY": ELEVENLABS_API_KEY},
    )  # fmt: skip
    assert ok.code == 0, ok
    assert [(v["voice_id"], v["name"]) for v in ok.json()["voices"]] == [
        (vid, name) for vid, name in PREMADE_VOICES
    ]
    wrong = cli(
        "voices", "elevenlabs", "--base-url", elevenlabs.base_url, "--json",
        env={"ELEVENLABS_API_KEY": "xi-wrong"},
    )  # fmt: skip
    assert wrong.code == 3, wrong
    assert wrong.json()["ok"] is False
    missing = cli("voices", "elevenlabs", "--base-url", elevenlabs.base_url, "--json")
    assert missing.code == 3 and missing.json()["error"]["type"] == "missing_api_key"


def test_cartesia_voices_through_the_sdk(cli: Cli, cartesia: CartesiaEmulator) -> None:
    ok = cli(
        "voices", "cartesia", "--base-url", cartesia.base_url, "--json",
        env={"CARTESIA_API_KEY": CARTESIA_API_KEY},
    )  # fmt: skip
    assert ok.code == 0, ok
    assert [(v["voice_id"], v["name"]) for v in ok.json()["voices"]] == [
        ("a0e99841-438c-4a64-b679-ae501e7d6091", "Barbershop Man")
    ]
    wrong = cli(
        "voices", "cartesia", "--base-url", cartesia.base_url, "--json",
        env={"CARTESIA_API_KEY": "sk_car_wrong"},
    )  # fmt: skip
    assert wrong.code == 3 and wrong.json()["ok"] is False, wrong


def test_hume_voices_through_the_sdk(cli: Cli, hume: HumeEmulator) -> None:
    ok = cli(
        "voices", "hume", "--base-url", hume.base_url, "--json",
        env={"HUME_API_KEY": HUME_API_KEY},
    )  # fmt: skip
    assert ok.code == 0, ok
    assert [(v["name"], v["category"]) for v in ok.json()["voices"]] == [
        ("Kora", "HUME_AI"),
        ("My Narrator", "CUSTOM_VOICE"),
    ]
