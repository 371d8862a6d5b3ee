"""National portal synchronisation: our facts, mapped, delivered to the portal's endpoint.

The connector's handlers read ``dossier.events`` in the service's one consumer group,
beside the notifications' (``main`` combines the registries): each fact is mapped
(``portal_mapping``) and its messages stored in the ``portal_sync`` collection in the
same transaction as its one inbox record and its notification records (a fetched batch's
facts at once, with one read of their dossiers' last message numbers and one write):
that collection is the connector's outbox, so a message is never lost nor stored twice.
The sender (``portal_sender``) delivers them in order per dossier to the configured
endpoint: a dossier's lowest message not sent yet, by (number, index), holds back its
later ones, a dead one too, until operations replay it or skip it. 2xx is delivered
(unless its body's ``error_code`` is not 0 / "00": the portal refused it); 408, 429, 5xx
and network errors are retried with exponential backoff; other 4xx, a refusal, or
``max_attempts`` failures, make it a dead letter (status ``dead``, kept with the error).
One instance sends at a time (a lease in the store). No endpoint configured: messages
are kept ``pending`` and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from functools import partial

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import PyMongoError

from notification.portal_mapping import messages_for, reported, withdrawal_stands
from notification.portal_numbers import Last, LastNumbers
from notification.templates import DisplayNames
from shared.envelope import Envelope
from shared.events.dossier import DossierFact
from shared.events.registry import REGISTRY
from shared.handlers import HandlerRegistry
from shared.mongo.client import Database, Document, drop_index_if_present
from shared.unit_of_work import UnitOfWork

PENDING, SENT, DEAD, SKIPPED = "pending", "sent", "dead", "skipped"
UNSENT = [PENDING, DEAD]
# Oldest first: which dossiers have messages waiting. Handling times come from each
# instance's clock, so they order dossiers, never one dossier's messages.
ORDER = [("created_at", ASCENDING), ("number", ASCENDING), ("index", ASCENDING)]
# A dossier's messages in the order its facts were numbered: the order they are sent in.
IN_DOSSIER = [("number", ASCENDING), ("index", ASCENDING)]
# A dossier's messages by handling time, which orders nothing since they go by number
# (``one_number_per_dossier_message`` serves them): dropped from stores that still have it.
OBSOLETE_INDEX = [("dossier_code", ASCENDING), *ORDER]


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
    timeout_s: float = Field(10.0, gt=0, description="Whole-request timeout per message.")
    lease_s: float = Field(
        30.0, gt=0, description="Sender lease between instances (longer than the timeout)."
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_request(self) -> PortalSyncSettings:
        # A message is posted only with a timeout's worth of the lease left.
        if self.lease_s <= self.timeout_s:
            raise ValueError("LT_PORTAL_SYNC_LEASE_S must exceed LT_PORTAL_SYNC_TIMEOUT_S")
        return self


class PortalSyncStore:
    """The connector's outbox: one document per message."""

    def __init__(self, db: Database) -> None:
        self._messages = db["portal_sync"]

    async def ensure_indexes(self) -> None:
        await drop_index_if_present(self._messages, OBSOLETE_INDEX)
        await self._messages.create_index([("status", ASCENDING), *ORDER])
        # Also serves a dossier's messages in order (sending, listing).
        await self._messages.create_index(
            [("dossier_code", ASCENDING), *IN_DOSSIER],
            unique=True,
            name="one_number_per_dossier_message",
        )

    async def last_numbers(self, codes: Collection[str], uow: UnitOfWork) -> dict[str, Last]:
        """Each dossier's latest message number (0 for a dossier new to the portal) and
        whether a withdrawal request stood after its fact (False for a message stored
        before messages said so), in one read of the messages themselves: numbering costs
        no write of its own. Two writers numbering one dossier at once (its partition
        moving between instances) would take the same number: the unique index fails the
        later one, which retries."""
        cursor = await self._messages.aggregate(
            [
                {"$match": {"dossier_code": {"$in": list(codes)}}},
                {"$sort": {"dossier_code": 1, "number": -1}},
                {
                    "$group": {
                        "_id": "$dossier_code",
                        "number": {"$first": "$number"},
                        "standing": {"$first": "$withdrawal_standing"},
                    }
                },
            ],
            session=uow.session,
        )
        found = {
            str(doc["_id"]): Last(int(doc["number"]), doc.get("standing") is True)
            async for doc in cursor
        }
        return {code: found.get(code, Last(0)) for code in codes}

    async def add(self, docs: list[Document], uow: UnitOfWork) -> None:
        """Keep messages, each unless one of its id (its fact's id and its index) is kept
        already, in one call. The inbox lets a fact through once per consumer group: a
        fact mapped again in another group (as when the connector moves to another
        group) leaves its messages, maybe sent, as they are: never renumbered, reset to
        pending or sent twice (the number it took is then unused, which changes no
        order)."""
        if docs:
            keep = [UpdateOne({"_id": d["_id"]}, {"$setOnInsert": d}, upsert=True) for d in docs]
            await self._messages.bulk_write(keep, session=uow.session)

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

    async def count(self, status: str) -> int:
        """How many messages have this status (the status index counts them)."""
        return await self._messages.count_documents({"status": status})

    async def settle(self, message_id: str, fields: Document, *, if_pending: bool = False) -> None:
        """Store an attempt's outcome; ``if_pending``: only on a message still pending (a
        failure stored late, after another sender's success, changes nothing)."""
        query: Document = {"_id": message_id, **({"status": PENDING} if if_pending else {})}
        await self._messages.update_one(query, {"$set": fields})

    async def of_dossier(self, dossier: str, limit: int) -> list[Document]:
        """A dossier's messages in the order they are sent (whatever their status)."""
        return await self.list(None, dossier, limit)

    async def list(
        self, status: str | None, dossier: str | None, limit: int, offset: int = 0
    ) -> list[Document]:
        query: Document = {}
        if status:
            query["status"] = status
        if dossier:
            query["dossier_code"] = dossier
        # One dossier's: in the order they are sent; several dossiers': oldest first.
        # Several dossiers' messages may share a time, number and index: the id settles
        # their order, so that pages (skip) neither repeat nor miss one.
        order = IN_DOSSIER if dossier else [*ORDER, ("_id", ASCENDING)]
        cursor = self._messages.find(query).sort(order).skip(offset).limit(limit)
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
    docs: list[Document] = []
    for envelope, fact in reported:
        before = last[fact.dossier_code]
        after = Last(before.number + 1, withdrawal_stands(before.withdrawal_standing, fact))
        last[fact.dossier_code] = after
        docs.extend(_message_documents(envelope, fact, before, after, uow.now, names))
    if numbers is None:
        await store.add(docs, uow)
        return
    try:
        await store.add(docs, uow)
    except PyMongoError:  # e.g. a remembered number behind the store's: read them next time
        numbers.forget(codes)
        raise
    uow.after_commit(partial(numbers.committed, dict(last)))


def _message_documents(
    envelope: Envelope,
    fact: DossierFact,
    before: Last,
    after: Last,
    now: datetime,
    names: DisplayNames,
) -> list[Document]:
    """The stored messages of one fact, the dossier's ``after.number``-th reported one,
    ``before`` its dossier's last."""
    # The dossier's first messages tell the portal it is new (isUpdating "False").
    messages = messages_for(
        envelope,
        fact,
        names=names,
        updating=after.number > 1,
        withdrawal_standing=before.withdrawal_standing,
    )
    return [
        {
            "_id": f"{envelope.id}:{index}",
            "dossier_code": fact.dossier_code,
            # The dossier's own count: its messages are sent in this order.
            "number": after.number,
            "index": index,
            # Whether the applicant's withdrawal request stands after it (for the next).
            "withdrawal_standing": after.withdrawal_standing,
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
