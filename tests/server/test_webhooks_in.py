"""Provider webhooks in: fal (ED25519 against a JWKS URL) and Replicate (Standard Webhooks).

fal deliveries are signed here with a local key pair whose public half a local JWKS
server publishes; Replicate deliveries are signed with the `standardwebhooks` library
(an implementation independent of ours).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from standardwebhooks.webhooks import Webhook

from tarash.tarash_gateway.server.webhooks_in import (
    FalKeys,
    WebhookRejected,
    parse_jwks,
    verify_fal,
    verify_replicate,
)
from tests.emulators.fal import FAL_API_KEY, FalEmulator
from tests.emulators.harness import JobScript
from tests.server.test_serve import Server

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

REPLICATE_SECRET = "whsec_" + base64.b64encode(b"replicate-test-secret-32-bytes!!").decode()


class Jwks:
    """A local JWKS endpoint publishing one (replaceable) ED25519 public key."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps(outer.document()).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def document(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1"}]}

    def sign(
        self, request_id: str, body: bytes, ts: int | None = None, user: str = "u-1"
    ) -> dict[str, str]:
        stamp = str(int(time.time()) if ts is None else ts)
        message = "\n".join([request_id, user, stamp, hashlib.sha256(body).hexdigest()])
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": self.private.sign(message.encode()).hex(),
            "content-type": "application/json",
        }


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    j = Jwks()
    yield j
    j.httpd.shutdown()


def _lower(h: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in h.items()}


def test_fal_verification_rules(jwks: Jwks) -> None:
    keys = FalKeys(jwks.url)
    body = b'{"request_id":"r-1","status":"OK"}'

    async def check() -> None:
        assert await verify_fal(_lower(jwks.sign("r-1", body)), body, keys) == "r-1"
        with pytest.raises(WebhookRejected) as bad:  # body changed after signing
            await verify_fal(_lower(jwks.sign("r-1", body)), body + b" ", keys)
        assert bad.value.status == 401
        with pytest.raises(WebhookRejected) as old:  # 301 s old
            await verify_fal(_lower(jwks.sign("r-1", body, int(time.time()) - 301)), body, keys)
        assert "300 s" in str(old.value)
        with pytest.raises(WebhookRejected) as future:
            await verify_fal(_lower(jwks.sign("r-1", body, int(time.time()) + 301)), body, keys)
        assert future.value.status == 401
        headers = _lower(jwks.sign("r-1", body))
        headers["x-fal-webhook-request-id"] = "r-2"  # the id is part of the signed message
        with pytest.raises(WebhookRejected):
            await verify_fal(headers, body, keys)
        with pytest.raises(WebhookRejected) as missing:
            await verify_fal({}, body, keys)
        assert missing.value.status == 400

    asyncio.run(check())
    assert jwks.fetches >= 1


def test_fal_key_rotation_refetches_once(jwks: Jwks) -> None:
    keys = FalKeys(jwks.url)
    body = b"{}"

    async def check() -> None:
        await verify_fal(_lower(jwks.sign("r", body)), body, keys)
        jwks.private = Ed25519PrivateKey.generate()  # fal rotated its key
        keys._fetched -= 60  # past the refresh rate limit
        assert await verify_fal(_lower(jwks.sign("r", body)), body, keys) == "r"

    asyncio.run(check())
    assert jwks.fetches == 2


def test_parse_jwks_ignores_other_key_types() -> None:
    assert parse_jwks({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}, {"kty": "OKP"}]}) == []
    assert parse_jwks("nonsense") == []


def test_replicate_standard_webhooks() -> None:
    body = json.dumps({"id": "p-1", "status": "succeeded"}).encode()
    stamp = datetime.now(UTC)
    signature = Webhook(REPLICATE_SECRET).sign("msg_1", stamp, body.decode())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": "v1,bm90LXRoaXM= " + signature,  # any listed signature may match
    }
    assert verify_replicate(headers, body, REPLICATE_SECRET) == "msg_1"
    with pytest.raises(WebhookRejected):
        verify_replicate(headers, body + b"x", REPLICATE_SECRET)
    with pytest.raises(WebhookRejected):
        verify_replicate({**headers, "webhook-id": "msg_2"}, body, REPLICATE_SECRET)
    with pytest.raises(WebhookRejected):
        verify_replicate(headers, body, REPLICATE_SECRET, now=stamp.timestamp() + 301)


@pytest.fixture
def fal_emu() -> Iterator[FalEmulator]:
    with FalEmulator(api_key=FAL_API_KEY) as emu:
        emu.default_job_script = JobScript.success(queued=0.1, running=0.3)
        emu.job_script = emu.default_job_script
        yield emu


def test_fal_webhook_marks_the_job_due(tmp_path: Path, jwks: Jwks, fal_emu: FalEmulator) -> None:
    """Polls every 20 s; the signed webhook brings the result in well under that."""
    srv = Server(tmp_path)
    srv.cfg.write_text(
        srv.cfg.read_text()
        + f'public_url = "{srv.base}"\nfal_jwks_url = "{jwks.url}"\n'
        + f'replicate_webhook_secret = "{REPLICATE_SECRET}"\npoll_max = 30\n'
        + f'\n[providers.fal]\napi_key = "{FAL_API_KEY}"\n'
        + '\n[models.fal-video]\nprovider = "fal"\nmodel = "fal-ai/veo3.1"\noperation = "video"\n'
        + f'base_url = "{fal_emu.base_url}"\npoll_interval = 20\n'
    )
    srv.start()
    try:
        with srv.http() as h:
            job = h.post(
                "/v1/jobs",
                json={"operation": "video", "model": "fal-video", "request": {"prompt": "hook"}},
            ).json()
            job_id = job["id"]
            deadline = time.monotonic() + 10
            while (body := h.get(f"/v1/jobs/{job_id}").json())["state"] != "in_progress":
                assert time.monotonic() < deadline, body
                time.sleep(0.05)
            request_id = body["provider_request_id"]
            submit = [r for r in fal_emu.requests if r.method == "POST" and "veo3.1" in r.path]
            assert submit[-1].query["fal_webhook"] == (
                f"{srv.base}/v1/provider-webhooks/fal/{job_id}"
            )
            time.sleep(0.8)  # the emulator's job is done; our next poll is ~20 s away
            payload = json.dumps({"request_id": request_id, "status": "OK"}).encode()
            url = f"/v1/provider-webhooks/fal/{job_id}"
            forged = jwks.sign(request_id, payload)
            forged["X-Fal-Webhook-Signature"] = "00" * 64
            assert httpx.post(srv.base + url, content=payload, headers=forged).status_code == 401
            assert h.get(f"/v1/jobs/{job_id}").json()["state"] == "in_progress"
            other = jwks.sign("someone-else", payload)  # valid, but not this job's request
            r = httpx.post(srv.base + url, content=payload, headers=other)
            assert r.json()["outcome"] == "not_this_job"
            started = time.monotonic()
            r = httpx.post(srv.base + url, content=payload, headers=jwks.sign(request_id, payload))
            assert r.status_code == 200 and r.json()["outcome"] == "due", r.text
            while (body := h.get(f"/v1/jobs/{job_id}").json())["state"] != "completed":
                assert time.monotonic() - started < 8, body
                time.sleep(0.05)
            again = httpx.post(
                srv.base + url, content=payload, headers=jwks.sign(request_id, payload)
            )
            assert again.json()["outcome"] == "duplicate"  # fal retried the delivery
            events = h.get(f"/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"})
            assert events.text.count("job.provider_webhook") == 1
            # Replicate: a verified delivery for a job that is not a Replicate job.
            rbody = json.dumps({"id": "p-1"}).encode()
            sig = Webhook(REPLICATE_SECRET).sign("msg_9", datetime.now(UTC), rbody.decode())
            rh = {
                "webhook-id": "msg_9",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": sig,
            }
            r = httpx.post(
                f"{srv.base}/v1/provider-webhooks/replicate/{job_id}", content=rbody, headers=rh
            )
            assert r.status_code == 200 and r.json()["outcome"] == "not_this_job"
            rh["webhook-signature"] = "v1,AAAA"
            r = httpx.post(
                f"{srv.base}/v1/provider-webhooks/replicate/{job_id}", content=rbody, headers=rh
            )
            assert r.status_code == 401
    finally:
        srv.stop()


def test_submit_asks_replicate_and_fal_for_the_webhook(fal_emu: FalEmulator) -> None:
    """The hint reaches each provider's own submit field; without it nothing is sent."""
    from tarash.tarash_gateway import submit_job_async
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
    from tarash.tarash_gateway.webhook_hint import provider_webhook_url
    from tests.emulators.replicate import REPLICATE_API_KEY, ReplicateEmulator

    request = VideoGenerationRequest(prompt="hinted")
    hook = "https://gw.example.com/v1/provider-webhooks/replicate/vid_1"

    async def submit(config: VideoGenerationConfig, url: str | None) -> None:
        token = provider_webhook_url.set(url)
        try:
            await submit_job_async(config, request)
        finally:
            provider_webhook_url.reset(token)

    with ReplicateEmulator(api_key=REPLICATE_API_KEY) as rep:
        config = VideoGenerationConfig(
            provider="replicate",
            model="kwaivgi/kling-v2.6",
            api_key=REPLICATE_API_KEY,
            base_url=rep.base_url,
        )
        asyncio.run(submit(config, hook))
        asyncio.run(submit(config, None))
        bodies = [json.loads(r.body) for r in rep.requests if r.path.endswith("/predictions")]
    assert bodies[0]["webhook"] == hook and bodies[0]["webhook_events_filter"] == ["completed"]
    assert "webhook" not in bodies[1] and "webhook_events_filter" not in bodies[1]

    fal_config = VideoGenerationConfig(
        provider="fal", model="fal-ai/veo3.1", api_key=FAL_API_KEY, base_url=fal_emu.base_url
    )
    asyncio.run(submit(fal_config, hook.replace("replicate", "fal")))
    asyncio.run(submit(fal_config, None))
    posts = [r for r in fal_emu.requests if r.method == "POST" and r.path == "/fal-ai/veo3.1"]
    assert posts[-2].query["fal_webhook"] == hook.replace("replicate", "fal")
    assert "fal_webhook" not in posts[-1].query
