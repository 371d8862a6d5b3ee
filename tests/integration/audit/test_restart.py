"""Restarts, redeliveries and key rotation leave one continuous, verifiable log."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path

from audit import merkle
from audit.config import AuditSettings, RetiredKey
from audit.domain import Checkpoint
from audit.main import create_app
from audit.verify import verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import (
    audit_settings_for,
    checkpointed,
    logged,
    publish,
    verify_store,
)
from tests.integration.audit.journey import journey


async def test_redelivered_event_is_logged_once(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    first, second = journey("R-1")[:2]
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, [first, first, second])  # one key, one partition: in this order
        entries = await logged(client, 2)
        # And again later, after other events were logged.
        third = journey("R-1")[2]
        await publish(app, [first, third])
        entries = await logged(client, 3)

    assert [e["event_id"] for e in entries] == [first.id, second.id, third.id]


async def test_restart_continues_the_chain_and_the_tree(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    before, after = journey("S-1"), journey("S-2")
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, before)
        await logged(client, len(before))
        old = await checkpointed(client, clock, len(before))

    app = create_app(audit_settings, clock)  # a new instance on the same store
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, after)
        entries = await logged(client, len(before) + len(after))
        new = await checkpointed(client, clock, len(before) + len(after))
        proof = (
            await client.get(
                "/v1/audit/proofs/consistency",
                params={"from": old["tree_size"], "to": new["tree_size"]},
            )
        ).json()

    assert [e["index"] for e in entries] == list(range(len(before) + len(after)))
    for earlier, later in itertools.pairwise(entries):
        assert later["prev_hash"] == earlier["chain_hash"]
    assert proof["from_root"] == old["root_hash"] and proof["to_root"] == new["root_hash"]
    assert merkle.verify_consistency(
        old["tree_size"],
        new["tree_size"],
        bytes.fromhex(old["root_hash"]),
        bytes.fromhex(new["root_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )
    assert verify_document(proof).startswith(f"the log at tree size {new['tree_size']} extends")
    assert (await verify_store(audit_settings)).startswith("OK")


async def test_rotated_keys_keep_old_checkpoints_verifiable(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    older = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    configured = RetiredKey(public_key=base64.b64encode(older).decode())
    first = audit_settings_for(common_settings, tmp_path / "key-1.pem")
    second = audit_settings_for(common_settings, tmp_path / "key-2.pem")
    second.audit.retired_keys = [configured]

    app = create_app(first, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, journey("K-1"))
        await logged(client, 8)
        old = await checkpointed(client, clock, 8)

    app = create_app(second, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, journey("K-2"))
        await logged(client, 16)
        new = await checkpointed(client, clock, 16)
        keys = {k["key_id"]: k for k in (await client.get("/v1/audit/keys")).json()["keys"]}
        signed_before = (await client.get(f"/v1/audit/checkpoints/{old['tree_size']}")).json()
        inclusion = (
            await client.get("/v1/audit/proofs/inclusion", params={"entry": 2, "size": 8})
        ).json()

    assert old["key_id"] != new["key_id"]
    assert len(keys) == 3
    assert keys[new["key_id"]]["status"] == "current"
    assert keys[new["key_id"]]["valid_until"] is None
    assert keys[old["key_id"]]["status"] == "retired"
    assert keys[old["key_id"]]["valid_until"] == keys[new["key_id"]]["valid_from"]
    assert [k["status"] for k in keys.values()].count("retired") == 2
    assert signed_before == old
    retired = base64.b64decode(keys[old["key_id"]]["public_key"])
    assert Checkpoint.from_json(signed_before).signature_valid(retired)
    assert verify_document(inclusion).startswith("entry 2 ")
    assert (await verify_store(second)).startswith("OK")
