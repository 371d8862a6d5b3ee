"""A document's type code follows one rule wherever a document is handed in: at intake's
submission (and its supplement before reception) and in routing's supplement, over HTTP
and as the command on the topic (``shared.events.dossier.DocumentType``). A code one
refuses the others refuse, with the same machine-readable error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from intake.schemas.requests import SupplementIn
from pydantic import BaseModel, ValidationError
from routing.http_actions import Supplement

from shared.events.commands import ProvideSupplement
from shared.http import install_error_handlers

DOCUMENT = {
    "name": "Giấy chứng sinh",
    "type": "birth_certificate",
    "size_bytes": 1,
    "sha256": "a" * 64,
}
NOT_CODES = [
    "Giấy khai sinh",  # a name, not a code
    "BIRTH_CERTIFICATE",
    "birth-certificate",
    "1st_form",
    "../x",
    "a" * 65,
]
UNIT = "001.21.31.H59"


def body_of(model: type[BaseModel], document: dict[str, Any]) -> dict[str, Any]:
    if model is ProvideSupplement:  # the command on the topic names the dossier and unit
        return {"dossier_code": f"{UNIT}-261202-0001", "unit": UNIT, "documents": [document]}
    return {"documents": [document]}


def type_error(model: type[BaseModel], code: str) -> tuple[Any, ...]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body_of(model, {**DOCUMENT, "type": code}))
    [error] = refused.value.errors()
    return error["loc"], error["type"], error["msg"]


@pytest.mark.parametrize("code", NOT_CODES)
def test_a_type_intake_refuses_routing_refuses_with_the_same_error(code: str) -> None:
    at_intake = type_error(SupplementIn, code)
    assert at_intake[:2] == (("documents", 0, "type"), "string_pattern_mismatch")
    assert type_error(Supplement, code) == at_intake  # routing over HTTP
    assert type_error(ProvideSupplement, code) == at_intake  # the command on the topic


@pytest.mark.parametrize("model", [SupplementIn, Supplement, ProvideSupplement])
def test_a_catalogue_code_is_taken_everywhere(model: type[BaseModel]) -> None:
    for code in ["birth_certificate", "a", "form2", "x" * 64]:
        taken = model.model_validate(body_of(model, {**DOCUMENT, "type": code}))
        assert [d["type"] for d in taken.model_dump()["documents"]] == [code]


async def test_over_http_both_answer_the_same_problem() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/intake/supplement")
    async def at_intake(body: SupplementIn) -> None: ...

    @app.post("/routing/supplement/provide")
    async def at_routing(body: Supplement) -> None: ...

    transport = httpx.ASGITransport(app=app)
    bad = {"documents": [{**DOCUMENT, "type": "Giấy khai sinh"}]}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        intake = await client.post("/intake/supplement", json=bad)
        routing = await client.post("/routing/supplement/provide", json=bad)
    assert intake.status_code == routing.status_code == 422
    assert routing.headers["content-type"] == "application/problem+json"
    problem = routing.json()
    assert (problem["code"], problem["field"]) == ("invalid_request", "documents.0.type")
    assert {k: v for k, v in problem.items() if k != "instance"} == {
        k: v for k, v in intake.json().items() if k != "instance"
    }
