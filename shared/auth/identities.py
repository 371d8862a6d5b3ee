"""The realm's named identities and their development credentials, in one place.

``infra/keycloak/realm.py`` builds the realm from these; ``make run``'s demo, the
benchmark and the tests obtain tokens with them. The development secrets are public
and valid only against the local realm that ``infra/devstack.py`` starts.

Identity names: a demo user's role name (``desk``, ``officer``, ``province-officer``,
``operations``, ``auditor``, ``admin``), ``agency:<unit code>``, ``service:<name>`` and
``monitoring``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from shared.auth.client import Credentials, TokenClient
from shared.auth.settings import AuthSettings

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
    url = (settings or AuthSettings()).token_url
    return _clients.setdefault(url, TokenClient(url))


def bearer_token(identity: str, settings: AuthSettings | None = None) -> str:
    """A valid access token for a named identity (cached until shortly before expiry)."""
    return token_client(settings).token(credentials(identity))


def auth_headers(identity: str, settings: AuthSettings | None = None) -> dict[str, str]:
    """``Authorization: Bearer`` headers acting as a named identity."""
    return {"Authorization": f"Bearer {bearer_token(identity, settings)}"}
