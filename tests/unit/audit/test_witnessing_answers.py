"""The log reads witnesses' answers as another party's text: a malformed size answer
(409 ``text/x.tlog.size``) skips that witness for the round, as does one that is down,
and the others are still asked. Witnesses are served by a mock transport; no store, no server."""

from __future__ import annotations

from typing import Any

import httpx
from audit.config import AuditLogSettings, WitnessEndpoint
from audit.domain import Checkpoint, sign_checkpoint
from audit.witnessing import Witnessing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency.cosignature import cosign
from shared.transparency.note import COSIGNATURE_V1, Signer, parse_note
from shared.transparency.witness_protocol import SIZE_CONTENT_TYPE, parse_add_checkpoint

LOG = Signer("test-log", Ed25519PrivateKey.generate())
GARBLED = Signer("w-garbled", Ed25519PrivateKey.generate(), COSIGNATURE_V1)
HONEST = Signer("w-honest", Ed25519PrivateKey.generate(), COSIGNATURE_V1)
DOWN = Signer("w-down", Ed25519PrivateKey.generate(), COSIGNATURE_V1)
CHECKPOINT = sign_checkpoint(LOG, 4, "ab" * 32, "2026-11-26T09:00:00.000Z")


class OneCheckpoint:
    """The part of the audit store witnessing uses: the latest checkpoint, cosigned."""

    def __init__(self) -> None:
        self.checkpoint = CHECKPOINT
        self.cosigners: list[str] = []

    async def latest_checkpoint(self) -> Checkpoint:
        return self.checkpoint

    async def add_cosignatures(self, checkpoint: Checkpoint, cosigners: list[str]) -> None:
        self.checkpoint, self.cosigners = checkpoint, cosigners


def witnesses(request: httpx.Request) -> httpx.Response:
    if request.url.host == "down":
        raise httpx.ConnectError("connection refused", request=request)
    if request.url.host == "garbled":  # not a size: thousands of digits, past int()'s limit
        headers = {"content-type": SIZE_CONTENT_TYPE}
        return httpx.Response(409, text="9" * 5000 + "\n", headers=headers)
    submitted = parse_add_checkpoint(request.content)
    return httpx.Response(200, text=cosign(parse_note(submitted.checkpoint).text, HONEST, 1))


async def test_a_witness_down_or_answering_garbage_skips_that_witness_only() -> None:
    store = OneCheckpoint()
    settings = AuditLogSettings(
        witnesses=[
            WitnessEndpoint(url="http://down", vkey=DOWN.verifier.vkey()),
            WitnessEndpoint(url="http://garbled", vkey=GARBLED.verifier.vkey()),
            WitnessEndpoint(url="http://honest", vkey=HONEST.verifier.vkey()),
        ]
    )
    unused: Any = None  # evidence: no consistency proof is needed from size 0
    witnessing = Witnessing(store=store, evidence=unused, settings=settings)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.MockTransport(witnesses)) as http:
        await witnessing.cosign_latest(http)
    assert store.cosigners == ["w-honest"]
