"""Tests of the shared emulator harness, driven through the example "acme" emulator."""

from __future__ import annotations

import asyncio
import json
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.emulators.example import ACME_API_KEY, AcmeEmulator
from tests.emulators.harness import (
    Auth,
    Emulator,
    FaultKind,
    JobScript,
    JobState,
    RecordedRequest,
    ScriptedJob,
    emulator_fixture,
    route,
)

pytestmark = pytest.mark.timeout(60)

AUTH = {"Authorization": f"Bearer {ACME_API_KEY}"}
ROOT = Path(__file__).resolve().parents[2]

acme = emulator_fixture(AcmeEmulator)  # fresh server per test
shared_acme = emulator_fixture(AcmeEmulator, scope="module")  # one server, reset per test


def client(emu: Emulator, timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=timeout)


def aclient(emu: Emulator, timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=emu.base_url, headers=AUTH, timeout=timeout)


def poll_until_done(c: httpx.Client, job_id: str, interval: float = 0.01) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = c.get(f"/v1/jobs/{job_id}").json()
        seen.append(body)
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return seen
        time.sleep(interval)
    raise AssertionError(f"job never finished: {seen[-3:]}")


# -- lifecycle -------------------------------------------------------------------------


def test_start_binds_loopback_free_port_and_stop_joins_thread() -> None:
    emu = AcmeEmulator()
    url = emu.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        assert emu.port > 0
        assert emu.running
        assert httpx.get(f"{url}/__health__", timeout=5).json() == {"ok": True, "emulator": "acme"}
    finally:
        emu.stop()
    assert not emu.running
    assert not [t for t in threading.enumerate() if t.name.startswith("emulator-acme")]
    with pytest.raises(RuntimeError):
        _ = emu.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/__health__", timeout=2)
    # Restartable, and a context manager.
    with emu:
        assert httpx.get(emu.url("/__health__"), timeout=5).status_code == 200
    assert not emu.running


def test_two_emulators_at_once_on_different_ports() -> None:
    with AcmeEmulator() as a, AcmeEmulator(api_key="other-key") as b:
        assert a.port != b.port
        ra = httpx.post(f"{a.base_url}/v1/jobs", json={"prompt": "a"}, headers=AUTH, timeout=5)
        rb = httpx.post(
            f"{b.base_url}/v1/jobs",
            json={"prompt": "b"},
            headers={"Authorization": "Bearer other-key"},
            timeout=5,
        )
        assert (ra.status_code, rb.status_code) == (201, 201)
        assert [r.json for r in a.requests] == [{"prompt": "a"}]
        assert [r.json for r in b.requests] == [{"prompt": "b"}]
        assert set(a.jobs) == {ra.json()["id"]}


def test_run_main_serves_in_its_own_process() -> None:
    cmd = [sys.executable, "-m", "tests.emulators.example", "--port", "0", "--api-key", "k"]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            assert ready, "emulator process did not print its URL"
            line = proc.stdout.readline().strip()
            assert line.startswith("http://127.0.0.1:")
            r = httpx.post(
                f"{line}/v1/jobs", json={"prompt": "x"}, headers={"Authorization": "Bearer k"}
            )
            assert r.status_code == 201
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0


# -- auth ------------------------------------------------------------------------------


def test_auth_rejects_missing_and_wrong_key_before_handler(acme: AcmeEmulator) -> None:
    url = f"{acme.base_url}/v1/jobs"
    missing = httpx.post(url, json={"prompt": "x"}, timeout=5)
    wrong = httpx.post(url, json={"prompt": "x"}, headers={"Authorization": "Bearer no"})
    scheme = httpx.post(url, json={"prompt": "x"}, headers={"Authorization": f"Key {ACME_API_KEY}"})
    for r in (missing, wrong, scheme):
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "authentication_error"
    assert acme.jobs == {}  # handler never ran
    assert [r.status for r in acme.requests] == [401, 401, 401]
    ok = httpx.post(url, json={"prompt": "x"}, headers=AUTH, timeout=5)
    assert ok.status_code == 201
    assert len(acme.jobs) == 1


class PingEmulator(Emulator):
    name = "ping"
    api_key = "sekret"

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    @route("GET", "/ping")
    async def ping(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"pong": True})


@pytest.mark.parametrize(
    ("auth", "headers", "params"),
    [
        (Auth.key(), {"Authorization": "Key sekret"}, {}),
        (Auth.token(), {"Authorization": "token sekret"}, {}),
        (Auth.with_header("xi-api-key"), {"XI-API-KEY": "sekret"}, {}),
        (Auth.with_header("api-key"), {"api-key": "sekret"}, {}),
        (Auth.with_header("x-goog-api-key"), {"x-goog-api-key": "sekret"}, {}),
        (Auth.query_param("key"), {}, {"key": "sekret"}),
    ],
)
def test_auth_schemes(auth: Auth, headers: dict[str, str], params: dict[str, str]) -> None:
    class Custom(PingEmulator):
        pass

    Custom.auth = (auth,)
    with Custom() as emu:
        ok = httpx.get(f"{emu.base_url}/ping", headers=headers, params=params, timeout=5)
        bad = httpx.get(f"{emu.base_url}/ping", headers={"Authorization": "Bearer sekret"})
        assert ok.json() == {"pong": True}
        assert bad.status_code == 401
        assert bad.json() == {"detail": "Invalid or missing API key"}
        assert "sekret" not in repr(emu.requests)


def test_several_auth_specs_and_no_auth() -> None:
    class Multi(PingEmulator):
        auth = (Auth.with_header("x-goog-api-key"), Auth.query_param("key"))

    with Multi() as emu, PingEmulator(api_key=None) as open_emu:
        assert httpx.get(f"{emu.base_url}/ping?key=sekret").status_code == 200
        hdr = {"x-goog-api-key": "sekret"}
        assert httpx.get(f"{emu.base_url}/ping", headers=hdr).status_code == 200
        assert httpx.get(f"{emu.base_url}/ping?key=nope").status_code == 401
        assert "sekret" not in repr(emu.requests)
        assert emu.requests[0].query == {"key": "sekret"}  # attributes keep the value
        assert httpx.get(f"{open_emu.base_url}/ping").status_code == 200


# -- recording -------------------------------------------------------------------------


def test_records_json_query_and_headers(acme: AcmeEmulator) -> None:
    with client(acme) as c:
        c.post("/v1/jobs?trace=1&tag=a&tag=b", json={"prompt": "cat"}, headers={"X-Req": "7"})
    rec = acme.last("/v1/jobs", "POST")
    assert rec.method == "POST"
    assert rec.path == "/v1/jobs"
    assert rec.query == {"trace": "1", "tag": "b"}
    assert rec.query_lists["tag"] == ["a", "b"]
    assert rec.is_json
    assert rec.json == {"prompt": "cat"}
    assert json.loads(rec.body) == {"prompt": "cat"}
    assert rec.headers["x-req"] == "7"
    assert rec.header("AUTHORIZATION") == f"Bearer {ACME_API_KEY}"
    assert rec.status == 201
    assert rec.fault is None
    text = repr(rec)
    assert ACME_API_KEY not in text
    assert "Bearer <redacted>" in text


def test_records_multipart_files_and_fields(acme: AcmeEmulator) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    with client(acme) as c:
        r = c.post(
            "/v1/upload",
            data={"purpose": "vision", "note": "héllo"},
            files={"file": ("cat.png", png, "image/png")},
        )
        assert r.status_code == 200
        body = r.json()
        assert body["bytes"] == len(png)
        assert c.get(body["url"]).content == png  # served back by add_file
    rec = acme.last("/v1/upload")
    assert rec.form == {"purpose": "vision", "note": "héllo"}
    f = rec.files["file"]
    assert (f.filename, f.content_type, f.data) == ("cat.png", "image/png", png)
    assert "cat.png" in repr(rec)


def test_records_urlencoded_form_and_unknown_routes(acme: AcmeEmulator) -> None:
    with client(acme) as c:
        r = c.post("/v1/jobs", data={"prompt": "x", "n": "2"})
        assert r.status_code == 422  # acme wants JSON
        assert c.get("/v1/nowhere").status_code == 404
    rec = acme.last(method="POST")
    assert rec.form == {"prompt": "x", "n": "2"}
    assert not rec.is_json
    assert acme.last("/v1/nowhere").status == 404
    assert acme.count() == 2
    assert acme.find(status=422) == [rec]
    with pytest.raises(LookupError):
        acme.last("/v1/never")


def test_wait_for_requests(acme: AcmeEmulator) -> None:
    def later() -> None:
        time.sleep(0.1)
        httpx.get(f"{acme.base_url}/v1/jobs/x", headers=AUTH, timeout=5)

    t = threading.Thread(target=later)
    t.start()
    found = acme.wait_for("/v1/jobs/", "GET", timeout=5)
    t.join(5)
    assert found[0].path == "/v1/jobs/x"
    with pytest.raises(TimeoutError):
        acme.wait_for("/never", timeout=0.05)


# -- faults ----------------------------------------------------------------------------


def test_status_fault_429_with_retry_after_then_normal(acme: AcmeEmulator) -> None:
    fault = acme.inject_status(429, path=r"^/v1/jobs$", method="POST", retry_after=2)
    with client(acme) as c:
        first = c.post("/v1/jobs", json={"prompt": "x"})
        second = c.post("/v1/jobs", json={"prompt": "x"})
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "2"
    assert first.json() == {"error": {"type": "rate_limited", "message": "Too Many Requests"}}
    assert second.status_code == 201
    assert fault.count == 1
    assert fault.exhausted
    assert fault.fired == [acme.requests[0]]
    assert acme.requests[0].fault is fault
    assert acme.requests[0].status == 429


def test_status_fault_503_times_countdown_and_custom_body(acme: AcmeEmulator) -> None:
    fault = acme.inject_status(
        503, "upstream overloaded", path="/v1/jobs/", times=2, headers={"X-Trace": "t"}
    )
    assert fault.remaining == 2
    with client(acme) as c:
        codes = [c.get("/v1/jobs/nope") for _ in range(3)]
    assert [r.status_code for r in codes] == [503, 503, 404]
    assert codes[0].text == "upstream overloaded"
    assert codes[0].headers["content-type"].startswith("text/plain")
    assert codes[0].headers["x-trace"] == "t"
    assert fault.remaining == 0


def test_unlimited_fault_method_filter_and_order(acme: AcmeEmulator) -> None:
    first = acme.inject_status(500, path="/v1/jobs", method="GET", times=None)
    second = acme.inject("status", status=418, path="/v1/jobs", times=1)
    with client(acme) as c:
        gets = [c.get("/v1/jobs/x").status_code for _ in range(3)]
        post = c.post("/v1/jobs", json={"prompt": "x"}).status_code
        post2 = c.post("/v1/jobs", json={"prompt": "x"}).status_code
    assert gets == [500, 500, 500]
    assert (post, post2) == (418, 201)
    assert first.remaining is None
    assert first.count == 3
    assert second.count == 1
    acme.clear_faults()
    with client(acme) as c:
        assert c.get("/v1/jobs/x").status_code == 404


def test_delay_fault_times_out_client(acme: AcmeEmulator) -> None:
    acme.inject_delay(3.0, path="/v1/jobs/")
    with client(acme, timeout=0.3) as c:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            c.get("/v1/jobs/x")
        assert time.monotonic() - start < 2.0
        # The delay fault is used up; the next request answers immediately.
        assert c.get("/v1/jobs/x").status_code == 404
    assert acme.requests[0].fault is not None
    assert acme.requests[0].fault.kind is FaultKind.DELAY


@pytest.mark.asyncio
async def test_delay_fault_does_not_block_other_requests(acme: AcmeEmulator) -> None:
    acme.inject_delay(0.5, path="/v1/jobs/slow")
    async with aclient(acme) as c:
        start = time.monotonic()
        slow = asyncio.create_task(c.get("/v1/jobs/slow"))
        await asyncio.sleep(0.05)
        fast = await c.get("/v1/jobs/fast")
        fast_done = time.monotonic() - start
        slow_resp = await slow
        slow_done = time.monotonic() - start
    assert fast.status_code == 404
    assert fast_done < 0.4
    assert slow_resp.status_code == 404  # answered normally after the delay
    assert slow_done >= 0.5


def test_drop_fault_closes_connection(acme: AcmeEmulator) -> None:
    acme.inject_drop(path="/v1/jobs$", method="POST")
    acme.inject_drop(path="/content$", partial_body=b"ACME-VID")
    acme.inject_drop(path="/reset-me", reset=True)
    with client(acme) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/v1/jobs", json={"prompt": "x"})
        job_id = c.post("/v1/jobs", json={"prompt": "x"}).json()["id"]
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(f"/v1/jobs/{job_id}/content")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            c.get("/reset-me")
        assert c.get(f"/v1/jobs/{job_id}").status_code == 200  # client recovers
    assert acme.requests[0].fault is not None
    assert acme.requests[0].status is None


def test_malformed_fault_gives_truncated_json(acme: AcmeEmulator) -> None:
    acme.inject_malformed(path="/v1/jobs")
    with client(acme) as c:
        r = c.post("/v1/jobs", json={"prompt": "x"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_custom_fault_can_answer_or_pass_through(acme: AcmeEmulator) -> None:
    seen: list[str] = []

    def spy(request: web.Request, rec: RecordedRequest) -> None:
        seen.append(rec.path)

    async def teapot(request: web.Request, rec: RecordedRequest) -> web.StreamResponse:
        return web.json_response({"teapot": rec.json}, status=418)

    acme.inject_custom(spy, path="/v1/jobs/")
    acme.inject_custom(teapot, path="/v1/jobs$")
    with client(acme) as c:
        assert c.get("/v1/jobs/abc").status_code == 404  # spy passed through
        r = c.post("/v1/jobs", json={"prompt": "p"})
    assert seen == ["/v1/jobs/abc"]
    assert r.status_code == 418
    assert r.json() == {"teapot": {"prompt": "p"}}
    with pytest.raises(ValueError):
        acme.inject(FaultKind.CUSTOM)


def test_faults_do_not_fire_on_unauthorized_requests(acme: AcmeEmulator) -> None:
    fault = acme.inject_status(503)
    assert httpx.get(f"{acme.base_url}/v1/jobs/x", timeout=5).status_code == 401
    assert fault.count == 0
    assert httpx.get(f"{acme.base_url}/v1/jobs/x", headers=AUTH).status_code == 503


# -- scripted jobs ---------------------------------------------------------------------


def test_time_scripted_job_queued_running_succeeded(acme: AcmeEmulator) -> None:
    acme.job_script = JobScript.success(
        queued=0.2, running=0.4, queue_position=3, logs=("a", "b", "c")
    )
    with client(acme) as c:
        created = c.post("/v1/jobs", json={"prompt": "dog"}).json()
        assert created["status"] == "queued"
        assert created["queue_position"] == 3
        seen = poll_until_done(c, created["id"])
        detected = time.monotonic()
        final = seen[-1]
        assert final["status"] == "succeeded"
        assert final["progress"] == 100.0
        assert final["logs"] == ["a", "b", "c"]
        assert c.get(final["output"]["content_url"]).content == b"ACME-VIDEO:dog"
    states = [s["status"] for s in seen]
    assert states[0] == "queued"
    assert "running" in states
    # states never go backwards
    order = {"queued": 0, "running": 1, "succeeded": 2}
    assert [order[s] for s in states] == sorted(order[s] for s in states)
    positions = [s["queue_position"] for s in seen if s["status"] == "queued"]
    assert positions == sorted(positions, reverse=True)
    progress = [s["progress"] for s in seen if s["status"] == "running"]
    assert progress == sorted(progress)
    assert all(0 <= p < 100 for p in progress)
    job = acme.jobs[created["id"]]
    assert job.finished_at is not None
    assert job.finished_at == pytest.approx(job.created_at + 0.6)
    assert 0 <= detected - job.finished_at < 0.5


def test_poll_scripted_job_is_deterministic(acme: AcmeEmulator) -> None:
    acme.next_job_script = JobScript.success(
        {"url": "u"}, queued=2, running=3, queue_position=2, logs=("x", "y", "z"), by_polls=True
    )
    with client(acme) as c:
        job_id = c.post("/v1/jobs", json={"prompt": "p"}).json()["id"]
        seen = poll_until_done(c, job_id, interval=0)
    got = [(s["status"], s["queue_position"], s["progress"], len(s["logs"])) for s in seen]
    assert got == [
        ("queued", 2, 0.0, 0),
        ("queued", 1, 0.0, 0),
        ("running", None, 25.0, 1),
        ("running", None, 50.0, 2),
        ("running", None, 75.0, 3),
        ("succeeded", None, 100.0, 3),
    ]
    assert seen[-1]["output"] == {"url": "u"}
    assert acme.jobs[job_id].polls == 6
    assert acme.jobs[job_id].finished_at is not None
    # The one-shot script is used up: the next job follows the default script again.
    assert acme.next_job_script == AcmeEmulator.default_job_script


def test_failed_job(acme: AcmeEmulator) -> None:
    acme.queue_job_scripts(JobScript.failure({"code": "nsfw", "message": "blocked"}, running=0.05))
    with client(acme) as c:
        job_id = c.post("/v1/jobs", json={"prompt": "p"}).json()["id"]
        final = poll_until_done(c, job_id)[-1]
        assert final["status"] == "failed"
        assert final["error"] == {"code": "nsfw", "message": "blocked"}
        assert "output" not in final
        assert c.get(f"/v1/jobs/{job_id}/content").status_code == 409


def test_cancel_job(acme: AcmeEmulator) -> None:
    acme.job_script = JobScript.success(queued=0.05, running=5.0, logs=("start", "mid", "end"))
    with client(acme) as c:
        job_id = c.post("/v1/jobs", json={"prompt": "p"}).json()["id"]
        deadline = time.monotonic() + 5
        while c.get(f"/v1/jobs/{job_id}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        r = c.post(f"/v1/jobs/{job_id}/cancel")
        assert r.json()["status"] == "cancelled"
        time.sleep(0.05)
        later = c.get(f"/v1/jobs/{job_id}").json()
        assert later["status"] == "cancelled"
        assert later["progress"] < 100
        assert later["logs"] == ["start"]
        assert c.post(f"/v1/jobs/{job_id}/cancel").status_code == 409
    job = acme.jobs[job_id]
    assert job.state is JobState.CANCELLED
    assert job.finished_at is not None


def test_scripted_job_directly_with_fake_clock() -> None:
    now = [100.0]
    job = ScriptedJob("j", JobScript.success("ok", queued=1, running=2), clock=lambda: now[0])
    assert job.peek().state is JobState.QUEUED
    now[0] = 102.0
    snap = job.snapshot()
    assert (snap.state, snap.progress) == (JobState.RUNNING, 50.0)
    assert job.finished_at is None
    now[0] = 104.0
    assert job.snapshot().result == "ok"
    assert job.finished_at == 103.0
    assert job.cancel() is False


def test_unknown_job_is_provider_shaped_404(acme: AcmeEmulator) -> None:
    with client(acme) as c:
        r = c.get("/v1/jobs/missing")
    assert r.status_code == 404
    assert r.json() == {"error": {"type": "not_found", "message": "job missing not found"}}


# -- files and streaming ---------------------------------------------------------------


def test_add_file_serves_binary_without_auth(acme: AcmeEmulator) -> None:
    data = bytes(range(256)) * 100
    url = acme.add_file(data, "video/mp4", filename="out.mp4")
    assert url.startswith(acme.base_url + "/__files__/")
    r = httpx.get(url, timeout=5)
    assert r.content == data
    assert r.headers["content-type"] == "video/mp4"
    assert "out.mp4" in r.headers["content-disposition"]
    assert httpx.get(acme.url("/__files__/nope"), timeout=5).status_code == 404


def test_sse_stream_of_job_status(acme: AcmeEmulator) -> None:
    acme.job_script = JobScript.success(queued=0.05, running=0.1)
    events: list[dict[str, Any]] = []
    with client(acme) as c:
        job_id = c.post("/v1/jobs", json={"prompt": "p"}).json()["id"]
        with c.stream("GET", f"/v1/jobs/{job_id}/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[len("data: ") :]))
    assert events[0]["status"] in ("queued", "running")
    assert events[-1]["status"] == "succeeded"
    assert len(events) >= 3


def test_chunked_bytes_stream(acme: AcmeEmulator) -> None:
    with client(acme) as c, c.stream("GET", "/v1/speech", params={"text": "a b c"}) as r:
        assert r.headers["content-type"] == "audio/mpeg"
        assert r.headers["transfer-encoding"] == "chunked"
        data = b"".join(r.iter_bytes())
    assert data == b"ID3-0:a;ID3-1:b;ID3-2:c;"


@pytest.mark.asyncio
async def test_async_client_full_flow(acme: AcmeEmulator) -> None:
    acme.job_script = JobScript.success(queued=0.02, running=0.05)
    async with aclient(acme) as c:
        job_id = (await c.post("/v1/jobs", json={"prompt": "async"})).json()["id"]
        status = ""
        for _ in range(500):
            status = (await c.get(f"/v1/jobs/{job_id}")).json()["status"]
            if status == "succeeded":
                break
            await asyncio.sleep(0.01)
        assert status == "succeeded"
        content = (await c.get(f"/v1/jobs/{job_id}/content")).content
        events: list[str] = []
        async with c.stream("GET", f"/v1/jobs/{job_id}/events") as r:
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:])["status"])
    assert content == b"ACME-VIDEO:async"
    assert events == ["succeeded"]
    found = await asyncio.to_thread(acme.wait_for, "/content$")
    assert found[0].status == 200


# -- shared (module-scoped) fixture: reset between tests -------------------------------

_SHARED_PORTS: dict[str, int] = {}


def test_shared_fixture_first_test_leaves_state(shared_acme: AcmeEmulator) -> None:
    shared_acme.inject_status(500, times=None)
    shared_acme.add_file(b"x")
    shared_acme.create_job()
    shared_acme.job_script = JobScript.failure()
    with client(shared_acme) as c:
        assert c.get("/v1/jobs/x").status_code == 500
    assert shared_acme.requests
    _SHARED_PORTS["first"] = shared_acme.port


def test_shared_fixture_second_test_starts_clean(shared_acme: AcmeEmulator) -> None:
    if "first" in _SHARED_PORTS:
        assert shared_acme.port == _SHARED_PORTS["first"]  # one server for the whole module
    assert shared_acme.requests == []
    assert shared_acme.faults == []
    assert shared_acme.jobs == {}
    assert shared_acme.job_script == AcmeEmulator.default_job_script
    with client(shared_acme) as c:
        assert c.get("/v1/jobs/x").status_code == 404
