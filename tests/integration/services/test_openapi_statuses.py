"""Each service's OpenAPI document declares every status its routes answer.

Every operation is probed the ways a hostile or careless client would (unknown ids in
the path, a body that is not JSON, one too large, one with wrong fields, bad query
values); each status observed must be declared for that operation, with the problem
schema. Statuses only an outage gives (503) are checked as declared.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import httpx
import pytest

from shared.http import PROBLEM_JSON
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app

SERVICES = ["intake", "routing", "notification", "audit"]
SKIPPED = {"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json"}
UNKNOWN = "UNKNOWN-0"


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        if path not in SKIPPED
        for method, operation in methods.items()
    ]


async def probe(
    client: httpx.AsyncClient, path: str, method: str, operation: dict[str, Any]
) -> set[int]:
    """The statuses this operation answered to bad requests."""
    url = re.sub(r"\{[^}]+\}", UNKNOWN, path)
    seen: set[int] = set()
    queries = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    bad_query = {p["name"]: "%%not-valid%%" * 20 for p in queries}
    seen.add((await client.request(method.upper(), url, params=bad_query)).status_code)
    if "requestBody" in operation:
        for content in (b"{not json", b"{}", b'{"x": "' + b"a" * 1_100_000 + b'"}'):
            response = await client.request(
                method.upper(), url, content=content, headers={"content-type": "application/json"}
            )
            seen.add(response.status_code)
    return {status for status in seen if status >= 400}


@pytest.mark.parametrize("service", SERVICES)
async def test_every_status_a_route_answers_is_declared_with_the_problem_schema(
    service: str, common_settings: CommonSettings
) -> None:
    main = importlib.import_module(f"{service}.main")
    config = importlib.import_module(f"{service}.config")
    settings = getattr(config, f"{service.capitalize()}Settings")(**common_settings.model_dump())
    async with running_app(main.create_app(settings)) as client:
        document = (await client.get("/openapi.json")).json()
        undeclared: list[str] = []
        for path, method, operation in operations(document):
            declared = {int(status) for status in operation["responses"] if status.isdigit()}
            assert 503 in declared, f"{method} {path} does not declare 503"
            for status in sorted(declared):
                if status >= 400:
                    content = operation["responses"][str(status)].get("content", {})
                    assert PROBLEM_JSON in content, f"{method} {path} {status} is not a problem"
            observed = await probe(client, path, method, operation)
            undeclared += [f"{method.upper()} {path}: {s}" for s in sorted(observed - declared)]
    assert not undeclared, undeclared
    assert "HTTPValidationError" not in str(document)


async def test_routing_actions_declare_their_refusals_and_intake_its_cutoff_as_served(
    common_settings: CommonSettings,
) -> None:
    from intake.config import IntakeSettings
    from intake.main import create_app as intake_app
    from routing.config import RoutingSettings
    from routing.main import create_app as routing_app

    async with running_app(routing_app(RoutingSettings(**common_settings.model_dump()))) as c:
        document = (await c.get("/openapi.json")).json()
    accept = document["paths"]["/v1/dossiers/{code}/transfer/accept"]["post"]["responses"]
    assert {"400", "403", "404", "409", "413", "422", "503"} <= set(accept)

    intake = intake_app(IntakeSettings(**common_settings.model_dump()))
    async with running_app(intake, ActAs("desk")) as c:
        document = (await c.get("/openapi.json")).json()
        served = (await c.get("/v1/procedures/1.001193")).json()["cutoff"]
    declared = document["components"]["schemas"]["ProcedureOut"]["properties"]["cutoff"]
    assert "format" not in declared  # "format: time" would require an offset it never has
    assert re.fullmatch(declared["pattern"], served), (declared, served)
