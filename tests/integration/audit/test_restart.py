"""Restarts, redeliveries and key rotation leave one continuous, verifiable log."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from audit.config import AuditSettings
from audit.main import create_app
from audit.rotation import UnannouncedKeyChange
from audit.store import AuditStore
from audit.verify import verify_document

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app
from shared.transparency import merkle
from tests.integration.audit.helpers import (
    audit_settings_for,
    checkpointed,
    logged,
    publish,
    trust_of,
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


async def test_an_event_the_inbox_forgot_is_still_logged_once(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    first, second, third = journey("F-1")[:3]
    app = create_app(audit_settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, [first, second])
        await logged(client, 2)
        await app.state.runtime.db["inbox"].delete_many({})  # e.g. restored from a backup
        await publish(app, [first, third])
        entries = await logged(client, 3)
        head = await AuditStore(app.state.runtime.db).head()

    # The log's own unique index refused the second entry; the retry looked it up.
    assert [e["event_id"] for e in entries] == [first.id, second.id, third.id]
    assert head.size == 3


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
        trust = await trust_of(client)

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
    assert verify_document(proof, trust).startswith(
        f"the log at tree size {new['tree_size']} extends"
    )
    assert (await verify_store(audit_settings, trust)).startswith("OK")


async def test_a_rotation_is_logged_signed_by_the_old_key_and_followed_by_verifiers(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    first = audit_settings_for(common_settings, tmp_path / "key-1.pem")
    second = audit_settings_for(common_settings, tmp_path / "key-2.pem")
    second.audit.previous_signing_key_path = tmp_path / "key-1.pem"

    app = create_app(first, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, journey("K-1"))
        await logged(client, 8)
        old = await checkpointed(client, clock, 8)
        pinned = await trust_of(client)  # what the auditor pinned before the rotation

    clock.advance(timedelta(seconds=1))
    app = create_app(second, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, journey("K-2"))
        entries = await logged(client, 17)
        new = await checkpointed(client, clock, 17)
        keys = {k["key_id"]: k for k in (await client.get("/v1/audit/keys")).json()["keys"]}
        bundle = (await client.get("/v1/audit/dossiers/K-2/bundle")).json()
        inclusion = (
            await client.get("/v1/audit/proofs/inclusion", params={"entry": 2, "size": 8})
        ).json()
        consistency = (
            await client.get("/v1/audit/proofs/consistency", params={"from": 8, "to": 17})
        ).json()
        published = await trust_of(client)

    rotation = entries[8]
    assert rotation["event_type"] == "audit.key.rotated.v1"
    assert old["key_id"] != new["key_id"]
    assert keys[old["key_id"]]["status"] == "retired"
    assert keys[new["key_id"]]["rotation_entry"] == 8
    assert keys[old["key_id"]]["valid_until"] == keys[new["key_id"]]["valid_from"]
    # The published trust file still pins only the first key (its window now closed).
    assert [k.verifier.key_hash for k in published.log_keys] == [old["key_id"]]
    assert [e["index"] for e in bundle["key_rotations"]] == [8]
    for document in (bundle, inclusion, consistency):
        verify_document(document, pinned)
    assert (await verify_store(second, pinned)).startswith("OK log lienthong-audit-log: 17")

    # A key change the old key did not announce is refused at start.
    third = audit_settings_for(common_settings, tmp_path / "key-3.pem")
    with pytest.raises(UnannouncedKeyChange, match="LT_AUDIT_PREVIOUS_SIGNING_KEY_PATH"):
        async with running_app(create_app(third, clock)):
            pass
