"""Signing in to a console through the real Keycloak's login form, with httpx as the browser.

The console's client goes to ``/login``, which redirects to Keycloak; a second client
(the browser's view of Keycloak) fetches the login page, posts the user's name and
password to the form's action, and the redirect back lands on the console's callback.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from shared.auth.identities import DEV_PASSWORD

FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)
# A loopback origin: the realm admits it on any port (RFC 8252), as for `make run`.
ORIGIN = "http://127.0.0.1:18005"


@asynccontextmanager
async def console_browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan running, and a cookie-keeping client on a loopback origin."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as client,
    ):
        yield client


async def keycloak_login(
    console: httpx.AsyncClient,
    username: str,
    password: str = DEV_PASSWORD,
    next_path: str = "/",
) -> httpx.Response:
    """The console's answer to the callback Keycloak sends the browser back to."""
    start = await console.get("/login", params={"next": next_path})
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient(timeout=30) as keycloak:
        page = await keycloak.get(start.headers["location"])
        assert page.status_code == 200, page.text[:500]
        match = FORM_ACTION.search(page.text)
        assert match, "no login form on Keycloak's page"
        # Keycloak marks its cookies Secure; browsers send them to http://127.0.0.1 (a
        # secure context), httpx does not: pass them on by hand.
        cookies = "; ".join(f"{c.name}={c.value}" for c in keycloak.cookies.jar)
        sent = await keycloak.post(
            html.unescape(match.group(1)),
            data={"username": username, "password": password, "credentialId": ""},
            headers={"Cookie": cookies},
        )
    assert sent.status_code == 302, _visible_text(sent.text)
    back = urlsplit(sent.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == ORIGIN
    return await console.get(f"{back.path}?{back.query}")


def _visible_text(page: str) -> str:
    """What Keycloak's page says (its error message), without the markup and scripts."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))[-600:]
