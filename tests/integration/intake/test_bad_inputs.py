"""Bad inputs: each gets its 4xx problem naming the field, and nothing is stored or published."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.calendar import LOCAL_TZ
from shared.testing import read_topic
from shared.topics import DOSSIER_EVENTS
from tests.integration.intake.helpers import DESK, MORNING, RunningIntake, submission

ONE_MEGABYTE = 1_000_000


def applicant(**changes: Any) -> dict[str, Any]:
    return {**submission()["applicant"], **changes}


def document(**changes: Any) -> list[dict[str, Any]]:
    docs = submission()["documents"]
    return [{**docs[0], **changes}, *docs[1:]]


async def chunked(payload: bytes) -> AsyncIterator[bytes]:
    """A body sent without Content-Length, so only the streaming limit can catch it."""
    for start in range(0, len(payload), 64_000):
        yield payload[start : start + 64_000]


@dataclass
class Case:
    name: str
    status: int
    code: str
    field: str | None
    json: Any = None
    content: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    at: datetime = MORNING


CASES = [
    Case("unknown procedure", 422, "unknown_procedure", "procedure_code",
         json=submission(procedure_code="9.999999")),
    Case("procedure not yet in force", 422, "procedure_not_in_force", "procedure_code",
         json=submission(procedure_code="1.004227", documents=document(type="application")),
         at=datetime(2024, 7, 15, 9, tzinfo=LOCAL_TZ)),
    # No caller is bound to an unknown unit: naming one is naming another unit than one's own.
    Case("unknown unit", 403, "wrong_unit", "receiving_unit",
         json=submission(receiving_unit="999.99.99.H59")),
    Case("unit merged away", 422, "unit_not_in_force", "receiving_unit",
         json=submission(receiving_unit="001.23.31.H59")),
    Case("unit takes no dossiers", 422, "unit_cannot_receive", "receiving_unit",
         json=submission(receiving_unit="000.21.31.H59")),
    Case("desk of the wrong level", 422, "unit_cannot_receive", "receiving_unit",
         json=submission(receiving_unit="000.01.31.H59")),
    Case("applicant outside the boundary", 422, "outside_boundary", "area_unit",
         json=submission(area_unit="000.22.31.H59")),
    Case("missing document", 422, "missing_document", "documents",
         json=submission(documents=document(type="photo"))),
    Case("oversized name", 422, "invalid_request", "applicant.name",
         json=submission(applicant=applicant(name="A" * 201))),
    Case("oversized note", 422, "invalid_request", "note", json=submission(note="n" * 2001)),
    Case("too many documents", 422, "invalid_request", "documents",
         json=submission(documents=document() * 26)),
    Case("size as text", 422, "invalid_request", "documents.0.size_bytes",
         json=submission(documents=document(size_bytes="182044"))),
    Case("documents as an object", 422, "invalid_request", "documents",
         json=submission(documents={"name": "x"})),
    Case("applicant as a string", 422, "invalid_request", "applicant",
         json=submission(applicant="Nguyễn Văn An")),
    Case("bad citizen id", 422, "invalid_request", "applicant.identity_number",
         json=submission(applicant=applicant(identity_number="12345"))),
    Case("bad checksum format", 422, "invalid_request", "documents.0.sha256",
         json=submission(documents=document(sha256="not-a-hash"))),
    Case("control character", 422, "invalid_request", "applicant.name",
         json=submission(applicant=applicant(name="An\u0007"))),
    Case("missing applicant", 422, "invalid_request", "applicant",
         json={k: v for k, v in submission().items() if k != "applicant"}),
    Case("unknown field", 422, "invalid_request", "priority", json=submission(priority="high")),
    Case("a JSON array", 422, "invalid_request", "body", json=[submission()]),
    Case("malformed JSON", 400, "malformed_json", "body",
         content=b'{"procedure_code": "1.001193",', headers={"Content-Type": "application/json"}),
    Case("huge body", 413, "body_too_large", None,
         content=json.dumps(submission(note="n" * ONE_MEGABYTE)).encode(),
         headers={"Content-Type": "application/json"}),
    Case("huge body without a length", 413, "body_too_large", None,
         content=chunked(b'{"note": "' + b"n" * (2 * ONE_MEGABYTE) + b'"}'),
         headers={"Content-Type": "application/json"}),
    Case("bad Idempotency-Key", 422, "invalid_idempotency_key", "Idempotency-Key",
         json=submission(), headers={"Idempotency-Key": "short"}),
]  # fmt: skip


async def test_every_bad_input_is_refused_and_changes_nothing(intake: RunningIntake) -> None:
    assert len(CASES) >= 15
    wrong = []
    for case in CASES:
        intake.clock.set(case.at)
        response = await intake.client.post(
            "/v1/dossiers", json=case.json, content=case.content, headers=case.headers
        )
        body = response.json()
        got = (response.status_code, body.get("code"), body.get("field"))
        if got != (case.status, case.code, case.field) or not body.get("detail"):
            wrong.append(f"{case.name}: got {got}, {body.get('detail')!r}")
        if response.headers["content-type"] != "application/problem+json":
            wrong.append(f"{case.name}: content-type {response.headers['content-type']}")
    assert wrong == []

    assert await intake.dossiers() == 0
    assert await intake.outbox_entries() == 0
    assert await read_topic(intake.settings.kafka, DOSSIER_EVENTS, expect=0) == []

    intake.clock.set(MORNING)  # and no code number was used up by a refusal
    first = await intake.client.post("/v1/dossiers", json=submission())
    assert first.json()["code"] == f"{DESK}-261126-0001"


async def test_a_refused_desk_denial_changes_nothing(intake: RunningIntake) -> None:
    no_reason = await intake.client.post("/v1/dossiers/denials", json=submission(documents=[]))
    not_a_desk = await intake.client.post(
        "/v1/dossiers/denials",
        json=submission(receiving_unit="000.21.31.H59", reason="Không đúng thẩm quyền"),
    )

    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    assert (not_a_desk.status_code, not_a_desk.json()["code"]) == (422, "unit_cannot_receive")
    assert await intake.dossiers() == 0
    assert await intake.outbox_entries() == 0
