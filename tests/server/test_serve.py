"""`tarash serve` as a subprocess on 127.0.0.1, driven by the official openai client and httpx.

One server (master key set) serves most tests; the kill -9 test runs its own.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from standardwebhooks.webhooks import Webhook

from tests.emulators.fal import FAL_API_KEY, FalEmulator
from tests.emulators.harness import JobScript

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

MASTER = "master-test-key-0123456789"
PNG = b"\x89PNG\r\n\x1a\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path, config: str = "", master: str | None = MASTER) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{tmp / 'server.db'}"
        cfg = tmp / "config.toml"
        cfg.write_text(
            "[server]\nallow_private_urls = true\nidle_wakeup = 0.05\npoll_min = 0.05\n"
            f'results_dir = "{tmp / "results"}"\nwebhook_backoff = 0.2\n' + config
        )
        self.cfg = cfg
        self.master = master
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TARASH_MASTER_KEY", None)
        if self.master:
            env["TARASH_MASTER_KEY"] = self.master
        self.log = open(self.tmp / f"server-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tarash.tarash_gateway.cli",
                "serve",
                "--port",
                str(self.port),
                "--config",
                str(self.cfg),
                "--db",
                self.db,
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, (
                (self.tmp / "x").read_text() if False else "server died"
            )
            time.sleep(0.1)
        raise AssertionError("server did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def client(self, key: str = MASTER) -> openai.OpenAI:
        return openai.OpenAI(api_key=key, base_url=f"{self.base}/v1", max_retries=0, timeout=30)

    def http(self, key: str | None = MASTER) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)


class Receiver:
    """A local webhook receiver recording (headers, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = 500 if outer.fail_first > 0 else 200
                outer.fail_first -= 1
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.calls) >= n, self.calls


@pytest.fixture(scope="module")
def fal_emu() -> Iterator[FalEmulator]:
    with FalEmulator(api_key=FAL_API_KEY) as emu:
        emu.default_job_script = JobScript.success(queued=0.2, running=0.5)
        emu.job_script = emu.default_job_script
        yield emu


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fal_emu: FalEmulator) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve")
    config = (
        f'\n[providers.fal]\napi_key = "{FAL_API_KEY}"\n'
        '\n[models.fal-video]\nprovider = "fal"\nmodel = "fal-ai/veo3.1"\noperation = "video"\n'
        f'base_url = "{fal_emu.base_url}"\npoll_interval = 0.1\n'
        '\n[models.house-video]\nprovider = "mock"\nmodel = "mock-video"\noperation = "video"\n'
        "defaults = { duration_seconds = 4 }\n"
        '\n[models.falls-back]\nprovider = "fal"\nmodel = "fal-ai/veo3.1"\noperation = "video"\n'
        f'base_url = "http://127.0.0.1:{_free_port()}"\nfallbacks = ["mock/mock-video"]\n'
        "retry = { max_retries = 0 }\n"
        '\n[models.too-slow]\nprovider = "mock"\nmodel = "mock-video"\noperation = "video"\n'
        "timeout = 0.5\n"
    )
    srv = Server(tmp, config).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.httpd.shutdown()


def _key(server: Server, models: list[str] | None = None) -> str:
    with server.http() as h:
        r = h.post("/v1/keys", json={"name": "t", "models": models or []})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["key"].startswith("tk-") and "key_hash" not in body
        return str(body["key"])


# ---------------------------------------------------------------------------- startup, auth


def test_refuses_open_non_loopback_bind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TARASH_MASTER_KEY"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tarash.tarash_gateway.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(_free_port()),
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert b"refusing to listen on 0.0.0.0" in proc.stderr
    assert b"OPEN" in proc.stderr


def test_auth_no_key_wrong_key_other_keys_job(server: Server) -> None:
    with server.http(key=None) as h:
        r = h.get("/v1/models")
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
    with server.http(key="tk-wrong") as h:
        assert h.get("/v1/models").status_code == 401
    alice, bob = _key(server), _key(server)
    with server.http(alice) as h:
        assert h.post("/v1/keys", json={}).status_code == 403  # not the master key
        job = h.post(
            "/v1/jobs",
            json={"operation": "image", "model": "mock/mock-image", "request": {"prompt": "a"}},
        ).json()
    with server.http(bob) as h:
        for path in (
            f"/v1/jobs/{job['id']}",
            f"/v1/jobs/{job['id']}/events",
            f"/v1/jobs/{job['id']}/content",
        ):
            assert h.get(path).status_code == 404
        assert h.post(f"/v1/jobs/{job['id']}/cancel").status_code == 404
    with pytest.raises(openai.NotFoundError):
        server.client(bob).videos.retrieve(job["id"])
    with server.http(alice) as h:
        assert h.get(f"/v1/jobs/{job['id']}").status_code == 200


def test_key_model_allowlist_and_revoke(server: Server) -> None:
    key = _key(server, models=["mock/mock-image"])
    client = server.client(key)
    ids = [m.id for m in client.models.list()]
    assert ids == ["mock/mock-image"]
    with pytest.raises(openai.PermissionDeniedError):
        client.videos.create(prompt="x", model="mock/mock-video")  # type: ignore[arg-type]
    with server.http() as h:
        kid = next(
            k["id"] for k in h.get("/v1/keys").json()["data"] if k["models"] == ["mock/mock-image"]
        )
        assert h.delete(f"/v1/keys/{kid}").status_code == 200
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_keys_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tarash.tarash_gateway.cli._app import app

    db = f"sqlite:///{tmp_path / 'k.db'}"
    runner = CliRunner()
    made = runner.invoke(
        app, ["keys", "create", "--name", "ci", "--model", "mock/mock-image", "--db", db]
    )
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert created["key"].startswith("tk-") and created["models"] == ["mock/mock-image"]
    listed = json.loads(runner.invoke(app, ["keys", "list", "--db", db]).stdout)
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    assert created["key"] not in (tmp_path / "k.db").read_bytes().decode("latin-1")
    assert runner.invoke(app, ["keys", "revoke", created["id"], "--db", db]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", created["id"], "--db", db]).exit_code == 1


# ---------------------------------------------------------------------------- OpenAI routes


def test_models_lists_aliases_and_provider_ids(server: Server) -> None:
    ids = {m.id for m in server.client().models.list()}
    assert {"fal-video", "house-video", "mock/mock-video", "mock/mock-image"} <= ids


def test_images_generations_b64_and_url(server: Server) -> None:
    client = server.client()
    b64 = client.images.generate(prompt="a red fox", model="mock/mock-image")
    raw = base64.b64decode(b64.data[0].b64_json or "")
    assert raw.startswith(PNG)
    url = client.images.generate(prompt="a red fox", model="mock/mock-image", response_format="url")
    assert url.data[0].url
    fetched = httpx.get(url.data[0].url)  # signed link, no key needed
    assert fetched.status_code == 200 and fetched.content.startswith(PNG)
    assert httpx.get(url.data[0].url.replace("sig=", "sig=x")).status_code == 403


def test_images_edits_multipart(server: Server) -> None:
    client = server.client()
    png = base64.b64decode(
        client.images.generate(prompt="base", model="mock/mock-image").data[0].b64_json or ""
    )
    edited = client.images.edit(
        image=("in.png", png, "image/png"), prompt="make it blue", model="mock/mock-image"
    )
    assert base64.b64decode(edited.data[0].b64_json or "").startswith(PNG)


def test_speech_streams_bytes_and_sse(server: Server) -> None:
    client = server.client()
    with client.audio.speech.with_streaming_response.create(
        model="mock/mock-tts", voice="alloy", input="hello from the gateway", response_format="wav"
    ) as response:
        chunks = list(response.iter_bytes())
        job_id = response.headers["x-tarash-job-id"]
    audio = b"".join(chunks)
    assert audio.startswith(b"RIFF")
    with server.http() as h:
        stored = h.get(f"/v1/jobs/{job_id}/content")  # the audio is kept
        assert stored.status_code == 200 and stored.content == audio
    sse = client.audio.speech.create(
        model="mock/mock-tts",
        voice="alloy",
        input="hello",
        response_format="wav",
        stream_format="sse",
    )
    events = [json.loads(line[6:]) for line in sse.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["type"] == "speech.audio.done"
    joined = b"".join(
        base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta"
    )
    assert joined.startswith(b"RIFF")


def test_videos_create_and_poll_content_list_delete(server: Server) -> None:
    client = server.client()
    video = client.videos.create_and_poll(prompt="a fox", model="mock/mock-video", seconds="4")  # type: ignore[arg-type]
    assert video.status == "completed" and video.progress == 100 and video.seconds == "4"
    content = client.videos.download_content(video.id)
    data = content.read()
    assert data[4:8] == b"ftyp"
    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {MASTER}"}) as h:
        raw = h.get(f"/v1/videos/{video.id}")
        assert raw.json()["status"] == "completed" and "openai-poll-after-ms" in raw.headers
    second = client.videos.create(prompt="a cat", model="house-video")  # type: ignore[arg-type]
    assert second.status == "queued" and second.seconds == "4"  # alias default
    polled = client.videos.poll(second.id)
    assert polled.status == "completed"
    page = client.videos.list(limit=1)
    assert len(page.data) == 1 and page.has_more
    ids = [v.id for v in client.videos.list(limit=100)]
    assert {video.id, second.id} <= set(ids)
    remix = client.videos.remix(video.id, prompt="the same fox, at night")
    assert remix.remixed_from_video_id == video.id and remix.status == "queued"
    assert client.videos.poll(remix.id).status == "completed"
    assert client.videos.download_content(remix.id).read()[4:8] == b"ftyp"
    deleted = client.videos.delete(video.id)
    assert deleted.deleted and deleted.object == "video.deleted"
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


def _decode_image(data: bytes) -> tuple[str, int, int, bytes]:
    """(container format, width, height, RGB bytes) of an image, decoded with PyAV."""
    import io

    import av

    with av.open(io.BytesIO(data)) as c:
        frame = next(c.decode(video=0))
        rgb = frame.reformat(format="rgb24")
        return c.format.name, frame.width, frame.height, bytes(rgb.planes[0])


def test_video_content_variants_thumbnail_and_spritesheet(server: Server) -> None:
    from tarash.tarash_gateway.server.previews import SPRITE_COLUMNS, SPRITE_TILE_WIDTH

    client = server.client()
    video = client.videos.create_and_poll(
        prompt="variants", model="mock/mock-video", seconds="4", size="1280x720"
    )  # type: ignore[arg-type]
    assert video.status == "completed"
    raw = client.videos.with_raw_response.download_content(video.id, variant="thumbnail")
    assert raw.headers["content-type"] == "image/webp"
    thumb = raw.content
    assert thumb[:4] == b"RIFF" and thumb[8:12] == b"WEBP"
    fmt, width, height, _ = _decode_image(thumb)
    mp4 = client.videos.download_content(video.id).read()
    _, video_w, video_h, _ = _decode_image(mp4)  # the first frame of the video itself
    assert (fmt, width, height) == ("webp_pipe", video_w, video_h)
    raw = client.videos.with_raw_response.download_content(video.id, variant="spritesheet")
    assert raw.headers["content-type"] == "image/jpeg"
    sheet = raw.content
    assert sheet[:3] == b"\xff\xd8\xff"
    fmt, width, height, rgb = _decode_image(sheet)
    tile_w = min(SPRITE_TILE_WIDTH, video_w) // 2 * 2
    tile_h = round(video_h * tile_w / video_w) // 2 * 2
    assert fmt == "jpeg_pipe" and width == SPRITE_COLUMNS * tile_w
    assert height == 4 * tile_h  # 16 frames of a 48-frame video, 4 per row
    # the mock's scene moves: the first and the last tile are different pictures
    row = width * 3
    first = b"".join(rgb[y * row : y * row + tile_w * 3] for y in range(tile_h))
    last = b"".join(
        rgb[y * row + (width - tile_w) * 3 : (y + 1) * row] for y in range(height - tile_h, height)
    )
    assert sum(abs(a - b) for a, b in zip(first, last, strict=True)) > len(first)
    again = client.videos.download_content(video.id, variant="spritesheet").read()
    assert again == sheet  # made once, then kept
    assert client.videos.download_content(video.id, variant="video").read() == mp4
    with server.http() as h:
        bad = h.get(f"/v1/videos/{video.id}/content", params={"variant": "poster"})
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "variant"
        assert bad.json()["error"]["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError):
        client.videos.download_content(video.id, variant="poster")  # type: ignore[arg-type]
    other = client.videos.create(prompt="still running", model="mock/mock-video")  # type: ignore[arg-type]
    with pytest.raises(openai.ConflictError):
        client.videos.download_content(other.id, variant="thumbnail")


def test_variants_without_a_decoder_are_not_available(tmp_path: Path) -> None:
    """Without PyAV the server still serves the video, and says why a preview is not there."""
    blocked = tmp_path / "no-av" / "av"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("PyAV is not installed here")\n')
    srv = Server(tmp_path)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(blocked.parent), old) if p)
    try:
        srv.start()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old
    try:
        client = srv.client()
        video = client.videos.create_and_poll(prompt="no decoder", model="mock/mock-video")  # type: ignore[arg-type]
        assert client.videos.download_content(video.id).read()[4:8] == b"ftyp"
        with srv.http() as h:
            r = h.get(f"/v1/videos/{video.id}/content", params={"variant": "spritesheet"})
        assert r.status_code == 404
        error = r.json()["error"]
        assert error["code"] == "variant_not_available" and error["param"] == "variant"
        assert video.id in error["message"] and "tarash-gateway[previews]" in error["message"]
        with pytest.raises(openai.NotFoundError):
            client.videos.download_content(video.id, variant="thumbnail")
    finally:
        srv.stop()


def test_variants_of_a_provider_url_result(server: Server) -> None:
    """A fal result is a URL: the preview is made from the video it points at."""
    client = server.client()
    video = client.videos.create_and_poll(prompt="fal preview", model="fal-video", seconds="8")  # type: ignore[arg-type]
    assert video.status == "completed", video.error
    thumb = client.videos.download_content(video.id, variant="thumbnail").read()
    assert _decode_image(thumb)[:3] == ("webp_pipe", 64, 48)  # the emulator's 64x48 clip
    sheet = client.videos.download_content(video.id, variant="spritesheet").read()
    assert _decode_image(sheet)[0] == "jpeg_pipe"


def _frames(mp4: bytes) -> list[bytes]:
    import io

    import av

    with av.open(io.BytesIO(mp4)) as c:
        return [bytes(f.reformat(format="rgb24").planes[0]) for f in c.decode(video=0)]


def _by_reference(client: openai.OpenAI, path: str, **fields: Any) -> Any:
    """A video given as `{"id": …}`, form-encoded by the SDK itself (`video[id]`). The
    SDK's `videos.edit/extend(video={"id": …})` (openai 3.63.0) stops before sending: its
    file extraction expects a file at `video`; its generic `post` encodes the same params."""
    from openai.types import Video

    return client.post(
        path,
        body=fields,
        files=[],
        options={"headers": {"Content-Type": "multipart/form-data"}},
        cast_to=Video,
    )


def test_video_extensions_and_edits(server: Server) -> None:
    from tarash.tarash_gateway.providers.mock.media import make_mp4

    client = server.client()
    source = make_mp4(160, 96, 2.0, fps=12, seed=5)
    extended = client.videos.extend(
        prompt="and then it keeps rolling",
        seconds="4",
        video=("clip.mp4", source, "video/mp4"),
    )
    assert extended.status == "queued" and extended.seconds == "4"  # source length unknown yet
    done = client.videos.poll(extended.id)
    assert done.status == "completed", done.error
    assert done.seconds == "6"  # OpenAI's `seconds` of an extension: the stitched total
    longer = client.videos.download_content(extended.id).read()
    frames, source_frames = _frames(longer), _frames(source)
    assert len(frames) == len(source_frames) + 4 * 12  # 2 s of source + 4 s more
    assert frames[: len(source_frames)] == source_frames  # made from the source itself

    made = client.videos.create_and_poll(prompt="a ball", model="mock/mock-video", seconds="4")  # type: ignore[arg-type]
    again = _by_reference(
        client, "/videos/extensions", prompt="more", seconds="8", video={"id": made.id}
    )
    assert again.seconds == "12"  # 4 s source + 8 s
    assert client.videos.poll(again.id).seconds == "12"
    made_frames = _frames(client.videos.download_content(made.id).read())
    again_frames = _frames(client.videos.download_content(again.id).read())
    assert again_frames[: len(made_frames)] == made_frames
    assert len(again_frames) == len(made_frames) + 8 * 12

    edited = _by_reference(client, "/videos/edits", prompt="in blue", video={"id": made.id})
    assert edited.model == "mock/mock-video"  # the source's model
    assert client.videos.poll(edited.id).status == "completed"
    edit_frames = _frames(client.videos.download_content(edited.id).read())
    assert len(edit_frames) == len(made_frames) and edit_frames != made_frames
    uploaded = client.videos.edit(prompt="in red", video=("in.mp4", source, "video/mp4"))
    assert client.videos.poll(uploaded.id).status == "completed"
    assert len(_frames(client.videos.download_content(uploaded.id).read())) == len(source_frames)

    with server.http() as h:  # JSON bodies too, and the Idempotency-Key
        body = {"prompt": "once", "seconds": "4", "video": {"id": made.id}}
        first = h.post("/v1/videos/extensions", json=body, headers={"Idempotency-Key": "x-1"})
        second = h.post("/v1/videos/extensions", json=body, headers={"Idempotency-Key": "x-1"})
        assert first.status_code == 200, first.text
        assert first.json()["id"] == second.json()["id"]
        other = h.post(
            "/v1/videos/extensions",
            json={**body, "prompt": "twice"},
            headers={"Idempotency-Key": "x-1"},
        )
        assert other.status_code == 422
        client.videos.poll(first.json()["id"])
        assert h.get(f"/v1/jobs/{first.json()['id']}").json()["submits"] == 1
        missing = h.post("/v1/videos/extensions", json={"prompt": "p", "video": {"id": made.id}})
        assert missing.status_code == 400 and missing.json()["error"]["param"] == "seconds"

    with pytest.raises(openai.BadRequestError) as info:  # fal-video is not declared to extend
        _by_reference(
            client,
            "/videos/extensions",
            prompt="p",
            seconds="4",
            video={"id": made.id},
            model="fal-video",
        )
    assert info.value.code == "unsupported_video_operation"
    running = client.videos.create(prompt="not yet", model="mock/mock-video")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        _by_reference(client, "/videos/edits", prompt="p", video={"id": running.id})
    with pytest.raises(openai.NotFoundError):  # another key's video does not exist for it
        _by_reference(
            server.client(_key(server)), "/videos/edits", prompt="p", video={"id": made.id}
        )
    bad = client.videos.edit(prompt="p", video=("x.mp4", b"not a video", "video/mp4"))
    failed = client.videos.poll(bad.id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "invalid_request"


def test_video_input_reference_upload_and_status_values(server: Server) -> None:
    client = server.client()
    created = client.videos.create(
        prompt="animate",
        model="mock/mock-video",
        input_reference=("ref.png", PNG + b"\0" * 64, "image/png"),  # type: ignore[arg-type]
    )
    seen = {created.status}
    while True:
        v = client.videos.retrieve(created.id)
        seen.add(v.status)
        assert v.status in ("queued", "in_progress", "completed", "failed")
        if v.status in ("completed", "failed"):
            break
        time.sleep(0.1)
    assert "completed" in seen


# ---------------------------------------------------------------------------- own routes


def test_jobs_route_cancel_upstream_and_events_resume(server: Server) -> None:
    with server.http() as h:
        job = h.post(
            "/v1/jobs",
            json={
                "operation": "video",
                "model": "mock/mock-video",
                "request": {"prompt": "long", "duration_seconds": 4},
            },
        ).json()
        assert job["state"] == "queued"
        deadline = time.monotonic() + 10
        while h.get(f"/v1/jobs/{job['id']}").json()["state"] != "in_progress":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cancelled = h.post(f"/v1/jobs/{job['id']}/cancel").json()
        assert cancelled["cancel_requested"]
        while (state := h.get(f"/v1/jobs/{job['id']}").json()["state"]) not in (
            "cancelled",
            "completed",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state == "cancelled"
        events = _sse(h, f"/v1/jobs/{job['id']}/events")
        types = [e["event"] for e in events]
        assert types[0] == "job.queued" and "job.accepted" in types and types[-1] == "job.cancelled"
        resumed = _sse(h, f"/v1/jobs/{job['id']}/events", last=events[1]["id"])
        assert [e["id"] for e in resumed] == [e["id"] for e in events[2:]]


def _sse(h: httpx.Client, path: str, last: str | None = None) -> list[dict[str, str]]:
    headers = {"Last-Event-ID": last} if last else {}
    out: list[dict[str, str]] = []
    with h.stream("GET", path, headers=headers, timeout=20) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        current: dict[str, str] = {}
        for line in r.iter_lines():
            if not line:
                if current:
                    out.append(current)
                current = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(": ")
                current[k] = v
    return out


def test_events_stream_live_progress(server: Server) -> None:
    with server.http() as h:
        job = h.post(
            "/v1/jobs",
            json={"operation": "video", "model": "mock/mock-video", "request": {"prompt": "p"}},
        ).json()
        events = _sse(h, f"/v1/jobs/{job['id']}/events")  # opened before it finished
    types = [e["event"] for e in events]
    assert "job.progress" in types and types[-1] == "job.completed"
    seqs = [int(e["id"]) for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_idempotency_key(server: Server) -> None:
    body = {"operation": "video", "model": "mock/mock-video", "request": {"prompt": "once"}}
    with server.http() as h:
        first = h.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
        again = h.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        other = h.post(
            "/v1/jobs",
            json={**body, "request": {"prompt": "twice"}},
            headers={"Idempotency-Key": "k-1"},
        )
        assert other.status_code == 422
    client = server.client()
    a = client.videos.create(
        prompt="v", model="mock/mock-video", extra_headers={"Idempotency-Key": "v-1"}
    )  # type: ignore[arg-type]
    b = client.videos.create(
        prompt="v", model="mock/mock-video", extra_headers={"Idempotency-Key": "v-1"}
    )  # type: ignore[arg-type]
    assert a.id == b.id
    done = client.videos.poll(a.id)
    assert done.status == "completed"
    with server.http() as h:
        assert h.get(f"/v1/jobs/{a.id}").json()["submits"] == 1


def test_idempotency_on_images_speech_and_webhook_endpoints(server: Server) -> None:
    client = server.client()
    raw = client.images.with_raw_response.generate
    first = raw(prompt="same", model="mock/mock-image", extra_headers={"Idempotency-Key": "i-1"})
    again = raw(prompt="same", model="mock/mock-image", extra_headers={"Idempotency-Key": "i-1"})
    job_id = first.headers["x-tarash-job-id"]
    assert again.headers["x-tarash-job-id"] == job_id
    assert first.parse().data[0].b64_json == again.parse().data[0].b64_json
    with pytest.raises(openai.UnprocessableEntityError):
        client.images.generate(
            prompt="other", model="mock/mock-image", extra_headers={"Idempotency-Key": "i-1"}
        )
    speech = [
        client.audio.speech.create(
            model="mock/mock-tts",
            voice="a",
            input="once",
            response_format="wav",
            extra_headers={"Idempotency-Key": "s-1"},
        ).read()
        for _ in range(2)
    ]
    assert speech[0] == speech[1] and speech[0].startswith(b"RIFF")
    with server.http() as h:
        assert h.get(f"/v1/jobs/{job_id}").json()["submits"] == 1
        body = {"url": "http://127.0.0.1:9/hook", "event_types": ["video.completed"]}
        a = h.post("/v1/webhook_endpoints", json=body, headers={"Idempotency-Key": "w-1"}).json()
        b = h.post("/v1/webhook_endpoints", json=body, headers={"Idempotency-Key": "w-1"}).json()
        assert a["id"] == b["id"] and a["signing_secret"] == b["signing_secret"]
        assert (
            len([e for e in h.get("/v1/webhook_endpoints").json()["data"] if e["id"] == a["id"]])
            == 1
        )
        h.delete(f"/v1/webhook_endpoints/{a['id']}")


def test_budget_spent_is_refused(server: Server) -> None:
    import sqlalchemy as sa

    with server.http() as h:
        created = h.post("/v1/keys", json={"name": "b", "budget_usd": 1.0}).json()
    engine = sa.create_engine(server.db)
    with engine.begin() as conn:  # as if its jobs had cost $1 (the mock reports no cost)
        conn.execute(
            sa.text("UPDATE tarash_keys SET spent_usd = 1.0 WHERE id = :i"), {"i": created["id"]}
        )
    engine.dispose()
    with pytest.raises(openai.APIStatusError) as info:
        server.client(created["key"]).images.generate(prompt="p", model="mock/mock-image")
    assert info.value.status_code == 402


def test_idempotency_conflict_while_accepting(server: Server) -> None:
    big = b"\0" * (8 * 1024 * 1024)

    def slow_body() -> Iterator[bytes]:
        yield b'--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n'
        yield b'--B\r\nContent-Disposition: form-data; name="input_reference"; filename="a.png"\r\n'
        yield b"Content-Type: image/png\r\n\r\n" + PNG
        time.sleep(1.0)
        yield big + b"\r\n--B--\r\n"

    headers = {
        "Authorization": f"Bearer {MASTER}",
        "Idempotency-Key": "slow-1",
        "Content-Type": "multipart/form-data; boundary=B",
    }
    result: dict[str, int] = {}

    def first() -> None:
        result["first"] = httpx.post(
            f"{server.base}/v1/videos", content=slow_body(), headers=headers, timeout=30
        ).status_code

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.5)
    second = httpx.post(
        f"{server.base}/v1/videos", content=b"--B--\r\n", headers=headers, timeout=30
    )
    t.join()
    assert second.status_code == 409
    assert result["first"] == 200


LOST_JOB = "video_0123456789abcdef01234567"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No master key (open, loopback), private URLs refused; its database starts with a
    row that a kill -9 between a submit's send and its answer leaves behind."""
    import sqlalchemy as sa

    from tarash.tarash_gateway.server.db import Database

    srv = Server(tmp_path_factory.mktemp("open"), master=None)
    srv.cfg.write_text(
        srv.cfg.read_text().replace("allow_private_urls = true", "allow_private_urls = false")
    )
    database = Database(srv.db)
    database.migrate()
    now = time.time()
    database.run_sync(
        lambda c: c.execute(
            sa.text(
                "INSERT INTO tarash_jobs (id, key_id, operation, model_alias, provider, request, "
                "options, chain_index, state, intent_id, attempts, submits, progress, next_poll_at, "
                "lease_owner, lease_expires_at, cancel_requested, created_at, updated_at, deleted) "
                "VALUES (:i, 'open', 'video', 'mock/mock-video', 'mock', '{\"prompt\": \"x\"}', "
                "'{}', 0, 'submitting', 'i-1', 1, 1, 0, :t, 'dead', 9e12, 0, :t, :t, 0)"
            ),
            {"i": LOST_JOB, "t": now},
        )
    )
    database.close()
    srv.start()
    yield srv
    srv.stop()


def test_refuses_local_paths_and_private_urls(open_server: Server, tmp_path: Path) -> None:
    with open_server.http(key=None) as h:
        local = tmp_path / "secret.png"
        local.write_bytes(PNG)
        for ref in (
            str(local),
            f"file://{local}",
            "http://127.0.0.1:1/x.png",
            "http://169.254.169.254/latest",
            "http://localhost/x.png",
        ):
            r = h.post(
                "/v1/jobs",
                json={
                    "operation": "image",
                    "model": "mock/mock-image",
                    "request": {
                        "prompt": "p",
                        "image_list": [{"image": ref, "type": "reference"}],
                    },
                },
            )
            # Refused before anything is stored or sent: by the server's own check (422) or,
            # for local files, already by the library's server mode while parsing (400).
            assert r.status_code in (400, 422), (ref, r.text)
            code = r.json()["error"]["code"]
            assert code == "unsafe_media_reference" or (
                code == "invalid_request" and "local" in r.text.lower()
            ), r.text
        system = h.post(
            "/v1/jobs",
            json={
                "operation": "image",
                "model": "mock/mock-image",
                "request": {
                    "prompt": "p",
                    "image_list": [{"image": "/etc/passwd", "type": "reference"}],
                },
            },
        )
        assert system.status_code == 400  # the library's own guard for system paths
        ok = h.post(
            "/v1/jobs",
            json={"operation": "image", "model": "mock/mock-image", "request": {"prompt": "p"}},
        )
        assert ok.status_code == 201  # open mode on loopback works without a key


def test_voice_changer(server: Server) -> None:
    client = server.client()
    wav = client.audio.speech.create(
        model="mock/mock-tts", voice="alloy", input="hi", response_format="wav"
    ).read()
    with server.http() as h:
        r = h.post(
            "/v1/audio/voice-changer",
            files={"audio": ("in.wav", wav, "audio/wav")},
            data={"voice_id": "v1", "model": "mock/mock-sts"},
        )
        assert r.status_code == 200, r.text
        assert r.content.startswith(b"RIFF")


# ---------------------------------------------------------------------------- webhooks, metrics


def test_webhooks_callback_and_endpoint_signed_and_retried(
    server: Server, receiver: Receiver
) -> None:
    client = server.client()
    endpoint = client.webhooks.create(url=receiver.url, event_types=["video.completed"], name="t")  # type: ignore[attr-defined]
    secret = endpoint.signing_secret
    receiver.fail_first = 1  # the first delivery fails: it must be retried
    with server.http() as h:
        cb_secret = h.get("/v1/callback_secret").json()["secret"]
        job = h.post(
            "/v1/jobs",
            json={
                "operation": "video",
                "model": "mock/mock-video",
                "request": {"prompt": "hook"},
                "callback_url": receiver.url,
            },
        ).json()
    receiver.wait(3, timeout=15)  # 1 failed + its retry + the other target
    verified = set()
    for headers, body in receiver.calls:
        payload = json.loads(body)
        assert payload["data"]["id"] == job["id"] and payload["type"] == "video.completed"
        for name, sec in (("endpoint", secret), ("callback", cb_secret)):
            try:
                Webhook(sec).verify(body, headers)
                verified.add(name)
            except Exception:
                pass
    assert verified == {"endpoint", "callback"}
    # The official client verifies the signature too.
    unwrapped = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:1", webhook_secret=secret)
    ok = [c for c in receiver.calls if _verifies(secret, c)]
    event = unwrapped.webhooks.unwrap(ok[0][1].decode(), ok[0][0])
    assert event.type == "video.completed"
    with server.http() as h:
        deliveries = h.get("/v1/webhook_deliveries", params={"job_id": job["id"]}).json()["data"]
        assert {d["state"] for d in deliveries} == {"delivered"}
        assert max(d["attempts"] for d in deliveries) == 2
    client.webhooks.delete(endpoint.id)  # type: ignore[attr-defined]


def _verifies(secret: str, call: tuple[dict[str, str], bytes]) -> bool:
    try:
        Webhook(secret).verify(call[1], call[0])
        return True
    except Exception:
        return False


def test_fallback_to_the_next_config_on_a_failed_submit(server: Server) -> None:
    client = server.client()
    video = client.videos.create_and_poll(prompt="fallback", model="falls-back")  # type: ignore[arg-type]
    assert video.status == "completed"
    with server.http() as h:
        job = h.get(f"/v1/jobs/{video.id}").json()
        events = [e["event"] for e in _sse(h, f"/v1/jobs/{video.id}/events")]
        metrics = h.get("/metrics").text
    assert job["provider"] == "mock" and job["chain_index"] == 1 and job["submits"] == 2
    assert "job.fallback" in events
    assert 'tarash_fallbacks_total{to_provider="mock"}' in metrics
    assert 'tarash_upstream_errors_total{provider="fal"' in metrics


def test_timeout_cancels_upstream_and_fails(server: Server) -> None:
    video = server.client().videos.create_and_poll(prompt="slow", model="too-slow")  # type: ignore[arg-type]
    assert video.status == "failed" and video.error is not None and video.error.code == "timeout"
    with server.http() as h:
        job = h.get(f"/v1/jobs/{video.id}").json()
    assert job["state"] == "failed" and job["error"]["cancelled_upstream"] is True


def test_healthz_and_metrics(server: Server) -> None:
    with server.http() as h:
        assert h.get("/healthz").json()["status"] == "ok"
        text = h.get("/metrics").text
    assert 'tarash_jobs{provider="mock",state="completed"}' in text
    assert "tarash_job_steps_total" in text and "tarash_job_seconds_bucket" in text
    assert "tarash_upstream_errors" in text and "tarash_fallbacks" in text


# ---------------------------------------------------------------------------- fal, durability


def test_fal_job_through_the_emulator(server: Server, fal_emu: FalEmulator) -> None:
    before = sum(1 for r in fal_emu.requests if r.method == "POST" and r.path == "/fal-ai/veo3.1")
    client = server.client()
    video = client.videos.create_and_poll(prompt="a fox on fal", model="fal-video", seconds="8")  # type: ignore[arg-type]
    assert video.status == "completed", video.error
    data = client.videos.download_content(video.id).read()  # redirect to the emulator's CDN
    assert len(data) > 0
    with server.http() as h:
        job = h.get(f"/v1/jobs/{video.id}").json()
    assert job["provider"] == "fal" and job["provider_request_id"] and job["intent_id"]
    after = sum(1 for r in fal_emu.requests if r.method == "POST" and r.path == "/fal-ai/veo3.1")
    assert after - before == 1


def test_kill9_and_restart_completes_every_job(tmp_path: Path) -> None:
    srv = Server(tmp_path).start()
    try:
        client = srv.client()
        ids = [
            client.videos.create(prompt=f"job {i}", model="mock/mock-video").id for i in range(12)
        ]  # type: ignore[arg-type]
        with srv.http() as h:  # kill while every job is accepted upstream and being polled
            deadline = time.monotonic() + 10
            while any(
                h.get(f"/v1/jobs/{i}").json()["state"] in ("queued", "submitting") for i in ids
            ):
                assert time.monotonic() < deadline
                time.sleep(0.02)
        racing = [
            client.videos.create(prompt=f"race {i}", model="mock/mock-video").id for i in range(6)
        ]  # type: ignore[arg-type]
        srv.kill9()  # the racing ones: queued, submitting or accepted
        srv.start()
        client = srv.client()
        for vid in ids:
            done = client.videos.poll(vid)
            assert done.status == "completed", (vid, done.error)
            assert client.videos.download_content(vid).read()[4:8] == b"ftyp"
        with srv.http() as h:
            for vid in [*ids, *racing]:
                client.videos.poll(vid)
                job = h.get(f"/v1/jobs/{vid}").json()
                assert job["submits"] == 1, job  # never resubmitted
                # a submit cut by the kill is `unknown`, every other one completes
                assert job["state"] in ("completed", "unknown"), job
            assert all(h.get(f"/v1/jobs/{i}").json()["state"] == "completed" for i in ids)
    finally:
        srv.stop()


def test_unknown_submit_outcome_is_never_resent(open_server: Server) -> None:
    """A row left in `submitting` by a dead process becomes `unknown`, not resubmitted."""
    with open_server.http(key=None) as h:
        job = h.get(f"/v1/jobs/{LOST_JOB}").json()
    assert job["state"] == "unknown" and job["error"]["code"] == "submit_outcome_unknown"
    assert job["submits"] == 1 and job["intent_id"] == "i-1"
    assert open_server.client("unused").videos.retrieve(LOST_JOB).status == "failed"
