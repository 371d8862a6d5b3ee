"""National portal synchronisation: our facts, mapped, delivered to the portal's endpoint.

A consumer of ``dossier.events`` in its own group (``<prefix>notification-portal``) maps
each fact (``portal_mapping``) and stores the messages in the ``portal_sync`` collection
in the same transaction as its inbox record (a fetched batch's facts at once, with one
read of their dossiers' last message numbers and one write): that collection is the
connector's outbox, so a message is never lost nor stored twice. The sender delivers
them in order per dossier to the configured endpoint: a dossier's lowest message not
sent yet, by (number, index), holds back its later ones, a dead one too, until
operations replay it or skip it. 2xx is delivered (unless its body's ``error_code`` is
not 0 / "00": the portal refused it); 408, 429, 5xx and network errors are retried with
exponential backoff; other 4xx, a refusal, or ``max_attempts`` failures, make it a dead
letter (status ``dead``, kept with the error). No endpoint configured: messages are
kept ``pending`` and nothing is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo import ASCENDING, ReplaceOne
from pymongo.errors import PyMongoError

from notification.portal_mapping import messages_for, reported
from notification.portal_numbers import LastNumbers
from notification.templates import DisplayNames
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.dossier import DossierFact
from shared.events.registry import REGISTRY
from shared.handlers import HandlerRegistry
from shared.mongo.client import Database, Document
from shared.unit_of_work import UnitOfWork
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)
PENDING, SENT, DEAD, SKIPPED = "pending", "sent", "dead", "skipped"
UNSENT = [PENDING, DEAD]
RETRYABLE = frozenset({408, 425, 429})
# Oldest first: which dossiers have messages waiting. Handling times come from each
# instance's clock, so they order dossiers, never one dossier's messages.
ORDER = [("created_at", ASCENDING), ("number", ASCENDING), ("index", ASCENDING)]
# A dossier's messages in the order its facts were numbered: the order they are sent in.
IN_DOSSIER = [("number", ASCENDING), ("index", ASCENDING)]


class PortalSyncSettings(BaseSettings):
    """National portal connector (LT_PORTAL_SYNC_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_PORTAL_SYNC_", extra="ignore")

    enabled: bool = Field(True, description="Map and keep every dossier fact for the portal.")
    endpoint: str | None = Field(
        None, description="URL the messages are POSTed to (none: kept pending, not sent)."
    )
    token: SecretStr | None = Field(None, description="Bearer token for the endpoint.")
    unit_code: str | None = Field(
        None,
        description="The integrating unit's code, sent as `madonvi` in every body as "
        "OpenCPS sends it (docs/notification.md); unset: not sent.",
    )
    max_attempts: int = Field(8, ge=1, description="Failures before a message is dead.")
    backoff_initial_s: float = Field(1.0, gt=0, description="First retry delay.")
    backoff_max_s: float = Field(300.0, gt=0, description="Longest retry delay.")
    interval_s: float = Field(1.0, gt=0, description="Idle wait of the sender.")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout per message.")


class PortalSyncStore:
    """The connector's outbox: one document per message."""

    def __init__(self, db: Database) -> None:
        self._messages = db["portal_sync"]

    async def ensure_indexes(self) -> None:
        await self._messages.create_index([("status", ASCENDING), *ORDER])
        # Also serves a dossier's messages in order (sending, listing).
        await self._messages.create_index(
            [("dossier_code", ASCENDING), *IN_DOSSIER],
            unique=True,
            name="one_number_per_dossier_message",
        )

    async def last_numbers(self, codes: Collection[str], uow: UnitOfWork) -> dict[str, int]:
        """Each dossier's latest message number (0 for a dossier new to the portal), in one
        read of the messages themselves: numbering costs no write of its own. Two writers
        numbering one dossier at once (its partition moving between instances) would take
        the same number: the unique index fails the later one, which retries."""
        cursor = await self._messages.aggregate(
            [
                {"$match": {"dossier_code": {"$in": list(codes)}}},
                {"$group": {"_id": "$dossier_code", "number": {"$max": "$number"}}},
            ],
            session=uow.session,
        )
        found = {str(doc["_id"]): int(doc["number"]) async for doc in cursor}
        return {code: found.get(code, 0) for code in codes}

    async def add(self, docs: list[Document], uow: UnitOfWork) -> None:
        """Keep messages (each replacing one of its id, if any), in one call."""
        if docs:
            await self._messages.bulk_write(
                [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs],
                session=uow.session,
            )

    async def due(self, now: datetime, limit: int) -> list[Document]:
        """Each dossier's lowest unsent message, if it is pending and its retry time has
        come (``sendable``), for the dossiers of the ``limit`` oldest pending messages.
        Dossiers held by a dead message are left out of that window: the messages behind
        it would otherwise fill it and keep every other dossier waiting."""
        held = await self._messages.distinct("dossier_code", {"status": DEAD})
        pending = {"status": PENDING, "dossier_code": {"$nin": held}}
        window = self._messages.find(pending, {"dossier_code": 1}).sort(ORDER).limit(limit)
        codes = list(dict.fromkeys([doc["dossier_code"] async for doc in window]))
        if not codes:
            return []
        cursor = self._messages.find({"dossier_code": {"$in": codes}, "status": {"$in": UNSENT}})
        return sendable([doc async for doc in cursor], now, codes)

    async def settle(self, message_id: str, fields: Document) -> None:
        await self._messages.update_one({"_id": message_id}, {"$set": fields})

    async def list(self, status: str | None, dossier: str | None, limit: int) -> list[Document]:
        query: Document = {}
        if status:
            query["status"] = status
        if dossier:
            query["dossier_code"] = dossier
        # One dossier's: in the order they are sent; several dossiers': oldest first.
        cursor = self._messages.find(query).sort(IN_DOSSIER if dossier else ORDER).limit(limit)
        return [doc async for doc in cursor]

    async def replay(self, message_id: str, now: datetime) -> bool:
        """A dead message goes back to pending, its attempts reset: sent next, before the
        dossier's later messages, which it holds back until then."""
        result = await self._messages.update_one(
            {"_id": message_id, "status": DEAD},
            {"$set": {"status": PENDING, "attempts": 0, "next_attempt_at": now}},
        )
        return result.modified_count == 1

    async def skip(self, message_id: str, now: datetime) -> bool:
        """A dead message is given up for good (operations decide the portal can do
        without it): the dossier's later messages go on without it."""
        result = await self._messages.update_one(
            {"_id": message_id, "status": DEAD}, {"$set": {"status": SKIPPED, "skipped_at": now}}
        )
        return result.modified_count == 1


def sendable(unsent: Iterable[Document], now: datetime, codes: list[str]) -> list[Document]:
    """Of the messages not sent yet (pending or dead) of the dossiers ``codes``, each
    dossier's lowest by (number, index) if it is pending and due, in the order of
    ``codes``. That lowest one holds back the dossier's later messages: while it waits
    for a retry, and while it is dead, until operations replay or skip it."""
    heads: dict[str, Document] = {}
    for doc in unsent:
        head = heads.get(doc["dossier_code"])
        if head is None or (doc["number"], doc["index"]) < (head["number"], head["index"]):
            heads[doc["dossier_code"]] = doc
    return [
        head
        for code in codes
        if (head := heads.get(code)) is not None
        and head["status"] == PENDING
        and head["next_attempt_at"] <= now
    ]


async def on_facts(
    events: list[tuple[Envelope, DossierFact]],
    uow: UnitOfWork,
    *,
    store: PortalSyncStore,
    names: DisplayNames,
    numbers: LastNumbers | None = None,
) -> None:
    """Map consecutive facts of a batch, in order, and keep their messages with the inbox
    records (one transaction): one read of the last numbers of the dossiers not
    remembered in ``numbers`` (none when all are), and one write for the batch."""
    reported = [
        (envelope, fact) for envelope, fact in events if messages_for(envelope, fact, names=names)
    ]
    if not reported:
        return
    codes = {fact.dossier_code for _, fact in reported}
    last = numbers.known(codes) if numbers is not None else {}
    if unknown := codes - last.keys():
        last.update(await store.last_numbers(unknown, uow))
    next_number = {code: number + 1 for code, number in last.items()}
    docs: list[Document] = []
    for envelope, fact in reported:
        number = next_number[fact.dossier_code]
        next_number[fact.dossier_code] = number + 1
        docs.extend(_message_documents(envelope, fact, number, uow.now, names))
    if numbers is None:
        await store.add(docs, uow)
        return
    try:
        await store.add(docs, uow)
    except PyMongoError:  # e.g. a remembered number behind the store's: read them next time
        numbers.forget(codes)
        raise
    written = {code: number - 1 for code, number in next_number.items()}
    uow.after_commit(partial(numbers.committed, written))


def _message_documents(
    envelope: Envelope, fact: DossierFact, number: int, now: datetime, names: DisplayNames
) -> list[Document]:
    """The stored messages of one fact, the dossier's ``number``-th reported one."""
    # The dossier's first messages tell the portal it is new (isUpdating "False").
    messages = messages_for(envelope, fact, names=names, updating=number > 1)
    return [
        {
            "_id": f"{envelope.id}:{index}",
            "dossier_code": fact.dossier_code,
            # The dossier's own count: its messages are sent in this order.
            "number": number,
            "index": index,
            "kind": message.service,
            "body": message.model_dump(mode="json"),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "last_error": None,
        }
        for index, message in enumerate(messages)
    ]


def build_registry(store: PortalSyncStore, names: DisplayNames | None = None) -> HandlerRegistry:
    """Every dossier fact the portal is told of, to the connector (unit and procedure names
    from ``names``, message numbers remembered in memory); the others (route planning,
    due-soon reminders) are ignored: no transaction, no inbox record."""
    facts = [m for m in REGISTRY.values() if issubclass(m, DossierFact) and reported(m)]
    handler = partial(on_facts, store=store, names=names or DisplayNames(), numbers=LastNumbers())
    return HandlerRegistry().on_batch(facts, handler)


def portal_refusal(response: httpx.Response) -> str | None:
    """A 2xx whose body says the portal refused the message (``error_code`` other than
    0 / "00", as OpenCPS reads the portal's answers); None when accepted or not JSON."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error_code") if isinstance(body, dict) else None
    if code is None or str(code) in ("0", "00"):
        return None
    return f"portal error_code {code}: {str(body.get('message', ''))[:200]}"


class PortalSender(PeriodicWorker):
    """Delivers due messages to the endpoint, with retries and dead letters (a worker)."""

    def __init__(
        self,
        store: PortalSyncStore,
        settings: PortalSyncSettings,
        http: httpx.AsyncClient,
        clock: Clock,
    ) -> None:
        super().__init__("portal-sender", settings.interval_s)
        self.store, self.settings, self.http, self.clock = store, settings, http, clock

    async def tick(self) -> int:
        return await self.send_once()

    async def send_once(self, limit: int = 100) -> int:
        """One pass; returns how many messages were delivered."""
        if not self.settings.endpoint:
            return 0
        delivered = 0
        for doc in await self.store.due(self.clock.now(), limit):
            delivered += await self._deliver(doc)
        return delivered

    async def _deliver(self, doc: Document) -> int:
        assert self.settings.endpoint is not None
        headers = {"Content-Type": "application/json"}
        if self.settings.token and self.settings.token.get_secret_value():  # "" = none
            headers["Authorization"] = f"Bearer {self.settings.token.get_secret_value()}"
        error, permanent = None, False
        try:
            body = doc["body"]
            if self.settings.unit_code:
                body = {**body, "madonvi": self.settings.unit_code}
            response = await self.http.post(
                self.settings.endpoint, json=body, headers=headers,
                timeout=self.settings.timeout_s,
            )  # fmt: skip
            refused = portal_refusal(response) if response.is_success else None
            if response.is_success and refused is None:
                await self.store.settle(doc["_id"], {"status": SENT, "sent_at": self.clock.now()})
                return 1
            error = refused or f"HTTP {response.status_code}: {response.text[:200]}"
            permanent = refused is not None or (
                response.status_code < 500 and response.status_code not in RETRYABLE
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        await self._failed(doc, error, permanent)
        return 0

    async def _failed(self, doc: Document, error: str, permanent: bool) -> None:
        attempts = doc["attempts"] + 1
        fields: dict[str, Any] = {"attempts": attempts, "last_error": error}
        if permanent or attempts >= self.settings.max_attempts:
            fields["status"] = DEAD
            log.warning(
                "portal message dead-lettered",
                extra={
                    "portal_message": doc["_id"],
                    "dossier": doc["dossier_code"],
                    "error": error,
                },
            )
        else:
            delay = min(
                self.settings.backoff_initial_s * 2 ** (attempts - 1), self.settings.backoff_max_s
            )
            fields["next_attempt_at"] = self.clock.now() + timedelta(seconds=delay)
        await self.store.settle(doc["_id"], fields)
