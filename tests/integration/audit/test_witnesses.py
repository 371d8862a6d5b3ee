"""Two witnesses, each its own process with its own key and state, cosign the log's
checkpoints; bundles carry the cosignatures and verify with a quorum of 2; a forked
tree shown to a witness is refused loudly, and the fork cannot reach an auditor."""

from __future__ import annotations

import copy
import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from audit.config import WitnessEndpoint
from audit.domain import format_log_time, read_checkpoint, sign_checkpoint
from audit.keys import load_or_create_signing_key
from audit.main import create_app
from audit.verify import Failed, verify_document

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, auth_headers, eventually, running_app
from shared.transparency import merkle
from shared.transparency.note import parse_note
from shared.transparency.witness_protocol import AddCheckpoint
from tests.integration.audit.helpers import (
    audit_settings_for,
    checkpointed,
    logged,
    publish,
    trust_of,
)
from tests.integration.audit.journey import journey
from tests.integration.audit.witnesses import witness_processes, witness_ready

CODE = "000.00.01.H59-261126-0007"


async def test_witnesses_cosign_and_refuse_a_fork(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    settings = audit_settings_for(common_settings, tmp_path / "log-key.pem")
    log_key = load_or_create_signing_key(settings.audit.signing_key_path)
    log_vkey = log_key.verifier(settings.audit.log_id).vkey()
    events = journey(CODE)
    with witness_processes(tmp_path, log_vkey) as witnesses:
        for witness in witnesses:
            await eventually(partial(witness_ready, witness.url), timeout=60)
        settings.audit.witnesses = [WitnessEndpoint(url=w.url, vkey=w.vkey) for w in witnesses]
        app = create_app(settings, clock)
        async with (
            running_app(app, ActAs("auditor")) as client,
            httpx.AsyncClient(timeout=10) as http,
        ):
            trust = await trust_of(client)
            await publish(app, events)
            await logged(client, len(events))
            await checkpointed(client, clock, len(events))

            async def witnessed_bundle() -> dict[str, Any] | None:
                response = await client.get(f"/v1/audit/dossiers/{CODE}/bundle")
                if response.status_code != 200 or response.json()["pending_entries"]:
                    return None  # until a witnessed checkpoint covers the whole journey
                found: dict[str, Any] = response.json()
                return found

            bundle = await eventually(witnessed_bundle, timeout=60)
            states = [(await http.get(f"{w.url}/state")).json() for w in witnesses]

            # The operator forks: another tree of the same size, signed with the log's key.
            genuine = read_checkpoint(bundle["checkpoint"]["note"])
            forged_root = merkle.node_hash(bytes(32), bytes.fromhex(genuine.root_hash)).hex()
            fork = sign_checkpoint(
                log_key.signer(genuine.log_id),
                genuine.tree_size,
                forged_root,
                format_log_time(clock.now()),
            )
            body = AddCheckpoint(genuine.tree_size, (), fork.note).encode()
            refused = await http.post(
                f"{witnesses[0].url}/add-checkpoint",
                content=body,
                headers=auth_headers("service:audit"),  # as the log would submit it
            )
            evidence = (await http.get(f"{witnesses[0].url}/state")).json()["refused"]

    # Cosigned by both, carried in the bundle, verified with the pinned quorum of 2.
    assert trust.quorum == 2 and len(trust.witnesses) == 2
    note = parse_note(bundle["checkpoint"]["note"])
    assert sorted(s.name for s in note.signatures) == sorted(
        [genuine.log_id, "test.local/witness-1", "test.local/witness-2"]
    )
    assert verify_document(bundle, trust).startswith(f"bundle of dossier {CODE}: entries 1..")
    for state in states:
        assert state["logs"][genuine.log_id]["size"] == genuine.tree_size
    # Without the cosignatures the same bundle does not meet the quorum.
    bare = copy.deepcopy(bundle)
    bare["checkpoint"]["note"] = (
        parse_note(bundle["checkpoint"]["note"]).text
        + "\n"
        + "".join(s.line() for s in note.signatures if s.name == genuine.log_id)
    )
    with pytest.raises(Failed, match="cosigned by 0 of 2 pinned witnesses"):
        verify_document(bare, trust)

    # The fork: refused, said loudly, kept as evidence; an auditor cannot be shown it.
    assert refused.status_code == 409
    assert refused.json()["code"] == "log_fork"
    assert refused.json()["detail"].startswith(f"FORK: log {genuine.log_id} shows a tree of size")
    assert "FORK" in witnesses[0].log_text() and "CRITICAL" in witnesses[0].log_text()
    [kept] = evidence
    assert kept["presented"] == fork.note
    forked_bundle = {**copy.deepcopy(bundle), "checkpoint": fork.as_json()}
    with pytest.raises(Failed, match="cosigned by 0 of 2 pinned witnesses"):
        verify_document(forked_bundle, trust)
    assert json.dumps(forked_bundle)  # a document an operator could hand over, and it fails
