"""The bodies of routing's HTTP actions refuse a field they do not know, as the command
contracts do on the topic: a misspelt optional field must not act without what it said."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ValidationError
from routing.api_procedures import (
    Apology,
    PaymentConfirmation,
    PaymentGatewayCallback,
    PaymentRequest,
)
from routing.http_actions import (
    ActingUnit,
    Completion,
    Refusal,
    ResultNote,
    Supplement,
    SupplementRequest,
    command,
)

from shared.auth import Principal, Role
from shared.events.commands import CompleteStep
from shared.http import DomainError, install_error_handlers

DOCUMENT = {"name": "Trích lục", "type": "cadastral_extract", "size_bytes": 1, "sha256": "a" * 64}

VALID: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (ActingUnit, {}),
    (Refusal, {"reason": "Thiếu trích lục"}),
    (Completion, {"outcome": "approve", "note": "Đạt yêu cầu"}),
    (SupplementRequest, {"missing_documents": ["cadastral_extract"], "reason": "Thiếu"}),
    (Supplement, {"documents": [DOCUMENT]}),
    (ResultNote, {"note": "Kết quả đã sẵn sàng"}),
    (Apology, {"reason": "Chậm", "new_appointment_date": "2026-12-31"}),
    (PaymentRequest, {"amount_vnd": 150000, "description": "Lệ phí"}),
    (PaymentConfirmation, {"amount_vnd": 150000, "reference": "CK-1", "method": "desk"}),
]


@pytest.mark.parametrize(("model", "body"), VALID, ids=[m.__name__ for m, _ in VALID])
def test_an_unknown_field_is_refused(model: type[BaseModel], body: dict[str, Any]) -> None:
    model.model_validate(body)  # the body itself is valid
    with pytest.raises(ValidationError) as refused:
        model.model_validate({**body, "notes": "typo of note"})
    [error] = refused.value.errors()
    assert (error["type"], error["loc"]) == ("extra_forbidden", ("notes",))


async def test_over_http_a_misspelt_field_is_422_invalid_request_naming_it() -> None:
    """A reject whose reason went in ``notes`` is not taken as an approve-with-no-note
    either way: the body is refused before anything acts."""
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter()

    @router.post("/complete")
    async def complete(body: Completion) -> dict[str, str]:
        return {"outcome": body.outcome}

    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/complete", json={"outcome": "approve", "actr": "Lê Văn C"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["field"]) == ("invalid_request", "actr")


CALLBACK = {
    "dossier_code": "001.21.31.H59-261202-0011",
    "transaction_id": "VNP-14052026-001",
    "amount_vnd": 150000,
    "paid_at": "2026-12-02T08:00:00+07:00",
    "provider": "vnpay",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("transaction_id", "t\x00"),  # answered 500 internal_error before
        ("provider", "vn\x1bpay"),
        ("transaction_id", "VNP\u202e100"),
        ("dossier_code", "\u202e001.21.31.H59-261202-0011"),
    ],
)
def test_a_gateway_report_holds_its_text_to_the_commands_rules(field: str, value: str) -> None:
    """The callback becomes a ``ConfirmPayment`` command, which refuses control and
    bidirectional control characters: the report is refused as it arrives (422
    ``invalid_request`` naming the field), not when the command is built (a 500)."""
    PaymentGatewayCallback.model_validate(CALLBACK)
    with pytest.raises(ValidationError) as refused:
        PaymentGatewayCallback.model_validate({**CALLBACK, field: value})
    assert refused.value.errors()[0]["loc"] == (field,)


def test_a_command_rule_broken_over_http_names_the_field() -> None:
    """A note with a control character is refused by the command contract the action
    builds: the problem names the field at fault, as every refusal of a field does."""
    routing = SimpleNamespace(
        calendar=SimpleNamespace(local_date=lambda _: date(2026, 12, 2)),
        clock=SimpleNamespace(now=lambda: datetime(2026, 12, 2, tzinfo=UTC)),
        catalogue=None,
    )
    request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(routing=routing)))
    desk = Principal("s", frozenset({Role.DESK}), "001.21.31.H59", "lienthong-cli", "desk.tanhoa")
    body = Completion.model_validate({"outcome": "approve", "note": "ok\x07"})
    with pytest.raises(DomainError) as refused:
        command(CompleteStep, "001.21.31.H59-261202-0011", body, request, desk)
    assert (refused.value.code, refused.value.field, refused.value.status) == (
        "invalid_request",
        "note",
        422,
    )
