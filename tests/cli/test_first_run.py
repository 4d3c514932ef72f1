"""A new user's first runs (issue 15): never spend unasked, never fake success, fail before paying.

Every test runs the real ``tarash`` entry point in a subprocess with an isolated home and
no provider key except those it sets.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_mp4, assert_png

_BLOCK_SDK = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""


def _without_sdk(tmp_path: Path, *modules: str) -> dict[str, str]:
    """Environment whose interpreter cannot import ``modules`` (as if not installed)."""
    site = tmp_path / "no-sdk"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_BLOCK_SDK.format(blocked=set(modules)))
    return {"PYTHONPATH": str(site)}


# ------------------------------------------------------------------ 1. a key alone spends nothing


def test_keys_in_the_environment_do_not_pick_a_paid_provider(cli: Cli) -> None:
    keys = {"OPENAI_API_KEY": "sk-test-openai-000", "GEMINI_API_KEY": "gm-test-000"}
    video, image = cli.many(
        [["video", "a fox", "-o", "fox.mp4", "--json"], ["image", "a cat", "-o", "cat.png"]],
        env=keys,
    )
    assert video.code == 0, video
    assert video.json()["provider"] == "mock" and video.json()["is_mock"] is True
    assert_mp4(video.cwd / "fox.mp4")
    assert image.code == 0, image
    assert_png(image.cwd / "cat.png")
    (note,) = [line for line in image.stderr_lines if line.startswith("note:")]
    assert "runs offline on the mock provider" in note
    assert "$OPENAI_API_KEY (openai)" in note and "$GEMINI_API_KEY (google)" in note
    assert "--provider openai" in note and "TARASH_PROVIDER=openai" in note
    assert "sk-test-openai-000" not in image.output


def test_tarash_provider_names_the_provider(cli: Cli) -> None:
    result = cli("image", "a cat", "-o", "cat.png", "--json", env={"TARASH_PROVIDER": "openai"})
    assert result.code == 3, result  # named, but no key: the typed auth failure
    error = result.json()["error"]
    assert error["type"] == "missing_api_key" and error["exit_code"] == 3
    assert error["provider"] == "openai" and "OPENAI_API_KEY" in error["env"]


def test_config_file_default_names_the_provider(cli: Cli) -> None:
    cli.write_config('provider = "openai"\n[mock]\ndelay = 0.05\n')
    result = cli("image", "a cat", "--dry-run", "--json")
    assert result.code == 0, result
    (row,) = result.json()["chain"]
    assert row["provider"] == "openai" and row["runs_on_mock"] is False


# ------------------------------------------------------------------ 2. a missing SDK, before running


def test_missing_sdk_is_found_before_anything_runs(cli: Cli, tmp_path: Path) -> None:
    env = {**_without_sdk(tmp_path, "openai"), "OPENAI_API_KEY": "sk-test-openai-000"}
    result = cli("image", "a cat", "-p", "openai", "-o", "cat.png", "--json", env=env)
    assert result.code == 2, result
    error = result.json()["error"]
    assert error["type"] == "missing_sdk"
    assert error["install"] == "pip install 'tarash-gateway[openai]'"
    assert "pip install 'tarash-gateway[openai]'" in result.stderr
    assert not (result.cwd / "cat.png").exists()


def test_python_api_raises_a_typed_sdk_error_at_planning(cli: Cli, tmp_path: Path) -> None:
    script = tmp_path / "plan.py"
    script.write_text(
        "from tarash.tarash_gateway import generate_image\n"
        "from tarash.tarash_gateway.exceptions import ProviderSDKMissingError\n"
        "from tarash.tarash_gateway.models import ImageGenerationConfig, "
        "ImageGenerationRequest\n"
        "calls = []\n"
        "fallback = ImageGenerationConfig(provider='mock', model='mock-image')\n"
        "config = ImageGenerationConfig(provider='openai', model='gpt-image-2', "
        "api_key='sk-x', fallback_configs=[fallback])\n"
        "try:\n"
        "    generate_image(config, ImageGenerationRequest(prompt='a cat'), calls.append)\n"
        "except ProviderSDKMissingError as exc:\n"
        "    print(exc.install, exc.retryable, exc.package, len(calls))\n"
    )
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(script)],
        env=cli.env(_without_sdk(tmp_path, "openai")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Not retryable, raised while planning: no fallback ran, no progress was reported.
    assert done.stdout.strip() == "pip install 'tarash-gateway[openai]' False openai 0"


def test_fal_key_id_and_secret_count_as_a_fal_key(cli: Cli) -> None:
    env = {"FAL_KEY_ID": "id-test", "FAL_KEY_SECRET": "secret-test-000"}
    listing, run = cli.many(
        [["providers", "--json"], ["video", "a fox", "-p", "fal", "--dry-run", "--json"]],
        env=env,
    )
    assert listing.code == 0, listing
    (fal,) = [p for p in listing.json()["providers"] if p["name"] == "fal"]
    assert fal["api_key"]["set"] is True
    assert fal["api_key"]["source"] == "$FAL_KEY_ID + $FAL_KEY_SECRET"
    assert run.code == 0, run
    assert "no API key" not in run.stderr
    assert "secret-test-000" not in listing.output + run.output


# ------------------------------------------------------------------ 3. the output path


def test_unwritable_output_fails_before_submitting(cli: Cli) -> None:
    (cli.cwd / "a-file").write_text("x")
    result = cli("video", "a fox", "-o", "a-file/fox.mp4", "--json")
    assert result.code == 2, result
    assert "checked before anything is sent" in result.json()["error"]["message"]
    assert result.json()["execution_metadata"] is None
    jobs = cli("jobs", "--json")
    assert jobs.json()["pending"] == []  # nothing was submitted


def test_write_failure_after_generation_keeps_the_job_fetchable(cli: Cli) -> None:
    os.symlink("/nonexistent-dir-for-tarash-test/fox.mp4", cli.cwd / "fox.mp4")
    failed = cli("video", "a fox", "-o", "fox.mp4", "--json")
    assert failed.code == 1, failed
    data = failed.json()
    error = data["error"]
    assert error["type"] == "output_not_written" and error["resumable"] is True
    assert error["request_id"] in failed.stderr
    assert f"tarash jobs resume {error['request_id']}" in failed.stderr
    assert data["execution_metadata"]["total_attempts"] == 1
    pending = cli("jobs", "--json").json()["pending"]
    assert [(p["request_id"], p["state"]) for p in pending] == [
        (error["request_id"], "result_pending")
    ]
    resumed = cli("jobs", "resume", error["request_id"], "-o", "again.mp4")
    assert resumed.code == 0, resumed
    assert_mp4(resumed.cwd / "again.mp4")


# ------------------------------------------------------------------ 4. models


def test_misspelt_mock_model_fails_with_did_you_mean(cli: Cli) -> None:
    result = cli("video", "a fox", "-m", "mock-vidoe", "--json")
    assert result.code == 2, result
    assert "did you mean 'mock-video'?" in result.json()["error"]["message"]


def test_provider_slash_model_strings(cli: Cli) -> None:
    fal, openai, fallback = cli.many(
        [
            ["video", "a fox", "-m", "fal/fal-ai/veo3.1", "--dry-run", "--json"],
            ["image", "a cat", "-m", "openai/gpt-image-2", "--dry-run", "--json"],
            ["image", "a cat", "--fallback", "openai/gpt-image-2", "--dry-run", "--json"],
        ]
    )
    for result in (fal, openai, fallback):
        assert result.code == 0, result
    assert [(r["provider"], r["model"]) for r in fal.json()["chain"]] == [("fal", "fal-ai/veo3.1")]
    assert [(r["provider"], r["model"]) for r in openai.json()["chain"]] == [
        ("openai", "gpt-image-2")
    ]
    assert [(r["provider"], r["model"]) for r in fallback.json()["chain"]] == [
        ("mock", "mock-image"),
        ("openai", "gpt-image-2"),
    ]


def test_forced_mock_does_not_claim_an_unknown_model_was_validated(cli: Cli) -> None:
    env = {"TARASH_GATEWAY_MOCK": "1"}
    unknown, known = cli.many(
        [
            ["video", "a fox", "-p", "fal", "-m", "fal-ai/veo3/fsat", "-o", "a.mp4"],
            ["image", "a cat", "-m", "openai/gpt-image-2", "-o", "a.png"],
        ],
        env=env,
    )
    assert unknown.code == 0, unknown
    assert "is validated" not in unknown.stderr
    assert "is not in the gateway's catalog" in unknown.stderr
    assert "did you mean" in unknown.stderr
    assert known.code == 0, known
    assert "openai/gpt-image-2 is checked against its catalog entry, not called" in known.stderr


# ------------------------------------------------------------------ 6. errors in CLI terms


def test_errors_name_flags_not_python_fields(cli: Cli) -> None:
    duration, voice = cli.many(
        [
            ["video", "a fox", "-p", "fal", "-m", "fal-ai/veo3.1", "-d", "99", "--dry-run"],
            ["tts", "hello", "-p", "cartesia", "--dry-run"],
        ]
    )
    assert duration.code == 2, duration
    assert "--duration: duration 99s is not supported" in duration.stderr
    assert "duration_seconds" not in duration.stderr
    assert voice.code == 2, voice
    assert "--voice" in voice.stderr and "request.voice_id" not in voice.stderr
    assert "provider_options=" not in voice.stderr


# ------------------------------------------------------------------ 8. --json for every outcome


def test_json_is_one_object_for_every_outcome(cli: Cli) -> None:
    runs = cli.many(
        [
            ["video", "a fox", "--json", "-o", "ok.mp4"],
            ["video", "a fox", "--json", "-p", "fal"],
            ["video", "a fox", "--json", "-p", "nosuch"],
            ["video", "a fox", "--json", "--mock-fail", "moderation"],
            ["video", "a fox", "--json", "-d", "-3"],
            ["video", "a fox", "--json", "--bogus-flag"],
        ]
    )
    kinds = []
    for result in runs:
        data = json.loads(result.stdout)  # exactly one JSON document, whatever happened
        assert isinstance(data, dict) and "ok" in data, result
        kinds.append((result.code, data["ok"], (data.get("error") or {}).get("type")))
    assert kinds[0] == (0, True, None)
    assert kinds[1] == (3, False, "missing_api_key")
    assert kinds[2][:2] == (2, False)
    assert kinds[3] == (4, False, "ContentModerationError")
    assert kinds[4][:2] == (2, False)
    assert kinds[5] == (2, False, "usage")


def test_retries_show_as_their_own_lines(cli: Cli) -> None:
    result = cli("image", "a cat", "--mock-fail", "rate_limit", "--mock-fail", "ok")
    assert result.code == 0, result
    lines = [line for line in result.stderr_lines if "→" in line]
    assert len(lines) == 1 and lines[0].endswith("→ trying again (attempt 2)")


# ------------------------------------------------------------------ 9. help, version, completion


def test_help_has_no_bool_and_describes_every_option(cli: Cli) -> None:
    runs = cli.many([[cmd, "--help"] for cmd in ("video", "image", "tts", "sts")])
    for result in runs:
        assert result.code == 0, result
        assert "<bool>" not in result.stdout and "<str>" not in result.stdout
        assert "--dry-run" in result.stdout
    import typer

    from tarash.tarash_gateway.cli import _plain_metavars
    from tarash.tarash_gateway.cli._app import app

    command = typer.main.get_command(app)
    _plain_metavars(command)
    commands = getattr(command, "commands", {})
    for name in ("video", "image", "tts", "sts"):
        for param in commands[name].params:
            if param.param_type_name == "option":
                assert (param.help or "").strip(), f"tarash {name} {param.opts} has no help"


def test_version_and_completion(cli: Cli) -> None:
    short, long, options = cli.many([["-V"], ["--version"], ["--help"]])
    from tarash.tarash_gateway import __version__

    assert short.code == 0 and short.stdout == f"tarash-gateway {__version__}\n", short
    assert long.stdout == short.stdout
    assert "--install-completion" in options.stdout and "--show-completion" in options.stdout
    # The shell side of completion: what bash asks the installed `tarash` script.
    completing = {
        "_TARASH_COMPLETE": "complete_bash",
        "COMP_WORDS": "tarash vid",
        "COMP_CWORD": "1",
    }
    completion = cli(script=True, env=completing)
    assert completion.code == 0, completion
    assert completion.stdout.split() == ["video"]


def test_dry_run_validates_against_the_real_model_and_calls_nothing(cli: Cli) -> None:
    ok = cli(
        "video",
        "a fox",
        "-p",
        "fal",
        "-m",
        "fal-ai/veo3.1",
        "-d",
        "8",
        "--dry-run",
        "--base-url",
        "http://127.0.0.1:9",  # nothing listens: a call would fail
    )
    assert ok.code == 0, ok
    assert "fal/fal-ai/veo3.1 accepts this request" in ok.stdout
    assert '"duration": "8s"' in ok.stdout
    assert "no provider was called" in ok.stdout
    assert not list(ok.cwd.glob("tarash-video-*"))


@pytest.mark.parametrize("flag", ["--no-wait", "--json"])
def test_dry_run_combines_with_other_flags(cli: Cli, flag: str) -> None:
    result = cli("image", "a cat", "--dry-run", flag)
    assert result.code == 0, result


# ------------------------------------------------------------------ 11. smaller


def test_unknown_image_role_is_named(cli: Cli) -> None:
    (cli.cwd / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = cli("video", "a cat", "-i", "cat.png:bogus")
    assert result.code == 2, result
    assert "unknown role 'bogus'" in result.stderr and "no such file" not in result.stderr


def test_key_seen_without_its_sdk_says_how_to_install_it(cli: Cli, tmp_path: Path) -> None:
    env = {**_without_sdk(tmp_path, "openai"), "OPENAI_API_KEY": "sk-test-openai-000"}
    result = cli("image", "a cat", "-o", "cat.png", env=env)
    assert result.code == 0, result  # nothing named: the mock, as promised
    assert_png(result.cwd / "cat.png")
    assert "$OPENAI_API_KEY — needs pip install 'tarash-gateway[openai]' (openai)" in result.stderr


def test_mock_is_as_strict_as_the_models_and_honest_about_audio(cli: Cli) -> None:
    clash, fits, audio = cli.many(
        [
            ["image", "a cat", "--size", "1024x1024", "-a", "16:9", "--json"],
            ["image", "a cat", "--size", "768x512", "-a", "3:2", "--json", "-o", "wide.png"],
            ["video", "a fox", "--generate-audio", "-o", "fox.mp4"],
        ]
    )
    assert clash.code == 2, clash
    assert "contradicts aspect_ratio 16:9" in clash.json()["error"]["message"]
    assert fits.code == 0, fits
    assert assert_png(fits.cwd / "wide.png") == (768, 512)  # the size is honoured
    assert audio.code == 0, audio
    assert "no soundtrack: generate_audio=True was accepted, not rendered" in audio.stderr


def test_forced_mock_with_a_missing_sdk_does_not_claim_validation(cli: Cli, tmp_path: Path) -> None:
    env = {**_without_sdk(tmp_path, "openai"), "TARASH_GATEWAY_MOCK": "1"}
    result = cli("image", "a cat", "-p", "openai", "-o", "cat.png", env=env)
    assert result.code == 0, result
    assert "was not validated against openai/gpt-image" in result.stderr
    assert "pip install 'tarash-gateway[openai]'" in result.stderr
