"""docs/providers/*.md agree with the model catalog (generated section + examples)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from tarash.tarash_gateway.catalog import entries, lookup, markdown_table

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "providers"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "catalog_docs", ROOT / "scripts" / "catalog_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()


@pytest.mark.parametrize("provider", SCRIPT.PROVIDERS)
def test_the_generated_lifecycle_section_is_current(provider: str) -> None:
    text = (DOCS / f"{provider}.md").read_text(encoding="utf-8")
    assert markdown_table(provider) in text, (
        f"docs/providers/{provider}.md is out of date: run python scripts/catalog_docs.py"
    )


@pytest.mark.parametrize("provider", SCRIPT.PROVIDERS)
def test_doc_examples_use_live_catalog_models(provider: str) -> None:
    text = (DOCS / f"{provider}.md").read_text(encoding="utf-8")
    api = "gemini" if provider == "google" else None
    examples = re.findall(rf'provider="{provider}",\s*model="([^"]+)"', text)
    assert examples, f"no example config in docs/providers/{provider}.md"
    for model in examples:
        item = lookup(provider, model, api)
        assert item is not None, f"{provider}.md example {model!r} is not in the catalog"
        assert item.status() != "retired", f"{provider}.md example {model!r} is retired"


def test_every_catalogued_model_is_in_its_doc() -> None:
    for provider in SCRIPT.PROVIDERS:
        text = (DOCS / f"{provider}.md").read_text(encoding="utf-8")
        for item in entries(provider):
            assert f"`{item.model}`" in text, (provider, item.model)
