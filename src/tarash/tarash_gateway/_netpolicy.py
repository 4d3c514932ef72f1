"""Where the gateway itself may fetch media from, and whether it may read local files.

The gateway downloads some URLs on its own (an input image a provider only takes as bytes,
a provider's output for ``response.save()``). A service that forwards user-supplied URLs must
not be turned into a proxy into its own network, so a URL the gateway downloads is refused
when its host resolves to a loopback, private, link-local, CGNAT, multicast, reserved or
cloud-metadata address — for the first URL and after every redirect (redirects are followed
by hand, at most :data:`MAX_REDIRECTS`). Names are resolved with ``loop.getaddrinfo`` so the
check never blocks the event loop.

Allow-list (local emulators, tests, a deliberate intranet fetch): hosts, IP addresses or
CIDR networks, from :func:`allow_private_media_hosts` or the environment variable
``TARASH_ALLOW_PRIVATE_MEDIA_HOSTS`` (comma separated, e.g. ``"127.0.0.1,localhost"``).

Local files (``pathlib.Path``, ``file://`` URLs, strings naming a file) are accepted by
default in the library and refused once :func:`set_server_mode` is on (``tarash serve``
turns it on; the environment variable ``TARASH_SERVER_MODE=1`` does too).

Limitation: the addresses are checked, then the HTTP client resolves the name again to
connect; a DNS answer that changes between the two (rebinding) is not caught here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from urllib.parse import urlsplit

from tarash.tarash_gateway.exceptions import ValidationError

__all__ = [
    "ALLOW_ENV",
    "MAX_REDIRECTS",
    "SERVER_MODE_ENV",
    "allow_private_media_hosts",
    "check_fetch_url",
    "describe_url",
    "local_files_allowed",
    "server_mode",
    "set_server_mode",
]

ALLOW_ENV = "TARASH_ALLOW_PRIVATE_MEDIA_HOSTS"
SERVER_MODE_ENV = "TARASH_SERVER_MODE"
MAX_REDIRECTS = 5

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not "global" (Python's ipaddress, from the IANA special-purpose registries, RFC 6890)
# already covers loopback, RFC 1918, link-local 169.254.0.0/16 (RFC 3927; the AWS, GCP and
# Azure metadata address 169.254.169.254), CGNAT 100.64.0.0/10 (RFC 6598; Alibaba Cloud's
# metadata address 100.100.100.200), ULA fc00::/7 (RFC 4193; AWS's IPv6 metadata address
# fd00:ec2::254, per the EC2 user guide "Access instance metadata"), reserved and unspecified
# ranges. They are listed explicitly as well, in case a Python version classifies one of them
# differently (checked 2026-12 against CPython 3.11 ipaddress).
_ALWAYS_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)

_programmatic_allow: tuple[str, ...] | None = None
_server_mode: bool | None = None


def allow_private_media_hosts(hosts: list[str] | tuple[str, ...] | None) -> None:
    """Allow downloads from these hosts/IPs/CIDRs despite private addresses (None: use env)."""
    global _programmatic_allow
    _programmatic_allow = None if hosts is None else tuple(h.strip() for h in hosts if h.strip())


def _allow_list() -> tuple[str, ...]:
    if _programmatic_allow is not None:
        return _programmatic_allow
    raw = os.environ.get(ALLOW_ENV, "")
    return tuple(h.strip() for h in raw.split(",") if h.strip())


def set_server_mode(enabled: bool | None) -> None:
    """Refuse local-file media inputs (``Path``, ``file://``, path strings); None: use env."""
    global _server_mode
    _server_mode = enabled


def server_mode() -> bool:
    """Whether server mode (no local-file media) is on."""
    if _server_mode is not None:
        return _server_mode
    return os.environ.get(SERVER_MODE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def local_files_allowed() -> bool:
    """Whether media inputs may name local files (False in server mode)."""
    return not server_mode()


def describe_url(url: str) -> str:
    """``scheme://host[:port]/path`` of a URL: no userinfo, query or fragment (signed URLs
    carry tokens there), shortened, for error messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<malformed URL>"
    path = parts.path if len(parts.path) <= 80 else parts.path[:80] + "…"
    return f"{parts.scheme}://{host}{port}{path}"


def _is_blocked(address: IPAddress) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if any(address in net for net in _ALWAYS_BLOCKED if net.version == address.version):
        return True
    return not address.is_global or address.is_multicast


def _allowed(host: str, blocked: list[IPAddress]) -> bool:
    """The host is allow-listed by name, or every blocked address lies in an allowed network."""
    entries = _allow_list()
    lowered = host.lower().rstrip(".")
    networks: list[IPNetwork] = []
    for entry in entries:
        if entry.lower().rstrip(".") == lowered:
            return True
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return bool(blocked) and all(
        any(a.version == n.version and a in n for n in networks) for a in blocked
    )


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        try:
            out.append(ipaddress.ip_address(raw))
        except ValueError:  # pragma: no cover - getaddrinfo returns numeric addresses
            continue
    return out


async def check_fetch_url(url: str, *, provider: str | None = None, field: str = "media") -> None:
    """Raise :class:`ValidationError` unless the gateway may download ``url``.

    Only http(s) URLs with a host are fetched; every address the host resolves to must be
    public, unless the host (or a network holding all its addresses) is allow-listed.
    A name that does not resolve is left to the HTTP client (it fails as a connection error).
    """
    shown = describe_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(f"malformed media URL {shown}", provider, field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"the gateway downloads http(s) URLs only, not {shown}", provider, field=field
        )
    host = parts.hostname
    try:
        addresses = await _resolve(host, port or (443 if parts.scheme.lower() == "https" else 80))
    except (OSError, UnicodeError):
        addresses = []
    blocked = [a for a in addresses if _is_blocked(a)]
    if blocked and not _allowed(host, blocked):
        raise ValidationError(
            f"refusing to download media from {shown}: {host} resolves to a non-public "
            f"address ({blocked[0]}); loopback, private, link-local, CGNAT and cloud-metadata "
            f"addresses are blocked (allow hosts with {ALLOW_ENV} or "
            "tarash.tarash_gateway.allow_private_media_hosts)",
            provider,
            field=field,
        )
