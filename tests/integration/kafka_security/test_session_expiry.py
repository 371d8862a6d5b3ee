"""A Kafka session ends with its token: a client the realm disables loses the broker.

The broker validates tokens offline, so it cannot know that Keycloak disabled a client.
It ends each OAUTHBEARER session when the token it was opened with expires (Kafka tells
the client the session's lifetime, KIP-368, even with ``connections.max.reauth.ms``
unset). aiokafka cannot re-authenticate on an open connection: the broker closes it and
the client reconnects with a fresh token. The platform's clients carry on; a disabled one
is refused its next token, so it is cut off within one token lifetime (the realm's 15
minutes). A client of the test's own, with 8-second tokens, shows both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from infra.kafka_access import delete_bindings
from infra.keycloak.realm import audience_mapper
from infra.keycloak.sync import admin_token
from shared.kafka.security import ClientCredentialsTokens, TokenUnavailable, client_security
from shared.kafka.session_ends import SUFFIX as SESSION_ENDED
from shared.kafka.session_ends import about_a_closed_connection
from shared.settings import KafkaSettings
from tests.integration.kafka_security.conftest import SecuredBroker

TOKEN_LIFESPAN_S = 8
pytestmark = pytest.mark.asyncio


@dataclass(frozen=True)
class ShortLivedClient:
    """A Keycloak client whose tokens last seconds, allowed one topic and one group."""

    client_id: str
    secret: str
    topic: str
    group: str
    admin_url: str  # the client's resource in Keycloak's admin API

    def settings(self, broker: SecuredBroker) -> KafkaSettings:
        return broker.as_client(self.client_id, self.secret)


class CountingTokens(ClientCredentialsTokens):
    """The platform's token provider, counting what aiokafka asks of it (once per
    connection it opens) and what the realm refused."""

    asked = 0
    refused = 0

    async def token(self) -> str:
        CountingTokens.asked += 1
        try:
            return await super().token()
        except TokenUnavailable:
            CountingTokens.refused += 1
            raise


def _security(broker: SecuredBroker, client: ShortLivedClient) -> dict[str, Any]:
    options = client_security(client.settings(broker))
    options["sasl_oauth_token_provider"] = CountingTokens(
        broker.issuer.token_url, client.client_id, client.secret
    )
    return options


def _keycloak_client(client_id: str, secret: str) -> dict[str, Any]:
    return {
        "clientId": client_id,
        "enabled": True,
        "publicClient": False,
        "serviceAccountsEnabled": True,
        "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "clientAuthenticatorType": "client-secret",
        "secret": secret,
        "attributes": {"access.token.lifespan": str(TOKEN_LIFESPAN_S)},
        "protocolMappers": [audience_mapper()],
    }


def _keycloak(base: str, method: str, url: str, **options: Any) -> httpx.Response:
    """One call of Keycloak's admin API, as the realm's administrator."""
    with httpx.Client(timeout=10) as http:
        headers = {"Authorization": f"Bearer {admin_token(http, base)}"}
        response = http.request(method, url, headers=headers, **options)
        response.raise_for_status()
        return response


def _grants(principal: str, topic: str, group: str) -> list[AclBinding]:
    def allow(kind: ResourceType, name: str, operation: AclOperation) -> AclBinding:
        return AclBinding(
            kind,
            name,
            ResourcePatternType.LITERAL,
            f"User:{principal}",
            "*",
            operation,
            AclPermissionType.ALLOW,
        )

    return [
        allow(ResourceType.TOPIC, topic, AclOperation.ALL),
        allow(ResourceType.GROUP, group, AclOperation.READ),
    ]


@pytest.fixture
def short_lived(secured_broker: SecuredBroker) -> Iterator[ShortLivedClient]:
    name = f"test-expiry-{secrets.token_hex(3)}"
    secret, topic = secrets.token_urlsafe(24), f"{secured_broker.prefix}{name}"
    base = secured_broker.issuer.base_url
    clients = f"{base}/admin/realms/{secured_broker.issuer.realm}/clients"
    _keycloak(base, "POST", clients, json=_keycloak_client(name, secret))
    found = _keycloak(base, "GET", clients, params={"clientId": name}).json()
    admin_url = f"{clients}/{found[0]['id']}"
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{secured_broker.ports.local}"})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    grants = _grants(name, topic, f"{name}-group")
    for future in admin.create_acls(grants).values():
        future.result(30)
    CountingTokens.asked = CountingTokens.refused = 0
    try:
        yield ShortLivedClient(name, secret, topic, f"{name}-group", admin_url)
    finally:
        delete_bindings(admin, grants)
        _keycloak(base, "DELETE", admin_url)


async def _until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.1)


async def test_clients_carry_on_across_the_ends_of_their_sessions(
    secured_broker: SecuredBroker,
    short_lived: ShortLivedClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An idempotent producer and a group consumer (the services' kind) outlive several
    sessions: every record sent arrives once, in order; the ends of the sessions are
    logged at INFO, saying why, not as errors."""
    servers = short_lived.settings(secured_broker).bootstrap_servers
    producer = AIOKafkaProducer(
        bootstrap_servers=servers,
        enable_idempotence=True,
        **_security(secured_broker, short_lived),
    )
    consumer = AIOKafkaConsumer(
        short_lived.topic,
        bootstrap_servers=servers,
        group_id=short_lived.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **_security(secured_broker, short_lived),
    )
    await producer.start()
    await consumer.start()
    sent: list[int] = []
    received: list[int] = []
    try:
        opened = CountingTokens.asked
        # Until both clients have reconnected at least twice after their first sessions
        # (three token lifetimes at most), one record at a time.
        deadline = asyncio.get_running_loop().time() + 6 * TOKEN_LIFESPAN_S
        while CountingTokens.asked < opened + 4:
            assert asyncio.get_running_loop().time() < deadline, "no session ended"
            await producer.send_and_wait(short_lived.topic, str(len(sent)).encode())
            sent.append(len(sent))
            batch = await consumer.getmany(timeout_ms=200)
            received += [int(r.value) for rs in batch.values() for r in rs if r.value]
            if batch:
                await consumer.commit()
        deadline = asyncio.get_running_loop().time() + 2 * TOKEN_LIFESPAN_S
        while len(received) < len(sent):
            assert asyncio.get_running_loop().time() < deadline, f"{len(received)} of {len(sent)}"
            batch = await consumer.getmany(timeout_ms=500)
            received += [int(r.value) for rs in batch.values() for r in rs if r.value]
    finally:
        await producer.stop()
        await consumer.stop()
    assert received == sent
    assert CountingTokens.refused == 0
    aiokafka = [r for r in caplog.records if r.name.startswith("aiokafka")]
    ended = [r for r in aiokafka if r.getMessage().endswith(SESSION_ENDED)]
    assert ended and all(r.levelno == logging.INFO for r in ended)
    alarming = [r.getMessage() for r in aiokafka if r.levelno >= logging.WARNING]
    assert not [m for m in alarming if about_a_closed_connection(m)], alarming


async def test_a_client_the_realm_disables_loses_the_broker_within_a_token_lifetime(
    secured_broker: SecuredBroker, short_lived: ShortLivedClient
) -> None:
    partition = TopicPartition(short_lived.topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=short_lived.settings(secured_broker).bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **_security(secured_broker, short_lived),
    )
    local = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{secured_broker.ports.local}")
    await consumer.start()
    await local.start()
    try:
        consumer.assign([partition])
        await local.send_and_wait(short_lived.topic, b"before")
        assert [r.value for r in await _records(consumer)] == [b"before"]

        base = secured_broker.issuer.base_url
        disable = {"enabled": False}
        await asyncio.to_thread(_keycloak, base, "PUT", short_lived.admin_url, json=disable)

        # The open session ends when its token does; the client asks the realm for a new
        # token to reconnect, and is refused.
        await _until(lambda: CountingTokens.refused > 0, 4 * TOKEN_LIFESPAN_S, "reconnect refused")
        await local.send_and_wait(short_lived.topic, b"after")
        assert await consumer.getmany(partition, timeout_ms=3000) == {}
    finally:
        await local.stop()
        # aiokafka's fetcher, cancelled while it reconnects, re-raises the cancellation.
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def _records(consumer: AIOKafkaConsumer) -> list[Any]:
    for _ in range(50):
        batch = await consumer.getmany(timeout_ms=200)
        if batch:
            return [r for rs in batch.values() for r in rs]
    return []
