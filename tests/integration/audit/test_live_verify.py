"""The whole-log check on a live log: verified while appends run, without a false alarm.

The verifier reads the latest checkpoint first and only the entries it covers, so
entries appended meanwhile (and the head moving on) are not mistaken for tampering.
"""

from __future__ import annotations

from pathlib import Path

from audit.config import AuditSettings
from audit.main import create_app

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app
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
    events = [e for n in range(6) for e in journey(f"L-{n}")]
    app = create_app(settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        trust = await trust_of(client)
        store = app.state.evidence.store
        await publish(app, events)
        reports: list[tuple[int, str]] = []
        while (head := (await store.head()).size) < len(events):
            reports.append((head, await verify_store(settings, trust)))
        final = await verify_store(settings, trust)

    during = [(size, report) for size, report in reports if 0 < size < len(events)]
    assert len(during) >= 2, reports  # verified at least twice while the log grew
    assert all(report.startswith("OK log lienthong-audit-log: ") for _, report in reports), reports
    assert final.startswith("OK log lienthong-audit-log: ")
    assert "newer entries not yet signed" in final
