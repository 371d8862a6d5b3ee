"""Unit and subscriber delivery records keep the event they delivered: they expire
(TTL on ``expires_at``) after LT_NOTIFICATION_DELIVERY_RECORD_RETENTION_DAYS, and those
stored before they had an expiry are given one when the service starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from notification.config import NotificationSettings
from notification.main import create_app
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
