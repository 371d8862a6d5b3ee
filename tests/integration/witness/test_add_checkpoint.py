"""The witness over HTTP with its state file, as the audit service's client submits: the
tree of size 0 is the empty tree, whatever a log signs; the platform's log's checkpoints
are cosigned only with a readable time, never before the last one cosigned.

The auditor's cases: a witness that had cosigned nothing cosigned a size-0 checkpoint
whose root was not the empty tree's, then a second, conflicting one, and kept nothing;
after size 8 it cosigned a size-13 checkpoint timed 1970-01-01, and one timed `garbage`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from witness.config import WitnessSettings
from witness.main import create_app

from shared.clock import ManualClock
from shared.testing import ActAs, running_app
from shared.transparency import merkle
from shared.transparency.checkpoint import CheckpointBody
from shared.transparency.cosignature import verify_cosignature
from shared.transparency.note import Signer, parse_note, parse_vkey, sign_note
from shared.transparency.witness_protocol import AddCheckpoint

ORIGIN = "lienthong-audit-log"  # the platform's log, checkpoints as the audit service writes them
LOG = Signer(ORIGIN, Ed25519PrivateKey.generate())
CLOCK_START = datetime(2026, 11, 26, 9, 20, tzinfo=UTC)
LEAVES = [merkle.leaf_hash(b"entry %d" % i) for i in range(13)]


def settings(tmp_path: Path) -> WitnessSettings:
    return WitnessSettings(
        key_path=tmp_path / "key.pem",
        state_path=tmp_path / "state.json",
        log_vkeys=[LOG.verifier.vkey()],
    )


def checkpoint(size: int, root: bytes, time: str = "2026-11-26T09:00:00.000Z") -> str:
    return sign_note(CheckpointBody(ORIGIN, size, root, (f"time {time}",)).text(), [LOG])


def body(old: int, note: str, proof: tuple[bytes, ...] = ()) -> bytes:
    return AddCheckpoint(old, proof, note).encode()


async def test_size_0_is_the_empty_tree_or_refused(tmp_path: Path) -> None:
    bogus, other = checkpoint(0, b"\x01" * 32), checkpoint(0, b"\x02" * 32)
    empty = checkpoint(0, merkle.EMPTY_ROOT)
    app = create_app(settings(tmp_path), ManualClock(CLOCK_START))
    async with running_app(app, ActAs("service:audit")) as client:
        first = await client.post("/add-checkpoint", content=body(0, bogus))
        refused_first = (await client.get("/state")).json()
        cosigned = await client.post("/add-checkpoint", content=body(0, empty))
        fork = await client.post("/add-checkpoint", content=body(0, other))
        with_proof = await client.post("/add-checkpoint", content=body(0, empty, (bytes(32),)))
        witness_vkey = (await client.get("/vkey")).text.strip()
        state = (await client.get("/state")).json()

    # Nothing cosigned yet: a size-0 root other than SHA-256("") is no tree at all.
    assert first.status_code == 422
    assert first.headers["content-type"] == "application/problem+json"
    assert first.json()["code"] == "log_bad_empty_tree"
    assert refused_first["logs"] == {}
    assert [kept["presented"] for kept in refused_first["refused"]] == [bogus]
    # The empty tree is cosigned; another size-0 root after it is a fork (409).
    assert cosigned.status_code == 200
    cosignature = parse_note(empty).with_signatures(cosigned.text)
    assert verify_cosignature(cosignature, parse_vkey(witness_vkey)) is not None
    assert (fork.status_code, fork.json()["code"]) == (409, "log_fork")
    # A proof from size 0 must be empty: one that is not does not verify (422).
    assert (with_proof.status_code, with_proof.json()["code"]) == (422, "proof_not_empty")
    assert state["logs"][ORIGIN]["size"] == 0
    assert base64.b64decode(state["logs"][ORIGIN]["root_hash"]) == merkle.EMPTY_ROOT
    assert [kept["presented"] for kept in state["refused"]] == [bogus, other]
    assert state["refused"][1]["cosigned"] == empty

    # The state file outlives the process: a restarted witness still refuses the fork.
    async with running_app(create_app(settings(tmp_path)), ActAs("service:audit")) as client:
        again = await client.post("/add-checkpoint", content=body(0, bogus))
    assert (again.status_code, again.json()["code"]) == (409, "log_fork")


async def test_the_platforms_log_times_never_go_back(tmp_path: Path) -> None:
    def at(size: int, time: str) -> str:
        return checkpoint(size, merkle.root(LEAVES[:size]), time)

    proof = tuple(merkle.consistency_proof(LEAVES, 8, 13))
    garbage, backdated = at(8, "garbage"), at(13, "1970-01-01T00:00:00.000Z")
    app = create_app(settings(tmp_path), ManualClock(CLOCK_START))  # the default policy
    async with running_app(app, ActAs("service:audit")) as client:
        unreadable = await client.post("/add-checkpoint", content=body(0, garbage))
        eight = await client.post(
            "/add-checkpoint", content=body(0, at(8, "2026-11-26T09:08:00.000Z"))
        )
        back = await client.post("/add-checkpoint", content=body(8, backdated, proof))
        ahead = await client.post(
            "/add-checkpoint", content=body(8, at(13, "2026-11-26T09:25:00.001Z"), proof)
        )
        thirteen = await client.post(
            "/add-checkpoint", content=body(8, at(13, "2026-11-26T09:13:00.000Z"), proof)
        )
        state = (await client.get("/state")).json()

    assert (unreadable.status_code, unreadable.json()["code"]) == (422, "checkpoint_time_invalid")
    assert eight.status_code == 200
    assert (back.status_code, back.json()["code"]) == (422, "checkpoint_time_backwards")
    assert back.json()["detail"].startswith(f"BACKDATED: log {ORIGIN}'s checkpoint of size 13")
    assert (ahead.status_code, ahead.json()["code"]) == (422, "checkpoint_time_ahead")
    assert thirteen.status_code == 200
    assert state["logs"][ORIGIN]["size"] == 13
    # The two the log signed against its own rules are kept; the early clock's is not.
    assert [kept["presented"] for kept in state["refused"]] == [garbage, backdated]
