"""Per-service store users: each service may use its own database and nothing else.

Runs against an authenticated store of its own (``--auth``, on a free port, started
and stopped here by ``infra.store_auth``), never against the shared local store: the
same server binary as devstack's, users provisioned as ``make run`` provisions them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from audit.main import create_app as audit_app
from notification.config import NotificationSettings
from notification.main import create_app as notification_app
from pydantic import SecretStr
from pymongo.errors import OperationFailure, PyMongoError
from routing.config import RoutingSettings
from routing.main import create_app as routing_app

from infra import store_auth
from shared.clock import ManualClock
from shared.mongo.client import Client, mongo_client, run_in_transaction
from shared.runtime import CommonSettings
from shared.settings import MongoSettings
from shared.testing import ActAs, eventually, free_port, running_app
from tests.integration.audit.helpers import audit_settings_for
from tests.integration.intake.helpers import MORNING, intake_settings, running_intake, submission

UNAUTHORIZED = 13


class SecureStore:
    """A running ``--auth`` store and the users it was given."""

    def __init__(self, port: int, users: store_auth.StoreUsers) -> None:
        self.port, self.users = port, users

    def settings(self, user: str | None, password: str | None = None) -> MongoSettings:
        """Store settings as a service would read them (LT_MONGO_*), for ``user``."""
        if user is not None and password is None:
            password = self.users.service_passwords[user]
        return MongoSettings(
            uri=store_auth.uri(self.port),
            database_prefix=self.users.database_prefix,
            username=user,
            password=SecretStr(password) if password is not None else None,
            server_selection_timeout_ms=5000,
        )

    def database(self, service: str) -> str:
        return f"{self.users.database_prefix}{service}"


@pytest.fixture(scope="module")
def secure_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStore]:
    users = store_auth.StoreUsers(
        admin_user="admin",
        admin_password=secrets.token_urlsafe(24),
        service_passwords={s: secrets.token_urlsafe(24) for s in store_auth.SERVICES},
        database_prefix=f"lt_auth_{secrets.token_hex(3)}_",
    )
    port, where = free_port(), Path(tmp_path_factory.mktemp("secure-store"))
    proc = store_auth.start_authenticated(port, where / "data", users, where / "store.log")
    try:
        yield SecureStore(port, users)
    finally:
        store_auth.stop_server(proc)


async def _refused(client: Client, database: str, code: int = UNAUTHORIZED) -> None:
    """Reading and writing ``database`` both fail with ``code`` (Unauthorized)."""
    with pytest.raises(OperationFailure) as read:
        await client[database]["anything"].find_one()
    with pytest.raises(OperationFailure) as write:
        await client[database]["anything"].insert_one({"x": 1})
    assert (read.value.code, write.value.code) == (code, code)


@pytest.mark.parametrize("service", store_auth.SERVICES)
async def test_a_service_user_works_in_its_own_database_only(
    secure_store: SecureStore, service: str
) -> None:
    async with mongo_client(secure_store.settings(service), service) as client:
        own = client[secure_store.database(service)]
        await own["outbox"].create_index("sent_at", expireAfterSeconds=60)

        async def work(session: Any) -> None:
            await own["outbox"].insert_one({"n": 1}, session=session)
            await own["counters"].update_one(
                {"_id": "c"}, {"$inc": {"v": 1}}, upsert=True, session=session
            )

        await run_in_transaction(client, work)
        assert await own["outbox"].count_documents({}) == 1

        for other in store_auth.SERVICES:
            if other != service:
                await _refused(client, secure_store.database(other))
        await _refused(client, "admin")
        with pytest.raises(OperationFailure) as drop:
            await client.drop_database(
                secure_store.database("audit" if service != "audit" else "intake")
            )
        with pytest.raises(OperationFailure) as grant:
            await client.admin.command(
                "createUser", f"{service}-2", pwd="x" * 16, roles=[{"role": "root", "db": "admin"}]
            )
        assert (drop.value.code, grant.value.code) == (UNAUTHORIZED, UNAUTHORIZED)


async def _cannot_log_in(settings: MongoSettings) -> None:
    """The driver's login fails (the server answers AuthenticationFailed, 18)."""
    async with mongo_client(settings, "intruder") as intruder:
        with pytest.raises(PyMongoError) as login:
            await intruder[settings.database_prefix + "intake"]["anything"].find_one()
    assert "AuthenticationFailed" in str(login.value)


async def test_no_credentials_or_a_wrong_password_get_nothing(secure_store: SecureStore) -> None:
    async with mongo_client(secure_store.settings(None), "anonymous") as anonymous:
        await _refused(anonymous, secure_store.database("intake"))
    quick = {"server_selection_timeout_ms": 1000}
    wrong = secure_store.settings("intake", password="not-the-password")
    await _cannot_log_in(wrong.model_copy(update=quick))
    routing_password = secure_store.users.service_passwords["routing"]
    borrowed = secure_store.settings("intake", password=routing_password)
    await _cannot_log_in(borrowed.model_copy(update=quick))


async def test_the_four_services_run_on_their_own_users(
    secure_store: SecureStore, common_settings: CommonSettings, tmp_path: Path
) -> None:
    """Everything a service does to the store (indexes, TTLs, transactions, leases,
    catalogue loading) is allowed by readWrite on its own database."""

    def on(service: str) -> dict[str, Any]:
        return {**common_settings.model_dump(), "mongo": secure_store.settings(service)}

    intake = intake_settings(common_settings).model_copy(
        update={"mongo": secure_store.settings("intake")}
    )
    others = [
        routing_app(RoutingSettings(**on("routing"))),
        notification_app(NotificationSettings(**on("notification"))),
        audit_app(audit_settings_for(CommonSettings(**on("audit")), tmp_path / "audit.key")),
    ]
    async with AsyncExitStack() as stack:
        readers = (ActAs("operations"), ActAs("admin"), ActAs("auditor"))
        clients = [
            await stack.enter_async_context(running_app(app, reader))
            for app, reader in zip(others, readers, strict=True)
        ]
        running = await stack.enter_async_context(running_intake(intake, ManualClock(MORNING)))
        for client in [*clients, running.client]:
            assert (await client.get("/readyz")).status_code == 200
        receipt = await running.client.post("/v1/dossiers", json=submission())
        assert receipt.status_code == 201, receipt.text
        code = receipt.json()["code"]
        routing, notification, audit = clients

        async def everyone_recorded_it() -> bool:
            # routing planned it, notification planned the applicant's messages, audit logged it
            trail = await routing.get(f"/v1/dossiers/{code}/trail")
            told = await notification.get("/v1/notifications", params={"dossier": code})
            logged = await audit.get("/v1/audit/entries", params={"dossier": code})
            return (
                trail.status_code == 200
                and bool(told.json()["items"])
                and bool(logged.json()["items"])
            )

        assert await eventually(everyone_recorded_it)
    async with mongo_client(secure_store.settings("intake"), "check") as store:
        stored = store[secure_store.database("intake")]["dossiers"]
        assert await stored.count_documents({}) == 1
