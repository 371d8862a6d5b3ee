"""Unit and subscriber delivery records keep the event they delivered: they expire
(TTL on ``expires_at``) after LT_NOTIFICATION_DELIVERY_RECORD_RETENTION_DAYS, and those
stored before they had an expiry are given one when the service starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from notification.config import NotificationSettings
from notification.main import create_app
from notification.store import NotificationStore
from pymongo import AsyncMongoClient

from shared.testing import ActAs, eventually, running_app
from tests.integration.notification.helpers import notifications, publish
from tests.samples import envelope_of, transfer_requested

CODE = "001.21.31.H59-261126-0401"
DAYS = 40


async def test_unit_deliveries_expire_and_old_ones_get_an_expiry_at_start(
    settings: NotificationSettings,
) -> None:
    settings = settings.model_copy(
        update={
            "options": settings.options.model_copy(update={"delivery_record_retention_days": DAYS})
        }
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo.uri)
    records = client[f"{settings.mongo.database_prefix}notification"]["notifications"]
    await records.insert_one(  # a unit delivery stored by an earlier version: no expiry
        {"_id": "old-1", "recipient_kind": "unit", "envelope": "{}", "status": "sent"}
    )
    before = datetime.now(UTC)
    try:
        async with running_app(create_app(settings), ActAs("admin")) as api:
            await publish(settings, envelope_of(transfer_requested(CODE)))
            [item] = await eventually(lambda: _sent(api))
        assert item["recipient_kind"] == "unit"
        stored = await records.find_one({"_id": item["id"]})
        assert stored is not None and stored["envelope"]  # keeps the event: so it expires
        expected = timedelta(days=DAYS)
        assert abs(_aware(stored["expires_at"]) - (_aware(stored["created_at"]) + expected)) < (
            timedelta(seconds=1)
        )
        old = await records.find_one({"_id": "old-1"})
        assert old is not None
        assert before + expected <= _aware(old["expires_at"]) <= datetime.now(UTC) + expected
        ttl = [
            index
            async for index in await records.list_indexes()
            if index.get("key") == {"expires_at": 1}
        ]
        assert [index.get("expireAfterSeconds") for index in ttl] == [0]
    finally:
        await client.close()


async def _sent(api: Any) -> list[dict[str, Any]] | None:
    items = await notifications(api, CODE)
    return items if items and all(i["status"] == "sent" for i in items) else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_records_without_an_expiry_get_one_a_batch_at_a_time(
    settings: NotificationSettings,
) -> None:
    """Batches, each in its own transaction: a first start on a large store stays within
    the transaction time limit; every record is reached, those with an expiry untouched."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo.uri)
    store = NotificationStore(client[f"{settings.mongo.database_prefix}notification"])
    kept = datetime(2030, 1, 1, tzinfo=UTC)
    try:
        await store.notifications.insert_many(
            [{"_id": f"old-{n}", "recipient_kind": "unit"} for n in range(5)]
            + [{"_id": "new", "recipient_kind": "unit", "expires_at": kept}]
        )
        expires_at = datetime(2027, 1, 1, tzinfo=UTC)
        assert await store.expire_kept_records(expires_at, batch=2) == 5
        by_id = {doc["_id"]: _aware(doc["expires_at"]) async for doc in store.notifications.find()}
        assert by_id == {**{f"old-{n}": expires_at for n in range(5)}, "new": kept}
        assert await store.expire_kept_records(expires_at, batch=2) == 0
    finally:
        await client.close()


async def test_the_sweep_at_every_start_reads_no_record_once_all_have_an_expiry(
    settings: NotificationSettings,
) -> None:
    """It runs at every start with no marker (an older instance still writing records
    without an expiry during a rolling upgrade must not leave them kept for ever): that
    costs nothing because the expiry index serves it, whatever the store holds."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo.uri)
    db = client[f"{settings.mongo.database_prefix}notification"]
    store = NotificationStore(db)
    try:
        await store.ensure_indexes()
        kept = datetime(2030, 1, 1, tzinfo=UTC)
        await store.notifications.insert_many(
            [{"_id": f"r-{n}", "source_event_id": f"e-{n}", "expires_at": kept} for n in range(50)]
        )
        assert await store.expire_kept_records(kept, batch=10) == 0
        explained = await db.command(
            "explain",
            {"find": "notifications", "filter": {"expires_at": {"$exists": False}}, "limit": 10},
            verbosity="executionStats",
        )
        stats = explained["executionStats"]
        assert (stats["totalDocsExamined"], stats["totalKeysExamined"]) == (0, 0)
    finally:
        await client.close()
