"""A contact correction's record in the audit log: in the dossier's own history, its
reason sealed under the dossier's key like every personal field, readable by an auditor
while the key lives; the corrected values were never in it."""

from __future__ import annotations

from audit.config import AuditSettings
from audit.main import create_app

from shared.clock import ManualClock
from shared.events.operations import ApplicantContactCorrected
from shared.events.registry import make_envelope
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import logged, publish

CODE = "001.21.31.H59-261126-0042"
REASON = "Chị Hoa báo sai số điện thoại 0901234567 (phiếu số 12)"


async def test_the_correction_is_in_the_dossier_s_history_with_its_reason_sealed(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    fact = ApplicantContactCorrected(
        operator="dpo",
        dossier_code=CODE,
        service="intake",
        corrected_fields=["phone"],
        reason=REASON,
        corrected_at=clock.now(),
    )
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, [make_envelope(fact, source="/lienthong/intake")])
        [entry] = await logged(client, 1)
        stored = await app.state.runtime.db["entries"].find_one({"_id": entry["index"]})
        readable = (await client.get(f"/v1/audit/entries/{entry['index']}")).json()
        history = (await client.get(f"/v1/audit/dossiers/{CODE}")).json()

    assert stored is not None and REASON not in stored["canonical"]
    assert readable["event"]["data"]["reason"]["sealed"]
    assert readable["personal_data"] == {"data.reason": REASON}
    assert readable["event"]["data"]["corrected_fields"] == ["phone"]
    assert [e["event_type"] for e in history["entries"]] == [
        "operations.applicant-contact.corrected.v1"
    ]
