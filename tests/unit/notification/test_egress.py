"""Webhook egress policy (SSRF): which addresses deliveries may reach, and the guarded
transport refusing a connection to a forbidden address whatever the URL says."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from notification import subscriptions
from notification.egress import (
    EgressRefused,
    GuardedTransport,
    address_refusal,
    checked_addresses,
    parse_networks,
    webhook_url,
)
from notification.subscriptions import EgressPolicy, check_destination

from shared.refusals import Refused

FORBIDDEN = [
    ("127.0.0.1", "loopback"),
    ("127.5.6.7", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.9", "private"),
    ("192.168.1.10", "private"),
    ("fd00::1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata endpoint
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6 is judged as IPv4
    ("::ffff:169.254.169.254", "link-local"),
    ("100.64.0.1", "not a public"),  # carrier-grade NAT
    # IPv6 addresses carrying an IPv4 one: a relay or translator reaches that address.
    ("64:ff9b::7f00:1", "reserved"),  # NAT64 of 127.0.0.1
    ("64:ff9b::5db8:d822", "reserved"),  # NAT64, whatever it carries
    ("2002:7f00:1::", "6to4"),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::1", "6to4"),  # 6to4 of 169.254.169.254
    ("2002:5db8:d822::1", "6to4"),  # 6to4, whatever it carries
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo"),  # client 127.0.0.1
    ("2001:0:5db8:d822::1", "Teredo"),
]


@pytest.mark.parametrize(("address", "kind"), FORBIDDEN)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    reason = address_refusal(ipaddress.ip_address(address), [])
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "203.113.131.1", "2001:4860:4860::8888"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), []) is None


def test_the_allow_list_admits_only_its_networks() -> None:
    allowed = parse_networks(["10.20.0.0/16", " 127.0.0.1/32 "])
    assert address_refusal(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("10.21.0.1"), allowed) is not None
    assert address_refusal(ipaddress.ip_address("127.0.0.2"), allowed) is not None


def test_a_tunnel_is_admitted_only_by_its_own_network_not_the_address_it_carries() -> None:
    sixtofour = ipaddress.ip_address("2002:7f00:1::")
    assert address_refusal(sixtofour, parse_networks(["127.0.0.0/8"])) is not None
    assert address_refusal(sixtofour, parse_networks(["2002:7f00::/24"])) is None


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(EgressRefused, match="loopback"):
        await checked_addresses("localhost", 443, [])


async def test_an_ip_literal_is_judged_without_resolving() -> None:
    with pytest.raises(EgressRefused, match="link-local"):
        await checked_addresses("[fe80::1]", 443, [])
    assert await checked_addresses("93.184.216.34", 443, []) == [
        ipaddress.ip_address("93.184.216.34")
    ]


async def test_an_unresolvable_host_is_refused() -> None:
    with pytest.raises(EgressRefused, match="does not resolve"):
        await checked_addresses("no-such-host.invalid", 443, [])


async def test_the_guarded_transport_never_connects_to_a_forbidden_address() -> None:
    async with httpx.AsyncClient(transport=GuardedTransport([])) as client:
        for url in ("http://127.0.0.1:9/", "http://localhost:9/", "http://169.254.169.254/"):
            with pytest.raises(httpx.ConnectError, match="address"):
                await client.post(url, content=b"{}")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://agency.example/hook",
        "/relative/hook",
        "agency.example/hook",
        "https://",
        "https://user:pw@agency.example/hook",
        "javascript:alert(1)",
        "http://agency.example/hook",
        # Malformed: httpx refuses these, or reads a port out of range or a host that
        # is no name (``agency.example%5D``).
        "https://[::1",
        "https://agency.example]/hook",
        "https://[zz]/hook",
        "https://agency.example:99999/hook",
        "https://agency.example:abc/hook",
        "https://agency.example:-1/hook",
        "https://agency.example:0/hook",
        "https://agency.example /hook",
        # Accepted by urlsplit (and resolved by getaddrinfo to 1.1.1.1), refused by
        # httpx, which delivers: every delivery would fail.
        "https://1.1.1.01/hook",
        "https://１.１.１.１/hook",
        "https://agency.example/ho\tok",
        "https://agency.example/hook\x00",
        "https://agency.example/hook\x7f",
        "\x00https://agency.example/hook",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(Refused) as refused:
        webhook_url(url)
    assert (refused.value.code, refused.value.field) == ("invalid_url", "url")


def test_good_urls_pass() -> None:
    assert webhook_url(" https://agency.example:8443/hooks?x=1 ") == httpx.URL(
        "https://agency.example:8443/hooks?x=1"
    )
    assert webhook_url("http://127.0.0.1:9000/h", allow_http=True) == httpx.URL(
        "http://127.0.0.1:9000/h"
    )


def test_a_url_is_read_as_httpx_reads_it() -> None:
    parsed = webhook_url("HTTPS://Agency.Example:0443/h")
    assert (parsed.scheme, parsed.raw_host, parsed.port) == ("https", b"agency.example", 443)
    # IDNA 2008, as httpx encodes it (getaddrinfo's IDNA 2003 would read fass.de).
    assert webhook_url("https://faß.example/h").raw_host == b"xn--fa-hia.example"


def test_plain_http_only_behind_the_local_development_setting() -> None:
    with pytest.raises(Refused) as refused:
        webhook_url("http://agency.example/hook")
    assert "https://" in refused.value.detail
    assert webhook_url("http://agency.example/hook", allow_http=True).scheme == "http"


PUBLIC_ONLY = EgressPolicy(allow_http=False, allowed_networks=[])


@pytest.mark.parametrize(
    "url",
    [
        "https://1.1.1.01/hook",  # getaddrinfo reads 1.1.1.1; httpx: invalid IPv4 address
        "https://１.１.１.１/hook",  # getaddrinfo (IDNA 2003) reads 1.1.1.1; httpx refuses
        "https://1.1.1.1/ho\tok",  # urlsplit drops the tab; httpx refuses control characters
    ],
)
async def test_a_url_resolving_publicly_but_unreadable_to_httpx_is_refused(url: str) -> None:
    """Before, urlsplit accepted these and every delivery then failed: httpx delivers."""
    with pytest.raises(Refused) as refused:
        await check_destination(url, PUBLIC_ONLY)
    assert (refused.value.code, refused.value.field) == ("invalid_url", "url")


async def test_the_host_judged_at_subscription_is_the_one_deliveries_connect_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx encodes a name in IDNA 2008 (``faß`` → ``xn--fa-hia``), getaddrinfo given
    urlsplit's host in IDNA 2003 (``fass``): the check resolves httpx's host and port."""
    judged: list[tuple[str, int]] = []

    async def judge(host: str, port: int, allowed: object) -> list[object]:
        judged.append((host, port))
        return [ipaddress.ip_address("1.1.1.1")]

    monkeypatch.setattr(subscriptions, "checked_addresses", judge)
    url = "HTTPS://Faß.Example:0443/hook"
    assert await check_destination(url, PUBLIC_ONLY) == url
    assert judged == [("xn--fa-hia.example", 443)]
