"""Where webhooks may go: no loopback, private, link-local, multicast or reserved
addresses unless an allow-list says so, checked when subscribing and on every delivery.

A URL is read as the delivering client reads it (``webhook_url``, with ``httpx.URL``),
so that a URL accepted at subscription is one a delivery can request; its host is
checked by resolving it and judging every address (``address_refusal``, pure). An
IPv4-mapped IPv6 address is judged as the IPv4 address it maps; 6to4, Teredo and NAT64
ones, which reach an IPv4 address through a relay or translator, are refused outright.
Deliveries go through ``GuardedTransport``: its connections resolve the host
themselves, judge the addresses and connect to a judged address, so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot reach an internal
address. TLS still verifies the certificate against the URL's host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

from shared.refusals import Refused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressRefused(Exception):
    """The URL's host resolves to an address deliveries may not reach (or does not resolve).

    ``reason``: the same without the host (``does not resolve``, ``resolves to 10.0.0.1
    is a private address``), for a delivery's error."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host} {reason}")
        self.reason = reason


def parse_networks(cidrs: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip()]


def address_refusal(address: Address, allowed: Sequence[Network]) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    if any(address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_refusal(address.ipv4_mapped, allowed)
        tunnel = _tunnel_refusal(address)
        if tunnel is not None:
            return tunnel
    # Most specific first: Python also counts link-local and 0.0.0.0/8 as "private".
    for kind in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def _tunnel_refusal(address: ipaddress.IPv6Address) -> str | None:
    """6to4 (2002::/16) and Teredo (2001::/32) addresses carry an IPv4 address that a
    relay, not this guard, connects to: refused whatever they carry (Python before
    3.12.4 counts 6to4 as global). NAT64 (64:ff9b::/96) is refused as reserved."""
    if address.sixtofour is not None:
        return f"{address} is a 6to4 address (carrying {address.sixtofour})"
    if address.teredo is not None:
        return f"{address} is a Teredo address (carrying {address.teredo[1]})"
    return None


_HOST_NAME = re.compile(r"[a-z0-9._-]+")


def webhook_url(url: str, *, allow_http: bool = False) -> httpx.URL:
    """The URL as deliveries will read it, or ``Refused(invalid_url)``.

    Parsed with ``httpx.URL``, the parser of the client that delivers, so a URL accepted
    here is one a delivery can request (``urllib.parse.urlsplit`` disagrees with it: it
    accepts ``https://1.1.1.01/``, ``https://１.１.１.１/`` or a control character that
    httpx refuses). An absolute https URL (http too when allowed) with a host name or
    IP literal, no credentials and, if it names one, a port from 1 to 65535."""
    schemes = ("http", "https") if allow_http else ("https",)
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise Refused("invalid_url", f"url is malformed: {exc}", field="url") from None
    if parsed.scheme not in schemes:
        raise Refused(
            "invalid_url",
            f"url must be an absolute {' or '.join(s + '://' for s in schemes)} URL",
            field="url",
        )
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise Refused("invalid_url", "url must name a host", field="url")
    # httpx percent-encodes what a host name cannot hold (``agency.example]``): no DNS
    # name; an IPv6 literal (with a colon) was checked by httpx itself.
    if ":" not in host and not _HOST_NAME.fullmatch(host):
        raise Refused("invalid_url", f"url's host {host!r} is not a host name", field="url")
    if parsed.userinfo:
        raise Refused("invalid_url", "url must not carry credentials; use the secret", field="url")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise Refused("invalid_url", "url must name a port from 1 to 65535", field="url")
    return parsed


async def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressRefused(host, "does not resolve") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, allowed: Sequence[Network]) -> list[Address]:
    """The host's addresses, or EgressRefused when any of them is forbidden."""
    addresses = await resolve(host, port)
    for address in addresses:
        reason = address_refusal(address, allowed)
        if reason is not None:
            raise EgressRefused(host, f"resolves to {reason}")
    return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to checked addresses of the requested host."""

    def __init__(self, allowed: Sequence[Network]) -> None:
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(host, port, self._allowed)
        except EgressRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return await self._inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not delivered to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a connection pool whose connections are address-checked."""

    def __init__(self, allowed: Sequence[Network], ssl_context: ssl.SSLContext | None = None):
        super().__init__()
        # httpx builds its pool without a network-backend option; replace it, same settings.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            network_backend=_GuardedBackend(allowed),
        )
