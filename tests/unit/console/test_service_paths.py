"""A dossier code is one path segment of the URLs the console reads and links to:
``..``, ``#``, ``?`` or ``/`` in it must not move the request to another path of the
service. The services are a mock transport that records what was asked; no server.

The dossier's answer links to its trace only: audit's evidence is served to auditors,
with their own token, which the console's pages never have (docs/console.md)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from console import api, api_operations
from console.config import ConsoleOptions
from console.domain import NOT_DOSSIER_CODES
from console.signin import operator
from console.sources import Services
from fastapi import FastAPI

from shared.auth import Principal, Role
from shared.http import install_error_handlers

OPTIONS = ConsoleOptions(
    routing_url="http://routing",
    audit_url="http://audit",
    notification_url="http://notification",
    jaeger_url="http://jaeger",
)


def answering(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"items": []})


@asynccontextmanager
async def console(
    asked: list[httpx.URL],
    answer: Callable[[httpx.Request], httpx.Response] = answering,
    **state: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """The console's API with an operator, the services answering ``answer``; ``state``
    sets more of the app's state (what a route reads besides the services)."""

    def services(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        return answer(request)

    app = FastAPI()
    install_error_handlers(app, api.STATUS)
    app.include_router(api.router)
    app.include_router(api_operations.router)
    app.dependency_overrides[operator] = lambda: Principal(
        "s", frozenset({Role.OPERATIONS}), None, None, "ops"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(services)) as http:
        app.state.services, app.state.options = Services(http, OPTIONS), OPTIONS
        for name, value in state.items():
            setattr(app.state, name, value)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            yield client


@pytest.mark.parametrize(
    ("code", "segment"),
    [
        ("...", "..."),  # no dot segment: "." and ".." are refused (below)
        ("X#", "X%23"),  # the rest would become a fragment: /trail dropped
        ("X?a=1", "X%3Fa%3D1"),  # would become a query
        ("a%2Fb", "a%252Fb"),  # "%" encoded: the service reads "a%2Fb", not "a/b"
        ("000.00.01.H59-261130-0077", "000.00.01.H59-261130-0077"),
    ],
)
async def test_the_code_is_one_encoded_segment_of_every_service_url(
    code: str, segment: str
) -> None:
    asked: list[httpx.URL] = []
    async with console(asked) as client:
        answer = await client.get(f"/api/dossiers/{segment}")  # as the page sends it
    assert answer.status_code == 200, answer.text
    paths = sorted(url.raw_path.decode() for url in asked)
    assert paths == sorted(
        [
            f"/v1/dossiers/{segment}",
            f"/v1/dossiers/{segment}/trail",
            f"/v1/audit/dossiers/{segment}",
            f"/v1/notifications?{httpx.QueryParams({'dossier': code})}",
        ]
    )
    links = answer.json()["links"]
    # No link to audit's evidence, which the browser could not open (see the docstring).
    assert set(links) == {"trace"}
    trace = urlsplit(links["trace"])
    assert parse_qs(trace.query) == {
        "service": ["intake"],
        "tags": [f'{{"dossier.code":"{code}"}}'],
    }


@pytest.mark.parametrize("segment", ["%2E", "%2E%2E", "%2e", ".%2E"])
async def test_dot_segments_are_no_dossier_codes_and_refused_with_the_format(segment: str) -> None:
    """Codes are {unit}-{YYMMDD}-{NNNN}: "." and ".." are none, and a browser resolves
    them as path segments (encoded too) before it asks, so the page could never show
    them; the API refuses them as the page does, and asks no service."""
    asked: list[httpx.URL] = []
    async with console(asked) as client:
        answer = await client.get(f"/api/dossiers/{segment}")
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert (problem["code"], problem["field"]) == ("not_a_dossier_code", "code")
    assert "{receiving-unit}-{YYMMDD}-{NNNN}" in problem["detail"]
    assert asked == []


def test_the_page_refuses_what_the_api_refuses_and_says_why_in_both_languages() -> None:
    """The page cannot send "." or ".." (the browser would ask another path): it refuses
    the same codes itself, with the API's problem code and a sentence of its own."""
    static = Path(__file__).parents[3] / "services/console/static"
    page = (static / "console.js").read_text()
    [listed] = re.findall(r"const NOT_DOSSIER_CODES = new Set\(\[([^\]]*)\]\);", page)
    assert set(re.findall(r'"([^"]*)"', listed)) == set(NOT_DOSSIER_CODES)
    assert '"not_a_dossier_code"' in page[page.index("const ERROR_CODES") :][:1000]
    sentences = re.findall(
        r"err_not_a_dossier_code: \"([^\"]*)\"", (static / "i18n.js").read_text()
    )
    assert len(sentences) == 2  # vi, en
    assert all("{code}" in s and "001.21.31.H59-261126-0001" in s for s in sentences)
