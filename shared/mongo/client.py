"""Building the async client and running work in a transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from shared.settings import MongoSettings
from shared.telemetry.metrics import STORE_COMMANDS

Document = dict[str, Any]
Collection = AsyncCollection[Document]
Database = AsyncDatabase[Document]
Client = AsyncMongoClient[Document]
Session = AsyncClientSession
T = TypeVar("T")


DEV_PASSWORD_PREFIX = "dev-only-"  # make run's store passwords (infra/store_auth.py)
log = logging.getLogger(__name__)


def credentials(settings: MongoSettings) -> dict[str, Any]:
    """Driver options that authenticate as the configured user (none without a username)."""
    if settings.username is None:
        return {}
    password = settings.password.get_secret_value() if settings.password else ""
    return {
        "username": settings.username,
        "password": password,
        "authSource": settings.auth_source,
        "authMechanism": "SCRAM-SHA-256",
    }


def warn_about_store_credentials(settings: MongoSettings, app_name: str) -> None:
    """Say so when the store connection is unauthenticated or uses a development password."""
    if settings.username is None:
        log.warning(
            "store connection without authentication (LT_MONGO_USERNAME unset): "
            "acceptable for the local test store only",
            extra={"service": app_name},
        )
    elif settings.password and settings.password.get_secret_value().startswith(DEV_PASSWORD_PREFIX):
        log.warning(
            "LT_MONGO_PASSWORD is a development default: set it", extra={"service": app_name}
        )


class CommandCounter(monitoring.CommandListener):
    """Counts the client's round trips by collection and command (``lt_store_commands_total``).

    Throughput is bought in round trips: this shows which collection and which command a
    service pays for, in production as in the benchmark.
    """

    def __init__(self, service: str) -> None:
        self._service = service
        # Each command's series, by collection and command: ``labels()`` locks and builds
        # a key on every call, and this runs on every round trip.
        self._series: dict[tuple[str, str], Any] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        key = (target if isinstance(target, str) else "", event.command_name)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = STORE_COMMANDS.labels(self._service, *key)
        series.inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@asynccontextmanager
async def mongo_client(settings: MongoSettings, app_name: str) -> AsyncIterator[Client]:
    """A client for the duration of the block, closed afterwards; its commands counted."""
    client: Client = AsyncMongoClient(
        settings.uri,
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.server_selection_timeout_ms,
        maxPoolSize=settings.max_pool_size,
        event_listeners=[CommandCounter(app_name)],
        **credentials(settings),
    )
    try:
        yield client
    finally:
        await client.close()


INDEX_NOT_FOUND = 27  # the store's error code for dropping an index that does not exist


async def drop_index_if_present(
    collection: Collection, keys: str | Sequence[tuple[str, int]]
) -> bool:
    """Drop an index a newer version no longer uses, kept by a store upgraded from an older
    one (by name, or by keys for an index created unnamed). True when it was dropped;
    False when absent: a new store, or another instance dropped it first."""
    name = keys if isinstance(keys, str) else "_".join(f"{key}_{order}" for key, order in keys)
    if name not in await collection.index_information():  # {} for an absent collection
        return False
    try:
        await collection.drop_index(name)
    except OperationFailure as exc:  # dropped by another instance since the look-up
        if exc.code != INDEX_NOT_FOUND:
            raise
        return False
    log.info("dropped an obsolete index", extra={"collection": collection.name, "index": name})
    return True


async def drop_collection_if_present(db: Database, name: str) -> bool:
    """Drop a collection a newer version no longer uses. True when it was there."""
    if name not in await db.list_collection_names(filter={"name": name}):
        return False
    await db.drop_collection(name)  # one dropped meanwhile by another instance is no error
    log.info("dropped an obsolete collection", extra={"collection": f"{db.name}.{name}"})
    return True


def service_database(client: Client, settings: MongoSettings, service: str) -> Database:
    """The service's own database; no service reads another's."""
    return client.get_database(f"{settings.database_prefix}{service}")


DEFAULT_TRANSACTION_TIMEOUT_S = 30.0


async def run_in_transaction(
    client: Client,
    work: Callable[[Session], Awaitable[T]],
    timeout_s: float = DEFAULT_TRANSACTION_TIMEOUT_S,
) -> T:
    """Run ``work`` in one transaction, retried by the driver on transient conflicts.

    The whole attempt, retries included, is bounded by ``timeout_s`` (the driver's own
    limit is 120 s): an unreachable store surfaces as a NetworkTimeout soon enough for
    callers to pause instead of hanging.
    """
    with pymongo.timeout(timeout_s):
        async with client.start_session() as session:
            return await session.with_transaction(
                work,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
            )


async def update_many_in_transaction(
    collection: Collection,
    selection: Document,
    update: Document,
    timeout_s: float = DEFAULT_TRANSACTION_TIMEOUT_S,
) -> int:
    """``update_many`` in a transaction of its own; how many documents it changed.

    A multi-document update outside a transaction that meets another transaction's
    uncommitted write is retried by SecantusDB for as long as it takes, holding the
    collection's write lock; if that transaction then writes the same collection, both
    wait for ever (seen under load: a claim renewal against a transaction that stored
    several deliveries' outcomes). Inside a transaction the conflict surfaces at once,
    the lock is let go, and the driver retries. MongoDB does not need it and is not
    harmed by it.
    """

    async def work(session: Session) -> int:
        result = await collection.update_many(selection, update, session=session)
        return result.modified_count

    return await run_in_transaction(collection.database.client, work, timeout_s)
