"""Operators' sign-in sessions, kept by the console's server (never in the browser).

The browser holds only a random session id in an httpOnly cookie. The store keys a
session by the id's SHA-256 and keeps its tokens encrypted (AES-GCM) with a key derived
from the id itself: a copy of the database alone yields neither a usable cookie nor a
token. Sessions expire by TTL index. (A sign-in in progress is not stored: the browser
carries it, sealed, ``console.logins``.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pymongo import ReturnDocument

from console.oidc import Tokens, random_token
from shared.mongo.client import Database, drop_collection_if_present

SESSION_PURPOSE = b"lienthong console session"
OBSOLETE_LOGINS = "logins"  # sign-ins in progress, now in a sealed cookie (``console.logins``)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def cipher(secret: str, purpose: bytes) -> AESGCM:
    """AES-GCM under a key derived from ``secret``; another ``purpose``, another key."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )
    return AESGCM(key)


def seal_bytes(aead: AESGCM, plain: bytes) -> bytes:
    """A fresh random nonce, then the ciphertext and its tag."""
    nonce = os.urandom(12)
    return nonce + aead.encrypt(nonce, plain, None)


def unseal_bytes(aead: AESGCM, sealed: bytes) -> bytes:
    """The plaintext; InvalidTag if the bytes were not sealed with this key or changed."""
    return aead.decrypt(sealed[:12], sealed[12:], None)


def seal(session_id: str, tokens: Tokens) -> str:
    sealed = seal_bytes(cipher(session_id, SESSION_PURPOSE), json.dumps(asdict(tokens)).encode())
    return base64.b64encode(sealed).decode()


def unseal(session_id: str, blob: str) -> Tokens:
    plain = unseal_bytes(cipher(session_id, SESSION_PURPOSE), base64.b64decode(blob))
    return Tokens(**json.loads(plain))


@dataclass(frozen=True)
class Session:
    """A signed-in operator's tokens and the CSRF token their pages send back."""

    session_id: str
    tokens: Tokens
    csrf: str


class SessionStore:
    """``sessions`` in the console's own database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.sessions = db["sessions"]

    async def ensure_indexes(self) -> None:
        await self.sessions.create_index("expires_at", expireAfterSeconds=0)
        # Sign-ins in progress were stored in ``logins`` before they moved to a sealed
        # cookie; a database upgraded from then still has it (with its TTL index).
        await drop_collection_if_present(self._db, OBSOLETE_LOGINS)

    async def create(self, tokens: Tokens, who: dict[str, Any]) -> Session:
        session = Session(random_token(), tokens, random_token())
        await self.sessions.insert_one(
            {
                "_id": digest(session.session_id),
                "tokens": seal(session.session_id, tokens),
                "csrf": session.csrf,
                **who,
                "created_at": datetime.now(UTC),
                "expires_at": _expiry(tokens),
            }
        )
        return session

    async def find(self, session_id: str) -> Session | None:
        doc = await self.sessions.find_one({"_id": digest(session_id)})
        if doc is None or doc["expires_at"].replace(tzinfo=UTC) < datetime.now(UTC):
            return None
        return Session(session_id, unseal(session_id, doc["tokens"]), doc["csrf"])

    async def renew(self, session: Session, tokens: Tokens) -> Session | None:
        doc = await self.sessions.find_one_and_update(
            {"_id": digest(session.session_id)},
            {"$set": {"tokens": seal(session.session_id, tokens), "expires_at": _expiry(tokens)}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else Session(session.session_id, tokens, session.csrf)

    async def end(self, session_id: str) -> None:
        await self.sessions.delete_one({"_id": digest(session_id)})


def _expiry(tokens: Tokens) -> datetime:
    return datetime.fromtimestamp(tokens.refresh_expires_at, UTC)
