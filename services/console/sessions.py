"""Operators' sign-in sessions, kept by the console's server (never in the browser).

The browser holds only a random session id in an httpOnly cookie. The store keys a
session by the id's SHA-256 and keeps its tokens encrypted (AES-GCM) with a key derived
from the id itself: a copy of the database alone yields neither a usable cookie nor a
token. Pending logins (state, PKCE verifier, nonce) are one-time records bound to the
browser that started them. Both expire by TTL index.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pymongo import ReturnDocument

from console.oidc import Tokens, random_token
from shared.mongo.client import Database

LOGIN_TTL_S = 600


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _cipher(session_id: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"lienthong console session"
    ).derive(session_id.encode())
    return AESGCM(key)


def seal(session_id: str, tokens: Tokens) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(session_id).encrypt(nonce, json.dumps(asdict(tokens)).encode(), None)
    return base64.b64encode(nonce + sealed).decode()


def unseal(session_id: str, blob: str) -> Tokens:
    raw = base64.b64decode(blob)
    return Tokens(**json.loads(_cipher(session_id).decrypt(raw[:12], raw[12:], None)))


@dataclass(frozen=True)
class PendingLogin:
    verifier: str
    nonce: str
    browser: str  # digest of the login cookie of the browser that started it
    next: str


@dataclass(frozen=True)
class Session:
    """A signed-in operator's tokens and the CSRF token their pages send back."""

    session_id: str
    tokens: Tokens
    csrf: str


class SessionStore:
    """``sessions`` and ``logins`` in the console's own database."""

    def __init__(self, db: Database) -> None:
        self.sessions = db["sessions"]
        self.logins = db["logins"]

    async def ensure_indexes(self) -> None:
        await self.sessions.create_index("expires_at", expireAfterSeconds=0)
        await self.logins.create_index("expires_at", expireAfterSeconds=0)

    async def start_login(self, state: str, login: PendingLogin) -> None:
        expires = datetime.now(UTC) + timedelta(seconds=LOGIN_TTL_S)
        await self.logins.insert_one({"_id": state, **asdict(login), "expires_at": expires})

    async def take_login(self, state: str) -> PendingLogin | None:
        """The pending login of ``state``, once: a replayed callback finds nothing."""
        doc = await self.logins.find_one_and_delete({"_id": state})
        if doc is None or doc["expires_at"].replace(tzinfo=UTC) < datetime.now(UTC):
            return None
        return PendingLogin(doc["verifier"], doc["nonce"], doc["browser"], doc["next"])

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
