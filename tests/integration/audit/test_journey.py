"""A dossier's journey through the real broker and store yields evidence that verifies offline."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from audit.config import AuditSettings
from audit.main import create_app

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.audit import CheckpointSigned
from shared.runtime import CommonSettings
from shared.testing import ActAs, read_topic, running_app
from shared.topics import AUDIT_EVENTS
from shared.transparency import merkle
from shared.transparency.note import parse_note, parse_vkey
from tests.integration.audit.helpers import (
    audit_settings_for,
    checkpointed,
    logged,
    publish,
    trust_of,
    verify_store,
)
from tests.integration.audit.journey import DESK, DISTRICT, journey

ROOT = Path(__file__).resolve().parents[3]
CODE = "000.00.01.H59-261126-0001"


async def run_verifier(*args: str) -> tuple[int, str]:
    """``python -m audit.verify`` as an auditor runs it, in its own process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "audit.verify",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_journey_bundle_verifies_offline(
    audit_settings: AuditSettings, clock: ManualClock, tmp_path: Path
) -> None:
    events = journey(CODE)
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, events)
        entries = await logged(client, len(events))
        checkpoint = await checkpointed(client, clock, len(events))
        bundle = (await client.get(f"/v1/audit/dossiers/{CODE}/bundle")).json()
        history = (await client.get(f"/v1/audit/dossiers/{CODE}")).json()
        keys = (await client.get("/v1/audit/keys")).json()
        signed = (await client.get("/v1/audit/checkpoints")).json()["items"]
        trust_response = await client.get("/v1/audit/trust")
        trust = await trust_of(client)

    assert [e["index"] for e in entries] == list(range(len(events)))
    assert {e["event_id"] for e in entries} == {e.id for e in events}
    assert bundle["format"] == "lienthong-audit-bundle/3"
    assert bundle["checkpoint"] == checkpoint
    assert len(bundle["entries"]) == len(events)
    assert [e["subject_count"] for e in bundle["entries"]] == list(range(1, len(events) + 1))
    assert bundle["pending_entries"] == 0 and bundle["key_rotations"] == []
    # The auditor pins the published trust file after checking its fingerprint.
    trust_file = tmp_path / "trust.json"
    trust_file.write_bytes(trust_response.content)
    fingerprint = "sha256:" + hashlib.sha256(trust_response.content).hexdigest()
    assert trust_response.headers["x-trust-fingerprint"] == fingerprint == trust.fingerprint()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    status, output = await run_verifier("--trust", str(trust_file), str(path))
    assert status == 0, output
    assert output.startswith(
        f"OK bundle of dossier {CODE}: entries 1..{len(events)} of the dossier, linked"
    )
    assert fingerprint in output
    assert f"none follows below tree size {checkpoint['tree_size']}" in output
    # Cut short after its last-but-one entry, the bundle fails against the signed index.
    assert bundle["dossier_head"]["last"] == bundle["entries"][-1]["index"]
    bundle["entries"].pop()
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    status, output = await run_verifier("--trust", str(trust_file), str(path))
    assert (status, output.split(":")[0]) == (1, "FAIL bundle"), output
    assert "cut short: the checkpoint's dossier index names entry" in output
    assert (await verify_store(audit_settings, trust)).startswith(
        f"OK log lienthong-audit-log: {len(events)} entries"
    )

    # Who held it when: the hand-over receipt, proven under the signed checkpoint.
    [receipt] = history["receipts"]
    assert (receipt["receipt"]["from_unit"], receipt["receipt"]["to_unit"]) == (DESK, DISTRICT)
    assert receipt["tree_size"] == checkpoint["tree_size"]
    assert merkle.verify_inclusion(
        receipt["entry_index"],
        receipt["tree_size"],
        bytes.fromhex(receipt["leaf_hash"]),
        [bytes.fromhex(h) for h in receipt["inclusion_proof"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    dossier_events = [e for e in events if e.subject == CODE]
    assert [e["event_id"] for e in history["entries"]] == [
        e["event_id"] for e in entries if e["subject"] == CODE
    ]
    assert len(history["entries"]) == len(dossier_events)

    # The checkpoint went out as audit.checkpoint.v1, a signed note the pinned key verifies.
    records = await read_topic(audit_settings.kafka, AUDIT_EVENTS, expect=len(signed))
    published = [
        CheckpointSigned.model_validate(Envelope.from_bytes(r.value).data) for r in records
    ]
    assert [p.tree_size for p in published] == [c["tree_size"] for c in signed]
    last = published[-1]
    assert (last.tree_size, last.root_hash, last.note) == (
        checkpoint["tree_size"],
        checkpoint["root_hash"],
        checkpoint["note"],
    )
    [key] = keys["keys"]
    assert (key["key_id"], key["status"]) == (last.key_id, "current")
    [pinned] = trust.log_keys
    assert pinned.verifier == parse_vkey(key["vkey"])
    assert parse_note(last.note or "").verified_by(pinned.verifier)


async def test_auditor_api_filters_pages_and_refuses_bad_parameters(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    first, second = journey("A-1"), journey("B-2")
    settings = audit_settings_for(common_settings, tmp_path / "key.pem", every=1000)
    app = create_app(settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, first)
        await logged(client, len(first))
        # Nothing is signed until the oldest entry is 30 s old on the (manual) clock.
        assert (await client.get("/v1/audit/checkpoints/latest")).status_code == 404
        unsigned = await client.get("/v1/audit/dossiers/A-1/bundle")
        assert unsigned.status_code == 409
        assert unsigned.json()["code"] == "not_checkpointed_yet"
        clock.advance(timedelta(hours=1))
        await publish(app, second)
        everything = await logged(client, len(first) + len(second))
        later = everything[len(first)]["logged_at"]

        async def get(path: str, **params: str | int) -> httpx.Response:
            return await client.get(path, params=params)

        by_dossier = (await get("/v1/audit/entries", dossier="B-2")).json()["items"]
        # One dossier's facts keep their order; its notification (another topic) may interleave.
        facts = [e["event_id"] for e in by_dossier if e["event_type"].startswith("dossier.")]
        assert facts == [e.id for e in second if e.type.startswith("dossier.")]
        assert {e["event_id"] for e in by_dossier} == {e.id for e in second}
        by_type = (await get("/v1/audit/entries", type="dossier.transfer.accepted.v1")).json()
        assert [e["subject"] for e in by_type["items"]] == ["A-1", "B-2"]
        since = (await get("/v1/audit/entries", since=later)).json()["items"]
        until = (await get("/v1/audit/entries", until=later)).json()["items"]
        assert len(since) == len(second) and len(until) == len(first)

        seen: list[int] = []
        page = (await get("/v1/audit/entries", limit=5)).json()
        while True:
            assert len(page["items"]) <= 5
            seen.extend(e["index"] for e in page["items"])
            if page["next_after"] is None:
                break
            page = (await get("/v1/audit/entries", limit=5, after=page["next_after"])).json()
        assert seen == list(range(len(everything)))

        refusals: list[tuple[dict[str, str | int], str]] = [
            ({"limit": 501}, "limit"),
            ({"limit": 0}, "limit"),
            ({"after": -1}, "after"),
            ({"after": 2**63}, "after"),
            ({"after": 10**40}, "after"),
            ({"type": "dossier.teleported.v1"}, "type"),
            ({"since": later, "until": later}, "until"),
            ({"since": "2026-11-26T09:00:00"}, "since"),
            ({"since": "yesterday"}, "since"),
        ]
        for params, field in refusals:
            refused = await get("/v1/audit/entries", **params)
            assert refused.status_code == 422, (params, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["field"].endswith(field), refused.json()

        size = len(everything)
        bad: list[tuple[str, dict[str, str | int], int]] = [
            ("/v1/audit/proofs/inclusion", {"entry": 0, "size": size + 1}, 422),
            ("/v1/audit/proofs/inclusion", {"entry": size, "size": size}, 422),
            ("/v1/audit/proofs/consistency", {"from": 3, "to": 2}, 422),
            ("/v1/audit/proofs/consistency", {"from": 0, "to": 2}, 422),
            ("/v1/audit/dossiers/NOPE", {}, 404),
            ("/v1/audit/checkpoints/3", {}, 404),
            (f"/v1/audit/checkpoints/{2**64}", {}, 422),
            (f"/v1/audit/entries/{2**64}", {}, 422),
            ("/v1/audit/proofs/inclusion", {"entry": 2**64}, 422),
            ("/v1/audit/checkpoints", {"after": 2**64}, 422),
        ]
        for path, params, status in bad:
            assert (await get(path, **params)).status_code == status, (path, params)
        assert (await client.delete("/v1/audit/entries/0")).status_code == 405
        assert (await client.post("/v1/audit/entries", json={})).status_code == 405
