"""Issue 15, item 11: the smaller first-run surprises."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from tarash.tarash_gateway import generate_image
from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest


def _two_images() -> object:
    return generate_image(
        ImageGenerationConfig(provider="mock", model="mock-image"),
        ImageGenerationRequest(prompt="two cats", n=2),
    )


def test_save_with_several_images_warns_and_save_all_writes_each(tmp_path: Path) -> None:
    response = _two_images()
    with pytest.warns(UserWarning, match="has 2 images; save\\(\\) wrote image 0 only"):
        response.save(tmp_path / "cat.png")  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response.save(tmp_path / "second.png", index=1)  # type: ignore[attr-defined]
        paths = response.save_all(tmp_path / "all.png")  # type: ignore[attr-defined]
    assert [p.name for p in paths] == ["all-1.png", "all-2.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    assert paths[0].read_bytes() != paths[1].read_bytes()


def test_an_exception_in_on_progress_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(update: object) -> None:
        raise RuntimeError("bug in my callback")

    with caplog.at_level(logging.WARNING, logger="tarash.tarash_gateway"):
        response = generate_image(
            ImageGenerationConfig(provider="mock", model="mock-image"),
            ImageGenerationRequest(prompt="a cat"),
            on_progress=broken,
        )
    assert response.images  # the generation itself is not affected
    assert any("Progress callback raised" in r.getMessage() for r in caplog.records)


def test_cli_quiets_provider_sdk_loggers_unless_debug() -> None:
    from tarash.tarash_gateway.cli._display import Output
    from tarash.tarash_gateway.cli._runner import setup

    fal = logging.getLogger("fal_client")
    previous = fal.level
    try:
        setup(Output())
        assert fal.getEffectiveLevel() == logging.ERROR  # "trying backup domain" is a WARNING
    finally:
        fal.setLevel(previous)


def test_cli_error_lines_drop_object_addresses() -> None:
    from tarash.tarash_gateway.cli._errors import one_line

    text = "cannot connect (ssl=<ssl.SSLContext object at 0x7f3a2b1c9d40>)"
    assert one_line(text) == "cannot connect (ssl=<ssl.SSLContext>)"


def test_config_accepts_litellm_style_provider_slash_model() -> None:
    from pydantic import ValidationError

    from tarash.tarash_gateway.models import VideoGenerationConfig

    openai = ImageGenerationConfig(model="openai/gpt-image-2")
    assert (openai.provider, openai.model) == ("openai", "gpt-image-2")
    fal = VideoGenerationConfig(model="fal/fal-ai/veo3.1")
    assert (fal.provider, fal.model) == ("fal", "fal-ai/veo3.1")
    named = ImageGenerationConfig(provider="replicate", model="google/imagen-4")
    assert (named.provider, named.model) == ("replicate", "google/imagen-4")  # as written
    with pytest.raises(ValidationError, match="provider"):
        ImageGenerationConfig(model="fal-ai/flux/dev")  # an alias does not split
