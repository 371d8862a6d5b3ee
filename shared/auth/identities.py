"""The realm's named identities and their development credentials, in one place.

``infra/keycloak/realm.py`` builds the realm from these; ``make run``'s demo, the
benchmark and the tests obtain tokens with them. The development secrets are public
and valid only against the local realm that ``infra/devstack.py`` starts.

Identity names: a demo user's role name (``desk``, ``officer``, ``province-officer``,
``operations``, ``auditor``, ``privacy``, ``admin``), ``agency:<unit code>``,
``service:<name>`` and ``monitoring``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Generator, Mapping
from dataclasses import dataclass

import httpx

from shared.auth.client import Credentials, TokenClient
from shared.auth.settings import AuthSettings
from shared.catalogue.loading import DEFAULT_DATA_DIR

DEV_PASSWORD = "dev-password"
PASSWORD_VARIABLE = "LT_KEYCLOAK_DEMO_PASSWORD"
CLI_CLIENT = "lienthong-cli"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    unit: str | None
    first_name: str
    last_name: str


# identity name -> the demo user behind it
DEMO_USERS = {
    "desk": DemoUser("desk.tanhoa", "desk", "001.21.31.H59", "Lan", "Nguyen"),
    "officer": DemoUser("officer.gocongdong", "officer", "000.01.31.H59", "Minh", "Tran"),
    "province-officer": DemoUser("officer.tiengiang", "officer", "000.00.01.H59", "Hoa", "Le"),
    "operations": DemoUser("ops", "operations", None, "Quang", "Pham"),
    "auditor": DemoUser("auditor", "auditor", None, "Thu", "Vo"),
    "admin": DemoUser("admin", "admin", None, "Son", "Dang"),
    # The data protection officer: answers data subject requests, nothing else.
    "privacy": DemoUser("dpo", "privacy", None, "Mai", "Hoang"),
}


def agency_client_id(unit: str) -> str:
    return f"agency-{unit}"


def client_secret_variable(client_id: str) -> str:
    return "LT_KEYCLOAK_SECRET_" + "".join(c if c.isalnum() else "_" for c in client_id.upper())


def dev_client_secret(client_id: str) -> str:
    """The development-only secret of a confidential client (public, never for deployment)."""
    return f"dev-secret-{client_id}"


def client_secret(client_id: str) -> str:
    """The secret from the environment (as Keycloak got it), else the development one."""
    return os.environ.get(client_secret_variable(client_id)) or dev_client_secret(client_id)


def credentials(identity: str) -> Credentials:
    """The credentials of a named identity (see the module docstring)."""
    if identity in DEMO_USERS:
        password = os.environ.get(PASSWORD_VARIABLE) or DEV_PASSWORD
        return Credentials(CLI_CLIENT, username=DEMO_USERS[identity].username, password=password)
    kind, _, name = identity.partition(":")
    client_id = {"agency": agency_client_id(name), "service": name}.get(kind, identity)
    return Credentials(client_id, client_secret=client_secret(client_id))


def unit_of(identity: str) -> str | None:
    """The unit an identity is bound to, when it is one."""
    if identity in DEMO_USERS:
        return DEMO_USERS[identity].unit
    kind, _, name = identity.partition(":")
    return name if kind == "agency" else None


_clients: dict[str, TokenClient] = {}


def token_client(settings: AuthSettings | None = None) -> TokenClient:
    """One caching token client per token endpoint (process-wide)."""
    url = (settings or AuthSettings()).backchannel_token_url
    return _clients.setdefault(url, TokenClient(url))


def bearer_token(identity: str, settings: AuthSettings | None = None) -> str:
    """A valid access token for a named identity (cached until shortly before expiry)."""
    return token_client(settings).token(credentials(identity))


def auth_headers(identity: str, settings: AuthSettings | None = None) -> dict[str, str]:
    """``Authorization: Bearer`` headers acting as a named identity."""
    return {"Authorization": f"Bearer {bearer_token(identity, settings)}"}


class ClientAuth(httpx.Auth):
    """Every request carries a token of one client (a service calling another).

    The token is fetched on first use and renewed shortly before it expires; the fetch
    is a short blocking call, once per token lifetime."""

    def __init__(self, credentials: Credentials, settings: AuthSettings | None = None) -> None:
        self.credentials = credentials
        self.settings = settings or AuthSettings()  # read once, not per request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = token_client(self.settings).token(self.credentials)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


class UnitAuth(httpx.Auth):
    """Bearer tokens from the realm for an HTTP client acting like the units' own systems.

    A request whose JSON body names a unit (``unit``, ``receiving_unit``) carries the
    token of that unit's agency client (``agency-<unit>``), or of the identity ``people``
    names for that unit (e.g. the desk user); any other request carries the token of
    ``identity``. A request that already has an Authorization header is sent as it is.
    Used by ``make run``'s demo and by the tests.
    """

    UNIT_FIELDS = ("unit", "receiving_unit")
    requires_request_body = True  # httpx reads a streamed body before auth_flow

    def __init__(
        self,
        identity: str,
        *,
        people: Mapping[str, str] | None = None,
        settings: AuthSettings | None = None,
    ) -> None:
        self.identity = identity
        own = unit_of(identity)
        self.people = {**({own: identity} if own else {}), **(people or {})}
        self.settings = settings or AuthSettings()  # read once, not per request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if "authorization" not in request.headers:
            token = bearer_token(self.identity_for(request), self.settings)
            request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def identity_for(self, request: httpx.Request) -> str:
        unit = self._body_unit(request)
        if unit is None or unit not in known_units():
            return self.identity
        return self.people.get(unit, f"agency:{unit}")

    def _body_unit(self, request: httpx.Request) -> str | None:
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return None
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        return next((body[f] for f in self.UNIT_FIELDS if isinstance(body.get(f), str)), None)


@functools.cache
def known_units() -> frozenset[str]:
    """Every unit code of every catalogue configuration (each has an agency client)."""
    codes: set[str] = set()
    for path in DEFAULT_DATA_DIR.glob("units-*.json"):
        codes.update(unit["code"] for unit in json.loads(path.read_text())["units"])
    return frozenset(codes)
