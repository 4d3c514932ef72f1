"""Every ```python and ```bash block of README.md and docs/ runs as written, on the mock.

Blocks run with ``TARASH_GATEWAY_MOCK=1`` (a block that names a real provider is
validated against that provider's model and runs offline), no provider key, an isolated
home and a fresh working directory. Markers, an HTML comment on the line before a fence:

* ``<!-- doc-test: continue -->`` — the block continues the previous python block of the
  same file (runs in its namespace);
* ``<!-- doc-test: skip REASON -->`` — not run, for the reason given (network installs,
  the whole test suite, a block that only shows a shape).

Python blocks run one after the other in one interpreter (a fresh namespace each, so
start-up is paid once); bash blocks in ``bash -eu`` with the installed ``tarash`` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
_MARKER = re.compile(r"<!--\s*doc-test:\s*(skip|continue)\b\s*(.*?)\s*-->\s*$")
_KEYS = ("_API_KEY", "_API_TOKEN", "_API_SECRET", "FAL_KEY", "TARASH_")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    code: str
    marker: str | None
    reason: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _blocks() -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            lang = match.group(1)
            if lang not in ("python", "bash"):
                continue
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = _MARKER.search(before)
            found.append(
                Block(
                    path,
                    line,
                    lang,
                    match.group(2),
                    marker.group(1) if marker else None,
                    marker.group(2) if marker else "",
                )
            )
    return found


BLOCKS = _blocks()

_RUNNER = r"""
import contextlib, io, json, os, signal, sys, traceback
blocks = json.loads(sys.stdin.read())
results, spaces = {}, {}
def alarm(signum, frame):
    raise TimeoutError("block ran longer than 60 s")
signal.signal(signal.SIGALRM, alarm)
for block in blocks:
    space = spaces.get(block["file"]) if block["continue"] else None
    if space is None:
        space = {"__name__": "__doc_block__"}  # `if __name__ == "__main__":` parts stay off
    spaces[block["file"]] = space
    out = io.StringIO()
    signal.alarm(60)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(compile(block["code"], block["name"], "exec"), space)
        results[block["name"]] = None
    except BaseException:
        results[block["name"]] = traceback.format_exc(limit=6) + out.getvalue()[-2000:]
    finally:
        signal.alarm(0)
sys.__stdout__.write(json.dumps(results))
"""


_SAMPLES = re.compile(r"(?<![\w/.-])([\w-]+\.(?:png|jpe?g|wav|mp3|mp4|txt))\b")

_MAKE_SAMPLES = r"""
import json, sys
from pathlib import Path
from tarash.tarash_gateway import generate_image, generate_tts, generate_video
from tarash.tarash_gateway.models import (
    AudioGenerationConfig, ImageGenerationConfig, ImageGenerationRequest, TTSRequest,
    VideoGenerationConfig, VideoGenerationRequest,
)
names = json.loads(sys.argv[1])
image = generate_image(ImageGenerationConfig(provider="mock", model="mock-image"),
                       ImageGenerationRequest(prompt="sample")).images[0]
speech = generate_tts(AudioGenerationConfig(provider="mock", model="mock-tts"),
                      TTSRequest(text="a sample recording", output_format="wav_16000"))
data = {"png": None, "wav": speech.audio_bytes, "mp3": speech.audio_bytes}
from tarash.tarash_gateway.media import to_media_input
import asyncio
data["png"] = asyncio.run(to_media_input(image).read(max_bytes=2**26))[0]
data["jpg"] = data["jpeg"] = data["png"]
for name in names:
    ext = name.rsplit(".", 1)[-1]
    if ext == "txt":
        Path(name).write_text("Chapter one. It was a bright cold day.\n")
    elif ext == "mp4":
        continue  # outputs only
    else:
        Path(name).write_bytes(data[ext])
"""


def make_samples(work: Path, blocks: list[Block]) -> None:
    """The input files the blocks name (cat.png, talk.wav …), made by the mock, in ``work``."""
    names = sorted({n for b in blocks for n in _SAMPLES.findall(b.code)})
    done = subprocess.run(
        [sys.executable, "-c", _MAKE_SAMPLES, json.dumps(names)],
        cwd=work,
        env=_env(work / "home"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not any(part in k for part in _KEYS)}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        TARASH_GATEWAY_MOCK="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONIOENCODING="utf-8",
        PYTHONPATH=str(ROOT),  # docs/writing-a-provider.md imports the repository's tests/
    )
    return env


@pytest.fixture(scope="module")
def python_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    work = tmp_path_factory.mktemp("doc-python")
    (work / "home").mkdir()
    make_samples(work, [b for b in BLOCKS if b.lang == "python"])
    blocks = [
        {"file": str(b.path), "name": b.name, "code": b.code, "continue": b.marker == "continue"}
        for b in BLOCKS
        if b.lang == "python" and b.marker != "skip"
    ]
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps(blocks),
        cwd=work,
        env=_env(work / "home"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, str | None] = json.loads(done.stdout)
    return results


def test_docs_point_only_inside_the_repository() -> None:
    """No doc names a path of the machine it was written on (``/work/…``, ``/home/…``)."""
    for path in [*DOCS, ROOT / "benchmarks" / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for outside in ("/work/", "/home/", "/Users/"):
            assert outside not in text, f"{path.relative_to(ROOT)} points at {outside}…"


def test_blocks_were_found() -> None:
    names = {b.name for b in BLOCKS}
    assert any(n.startswith("README.md:") for n in names)
    assert any(n.startswith("docs/streaming.md:") for n in names)
    assert any(n.startswith("docs/providers/sarvam.md:") for n in names)
    for block in BLOCKS:
        if block.marker == "skip":
            assert block.reason, f"{block.name}: a skipped block says why"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "python"], ids=lambda b: b.name)
def test_python_block_runs(block: Block, python_results: dict[str, str | None]) -> None:
    if block.marker == "skip":
        pytest.skip(block.reason)
    error = python_results[block.name]
    assert error is None, f"{block.name} failed:\n{block.code}\n{error}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "bash"], ids=lambda b: b.name)
def test_bash_block_runs(block: Block, tmp_path: Path) -> None:
    if block.marker == "skip":
        pytest.skip(block.reason)
    (tmp_path / "home").mkdir()
    make_samples(tmp_path, [block])
    done = subprocess.run(
        ["bash", "-euc", block.code],
        cwd=tmp_path,
        env=_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{block.name} failed:\n{block.code}\n{done.stdout}\n{done.stderr}"
