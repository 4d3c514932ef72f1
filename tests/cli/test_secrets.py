"""API keys from the environment or the config file never appear in any output."""

from __future__ import annotations

from tests.cli.conftest import PROVIDER_KEY_VARS, Cli

FAKE_KEYS = {var: f"FAKE-{var.lower()}-7c1e9a52d4b8f3" for var in PROVIDER_KEY_VARS}
CONFIG_KEY = "sk-from-config-file-5e8d2b7a91c4"


def test_no_key_is_ever_printed(cli: Cli) -> None:
    cli.write_config(
        "[mock]\ndelay = 0.05\n\n"
        f'[providers.mock]\napi_key = "{CONFIG_KEY}"\n\n'
        '[providers.stability]\napi_key = "sk-stability-config-0a9b8c7d"\n'
    )
    results = cli.many(
        [
            ["providers"],
            ["providers", "--json"],
            # every generation names the mock: with keys set, auto-selection would go online
            ["video", "a fox", "-p", "mock", "--json", "--debug"],
            ["image", "a cat", "-p", "mock", "--debug", "--mock-fail", "authentication"],
            ["tts", "hi", "-p", "mock", "--mock-fail", "rate_limit", "--retries", "0",
             "--fallback", "mock", "--debug", "--json"],
            ["image", "a cat", "-p", "mock", "--param", f"api_key={CONFIG_KEY}"],
        ],
        env=FAKE_KEYS,
    )  # fmt: skip

    for result in results:
        for secret in [*FAKE_KEYS.values(), CONFIG_KEY, "sk-stability-config-0a9b8c7d"]:
            assert secret not in result.output, f"{secret} leaked by: {result}"
    table, listing, video, failed, fallback, param = results
    assert table.code == 0 and "✓ $FAL_KEY" in table.stdout and "✓ $OPENAI_API_KEY" in table.stdout
    fal = next(p for p in listing.json()["providers"] if p["name"] == "fal")
    assert "FAL_KEY" in fal["api_key"]["env"]
    assert (fal["api_key"]["set"], fal["api_key"]["source"]) == (True, "$FAL_KEY")
    assert video.code == 0 and "DEBUG" in video.stderr  # gateway logs were on
    assert failed.code == 3 and "Traceback" in failed.stderr
    assert fallback.code == 0, fallback
    assert fallback.json()["execution_metadata"]["fallback_triggered"] is True
    assert param.code == 2 and "API keys are never taken from the command line" in param.stderr


def test_the_config_file_key_is_used_and_env_wins(cli: Cli) -> None:
    cli.write_config('[providers.openai]\napi_key = "sk-openai-config-3f2e1d0c9b"\n')

    started = cli.start("providers", "--json")
    from_env = cli.start("providers", "--json", env={"OPENAI_API_KEY": "sk-openai-env-6a5b4c3d2e"})
    from_config, from_env = started.wait(), from_env.wait()

    for result in (from_config, from_env):
        assert result.code == 0, result
        assert "sk-openai-config-3f2e1d0c9b" not in result.output
        assert "sk-openai-env-6a5b4c3d2e" not in result.output
    openai = next(p for p in from_config.json()["providers"] if p["name"] == "openai")
    assert openai["api_key"]["source"] == "config file"
    openai = next(p for p in from_env.json()["providers"] if p["name"] == "openai")
    assert openai["api_key"]["source"] == "$OPENAI_API_KEY"
