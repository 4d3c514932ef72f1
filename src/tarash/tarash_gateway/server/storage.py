"""Result storage: the bytes the server must keep (results a provider gives only as
bytes, previews, streamed speech), under ``<job id>/<name>``.

:class:`ResultStore` keeps them in a local directory (``[server] results_dir``, the
default). Results given as URLs are kept as URLs in the job's row, not here.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, Response

from tarash.tarash_gateway.media import decode_data_uri, extension_for, sniff_content_type
from tarash.tarash_gateway.models import (
    BaseGenerationResponse,
    ImageGenerationResponse,
    VideoGenerationResponse,
)

__all__ = ["ResultStore", "ResultWriter"]

_SAFE_ID = re.compile(r"[a-z]{2,8}_[0-9a-f]{8,64}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_key(job_id: str, name: str) -> tuple[str, str]:
    """``(job_id, name)`` if both are safe path parts (no traversal), else ``ValueError``."""
    if not _SAFE_ID.fullmatch(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"not a result name: {name!r}")
    return job_id, name


class ResultWriter:
    """A result written as it arrives (streamed speech); :meth:`close` makes it whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "wb")  # noqa: SIM115 - closed by close()

    async def write(self, chunk: bytes) -> None:
        await asyncio.to_thread(self._fh.write, chunk)

    async def close(self) -> None:
        await asyncio.to_thread(self._fh.close)


class ResultStore:
    """Results given as bytes are kept under ``root/<job id>/``; URLs are kept as URLs."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"ResultStore(root={str(self.root)!r})"

    async def start(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    def path(self, job_id: str, name: str) -> Path:
        check_key(job_id, Path(name).name)
        return self.root / job_id / Path(name).name

    async def read(self, job_id: str, name: str) -> bytes:
        return await asyncio.to_thread(self.path(job_id, name).read_bytes)

    async def exists(self, job_id: str, name: str) -> bool:
        return await asyncio.to_thread(self.path(job_id, name).is_file)

    async def write(self, job_id: str, name: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write_file, self.path(job_id, name), data)

    async def open_writer(self, job_id: str, name: str) -> ResultWriter:
        path = self.path(job_id, name)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        return await asyncio.to_thread(ResultWriter, path)

    async def remove(self, job_id: str) -> None:
        check_key(job_id, "x")
        await asyncio.to_thread(shutil.rmtree, self.root / job_id, True)

    async def response(
        self, job_id: str, name: str, content_type: str | None, download: bool = True
    ) -> Response:
        """The stored bytes as an HTTP response (404 shape left to the caller)."""
        return FileResponse(
            self.path(job_id, name),
            media_type=content_type,
            filename=Path(name).name if download else None,
        )

    @staticmethod
    def _write_file(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)

    async def save(self, job_id: str, response: BaseGenerationResponse) -> dict[str, Any]:
        """Keep a result: bytes are written, URLs recorded; returns the row's ``result``."""
        out: list[dict[str, Any]] = []
        for index, (item, ctype) in enumerate(_items(response)):
            if isinstance(item, str):
                out.append({"url": item, "content_type": ctype})
                continue
            ctype = ctype or sniff_content_type(item) or "application/octet-stream"
            name = f"{index}{extension_for(ctype)}"
            await self.write(job_id, name, item, ctype)
            out.append({"file": name, "content_type": ctype, "size": len(item)})
        meta = {
            k: v
            for k, v in response.model_dump(
                mode="json",
                include={
                    "provider",
                    "model",
                    "provider_request_id",
                    "width",
                    "height",
                    "duration",
                    "seed",
                    "revised_prompt",
                    "resolution",
                    "sample_rate",
                    "output_format",
                },
            ).items()
            if v is not None
        }
        cost = response.cost.model_dump(mode="json") if response.cost is not None else None
        return {"items": out, "meta": meta, "cost": cost, "warnings": list(response.warnings)}


def _decode(item: Any, ctype: str | None) -> tuple[str | bytes, str | None]:
    if isinstance(item, dict):
        return bytes(item["content"]), item.get("content_type") or ctype
    if hasattr(item, "content") and isinstance(getattr(item, "content", None), bytes):
        return item.content, getattr(item, "content_type", None) or ctype
    text = str(item)
    if text.startswith(("http://", "https://")):
        return text, ctype
    if text.startswith("data:"):
        data, dtype = decode_data_uri(text)
        return data, dtype or ctype
    return base64.b64decode(text), ctype


def _items(response: BaseGenerationResponse) -> list[tuple[str | bytes, str | None]]:
    if isinstance(response, VideoGenerationResponse):
        videos = list(response.videos) or [response.video]
        return [_decode(v, response.content_type) for v in videos]
    if isinstance(response, ImageGenerationResponse):
        return [_decode(i, response.content_type) for i in response.images]
    audio = getattr(response, "audio", None)
    if audio is not None:
        return [(base64.b64decode(audio), getattr(response, "content_type", None))]
    raise ValueError(f"no media in a {type(response).__name__}")
