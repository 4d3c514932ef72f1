"""Import time, ``tarash --help`` time and mock per-call time, in one table.

One command (from the repository root)::

    .venv/bin/python benchmarks/import_and_mock.py             # 15 fresh processes per figure
    .venv/bin/python benchmarks/import_and_mock.py --runs 31 --json out.json

**Imports.** Each figure is the wall time of one import statement inside a fresh
interpreter (``time.perf_counter`` around the statement, so interpreter start-up is not
counted), median and minimum over ``--runs`` processes. The baseline,
``import pydantic, httpx``, is measured interleaved with the others (one baseline process,
then one of each target, repeated), so that load on a shared machine hits both alike; the
ratio is median over median. Rows:

* ``import tarash.tarash_gateway`` — the package (its public names load lazily);
* ``from tarash.tarash_gateway import generate_video, VideoGenerationConfig, ...`` — what a
  program imports to make its first call (models and API, not the attempt engine);
* ``import tarash.tarash_gateway.orchestrator`` — everything a first generation loads
  (engine, provider base classes, retry library); ``tenacity`` is its share of that, read
  from ``python -X importtime`` (cumulative microseconds of the ``tenacity`` line).

**CLI.** ``tarash --help``: wall time of the whole process (start-up included), median/min.

**Mock.** In a fresh process (empty media cache): the first call and the median of 50 warm
calls of ``generate_image_async`` (1024x1024), ``generate_tts_async`` and
``generate_video_async`` (4 s, 480p, polling off) on the mock provider, same request each time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

BASELINE = "import pydantic, httpx"
TARGETS = {
    "import tarash.tarash_gateway": "import tarash.tarash_gateway",
    "from tarash.tarash_gateway import <first-call names>": (
        "from tarash.tarash_gateway import generate_video, VideoGenerationConfig, "
        "VideoGenerationRequest, TarashException"
    ),
    "import tarash.tarash_gateway.orchestrator (engine)": (
        "import tarash.tarash_gateway.orchestrator"
    ),
}

_TIMER = "import time\n_t = time.perf_counter()\n{code}\nprint(time.perf_counter() - _t)\n"

_MOCK = """
import asyncio, json, time
from tarash.tarash_gateway import (
    AudioGenerationConfig, ImageGenerationConfig, ImageGenerationRequest, TTSRequest,
    VideoGenerationConfig, VideoGenerationRequest,
    generate_image_async, generate_tts_async, generate_video_async,
)

async def main():
    cases = {
        "image 1024x1024": (generate_image_async, ImageGenerationConfig(provider="mock"),
                            ImageGenerationRequest(prompt="a fox", size="1024x1024")),
        "tts (3 s wav)": (generate_tts_async, AudioGenerationConfig(provider="mock"),
                          TTSRequest(text="the quick brown fox jumps over the lazy dog, twice")),
        "video 4 s 480p": (generate_video_async,
                           VideoGenerationConfig(provider="mock",
                                                 mock={"enabled": True,
                                                       "polling": {"enabled": False}}),
                           VideoGenerationRequest(prompt="a fox", duration_seconds=4,
                                                  resolution="480p")),
    }
    out = {}
    for name, (call, config, request) in cases.items():
        t = time.perf_counter(); await call(config, request); first = time.perf_counter() - t
        warm = []
        for _ in range(50):
            t = time.perf_counter(); await call(config, request)
            warm.append(time.perf_counter() - t)
        out[name] = {"first_ms": first * 1000, "warm_median_ms": statistics.median(warm) * 1000,
                     "warm_p95_ms": sorted(warm)[47] * 1000}
    print(json.dumps(out))

import statistics
asyncio.run(main())
"""


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, env=ENV, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}… failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _import_seconds(code: str) -> float:
    return float(_run([PY, "-c", _TIMER.format(code=code)]).split()[-1])


def _tenacity_share_ms() -> float | None:
    done = subprocess.run(
        [PY, "-X", "importtime", "-c", "import tarash.tarash_gateway.orchestrator"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        check=False,
    )
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*tenacity$", line)
        if match:
            return int(match.group(1)) / 1000
    return None


def _help_seconds() -> float:
    import time

    script = Path(PY).with_name("tarash")
    args = [str(script), "--help"] if script.exists() else [PY, "-m", "tarash.tarash_gateway.cli"]
    if not script.exists():
        args.append("--help")
    start = time.perf_counter()
    _run(args)
    return time.perf_counter() - start


def _summary(values: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(values) * 1000, "min_ms": min(values) * 1000}


def measure(runs: int) -> dict[str, Any]:
    base: list[float] = []
    targets: dict[str, list[float]] = {name: [] for name in TARGETS}
    for _ in range(runs):
        base.append(_import_seconds(BASELINE))
        for name, code in TARGETS.items():
            targets[name].append(_import_seconds(code))
    tenacity = [t for t in (_tenacity_share_ms() for _ in range(max(3, runs // 3))) if t]
    help_times = [_help_seconds() for _ in range(runs)]
    mock = json.loads(_run([PY, "-c", _MOCK]).splitlines()[-1])
    base_summary = _summary(base)
    return {
        "baseline": {"name": BASELINE, **base_summary},
        "imports": {
            name: {
                **_summary(values),
                "ratio": statistics.median(values) * 1000 / base_summary["median_ms"],
            }
            for name, values in targets.items()
        },
        "tenacity_ms": statistics.median(tenacity) if tenacity else None,
        "help": _summary(help_times),
        "mock": mock,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def print_table(result: dict[str, Any]) -> None:
    base = result["baseline"]
    print(f"{'figure':<58} {'median':>10} {'min':>10} {'ratio':>7}")
    print("-" * 88)
    print(f"{base['name']:<58} {base['median_ms']:>8.1f}ms {base['min_ms']:>8.1f}ms {'1.00x':>7}")
    for name, row in result["imports"].items():
        ratio = f"{row['ratio']:.2f}x"
        print(f"{name:<58} {row['median_ms']:>8.1f}ms {row['min_ms']:>8.1f}ms {ratio:>7}")
    if result["tenacity_ms"] is not None:
        label = "  of which tenacity (-X importtime, cumulative)"
        print(f"{label:<58} {result['tenacity_ms']:>8.1f}ms")
    help_row = result["help"]
    print(
        f"{'tarash --help (whole process)':<58} {help_row['median_ms']:>8.1f}ms "
        f"{help_row['min_ms']:>8.1f}ms"
    )
    print()
    print(f"{'mock generation':<30} {'first call':>12} {'warm median':>12} {'warm p95':>10}")
    print("-" * 68)
    for name, row in result["mock"].items():
        print(
            f"{name:<30} {row['first_ms']:>10.2f}ms {row['warm_median_ms']:>10.3f}ms "
            f"{row['warm_p95_ms']:>8.3f}ms"
        )
    if result["load_average"] is not None:
        print(f"\n1-minute load average at the end: {result['load_average']:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per figure")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    result = measure(args.runs)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
