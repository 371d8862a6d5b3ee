"""Tampering with the store behind the service's back is detected, at the right place."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import rfc8785
from audit.config import AuditSettings
from audit.domain import SubjectLink, read_checkpoint, seal_entry, sign_checkpoint
from audit.keys import SigningKey
from audit.main import create_app
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.clock import ManualClock
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import (
    checkpointed,
    logged,
    publish,
    store_database,
    trust_of,
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
    audit_settings: AuditSettings, clock: ManualClock, tmp_path: Path
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
        trust = await trust_of(client)
        sizes = [c["_id"] for c in await checkpoints.find({}, {"_id": 1}).to_list()]
        trust_file = tmp_path / "trust.json"
        trust_file.write_bytes(trust.file_bytes())

        async def verified() -> str:
            return await verify_store(audit_settings, trust)

        assert (await verified()).startswith("OK")

        # 1. One entry's event altered in place: the verifier and the API name the entry.
        original = await entries.find_one({"_id": 5})
        await entries.update_one({"_id": 5}, {"$set": {"canonical": forged(original)}})
        assert await verified() == (
            f"FAIL entry 5 (event id {original['event_id']}): "
            "event hash mismatch: the event differs from what was logged"
        )
        for path in (
            f"/v1/audit/dossiers/{original['subject']}/bundle",
            f"/v1/audit/dossiers/{original['subject']}",
            "/v1/audit/entries/5",
            "/v1/audit/proofs/inclusion?entry=5",
        ):
            damaged = await client.get(path)
            assert damaged.status_code == 409, (path, damaged.text)
            assert (damaged.json()["code"], damaged.json()["index"]) == ("log_damaged", 5)
            assert damaged.json()["detail"].startswith("entry 5: altered")

        # 2. The same entry with its own hashes recomputed: the next entry's link breaks.
        event = forged(original).encode()
        link = SubjectLink(original["subject_previous"], original["subject_count"])
        resealed = seal_entry(
            5, original["logged_at"], event, bytes.fromhex(original["prev_hash"]), link
        )
        await entries.update_one(
            {"_id": 5},
            {"$set": {
                "event_hash": resealed.event_hash.hex(),
                "leaf_hash": resealed.leaf_hash.hex(),
                "chain_hash": resealed.chain_hash.hex(),
            }},
        )  # fmt: skip
        next_entry = await entries.find_one({"_id": 6})
        report = await verified()
        # Caught at the next entry's chain link, or first by a checkpoint signed at size 6
        # (the checkpoints' sizes depend on when the consumer's batches landed).
        assert report in (
            f"FAIL entry 6 (event id {next_entry['event_id']}): "
            "chain broken: prev_hash is not entry 5's",
            "FAIL checkpoint at tree size 6: root hash does not match entries 0..5: "
            f"an entry in {checkpoint_before(sizes, 6)}..5 was rewritten",
        ), report
        await entries.replace_one({"_id": 5}, original)
        assert (await verified()).startswith("OK")

        # 3. One entry deleted (checked with the command an auditor runs); the API says where.
        deleted = await entries.find_one({"_id": 9})
        await entries.delete_one({"_id": 9})
        proc = await _run_verifier(audit_settings, trust_file)
        assert proc == (1, "FAIL entry 9: missing: entry 10 follows 8\n")
        missing = await client.get("/v1/audit/proofs/inclusion", params={"entry": 8})
        assert missing.status_code == 409
        assert (missing.json()["code"], missing.json()["index"]) == ("log_damaged", 9)
        await entries.insert_one(deleted)
        assert (await _run_verifier(audit_settings, trust_file))[0] == 0

        # 4. Two entries swapped.
        third, eleventh = await entries.find_one({"_id": 3}), await entries.find_one({"_id": 11})
        await entries.delete_many({"_id": {"$in": [3, 11]}})  # event ids are unique
        await entries.insert_many([{**eleventh, "_id": 3}, {**third, "_id": 11}])
        report = await verified()
        assert report.startswith(
            f"FAIL entry 3 (event id {eleventh['event_id']}): leaf hash mismatch"
        ), report
        await entries.delete_many({"_id": {"$in": [3, 11]}})
        await entries.insert_many([third, eleventh])
        assert (await verified()).startswith("OK")

        # 5. A checkpoint re-signed with a key the auditor did not pin.
        first = await checkpoints.find().sort("_id").to_list()
        genuine = first[0]
        stated = read_checkpoint(genuine["note"])
        intruder = SigningKey.of(Ed25519PrivateKey.generate())
        resigned = sign_checkpoint(
            intruder.signer(stated.log_id), stated.tree_size, stated.root_hash, stated.timestamp
        )
        await checkpoints.update_one({"_id": genuine["_id"]}, {"$set": {"note": resigned.note}})
        report = await verified()
        assert report.startswith(
            f"FAIL checkpoint at tree size {genuine['_id']}: not signed by a pinned log key"
        ), report
        # 6. Its text altered under the genuine signature: the pinned key's signature line
        # no longer verifies, which rejects the note.
        altered = genuine["note"].replace(f"\n{genuine['_id']}\n", f"\n{genuine['_id'] + 1}\n")
        await checkpoints.update_one({"_id": genuine["_id"]}, {"$set": {"note": altered}})
        report = await verified()
        assert report.startswith(
            f"FAIL checkpoint at tree size {genuine['_id']}: the signature of log key "
        ) and report.rstrip().endswith("does not verify: the note is rejected"), report


def checkpoint_before(sizes: list[int], size: int) -> int:
    """The size of the latest checkpoint below ``size`` (0 if none): where the
    verifier's "an entry in a..b was rewritten" range starts."""
    return max((n for n in sizes if n < size), default=0)


async def _run_verifier(settings: AuditSettings, trust_file: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "audit.verify",
        "--trust",
        str(trust_file),
        "--mongo-uri",
        settings.mongo.uri,
        "--database",
        store_database(settings),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode().split("   trusting")[0]
