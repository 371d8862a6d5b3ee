"""Registering the signing key at start, and rotating it by a statement logged in the log.

A verifier pins the log's first key(s) in its trust file. A new key is trusted only
through a *rotation statement*: a signed note by the old key naming the new one and the
moment it takes over. The service writes that statement into its own log (an
``audit.key.rotated.v1`` entry) and publishes it, in the transaction that records the new
key, before the new key signs anything. Starting with a different key without the old
one (``LT_AUDIT_PREVIOUS_SIGNING_KEY_PATH``) is refused: the new key's checkpoints
would not verify for anyone.
"""

from __future__ import annotations

import logging

from audit.domain import format_log_time, log_time
from audit.handlers import append_event
from audit.key_chain import rotation_text
from audit.keys import SigningKey
from audit.store import AuditStore
from shared.clock import Clock
from shared.events.audit import KeyRotated
from shared.transparency.note import sign_note
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork

log = logging.getLogger(__name__)


class UnannouncedKeyChange(RuntimeError):
    """The configured key is not the one that signs, and the old key cannot announce it."""


async def register_signing_key(
    *,
    units: UnitsOfWork,
    store: AuditStore,
    key: SigningKey,
    previous: SigningKey | None,
    log_id: str,
    clock: Clock,
) -> int | None:
    """Record the key; a changed key is rotated to. The rotation's log index, if one was made."""
    new = key.verifier(log_id)
    current = await store.current_signing_key()
    if current is None:
        await store.add_signing_key(
            new.key_hash, new.vkey(), log_time(clock.now()), rotation_entry=None
        )
        return None
    if current["_id"] == new.key_hash:
        return None
    if previous is None or previous.verifier(log_id).key_hash != current["_id"]:
        raise UnannouncedKeyChange(
            f"the log is signed by key {current['_id']}, not by the configured key "
            f"{new.key_hash}: set LT_AUDIT_PREVIOUS_SIGNING_KEY_PATH to key {current['_id']} "
            "so that it signs the rotation, or restore it"
        )

    async def rotate(uow: UnitOfWork) -> int | None:
        now, session = uow.now, uow.session
        old = previous.verifier(log_id)
        statement = sign_note(
            rotation_text(log_id, old, new, format_log_time(now)), [previous.signer(log_id)]
        )
        fact = KeyRotated(
            old_vkey=old.vkey(), new_vkey=new.vkey(), valid_from=now, statement=statement
        )
        [envelope] = uow.emit(fact)  # published, and logged in this log too
        index = await append_event(envelope, fact, session, store=store, clock=clock)
        await store.retire_signing_key(old.key_hash, now, session)
        await store.add_signing_key(
            new.key_hash, new.vkey(), now, rotation_entry=index, session=session
        )
        return index

    index = await units.run(rotate, now=log_time(clock.now()))
    log.warning(
        "audit signing key rotated",
        extra={"old_key": current["_id"], "new_key": new.key_hash, "entry": index},
    )
    return index
