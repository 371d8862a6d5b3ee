"""A sign-in in progress lives in a sealed cookie, not in the console's database: the
browser can neither read it nor change it, it expires, and ``/login`` writes nothing.
The routes run with a store that refuses every call and a Keycloak served by a mock
transport; no server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from console.config import SignInOptions
from console.logins import LoginSealer, PendingLogin
from console.oidc import OidcClient
from console.signin import CALLBACK, LOGIN_COOKIE, SignIn, router
from fastapi import FastAPI

from shared.auth import AuthSettings, TokenVerifier
from shared.auth.keys import KeyCache
from shared.http import install_error_handlers

SEALER = LoginSealer("client-secret")
LOGIN = PendingLogin("state-1", "verifier-1", "nonce-1", "/#flows", expires_at=2000.0)


def test_a_sealed_login_opens_only_with_the_key_and_before_it_expires() -> None:
    cookie = SEALER.seal(LOGIN)
    assert SEALER.unseal(cookie, now=1999.0) == LOGIN
    assert not any(secret in cookie for secret in ("state-1", "verifier-1", "nonce-1"))
    assert SEALER.unseal(cookie, now=2000.0) is None  # expired
    assert LoginSealer("another-secret").unseal(cookie, now=0.0) is None
    changed = cookie[:20] + ("A" if cookie[20] != "A" else "B") + cookie[21:]
    assert SEALER.unseal(changed, now=0.0) is None
    for garbage in ("", "x", "!!!!", "é", "A" * 40):
        assert SEALER.unseal(garbage, now=0.0) is None


class NoStore:
    """A session store that must not be used: starting a sign-in writes nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was used: {name}")


def keycloak(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/token"):
        id_token = jwt.encode({"nonce": "n"}, "k" * 32, algorithm="HS256", headers={"kid": "k9"})
        return httpx.Response(200, json={"access_token": "a", "id_token": id_token})
    raise httpx.ConnectError("the key set is unreachable")


@asynccontextmanager
async def console() -> AsyncIterator[httpx.AsyncClient]:
    auth = AuthSettings(issuer="http://keycloak/realms/lienthong")
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.MockTransport(keycloak)) as idp:
        verifier = TokenVerifier(auth, KeyCache(auth, idp))
        oidc = OidcClient(auth, verifier, "console-web", "secret", idp)
        app.state.signin = SignIn(oidc, NoStore(), SignInOptions(), SEALER)  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            yield client


async def start(client: httpx.AsyncClient) -> str:
    started = await client.get("/login", params={"next": "/#dossier"})
    assert started.status_code == 303
    assert "httponly" in started.headers["set-cookie"].lower()
    return parse_qs(urlsplit(started.headers["location"]).query)["state"][0]


async def test_starting_a_sign_in_stores_nothing_and_the_cookie_carries_it() -> None:
    async with console() as client:
        states = {await start(client) for _ in range(50)}
        login = SEALER.unseal(client.cookies[LOGIN_COOKIE], now=0.0)
    assert len(states) == 50
    assert login is not None and login.next == "/#dossier" and login.state in states


@pytest.mark.parametrize(
    ("cookie", "state"),
    [
        ("sealed", "another-state"),  # this browser's sign-in, another one's state
        ("sealed", "é"),  # not even ASCII
        (None, "own"),  # another browser: it lacks the login cookie
        ("forged", "own"),  # a cookie the console did not seal
    ],
)
async def test_a_callback_without_this_browsers_sealed_login_is_refused(
    cookie: str | None, state: str
) -> None:
    async with console() as client:
        own = await start(client)
        sealed = client.cookies[LOGIN_COOKIE]
        client.cookies.clear()
        sent = {"sealed": sealed}.get(cookie or "", cookie)
        headers = {"Cookie": f"{LOGIN_COOKIE}={sent}"} if sent else {}
        params = {"state": own if state == "own" else state, "code": "c"}
        answer = await client.get(CALLBACK, params=params, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "sign_in_failed"


async def test_unreachable_signing_keys_at_the_callback_are_a_503() -> None:
    async with console() as client:
        state = await start(client)
        answer = await client.get(CALLBACK, params={"state": state, "code": "c"})
    assert answer.status_code == 503
    assert answer.json()["code"] == "identity_provider_unavailable"
