"""The realm compose imports is one Keycloak accepts, and it issues what services need.

Imported into the devstack's real Keycloak under a name of its own (as ``--import-realm``
would import it, with random secrets as ``realm secrets`` makes them): a service's client
gets a token, and no password opens anything (no person, no password grant).
"""

from __future__ import annotations

import json
import secrets
from string import Template

import httpx

from infra.keycloak.realm import DEPLOYMENT_REALM_FILE, random_environment
from infra.keycloak.server import base_url
from infra.keycloak.sync import admin_token


def test_the_deployed_realm_imports_and_serves_clients_but_no_password() -> None:
    base, name = base_url(), f"deploy-{secrets.token_hex(3)}"
    values = random_environment()
    realm = json.loads(Template(DEPLOYMENT_REALM_FILE.read_text()).substitute(values))
    realm["realm"] = name
    token_url = f"{base}/realms/{name}/protocol/openid-connect/token"
    with httpx.Client(timeout=60) as http:
        http.headers["Authorization"] = f"Bearer {admin_token(http, base)}"
        http.post(f"{base}/admin/realms", json=realm).raise_for_status()
        try:
            del http.headers["Authorization"]
            service = {
                "grant_type": "client_credentials",
                "client_id": "routing",
                "client_secret": values["LT_KEYCLOAK_SECRET_ROUTING"],
            }
            issued = http.post(token_url, data=service)
            assert issued.status_code == 200, issued.text
            person = {
                "grant_type": "password",
                "client_id": "lienthong-cli",
                "username": "admin",
                "password": "dev-password",
            }
            refused = http.post(token_url, data=person)
            assert refused.status_code in (400, 401), refused.text
            assert refused.json()["error"] == "unauthorized_client"
        finally:
            http.headers["Authorization"] = f"Bearer {admin_token(http, base)}"
            http.delete(f"{base}/admin/realms/{name}")
