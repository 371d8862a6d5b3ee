"""Bearer tokens on every route: the FastAPI dependency, its errors and the OpenAPI scheme.

A route declares who may call it with ``allow(...)``::

    @router.get("/v1/flows")
    async def flows(caller: Caller = allow(Role.OPERATIONS)) -> ...

    @router.post("/v1/dossiers/{code}/stop", dependencies=[allow(Role.OFFICER)])

No token (or a malformed ``Authorization``) answers 401 with ``WWW-Authenticate:
Bearer``; an invalid or expired token 401 ``invalid_token``; a valid token without one
of the roles 403 ``forbidden``; a body naming another unit than the caller's 403
``wrong_unit`` (``acting_unit``). All are ``application/problem+json``. When the realm's
keys cannot be fetched the answer is 503 ``identity_provider_unavailable``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2

from shared.auth.keys import KeysUnavailable
from shared.auth.principal import Principal, Role
from shared.auth.settings import AuthSettings
from shared.auth.verify import InvalidToken, TokenVerifier
from shared.http import DomainError, problem

EVERYONE = frozenset(Role)
SCHEME_NAME = "keycloak"
# The URLs are placeholders: install_auth() writes the realm's real ones into the document.
_SCHEME = OAuth2(
    flows=OAuthFlowsModel(
        authorizationCode=OAuthFlowAuthorizationCode(authorizationUrl="/auth", tokenUrl="/token"),
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/token"),
    ),
    scheme_name=SCHEME_NAME,
    description="Access token from the realm's Keycloak (see README, 'Who may call what').",
    auto_error=False,
)


# For routes that accept a bearer token among other ways in (the console's session).
BEARER_SCHEME = _SCHEME


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


def verifier_of(app: FastAPI) -> TokenVerifier:
    verifier: TokenVerifier = app.state.token_verifier
    return verifier


async def authenticate(request: Request, authorization: str | None) -> Principal:
    """The caller behind the ``Authorization: Bearer`` header, or 401."""
    if not authorization:
        raise Unauthenticated("an access token is required (Authorization: Bearer <token>)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    try:
        return await verifier_of(request.app).verify(token.strip())
    except KeysUnavailable as exc:
        raise DomainError(
            "the identity provider's keys are unavailable; retry later",
            code="identity_provider_unavailable",
            status=503,
        ) from exc
    except InvalidToken as exc:
        raise Unauthenticated(f"invalid access token: {exc}", code="invalid_token") from exc


def allow(*roles: Role) -> Any:
    """A dependency admitting a caller holding at least one of ``roles``; yields the Principal."""
    wanted = frozenset(roles)
    names = ", ".join(sorted(role.value for role in wanted))

    async def caller(
        request: Request, authorization: Annotated[str | None, Security(_SCHEME)]
    ) -> Principal:
        principal = await authenticate(request, authorization)
        if not principal.has_any(wanted):
            raise Forbidden(f"this needs one of the roles: {names}")
        request.state.principal = principal
        return principal

    return Depends(caller)


def acting_unit(
    caller: Principal,
    named: str | None,
    acts_for: Callable[[str, str], bool] | None = None,
    *,
    field: str = "unit",
) -> str:
    """The unit the caller acts as: the token's. A body naming another unit is refused
    unless ``acts_for(caller_unit, named)`` (a successor acting for a unit it took over)."""
    if caller.unit is None:
        raise Forbidden("the caller is bound to no unit", code="no_unit")
    if named is None or named == caller.unit:
        return caller.unit
    if acts_for is None or not acts_for(caller.unit, named):
        raise Forbidden(
            f"the caller acts for unit {caller.unit}, not {named}", code="wrong_unit", field=field
        )
    return caller.unit


def install_auth(
    app: FastAPI, settings: AuthSettings, verifier: TokenVerifier | None = None
) -> None:
    """Validate tokens for this app, answer 401 with WWW-Authenticate, document the scheme."""
    app.state.token_verifier = verifier or TokenVerifier(settings)

    @app.exception_handler(Unauthenticated)
    async def on_unauthenticated(_: Request, exc: Unauthenticated) -> JSONResponse:
        response = problem(exc.status, exc.code, exc.message)
        error = ', error="invalid_token"' if exc.code == "invalid_token" else ""
        response.headers["WWW-Authenticate"] = f'Bearer realm="lienthong"{error}'
        return response

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = default_openapi()
            flows = document["components"]["securitySchemes"][SCHEME_NAME]["flows"]
            flows["authorizationCode"]["authorizationUrl"] = settings.authorization_url
            flows["authorizationCode"]["tokenUrl"] = settings.token_url
            flows["clientCredentials"]["tokenUrl"] = settings.token_url
        return app.openapi_schema or document

    app.openapi = openapi  # type: ignore[method-assign]
