"""Operators sign in to the console through the real Keycloak (authorisation code + PKCE).

The login form is Keycloak's own; the console keeps the tokens on its server and gives
the browser an httpOnly session cookie. Tested: a signed-in operator's actions are
recorded and audited under their own name and subject, and need the session's CSRF
token; the access token is refreshed before it expires, once for parallel requests;
signing out ends the session here and at Keycloak; a user without the operations role
gets no session (and Keycloak's ends too); starting a sign-in stores nothing (its state
travels in a sealed cookie); a callback this browser did not start, or a replayed one,
is refused; scripts may still send a bearer token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from console.config import ConsoleOptions, ConsoleSettings, SignInOptions
from console.main import create_app
from console.sessions import SessionStore
from console.signin import COOKIE, LOGIN_COOKIE

from shared.envelope import Envelope
from shared.runtime import CommonSettings
from shared.testing import read_topic
from shared.topics import OPERATIONS_EVENTS
from tests.integration.access.test_access_table import store_digest
from tests.integration.console.keycloak_login import console_browser, keycloak_login
from tests.integration.console.test_replays import dead_letter


def console(common: CommonSettings, **signin: Any) -> Any:
    return create_app(
        ConsoleSettings(
            **common.model_dump(),
            console=ConsoleOptions(actions_enabled=True),
            signin=SignInOptions(**signin),
        )
    )


async def test_an_operator_signs_in_and_acts_under_their_own_name(
    common_settings: CommonSettings,
) -> None:
    app = console(common_settings)
    async with console_browser(app) as browser:
        assert (await browser.get("/api/session")).json()["code"] == "unauthenticated"
        back = await keycloak_login(browser, "ops", next_path="/#deadletters")
        assert back.status_code == 303 and back.headers["location"] == "/#deadletters"
        cookie = back.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        me = (await browser.get("/api/session")).json()
        assert me["username"] == "ops" and "operations" in me["roles"] and me["csrf_token"]

        letter = await dead_letter(app.state.runtime, common_settings)
        path, body = (
            "/api/deadletters/replay",
            {"positions": [f"{letter.partition}:{letter.offset}"]},
        )
        refused = await browser.post(path, json=body)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf"
        done = await browser.post(path, json=body, headers={"X-CSRF-Token": me["csrf_token"]})
        assert done.status_code == 200, done.text

        [action] = (await browser.get("/api/actions")).json()["items"]
        assert (action["operator"], action["operator_subject"]) == ("ops", me["subject"])
    [fact] = [
        Envelope.from_bytes(r.value)
        for r in await read_topic(common_settings.kafka, OPERATIONS_EVENTS, expect=1)
    ]
    assert fact.type == "operations.deadletter.replayed.v1" and fact.data["operator"] == "ops"


async def test_the_access_token_is_refreshed_before_it_expires(
    common_settings: CommonSettings,
) -> None:
    # Keycloak's tokens live 900 s: a margin above that makes every request refresh.
    app = console(common_settings, refresh_margin_s=10_000)
    async with console_browser(app) as browser:
        await keycloak_login(browser, "ops")
        session_id = browser.cookies[COOKIE]
        store = SessionStore(app.state.runtime.db)
        before = await store.find(session_id)
        assert (await browser.get("/api/session")).status_code == 200
        after = await store.find(session_id)
        assert before is not None and after is not None
        # A new access token (Keycloak's expires_in is whole seconds, so the computed
        # expiry times of two tokens a second apart may compare either way).
        assert after.tokens.access_token != before.tokens.access_token
        assert after.tokens.refresh_token and after.session_id == before.session_id


async def test_parallel_requests_share_one_refresh(common_settings: CommonSettings) -> None:
    app = console(common_settings)
    async with console_browser(app) as browser:
        await keycloak_login(browser, "ops")
        store = SessionStore(app.state.runtime.db)
        session = await store.find(browser.cookies[COOKIE])
        assert session is not None
        # The access token is about to expire (within the 60 s margin).
        await store.renew(session, replace(session.tokens, access_expires_at=time.time() + 5))
        oidc = app.state.signin.oidc
        refreshes: list[str] = []
        refresh = oidc.refresh

        async def counted(token: str) -> Any:
            refreshes.append(token)
            return await refresh(token)

        oidc.refresh = counted
        answers = await asyncio.gather(*(browser.get("/api/session") for _ in range(4)))
        assert [a.status_code for a in answers] == [200] * 4
        assert refreshes == [session.tokens.refresh_token]


async def test_signing_out_ends_the_session_here_and_at_keycloak(
    common_settings: CommonSettings,
) -> None:
    app = console(common_settings)
    async with console_browser(app) as browser:
        await keycloak_login(browser, "ops")
        session_id = browser.cookies[COOKIE]
        store = SessionStore(app.state.runtime.db)
        session = await store.find(session_id)
        assert session is not None and session.tokens.refresh_token
        csrf = (await browser.get("/api/session")).json()["csrf_token"]
        out = await browser.post("/logout", headers={"X-CSRF-Token": csrf})
        target = urlsplit(out.json()["redirect"])
        query = parse_qs(target.query)
        assert target.path.endswith("/protocol/openid-connect/logout")
        assert query["post_logout_redirect_uri"] == ["http://127.0.0.1:18005/"]
        assert query["id_token_hint"] == [session.tokens.id_token]
        assert (await browser.get("/api/session")).json()["code"] == "unauthenticated"
        # The cookie is gone; were it kept (another tab, a copy), the session is over.
        kept = await browser.get("/api/session", headers={"Cookie": f"{COOKIE}={session_id}"})
        assert kept.status_code == 401 and kept.json()["code"] == "signed_out"
        assert await store.find(session_id) is None
        async with httpx.AsyncClient(timeout=30) as keycloak:  # the browser follows it
            ended = await keycloak.get(out.json()["redirect"])
        assert ended.status_code == 302
        assert ended.headers["location"] == "http://127.0.0.1:18005/"
        # Keycloak's session is over: its refresh token no longer works.
        with pytest.raises(Exception, match="400"):
            await app.state.signin.oidc.refresh(session.tokens.refresh_token)


async def test_a_user_without_the_operations_role_gets_no_session(
    common_settings: CommonSettings,
) -> None:
    async with console_browser(console(common_settings)) as browser:
        back = await keycloak_login(browser, "desk.tanhoa")
        # Keycloak's session is ended too (or signing in again would be this account at
        # once), and the page comes back with the reason.
        assert back.status_code == 303
        assert urlsplit(back.headers["location"]).path.endswith("/openid-connect/logout")
        assert COOKIE not in browser.cookies
        assert (await browser.get("/api/session")).status_code == 401
        async with httpx.AsyncClient(timeout=30) as keycloak:
            ended = await keycloak.get(back.headers["location"])
        assert ended.headers["location"] == "http://127.0.0.1:18005/?state=forbidden"


async def test_starting_a_sign_in_stores_nothing(common_settings: CommonSettings) -> None:
    # /login is open to anyone: the sign-in in progress travels in its sealed cookie.
    async with console_browser(console(common_settings)) as browser:
        before = await store_digest(common_settings, "console")
        for _ in range(20):
            assert (await browser.get("/login")).status_code == 303
        assert await store_digest(common_settings, "console") == before


async def test_a_callback_this_browser_did_not_start_is_refused(
    common_settings: CommonSettings,
) -> None:
    async with console_browser(console(common_settings)) as browser:
        start = await browser.get("/login")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        sealed = browser.cookies[LOGIN_COOKIE]
        browser.cookies.clear()  # another browser: it lacks the login cookie
        forged = await browser.get("/auth/callback", params={"state": state, "code": "x"})
        assert forged.status_code == 400 and forged.json()["code"] == "sign_in_failed"
        # This browser's cookie with another sign-in's state (login CSRF) is refused too.
        other = await browser.get(
            "/auth/callback",
            params={"state": "another-state", "code": "x"},
            headers={"Cookie": f"{LOGIN_COOKIE}={sealed}"},
        )
        assert other.status_code == 400 and other.json()["code"] == "sign_in_failed"
        assert COOKIE not in browser.cookies


async def test_a_replayed_callback_is_refused(common_settings: CommonSettings) -> None:
    async with console_browser(console(common_settings)) as browser:
        back = await keycloak_login(browser, "ops")
        assert back.status_code == 303 and COOKIE in browser.cookies
        assert LOGIN_COOKIE not in browser.cookies  # the sign-in's cookie is spent
        # Even with a copy of the sealed cookie it carried, Keycloak takes each code once.
        sent = back.request.headers["cookie"]
        assert sent.startswith(f"{LOGIN_COOKIE}=")
        replayed = await browser.get(str(back.request.url), headers={"Cookie": sent})
        assert replayed.status_code == 401 and replayed.json()["code"] == "sign_in_failed"


async def test_a_bearer_token_still_works_for_scripts(common_settings: CommonSettings) -> None:
    from shared.testing import auth_headers

    async with console_browser(console(common_settings)) as browser:
        me = await browser.get("/api/session", headers=auth_headers("operations"))
        assert me.json()["username"] == "ops" and me.json()["csrf_token"] is None
        desk = await browser.get("/api/session", headers=auth_headers("desk"))
        assert desk.status_code == 403
