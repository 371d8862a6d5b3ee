"""HTTP basics without servers: every failure is a problem+json body with a stable code."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from pymongo.errors import ServerSelectionTimeoutError

from shared.http import BodySizeLimit, Conflict, install_error_handlers
from shared.refusals import Refused

PROBLEM = "application/problem+json"


class Note(BaseModel):
    text: str = Field(max_length=10)


def build_app(max_bytes: int = 200) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, {"note_locked": 423})
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)

    @app.post("/notes")
    async def add(note: Note) -> dict[str, str]:
        if note.text == "taken":
            raise Conflict("already there", code="note_exists", field="text")
        if note.text in ("locked", "odd"):  # domain refusals: status from the table
            raise Refused(f"note_{note.text}", "refused by a rule", field="text")
        if note.text == "down":
            raise ServerSelectionTimeoutError("no primary")
        if note.text == "bug":
            raise RuntimeError("secret detail")
        return {"text": note.text}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ('{"text": "taken"}', 409, "note_exists", "text"),
        ('{"text": "locked"}', 423, "note_locked", "text"),
        ('{"text": "odd"}', 422, "note_odd", "text"),  # a code the table does not list
        ('{"text": "far too long a note"}', 422, "invalid_request", "text"),
        ('{"text": ', 400, "malformed_json", "body"),
        ('{"text": "' + "x" * 300 + '"}', 413, "body_too_large", None),
        ('{"text": "down"}', 503, "store_unavailable", None),
        ('{"text": "bug"}', 500, "internal_error", None),
    ],
)
async def test_failures_are_problems(
    client: httpx.AsyncClient, body: str, status: int, code: str, field: str | None
) -> None:
    response = await client.post(
        "/notes", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == code and problem["status"] == status
    assert problem.get("field") == field
    assert "secret detail" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "\xff"}',  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's recursion limit
        b'{"text": ' + b"1" * 5000 + b"}",  # more digits than Python converts to an int
    ],
    ids=["not-utf8", "deeply-nested", "long-number"],
)
async def test_a_body_json_cannot_read_is_malformed_json(body: bytes) -> None:
    """Not ``http_error``: every service documents 400 ``malformed_json`` for a body that
    is not JSON, and FastAPI reports these three otherwise than a syntax error."""
    transport = httpx.ASGITransport(app=build_app(max_bytes=1_000_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.post(
            "/notes", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert (response.json()["code"], response.json()["field"]) == ("malformed_json", "body")


@pytest.mark.parametrize("content_type", [None, "text/plain;charset=UTF-8", "text/json"])
async def test_a_body_not_sent_as_json_is_malformed_json(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    """JSON without a JSON Content-Type (fetch() sends a string as text/plain) is not read
    as JSON: 400 ``malformed_json`` saying why, not 422 "not a valid dictionary"."""
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/notes", content=b'{"text": "hi"}', headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("malformed_json", "body")
    assert "Content-Type: application/json" in problem["detail"]


@pytest.mark.parametrize("content_type", ["application/json", "application/cloudevents+json"])
async def test_json_media_types_are_read(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/notes", content=b'{"text": "hi"}', headers={"content-type": content_type}
    )
    assert response.status_code == 200
    wrong_shape = await client.post(
        "/notes", content=b"[1]", headers={"content-type": content_type}
    )
    assert (wrong_shape.status_code, wrong_shape.json()["code"]) == (422, "invalid_request")


async def test_store_outage_asks_clients_to_retry(client: httpx.AsyncClient) -> None:
    response = await client.post("/notes", json={"text": "down"})
    assert response.headers["retry-after"] == "5"
