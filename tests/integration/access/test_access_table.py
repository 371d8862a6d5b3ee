"""Every route x every role against tokens issued by the real Keycloak: allowed roles
pass, no token is 401, a wrong role is 403, a body or path naming another unit is 403,
all as problem+json, and nothing in the service's store changes after a refusal.

Tokens are obtained once per test session per identity (shared.auth.identities caches
them until shortly before they expire).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.mongo.client import mongo_client, service_database
from shared.runtime import CommonSettings
from shared.testing import auth_headers, running_app
from tests.integration.access.table import ACCESS, AGENCY, IDENTITIES, TAN_HOA
from tests.integration.intake.helpers import submission

SERVICES = sorted(ACCESS)
STREAM_BOUND_S = 3.0
ACCESS_REFUSALS = {"unauthenticated", "invalid_token", "forbidden", "wrong_unit", "no_unit"}
UNKNOWN_DOSSIER = f"{TAN_HOA}-260101-0999"


def unit_of(identity: str | None) -> str:
    from shared.auth.identities import unit_of as bound

    return (bound(identity) if identity else None) or TAN_HOA


def request_for(method: str, path: str, identity: str | None) -> dict[str, Any]:
    """A plausible request for a route, acting for the identity's own unit."""
    unit = unit_of(identity)
    url = (
        path.replace("{code}", UNKNOWN_DOSSIER)
        .replace("{unit}", unit)
        .replace("{subscription_id}", "no-such-subscription")
        .replace("{notification_id}", "no-such-notification")
        .replace("{message_id}", "no-such-message")
        .replace("{index}", "1")
        .replace("{size}", "1")
        .replace("{number}", "05" if path.startswith("/v1/dossiers/{code}/forms") else "01")
    )
    params: dict[str, str] | None = None
    if path == "/v1/notifications":
        params = {"dossier": UNKNOWN_DOSSIER}
    elif path.endswith("/forms/06"):
        params = {"start": "2026-11-02", "end": "2026-11-06"}
    body: dict[str, Any] | None = None
    if method == "POST":
        if path == "/v1/payments/callback":
            body = {"dossier_code": UNKNOWN_DOSSIER, "transaction_id": "t-1", "amount_vnd": 1}
            body["paid_at"] = "2026-11-26T09:00:00+07:00"
        elif path == "/v1/dossiers":
            body = submission(receiving_unit=unit)
        elif path == "/v1/dossiers/denials":
            body = {**submission(receiving_unit=unit), "reason": "thiếu giấy tờ"}
        elif path == "/v1/subscriptions":
            body = {"url": "https://hooks.invalid/x", "event_types": ["dossier.received.v2"]}
            body["units"] = [unit]
        else:
            body = {"unit": unit, "reason": "x", "outcome": "approve", "note": "x"}
    headers = auth_headers(identity) if identity else {}
    return {"method": method, "url": url, "params": params, "json": body, "headers": headers}


def settings_for(service: str, common: CommonSettings) -> Any:
    config = importlib.import_module(f"{service}.config")
    return getattr(config, f"{service.capitalize()}Settings")(**common.model_dump())


@asynccontextmanager
async def service(name: str, common: CommonSettings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = importlib.import_module(f"{name}.main").create_app(settings_for(name, common))
    async with running_app(app) as client:
        yield client


# Written by background workers whatever requests arrive: leases (outbox relay,
# schedulers), the copies the relay holds for agency feeds the test broker lacks.
HOUSEKEEPING = {"leases", "feed_backlog"}


async def store_digest(common: CommonSettings, name: str) -> str:
    """A digest of every document of the service's database (housekeeping aside)."""
    digest = hashlib.sha256()
    async with mongo_client(common.mongo, "access-test") as client:
        db = service_database(client, common.mongo, name)
        for collection in sorted(set(await db.list_collection_names()) - HOUSEKEEPING):
            docs = await db[collection].find().sort("_id", 1).to_list()
            digest.update(f"{collection}:{docs!r}".encode())
    return digest.hexdigest()


async def answer(client: httpx.AsyncClient, request: dict[str, Any]) -> httpx.Response | None:
    """The response; None for an admitted server-sent-events stream, which never ends
    (the in-process transport returns only complete responses; a refusal is immediate)."""
    if not request["url"].endswith("/stream"):
        return await client.request(**request)
    try:
        return await asyncio.wait_for(client.request(**request), STREAM_BOUND_S)
    except TimeoutError:
        return None


def documented_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}


@pytest.mark.parametrize("name", SERVICES)
async def test_every_route_is_in_the_access_table(name: str) -> None:
    """A new route must say who may call it (CONTRIBUTING.md, "Who may call a route")."""
    app = importlib.import_module(f"{name}.main").create_app()
    assert documented_routes(app) == set(ACCESS[name])


@pytest.mark.parametrize("name", SERVICES)
async def test_every_route_admits_exactly_its_roles(
    name: str, common_settings: CommonSettings
) -> None:
    table = ACCESS[name]
    async with service(name, common_settings) as client:
        before = await store_digest(common_settings, name)
        refusals = 0
        for (method, path), allowed in table.items():
            for identity in IDENTITIES:
                if identity in allowed:
                    continue
                response = await client.request(**request_for(method, path, identity))
                expected = (401, "unauthenticated") if identity is None else (403, "forbidden")
                got = (response.status_code, response.json().get("code"))
                assert got == expected, (method, path, identity, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                refusals += 1
        assert refusals > 0
        assert await store_digest(common_settings, name) == before, "a refusal changed the store"

        for (method, path), allowed in table.items():
            for identity in sorted(allowed, key=str):
                admitted = await answer(client, request_for(method, path, identity))
                if admitted is None:
                    continue  # the event stream is running
                # Past the access check: any answer but an access refusal (a domain 403
                # such as the console's actions_disabled is the route's own).
                code = admitted.json().get("code") if admitted.status_code >= 400 else None
                assert admitted.status_code != 401 and code not in ACCESS_REFUSALS, (
                    method,
                    path,
                    identity,
                    admitted.text,
                )
                # The console's reads go to the other services, which this test does not run.
                upstream_down = name == "console" and admitted.status_code in (502, 503)
                assert admitted.status_code < 500 or upstream_down, (method, path, identity)


async def test_a_body_or_path_naming_another_unit_is_refused_and_changes_nothing(
    common_settings: CommonSettings,
) -> None:
    vam_lang = "001.22.31.H59"
    async with service("intake", common_settings) as intake:
        before = await store_digest(common_settings, "intake")
        for identity in ("desk", AGENCY):
            response = await intake.post(
                "/v1/dossiers",
                json=submission(receiving_unit=vam_lang),
                headers=auth_headers(identity),
            )
            assert (response.status_code, response.json()["code"]) == (403, "wrong_unit")
            assert response.json()["field"] == "receiving_unit"
        assert await store_digest(common_settings, "intake") == before

    async with service("routing", common_settings) as routing:
        before = await store_digest(common_settings, "routing")
        accept = f"/v1/dossiers/{UNKNOWN_DOSSIER}/transfer/accept"
        for identity in ("desk", "officer", AGENCY, f"agency:{vam_lang}"):
            named = vam_lang if unit_of(identity) != vam_lang else TAN_HOA
            response = await routing.post(
                accept, json={"unit": named}, headers=auth_headers(identity)
            )
            assert (response.status_code, response.json()["code"]) == (403, "wrong_unit")
        inbox = await routing.get(f"/v1/units/{TAN_HOA}/inbox", headers=auth_headers("officer"))
        assert (inbox.status_code, inbox.json()["code"]) == (403, "wrong_unit")
        assert await store_digest(common_settings, "routing") == before

        # Tân Tây's and Tân Đông's desks merged into 001.33.31.H59 (2025-07-01): the
        # successor's system still acts for them; a neighbour's does not.
        merged_away = "001.23.31.H59"
        successor = await routing.post(
            accept, json={"unit": merged_away}, headers=auth_headers("agency:001.33.31.H59")
        )
        neighbour = await routing.post(
            accept, json={"unit": merged_away}, headers=auth_headers("agency:001.25.31.H59")
        )
        assert (successor.status_code, successor.json()["code"]) == (404, "unknown_dossier")
        assert (neighbour.status_code, neighbour.json()["code"]) == (403, "wrong_unit")


async def test_a_forged_or_expired_token_is_401(common_settings: CommonSettings) -> None:
    token = auth_headers("operations")["Authorization"]
    header, payload, signature = token.removeprefix("Bearer ").split(".")
    forged = f"Bearer {header}.{payload}.{signature[::-1]}"
    async with service("routing", common_settings) as routing:
        for value in (forged, "Bearer not-a-jwt", token.replace("Bearer", "Basic")):
            response = await routing.get("/v1/flows", headers={"Authorization": value})
            assert response.status_code == 401, value
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await routing.get("/v1/flows", headers={"Authorization": token})).status_code == 200
