"""Cheap imports and warm mock generations (figures in benchmarks/import_and_mock.py)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading

import pytest

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    generate_image_async,
    generate_tts_async,
    generate_video_async,
)
from tarash.tarash_gateway.providers.mock import media

HEAVY = ("tenacity", "sqlite3", "tarash.tarash_gateway.orchestrator", "tarash.tarash_gateway.jobs")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_package_loads_no_engine_store_or_sdk() -> None:
    loaded = _modules_after("import tarash.tarash_gateway")
    assert not loaded & {*HEAVY, "pydantic", "httpx", "tarash.tarash_gateway.models"}


def test_importing_the_public_names_does_not_load_the_engine_or_sqlite() -> None:
    loaded = _modules_after(
        "from tarash.tarash_gateway import generate_video, VideoGenerationConfig, "
        "VideoGenerationRequest, TarashException"
    )
    assert "tarash.tarash_gateway.models" in loaded
    assert not loaded & {"tenacity", "sqlite3", "tarash.tarash_gateway.orchestrator"}


# What ``tarash --help`` must not load: the library behind the commands (models, the
# engine, the job store, providers, catalog) and the libraries under it. Commands import
# them when they run.
_NOT_FOR_HELP = {
    "pydantic",
    "httpx",
    "sqlite3",
    "tarash.tarash_gateway.api",
    "tarash.tarash_gateway.models",
    "tarash.tarash_gateway.jobs",
    "tarash.tarash_gateway.orchestrator",
    "tarash.tarash_gateway.registry",
    "tarash.tarash_gateway.catalog",
    "tarash.tarash_gateway.media",
    "tarash.tarash_gateway.providers",
    "tarash.tarash_gateway.server.app",
}


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["video", "--help"], ["models", "--help"], ["jobs", "list", "--help"]],
    ids=" ".join,
)
def test_cli_help_loads_no_library_module(argv: list[str]) -> None:
    code = (
        "import contextlib, io\n"
        "from tarash.tarash_gateway.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as shown:\n"
        f"    assert main({argv!r}) == 0\n"
        "assert 'Usage' in shown.getvalue()\n"
    )
    loaded = _modules_after(code)
    assert "typer" in loaded  # the help was rendered
    banned = set(_NOT_FOR_HELP)
    if argv != ["--help"]:
        # typer (0.2x) builds a subcommand's parameters with pydantic adapters itself
        banned.discard("pydantic")
    assert not loaded & banned, sorted(loaded & banned)


def test_every_public_name_resolves_lazily() -> None:
    import tarash.tarash_gateway as tg

    for name in tg.__all__:
        assert getattr(tg, name) is not None, name
    assert set(tg.__all__) <= set(dir(tg))
    assert tg.models.VideoGenerationConfig is tg.VideoGenerationConfig  # submodule attribute
    with pytest.raises(AttributeError):
        _ = tg.no_such_name  # type: ignore[attr-defined]


def test_cli_mock_env_matches_the_engine() -> None:
    from tarash.tarash_gateway import orchestrator
    from tarash.tarash_gateway.cli import _settings

    assert _settings.MOCK_ENV == orchestrator.MOCK_ENV


# ------------------------------------------------------------------ mock media cache


def test_cached_media_equal_fresh_media() -> None:
    media.cache.clear()
    png = media.cached_png(40, 30, seed=7)
    assert png == media.make_png(40, 30, seed=7)
    assert base64.b64decode(media.cached_png_base64(40, 30, seed=7)) == png
    wav = base64.b64decode(media.cached_audio_base64("wav", 1.25, sample_rate=16000, seed=2))
    assert wav == media.make_wav(1.25, sample_rate=16000, seed=2)
    pcm = base64.b64decode(media.cached_audio_base64("pcm", 1.25, sample_rate=16000, seed=2))
    assert pcm == media.make_pcm(1.25, sample_rate=16000, seed=2)
    assert media.cached_mp4(32, 32, 1.0, seed=3) == media.make_mp4(32, 32, 1.0, seed=3)
    assert media.cached_png(40, 30, seed=8) != png  # the seed is part of the key


def test_cache_is_bounded_in_entries_and_bytes() -> None:
    small = media._MediaCache(max_bytes=1000, max_entry=400, max_entries=3)
    for i in range(10):
        small.get(("k", i), lambda i=i: bytes([i]) * 300)
    assert len(small) <= 3 and small.size <= 1000
    small.get(("big",), lambda: b"x" * 500)  # over the per-entry bound: not kept
    assert ("big",) not in small._items
    hits = small.hits
    small.get(("k", 9), lambda: b"never built")
    assert small.hits == hits + 1


def test_cache_only_raises_on_a_miss_and_never_encodes() -> None:
    media.cache.clear()
    with media.cache_only(), pytest.raises(media.CacheMiss):
        media.cached_png(64, 64, seed=99)
    assert len(media.cache) == 0
    media.cached_png(64, 64, seed=99)
    with media.cache_only():
        assert media.cached_png(64, 64, seed=99)


def test_cache_is_thread_safe() -> None:
    media.cache.clear()
    results: list[bytes] = []

    def work() -> None:
        for s in range(20):
            results.append(media.cached_png(16, 16, seed=s % 5))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 80
    assert {r for r in results} == {media.make_png(16, 16, seed=s) for s in range(5)}


async def test_warm_mock_generations_reuse_encoded_media(monkeypatch: pytest.MonkeyPatch) -> None:
    media.cache.clear()
    image = (
        ImageGenerationConfig(provider="mock"),
        ImageGenerationRequest(prompt="p", size="64x64"),
    )
    tts = (AudioGenerationConfig(provider="mock"), TTSRequest(text="hello there"))
    first_image = await generate_image_async(*image)
    first_tts = await generate_tts_async(*tts)

    def no_encoding(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("media encoded again")

    monkeypatch.setattr(media, "make_png", no_encoding)
    monkeypatch.setattr(media, "make_wav", no_encoding)
    again_image = await generate_image_async(*image)
    again_tts = await generate_tts_async(*tts)
    assert again_image.images == first_image.images
    assert again_tts.audio == first_tts.audio
    assert again_image.request_id != first_image.request_id


async def test_video_mock_still_works_with_the_cache() -> None:
    config = VideoGenerationConfig(
        provider="mock", mock={"enabled": True, "polling": {"enabled": False}}
    )
    request = VideoGenerationRequest(prompt="p", duration_seconds=1, resolution="360p")
    first = await generate_video_async(config, request)
    second = await generate_video_async(config, request)
    assert isinstance(first.video, dict) and first.video == second.video
