"""The local Keycloak's accounts hold exactly the realm file's platform roles after a sync.

Against the devstack's real Keycloak: the metrics scraper's service account is given a
role the file took away (``operations``) and loses one the file gives (``service``), as an
account provisioned from an older realm file would be; the sync puts both right.
"""

from __future__ import annotations

from typing import Any

import httpx

from infra.keycloak.realm import MONITORING_CLIENT, REALM
from infra.keycloak.server import base_url
from infra.keycloak.sync import admin_token, realm_with_values, sync

ACCOUNT = f"service-account-{MONITORING_CLIENT}"


def platform_roles_held(http: httpx.Client, mappings: str) -> set[str]:
    platform = {role["name"] for role in realm_with_values()["roles"]["realm"]}
    return {role["name"] for role in http.get(mappings).json()} & platform


def change_roles(http: httpx.Client, admin: str, mappings: str, method: str, name: str) -> None:
    role: dict[str, Any] = http.get(f"{admin}/roles/{name}").json()
    http.request(method, mappings, json=[role]).raise_for_status()


def test_a_sync_grants_missing_roles_and_revokes_those_the_file_took_away() -> None:
    base = base_url()
    [given] = [u["realmRoles"] for u in realm_with_values()["users"] if u["username"] == ACCOUNT]
    with httpx.Client(timeout=30) as http:
        http.headers["Authorization"] = f"Bearer {admin_token(http, base)}"
        admin = f"{base}/admin/realms/{REALM}"
        [user] = http.get(f"{admin}/users", params={"username": ACCOUNT, "exact": "true"}).json()
        mappings = f"{admin}/users/{user['id']}/role-mappings/realm"
        change_roles(http, admin, mappings, "POST", "operations")
        change_roles(http, admin, mappings, "DELETE", "service")
        assert platform_roles_held(http, mappings) == {"operations"}

        changed = sync(base)

        assert f"role operations revoked from {ACCOUNT}" in changed
        assert f"role service to {ACCOUNT}" in changed
        assert platform_roles_held(http, mappings) == set(given) == {"service"}
        assert sync(base) == []  # nothing left to change
