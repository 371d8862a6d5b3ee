"""Erasing a dossier's personal data after the retention period keeps every proof valid.

Personal fields reach the log only sealed under the dossier's key (kept outside the log);
erasure destroys the key and is itself logged. Hashes, proofs and checkpoints signed
before the erasure verify unchanged after it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from audit.erasure import BATCH
from audit.main import create_app
from audit.verify import verify_document

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.dossier import ApplicantContact, DocumentRef, DossierState
from shared.events.notification import NotificationFailed, NotificationSent
from shared.events.reception import DossierReceived, DossierReceivedV1
from shared.events.registry import make_envelope, parse_data
from shared.events.withdrawal import WithdrawalRequested
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import (
    audit_settings_for,
    checkpointed,
    logged,
    publish,
    trust_of,
    verify_store,
)
from tests.integration.audit.journey import journey

CODE = "000.00.01.H59-261126-0042"
NAME, PHONE, NOTE = "Nguyễn Thị Hoa", "0901234567", "Gọi chị Hoa trước 10 giờ"


def with_personal_data(events: list[Envelope]) -> list[Envelope]:
    """The journey, received the old way: a v1 fact with the applicant's name and a note."""
    received = parse_data(events[0])
    assert isinstance(received, DossierReceived)
    fields = received.model_dump() | {
        "applicant": ApplicantContact(identity_hash="b" * 64, name=NAME, phone=PHONE),
        "note": NOTE,
    }
    first = make_envelope(DossierReceivedV1(**fields), source="/lienthong/intake")
    return [first, *events[1:]]


async def test_erasure_after_retention_keeps_every_proof_valid(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    settings = audit_settings_for(common_settings, tmp_path / "key.pem")
    settings.audit.personal_data_retention_days = 30
    settings.audit.erasure_poll_seconds = 3600  # the test erases when it says so
    events = with_personal_data(journey(CODE))
    app = create_app(settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        trust = await trust_of(client)
        await publish(app, events)
        await logged(client, len(events))
        before = await checkpointed(client, clock, len(events))
        stored = await app.state.runtime.db["entries"].find_one({"_id": 0})
        readable = (await client.get("/v1/audit/entries/0")).json()
        proof_before = (await client.get("/v1/audit/proofs/inclusion?entry=0")).json()
        bundle_before = (await client.get(f"/v1/audit/dossiers/{CODE}/bundle")).json()

        clock.advance(timedelta(days=29))
        assert await app.state.eraser.erase_due() == []  # not yet: 30 days after the last entry
        clock.advance(timedelta(days=2))
        assert await app.state.eraser.erase_due() == [CODE]
        assert await app.state.eraser.erase_due() == []  # once
        erased = (await client.get("/v1/audit/entries/0")).json()
        after = await checkpointed(client, clock, len(events) + 1)
        bundle_after = (await client.get(f"/v1/audit/dossiers/{CODE}/bundle")).json()
        proof_after = (
            await client.get(f"/v1/audit/proofs/inclusion?entry=0&size={before['tree_size']}")
        ).json()
        consistency = (
            await client.get(
                "/v1/audit/proofs/consistency",
                params={"from": before["tree_size"], "to": after["tree_size"]},
            )
        ).json()
        whole_log = await verify_store(settings, trust)

    # The log never held the name or the note in clear; the API showed them while allowed.
    assert NAME not in stored["canonical"] and NOTE not in stored["canonical"]
    assert readable["personal_data"] == {
        "data.applicant.identity_hash": "b" * 64,
        "data.applicant.name": NAME,
        "data.applicant.phone": PHONE,
        "data.documents.0.name": "Đơn đề nghị",
        "data.note": NOTE,
    }
    assert PHONE not in stored["canonical"]
    assert readable["event"]["data"]["applicant"]["name"]["sealed"]
    # Erased: unreadable, with the same hashes as before.
    assert erased["personal_data"] == {path: {"erased": True} for path in readable["personal_data"]}
    for field in ("event", "event_hash", "leaf_hash", "chain_hash"):
        assert erased[field] == readable[field]
    # The erasure is on the record, in the dossier's own history.
    last = bundle_after["entries"][-1]
    assert last["event_type"] == "audit.personal-data.erased.v1"
    assert (last["event"]["data"]["dossier_code"], last["event"]["data"]["reason"]) == (
        CODE,
        "retention",
    )
    # Everything signed before still verifies, and so does what came after.
    for document in (proof_before, proof_after, bundle_before, bundle_after, consistency):
        verify_document(json.loads(json.dumps(document)), trust)
    assert proof_after["root_hash"] == proof_before["root_hash"] == before["root_hash"]
    assert whole_log.startswith(f"OK log lienthong-audit-log: {len(events) + 1} entries")


DOCNAME = "CCCD_Nguyen_Thi_Hoa_079190001234.pdf"
REASON = "Tôi (Nguyễn Thị Hoa) nằm viện điều trị ung thư, xin rút hồ sơ"
ERROR = "550 5.1.1 <hoa.nguyen@example.vn>: mailbox unavailable"
IDENTITY_HASH, RECIPIENT_REF = "b" * 64, "d" * 64  # as the journey has them


def with_free_text(code: str) -> list[Envelope]:
    """The journey of a v2 dossier (no contacts) whose free text and pseudonyms name the
    applicant: a note, a document name, a withdrawal reason, a gateway's error."""
    events = journey(code)
    received = parse_data(events[0])
    assert isinstance(received, DossierReceived)
    fields = received.model_dump() | {
        "note": NOTE,
        "documents": [DocumentRef(name=DOCNAME, type="DON", size_bytes=1200, sha256="c" * 64)],
    }
    events[0] = make_envelope(DossierReceived(**fields), source="/lienthong/intake")
    withdrawal = WithdrawalRequested(
        dossier_code=code,
        state=DossierState.WITHDRAWAL_REQUESTED,
        holding_unit=received.receiving_unit,
        requested_at=received.received_at,
        reason=REASON,
    )
    sent = parse_data(events[-1])
    assert isinstance(sent, NotificationSent)
    failed = NotificationFailed(
        **(sent.model_dump(exclude={"sent_at"}) | {"failed_at": sent.sent_at, "error": ERROR})
    )
    return [
        *events,
        make_envelope(withdrawal, source="/lienthong/intake"),
        make_envelope(failed, source="/lienthong/notification"),
    ]


def _text(canonical: Any) -> str:
    return canonical if isinstance(canonical, str) else bytes(canonical).decode()


async def test_free_text_and_pseudonyms_are_sealed_and_erased(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    settings = audit_settings_for(common_settings, tmp_path / "key.pem")
    settings.audit.personal_data_retention_days = 30
    settings.audit.erasure_poll_seconds = 3600  # the test erases when it says so
    code = "000.00.01.H59-261126-0077"
    events = with_free_text(code)
    secrets = [NOTE, DOCNAME, REASON, ERROR, IDENTITY_HASH, RECIPIENT_REF]
    app = create_app(settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        trust = await trust_of(client)
        await publish(app, events)
        await logged(client, len(events))
        await checkpointed(client, clock, len(events))
        db = app.state.runtime.db
        canonical = [_text(d["canonical"]) async for d in db["entries"].find({"subject": code})]
        listed = (await client.get("/v1/audit/entries", params={"dossier": code})).json()["items"]
        history = (await client.get(f"/v1/audit/dossiers/{code}")).json()
        bundle_before = (await client.get(f"/v1/audit/dossiers/{code}/bundle")).json()

        clock.advance(timedelta(days=31))
        assert await app.state.eraser.erase_due() == [code]
        await checkpointed(client, clock, len(events) + 1)
        listed_after = (
            await client.get("/v1/audit/entries", params={"dossier": code, "limit": 50})
        ).json()["items"]
        history_after = (await client.get(f"/v1/audit/dossiers/{code}")).json()
        bundle_after = (await client.get(f"/v1/audit/dossiers/{code}/bundle")).json()
        whole_log = await verify_store(settings, trust)

    # The log holds none of them in clear (nor the JSON escape of one).
    for text in canonical:
        for secret in secrets:
            assert secret not in text and json.dumps(secret)[1:-1] not in text, secret
    # While the key lives, the API shows them beside the entries, by path.
    shown = {
        (entry["event_type"], path): value
        for entry in listed
        for path, value in entry.get("personal_data", {}).items()
    }
    assert shown[("dossier.received.v2", "data.documents.0.name")] == DOCNAME
    assert shown[("dossier.received.v2", "data.applicant.identity_hash")] == IDENTITY_HASH
    assert shown[("dossier.received.v2", "data.note")] == NOTE
    assert shown[("dossier.withdrawal.requested.v1", "data.reason")] == REASON
    assert shown[("notification.failed.v1", "data.error")] == ERROR
    assert shown[("notification.sent.v1", "data.recipient_ref")] == RECIPIENT_REF
    # The dossier view still proves its hand-over receipt (codes and ids stay in clear).
    assert [r["receipt"]["dossier_code"] for r in history["receipts"]] == [code]
    assert [r["receipt"] for r in history_after["receipts"]] == [
        r["receipt"] for r in history["receipts"]
    ]
    # After erasure none of them is served anywhere, and everything still verifies.
    served = json.dumps([listed_after, history_after, bundle_after], ensure_ascii=False)
    for secret in secrets:
        assert secret not in served, secret
    erased = [e["personal_data"] for e in listed_after if "personal_data" in e]
    assert erased and all(v == {"erased": True} for p in erased for v in p.values())
    for document in (bundle_before, bundle_after):
        verify_document(json.loads(json.dumps(document)), trust)
    assert whole_log.startswith(f"OK log lienthong-audit-log: {len(events) + 1} entries")


async def test_dossiers_within_retention_do_not_hold_back_one_that_is_due(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    """More long-running dossiers than the eraser reads at once, all with keys older than
    the cutoff but recent entries, come before one that is due: it is erased all the same."""
    settings = audit_settings_for(common_settings, tmp_path / "key.pem", every=1000)
    settings.audit.personal_data_retention_days = 30
    settings.audit.erasure_poll_seconds = 3600  # the test erases when it says so
    active = [f"000.00.01.H59-261126-{n:04d}" for n in range(BATCH)]
    due = "000.00.01.H59-261126-9999"  # last in the order the keys are read (time, code)
    firsts = {code: journey(code)[:2] for code in [*active, due]}
    app = create_app(settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, [events[0] for events in firsts.values()])  # keys made now
        await logged(client, len(firsts))
        clock.advance(timedelta(days=100))
        await publish(app, [firsts[code][1] for code in active])  # still going on
        await logged(client, len(firsts) + len(active))
        clock.advance(timedelta(days=1))
        erased = [await app.state.eraser.erase_due() for _ in range(3)]
        keys = await app.state.runtime.db["dossier_keys"].find({"key": None}).to_list()

    assert erased == [[due], [], []]
    assert [doc["_id"] for doc in keys] == [due]
