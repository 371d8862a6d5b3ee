"""Evidence kept from before, against newer evidence from the running service.

An auditor keeps the bundle it was given; later, with a newer bundle of the same dossier
and the consistency proof the API serves between the two checkpoints, the verifier
proves the log only grew and both bundles agree on the dossier's earlier entries.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit.config import AuditSettings
from audit.main import create_app
from audit.verify import main

from shared.clock import ManualClock
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import checkpointed, logged, publish
from tests.integration.audit.journey import journey

CODE = "000.00.01.H59-261126-0007"


async def test_a_kept_bundle_is_extended_by_a_newer_one(
    audit_settings: AuditSettings,
    clock: ManualClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = journey(CODE)
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, events[:3])
        await logged(client, 3)
        await checkpointed(client, clock, 3)
        kept = (await client.get(f"/v1/audit/dossiers/{CODE}/bundle")).json()
        await publish(app, events[3:])
        await logged(client, len(events))
        await checkpointed(client, clock, len(events))
        newer = (await client.get(f"/v1/audit/dossiers/{CODE}/bundle")).json()
        old_size, new_size = kept["checkpoint"]["tree_size"], newer["checkpoint"]["tree_size"]
        proof = (
            await client.get(
                "/v1/audit/proofs/consistency", params={"from": old_size, "to": new_size}
            )
        ).json()
        trust = (await client.get("/v1/audit/trust")).content

    (tmp_path / "trust.json").write_bytes(trust)
    for name, doc in {"kept.json": kept, "newer.json": newer, "proof.json": proof}.items():
        (tmp_path / name).write_text(json.dumps(doc, ensure_ascii=False))
    status = main(
        [
            "--trust", str(tmp_path / "trust.json"),
            str(tmp_path / "newer.json"),
            "--previous", str(tmp_path / "kept.json"),
            "--consistency", str(tmp_path / "proof.json"),
        ]
    )  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert status == 0, lines
    assert (old_size, new_size) == (3, len(events))
    assert lines[1:3] == [
        f"OK the log at tree size {new_size} extends the log at tree size {old_size}",
        f"OK both bundles hold the same 3 entries of the dossier below tree size {old_size}",
    ]
