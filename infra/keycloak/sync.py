"""Bring a running local Keycloak up to date with the realm kept as code.

devstack imports the realm when it starts Keycloak; a Keycloak that was already running
(started before the realm file changed) gets what is missing through the admin API:
clients, realm roles and users the file has and the realm lacks (partial import,
existing ones left as they are), and realm roles the file gives a user who lacks them.
Changes to what already exists need a restart. Local development only: the admin
password is devstack's (``LT_KEYCLOAK_ADMIN_PASSWORD``, default ``dev-admin``).
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


def _admin_token(http: httpx.Client, base: str) -> str:
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
        http.headers["Authorization"] = f"Bearer {_admin_token(http, base)}"
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
        for user in realm["users"]:
            added += _grant_missing_roles(http, admin, user)
    return added


def _grant_missing_roles(http: httpx.Client, admin: str, user: dict[str, Any]) -> list[str]:
    [found] = http.get(
        f"{admin}/users", params={"username": user["username"], "exact": "true"}
    ).json() or [None]
    if found is None:
        return []
    mappings = f"{admin}/users/{found['id']}/role-mappings/realm"
    held = {role["name"] for role in http.get(mappings).json()}
    missing = [name for name in user.get("realmRoles", []) if name not in held]
    if missing:
        roles = [http.get(f"{admin}/roles/{name}").json() for name in missing]
        http.post(mappings, json=roles).raise_for_status()
    return [f"role {name} to {user['username']}" for name in missing]
