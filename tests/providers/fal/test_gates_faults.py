"""fal request gates, stream idle timeout, per-job state, submit outcomes, emulator chaos."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import httpx
import pytest

from tarash.tarash_gateway import generate_video_async, submit_job_async
from tarash.tarash_gateway.exceptions import HTTPConnectionError, TarashException
from tarash.tarash_gateway.exceptions import TimeoutError as GatewayTimeoutError
from tarash.tarash_gateway.http import error_from_transport
from tarash.tarash_gateway.jobs import JobRef
from tarash.tarash_gateway.models import RetryPolicy, VideoGenerationRequest
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.fal.handler import (
    GATE_WAIT_KEY,
    REQUEST_ID_HEADER,
    FalProviderHandler,
)
from tarash.tarash_gateway.providers.fal.session import GateTimeout, PriorityGate
from tarash.tarash_gateway.registry import get_handler
from tests.conftest import NO_RETRY
from tests.emulators.fal import FAL_API_KEY, FAULT_KINDS, MARKER_HEADER, FalEmulator
from tests.emulators.harness import FaultKind, JobScript
from tests.providers.fal.conftest import submits, video_config

pytestmark = pytest.mark.timeout(30)

SUBMIT = r"^/fal-ai/veo3\.1$"
REQ = VideoGenerationRequest(prompt="p")


def _ctx(config: Any, deadline_in: float = 10.0) -> AttemptContext:
    return AttemptContext(
        request_id="tg_test",
        operation="video",
        config=config,
        provider="fal",
        deadline=time.monotonic() + deadline_in,
    )


# --------------------------------------------------------------------------- gate units


async def test_gate_wait_is_bounded_and_leaves_no_trace() -> None:
    gate = PriorityGate(1)
    assert await gate.acquire(high=True) == 0.0
    with pytest.raises(GateTimeout) as info:
        await gate.acquire(high=False, timeout=0.05)
    assert info.value.request_sent is False
    assert 0.04 <= info.value.waited < 1.0
    assert gate.in_use == 1 and gate.waiting == 0
    assert gate.stats.timeouts == 1
    gate.release()
    assert gate.in_use == 0
    assert await gate.acquire(high=False, timeout=0.05) == 0.0  # the fast path still works


async def test_gate_reports_how_long_a_caller_waited() -> None:
    gate = PriorityGate(1)
    await gate.acquire(high=True)
    waiter = asyncio.create_task(gate.acquire(high=True, timeout=5))
    await asyncio.sleep(0.1)
    gate.release()
    waited = await waiter
    assert 0.08 <= waited < 1.0
    assert gate.stats.waited == 1 and gate.stats.max_wait == waited


async def test_cancel_while_waiting_is_clean_even_after_release_dropped_the_waiter() -> None:
    # The race behind issue 13 cause 4: the waiter is cancelled, then release() runs
    # (and discards the cancelled future) before the waiter's task resumes.
    gate = PriorityGate(1)
    await gate.acquire(high=False)
    waiter = asyncio.create_task(gate.acquire(high=False, timeout=5))
    await asyncio.sleep(0)
    waiter.cancel()
    gate.release()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.in_use == 0 and gate.waiting == 0
    assert gate.stats.cancelled == 1
    assert await gate.acquire(high=False, timeout=0.05) == 0.0


# --------------------------------------------------------------------------- gates in a session


async def test_transfers_never_block_short_requests_and_vice_versa(fal: FalEmulator) -> None:
    config = video_config(fal, provider_config={"max_concurrency": 1, "max_transfers": 1})
    session = get_handler("fal").session(config)
    async with session.transfer_slot():  # the only transfer slot is busy (an upload)
        response = await session.request("GET", fal.url("/__health__"), timeout=5)
        assert response.status_code == 200
    await session.gate.acquire(high=True)  # the only short slot is busy
    try:
        async with session.transfer_slot(wait_limit=0.5) as waited:
            assert waited == 0.0
        with pytest.raises(GateTimeout):
            await session.request("GET", fal.url("/__health__"), timeout=5, wait_limit=0.05)
    finally:
        session.gate.release()
    assert session.gate.in_use == 0 and session.transfer_gate.in_use == 0


async def test_gate_timeout_is_a_retryable_error_for_a_request_never_sent(
    fal: FalEmulator,
) -> None:
    config = video_config(fal, provider_config={"max_concurrency": 1, "max_gate_wait": 0.1})
    handler = get_handler("fal")
    session = handler.session(config)
    await session.gate.acquire(high=True)
    try:
        with pytest.raises(HTTPConnectionError) as info:
            await generate_video_async(config, REQ)
    finally:
        session.gate.release()
    assert info.value.retryable is True
    assert "was not sent" in info.value.message
    assert getattr(info.value, "request_sent", None) is False
    assert submits(fal) == []


async def test_gate_wait_is_reported_in_job_data(fal: FalEmulator) -> None:
    fal.inject_delay(0.3, path=SUBMIT)
    config = video_config(fal, provider_config={"max_concurrency": 1})
    jobs = await asyncio.gather(submit_job_async(config, REQ), submit_job_async(config, REQ))
    waits = sorted(j.data.get(GATE_WAIT_KEY, 0.0) for j in jobs if isinstance(j, JobRef))
    assert waits[0] == 0.0 and waits[1] >= 0.2


async def test_status_poll_wait_is_reported_in_status_raw(fal: FalEmulator) -> None:
    config = video_config(fal, provider_config={"max_concurrency": 1})
    job = await submit_job_async(config, REQ)
    assert isinstance(job, JobRef)
    handler = get_handler("fal")
    session = handler.session(config)
    await session.gate.acquire(high=True)
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, session.gate.release)
    status = await handler.status(_ctx(config), job)
    assert status.raw[GATE_WAIT_KEY] >= 0.15


async def test_task_cancelled_while_waiting_for_a_slot_is_cancelled(fal: FalEmulator) -> None:
    fal.inject_delay(0.6, path=SUBMIT)
    config = video_config(fal, provider_config={"max_concurrency": 1})
    first = asyncio.create_task(generate_video_async(config, REQ))
    await asyncio.sleep(0.2)  # `first` holds the only slot (its submit is held)
    second = asyncio.create_task(generate_video_async(config, REQ))
    await asyncio.sleep(0.1)
    session = get_handler("fal").session(config)
    assert session.gate.waiting == 1
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert session.gate.waiting == 0
    assert (await first).video
    assert session.gate.in_use == 0
    assert len(submits(fal)) == 1


# --------------------------------------------------------------------------- silent stream


async def test_stream_idle_timeout_is_shorter_than_the_attempt(fal: FalEmulator) -> None:
    config = video_config(fal)
    session = get_handler("fal").session(config)
    assert FalProviderHandler.stream_idle_timeout(_ctx(config, 600), session) == 15.0
    assert FalProviderHandler.stream_idle_timeout(_ctx(config, 8), session) <= 2.0


async def test_silent_status_stream_falls_back_to_polling_in_time(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=0.3)
    fal.inject_silent(path=r"/status/stream$", hold=20)
    config = video_config(fal, timeout=4, poll_interval=0.1)
    started = time.monotonic()
    response = await generate_video_async(config, REQ)
    assert time.monotonic() - started < 3.0  # idle timeout ≈ a quarter of 4 s, not 60 s
    job = fal.jobs[response.provider_request_id]
    assert fal.count(r"/status/stream$") == 1 and job.data["status_polls"] >= 1
    assert response.execution_metadata is not None
    assert len(response.execution_metadata.attempts) == 1


# --------------------------------------------------------------------------- per-job state


async def test_log_cursor_lives_in_the_job_and_survives_a_resume(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=0.1, logs=("a", "b", "c"))
    config = video_config(fal)
    job = await submit_job_async(config, REQ)
    other = await submit_job_async(config, REQ)
    assert isinstance(job, JobRef) and isinstance(other, JobRef)
    await asyncio.sleep(0.3)
    handler, ctx = get_handler("fal"), _ctx(config)
    assert (await handler.status(ctx, job)).logs == ["a", "b", "c"]
    assert (await handler.status(ctx, other)).logs == ["a", "b", "c"]  # jobs never share
    assert (await handler.status(ctx, job)).logs == []
    assert job.data["log_cursor"][0] == 3
    resumed = JobRef.from_json(job.to_json())  # another process, another handler
    assert (await FalProviderHandler().status(ctx, resumed)).logs == []
    fresh = job.model_copy(update={"data": {"app_id": job.data["app_id"]}})
    assert (await FalProviderHandler().status(ctx, fresh)).logs == ["a", "b", "c"]
    assert not [
        v for v in vars(handler).values() if isinstance(v, dict) and job.provider_request_id in v
    ]


# --------------------------------------------------------------------------- submit outcomes


@pytest.mark.parametrize(
    ("exc", "error_type", "sent"),
    [
        (httpx.ConnectError("refused"), HTTPConnectionError, False),
        (httpx.ConnectTimeout("slow connect"), GatewayTimeoutError, False),
        (httpx.PoolTimeout("no connection"), GatewayTimeoutError, False),
        (httpx.ReadTimeout("slow answer"), GatewayTimeoutError, True),
        (httpx.RemoteProtocolError("Server disconnected"), HTTPConnectionError, True),
        (httpx.ReadError("reset"), HTTPConnectionError, True),
    ],
)
def test_transport_errors_tell_whether_the_request_was_sent(
    exc: Exception, error_type: type[TarashException], sent: bool
) -> None:
    error = error_from_transport(exc, provider="fal")
    assert type(error) is error_type
    assert error.retryable is True
    assert getattr(error, "request_sent", None) is sent


async def test_submit_to_a_closed_port_was_never_sent(fal: FalEmulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = video_config(fal, retry=NO_RETRY, base_url=f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(config, REQ)
    assert getattr(info.value, "request_sent", None) is False
    assert isinstance(info.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("kind", ["reset", "reset_mid"])
async def test_submit_reset_after_it_was_processed_is_an_unknown_outcome(
    fal: FalEmulator, kind: str
) -> None:
    fal.inject_chaos({"submit": 1.0}, kinds={"submit": [kind]})
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(video_config(fal, retry=NO_RETRY), REQ)
    assert getattr(info.value, "request_sent", None) is True
    assert info.value.retryable is True
    assert fal.counters()["accepted"] == 1  # the job exists upstream


async def test_submissions_carry_our_request_id_and_resends_count_as_duplicates(
    fal: FalEmulator,
) -> None:
    response = await generate_video_async(video_config(fal), REQ)
    assert submits(fal)[-1].header(REQUEST_ID_HEADER) == response.request_id
    assert fal.submissions == {response.request_id: [response.provider_request_id]}
    # A submit that fal processed but whose answer was lost: the gateway does not resend
    # it (retries allowed or not), so fal holds exactly one job for the logical request.
    fal.inject(FaultKind.DROP, path=SUBMIT, after=True, reset=True)
    retry = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.01, jitter=False)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(video_config(fal, retry=retry), REQ)
    assert info.value.outcome_unknown
    (marker,) = [m for m in fal.submissions if m != response.request_id]
    assert len(fal.submissions[marker]) == 1
    assert fal.counters()["duplicates"] == 0
    # The emulator's duplicate counter itself: the same marker submitted twice.
    headers = {"Authorization": f"Key {FAL_API_KEY}", REQUEST_ID_HEADER: "tg_twice"}
    async with httpx.AsyncClient(headers=headers) as client:
        for _ in range(2):
            await client.post(fal.url("/fal-ai/veo3.1"), json={"prompt": "p"})
    counters = fal.counters()
    assert counters["duplicates"] == 1 and counters["logical_requests"] == 3


# --------------------------------------------------------------------------- emulator chaos


def _faulted_submits(seed: int) -> list[str | None]:
    with FalEmulator() as emu:
        emu.inject_chaos({"submit": 0.5}, seed=seed, kinds={"submit": ["500", "503", "429"]})
        with httpx.Client(headers={"Authorization": f"Key {FAL_API_KEY}"}) as client:
            for i in range(24):
                client.post(emu.url("/fal-ai/veo3.1"), json={"prompt": str(i)})
        return [r.fault.label if r.fault else None for r in emu.requests]


def test_chaos_is_reproducible_with_a_seed() -> None:
    first, second, other = _faulted_submits(3), _faulted_submits(3), _faulted_submits(4)
    assert first == second
    assert first != other
    faulted = [f for f in first if f]
    assert 4 <= len(faulted) <= 20 and set(faulted) <= {"500", "503", "429"}


def test_chaos_kinds_cover_every_endpoint() -> None:
    assert set(FAULT_KINDS) == {"submit", "status", "status_stream", "result", "cancel"}
    with FalEmulator() as emu, pytest.raises(ValueError, match="unknown fal endpoint"):
        emu.inject_chaos({"upload": 0.5})


def _one_job(emu: FalEmulator, client: httpx.Client) -> str:
    response = client.post(emu.url("/fal-ai/veo3.1"), json={"prompt": "x"})
    return str(response.json()["request_id"])


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [(e, k) for e, kinds in FAULT_KINDS.items() for k in kinds],
)
def test_each_fault_kind_behaves_as_documented(endpoint: str, kind: str) -> None:
    with (
        FalEmulator() as emu,
        httpx.Client(headers={"Authorization": f"Key {FAL_API_KEY}"}, timeout=0.5) as client,
    ):
        emu.job_script = JobScript.success(running=0.0)
        job_id = None if endpoint == "submit" else _one_job(emu, client)
        if endpoint == "cancel" and kind == "already_completed":
            emu.job_script = JobScript.success(running=30.0)
            job_id = _one_job(emu, client)  # still running: only the fault says completed
        time.sleep(0.05)
        emu.inject_chaos({endpoint: 1.0}, kinds={endpoint: [kind]}, hold=2.0, retry_after=3)
        base = emu.url(f"/fal-ai/veo3.1/requests/{job_id}")
        method, url = {
            "submit": ("POST", emu.url("/fal-ai/veo3.1")),
            "status": ("GET", base + "/status"),
            "status_stream": ("GET", base + "/status/stream"),
            "result": ("GET", base),
            "cancel": ("PUT", base + "/cancel"),
        }[endpoint]
        before = len(emu.jobs)
        try:
            body_json = {"prompt": "p"} if method == "POST" else None
            with client.stream(method, url, json=body_json) as resp:
                status, headers = resp.status_code, resp.headers
                body = resp.read()
            outcome: Any = (status, headers, body)
        except httpx.HTTPError as exc:
            outcome = exc
        processed = len(emu.jobs) - before
        if kind in ("500", "503", "429"):
            assert outcome[0] == int(kind)
            if kind == "429":
                assert outcome[1]["Retry-After"] == "3"
        elif kind in ("reset", "reset_mid"):
            assert isinstance(outcome, httpx.RemoteProtocolError | httpx.ReadError)
        elif kind == "truncated":
            assert outcome[0] == 200
            with pytest.raises(ValueError):
                json.loads(outcome[2])
        elif kind in ("held", "silent"):
            assert isinstance(outcome, httpx.ReadTimeout)
        elif kind == "already_completed":
            assert outcome[0] == 400
            assert json.loads(outcome[2]) == {"status": "ALREADY_COMPLETED"}
            assert emu.jobs[str(job_id)].state.value == "running"
        if endpoint == "submit":  # faults after the handler ran leave an accepted job
            assert processed == (1 if kind in ("reset", "reset_mid", "truncated", "held") else 0)


async def test_counters_track_accepted_completed_fetched_and_cancelled(
    fal: FalEmulator,
) -> None:
    await generate_video_async(video_config(fal), REQ)
    fal.job_script = JobScript.success(running=30.0)
    config = video_config(fal)
    job = await submit_job_async(config, REQ)
    assert isinstance(job, JobRef)
    await get_handler("fal").cancel(_ctx(config), job)
    counters = fal.counters()
    assert counters["accepted"] == 2
    assert counters["completed"] == 1 and counters["results_fetched"] == 1
    assert counters["cancelled"] == 1 and counters["duplicates"] == 0
    stats = httpx.get(fal.url("/__admin__/stats")).json()
    assert stats["counters"] == counters
    assert {j["marker"] for j in stats["jobs"].values()} == set(fal.submissions)
    assert all(isinstance(j["faults"], list) for j in stats["jobs"].values())
    assert MARKER_HEADER == REQUEST_ID_HEADER


async def test_admin_endpoint_turns_chaos_on_and_off(fal: FalEmulator) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            fal.url("/__admin__/faults"),
            json={"rate": {"submit": 1.0}, "kinds": {"submit": ["503"]}},
        )
        assert answer.json() == {"ok": True, "endpoints": ["submit"]}
        with pytest.raises(TarashException):
            await generate_video_async(video_config(fal, retry=NO_RETRY), REQ)
        await client.post(fal.url("/__admin__/faults"), json={"clear": True})
    assert (await generate_video_async(video_config(fal), REQ)).video


# --------------------------------------------------------------------------- transport


async def test_session_pools_run_on_the_asyncio_backend(fal: FalEmulator) -> None:
    from tarash.tarash_gateway.providers.fal._asyncio_net import AsyncioBackend

    config = video_config(fal)
    response = await generate_video_async(config, REQ)
    assert response.video
    session = get_handler("fal").session(config)
    for pool in (session.requests, session.streams):
        transport = pool.shards[0].client._transport
        assert isinstance(transport._pool._network_backend, AsyncioBackend)


async def test_asyncio_backend_maps_errors_like_httpcore(fal: FalEmulator) -> None:
    import httpcore

    from tarash.tarash_gateway.providers.fal._asyncio_net import AsyncioBackend

    backend = AsyncioBackend()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("127.0.0.1", port, timeout=2)
    stream = await backend.connect_tcp("127.0.0.1", fal.port, timeout=2)
    assert stream.get_extra_info("is_readable") is False
    assert stream.get_extra_info("server_addr")[1] == fal.port
    with pytest.raises(httpcore.ReadTimeout):
        await stream.read(1024, timeout=0.05)  # nothing was asked: nothing comes
    await stream.write(b"GET /__health__ HTTP/1.1\r\nHost: x\r\n")
    await stream.write(b"Connection: close\r\n\r\n")  # coalesced with the head, sent on read
    data = b""
    while chunk := await stream.read(65536, timeout=2):
        data += chunk
    assert data.startswith(b"HTTP/1.1 200") and b'"ok": true' in data
    assert stream.get_extra_info("is_readable") is True  # the server closed it
    await stream.aclose()


async def test_short_requests_go_straight_to_the_transport(fal: FalEmulator) -> None:
    from tarash.tarash_gateway.providers.fal.session import FalEndpoints, FalSession, FalSettings

    endpoints = FalEndpoints.resolve(fal.base_url, FalSettings())
    session = FalSession(FAL_API_KEY, endpoints, FalSettings())
    response = await session.request("GET", fal.url("/__health__"), timeout=5)
    assert response.json()["ok"] is True and response.request.url.path == "/__health__"
    assert len(session._direct) == 1  # no proxy mounted on the client: direct path
    assert fal.last("/__health__").header("Authorization") == f"Key {FAL_API_KEY}"
    assert fal.last("/__health__").header("User-Agent", "").startswith("fal-client")
    await session.aclose()


async def test_asyncio_backend_speaks_tls(tmp_path: Any) -> None:
    """fal itself is HTTPS: the backend's start_tls path against a local TLS server."""
    import shutil
    import ssl
    import subprocess

    from tarash.tarash_gateway.providers.fal._asyncio_net import asyncio_transport

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a throw-away certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        body = b'{"tls": true}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    try:
        async with httpx.AsyncClient(transport=asyncio_transport(2, client_ctx)) as client:
            response = await client.get(f"https://localhost:{port}/x", timeout=5)
            assert response.json() == {"tls": True}
            with pytest.raises(httpx.ConnectError):  # an untrusted certificate is refused
                async with httpx.AsyncClient(
                    transport=asyncio_transport(1, ssl.create_default_context())
                ) as strict:
                    await strict.get(f"https://localhost:{port}/x", timeout=5)
    finally:
        server.close()
        await server.wait_closed()
