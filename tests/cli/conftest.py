"""Run the ``tarash`` command end to end in subprocesses, offline, in an isolated home.

``cli("video", "a fox", "-o", "fox.mp4")`` runs
``python -m tarash.tarash_gateway.cli video "a fox" -o fox.mp4`` in a fresh temporary
working directory and returns a :class:`CliResult` (exit code, stdout, stderr, cwd).

* Provider keys and ``TARASH_*`` variables of the developer's shell are removed;
  ``HOME``, ``XDG_CONFIG_HOME`` and ``XDG_DATA_HOME`` point into the test's temporary
  directory, so no personal config file is read and the default job store
  (``$XDG_DATA_HOME/tarash/jobs.db``) is the test's own. Pass ``env={...}`` to add
  variables.
* The default config file of that home sets ``[mock] delay = 0.05`` so mock video jobs
  finish in ~0.1 s (``cli.write_config(...)`` replaces it).
* ``cli.many([...], [...])`` runs several commands at once (same options) — the
  command is CPU-bound at start-up, so batches keep the suite fast.
* ``cli.batch([...], [...])`` runs many invocations of the entry point ``main(argv)``
  one after the other inside ONE fresh interpreter (same environment and home, stdout
  and stderr captured per invocation) — for large matrices of quick failures, where
  interpreter start-up (~0.5 s of imports) would dominate.
* ``cli(..., script=True)`` runs the installed ``tarash`` console script instead.

A test against a provider emulator only adds the endpoint and the emulator's key::

    result = cli("video", "a fox", "--provider", "fal", "--base-url", fal.url,
                 "--json", env={"FAL_KEY": fal.api_key})
    assert result.code == 0, result.stderr
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from tarash.tarash_gateway.cli._settings import CATALOG

PROVIDER_KEY_VARS = sorted(
    {var for info in CATALOG.values() for var in info.env_vars}
    | {"ELEVEN_API_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "AZURE_OPENAI_ENDPOINT"}
)
FAST_MOCK_CONFIG = "[mock]\ndelay = 0.05\n"
PYCACHE = Path(tempfile.gettempdir()) / f"tarash-cli-tests-pycache-{os.getuid()}"
"""Bytecode cache of the subprocesses, outside the source tree: start-up is compile-bound
when PYTHONDONTWRITEBYTECODE is set (stale entries are revalidated by Python as usual)."""
SUBPROCESS_TIMEOUT = 60
_BATCH_RUNNER = """
import contextlib, io, json, sys
from tarash.tarash_gateway.cli import main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write(json.dumps(results))
"""


@dataclass
class CliResult:
    """What one ``tarash`` run did."""

    args: list[str]
    code: int
    stdout: str
    stderr: str
    cwd: Path

    def json(self) -> Any:
        """stdout parsed as one JSON document (fails if there is anything else)."""
        return json.loads(self.stdout)

    @property
    def stderr_lines(self) -> list[str]:
        """Non-empty stderr lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return (
            f"tarash {' '.join(self.args)} -> exit {self.code}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


@dataclass
class Running:
    """A ``tarash`` process that was started."""

    args: list[str]
    process: subprocess.Popen[str]
    stdin: str | None
    cwd: Path

    def wait(self) -> CliResult:
        """Wait for the process (bounded) and collect its result."""
        try:
            out, err = self.process.communicate(self.stdin, timeout=SUBPROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            pytest.fail(f"tarash {' '.join(self.args)} did not finish: {err}")
        return CliResult(self.args, self.process.returncode, out, err, self.cwd)


class Cli:
    """Runs ``tarash`` as a subprocess (see the module docstring)."""

    def __init__(self, home: Path, workdir: Path) -> None:
        self.home = home
        self.cwd = workdir
        self.config_path = home / ".config" / "tarash" / "config.toml"
        self.write_config(FAST_MOCK_CONFIG)

    def write_config(self, text: str) -> Path:
        """Replace the default config file of the isolated home."""
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(text, encoding="utf-8")
        self.config_path.chmod(0o600)
        return self.config_path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The subprocess environment: no provider keys, no TARASH_* settings, isolated home."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in PROVIDER_KEY_VARS and not k.startswith("TARASH_")
        }
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            PYTHONIOENCODING="utf-8",
            PYTHONPYCACHEPREFIX=str(PYCACHE),
            COLUMNS="200",
            # Emulators serve results from 127.0.0.1; the gateway's own downloads refuse
            # private addresses unless allowed (see tests/unit/test_media_policy.py).
            TARASH_ALLOW_PRIVATE_MEDIA_HOSTS="127.0.0.1,localhost",
        )
        env.pop("NO_COLOR", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(extra or {})
        return env

    def command(self, args: Sequence[str], *, script: bool = False) -> list[str]:
        """The argv that runs ``tarash args``."""
        if script:
            return [str(console_script()), *args]
        return [sys.executable, "-m", "tarash.tarash_gateway.cli", *args]

    def _start(
        self,
        args: Sequence[str],
        env: Mapping[str, str] | None,
        script: bool,
        stdin: str | None,
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(args, script=script),
            cwd=self.cwd,
            env=self.env(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def start(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        script: bool = False,
        stdin: str | None = None,
    ) -> Running:
        """Start one command without waiting (``.wait()`` gives its :class:`CliResult`)."""
        return Running(list(args), self._start(args, env, script, stdin), stdin, self.cwd)

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        script: bool = False,
        stdin: str | None = None,
    ) -> CliResult:
        """Run one command and wait for it."""
        return self.start(*args, env=env, script=script, stdin=stdin).wait()

    def many(
        self,
        commands: Sequence[Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        script: bool = False,
    ) -> list[CliResult]:
        """Run several commands concurrently; results in the same order."""
        running = [self.start(*args, env=env, script=script) for args in commands]
        return [r.wait() for r in running]

    def batch(
        self, commands: Sequence[Sequence[str]], *, env: Mapping[str, str] | None = None
    ) -> list[CliResult]:
        """Run ``main(argv)`` for each command in one fresh interpreter; results in order."""
        process = subprocess.run(
            [sys.executable, "-c", _BATCH_RUNNER],
            input=json.dumps([list(c) for c in commands]),
            cwd=self.cwd,
            env=self.env(env),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )
        assert process.returncode == 0, f"batch runner failed: {process.stderr}"
        return [
            CliResult(list(args), code, out, err, self.cwd)
            for args, (code, out, err) in zip(commands, json.loads(process.stdout), strict=True)
        ]


def console_script() -> Path:
    """The ``tarash`` script installed next to this interpreter."""
    return Path(sys.executable).parent / ("tarash.exe" if os.name == "nt" else "tarash")


def make_cli(base: Path) -> Cli:
    """A :class:`Cli` with its home and working directory under ``base``."""
    home, workdir = base / "home", base / "work"
    home.mkdir()
    workdir.mkdir()
    return Cli(home, workdir)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A :class:`Cli` with an isolated home and an empty working directory."""
    return make_cli(tmp_path)


# ---------------------------------------------------------------------------- media checks


def assert_mp4(path: Path) -> tuple[int, int, int]:
    """``path`` is an MP4 that FFmpeg decodes; returns (width, height, decoded frames)."""
    data = path.read_bytes()
    assert data[4:8] == b"ftyp", f"{path} has no ftyp box"
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    assert frames, f"{path} decodes to no frames"
    return frames[0].width, frames[0].height, len(frames)


def assert_png(path: Path) -> tuple[int, int]:
    """``path`` is a PNG; returns its (width, height) from the IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} has no PNG signature"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (width, height)
    return width, height


def assert_wav(path: Path) -> tuple[float, int]:
    """``path`` is a PCM WAV with audio in it; returns (duration in seconds, sample rate)."""
    with wave.open(str(path)) as wav:
        frames, rate = wav.getnframes(), wav.getframerate()
        assert frames > 0
        assert wav.readframes(frames).strip(b"\x00"), f"{path} is silent"
    return frames / rate, rate


def write_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A short tone as a 16-bit mono WAV (input for ``tarash sts``)."""
    count = int(seconds * rate)
    samples = b"".join(struct.pack("<h", (i * 37) % 20000 - 10000) for i in range(count))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples)
    return path
