"""Identity and access: bearer access tokens from the realm's Keycloak, validated offline.

``allow(roles...)`` guards a route and yields the caller (``Principal``: roles and unit
from the token); ``acting_unit`` takes the acting unit from the token and refuses a
body naming another one. See README, "Who may call what".
"""

from shared.auth.http import EVERYONE, Forbidden, Unauthenticated, acting_unit, allow, install_auth
from shared.auth.principal import Principal, Role
from shared.auth.settings import AuthSettings
from shared.auth.verify import InvalidToken, TokenVerifier

__all__ = [
    "EVERYONE",
    "AuthSettings",
    "Forbidden",
    "InvalidToken",
    "Principal",
    "Role",
    "TokenVerifier",
    "Unauthenticated",
    "acting_unit",
    "allow",
    "install_auth",
]
