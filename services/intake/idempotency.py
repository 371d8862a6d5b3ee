"""Idempotency-Key handling: a creating request runs at most once per key and body.

The key's record is written in the same transaction as the dossier, so a retry sees
either nothing (and creates) or the first result. The record keeps the receipt without
its look-up token, plus the token sealed with a key derived from the Idempotency-Key:
only a retry that presents the key can get the token back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from intake.schemas.responses import Receipt
from intake.store import IntakeStore
from intake.tokens import idempotency_id, seal_token, unseal_token
from shared.idempotency import checked_key, key_reused, request_fingerprint
from shared.mongo.client import Document
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork


@dataclass(frozen=True)
class KeyedRequest:
    """A request's Idempotency-Key record: where it is kept (None without a key), the
    body's fingerprint, and the fields every route's record shares."""

    route: str
    record_id: str | None
    fingerprint: str

    @classmethod
    def of(cls, route: str, key: str | None, body: dict[str, Any]) -> KeyedRequest:
        checked_key(key)
        record_id = idempotency_id(route, key) if key else None
        return cls(route, record_id, request_fingerprint(route, body))

    async def earlier(self, store: IntakeStore, now: datetime) -> Document | None:
        """The first request's record, or None; another body under the key is refused
        (409 ``idempotency_key_reused``)."""
        if self.record_id is None:
            return None
        record = await store.idempotent_result(self.record_id, now)
        if record is None:
            return None
        if record["fingerprint"] != self.fingerprint:
            raise key_reused()
        return record

    def record(
        self, dossier_code: str, now: datetime, ttl: timedelta, result: dict[str, Any]
    ) -> Document:
        """The key's record, with the route's own ``result`` fields."""
        return {
            "_id": self.record_id,
            "route": self.route,
            "fingerprint": self.fingerprint,
            "dossier_code": dossier_code,
            **result,
            "created_at": now,
            "expires_at": now + ttl,
        }


@dataclass(frozen=True)
class Outcome:
    """A receipt, and whether it replays an earlier request with the same key."""

    receipt: Receipt
    replayed: bool = False


@dataclass
class IdempotentCreation:
    """One creating request: its key (optional), its body, and where results are kept."""

    store: IntakeStore
    units: UnitsOfWork
    receipt_key: bytes
    ttl: timedelta
    route: str
    key: str | None
    body: dict[str, Any]
    now: datetime
    keyed: KeyedRequest = field(init=False)

    def __post_init__(self) -> None:
        self.keyed = KeyedRequest.of(self.route, self.key, self.body)

    async def earlier(self) -> Outcome | None:
        """The first result for this key, or None; a different body is refused (409)."""
        record = await self.keyed.earlier(self.store, self.now)
        if record is None or self.key is None:
            return None
        token = unseal_token(self.receipt_key, self.key, record["sealed_token"]) or ""
        receipt = Receipt.model_validate({**record["receipt"], "lookup_token": token})
        return Outcome(receipt, replayed=True)

    async def run(self, create: Callable[[UnitOfWork], Awaitable[Receipt]]) -> Outcome:
        """Create in one unit of work with the key's record; a concurrent twin gets a replay."""

        async def work(uow: UnitOfWork) -> Receipt:
            receipt = await create(uow)
            if self.key is not None:
                await self.store.remember_result(self._record(self.key, receipt), uow.session)
            return receipt

        try:
            return Outcome(await self.units.run(work, now=self.now, grouped=True))
        except DuplicateKeyError:
            if (replay := await self.earlier()) is None:
                raise
            return replay

    def _record(self, key: str, receipt: Receipt) -> Document:
        result = {
            "receipt": receipt.model_dump(mode="json", exclude={"lookup_token"}),
            "sealed_token": seal_token(self.receipt_key, key, receipt.lookup_token),
        }
        return self.keyed.record(receipt.code, self.now, self.ttl, result)
