"""Signing in to the console: OpenID Connect authorisation code with PKCE, on the server.

``GET /login`` sends the browser to Keycloak's login page, the sign-in's state, PKCE
verifier and nonce sealed in a short-lived cookie (nothing is stored: anyone may call
it); ``GET /auth/callback`` exchanges the one-time code for tokens, which stay on the
server, and sets an httpOnly session cookie; ``POST /logout`` ends the session here and
at Keycloak. The JSON API admits an operator by that cookie (unsafe methods also need
the session's CSRF token in ``X-CSRF-Token``) or, for scripts, by ``Authorization:
Bearer``; either way the token must carry the operations role. Access tokens are
refreshed shortly before they expire; when Keycloak refuses the refresh token the
session is over (401 ``signed_out``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import weakref
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse, RedirectResponse

from console.config import SignInOptions
from console.domain import needs_refresh, safe_next
from console.logins import LOGIN_TTL_S, LoginSealer, PendingLogin
from console.oidc import OidcClient, SignInFailed, random_token
from console.sessions import Session, SessionStore, digest
from shared.auth import Forbidden, Principal, Role, Unauthenticated
from shared.auth.http import BEARER_SCHEME, authenticate
from shared.auth.keys import KeysUnavailable
from shared.http import DomainError
from shared.openapi import problem_response

COOKIE = "lt_console_session"
LOGIN_COOKIE = "lt_console_login"
CSRF_HEADER = "X-CSRF-Token"
CALLBACK = "/auth/callback"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORBIDDEN = "forbidden"  # the state a refused sign-in comes back to the page with
log = logging.getLogger(__name__)

router = APIRouter(tags=["sign-in"])
# The sign-in routes answer a browser: a redirect (303 See Other, its target in Location),
# or a problem when the sign-in failed or a session's action lacks its CSRF token.
REDIRECT: dict[int | str, dict[str, Any]] = {
    303: {
        "description": "Go on at the URL in `Location`.",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}
SIGN_IN_FAILED = problem_response(
    400, "The sign-in failed: not started in this browser, expired, or refused (`sign_in_failed`)."
)


@dataclass(frozen=True)
class SignIn:
    """What signing in needs, bound once in ``main``."""

    oidc: OidcClient
    store: SessionStore
    options: SignInOptions
    logins: LoginSealer


def signin_of(request: Request) -> SignIn:
    found: SignIn = request.app.state.signin
    return found


def _base(request: Request) -> str:
    """The console's own origin as the browser sees it (Keycloak checks the redirect)."""
    public = signin_of(request).options.public_url
    return (public or str(request.base_url)).rstrip("/")


def _cookie(response: Any, request: Request, name: str, value: str, **extra: Any) -> None:
    secure = _base(request).startswith("https://")
    response.set_cookie(name, value, httponly=True, samesite="lax", secure=secure, **extra)


def _same(sent: str, expected: str) -> bool:
    """Constant-time equality of a value the browser sent (any text) and ours."""
    return secrets.compare_digest(sent.encode(), expected.encode())


def _failed(message: str, status: int = 400) -> DomainError:
    return DomainError(message, code="sign_in_failed", status=status)


@router.get(
    "/login",
    summary="Sign in: go to the identity provider's login page",
    status_code=303,
    response_class=RedirectResponse,
    responses=REDIRECT,
)
async def login(request: Request, next: str | None = None) -> RedirectResponse:
    signin = signin_of(request)
    state, nonce, verifier = (random_token() for _ in range(3))
    pending = PendingLogin(state, verifier, nonce, safe_next(next), time.time() + LOGIN_TTL_S)
    target = signin.oidc.authorization_url(_base(request) + CALLBACK, state, nonce, verifier)
    response = RedirectResponse(target, status_code=303)
    sealed = signin.logins.seal(pending)
    _cookie(response, request, LOGIN_COOKIE, sealed, max_age=LOGIN_TTL_S, path=CALLBACK)
    return response


@router.get(
    CALLBACK,
    summary="Where the identity provider sends the browser back",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        **REDIRECT,
        400: SIGN_IN_FAILED,
        401: problem_response(
            401, "The identity provider refused the code, or its token (`sign_in_failed`)."
        ),
    },
)
async def callback(
    request: Request,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> RedirectResponse:
    if error:
        raise _failed(f"the identity provider answered {error}: {error_description or ''}")
    signin = signin_of(request)
    pending = signin.logins.unseal(request.cookies.get(LOGIN_COOKIE, ""), time.time())
    if pending is None or not _same(state or "", pending.state):
        raise _failed("this sign-in was not started in this browser or has expired; sign in again")
    if not code:
        raise _failed("the identity provider sent no code")
    try:
        tokens = await signin.oidc.exchange(code, pending.verifier, _base(request) + CALLBACK)
        await signin.oidc.check_id_token(tokens.id_token, pending.nonce)
    except SignInFailed as exc:
        raise _failed(f"sign-in refused: {exc}", 401) from exc
    except (httpx.HTTPError, KeysUnavailable) as exc:
        raise _unavailable() from exc
    caller = await authenticate(request, f"Bearer {tokens.access_token}")
    if Role.OPERATIONS not in caller.roles:
        # No session; end Keycloak's too, or signing in again would be this account at
        # once. The page, back with ?state=forbidden, says why and offers another login.
        log.warning("sign-in without the operations role", extra={"user": caller.name})
        after = signin.oidc.logout_url(tokens.id_token, _base(request) + "/", FORBIDDEN)
        return RedirectResponse(after, status_code=303)
    session = await signin.store.create(
        tokens, {"subject": caller.subject, "username": caller.name}
    )
    response = RedirectResponse(safe_next(pending.next), status_code=303)
    _cookie(response, request, COOKIE, session.session_id, path="/")
    response.delete_cookie(LOGIN_COOKIE, path=CALLBACK)
    return response


@router.post(
    "/logout",
    summary="Sign out here and at the identity provider",
    responses={403: problem_response(403, "A session's sign-out without its CSRF token (`csrf`).")},
)
async def logout(request: Request) -> JSONResponse:
    signin = signin_of(request)
    session_id = request.cookies.get(COOKIE)
    session = await signin.store.find(session_id) if session_id else None
    target = "/"
    if session is not None:
        _check_csrf(request, session)
        await signin.store.end(session.session_id)
        target = signin.oidc.logout_url(session.tokens.id_token, _base(request) + "/")
    response = JSONResponse({"redirect": target})
    response.delete_cookie(COOKIE, path="/")
    return response


async def operator(
    request: Request, authorization: Annotated[str | None, Security(BEARER_SCHEME)]
) -> Principal:
    """The signed-in operator (session cookie) or a bearer token's caller; operations only."""
    if authorization:
        caller = await authenticate(request, authorization)
    else:
        caller = await session_caller(request)
    if Role.OPERATIONS not in caller.roles:
        raise Forbidden("this needs one of the roles: operations")
    request.state.principal = caller
    return caller


async def session_caller(request: Request) -> Principal:
    """The caller behind the session cookie, its access token refreshed when near expiry."""
    signin = signin_of(request)
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise Unauthenticated("sign in at /login (or send Authorization: Bearer <token>)")
    session = await signin.store.find(session_id)
    if session is None:
        raise Unauthenticated("the session has ended; sign in again", code="signed_out")
    if request.method not in SAFE_METHODS:
        _check_csrf(request, session)
    session = await _fresh(signin, session)
    request.state.session = session
    return await authenticate(request, f"Bearer {session.tokens.access_token}")


def _check_csrf(request: Request, session: Session) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not _same(sent, session.csrf):
        raise Forbidden(f"missing or wrong {CSRF_HEADER}", code="csrf")


# One refresh at a time per session in this process: the page's parallel requests share
# it (Keycloak may be set to accept each refresh token once).
_refreshing: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _stale(signin: SignIn, session: Session) -> bool:
    margin = signin.options.refresh_margin_s
    return needs_refresh(session.tokens.access_expires_at, time.time(), margin)


async def _fresh(signin: SignIn, session: Session) -> Session:
    if not _stale(signin, session):
        return session
    lock = _refreshing.setdefault(digest(session.session_id), asyncio.Lock())
    async with lock:
        current = await signin.store.find(session.session_id)
        if current is None:
            raise Unauthenticated("the session has ended; sign in again", code="signed_out")
        if current.tokens.access_token != session.tokens.access_token:
            return current  # another request refreshed it meanwhile
        return await _refresh(signin, current)


async def _refresh(signin: SignIn, session: Session) -> Session:
    tokens = session.tokens
    try:
        if not tokens.refresh_token:
            raise SignInFailed("no refresh token")
        renewed = await signin.store.renew(session, await signin.oidc.refresh(tokens.refresh_token))
    except SignInFailed:  # the Keycloak session ended (signed out, idle, revoked)
        await signin.store.end(session.session_id)
        raise Unauthenticated("the session has ended; sign in again", code="signed_out") from None
    except httpx.HTTPError as exc:
        raise _unavailable() from exc
    if renewed is None:
        raise Unauthenticated("signed out: sign in at /login", code="signed_out")
    return renewed


def _unavailable() -> DomainError:
    return DomainError(
        "the identity provider cannot be reached; retry later",
        code="identity_provider_unavailable",
        status=503,
    )


@router.get("/api/session", summary="Who is signed in, and the CSRF token for actions")
async def who(request: Request, caller: Annotated[Principal, Depends(operator)]) -> dict[str, Any]:
    session: Session | None = getattr(request.state, "session", None)
    return {
        "username": caller.name,
        "subject": caller.subject,
        "roles": sorted(role.value for role in caller.roles),
        "csrf_token": session.csrf if session else None,
        "expires_at": session.tokens.access_expires_at if session else None,
    }
