"""The witness cosigns only checkpoints consistent with the last one it cosigned; a fork
or a rewrite is refused, said loudly and kept as evidence."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from witness.api import STATUS
from witness.config import WitnessSettings
from witness.domain import Cosigned, TimePolicy
from witness.handlers import Witness
from witness.main import create_app
from witness.store import MAX_EVIDENCE, StateInUse, WitnessState

from shared.clock import ManualClock
from shared.refusals import Refused
from shared.testing import running_app
from shared.transparency import merkle
from shared.transparency.checkpoint import CheckpointBody
from shared.transparency.cosignature import verify_cosignature
from shared.transparency.note import COSIGNATURE_V1, Signer, parse_note, sign_note
from shared.transparency.witness_protocol import AddCheckpoint

ORIGIN = "lienthong.local/audit"
LOG = Signer(ORIGIN, Ed25519PrivateKey.generate())
LEAVES = [merkle.leaf_hash(bytes([i])) for i in range(20)]


def note(size: int, leaves: list[bytes] = LEAVES, signer: Signer = LOG) -> str:
    text = CheckpointBody(ORIGIN, size, merkle.root(leaves[:size]), ("time t",)).text()
    return sign_note(text, [signer])


def request(old: int, size: int, leaves: list[bytes] = LEAVES, signer: Signer = LOG) -> bytes:
    proof = merkle.consistency_proof(leaves, old, size) if 0 < old < size else []
    return AddCheckpoint(old, tuple(proof), note(size, leaves, signer)).encode()


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    state = WitnessState(tmp_path / "state.json")
    state.open()
    return Witness(
        signer=Signer("w1", Ed25519PrivateKey.generate(), COSIGNATURE_V1),
        log_keys={ORIGIN: [LOG.verifier]},
        state=state,
        clock=ManualClock(datetime(2026, 11, 26, 9, tzinfo=UTC)),
    )


async def refusal(witness: Witness, body: bytes) -> Refused:
    with pytest.raises(Refused) as caught:
        await witness.add_checkpoint(body)
    return caught.value


async def test_consistent_checkpoints_are_cosigned_in_turn(witness: Witness) -> None:
    for old, size in ((0, 4), (4, 9), (9, 9), (9, 20)):
        lines = await witness.add_checkpoint(request(old, size))
        cosigned = parse_note(note(size)).with_signatures(lines)
        found = verify_cosignature(cosigned, witness.signer.verifier)
        assert found is not None and found.timestamp == 1795683600
    latest = witness.state.latest(ORIGIN)
    assert latest is not None and (latest.size, latest.root_hash) == (20, merkle.root(LEAVES))


async def test_a_stale_old_size_gets_the_witness_size(witness: Witness) -> None:
    await witness.add_checkpoint(request(0, 8))
    stale = await refusal(witness, request(4, 12))
    assert (stale.code, stale.extra["known_size"]) == ("stale_old_size", 8)
    assert (await refusal(witness, request(0, 12))).extra["known_size"] == 8


async def test_a_fork_at_the_same_size_is_refused_loudly_and_kept(
    witness: Witness, caplog: pytest.LogCaptureFixture
) -> None:
    await witness.add_checkpoint(request(0, 8))
    forked = [*LEAVES[:5], merkle.leaf_hash(b"forged"), *LEAVES[6:]]
    with caplog.at_level(logging.CRITICAL):
        fork = await refusal(witness, request(8, 8, forked))
    assert (fork.code, STATUS[fork.code]) == ("log_fork", 409)
    assert fork.detail.startswith(f"FORK: log {ORIGIN} shows a tree of size 8 with root")
    assert any(r.levelno == logging.CRITICAL and "FORK" in r.getMessage() for r in caplog.records)
    [evidence] = witness.state.view()["refused"]
    assert evidence["presented"] == note(8, forked) and evidence["cosigned"] == note(8)
    latest = witness.state.latest(ORIGIN)
    assert latest is not None and latest.root_hash == merkle.root(LEAVES[:8])  # unchanged


async def test_a_rewritten_history_fails_the_consistency_proof(witness: Witness) -> None:
    await witness.add_checkpoint(request(0, 8))
    rewritten = [*LEAVES[:3], merkle.leaf_hash(b"forged"), *LEAVES[4:]]
    rewrite = await refusal(witness, request(8, 12, rewritten))
    assert (rewrite.code, STATUS[rewrite.code]) == ("log_rewrite", 422)
    assert rewrite.detail.startswith("REWRITE:")
    assert len(witness.state.view()["refused"]) == 1


async def test_bad_proofs_cannot_push_a_forks_evidence_out(witness: Witness) -> None:
    """Only the latest 100 records were kept: the submitter (the log's own client) could
    replay one genuine checkpoint with a bad proof 100 times, each a "rewrite", and the
    fork recorded before was gone from /state."""
    await witness.add_checkpoint(request(0, 8))
    forked = [*LEAVES[:5], merkle.leaf_hash(b"forged"), *LEAVES[6:]]
    assert (await refusal(witness, request(8, 8, forked))).code == "log_fork"
    bad_proof = AddCheckpoint(8, (bytes(32),), note(12)).encode()  # a genuine checkpoint
    for _ in range(MAX_EVIDENCE + 20):
        assert (await refusal(witness, bad_proof)).code == "log_rewrite"
    refused = witness.state.view()["refused"]
    assert len(refused) == MAX_EVIDENCE
    assert refused[0]["code"] == "log_fork" and refused[0]["presented"] == note(8, forked)
    assert [r["code"] for r in refused[1:]] == ["log_rewrite"] * (MAX_EVIDENCE - 1)


async def test_forks_beyond_the_limit_leave_the_earliest_evidence(witness: Witness) -> None:
    await witness.add_checkpoint(request(0, 8))
    for n in range(MAX_EVIDENCE + 5):
        forked = [*LEAVES[:5], merkle.leaf_hash(b"forged %d" % n), *LEAVES[6:]]
        assert (await refusal(witness, request(8, 8, forked))).code == "log_fork"
    refused = witness.state.view()["refused"]
    first = [*LEAVES[:5], merkle.leaf_hash(b"forged 0"), *LEAVES[6:]]
    assert len(refused) == MAX_EVIDENCE and refused[0]["presented"] == note(8, first)


async def test_unknown_logs_keys_and_malformed_requests_are_refused(witness: Witness) -> None:
    stranger = Signer(ORIGIN, Ed25519PrivateKey.generate())
    assert (await refusal(witness, request(0, 4, signer=stranger))).code == "unverified_checkpoint"
    other_log = Signer("other.example/log", Ed25519PrivateKey.generate())
    other = CheckpointBody("other.example/log", 1, LEAVES[0]).text()
    body = AddCheckpoint(0, (), sign_note(other, [other_log])).encode()
    assert (await refusal(witness, body)).code == "unknown_log"
    assert (await refusal(witness, b"old x\n\nnonsense")).code == "malformed_request"
    assert (await refusal(witness, AddCheckpoint(9, (), note(4)).encode())).code == (
        "old_size_too_large"
    )
    assert witness.state.view() == {"logs": {}, "refused": []}


async def test_sizes_of_thousands_of_digits_are_malformed_not_a_crash(witness: Witness) -> None:
    huge = "9" * 5000  # above Python's 4,300-digit int() limit
    assert (await refusal(witness, f"old {huge}\n\n{note(4)}".encode())).code == (
        "malformed_request"
    )
    text = f"{ORIGIN}\n{huge}\n{note(4).split(chr(10))[2]}\n"
    body = AddCheckpoint(0, (), sign_note(text, [LOG])).encode()
    assert (await refusal(witness, body)).code == "not_a_checkpoint"


async def test_the_api_answers_a_huge_size_with_its_400_problem(tmp_path: Path) -> None:
    settings = WitnessSettings(
        key_path=tmp_path / "key.pem",
        state_path=tmp_path / "state.json",
        log_vkeys=[LOG.verifier.vkey()],
        require_token=False,  # no realm needed: this is about the body
    )
    async with running_app(create_app(settings)) as client:
        answer = await client.post("/add-checkpoint", content=f"old {'9' * 5000}\n\nx".encode())
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "malformed_request"


async def test_the_api_refuses_a_body_above_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LT_WITNESS_MAX_BODY_BYTES", "1000")
    settings = WitnessSettings(
        key_path=tmp_path / "key.pem",
        state_path=tmp_path / "state.json",
        log_vkeys=[LOG.verifier.vkey()],
        require_token=False,
    )
    async with running_app(create_app(settings)) as client:
        answer = await client.post("/add-checkpoint", content=b"old 0\n\n" + b"x" * 2000)
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"
    assert settings.http.max_body_bytes == 1000


def test_the_state_survives_a_restart_and_is_held_by_one_process(tmp_path: Path) -> None:
    state = WitnessState(tmp_path / "state.json")
    state.open()
    state.cosigned(ORIGIN, Cosigned(3, bytes(32), "n"))
    with pytest.raises(StateInUse):
        WitnessState(tmp_path / "state.json").open()
    state.close()
    again = WitnessState(tmp_path / "state.json")
    again.open()
    assert again.latest(ORIGIN) == Cosigned(3, bytes(32), "n")


def signed(size: int, root: bytes, *extensions: str) -> str:
    return sign_note(CheckpointBody(ORIGIN, size, root, extensions).text(), [LOG])


async def test_a_size_0_checkpoint_must_state_the_empty_trees_root(witness: Witness) -> None:
    # The tree of size 0 has one root, SHA-256 of nothing; a log that signs another one
    # states a tree that cannot exist (tlog-witness: the proof from size 0 fails, 422).
    bogus = signed(0, bytes(32))
    refused = await refusal(witness, AddCheckpoint(0, (), bogus).encode())
    assert (refused.code, STATUS[refused.code]) == ("log_bad_empty_tree", 422)
    [evidence] = witness.state.view()["refused"]
    assert evidence["presented"] == bogus and evidence["cosigned"] is None
    assert witness.state.latest(ORIGIN) is None

    await witness.add_checkpoint(AddCheckpoint(0, (), note(0)).encode())
    assert witness.state.latest(ORIGIN) == Cosigned(0, merkle.EMPTY_ROOT, note(0))


async def test_a_second_size_0_root_after_the_empty_tree_is_a_fork(witness: Witness) -> None:
    await witness.add_checkpoint(AddCheckpoint(0, (), note(0)).encode())
    fork = await refusal(witness, AddCheckpoint(0, (), signed(0, bytes(32))).encode())
    assert (fork.code, STATUS[fork.code]) == ("log_fork", 409)
    assert len(witness.state.view()["refused"]) == 1
    # The empty tree again, then any tree: every tree extends the empty one.
    await witness.add_checkpoint(AddCheckpoint(0, (), note(0)).encode())
    await witness.add_checkpoint(request(0, 5))
    latest = witness.state.latest(ORIGIN)
    assert latest is not None and latest.size == 5


async def test_a_proof_from_size_0_must_be_empty(witness: Witness) -> None:
    # "The proof MUST be empty if the old size is zero": one that is not does not verify
    # (422), before and after the witness cosigned the empty tree; not the log's fault.
    proof = (merkle.leaf_hash(b"x"),)
    for _ in range(2):
        for size in (0, 4):
            refused = await refusal(witness, AddCheckpoint(0, proof, note(size)).encode())
            assert (refused.code, STATUS[refused.code]) == ("proof_not_empty", 422)
        await witness.add_checkpoint(AddCheckpoint(0, (), note(0)).encode())
    assert witness.state.view()["refused"] == []


# The platform's checkpoints carry a `time` line (the log time they were signed); for the
# logs named in its time policy the witness cosigns only a time in the log's fixed form,
# not before the last one it cosigned, and not far past its own clock.
NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)  # the fixture's clock


def timed(size: int, time: str | None, leaves: list[bytes] = LEAVES) -> str:
    lines = (f"time {time}",) if time is not None else ()
    return signed(size, merkle.root(leaves[:size]), *lines, "dossiers 1 x")


def timed_request(old: int, size: int, time: str | None) -> bytes:
    proof = merkle.consistency_proof(LEAVES, old, size) if 0 < old < size else []
    return AddCheckpoint(old, tuple(proof), timed(size, time)).encode()


@pytest.fixture
def timed_witness(witness: Witness) -> Witness:
    witness.time_policy = TimePolicy(frozenset({ORIGIN}), timedelta(minutes=5))
    return witness


async def test_a_checkpoint_timed_before_the_last_cosigned_is_refused_and_kept(
    timed_witness: Witness, caplog: pytest.LogCaptureFixture
) -> None:
    witness = timed_witness
    await witness.add_checkpoint(timed_request(0, 8, "2026-11-26T08:08:00.000Z"))
    with caplog.at_level(logging.CRITICAL):
        backdated = await refusal(witness, timed_request(8, 13, "1970-01-01T00:00:00.000Z"))
    assert (backdated.code, STATUS[backdated.code]) == ("checkpoint_time_backwards", 422)
    assert backdated.detail.startswith(f"BACKDATED: log {ORIGIN}'s checkpoint of size 13")
    assert any("BACKDATED" in r.getMessage() for r in caplog.records)
    [evidence] = witness.state.view()["refused"]
    assert evidence["presented"] == timed(13, "1970-01-01T00:00:00.000Z")
    assert evidence["cosigned"] == timed(8, "2026-11-26T08:08:00.000Z")
    latest = witness.state.latest(ORIGIN)
    assert latest is not None and latest.size == 8
    # A millisecond earlier is earlier; the same time, or a later one, is cosigned.
    early = await refusal(witness, timed_request(8, 13, "2026-11-26T08:07:59.999Z"))
    assert early.code == "checkpoint_time_backwards"
    await witness.add_checkpoint(timed_request(8, 13, "2026-11-26T08:08:00.000Z"))
    await witness.add_checkpoint(timed_request(13, 20, "2026-11-26T08:20:00.000Z"))


@pytest.mark.parametrize(
    "time",
    [
        "garbage",
        None,  # no time line at all
        "",
        "2026-11-26T09:00:00Z",  # not the log's form (milliseconds, Z)
        "2026-11-26T09:00:00.000+00:00",
        "2026-11-26 09:00:00.000Z",
        "2026-02-30T09:00:00.000Z",  # no such day
        "２026-11-26T09:00:00.000Z",  # a digit, but not an ASCII one
    ],
)
async def test_a_time_not_in_the_logs_form_is_refused_and_kept(
    timed_witness: Witness, time: str | None
) -> None:
    refused = await refusal(timed_witness, timed_request(0, 8, time))
    assert (refused.code, STATUS[refused.code]) == ("checkpoint_time_invalid", 422)
    [evidence] = timed_witness.state.view()["refused"]
    assert evidence["presented"] == timed(8, time)
    assert timed_witness.state.latest(ORIGIN) is None


async def test_a_time_far_past_the_witness_clock_is_refused_not_kept(
    timed_witness: Witness,
) -> None:
    # Cosigning it would stop the log's next honest checkpoints ("earlier than the last").
    ahead = await refusal(timed_witness, timed_request(0, 8, "2026-11-26T09:05:00.001Z"))
    assert (ahead.code, STATUS[ahead.code]) == ("checkpoint_time_ahead", 422)
    assert timed_witness.state.view() == {"logs": {}, "refused": []}
    await timed_witness.add_checkpoint(timed_request(0, 8, "2026-11-26T09:05:00.000Z"))


async def test_the_time_rules_only_follow_the_spec_checks(timed_witness: Witness) -> None:
    # A stale old size still gets the protocol's size answer, a fork is still a fork.
    await timed_witness.add_checkpoint(timed_request(0, 8, "2026-11-26T08:08:00.000Z"))
    stale = await refusal(timed_witness, timed_request(4, 13, "garbage"))
    assert stale.code == "stale_old_size"
    forked = [*LEAVES[:5], merkle.leaf_hash(b"forged"), *LEAVES[6:]]
    fork_note = signed(8, merkle.root(forked[:8]), "time 1970-01-01T00:00:00.000Z")
    fork = await refusal(timed_witness, AddCheckpoint(8, (), fork_note).encode())
    assert fork.code == "log_fork"


async def test_a_previous_checkpoint_without_a_readable_time_bounds_nothing(
    timed_witness: Witness,
) -> None:
    # Cosigned before the policy (or for a log added to it later): the next needs a time.
    timed_witness.state.cosigned(ORIGIN, Cosigned(8, merkle.root(LEAVES[:8]), timed(8, "x")))
    await timed_witness.add_checkpoint(timed_request(8, 13, "2020-01-01T00:00:00.000Z"))


async def test_logs_outside_the_time_policy_are_not_read_for_time(witness: Witness) -> None:
    witness.time_policy = TimePolicy(frozenset({"another-log"}), timedelta(minutes=5))
    await witness.add_checkpoint(timed_request(0, 8, "garbage"))
    await witness.add_checkpoint(timed_request(8, 13, None))


def test_the_platforms_log_is_under_the_time_policy_by_default() -> None:
    settings = WitnessSettings()
    assert settings.time_origins == ["lienthong-audit-log"]
    assert settings.max_time_ahead_seconds == 300
