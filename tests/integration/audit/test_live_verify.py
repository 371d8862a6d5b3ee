"""The whole-log check on a live log: verified while appends run, without a false alarm.

The verifier reads the latest checkpoint first and only the entries it covers, so
entries appended meanwhile (and the head moving on) are not mistaken for tampering.
"""

from __future__ import annotations

from pathlib import Path

from audit.config import AuditSettings
from audit.main import create_app
from audit.store import AuditStore

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, eventually, running_app
from tests.integration.audit.helpers import (
    audit_settings_for,
    publish,
    trust_of,
    verify_store,
)
from tests.integration.audit.journey import journey


async def test_verifying_while_appends_run_reports_no_false_alarm(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    settings: AuditSettings = audit_settings_for(common_settings, tmp_path / "key.pem", every=3)
    journeys = [journey(f"L-{n}") for n in range(6)]
    events = [e for j in journeys for e in j]
    app = create_app(settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        trust = await trust_of(client)
        store: AuditStore = app.state.evidence.store
        await publish(app, journeys[0])
        await eventually(store.latest_checkpoint, timeout=60)  # something to verify against
        reports: list[tuple[int, str]] = []
        for events_of_one in journeys[1:]:  # each verified while its events are appended
            await publish(app, events_of_one)
            reports.append(((await store.head()).size, await verify_store(settings, trust)))

        async def all_logged() -> bool:
            return (await store.head()).size == len(events)

        await eventually(all_logged, timeout=60)
        final = await verify_store(settings, trust)

    during = [(size, report) for size, report in reports if 0 < size < len(events)]
    assert len(during) >= 2, reports  # verified at least twice while the log grew
    assert all(report.startswith("OK log lienthong-audit-log: ") for _, report in reports), reports
    assert final.startswith("OK log lienthong-audit-log: ")
    assert "newer entries not yet signed" in final
