"""The ``lienthong`` Keycloak realm, kept as code: ``python -m infra.keycloak.realm write``.

Generates ``infra/keycloak/realm-lienthong.json``, which ``infra/devstack.py`` imports,
and ``realm-lienthong-deployment.json``, the same realm without the demo users, which
docker-compose imports with ``--import-realm`` (both committed; a unit test fails when
they drift from this module or from the catalogue).

What the realm holds:

* realm roles ``desk``, ``officer``, ``operations``, ``auditor``, ``privacy`` (the data
  protection officer), ``admin`` (people),
  ``agency`` (agency systems), ``service`` (the platform's own services) and
  ``witness-submitter`` (audit's client: it alone submits checkpoints to witnesses);
* a confidential client (client credentials) per service, for the metrics scraper
  (``monitoring``, role service: ``/metrics`` only), for a payment gateway's adapter
  (``payment-gateway``, role payment-gateway: routing's payment callback only), for
  the console (``console``, operations and auditor) and per agency system, one
  agency client per unit of the catalogue (``agency-<unit code>``), each carrying its
  unit in a ``unit`` claim;
* demo users for a commune desk, a district officer, a province officer, an operations
  user, an auditor, a data protection officer (``dpo``) and an admin, each bound to
  their unit by a ``unit`` attribute (local file only: a deployment's people are
  created in Keycloak by its administrators);
* mappers that put the audience ``lienthong`` and the ``unit`` claim in every access
  token; realm roles travel in ``realm_access.roles`` (Keycloak's default scopes);
* the console's sign-in client ``console-web`` (confidential, authorisation code with
  PKCE, redirects to the console's ``/auth/callback``);
* public clients for Swagger UI (authorisation code + PKCE) and for the command line
  (password grant and device flow).

Every secret and password is a Keycloak placeholder ``${LT_KEYCLOAK_...}`` resolved from
the environment at import: ``infra/devstack.py`` supplies the development values of
``dev_environment()`` (public, for local development only, overridable by the
environment); docker-compose reads real ones from ``keycloak-secrets.env``, generated
with ``python -m infra.keycloak.realm secrets > keycloak-secrets.env``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any

from shared.auth.identities import (
    CLI_CLIENT,
    DEMO_USERS,
    DEV_PASSWORD,
    PASSWORD_VARIABLE,
    DemoUser,
    agency_client_id,
    client_secret_variable,
    dev_client_secret,
    known_units,
)

# Re-exported: the realm's naming conventions live in shared.auth.identities.
__all__ = [
    "agency_client_id",
    "build_realm",
    "catalogue_units",
    "client_secret_variable",
    "dev_client_secret",
    "dev_environment",
    "render",
]

REALM = "lienthong"
AUDIENCE = "lienthong"
REALM_FILE = Path(__file__).resolve().parent / "realm-lienthong.json"
# What compose imports: the same realm without the demo users, whose one shared password
# would otherwise open admin, operations, privacy and auditor accounts of no real person.
DEPLOYMENT_REALM_FILE = REALM_FILE.with_name("realm-lienthong-deployment.json")
SERVICES = ("intake", "routing", "notification", "audit")
# Prometheus scrapes /metrics with client credentials (its scrape config's oauth2 block).
MONITORING_CLIENT = "monitoring"
# A payment gateway's adapter reports payments to routing, and may do nothing else.
PAYMENT_GATEWAY_CLIENT = "payment-gateway"
# The operations console reads the other services' views and the audit log on its own.
CONSOLE_CLIENT = "console"
# Operators sign in to the console through this client (authorisation code + PKCE, run by
# the console's server; the tokens never reach the browser). A separate client from
# ``console`` so that a person's token never carries the console's own client id (a
# Kafka principal is a token's azp).
CONSOLE_SIGNIN_CLIENT = "console-web"
# Loopback redirect URIs without a port admit any port (RFC 8252, 7.3; Keycloak honours
# it): make run's console on 8005 and the tests' consoles on free ports. A deployment
# adds its console's https URL (docs/console.md).
CONSOLE_ORIGINS = ("http://127.0.0.1", "http://localhost")
ROLES = {
    "desk": "One-stop desk staff: submit dossiers and act for their own unit.",
    "officer": "Unit officer: their unit's inbox and actions.",
    "operations": "Operations: flows, overdue dossiers, dead letters, metrics views.",
    "auditor": "Auditor: the audit API, read only.",
    "privacy": "Data protection officer: data subject access requests (intake, notification).",
    "admin": "Administrator: units, procedures, webhook subscriptions.",
    "agency": "An agency system bound to one unit (client credentials).",
    "service": "One of the platform's own services (client credentials).",
    "witness-submitter": "May submit the audit log's checkpoints to the witnesses.",
    "payment-gateway": "A payment gateway's adapter: reports payments (routing's callback).",
}
# Every /docs make run serves: the five services (8001-8005) and the two witnesses.
SWAGGER_PORTS = (8001, 8002, 8003, 8004, 8005, 8011, 8012)
# The audit service alone submits checkpoints to the witnesses (docs/witness.md).
EXTRA_ROLES = {"audit": ("witness-submitter",)}


def placeholder(variable: str) -> str:
    """A Keycloak import placeholder, resolved from the environment at import."""
    return "${" + variable + "}"


def catalogue_units() -> list[str]:
    """Every unit code of every configuration, sorted."""
    return sorted(known_units())


def mapper(name: str, kind: str, config: dict[str, str]) -> dict[str, Any]:
    claims = {"access.token.claim": "true", "id.token.claim": "false"}
    return {
        "name": name,
        "protocol": "openid-connect",
        "protocolMapper": kind,
        "consentRequired": False,
        "config": {**config, **claims, "introspection.token.claim": "true"},
    }


def confidential_client(client_id: str, description: str, *roles: str) -> dict[str, Any]:
    return {
        "clientId": client_id,
        "description": description,
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": placeholder(client_secret_variable(client_id)),
        "serviceAccountsEnabled": True,
        "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "implicitFlowEnabled": False,
        "protocolMappers": [audience_mapper()],
        "_roles": list(roles),
    }


def agency_client(unit: str) -> dict[str, Any]:
    client = confidential_client(agency_client_id(unit), f"Agency system of unit {unit}", "agency")
    client["protocolMappers"] = [
        audience_mapper(),
        mapper(
            "unit",
            "oidc-hardcoded-claim-mapper",
            {"claim.name": "unit", "claim.value": unit, "jsonType.label": "String"},
        ),
    ]
    return client


def public_clients(password_grant: bool = True) -> list[dict[str, Any]]:
    """Swagger UI's and the command line's; the password grant (which skips Keycloak's
    login page, and so any second factor) for local development only."""
    swagger_redirects = [
        f"http://{host}:{port}/docs/oauth2-redirect"
        for port in SWAGGER_PORTS
        for host in ("127.0.0.1", "localhost")
    ]
    common = {
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": True,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": False,
        "protocolMappers": [audience_mapper(), unit_attribute_mapper()],
    }
    return [
        {
            **common,
            "clientId": "swagger-ui",
            "description": "Swagger UI of the services: authorisation code with PKCE.",
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": False,
            "redirectUris": swagger_redirects,
            "webOrigins": ["+"],
            "attributes": {"pkce.code.challenge.method": "S256"},
        },
        {
            **common,
            "clientId": CLI_CLIENT,
            "description": "Command line: device flow; password grant for local development.",
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": password_grant,
            "redirectUris": [],
            "webOrigins": [],
            "attributes": {"oauth2.device.authorization.grant.enabled": "true"},
        },
    ]


def console_signin_client() -> dict[str, Any]:
    """Confidential, authorisation code only, PKCE S256 required, loopback redirects."""
    client = confidential_client(
        CONSOLE_SIGNIN_CLIENT, "Operations console sign-in (authorisation code + PKCE)"
    )
    del client["_roles"]
    return {
        **client,
        "serviceAccountsEnabled": False,
        "standardFlowEnabled": True,
        "redirectUris": [f"{origin}/auth/callback" for origin in CONSOLE_ORIGINS],
        "webOrigins": [],
        "attributes": {
            "pkce.code.challenge.method": "S256",
            "post.logout.redirect.uris": "##".join(f"{o}/" for o in CONSOLE_ORIGINS),
        },
        "protocolMappers": [audience_mapper(), unit_attribute_mapper()],
    }


def audience_mapper() -> dict[str, Any]:
    """Every token is meant for the platform's services."""
    return mapper("audience", "oidc-audience-mapper", {"included.custom.audience": AUDIENCE})


def unit_attribute_mapper() -> dict[str, Any]:
    """A person's unit comes from their ``unit`` attribute."""
    return mapper(
        "unit",
        "oidc-usermodel-attribute-mapper",
        {"user.attribute": "unit", "claim.name": "unit", "jsonType.label": "String"},
    )


def user(demo: DemoUser) -> dict[str, Any]:
    return {
        "username": demo.username,
        "enabled": True,
        "email": f"{demo.username}@lienthong.example",
        "emailVerified": True,
        "firstName": demo.first_name,
        "lastName": demo.last_name,
        "attributes": {"unit": [demo.unit]} if demo.unit else {},
        "credentials": [
            {
                "type": "password",
                "value": placeholder(PASSWORD_VARIABLE),
                "temporary": False,
            }
        ],
        "realmRoles": [demo.role],
    }


def service_account_user(client: dict[str, Any]) -> dict[str, Any]:
    return {
        "username": f"service-account-{client['clientId']}".lower(),
        "enabled": True,
        "serviceAccountClientId": client["clientId"],
        "realmRoles": client["_roles"],
    }


# Unit is an attribute outside the declared user profile: let administrators manage it.
USER_PROFILE = {
    "attributes": [
        {"name": "username", "validations": {"length": {"min": 3, "max": 255}}},
        {"name": "email", "validations": {"email": {}, "length": {"max": 255}}},
        {"name": "firstName", "validations": {"length": {"max": 255}}},
        {"name": "lastName", "validations": {"length": {"max": 255}}},
    ],
    "unmanagedAttributePolicy": "ADMIN_EDIT",
}


def confidential_client_ids() -> list[str]:
    agencies = (agency_client_id(unit) for unit in catalogue_units())
    return [
        *SERVICES,
        MONITORING_CLIENT,
        PAYMENT_GATEWAY_CLIENT,
        CONSOLE_CLIENT,
        CONSOLE_SIGNIN_CLIENT,
        *agencies,
    ]


def dev_environment() -> dict[str, str]:
    """The development value of every placeholder (public: local development only)."""
    values = {client_secret_variable(c): dev_client_secret(c) for c in confidential_client_ids()}
    return {**values, PASSWORD_VARIABLE: DEV_PASSWORD}


def random_environment() -> dict[str, str]:
    """Fresh random client secrets, for a deployment's secrets file (its realm has no
    demo users, so no demo password)."""
    variables = [client_secret_variable(c) for c in confidential_client_ids()]
    return {variable: secrets.token_urlsafe(32) for variable in variables}


def build_realm(development: bool = True) -> dict[str, Any]:
    clients = [
        *(
            confidential_client(name, f"The {name} service", "service", *EXTRA_ROLES.get(name, ()))
            for name in SERVICES
        ),
        # /metrics only: operations would also let the scraper's secret (a file in
        # Prometheus's container, whose UI has no login) replay dead letters, redeliver
        # notifications and read every dossier.
        confidential_client(MONITORING_CLIENT, "Metrics scraper (Prometheus)", "service"),
        confidential_client(
            PAYMENT_GATEWAY_CLIENT, "Payment gateway adapter (payments)", "payment-gateway"
        ),
        confidential_client(
            CONSOLE_CLIENT, "Operations console (reads views and the log)", "operations", "auditor"
        ),
        *(agency_client(unit) for unit in catalogue_units()),
    ]
    users = [user(demo) for demo in DEMO_USERS.values()] if development else []
    users += [service_account_user(client) for client in clients]
    for client in clients:
        del client["_roles"]
    return {
        "realm": REALM,
        "displayName": "Liên thông",
        "enabled": True,
        "sslRequired": "external",
        "accessTokenLifespan": 900,
        "registrationAllowed": False,
        "bruteForceProtected": True,
        "roles": {"realm": [{"name": name, "description": text} for name, text in ROLES.items()]},
        "clients": [*clients, console_signin_client(), *public_clients(password_grant=development)],
        "users": users,
        "components": {
            "org.keycloak.userprofile.UserProfileProvider": [
                {
                    "providerId": "declarative-user-profile",
                    "subComponents": {},
                    "config": {"kc.user.profile.config": [json.dumps(USER_PROFILE)]},
                }
            ]
        },
    }


def render(development: bool = True) -> str:
    return json.dumps(build_realm(development), indent=2, ensure_ascii=False) + "\n"


# Each file the generator writes, and whether it is the development realm (demo users,
# the command line's password grant) or the deployed one.
RENDERED = {REALM_FILE: True, DEPLOYMENT_REALM_FILE: False}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.keycloak.realm",
        description="check (default): the realm file is what the catalogue renders; "
        "write: render it; secrets: print random client secrets for a deployment.",
    )
    parser.add_argument(
        "command", nargs="?", default="check", choices=("check", "write", "secrets")
    )
    command = parser.parse_args(argv[1:]).command
    if command == "secrets":
        print("# Keycloak client secrets (keep out of the repository)")
        print("\n".join(f"{k}={v}" for k, v in random_environment().items()))
        return 0
    if command == "write":
        for path, development in RENDERED.items():
            path.write_text(render(development))
            print(f"wrote {path}")
        return 0
    stale = [p.name for p, development in RENDERED.items() if p.read_text() != render(development)]
    for name in stale:
        print(f"{name} is out of date: python -m infra.keycloak.realm write")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
