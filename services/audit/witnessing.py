"""Collecting witnesses' cosignatures of the log's checkpoints (c2sp.org/tlog-witness).

A background task offers the latest checkpoint to each configured witness that has not
cosigned it, with a consistency proof from the size that witness cosigned last (learnt
from its 409 ``text/x.tlog.size`` answer when unknown). A valid cosignature is added to
the checkpoint's note. Bundles use the latest checkpoint with a quorum of cosignatures.
A witness that refuses a checkpoint as a rewrite is reported loudly: it means this log
showed it two histories.
"""

from __future__ import annotations

import logging

import httpx

from audit.config import AuditLogSettings, WitnessEndpoint
from audit.domain import Checkpoint
from audit.evidence import Evidence
from audit.store import AuditStore
from shared.auth import AuthSettings
from shared.auth.client import Credentials
from shared.auth.identities import ClientAuth
from shared.transparency.cosignature import verify_cosignature
from shared.transparency.note import NoteError, Verifier, parse_note, parse_vkey
from shared.transparency.witness_protocol import (
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    parse_size_answer,
)
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)


class Witnessing(PeriodicWorker):
    """Asks every configured witness to cosign the latest checkpoint."""

    def __init__(
        self,
        *,
        store: AuditStore,
        evidence: Evidence,
        settings: AuditLogSettings,
        auth: AuthSettings | None = None,
    ) -> None:
        super().__init__("audit-witnessing", settings.checkpoint_poll_seconds)
        self._http: httpx.AsyncClient | None = None
        self._store = store
        self._evidence = evidence
        self._settings = settings
        self._auth = auth or AuthSettings()
        self._witnesses = [(w, parse_vkey(w.vkey)) for w in settings.witnesses]
        self._known_size: dict[str, int] = {}

    async def cosign_latest(self, http: httpx.AsyncClient) -> Checkpoint | None:
        """Offer the latest checkpoint to each witness that has not cosigned it yet."""
        checkpoint = await self._store.latest_checkpoint()
        if checkpoint is None or not checkpoint.note:
            return None
        for endpoint, witness in self._witnesses:
            if verify_cosignature(parse_note(checkpoint.note), witness) is not None:
                continue
            try:
                lines = await self._ask(http, endpoint, witness, checkpoint)
            except httpx.HTTPError as exc:  # down or unreachable: asked again next round
                log.warning(
                    "witness unreachable", extra={"witness": witness.name, "error": repr(exc)}
                )
                continue  # the others are still asked: one witness down must not block a quorum
            if lines is not None:
                checkpoint = checkpoint.with_cosignatures(lines)
                await self._store.add_cosignatures(checkpoint, self.cosigners(checkpoint))
        return checkpoint

    def cosigners(self, checkpoint: Checkpoint) -> list[str]:
        note = parse_note(checkpoint.note)
        return [w.name for _, w in self._witnesses if verify_cosignature(note, w) is not None]

    async def _ask(
        self,
        http: httpx.AsyncClient,
        endpoint: WitnessEndpoint,
        witness: Verifier,
        checkpoint: Checkpoint,
    ) -> str | None:
        """The witness's valid cosignature line of the checkpoint, or None (retried later)."""
        for _ in range(2):  # a second time after learning the witness's size
            old = self._known_size.get(witness.name, 0)
            if old > checkpoint.tree_size:
                log.error("witness is ahead of this log", extra={"witness": witness.name})
                return None
            proof = await self._proof(old, checkpoint.tree_size)
            body = AddCheckpoint(old, tuple(proof), checkpoint.note).encode()
            response = await http.post(f"{endpoint.url.rstrip('/')}/add-checkpoint", content=body)
            if response.status_code == 409 and response.headers.get("content-type", "").startswith(
                SIZE_CONTENT_TYPE
            ):
                known = _size_answer(response.text, witness)
                if known is None:
                    return None
                self._known_size[witness.name] = known
                continue
            if response.status_code != 200:
                level = logging.CRITICAL if response.status_code in (409, 422) else logging.WARNING
                log.log(
                    level,
                    "witness refused the checkpoint",
                    extra={
                        "witness": witness.name,
                        "status": response.status_code,
                        "tree_size": checkpoint.tree_size,
                        "answer": response.text[:500],
                    },
                )
                return None
            return self._checked(response.text, witness, checkpoint)
        return None

    def _checked(self, lines: str, witness: Verifier, checkpoint: Checkpoint) -> str | None:
        try:
            cosigned = parse_note(checkpoint.note).with_signatures(lines)
        except NoteError:
            cosigned = None
        if cosigned is None or verify_cosignature(cosigned, witness) is None:
            log.warning(
                "witness answered without a valid cosignature", extra={"witness": witness.name}
            )
            return None
        self._known_size[witness.name] = checkpoint.tree_size
        return "".join(
            s.line()
            for s in cosigned.signatures
            if s.name == witness.name and s.key_id == witness.key_id
        )

    async def _proof(self, old: int, new: int) -> list[bytes]:
        if old == 0 or old == new:
            return []
        proof = await self._evidence.consistency(old, new)
        return [bytes.fromhex(h) for h in proof["proof"]]

    async def start(self) -> None:
        timeout = httpx.Timeout(self._settings.witness_timeout_seconds)
        # The witnesses admit checkpoints from the realm's witness-submitter: this client.
        credentials = Credentials(
            self._settings.witness_client_id,
            self._settings.witness_client_secret.get_secret_value(),
        )
        self._http = httpx.AsyncClient(timeout=timeout, auth=ClientAuth(credentials, self._auth))

    async def tick(self) -> Checkpoint | None:
        """One round: a witness that is down is asked again at the next."""
        if self._http is None:
            await self.start()
        assert self._http is not None
        return await self.cosign_latest(self._http)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _size_answer(text: str, witness: Verifier) -> int | None:
    """The size a witness says it cosigned last; None (this witness skipped) if malformed:
    another party's answer must not stop the round for the other witnesses."""
    try:
        return parse_size_answer(text)
    except NoteError as exc:
        log.warning(
            "witness answered a malformed size", extra={"witness": witness.name, "error": str(exc)}
        )
        return None
