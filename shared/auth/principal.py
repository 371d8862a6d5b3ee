"""Who is calling: the subject, roles and unit taken from a validated access token."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Realm roles of the platform (see README, "Who may call what")."""

    DESK = "desk"
    OFFICER = "officer"
    OPERATIONS = "operations"
    AUDITOR = "auditor"
    PRIVACY = "privacy"  # data protection officer: data subject requests
    ADMIN = "admin"
    AGENCY = "agency"
    SERVICE = "service"
    WITNESS_SUBMITTER = "witness-submitter"
    PAYMENT_GATEWAY = "payment-gateway"


class MalformedClaim(ValueError):
    """A claim that decides access has an unexpected type: the token is not one of ours."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``unit`` is the unit it is bound to, if any."""

    subject: str
    roles: frozenset[Role]
    unit: str | None
    client_id: str | None
    username: str | None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Roles from Keycloak's ``realm_access.roles`` (unknown roles ignored), the unit
        from ``unit``; MalformedClaim when either is present with another type."""
        known = {role.value for role in Role}
        return cls(
            subject=str(claims.get("sub", "")),
            roles=frozenset(Role(name) for name in _role_names(claims) if name in known),
            unit=_unit(claims) or None,
            client_id=_text(claims.get("azp")),
            username=_text(claims.get("preferred_username")),
        )

    @property
    def name(self) -> str:
        """How the caller is named in records (user name, else client, else subject)."""
        return self.username or self.client_id or self.subject

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)


# Access claims of the wrong type refuse the token rather than read as "none": a mapper
# set up wrong is seen at once, and no TypeError reaches the caller as a 500.
def _role_names(claims: dict[str, Any]) -> list[str]:
    realm_access = claims.get("realm_access")
    if realm_access is None:
        return []
    if not isinstance(realm_access, dict):
        raise MalformedClaim("realm_access is not an object")
    names = realm_access.get("roles")
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise MalformedClaim("realm_access.roles is not a list of strings")
    return names


def _unit(claims: dict[str, Any]) -> str | None:
    unit = claims.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise MalformedClaim("unit is not a string")
    return unit


def _text(value: Any) -> str | None:
    """A claim that only names the caller (in records): another type is ignored."""
    return value if isinstance(value, str) else None
