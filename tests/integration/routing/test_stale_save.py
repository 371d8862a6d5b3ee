"""A dossier save over a stale read is refused and leaves the stored dossier as it was.

The save names the dossier by ``_id`` alone (the store's fast path) and reads back the
version it wrote over: a version other than the one read raises ``StaleDossier``, and
giving up the transaction undoes the write. A writer that committed after this
transaction read the dossier makes the save fail as well (a write conflict).
"""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure
from routing.domain.model import Dossier
from routing.store import DossierStore, Loaded, StaleDossier

from shared.mongo.client import Session, mongo_client, run_in_transaction, service_database
from shared.runtime import CommonSettings
from tests.unit.routing.builders import MONDAY_9AM, dossier_in, later


def _level(unit: str) -> str:
    return "commune"


async def insert(store: DossierStore, d: Dossier, session: Session) -> None:
    await store.insert_all([(Loaded(d, {}), 0)], session, MONDAY_9AM)


async def test_a_save_over_an_older_version_is_refused_and_undone(
    common_settings: CommonSettings,
) -> None:
    first = dossier_in("processing")
    async with mongo_client(common_settings.mongo, "test") as client:
        store = DossierStore(service_database(client, common_settings.mongo, "routing"), _level)
        await run_in_transaction(
            client, lambda s: store.insert_all([(Loaded(first, {}), 0)], s, MONDAY_9AM)
        )
        current = await store.get(first.code)
        assert current is not None
        await run_in_transaction(
            client, lambda s: store.save(current, read=current, session=s, now=later(0.1))
        )
        stale = first  # version 0, while the store now holds version 1
        changed = stale.model_copy(update={"holding_unit": "SOMEONE-ELSE"})

        with pytest.raises(StaleDossier):
            await run_in_transaction(
                client, lambda s: store.save(changed, read=stale, session=s, now=later(0.2))
            )

        stored = await store.get(first.code)
        assert stored is not None
        assert (stored.version, stored.holding_unit) == (1, current.holding_unit)


async def test_a_writer_that_committed_since_the_read_makes_the_save_fail(
    common_settings: CommonSettings,
) -> None:
    d = dossier_in("processing")
    async with mongo_client(common_settings.mongo, "test") as client:
        store = DossierStore(service_database(client, common_settings.mongo, "routing"), _level)
        await run_in_transaction(
            client, lambda s: store.insert_all([(Loaded(d, {}), 0)], s, MONDAY_9AM)
        )
        async with client.start_session() as mine:
            await mine.start_transaction()
            read = await store.get(d.code, mine)  # this transaction's snapshot
            assert read is not None

            async def other_writer(session: Session) -> None:
                theirs = await store.get(d.code, session)
                assert theirs is not None
                await store.save(theirs, read=theirs, session=session, now=later(0.1))

            await run_in_transaction(client, other_writer)
            decided = read.model_copy(update={"holding_unit": "SOMEONE-ELSE"})

            with pytest.raises((StaleDossier, OperationFailure)):
                await store.save(decided, read=read, session=mine, now=later(0.2))
            await mine.abort_transaction()

        stored = await store.get(d.code)
        assert stored is not None
        assert (stored.version, stored.holding_unit) == (1, read.holding_unit)
