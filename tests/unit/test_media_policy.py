"""Media the gateway fetches itself: no private addresses (also after redirects), no bodies
in messages, local files as a policy, every input size-checked before any upload."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from aiohttp import web

from tarash.tarash_gateway import (
    ImageGenerationRequest,
    VideoGenerationRequest,
    generate_image_async,
)
from tarash.tarash_gateway import _netpolicy as policy
from tarash.tarash_gateway.exceptions import HTTPError, ValidationError
from tarash.tarash_gateway.http import download_bytes
from tarash.tarash_gateway.media import MediaInput, check_media_sizes, to_media_input
from tarash.tarash_gateway.providers.mock.media import make_png
from tests.emulators.fal import FalEmulator
from tests.emulators.harness import Emulator, recorded, route
from tests.providers.fal.conftest import image_config

PNG = make_png(8, 8, seed=3)
BODY_SECRET = "body-only-token-7d1f0c"


class MediaHost(Emulator):
    """Serves a PNG, redirects, and an error page that must never reach a message."""

    name = "media-host"
    api_key = None

    @route("GET", "/img.png")
    async def image(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=PNG, content_type="image/png")

    @route("GET", "/redirect")
    async def redirect(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": request.query["to"]})

    @route("GET", "/loop")
    async def loop(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "/loop"})

    @route("GET", "/broken")
    async def broken(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text=f"stack trace ... {BODY_SECRET} ...")

    @route("GET", "/echo-headers")
    async def echo_headers(self, request: web.Request) -> web.StreamResponse:
        recorded(request)
        return web.Response(body=PNG, content_type="image/png")


@pytest.fixture
def host() -> Iterator[MediaHost]:
    with MediaHost() as emu:
        yield emu


@pytest.fixture
def no_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(policy.ALLOW_ENV, "")


@pytest.fixture
def server_mode() -> Iterator[None]:
    policy.set_server_mode(True)
    try:
        yield
    finally:
        policy.set_server_mode(None)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # AWS/GCP/Azure
        "http://[fd00:ec2::254]/latest/meta-data/",  # AWS IMDS over IPv6
        "http://100.100.100.200/latest/meta-data/",  # Alibaba metadata (CGNAT range)
        "http://100.64.0.1/x.png",  # CGNAT
        "http://10.1.2.3/x.png",
        "http://172.16.0.1/x.png",
        "http://192.168.1.1/x.png",
        "http://127.0.0.1:9/x.png",
        "http://0.0.0.0:9/x.png",
        "http://[::1]:9/x.png",
        "http://[::ffff:127.0.0.1]:9/x.png",  # IPv4-mapped loopback
        "http://224.0.0.1/x.png",  # multicast
    ],
)
async def test_non_public_addresses_are_refused_before_any_connection(
    url: str, no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connect(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", no_connect)
    with pytest.raises(ValidationError, match="non-public address") as info:
        await download_bytes(url, max_bytes=1000)
    assert info.value.field == "media"


async def test_a_name_resolving_to_loopback_is_refused_and_resolved_on_the_loop(
    host: MediaHost, no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    calls: list[str] = []
    original = loop.getaddrinfo

    async def counting(hostname: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(hostname))
        return await original(hostname, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", counting)
    with pytest.raises(ValidationError, match="non-public"):
        await download_bytes(f"http://localhost:{host.port}/img.png", max_bytes=10_000)
    assert calls == ["localhost"]
    assert host.requests == []


async def test_allow_list_by_env_lets_emulators_through(
    host: MediaHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(policy.ALLOW_ENV, "127.0.0.1")
    data, ctype = await download_bytes(host.url("/img.png"), max_bytes=10_000)
    assert (data, ctype) == (PNG, "image/png")


async def test_allow_list_by_cidr_and_by_setting(host: MediaHost, no_allow_list: None) -> None:
    policy.allow_private_media_hosts(["127.0.0.0/8"])
    try:
        data, _ = await download_bytes(host.url("/img.png"), max_bytes=10_000)
        assert data == PNG
    finally:
        policy.allow_private_media_hosts(None)
    with pytest.raises(ValidationError):
        await download_bytes(host.url("/img.png"), max_bytes=10_000)


async def test_redirect_to_a_private_address_is_refused(
    host: MediaHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the name "localhost" is allowed: the redirect to 127.0.0.1 itself is checked anew.
    monkeypatch.setenv(policy.ALLOW_ENV, "localhost")
    start = f"http://localhost:{host.port}/redirect?to={host.url('/img.png')}"
    with pytest.raises(ValidationError, match="non-public"):
        await download_bytes(start, max_bytes=10_000)
    assert [r.path for r in host.requests] == ["/redirect"]  # the target was never fetched
    metadata = f"http://localhost:{host.port}/redirect?to=http://169.254.169.254/latest/"
    with pytest.raises(ValidationError, match=r"169\.254\.169\.254"):
        await download_bytes(metadata, max_bytes=10_000)


async def test_allowed_redirects_are_followed_and_bounded(host: MediaHost) -> None:
    data, _ = await download_bytes(host.url("/redirect?to=/img.png"), max_bytes=10_000)
    assert data == PNG
    with pytest.raises(HTTPError, match="redirected more than"):
        await download_bytes(host.url("/loop"), max_bytes=10_000)
    assert host.count("/loop") == policy.MAX_REDIRECTS + 1


async def test_credentials_are_not_carried_to_another_origin(host: MediaHost) -> None:
    target = f"http://localhost:{host.port}/echo-headers"
    await download_bytes(
        host.url(f"/redirect?to={target}"),
        max_bytes=10_000,
        headers={"Authorization": "Bearer media-host-credential"},
    )
    first, second = host.requests
    assert first.header("Authorization") == "Bearer media-host-credential"
    assert second.path == "/echo-headers" and second.header("Authorization") is None


async def test_failed_download_body_is_not_copied_into_the_error(host: MediaHost) -> None:
    with pytest.raises(HTTPError) as info:
        await download_bytes(host.url("/broken?sig=signed-url-token-123"), max_bytes=10_000)
    text = str(info.value) + repr(info.value) + repr(info.value.raw_response)
    assert BODY_SECRET not in text
    assert "signed-url-token-123" not in text  # the query of a signed URL is not shown
    assert "/broken" in text and info.value.status_code == 500


# ------------------------------------------------------------------ local files


def test_local_files_are_allowed_by_default(tmp_path: Path) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    for value in (path, f"file://{path}", str(path)):
        request = VideoGenerationRequest(
            prompt="p", image_list=[{"image": value, "type": "reference"}]
        )
        assert request.image_list[0]["image"] == path


def test_server_mode_refuses_local_files(tmp_path: Path, server_mode: None) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    for value in (path, f"file://{path}"):
        with pytest.raises(pydantic.ValidationError, match="server mode"):
            VideoGenerationRequest(prompt="p", image_list=[{"image": value, "type": "reference"}])
    with pytest.raises(pydantic.ValidationError):  # a path string is not a path there
        VideoGenerationRequest(prompt="p", video=str(path))


async def test_server_mode_refuses_media_built_before_it_was_switched_on(tmp_path: Path) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    media = to_media_input(path)
    policy.set_server_mode(True)
    try:
        with pytest.raises(ValueError, match="server mode"):
            await media.read()
        with pytest.raises(ValidationError, match="server mode"):
            await check_media_sizes({"image": media}, 10_000)
    finally:
        policy.set_server_mode(None)


def test_server_mode_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(policy.SERVER_MODE_ENV, "1")
    assert policy.server_mode() and not policy.local_files_allowed()
    monkeypatch.setenv(policy.SERVER_MODE_ENV, "0")
    assert not policy.server_mode()


# ------------------------------------------------------------------ sizes before uploads


async def test_every_input_is_size_checked_before_any_upload() -> None:
    small, big = MediaInput(data=b"x" * 10), MediaInput(data=b"y" * 5000)
    with pytest.raises(ValidationError, match="media input #3 is 5000 bytes") as info:
        await check_media_sizes({"a": small, "b": [small, big]}, 1000, provider="p")
    assert info.value.field == "media" and info.value.provider == "p"
    await check_media_sizes({"a": small}, 1000)


async def test_fal_uploads_nothing_when_a_later_input_is_too_large() -> None:
    big = make_png(64, 64, seed=1)
    assert len(big) > len(PNG)
    request = ImageGenerationRequest(
        prompt="p",
        image_list=[{"image": PNG, "type": "reference"}, {"image": big, "type": "style"}],
    )
    with FalEmulator() as fal:
        config = image_config(fal, "fal-ai/nano-banana/edit", max_input_bytes=len(PNG) + 1)
        with pytest.raises(ValidationError, match="nothing was uploaded"):
            await generate_image_async(config, request)
        assert fal.uploads == []
        assert fal.requests == []
