"""A time-bounded claim in the store, so that one instance of a service does a piece of
work at a time (the outbox relay, the portal sender): the holder renews it before it
lapses; another instance takes it only once it has."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from shared.mongo.client import Database


class Lease:
    """A time-bounded claim in MongoDB: only the holder acts until it lapses."""

    def __init__(self, db: Database, name: str, holder: str | None = None) -> None:
        self._leases = db["leases"]
        self._name = name
        self.holder = holder or str(uuid.uuid4())

    async def acquire(self, now: datetime, duration: timedelta) -> bool:
        """Take or renew the lease; False while another holder's lease is live."""
        try:
            await self._leases.find_one_and_update(
                {"_id": self._name, "$or": [{"holder": self.holder}, {"expires_at": {"$lt": now}}]},
                {"$set": {"holder": self.holder, "expires_at": now + duration}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the filter did not match and the upsert lost: someone else holds it
        return True

    async def release(self) -> None:
        await self._leases.delete_one({"_id": self._name, "holder": self.holder})
