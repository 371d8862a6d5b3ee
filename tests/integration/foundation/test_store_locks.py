"""A multi-document update beside an open transaction: it gives way, it never wedges.

Outside a transaction the embedded store retries an update that meets another
transaction's uncommitted write for as long as it takes, holding the collection's
lock, so the transaction's next write to that collection waits for ever, and so does
the update. ``update_many_in_transaction`` meets the conflict inside a transaction:
it fails within its bound, the open transaction goes on and commits, and the update
then goes through.
"""

from __future__ import annotations

import pytest
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from shared.mongo.client import mongo_client, update_many_in_transaction
from shared.runtime import CommonSettings


async def test_an_update_meeting_an_open_transaction_gives_way_and_succeeds_after_it(
    common_settings: CommonSettings,
) -> None:
    async with mongo_client(common_settings.mongo, "tests") as client:
        deliveries = client[f"{common_settings.mongo.database_prefix}locks"]["deliveries"]
        await deliveries.insert_many([{"_id": "A", "claim": "c"}, {"_id": "B", "claim": "c"}])
        renewal = ({"claim": "c"}, {"$set": {"lease": 1}})

        async with (
            client.start_session() as session,
            await session.start_transaction(
                read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
            ),
        ):
            await deliveries.update_one({"_id": "A"}, {"$set": {"sent": True}}, session=session)
            with pytest.raises(PyMongoError):
                await update_many_in_transaction(deliveries, *renewal, timeout_s=1.0)
            # The collection is not held: the open transaction writes it again and commits.
            await deliveries.update_one({"_id": "B"}, {"$set": {"sent": True}}, session=session)

        assert await update_many_in_transaction(deliveries, *renewal) == 2
        assert await deliveries.count_documents({"sent": True, "lease": 1}) == 2
        await client.drop_database(deliveries.database.name)
