"""Which API a config reaches (Gemini API vs Vertex AI), and the SDK set-up around it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tarash.tarash_gateway import (
    AuthenticationError,
    ValidationError,
    generate_image,
    generate_video,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers.google import GoogleProviderHandler
from tarash.tarash_gateway.providers.google.modes import ApiMode, resolve_mode
from tests.emulators.google import GOOGLE_API_KEY, GoogleEmulator
from tests.providers.google.conftest import image_config, video_config

PROMPT = ImageGenerationRequest(prompt="a kite")


def _mode(provider_config: dict[str, Any], api_key: str | None = "k") -> ApiMode:
    config = ImageGenerationConfig(
        provider="google",
        model="gemini-2.5-flash-image",
        api_key=api_key,
        provider_config=provider_config,
    )
    return resolve_mode(config, has_api_key=api_key is not None)


def test_an_api_key_alone_means_the_gemini_api() -> None:
    assert _mode({}) == ApiMode("gemini")
    assert _mode({"vertexai": False}) == ApiMode("gemini")


def test_vertex_express_and_project_modes() -> None:
    assert _mode({"vertexai": True}) == ApiMode("vertex")
    assert _mode({"enterprise": True}) == ApiMode("vertex")
    assert _mode({"project": "p", "location": "us-central1"}) == ApiMode(
        "vertex", "p", "us-central1"
    )
    assert _mode({"vertexai": True, "project": "p"}, api_key=None) == ApiMode(
        "vertex", "p", "global"
    )


def test_provider_aliases_name_the_api(emu: GoogleEmulator) -> None:
    response = generate_image(image_config(emu, provider="vertex"), PROMPT)
    assert response.provider == "vertex"
    assert emu.last(r":generateContent$").path.startswith("/v1beta1/publishers/google/models/")
    generate_image(image_config(emu, provider="gemini"), PROMPT)
    assert (
        emu.last(r":generateContent$").path == "/v1/models/gemini-2.5-flash-image:generateContent"
    )
    with pytest.raises(ValidationError, match="disagree"):
        generate_image(
            image_config(emu, provider="gemini", provider_config={"vertexai": True}), PROMPT
        )
    with pytest.raises(ValidationError, match="cannot be combined"):
        generate_image(
            image_config(emu, provider="gemini", provider_config={"project": "p"}), PROMPT
        )
    assert len(emu.requests) == 2


def test_the_sdk_environment_switches_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    assert _mode({}) == ApiMode("vertex")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-proj")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west1")
    # An explicit API key wins over the environment's project (as in google-genai).
    assert _mode({}) == ApiMode("vertex")
    # Without an explicit key the environment's project wins.
    assert _mode({}, api_key=None) == ApiMode("vertex", "env-proj", "europe-west1")
    assert _mode({"vertexai": False}) == ApiMode("gemini")


@pytest.mark.parametrize(
    ("provider_config", "message"),
    [
        ({"vertex": True}, "unknown provider_config key"),
        ({"vertexai": "yes"}, "must be true or false"),
        ({"vertexai": True, "enterprise": False}, "disagree"),
        ({"vertexai": False, "project": "p"}, "cannot be combined"),
        ({"project": ""}, "non-empty string"),
    ],
)
def test_bad_provider_config_is_rejected_before_sending(
    emu: GoogleEmulator, provider_config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_image(image_config(emu, provider_config=provider_config), PROMPT)
    assert message in info.value.message
    assert info.value.field == "provider_config"
    assert emu.requests == []


def test_credentials_and_an_api_key_together_are_rejected(emu: GoogleEmulator) -> None:
    with pytest.raises(ValidationError, match="either api_key or"):
        generate_image(
            image_config(emu, provider_config={"vertexai": True, "credentials": object()}),
            PROMPT,
        )
    assert emu.requests == []


def test_the_environment_switch_routes_to_vertex(
    emu: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "1")
    generate_image(image_config(emu), PROMPT)
    assert emu.last(r":generateContent$").path == (
        "/v1beta1/publishers/google/models/gemini-2.5-flash-image:generateContent"
    )


def test_config_api_version_is_used(emu: GoogleEmulator) -> None:
    generate_image(image_config(emu, api_version="v1alpha"), PROMPT)
    generate_video(video_config(emu, api_version="v1alpha"), VideoGenerationRequest(prompt="x"))
    paths = [r.path for r in emu.requests]
    assert paths[0] == "/v1alpha/models/gemini-2.5-flash-image:generateContent"
    assert paths[1] == "/v1alpha/models/veo-3.1-generate-preview:predictLongRunning"
    assert all(p.startswith("/v1alpha/") for p in paths)


def test_model_resource_names_are_accepted(emu: GoogleEmulator) -> None:
    generate_image(image_config(emu, model="models/gemini-2.5-flash-image"), PROMPT)
    assert (
        emu.last(r":generateContent$").path == "/v1/models/gemini-2.5-flash-image:generateContent"
    )


def test_an_unknown_model_is_rejected(emu: GoogleEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        generate_image(image_config(emu, model="gemini-2.5-flash"), PROMPT)
    assert info.value.field == "model"
    assert emu.requests == []


def test_vertex_without_key_or_project_leaves_auth_to_google(emu: GoogleEmulator) -> None:
    # Application Default Credentials may still supply a project, so this is not rejected
    # up front; Google's answer to a request without identity is an authentication error.
    with pytest.raises(AuthenticationError) as info:
        generate_image(image_config(emu, api_key=None, provider_config={"vertexai": True}), PROMPT)
    assert info.value.status_code == 403 and not info.value.retryable
    assert len(emu.requests) == 1  # (google-genai posts to the bare proxy URL in this case)


def test_google_auth_failures_are_authentication_errors() -> None:
    from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError

    from tarash.tarash_gateway import HTTPConnectionError
    from tarash.tarash_gateway.providers.google.errors import map_exception

    errors = [DefaultCredentialsError("no ADC"), RefreshError("token expired")]  # type: ignore[no-untyped-call]
    for exc in errors:
        mapped = map_exception(exc, model="m")
        assert isinstance(mapped, AuthenticationError) and not mapped.retryable
    reset = TransportError("reset")  # type: ignore[no-untyped-call]
    assert isinstance(map_exception(reset, model="m"), HTTPConnectionError)


def test_one_sdk_client_per_key_and_mode(emu: GoogleEmulator) -> None:
    handler = GoogleProviderHandler()
    config = image_config(emu)
    vertex = image_config(emu, provider_config={"vertexai": True})

    async def clients() -> list[Any]:
        gemini = handler._clients(config, handler.mode(config))
        return [
            gemini,
            handler._clients(config, handler.mode(config)),
            handler._clients(vertex, handler.mode(vertex)),
        ]

    from tarash.tarash_gateway._sync import run_sync

    first, again, other = run_sync(clients())
    assert first is again
    assert other is not first
    assert first.client.vertexai is False and other.client.vertexai is True


def test_importing_the_provider_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "import tarash.tarash_gateway.providers.google as g\n"
        "import tarash.tarash_gateway.providers.google.field_mappings\n"
        "assert g.GoogleProviderHandler\n"
        "assert 'google.genai' not in sys.modules, 'google-genai imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_key_is_never_in_the_job_reference(emu: GoogleEmulator) -> None:
    from tarash.tarash_gateway import submit_job

    job = submit_job(video_config(emu), VideoGenerationRequest(prompt="x"))
    assert GOOGLE_API_KEY not in job.to_json()  # type: ignore[union-attr]
