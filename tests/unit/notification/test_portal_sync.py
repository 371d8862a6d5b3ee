"""National portal connector: payload shapes pinned, mapping per fact, retries and dead
letters, a dossier's order (a dead message holds back the later ones), the sender's lease.

The sender is driven against an in-memory store (choosing what is due with the store's
own ``sendable``), a scripted lease and an ``httpx.MockTransport`` endpoint.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from notification.portal_mapping import (
    SCHEMA_DIR,
    VIETNAM,
    messages_for,
    schemas,
    withdrawal_stands,
)
from notification.portal_sender import PortalSender
from notification.portal_sync import (
    DEAD,
    PENDING,
    SENT,
    UNSENT,
    PortalSyncSettings,
    build_registry,
    sendable,
)
from notification.templates import DisplayNames
from pydantic import ValidationError

from shared.clock import ManualClock
from shared.mongo.client import Document
from tests.samples import (
    AT,
    BIRTH,
    COMMUNE_DESK,
    LAND,
    apology_issued,
    envelope_of,
    intake_supplement_provided,
    intake_supplement_requested,
    received,
    result_ready,
    step_due_soon,
    stopped,
    transfer_requested,
    withdrawal_declined,
    withdrawal_requested,
)

CODE = "001.21.31.H59-261126-0001"


def test_committed_schemas_pin_the_payload_shapes() -> None:
    for name, text in schemas().items():
        committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert committed == text, (
            "run: PYTHONPATH=services .venv/bin/python -m notification.portal_mapping"
        )


NAMES = DisplayNames(
    units={COMMUNE_DESK: ("Bộ phận Một cửa xã", "Commune desk")},
    procedures={LAND: ("Đăng ký đất đai", "Land registration")},
)


def test_a_received_dossier_is_synced_then_its_progress_reported() -> None:
    """The shapes of the one public implementation (OpenCPS): service, data[], strings."""
    fact = received(CODE)
    envelope = envelope_of(fact)
    messages = messages_for(envelope, fact, names=NAMES, updating=False)
    sync, progress = (m.model_dump(mode="json") for m in messages)
    assert sync["service"] == "DongBoHoSoMC" and sync["isUpdating"] == "False"
    [record] = sync["data"]
    local = fact.received_at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")
    assert {k: record[k] for k in (
        "MaHoSo", "MaTTHC", "TenTTHC", "TrangThaiHoSo", "NgayTiepNhan", "NgayHenTra",
        "DonViXuLy", "ChuHoSo", "Email", "SoDienThoai", "LoaiDoiTuong", "NgayTra",
    )} == {
        "MaHoSo": CODE, "MaTTHC": LAND, "TenTTHC": "Đăng ký đất đai", "TrangThaiHoSo": "2",
        "NgayTiepNhan": local, "NgayHenTra": fact.appointment_date.strftime("%Y%m%d") + "000000",
        "DonViXuLy": "Bộ phận Một cửa xã", "ChuHoSo": "", "Email": "", "SoDienThoai": "",
        "LoaiDoiTuong": "1", "NgayTra": "",
    }  # fmt: skip
    assert [d["TenTepDinhKem"] for d in record["TaiLieuNop"]] == [d.name for d in fact.documents]
    assert [d["TepDinhKemId"] for d in record["TaiLieuNop"]] == [d.sha256 for d in fact.documents]
    assert progress["service"] == "CapNhatTienDoHoSoMC"
    [entry] = progress["data"]
    assert (entry["TrangThai"], entry["PhongBanXuLy"]) == ("2", "Bộ phận Một cửa xã")
    assert entry["NoiDungXuLy"] == "Được tiếp nhận (dossier.received.v2)"
    assert entry["ThoiDiemXuLy"] == envelope.time.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")
    assert "isUpdating" not in progress
    [again, _] = messages_for(envelope, fact)  # a later sync of the same dossier
    assert again.model_dump()["isUpdating"] == "True"


def test_no_personal_data_and_only_the_implementations_fields_are_sent() -> None:
    fact = received(CODE)
    text = json.dumps([m.model_dump(mode="json") for m in messages_for(envelope_of(fact), fact)])
    assert fact.applicant.identity_hash not in text  # not even the keyed hash
    for extra in ("TenTrangThai", "MaSuKien", "ChuHoSoHash", "KenhNop", "MaDonVi", "LyDo"):
        assert f'"{extra}"' not in text


def test_a_hand_over_is_processing_and_an_apology_moves_the_due_date() -> None:
    transfer = transfer_requested(CODE)
    [update] = messages_for(envelope_of(transfer), transfer)
    [entry] = update.model_dump(mode="json")["data"]
    assert entry["TrangThai"] == "4" and entry["NoiDungXuLy"].startswith("Đang xử lý")
    apology = apology_issued(CODE)
    [moved] = messages_for(envelope_of(apology), apology)
    assert moved.model_dump()["data"][0]["NgayKetThucTheoQuyDinh"] == "20270106000000"


def test_final_states_resync_and_internal_reminders_are_not_reported() -> None:
    stop = stopped(CODE)
    kinds = [m.service for m in messages_for(envelope_of(stop), stop)]
    assert kinds == ["DongBoHoSoMC", "CapNhatTienDoHoSoMC"]
    assert messages_for(envelope_of(stop), stop)[0].model_dump()["data"][0]["GhiChu"] == stop.reason
    soon = step_due_soon(CODE)
    assert messages_for(envelope_of(soon), soon) == []


def test_a_supplement_asked_for_before_reception_syncs_the_record_at_status_5() -> None:
    """Handed in at the desk, a dossier's first fact may be the Mẫu 02 request: the portal
    gets its record (new, status 5, what was handed in, no reception yet) before its
    progress; the supplement is progress back to status 1, waiting for the desk."""
    asked = intake_supplement_requested(CODE)
    names = DisplayNames(
        units=NAMES.units, procedures={BIRTH: ("Đăng ký khai sinh", "Birth registration")}
    )
    sync, progress = (
        m.model_dump(mode="json")
        for m in messages_for(envelope_of(asked), asked, names=names, updating=False)
    )
    assert (sync["service"], sync["isUpdating"]) == ("DongBoHoSoMC", "False")
    [record] = sync["data"]
    assert {k: record[k] for k in (
        "MaHoSo", "MaTTHC", "TenTTHC", "TrangThaiHoSo", "NgayTiepNhan", "NgayHenTra",
        "DonViXuLy", "GhiChu",
    )} == {
        "MaHoSo": CODE, "MaTTHC": BIRTH, "TenTTHC": "Đăng ký khai sinh", "TrangThaiHoSo": "5",
        "NgayTiepNhan": "", "NgayHenTra": "", "DonViXuLy": "Bộ phận Một cửa xã",
        "GhiChu": "Yêu cầu bổ sung giấy tờ",
    }  # fmt: skip
    assert [d["TepDinhKemId"] for d in record["TaiLieuNop"]] == [d.sha256 for d in asked.documents]
    [entry] = progress["data"]
    assert entry["TrangThai"] == "5"
    assert (
        entry["NoiDungXuLy"] == "Yêu cầu bổ sung giấy tờ (dossier.intake.supplement.requested.v1)"
    )

    brought = intake_supplement_provided(CODE)
    [update] = messages_for(envelope_of(brought), brought, names=names)
    assert update.service == "CapNhatTienDoHoSoMC"
    [entry] = update.model_dump(mode="json")["data"]
    assert (entry["TrangThai"], entry["PhongBanXuLy"]) == ("1", "Bộ phận Một cửa xã")
    assert entry["NoiDungXuLy"] == "Mới đăng ký (dossier.intake.supplement.provided.v1)"


class MemoryStore:
    """The sender's view of the store, in memory: the store's own choice of what is due
    (``sendable``) over every dossier, oldest first."""

    def __init__(self, docs: list[Document]) -> None:
        self.docs = {d["_id"]: d for d in docs}

    async def due(self, now: Any, limit: int) -> list[Document]:
        unsent = sorted(
            (d for d in self.docs.values() if d["status"] in UNSENT), key=lambda d: d["created_at"]
        )
        return sendable(unsent, now, list(dict.fromkeys(d["dossier_code"] for d in unsent)))

    async def settle(self, message_id: str, fields: Document, *, if_pending: bool = False) -> None:
        if not if_pending or self.docs[message_id]["status"] == PENDING:
            self.docs[message_id] = {**self.docs[message_id], **fields}


class ScriptedLease:
    """The store's lease as the sender sees it: held, or not, as the test says."""

    def __init__(self, held: bool = True) -> None:
        self.held = held
        self.asked = 0

    async def acquire(self, now: Any, duration: timedelta) -> bool:
        self.asked += 1
        return self.held


def message(n: int, dossier: str = CODE, **fields: Any) -> Document:
    return {
        "_id": f"m{n}", "dossier_code": dossier, "created_at": AT, "number": n, "index": 0,
        "kind": "x",
        "body": {"n": n}, "status": PENDING, "attempts": 0, "next_attempt_at": AT, **fields,
    }  # fmt: skip


def sender(
    store: MemoryStore,
    answers: list[int],
    clock: ManualClock,
    lease: ScriptedLease | None = None,
    wall: ManualClock | None = None,
    **options: Any,
) -> tuple[PortalSender, list[Any]]:
    seen: list[Any] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append((json.loads(request.content), request.headers.get("authorization")))
        return httpx.Response(answers.pop(0) if answers else 200)

    settings = PortalSyncSettings(endpoint="http://portal.test/sync", token="t0k", **options)
    http = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    send = PortalSender(store, settings, http, clock, lease or ScriptedLease(), wall)  # type: ignore[arg-type]
    return send, seen


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


async def test_a_dead_message_holds_back_its_dossiers_later_ones_until_replayed() -> None:
    """The dossier's first sync refused: the portal must not hear of a dossier it does
    not know through its updates, nor get them before it once the sync is replayed."""
    clock = ManualClock(AT)
    store = MemoryStore([message(1), message(2), message(3, dossier="other")])
    send, seen = sender(store, [400], clock)
    assert await send.send_once() == 1  # m1 refused for good: dead; "other" goes on
    assert store.docs["m1"]["status"] == DEAD
    clock.advance(timedelta(hours=1))
    assert await send.send_once() == 0  # m2 waits behind the dead m1
    assert store.docs["m2"]["status"] == PENDING
    store.docs["m1"].update(status=PENDING, attempts=0)  # replayed by operations
    assert await send.send_once() == 1 and await send.send_once() == 1
    assert [body["n"] for body, _ in seen] == [1, 3, 1, 2]


async def test_a_dossiers_messages_go_in_number_order_whatever_their_handling_times() -> None:
    """Handling times come from each instance's clock: one behind, or stepped back, gives
    message 2 an earlier time than message 1. Their numbers decide."""
    behind = AT - timedelta(minutes=5)
    store = MemoryStore([message(1), message(2, created_at=behind, next_attempt_at=behind)])
    send, seen = sender(store, [], ManualClock(AT))
    assert await send.send_once() == 1 and await send.send_once() == 1
    assert [body["n"] for body, _ in seen] == [1, 2]


async def test_only_the_lease_holder_sends() -> None:
    store = MemoryStore([message(1)])
    lease = ScriptedLease(held=False)  # another instance holds it
    send, seen = sender(store, [], ManualClock(AT), lease)
    assert await send.send_once() == 0 and seen == []
    lease.held = True
    assert await send.send_once() == 1 and [body["n"] for body, _ in seen] == [1]


def test_the_lease_must_outlast_a_request() -> None:
    with pytest.raises(ValidationError, match="LEASE_S must exceed"):
        PortalSyncSettings(lease_s=10, timeout_s=10)


@pytest.mark.parametrize("post_takes_s, lost", [(20, True), (40, False)])
async def test_a_sender_stops_when_its_lease_is_lost_or_lapsed(
    post_takes_s: int, lost: bool
) -> None:
    """A post starts only with a whole request's time left of the lease (30 s; renewed
    when 15 s are left). Renewal refused: the sender stops. Renewed only after the lease
    lapsed: another instance may have sent meanwhile, so what was read is read again."""
    wall = ManualClock(AT)
    lease = ScriptedLease()
    store = MemoryStore([message(n, dossier=f"d{n}") for n in (1, 2, 3)])
    seen: list[int] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["n"])
        wall.advance(timedelta(seconds=post_takes_s))
        lease.held = not lost
        return httpx.Response(200)

    settings = PortalSyncSettings(endpoint="http://portal.test/sync", lease_s=30, timeout_s=10)
    http = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    send = PortalSender(store, settings, http, ManualClock(AT), lease, wall)  # type: ignore[arg-type]
    assert await send.send_once() == 1 and seen == [1]
    assert lease.asked == 2  # taken, then asked again before the second post
    assert [store.docs[f"m{n}"]["status"] for n in (1, 2, 3)] == [SENT, PENDING, PENDING]


async def test_a_request_is_bounded_as_a_whole() -> None:
    """httpx's timeout bounds each read or write; a post must end within the lease."""

    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    store = MemoryStore([message(1)])
    settings = PortalSyncSettings(endpoint="http://portal.test/sync", timeout_s=0.05)
    http = httpx.AsyncClient(transport=httpx.MockTransport(stall))
    send = PortalSender(store, settings, http, ManualClock(AT), ScriptedLease())  # type: ignore[arg-type]
    assert await send.send_once() == 0
    assert store.docs["m1"]["last_error"] == "timeout after 0.05s"
    assert (store.docs["m1"]["status"], store.docs["m1"]["attempts"]) == (PENDING, 1)


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
    settings = PortalSyncSettings()
    send = PortalSender(store, settings, httpx.AsyncClient(), ManualClock(AT), ScriptedLease())  # type: ignore[arg-type]
    assert await send.send_once() == 0 and store.docs["m1"]["status"] == PENDING


async def test_a_portal_refusal_in_a_200_answer_is_a_dead_letter() -> None:
    """The portal answers 200 with an error_code; "00" (or 0) is acceptance."""
    clock = ManualClock(AT)
    bodies = iter([{"error_code": "00"}, {"error_code": "-1", "message": "MaTTHC không hợp lệ"}])

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(bodies))

    store = MemoryStore([message(1), message(2, dossier="other")])
    settings = PortalSyncSettings(endpoint="http://portal.test/sync")
    http = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    send = PortalSender(store, settings, http, clock, ScriptedLease())  # type: ignore[arg-type]
    assert await send.send_once() == 1
    assert store.docs["m1"]["status"] == SENT
    assert store.docs["m2"]["status"] == DEAD
    assert "error_code -1: MaTTHC không hợp lệ" in store.docs["m2"]["last_error"]


async def test_the_integrating_units_code_goes_in_every_body_when_set() -> None:
    clock = ManualClock(AT)
    store = MemoryStore([message(1)])
    send, seen = sender(store, [], clock, unit_code="000.00.00.H59")
    assert await send.send_once() == 1
    assert seen[0][0] == {"n": 1, "madonvi": "000.00.00.H59"}
    plain, seen_plain = sender(MemoryStore([message(2)]), [], clock)
    assert await plain.send_once() == 1 and "madonvi" not in seen_plain[0][0]


def test_facts_never_reported_are_not_consumed_at_all() -> None:
    registry = build_registry(MemoryStore([]))  # type: ignore[arg-type]
    assert {"dossier.route.planned.v1", "dossier.step.due_soon.v1"}.isdisjoint(registry.event_types)
    assert {"dossier.received.v2", "dossier.step.completed.v1"} <= set(registry.event_types)


def statuses(facts: list[Any]) -> list[str]:
    """The portal status each fact's progress update reports, mapped in this order with
    the request's standing carried from one to the next, as the connector does."""
    standing, out = False, []
    for fact in facts:
        [*_, update] = messages_for(envelope_of(fact), fact, withdrawal_standing=standing)
        out.append(update.model_dump()["data"][0]["TrangThai"])
        standing = withdrawal_stands(standing, fact)
    return out


def test_a_fact_the_withdrawal_request_overtook_does_not_take_the_status_back() -> None:
    """Routing completed a step a moment before the applicant asked to withdraw, but its
    relay published the hand-over after intake's request: the hand-over reaches the
    connector second. Routing took the request (it allows nothing but the stop after
    it), so the portal keeps status 7 until the stop (8), as intake's look-up does."""
    code = CODE
    facts = [received(code), withdrawal_requested(code), transfer_requested(code), stopped(code)]
    assert statuses(facts) == ["2", "7", "7", "8"]
    # The hand-over is still reported (what happened), under the status that stands.
    [update] = messages_for(envelope_of(facts[2]), facts[2], withdrawal_standing=True)
    entry = update.model_dump()["data"][0]
    assert entry["NoiDungXuLy"] == "Công dân yêu cầu rút hồ sơ (dossier.transfer.requested.v1)"
    # Routing's decline ends the request with the state it kept (the result ready: 9).
    declined = [withdrawal_requested(code), result_ready(code), withdrawal_declined(code)]
    assert statuses(declined) == ["7", "7", "9"]
    # Without a request nothing changes: a hand-over is processing.
    assert statuses([received(code), transfer_requested(code)]) == ["2", "4"]
