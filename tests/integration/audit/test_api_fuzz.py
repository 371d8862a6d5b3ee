"""Fuzzing the auditor's API (and routing's inbox paging) never gets a 5xx.

Every GET route of the OpenAPI document is called with parameters drawn by hypothesis:
integers far beyond 64 bits, negative and unicode numbers, junk text, odd times; then
with the cases schemathesis derives from the same OpenAPI document, both those that
follow the schema and those that break it (wrong types, nested values, unknown
parameters). The log has entries, checkpoints and one entry deleted behind the
service's back, so the damage paths are exercised too. Every answer is below 500, and
every refusal is a problem document.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from audit.config import AuditSettings
from audit.main import create_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import checkpointed, logged, publish
from tests.integration.audit.journey import journey
from tests.integration.routing.helpers import routing_app, routing_settings
from tests.unit.routing.builders import MONDAY_9AM, TAN_HOA_DESK

CODE = "000.00.01.H59-261126-0001"

NUMBERS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**63 - 1, 2**63, 2**64, 10**40, -1, 0, 1, 7]),
).map(str)
JUNK = st.one_of(
    NUMBERS,
    st.text(max_size=40),
    st.sampled_from(["", " 1", "0x10", "1e309", "NaN", "-0", "９", "١٢", "1.5", "%00", CODE]),
    st.datetimes(timezones=st.just(None)).map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    # The calendar's ends, which random times seldom reach: before year 1 in UTC, after 9999.
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00", "0001-01-01"]),
)


def get_routes(schema: dict[str, Any], prefix: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Every GET route under ``prefix`` with its parameters."""
    return [
        (path, ops["get"].get("parameters", []))
        for path, ops in schema["paths"].items()
        if path.startswith(prefix) and "get" in ops
    ]


@st.composite
def requests(
    draw: st.DrawFn, routes: list[tuple[str, list[dict[str, Any]]]]
) -> tuple[str, dict[str, str]]:
    path, parameters = draw(st.sampled_from(routes))
    query: dict[str, str] = {}
    for parameter in parameters:
        value = draw(JUNK)
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", quote(value, safe="") or "x")
        elif draw(st.booleans()):
            query[parameter["name"]] = value
    return path, query


def schemathesis_requests(schema: dict[str, Any], prefix: str) -> st.SearchStrategy[Any]:
    """Schemathesis's cases for every operation under ``prefix``, valid and invalid."""
    operations = []
    for result in schemathesis.openapi.from_dict(schema).get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        if result.ok().path.startswith(prefix):
            operations.append(result.ok())
    assert operations
    return st.one_of(
        [op.as_strategy(generation_mode=mode) for op in operations for mode in GenerationMode]
    ).map(lambda case: (case.formatted_path, query_pairs(case.query or {})))


def query_pairs(query: dict[str, Any]) -> list[tuple[str, str]]:
    """A generated query as it goes on the wire: lists repeat the name, anything that is
    not text (numbers, nested values) is sent as its JSON text."""
    pairs = []
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item if isinstance(item, str) else json.dumps(item)))
    return pairs


async def fuzz(
    client: httpx.AsyncClient, drawn: st.SearchStrategy[Any], examples: int
) -> list[int]:
    """Draw ``(path, query)`` requests in a worker thread; run them on this loop; return
    the statuses."""
    loop = asyncio.get_running_loop()
    seen: list[int] = []

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(request=drawn)
    def call(request: tuple[str, Any]) -> None:
        path, query = request
        future = asyncio.run_coroutine_threadsafe(client.get(path, params=query), loop)
        response = future.result(timeout=60)
        assert response.status_code < 500, (path, query, response.status_code, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"]
        seen.append(response.status_code)

    await asyncio.to_thread(call)
    return seen


# The service's own tasks (consumers, checkpoints, tracing ids) use `random` on the loop while
# hypothesis draws in its thread; hypothesis mistakes that for randomness in the strategy.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_the_audit_api_answers_every_request_without_a_5xx(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    events = journey(CODE)
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, events)
        await logged(client, len(events))
        await checkpointed(client, clock, len(events))
        await app.state.runtime.db["entries"].delete_one({"_id": 3})  # damage to report
        routes = get_routes(app.openapi(), "/v1/audit/")
        assert len(routes) >= 11
        assert len(await fuzz(client, requests(routes), examples=300)) == 300
        drawn = schemathesis_requests(app.openapi(), "/v1/audit/")
        statuses = await fuzz(client, drawn, examples=300)
        # Both kinds of case ran: answers (valid requests) and refusals (invalid ones).
        assert len(statuses) == 300 and min(statuses) < 300 and max(statuses) >= 400
        # The damage is reported as what it is, where it is.
        damaged = await client.get(f"/v1/audit/dossiers/{CODE}/bundle")
        assert (damaged.status_code, damaged.json()["code"]) == (409, "log_damaged")


async def test_routing_inbox_paging_refuses_integers_beyond_the_store(
    common_settings: CommonSettings,
) -> None:
    settings = routing_settings(common_settings, scan_s=30)
    async with routing_app(settings, ManualClock(MONDAY_9AM)) as (client, _):
        inbox = f"/v1/units/{TAN_HOA_DESK}/inbox"
        for offset in (2**63, 2**64, 10**40):
            refused = await client.get(inbox, params={"offset": offset})
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"].endswith("offset")
        assert (await client.get(inbox, params={"offset": 2**63 - 1})).status_code == 200
