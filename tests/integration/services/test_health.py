"""Every service starts against the real broker and store and reports ready."""

from __future__ import annotations

import importlib
import re

import pytest

from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app

SERVICES = ["intake", "routing", "notification", "audit"]


@pytest.mark.parametrize("service", SERVICES)
async def test_service_is_live_and_ready(service: str, common_settings: CommonSettings) -> None:
    main = importlib.import_module(f"{service}.main")
    config = importlib.import_module(f"{service}.config")
    settings_class = getattr(config, f"{service.capitalize()}Settings")
    settings = settings_class(**common_settings.model_dump())
    async with running_app(main.create_app(settings), ActAs("operations")) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"store": "ok", "broker": "ok"}
        metrics = await client.get("/metrics")
        assert "lt_events_handled_total" in metrics.text
        docs = await client.get("/docs")
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert assets and all(url.startswith("/") for url in assets)  # no CDN: works offline
        for url in assets:
            assert (await client.get(url)).status_code == 200
        problem = await client.get("/v1/no-such-thing")
        assert problem.status_code == 404
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.json()["code"] == "not_found"
