"""National portal connector: payload shapes pinned, mapping per fact, retries and dead letters.

The sender is driven against an in-memory store and an ``httpx.MockTransport`` endpoint.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from notification.portal_mapping import SCHEMA_DIR, VIETNAM, messages_for, schemas
from notification.portal_sync import DEAD, PENDING, SENT, PortalSender, PortalSyncSettings

from shared.clock import ManualClock
from shared.mongo.client import Document
from tests.samples import (
    AT,
    apology_issued,
    envelope_of,
    received,
    step_due_soon,
    stopped,
    transfer_requested,
)

CODE = "001.21.31.H59-261126-0001"


def test_committed_schemas_pin_the_payload_shapes() -> None:
    for name, text in schemas().items():
        committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert committed == text, (
            "run: PYTHONPATH=services .venv/bin/python -m notification.portal_mapping"
        )


def test_a_received_dossier_is_synced_then_its_progress_reported() -> None:
    fact = received(CODE)
    envelope = envelope_of(fact)
    sync, progress = (m.model_dump(mode="json") for m in messages_for(envelope, fact))
    assert sync == {
        "service": "DongBoHoSoMC",
        "MaHoSo": CODE,
        "MaTTHC": fact.procedure_code,
        "MaDonVi": fact.holding_unit,
        "TrangThaiHoSo": 2,
        "TenTrangThai": "Được tiếp nhận",
        "NgayTiepNhan": fact.received_at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S"),
        "NgayHenTra": fact.appointment_date.strftime("%Y%m%d"),
        "NgayTra": None,
        "KenhNop": "desk",
        "ChuHoSoHash": fact.applicant.identity_hash,
        "TaiLieuNop": [d.name for d in fact.documents],
        "LyDo": None,
    }
    assert progress["service"] == "CapNhatTienDoHoSoMC"
    assert (progress["TrangThai"], progress["TenTrangThai"]) == (2, "Được tiếp nhận")
    assert progress["MaSuKien"] == envelope.id and progress["NoiDungXuLy"] == "dossier.received.v2"


def test_a_hand_over_is_processing_and_an_apology_moves_the_due_date() -> None:
    transfer = transfer_requested(CODE)
    [update] = messages_for(envelope_of(transfer), transfer)
    body = update.model_dump(mode="json")
    assert (body["TrangThai"], body["TenTrangThai"]) == (4, "Đang xử lý")  # IN_TRANSFER
    apology = apology_issued(CODE)
    [moved] = messages_for(envelope_of(apology), apology)
    assert moved.model_dump()["NgayKetThucTheoQuyDinh"] == "20270106"


def test_final_states_resync_and_internal_reminders_are_not_reported() -> None:
    stop = stopped(CODE)
    kinds = [m.service for m in messages_for(envelope_of(stop), stop)]
    assert kinds == ["DongBoHoSoMC", "CapNhatTienDoHoSoMC"]
    assert messages_for(envelope_of(stop), stop)[0].model_dump()["LyDo"] == stop.reason
    soon = step_due_soon(CODE)
    assert messages_for(envelope_of(soon), soon) == []


class MemoryStore:
    """The sender's view of the store, in memory."""

    def __init__(self, docs: list[Document]) -> None:
        self.docs = {d["_id"]: d for d in docs}

    async def due(self, now: Any, limit: int) -> list[Document]:
        seen: set[str] = set()
        out = []
        for doc in sorted(self.docs.values(), key=lambda d: (d["created_at"], d["number"])):
            if doc["status"] != PENDING or doc["dossier_code"] in seen:
                continue
            seen.add(doc["dossier_code"])
            if doc["next_attempt_at"] <= now:
                out.append(doc)
        return out

    async def settle(self, message_id: str, fields: Document) -> None:
        self.docs[message_id] = {**self.docs[message_id], **fields}


def message(n: int, dossier: str = CODE) -> Document:
    return {
        "_id": f"m{n}", "dossier_code": dossier, "created_at": AT, "number": n, "index": 0,
        "kind": "x",
        "body": {"n": n}, "status": PENDING, "attempts": 0, "next_attempt_at": AT,
    }  # fmt: skip


def sender(
    store: MemoryStore, answers: list[int], clock: ManualClock, **options: Any
) -> tuple[PortalSender, list[Any]]:
    seen: list[Any] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append((json.loads(request.content), request.headers.get("authorization")))
        return httpx.Response(answers.pop(0) if answers else 200)

    settings = PortalSyncSettings(endpoint="http://portal.test/sync", token="t0k", **options)
    http = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    return PortalSender(store, settings, http, clock), seen  # type: ignore[arg-type]


async def test_a_failing_endpoint_is_retried_with_backoff_in_dossier_order() -> None:
    clock = ManualClock(AT)
    store = MemoryStore([message(1), message(2), message(3, dossier="other")])
    send, seen = sender(store, [503], clock, backoff_initial_s=2, backoff_max_s=60)
    assert await send.send_once() == 1  # m1 failed, "other" went through; m2 waits for m1
    assert [body["n"] for body, _ in seen] == [1, 3]
    assert seen[0][1] == "Bearer t0k"
    assert store.docs["m1"]["attempts"] == 1 and store.docs["m1"]["status"] == PENDING
    assert store.docs["m1"]["next_attempt_at"] == AT + timedelta(seconds=2)
    assert await send.send_once() == 0  # not yet time
    clock.advance(timedelta(seconds=2))
    assert await send.send_once() == 1 and await send.send_once() == 1
    assert [body["n"] for body, _ in seen] == [1, 3, 1, 2]
    assert {d["status"] for d in store.docs.values()} == {SENT}


async def test_a_refused_or_hopeless_message_becomes_a_dead_letter() -> None:
    clock = ManualClock(AT)
    store = MemoryStore([message(1), message(2, dossier="other")])
    send, _ = sender(store, [400, 500, 500], clock, max_attempts=2, backoff_initial_s=1)
    await send.send_once()
    assert store.docs["m1"]["status"] == DEAD and "HTTP 400" in store.docs["m1"]["last_error"]
    clock.advance(timedelta(seconds=5))
    await send.send_once()
    assert store.docs["m2"]["status"] == DEAD and store.docs["m2"]["attempts"] == 2


async def test_without_an_endpoint_nothing_is_sent() -> None:
    store = MemoryStore([message(1)])
    send = PortalSender(store, PortalSyncSettings(), httpx.AsyncClient(), ManualClock(AT))  # type: ignore[arg-type]
    assert await send.send_once() == 0 and store.docs["m1"]["status"] == PENDING
