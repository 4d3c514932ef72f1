"""Result bytes in S3-compatible storage: `tarash serve` with `[server] storage =
"s3://bucket/prefix"` against moto's S3 server on 127.0.0.1 (no AWS call), driven by the
official openai client and httpx."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.test_serve import MASTER, Server, _free_port

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

BUCKET = "tarash-results"
KEY_ID = "AKIATARASHTEST0000001"
SECRET = "moto-secret-access-key-do-not-print-0123456789"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    _s3(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    moto.stop()


def _s3(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def _keys(endpoint: str, prefix: str) -> list[str]:
    page = _s3(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in page.get("Contents", []))


def _config(endpoint: str, content: str = "stream", prefix: str = "gw") -> str:
    return (
        f'storage = "s3://{BUCKET}/{prefix}"\n'
        f'storage_endpoint_url = "{endpoint}"\n'
        'storage_region = "us-east-1"\n'
        f'storage_access_key_id = "{KEY_ID}"\n'
        f'storage_secret_access_key = "{SECRET}"\n'
        f'storage_content = "{content}"\n'
    )


def _start(tmp: Path, config: str) -> Server:
    server = Server(tmp, "")
    # the [server] table: storage keys go before any other table
    server.cfg.write_text(server.cfg.read_text() + config)
    return server.start()


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[Server]:
    srv = _start(tmp_path_factory.mktemp("s3"), _config(s3_endpoint))
    yield srv
    srv.stop()


def test_results_stream_from_s3(s3_server: Server, s3_endpoint: str) -> None:
    client = s3_server.client()
    video = client.videos.create_and_poll(prompt="to the bucket", model="mock/mock-video")  # type: ignore[arg-type]
    assert video.status == "completed", video.error
    with httpx.Client(base_url=s3_server.base, headers={"Authorization": f"Bearer {MASTER}"}) as h:
        raw = h.get(f"/v1/videos/{video.id}/content")
    assert raw.status_code == 200 and raw.headers["content-type"] == "video/mp4"
    assert raw.content[4:8] == b"ftyp"
    stored = _s3(s3_endpoint).get_object(Bucket=BUCKET, Key=f"gw/{video.id}/0.mp4")
    assert stored["Body"].read() == raw.content and stored["ContentType"] == "video/mp4"
    assert not (s3_server.tmp / "results" / video.id).exists()  # nothing on local disk

    thumb = client.videos.download_content(video.id, variant="thumbnail").read()
    assert thumb[8:12] == b"WEBP"
    assert _keys(s3_endpoint, f"gw/{video.id}/") == [
        f"gw/{video.id}/0.mp4",
        f"gw/{video.id}/thumbnail.webp",
    ]
    extended = client.videos.extend(prompt="more", seconds="4", video=("a.mp4", raw.content))
    assert client.videos.poll(extended.id).status == "completed"

    image = client.images.generate(prompt="p", model="mock/mock-image", response_format="url")
    fetched = httpx.get(image.data[0].url or "")  # the signed link, served from S3
    assert fetched.status_code == 200 and fetched.content.startswith(b"\x89PNG")
    b64 = client.images.generate(prompt="p", model="mock/mock-image")
    assert base64.b64decode(b64.data[0].b64_json or "").startswith(b"\x89PNG")

    with client.audio.speech.with_streaming_response.create(
        model="mock/mock-tts", voice="v", input="into the bucket", response_format="wav"
    ) as speech:
        audio = b"".join(speech.iter_bytes())
        speech_id = speech.headers["x-tarash-job-id"]
    with httpx.Client(base_url=s3_server.base, headers={"Authorization": f"Bearer {MASTER}"}) as h:
        again = h.get(f"/v1/jobs/{speech_id}/content")
        assert again.status_code == 200 and again.content == audio
        assert _keys(s3_endpoint, f"gw/{speech_id}/") == [f"gw/{speech_id}/0.wav"]
        jobs = h.get("/v1/jobs").text

    assert client.videos.delete(video.id).deleted
    assert _keys(s3_endpoint, f"gw/{video.id}/") == []  # deleting the video deletes its objects
    logs = b"".join(p.read_bytes() for p in s3_server.tmp.glob("server-*.log"))
    assert SECRET.encode() not in logs and SECRET not in jobs


def test_redirect_to_a_presigned_url(tmp_path: Path, s3_endpoint: str) -> None:
    srv = _start(tmp_path, _config(s3_endpoint, content="redirect", prefix="presigned/x"))
    try:
        client = srv.client()
        video = client.videos.create_and_poll(prompt="presigned", model="mock/mock-video")  # type: ignore[arg-type]
        with httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {MASTER}"}) as h:
            raw = h.get(f"/v1/videos/{video.id}/content")
        assert raw.status_code == 302
        location = raw.headers["location"]
        assert location.startswith(f"{s3_endpoint}/{BUCKET}/presigned/x/{video.id}/0.mp4?")
        assert "X-Amz-Signature=" in location and SECRET not in location
        direct = httpx.get(location)  # no gateway key: the signature is the authorisation
        assert direct.status_code == 200 and direct.content[4:8] == b"ftyp"
        assert client.videos.download_content(video.id).read() == direct.content  # followed
        # (moto does not check signatures, so a tampered URL is not tested here)
        assert "X-Amz-Expires=3600" in location and "response-content-type=video%2Fmp4" in location
    finally:
        srv.stop()


def test_unreachable_storage_refuses_to_start_without_showing_the_secret(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[server]\n" + _config(f"http://127.0.0.1:{_free_port()}").replace("tarash-results", "nbk")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tarash.tarash_gateway.cli",
            "serve",
            "--port",
            str(_free_port()),
            "--config",
            str(cfg),
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2
    out = proc.stdout + proc.stderr
    assert b"error: S3 head_bucket s3://nbk failed: EndpointConnectionError" in out, (
        out and SECRET.encode() not in out and KEY_ID.encode() not in out
    )


def test_store_repr_and_settings_hide_credentials() -> None:
    from tarash.tarash_gateway.server.config import ServerSettings
    from tarash.tarash_gateway.server.storage import S3ResultStore, make_store

    settings = ServerSettings.model_validate(
        {
            "storage": "s3://bucket-a/p/q",
            "storage_endpoint_url": "http://127.0.0.1:9",
            "storage_access_key_id": KEY_ID,
            "storage_secret_access_key": SECRET,
        }
    )
    store = make_store(settings)
    assert isinstance(store, S3ResultStore)
    assert (store.bucket, store.prefix) == ("bucket-a", "p/q")
    assert store.key("video_" + "ab" * 12, "0.mp4") == f"p/q/video_{'ab' * 12}/0.mp4"
    for text in (repr(store), repr(settings), json.dumps(settings.model_dump(mode="json"))):
        assert SECRET not in text and KEY_ID not in text
    with pytest.raises(ValueError, match="not a job id"):
        store.key("../etc", "passwd")
    with pytest.raises(ValueError, match="go together"):
        ServerSettings.model_validate({"storage": "s3://b-1/x", "storage_access_key_id": KEY_ID})
