"""A provider whose SDK is missing fails while the chain is planned, with the pip line."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tarash.tarash_gateway import registry
from tarash.tarash_gateway.exceptions import ProviderNotFoundError, ProviderSDKMissingError


class _Block(importlib.abc.MetaPathFinder):
    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == self.root or name.startswith(self.root + "."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@pytest.fixture
def no_replicate_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``replicate`` cannot be imported, and no replicate handler is cached yet."""
    for name in [m for m in sys.modules if m == "replicate" or m.startswith("replicate.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(registry._HANDLERS, "replicate", raising=False)
    blocker = _Block("replicate")
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        sys.meta_path.remove(blocker)
        registry._HANDLERS.pop("replicate", None)


@pytest.mark.usefixtures("no_replicate_sdk")
def test_missing_sdk_is_a_typed_not_retryable_error_naming_the_extra() -> None:
    with pytest.raises(ProviderSDKMissingError) as caught:
        registry.get_handler("replicate")
    error = caught.value
    assert isinstance(error, ProviderNotFoundError)  # existing `except` clauses still match
    assert error.retryable is False
    assert (error.package, error.extra) == ("replicate", "replicate")
    assert error.install == "pip install 'tarash-gateway[replicate]'"
    assert "pip install 'tarash-gateway[replicate]'" in str(error)


@pytest.mark.usefixtures("no_replicate_sdk")
def test_plan_fails_before_any_config_runs() -> None:
    from tarash.tarash_gateway import generate_image
    from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest

    updates: list[object] = []
    fallback = ImageGenerationConfig(provider="mock", model="mock-image")
    config = ImageGenerationConfig(
        provider="replicate",
        model="black-forest-labs/flux-schnell",
        api_key="r8_test",
        fallback_configs=[fallback],
    )
    with pytest.raises(ProviderSDKMissingError):
        generate_image(config, ImageGenerationRequest(prompt="a cat"), updates.append)
    assert updates == []  # nothing started, the fallback did not run either


def test_an_imported_sdk_costs_only_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = importlib.import_module

    def counting(name: str, package: str | None = None) -> Any:
        calls.append(name)
        return real(name, package)

    import openai  # noqa: F401 - the SDK is imported already

    monkeypatch.setattr(registry.importlib, "import_module", counting)
    registry._require_sdk("openai")
    assert calls == []
