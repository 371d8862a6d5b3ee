"""Bring a running local Keycloak up to date with the realm kept as code.

devstack imports the realm when it starts Keycloak; a Keycloak that was already running
(started before the realm file changed) gets what is missing through the admin API:
clients, realm roles and users the file has and the realm lacks (partial import,
existing ones left as they are); each user of the file then holds exactly the file's
platform roles: one it lacks is granted, one the file no longer gives it is revoked (a
role taken away in the file, such as the metrics scraper's ``operations``, must not
stay with an account). Other changes to what already exists need a restart. Local
development only: the admin password is devstack's (``LT_KEYCLOAK_ADMIN_PASSWORD``,
default ``dev-admin``).
"""

from __future__ import annotations

import json
import os
from string import Template
from typing import Any

import httpx

from infra.keycloak.realm import REALM, REALM_FILE, dev_environment


def realm_with_values() -> dict[str, Any]:
    """The realm file with its ``${...}`` placeholders filled as devstack's import does."""
    values = {**dev_environment(), **os.environ}
    # Keycloak's placeholders are ${NAME}: Template's syntax; unknown ones stay as they are.
    document: dict[str, Any] = json.loads(Template(REALM_FILE.read_text()).safe_substitute(values))
    return document


def admin_token(http: httpx.Client, base: str) -> str:
    response = http.post(
        f"{base}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": os.environ.get("LT_KEYCLOAK_ADMIN", "admin"),
            "password": os.environ.get("LT_KEYCLOAK_ADMIN_PASSWORD", "dev-admin"),
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def sync(base: str) -> list[str]:
    """Add what the running realm lacks; returns what was added (for the log)."""
    realm = realm_with_values()
    with httpx.Client(timeout=30) as http:
        http.headers["Authorization"] = f"Bearer {admin_token(http, base)}"
        admin = f"{base}/admin/realms/{REALM}"
        answer = http.post(
            f"{admin}/partialImport",
            json={
                "ifResourceExists": "SKIP",
                "roles": realm["roles"],
                "clients": realm["clients"],
                "users": realm["users"],
            },
        )
        answer.raise_for_status()
        added = [
            f"{r['resourceType'].lower()} {r['resourceName']}"
            for r in answer.json().get("results", [])
            if r.get("action") == "ADDED"
        ]
        platform = {role["name"] for role in realm["roles"]["realm"]}
        for user in realm["users"]:
            added += _align_roles(http, admin, user, platform)
    return added


def _align_roles(
    http: httpx.Client, admin: str, user: dict[str, Any], platform: set[str]
) -> list[str]:
    """Grant the user the file's roles it lacks and revoke the platform roles the file
    does not give it (Keycloak's own default roles are left alone)."""
    [found] = http.get(
        f"{admin}/users", params={"username": user["username"], "exact": "true"}
    ).json() or [None]
    if found is None:
        return []
    mappings = f"{admin}/users/{found['id']}/role-mappings/realm"
    held = {role["name"] for role in http.get(mappings).json()}
    given = set(user.get("realmRoles", []))
    missing, extra = sorted(given - held), sorted((held & platform) - given)
    for method, names in (("POST", missing), ("DELETE", extra)):
        if names:
            roles = [http.get(f"{admin}/roles/{name}").json() for name in names]
            http.request(method, mappings, json=roles).raise_for_status()
    return [f"role {name} to {user['username']}" for name in missing] + [
        f"role {name} revoked from {user['username']}" for name in extra
    ]
