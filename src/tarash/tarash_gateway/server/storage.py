"""Result storage: the bytes the server must keep (results a provider gives only as
bytes, previews, streamed speech), under ``<job id>/<name>``.

:class:`ResultStore` keeps them in a local directory (``[server] results_dir``, the
default); :class:`S3ResultStore` in S3-compatible storage when ``[server] storage =
"s3://bucket/prefix"``. Results given as URLs are kept as URLs in the job's row, not here.
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

__all__ = [
    "ResultStore",
    "ResultWriter",
    "S3ResultStore",
    "StorageError",
    "StoredObjectMissing",
    "make_store",
]

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


# ============================================================================ S3


class StorageError(Exception):
    """Result storage failed (the message names the operation and object, never a
    credential)."""


class StoredObjectMissing(LookupError):
    """A result the job's row names is not in storage."""


class _S3Writer:
    """Streamed bytes spooled to a temporary file, uploaded whole on :meth:`close`."""

    def __init__(self, store: S3ResultStore, job_id: str, name: str) -> None:
        import tempfile

        self._store = store
        self._job_id = job_id
        self._name = name
        self._fh = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115

    async def write(self, chunk: bytes) -> None:
        await asyncio.to_thread(self._fh.write, chunk)

    async def close(self) -> None:
        def upload() -> None:
            self._fh.seek(0)
            self._store._put(self._job_id, self._name, self._fh.read(), None)
            self._fh.close()

        await asyncio.to_thread(upload)


class S3ResultStore(ResultStore):
    """Results in S3-compatible storage: ``s3://bucket/prefix`` → objects
    ``prefix/<job id>/<name>`` (boto3, ``tarash-gateway[s3]``, imported here only).

    ``content = "stream"`` (default) streams ``/content`` from the bucket through the
    server; ``"redirect"`` answers ``302`` to a presigned GET URL valid ``url_ttl``
    seconds. Credentials: the given key pair, else boto3's own chain (environment,
    profile, instance role); they never appear in a repr, a log line or an error.
    """

    kind = "s3"

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        content: str = "stream",
        url_ttl: int = 3600,
    ) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        super().__init__(Path("/nonexistent-s3-store"))
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self.content = content
        self.url_ttl = url_ttl
        self._credentials = (access_key_id, secret_access_key)
        self._client: Any = None

    def __repr__(self) -> str:
        where = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return (
            f"S3ResultStore(bucket={self.bucket!r}, prefix={self.prefix!r}{where}, "
            f"content={self.content!r})"
        )

    def key(self, job_id: str, name: str) -> str:
        check_key(job_id, Path(name).name)
        parts = [self.prefix, job_id, Path(name).name] if self.prefix else [job_id, Path(name).name]
        return "/".join(parts)

    def _where(self, job_id: str, name: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(job_id, name) if name else job_id}"

    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise StorageError(
                    "[server] storage = s3://… needs boto3: install tarash-gateway[s3]"
                ) from None
            key_id, secret = self._credentials
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
                config=Config(
                    retries={"max_attempts": 3, "mode": "standard"},  # bounded; PUTs idempotent
                    connect_timeout=10,
                    read_timeout=60,
                    signature_version="s3v4",
                ),
            )
        return self._client

    def _fail(self, op: str, where: str, exc: BaseException) -> StorageError:
        response = getattr(exc, "response", None)
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
        detail = code or type(exc).__name__
        return StorageError(f"S3 {op} {where} failed: {detail}")

    def _call(self, op: str, where: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code")
            if status == 404 or code in ("NoSuchKey", "404", "NotFound"):
                raise StoredObjectMissing(where) from None
            raise self._fail(op, where, exc) from None
        except BotoCoreError as exc:
            raise self._fail(op, where, exc) from None

    async def start(self) -> None:
        where = f"s3://{self.bucket}"
        try:
            await asyncio.to_thread(
                self._call, "head_bucket", where, self.client().head_bucket, Bucket=self.bucket
            )
        except StoredObjectMissing:
            raise StorageError(f"S3 bucket {where} does not exist") from None

    def _put(self, job_id: str, name: str, data: bytes, content_type: str | None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self._call(
            "put_object",
            self._where(job_id, name),
            self.client().put_object,
            Bucket=self.bucket,
            Key=self.key(job_id, name),
            Body=data,
            **extra,
        )

    async def write(self, job_id: str, name: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, job_id, name, data, content_type)

    async def read(self, job_id: str, name: str) -> bytes:
        def get() -> bytes:
            answer = self._call(
                "get_object",
                self._where(job_id, name),
                self.client().get_object,
                Bucket=self.bucket,
                Key=self.key(job_id, name),
            )
            body = answer["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        return await asyncio.to_thread(get)

    async def exists(self, job_id: str, name: str) -> bool:
        try:
            await asyncio.to_thread(
                self._call,
                "head_object",
                self._where(job_id, name),
                self.client().head_object,
                Bucket=self.bucket,
                Key=self.key(job_id, name),
            )
        except StoredObjectMissing:
            return False
        return True

    async def open_writer(self, job_id: str, name: str) -> Any:
        self.key(job_id, name)
        return _S3Writer(self, job_id, name)

    async def remove(self, job_id: str) -> None:
        prefix = self.key(job_id, "x")[:-1]

        def delete_all() -> None:
            client = self.client()
            for _ in range(1000):  # bounded: 1,000 pages of 1,000 objects
                page = self._call(
                    "list_objects_v2",
                    self._where(job_id),
                    client.list_objects_v2,
                    Bucket=self.bucket,
                    Prefix=prefix,
                    MaxKeys=1000,
                )
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if not keys:
                    return
                self._call(
                    "delete_objects",
                    self._where(job_id),
                    client.delete_objects,
                    Bucket=self.bucket,
                    Delete={"Objects": keys, "Quiet": True},
                )

        await asyncio.to_thread(delete_all)

    async def response(
        self, job_id: str, name: str, content_type: str | None, download: bool = True
    ) -> Response:
        from starlette.responses import RedirectResponse, StreamingResponse

        key = self.key(job_id, name)
        where = self._where(job_id, name)
        if self.content == "redirect":
            params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
            if content_type:
                params["ResponseContentType"] = content_type
            url = await asyncio.to_thread(
                self._call,
                "presign",
                where,
                self.client().generate_presigned_url,
                ClientMethod="get_object",
                Params=params,
                ExpiresIn=self.url_ttl,
            )
            return RedirectResponse(str(url), status_code=302)
        answer = await asyncio.to_thread(
            self._call, "get_object", where, self.client().get_object, Bucket=self.bucket, Key=key
        )
        body = answer["Body"]

        async def chunks() -> Any:
            try:
                for _ in range(1 << 20):  # bounded: at most 1 Mi chunks of 1 MiB
                    chunk = await asyncio.to_thread(body.read, 1024 * 1024)
                    if not chunk:
                        return
                    yield chunk
            finally:
                await asyncio.to_thread(body.close)

        headers = {"content-length": str(answer.get("ContentLength", ""))}
        if not headers["content-length"]:
            headers = {}
        if download:
            headers["content-disposition"] = f'attachment; filename="{Path(name).name}"'
        media = content_type or answer.get("ContentType") or "application/octet-stream"
        return StreamingResponse(chunks(), media_type=media, headers=headers)


def make_store(settings: Any) -> ResultStore:
    """The store ``[server] storage`` names (S3), else the local results directory."""
    url = getattr(settings, "storage", None)
    if url and url.startswith("s3://"):
        key_id = settings.storage_access_key_id
        secret = settings.storage_secret_access_key
        return S3ResultStore(
            url,
            endpoint_url=settings.storage_endpoint_url,
            region=settings.storage_region,
            access_key_id=key_id.get_secret_value() if key_id is not None else None,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            content=settings.storage_content,
            url_ttl=settings.storage_url_ttl,
        )
    return ResultStore(settings.results_path())
