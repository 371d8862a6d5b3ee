"""Swagger UI's "Authorize" (README, "Who may call what"): every service's and witness's
``/docs`` page hands Swagger UI the realm's public client ``swagger-ui`` with PKCE, the
only way that client lets anyone sign in; its files are served from the package."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from witness.config import WitnessSettings
from witness.main import create_app as create_witness

from infra.keycloak.realm import build_realm
from infra.run import WITNESS_PORTS
from shared.app import service_app
from shared.healthcheck import DEFAULT_PORTS
from shared.settings import HttpSettings
from shared.transparency.note import ED25519, Signer


@asynccontextmanager
async def nothing(_: FastAPI) -> AsyncIterator[None]:
    yield


def witness(tmp_path: Path) -> FastAPI:
    log = Signer("lienthong-audit-log", Ed25519PrivateKey.generate(), ED25519)
    settings = WitnessSettings(
        key_path=tmp_path / "key.pem",
        state_path=tmp_path / "state.json",
        log_vkeys=[log.verifier.vkey()],
    )
    return create_witness(settings)


@pytest.mark.parametrize("kind", ["service", "witness"])
async def test_docs_sign_in_with_the_swagger_ui_client_and_pkce(kind: str, tmp_path: Path) -> None:
    app = (
        service_app(title="Probe", description="", lifespan=nothing, http=HttpSettings())
        if kind == "service"
        else witness(tmp_path)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        page = (await client.get("/docs")).text
        found = re.search(r"ui\.initOAuth\((\{.*?\})\)", page, re.DOTALL)
        assert found, "the page hands Swagger UI no OAuth client"
        assert json.loads(found.group(1)) == {
            "clientId": "swagger-ui",
            "usePkceWithAuthorizationCodeGrant": True,
        }
        assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in page
        assert (await client.get("/docs/oauth2-redirect")).status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert assets and all(url.startswith("/static-offline-docs/") for url in assets)
        for url in assets:
            assert (await client.get(url)).status_code == 200


def test_the_swagger_ui_client_admits_every_docs_page_make_run_serves() -> None:

    (client,) = [c for c in build_realm()["clients"] if c["clientId"] == "swagger-ui"]
    for port in [*DEFAULT_PORTS.values(), *WITNESS_PORTS.values()]:
        for host in ("127.0.0.1", "localhost"):
            assert f"http://{host}:{port}/docs/oauth2-redirect" in client["redirectUris"]
