"""Importing the package is fast, imports no provider SDK and works without any extra."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SDK_MODULES = [
    "fal_client",
    "replicate",
    "openai",
    "google.genai",
    "runwayml",
    "xai_sdk",
    "elevenlabs",
    "cartesia",
    "hume",
    "sarvamai",
    "grpc",
]


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout


def test_import_loads_no_provider_sdk() -> None:
    loaded = json.loads(
        _run(
            f"""
            import json, sys
            import tarash.tarash_gateway
            from tarash.tarash_gateway import get_provider_field_mapping
            print(json.dumps([m for m in {SDK_MODULES!r} if m in sys.modules]))
            """
        )
    )
    assert loaded == []


def test_package_works_with_no_extra_installed() -> None:
    # Make every provider SDK unimportable, then run a full mock generation.
    out = _run(
        f"""
        import importlib.abc, sys
        blocked = {SDK_MODULES!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if any(name == b or name.startswith(b + ".") for b in blocked):
                    raise ModuleNotFoundError(name)
                return None
        sys.meta_path.insert(0, Block())
        from tarash.tarash_gateway import generate_image, ImageGenerationConfig
        from tarash.tarash_gateway import ImageGenerationRequest
        r = generate_image(ImageGenerationConfig(provider="mock", model="mock-image"),
                           ImageGenerationRequest(prompt="x", size="16x16"))
        print(len(r.images))
        """
    )
    assert out.strip() == "1"


def test_py_typed_is_shipped() -> None:
    import tarash.tarash_gateway as pkg

    assert pkg.__file__ is not None
    from pathlib import Path

    assert (Path(pkg.__file__).parent / "py.typed").exists()
