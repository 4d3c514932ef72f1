"""Writing results to files and describing them (``--json`` object, human summary)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.text import Text

from tarash.tarash_gateway.media import extension_for
from tarash.tarash_gateway.models import (
    BaseGenerationResponse,
    ExecutionMetadata,
    ImageGenerationResponse,
    STSResponse,
    TTSResponse,
    VideoGenerationResponse,
)

__all__ = [
    "check_output_target",
    "execution_metadata_json",
    "media_locations",
    "output_paths",
    "result_json",
    "save_outputs",
    "summary_lines",
]

_MEDIA_FIELDS = {"video", "videos", "images", "audio", "raw_response", "execution_metadata"}
_SAME_EXTENSIONS = ({".jpg", ".jpeg"}, {".mp3", ".mpga"}, {".wav", ".wave"}, {".ulaw", ".mulaw"})


def _content_type(operation: str, response: BaseGenerationResponse) -> str:
    ctype = getattr(response, "content_type", None)
    if ctype:
        return str(ctype)
    if operation == "video":
        return "video/mp4"
    if operation == "image":
        return "image/png"
    fmt = str(getattr(response, "output_format", "") or "mp3").split("_")[0]
    return {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}.get(fmt, f"audio/{fmt}")


def _item_count(response: BaseGenerationResponse) -> int:
    if isinstance(response, VideoGenerationResponse):
        return max(1, len(response.videos))
    if isinstance(response, ImageGenerationResponse):
        return len(response.images)
    return 1


def _short_id(request_id: str) -> str:
    return request_id.removeprefix("tg_")[:8] or "result"


def output_paths(
    operation: str, response: BaseGenerationResponse, output: str | None
) -> list[Path]:
    """Where each generated item goes.

    No ``-o``: ``tarash-<operation>-<short id>.<ext>`` in the current directory.
    ``-o DIR/`` or an existing directory: the same names inside it. ``-o FILE``:
    that file (an extension is added when it has none); several items become
    ``FILE-1.ext``, ``FILE-2.ext`` …
    """
    ext = extension_for(_content_type(operation, response))
    count = _item_count(response)
    stem = f"tarash-{operation}-{_short_id(response.request_id)}"
    numbered = [f"-{i}" for i in range(1, count + 1)] if count > 1 else [""]
    if output is None:
        return [Path(f"{stem}{n}{ext}") for n in numbered]
    target = Path(output).expanduser()
    if output.endswith(("/", os.sep)) or target.is_dir():
        return [target / f"{stem}{n}{ext}" for n in numbered]
    suffix = target.suffix or ext
    base = target.with_suffix("") if target.suffix else target
    return [base.parent / f"{base.name}{n}{suffix}" for n in numbered]


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current.parent != current:
        current = current.parent
    return current


def check_output_target(output: str | None) -> str | None:
    """Why ``-o output`` cannot be written (``None``: it can) — checked before submitting.

    The file (or directory) either exists and is writable, or the nearest existing
    ancestor is a writable directory, so the generation that follows is not paid for
    in vain. Writing can still fail later (disk full); then the result stays fetchable.
    """
    target = Path(output).expanduser() if output is not None else Path(".")
    try:
        return _output_problem(output, target)
    except OSError as exc:
        return f"{target}: {exc.strerror or exc}"


def _output_problem(output: str | None, target: Path) -> str | None:
    as_dir = output is None or output.endswith(("/", os.sep)) or target.is_dir()
    if target.exists():
        if as_dir and not target.is_dir():
            return f"{target} is a file, not a directory"
        if not os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
            return f"{target} is not writable"
        return None
    ancestor = _nearest_existing(target.parent)
    if not ancestor.is_dir():
        return f"{ancestor} is a file, so {target} cannot be created"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot create {target}: {ancestor} is not writable"
    return None


def media_locations(response: BaseGenerationResponse) -> list[str]:
    """Where the generated media can be fetched again: http(s) URLs only (never bytes)."""
    items: list[object] = []
    if isinstance(response, VideoGenerationResponse):
        items = list(response.videos or [response.video])
    elif isinstance(response, ImageGenerationResponse):
        items = list(response.images)
    return [
        item for item in items if isinstance(item, str) and item.startswith(("http://", "https://"))
    ]


def extension_mismatch(path: Path, operation: str, response: BaseGenerationResponse) -> str | None:
    """A warning when ``path``'s extension does not match what the provider returned."""
    ctype = _content_type(operation, response)
    expected = extension_for(ctype, default="")
    actual = path.suffix.lower()
    if not expected or not actual or actual == expected:
        return None
    if any(actual in group and expected in group for group in _SAME_EXTENSIONS):
        return None
    return f"{path} holds {ctype} data (a {expected} file) although it is named {actual}"


def save_outputs(
    operation: str, response: BaseGenerationResponse, output: str | None
) -> list[Path]:
    """Write every generated item (downloading URLs) and return the paths written."""
    paths = output_paths(operation, response, output)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(response, VideoGenerationResponse):
        items = response.videos or [response.video]
        for path, item in zip(paths, items, strict=False):
            response.model_copy(update={"video": item}).save(path)
    elif isinstance(response, ImageGenerationResponse):
        for index, path in enumerate(paths):
            response.save(path, index=index)
    elif isinstance(response, TTSResponse | STSResponse):
        response.save(paths[0])
    else:  # pragma: no cover - every operation is handled above
        raise TypeError(f"cannot save {type(response).__name__}")
    return paths


def execution_metadata_json(meta: ExecutionMetadata | None) -> dict[str, Any] | None:
    """Execution metadata as JSON, with the computed durations included."""
    if meta is None:
        return None
    data = meta.model_dump(mode="json")
    data["total_duration_seconds"] = meta.total_duration_seconds
    for attempt, dumped in zip(meta.attempts, data["attempts"], strict=True):
        dumped["duration_seconds"] = attempt.duration_seconds
    return data


def result_json(
    operation: str, response: BaseGenerationResponse, files: list[Path]
) -> dict[str, Any]:
    """The ``--json`` object of a finished generation."""
    fields = response.model_dump(mode="json", exclude=_MEDIA_FIELDS)
    return {
        "ok": True,
        "operation": operation,
        "files": [str(p) for p in files],
        **fields,
        "execution_metadata": execution_metadata_json(response.execution_metadata),
    }


def _size(num: int) -> str:
    value = float(num)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{num} B"  # pragma: no cover


def _describe_media(operation: str, response: BaseGenerationResponse) -> list[str]:
    parts = [_content_type(operation, response)]
    duration = getattr(response, "duration", None)
    if duration:
        parts.append(f"{duration:g} s")
    width, height = getattr(response, "width", None), getattr(response, "height", None)
    if width and height:
        parts.append(f"{width}×{height}")
    rate = getattr(response, "sample_rate", None)
    if rate:
        parts.append(f"{rate} Hz")
    return parts


def _cost(response: BaseGenerationResponse) -> str | None:
    cost = response.cost
    if cost is None:
        return None
    if cost.unit == "usd":
        return f"${cost.amount:.4f}".rstrip("0").rstrip(".") if cost.amount else "$0"
    return f"{cost.amount:g} credits"


def summary_lines(
    operation: str, response: BaseGenerationResponse, files: list[Path]
) -> list[Text]:
    """The human summary: one line per saved file, then how it was made."""
    lines: list[Text] = []
    media = " · ".join(_describe_media(operation, response))
    for path in files:
        line = Text()
        line.append("✓ ", style="bold green")
        line.append("Saved ")
        line.append(str(path), style="bold")
        try:
            size = f" · {_size(path.stat().st_size)}"
        except OSError:
            size = ""
        line.append(f"  ({media}{size})", style="dim")
        lines.append(line)
    meta = response.execution_metadata
    facts = [f"{response.provider}/{response.model}"]
    if response.is_mock:
        facts.append("offline mock")
    if meta is not None:
        attempts = meta.total_attempts
        facts.append(f"{attempts} attempt{'s' if attempts != 1 else ''}")
        if meta.fallback_triggered:
            facts.append("after fallback")
        if meta.total_duration_seconds is not None:
            facts.append(f"{meta.total_duration_seconds:.1f} s")
    cost = _cost(response)
    if cost:
        facts.append(f"cost {cost}")
    facts.append(f"request {response.request_id}")
    lines.append(Text("  " + " · ".join(facts), style="dim"))
    return lines
