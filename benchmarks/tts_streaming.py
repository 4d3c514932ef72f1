"""Time to first audio: streaming TTS vs the full response, against the local emulators.

One command (from the repository root)::

    .venv/bin/python benchmarks/tts_streaming.py            # defaults: 10 chunks × 50 ms, 15 runs
    .venv/bin/python benchmarks/tts_streaming.py --chunks 20 --chunk-delay 0.025 --runs 30

The ElevenLabs and Cartesia emulators simulate generation time: a streamed
response sends one chunk every ``--chunk-delay`` seconds, a full response
answers after ``chunks × chunk-delay``. For each provider the gateway is driven
through its public API with the real SDK:

* ``generate_tts_async`` — the whole audio at once (time to first audio = total);
* ``stream_tts_async`` — time to the first chunk and to the last chunk;
* ``stream_tts`` (sync bridge) — the same through the background-loop bridge.

It prints a table of medians and p95 in milliseconds, plus the gateway's own
overhead on the first chunk (measured TTFC minus the emulator's first-chunk delay).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT, ROOT / "src"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from tarash.tarash_gateway import (  # noqa: E402
    AudioGenerationConfig,
    RetryPolicy,
    TTSRequest,
    generate_tts_async,
    stream_tts,
    stream_tts_async,
)
from tests.emulators.cartesia import CARTESIA_API_KEY, CartesiaEmulator  # noqa: E402
from tests.emulators.elevenlabs import ELEVENLABS_API_KEY, ElevenLabsEmulator  # noqa: E402

TEXT = "The quick brown fox jumps over the lazy dog, twice."


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


async def _full(config: AudioGenerationConfig, request: TTSRequest) -> tuple[float, float, int]:
    started = time.perf_counter()
    response = await generate_tts_async(config, request)
    total = time.perf_counter() - started
    return total, total, len(response.audio_bytes)


async def _stream_async(
    config: AudioGenerationConfig, request: TTSRequest
) -> tuple[float, float, int]:
    started = time.perf_counter()
    first: float | None = None
    size = 0
    async with stream_tts_async(config, request) as audio:
        async for chunk in audio:
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
    assert first is not None
    return first, time.perf_counter() - started, size


def _stream_sync(config: AudioGenerationConfig, request: TTSRequest) -> tuple[float, float, int]:
    started = time.perf_counter()
    first: float | None = None
    size = 0
    with stream_tts(config, request) as audio:
        for chunk in audio:
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
    assert first is not None
    return first, time.perf_counter() - started, size


async def _measure(
    run: Callable[[AudioGenerationConfig, TTSRequest], Any],
    config: AudioGenerationConfig,
    request: TTSRequest,
    runs: int,
    is_async: bool,
) -> tuple[list[float], list[float], int]:
    firsts: list[float] = []
    totals: list[float] = []
    size = 0
    for index in range(runs + 1):
        if is_async:
            first, total, size = await run(config, request)
        else:
            first, total, size = await asyncio.to_thread(run, config, request)
        if index:  # the first run warms clients, imports and the emulator's audio cache
            firsts.append(first)
            totals.append(total)
    return firsts, totals, size


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10, help="chunks per response (10)")
    parser.add_argument("--chunk-delay", type=float, default=0.05, help="seconds per chunk (0.05)")
    parser.add_argument("--runs", type=int, default=15, help="measured runs per row (15)")
    args = parser.parse_args(argv)

    no_retry = RetryPolicy(max_retries=0)
    with ElevenLabsEmulator() as eleven, CartesiaEmulator() as cartesia:
        for emu in (eleven, cartesia):
            emu.stream_chunks = args.chunks
            emu.chunk_delay = args.chunk_delay
        providers = [
            (
                "elevenlabs",
                AudioGenerationConfig(
                    provider="elevenlabs",
                    model="eleven_flash_v2_5",
                    api_key=ELEVENLABS_API_KEY,
                    base_url=eleven.base_url,
                    retry=no_retry,
                ),
            ),
            (
                "cartesia",
                AudioGenerationConfig(
                    provider="cartesia",
                    model="sonic-3",
                    api_key=CARTESIA_API_KEY,
                    base_url=cartesia.base_url,
                    retry=no_retry,
                ),
            ),
        ]
        request = TTSRequest(text=TEXT, voice_id="bench-voice", output_format="mp3_44100_128")
        modes: list[tuple[str, Any, bool]] = [
            ("generate_tts_async (full)", _full, True),
            ("stream_tts_async", _stream_async, True),
            ("stream_tts (sync bridge)", _stream_sync, False),
        ]
        simulated_total = args.chunks * args.chunk_delay
        print(
            f"\nTTS time to first audio — {args.chunks} chunks × {args.chunk_delay * 1000:.0f} ms "
            f"(simulated generation {simulated_total * 1000:.0f} ms), {args.runs} runs, "
            f"mp3_44100_128, {len(TEXT)} characters\n"
        )
        header = (
            f"{'provider':<11} {'mode':<27} {'first p50':>9} {'first p95':>9} "
            f"{'done p50':>9} {'done p95':>9} {'overhead':>9} {'speed-up':>9} {'bytes':>7}"
        )
        print(header)
        print("-" * len(header))
        for name, config in providers:
            full_first = 0.0
            for label, run, is_async in modes:
                firsts, totals, size = await _measure(run, config, request, args.runs, is_async)
                first_p50 = statistics.median(firsts)
                if label.startswith("generate"):
                    full_first = first_p50
                    overhead = first_p50 - simulated_total
                else:
                    overhead = first_p50 - args.chunk_delay
                speedup = f"{full_first / first_p50:8.1f}x" if full_first else f"{'-':>9}"
                print(
                    f"{name:<11} {label:<27} {_ms(first_p50)}  {_ms(_pct(firsts, 0.95))}  "
                    f"{_ms(statistics.median(totals))}  {_ms(_pct(totals, 0.95))}  "
                    f"{_ms(overhead)}  {speedup} {size:>7}"
                )
        print(
            "\nfirst = time to the first audio byte in the caller's hands; done = last byte; "
            "overhead = first p50 minus the emulator's own delay before that byte (gateway + "
            "SDK + loopback HTTP); speed-up = full-response first audio ÷ streaming first audio.\n"
        )


if __name__ == "__main__":
    asyncio.run(main())
