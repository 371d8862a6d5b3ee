"""The Keycloak realm kept as code: the committed file matches its generator and holds
what the platform relies on (roles, unit-bound clients and users, no secret in clear)."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.keycloak import realm


def load() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(realm.REALM_FILE.read_text())
    return document


def test_committed_realms_match_their_generator() -> None:
    for path, development in realm.RENDERED.items():
        assert path.read_text() == realm.render(development), (
            "run: .venv/bin/python -m infra.keycloak.realm write"
        )


def test_the_deployed_realm_has_no_people_and_its_secrets_file_fills_it() -> None:
    """Compose imports a realm without the demo users: their one shared password would
    open admin, operations, privacy and auditor accounts of no real person. What is
    left to fill is the clients' secrets, which ``realm secrets`` prints."""
    deployed = json.loads(realm.DEPLOYMENT_REALM_FILE.read_text())
    assert all("serviceAccountClientId" in user for user in deployed["users"])
    assert not any("credentials" in user for user in deployed["users"])
    # Nor a password grant: people sign in on Keycloak's page (device flow on the CLI).
    assert not any(c.get("directAccessGrantsEnabled") for c in deployed["clients"])
    assert {c["clientId"] for c in deployed["clients"]} == {
        c["clientId"] for c in load()["clients"]
    }
    text = realm.DEPLOYMENT_REALM_FILE.read_text()
    assert placeholders(text) == set(realm.random_environment())
    assert placeholders(realm.REALM_FILE.read_text()) == set(realm.dev_environment())


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{(LT_KEYCLOAK_[A-Z0-9_]+)\}", text))


def test_realm_has_the_platform_roles() -> None:
    names = {role["name"] for role in load()["roles"]["realm"]}
    assert names == {
        "desk",
        "officer",
        "operations",
        "auditor",
        "privacy",
        "admin",
        "agency",
        "service",
        "witness-submitter",
        "payment-gateway",
    }


def test_narrow_roles_are_held_by_their_one_client() -> None:
    def holders(role: str) -> list[str]:
        return [u["username"] for u in load()["users"] if role in u["realmRoles"]]

    assert holders("witness-submitter") == ["service-account-audit"]
    assert holders("payment-gateway") == ["service-account-payment-gateway"]
    [gateway] = [u for u in load()["users"] if u["username"] == "service-account-payment-gateway"]
    assert gateway["realmRoles"] == ["payment-gateway"]  # not a platform service


def test_the_metrics_scraper_holds_the_service_role_alone() -> None:
    """Prometheus's client scrapes /metrics, which the service role opens; with operations
    (as it had) its secret also replayed dead letters through the console, redelivered
    notifications and read every dossier and delivery record."""
    [scraper] = [u for u in load()["users"] if u["username"] == "service-account-monitoring"]
    assert scraper["realmRoles"] == ["service"]


def test_only_the_data_protection_officer_holds_the_privacy_role() -> None:
    """Data subject requests answer with personal data: no client, no operations or desk
    account, only the demo data protection officer (and it holds nothing else)."""
    holders = [u for u in load()["users"] if "privacy" in u["realmRoles"]]
    assert [(u["username"], u["realmRoles"]) for u in holders] == [("dpo", ["privacy"])]
    assert "serviceAccountClientId" not in holders[0]


def test_every_unit_has_an_agency_client_carrying_its_unit_claim() -> None:
    clients = {client["clientId"]: client for client in load()["clients"]}
    for unit in realm.catalogue_units():
        mappers = clients[f"agency-{unit}"]["protocolMappers"]
        claims = {m["config"].get("claim.name"): m["config"].get("claim.value") for m in mappers}
        assert claims["unit"] == unit


def test_every_token_carries_the_services_audience() -> None:
    for client in load()["clients"]:
        audiences = [
            m["config"]["included.custom.audience"]
            for m in client["protocolMappers"]
            if m["protocolMapper"] == "oidc-audience-mapper"
        ]
        assert audiences == [realm.AUDIENCE], client["clientId"]


def test_demo_users_are_bound_to_their_unit_and_role() -> None:
    users = {user["username"]: user for user in load()["users"]}
    assert users["desk.tanhoa"]["attributes"] == {"unit": ["001.21.31.H59"]}
    assert users["desk.tanhoa"]["realmRoles"] == ["desk"]
    assert users["auditor"]["attributes"] == {}


def test_no_secret_or_password_is_written_in_clear() -> None:
    text = realm.REALM_FILE.read_text()
    assert "dev-" not in text
    for client in load()["clients"]:
        if not client["publicClient"]:
            assert client["secret"].startswith("${LT_KEYCLOAK_SECRET_")
    assert set(realm.random_environment()) <= set(realm.dev_environment())


def test_the_console_signs_operators_in_with_code_and_pkce_only() -> None:
    [client] = [c for c in load()["clients"] if c["clientId"] == "console-web"]
    assert not client["publicClient"] and client["secret"].startswith("${")
    assert client["standardFlowEnabled"]
    assert not any(
        client[flow]
        for flow in ("implicitFlowEnabled", "directAccessGrantsEnabled", "serviceAccountsEnabled")
    )
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    # Loopback origins without a port: Keycloak admits any port there (RFC 8252, 7.3).
    assert client["redirectUris"] == [
        "http://127.0.0.1/auth/callback",
        "http://localhost/auth/callback",
    ]
    assert client["attributes"]["post.logout.redirect.uris"].split("##") == [
        "http://127.0.0.1/",
        "http://localhost/",
    ]
