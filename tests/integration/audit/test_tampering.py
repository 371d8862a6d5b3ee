"""Tampering with the store behind the service's back is detected, at the right place."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import Any

import rfc8785
from audit.config import AuditSettings
from audit.main import create_app
from audit.verify import Failed, verify_document

from shared.clock import ManualClock
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import (
    checkpointed,
    logged,
    publish,
    store_database,
    verify_store,
)
from tests.integration.audit.journey import journey

ROOT = Path(__file__).resolve().parents[3]


def forged(doc: dict[str, Any]) -> str:
    """The entry's event with its source changed, still in canonical form."""
    event = json.loads(doc["canonical"])
    event["source"] = "/forged"
    return rfc8785.dumps(event).decode()


async def test_altered_deleted_swapped_and_resigned_are_each_reported(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    first_half, second_half = journey("T-1"), journey("T-2")
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        # In two halves, so there are at least two checkpoints (at 8 or less, and at 16).
        await publish(app, first_half)
        await logged(client, len(first_half))
        await checkpointed(client, clock, len(first_half))
        await publish(app, second_half)
        await logged(client, len(first_half) + len(second_half))
        await checkpointed(client, clock, len(first_half) + len(second_half))
        db = app.state.runtime.db
        entries, checkpoints = db["entries"], db["checkpoints"]
        assert (await verify_store(audit_settings)).startswith("OK")

        # 1. One entry's event altered in place.
        original = await entries.find_one({"_id": 5})
        await entries.update_one({"_id": 5}, {"$set": {"canonical": forged(original)}})
        report = await verify_store(audit_settings)
        assert report == (
            f"FAIL entry 5 (event id {original['event_id']}): "
            "event hash mismatch: the event differs from what was logged"
        )
        bundle = (await client.get(f"/v1/audit/dossiers/{original['subject']}/bundle")).json()
        try:
            verify_document(bundle)
            raise AssertionError("a bundle with an altered entry verified")
        except Failed as failure:
            assert failure.where == f"entry 5 (event id {original['event_id']})"
        await entries.replace_one({"_id": 5}, original)
        assert (await verify_store(audit_settings)).startswith("OK")

        # 2. One entry deleted (checked with the command an auditor runs).
        deleted = await entries.find_one({"_id": 9})
        await entries.delete_one({"_id": 9})
        proc = await _run_verifier(audit_settings)
        assert proc == (1, "FAIL entry 9: missing: entry 10 follows 8\n")
        await entries.insert_one(deleted)
        assert (await _run_verifier(audit_settings))[0] == 0

        # 3. Two entries swapped.
        third, eleventh = await entries.find_one({"_id": 3}), await entries.find_one({"_id": 11})
        await entries.delete_many({"_id": {"$in": [3, 11]}})  # event ids are unique
        await entries.insert_many([{**eleventh, "_id": 3}, {**third, "_id": 11}])
        report = await verify_store(audit_settings)
        assert report.startswith(
            f"FAIL entry 3 (event id {eleventh['event_id']}): leaf hash mismatch"
        ), report
        await entries.delete_many({"_id": {"$in": [3, 11]}})
        await entries.insert_many([third, eleventh])
        assert (await verify_store(audit_settings)).startswith("OK")

        # 4. A checkpoint's signature replaced (by a valid signature of something else).
        first, *_, last = await checkpoints.find().sort("_id").to_list()
        assert first["_id"] != last["_id"]
        await checkpoints.update_one(
            {"_id": first["_id"]}, {"$set": {"signature": last["signature"]}}
        )
        report = await verify_store(audit_settings)
        assert report == (
            f"FAIL checkpoint at tree size {first['_id']}: "
            f"signature does not verify with key {first['key_id']}"
        )
        garbage = base64.b64encode(bytes(64)).decode()
        await checkpoints.update_one({"_id": first["_id"]}, {"$set": {"signature": garbage}})
        assert (await verify_store(audit_settings)).startswith(
            f"FAIL checkpoint at tree size {first['_id']}: signature does not verify"
        )


async def _run_verifier(settings: AuditSettings) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "audit.verify",
        "--mongo-uri",
        settings.mongo.uri,
        "--database",
        store_database(settings),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()
