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
    ADMIN = "admin"
    AGENCY = "agency"
    SERVICE = "service"
    WITNESS_SUBMITTER = "witness-submitter"
    PAYMENT_GATEWAY = "payment-gateway"


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
        """Roles from Keycloak's ``realm_access.roles`` (unknown roles ignored)."""
        realm_access = claims.get("realm_access")
        names = realm_access.get("roles", []) if isinstance(realm_access, dict) else []
        known = {role.value for role in Role}
        unit = claims.get("unit")
        return cls(
            subject=str(claims.get("sub", "")),
            roles=frozenset(Role(name) for name in names if name in known),
            unit=unit if isinstance(unit, str) and unit else None,
            client_id=claims.get("azp") if isinstance(claims.get("azp"), str) else None,
            username=claims.get("preferred_username")
            if isinstance(claims.get("preferred_username"), str)
            else None,
        )

    @property
    def name(self) -> str:
        """How the caller is named in records (user name, else client, else subject)."""
        return self.username or self.client_id or self.subject

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)
