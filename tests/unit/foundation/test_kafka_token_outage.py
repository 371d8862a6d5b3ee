"""An identity-provider outage is a connection failure to aiokafka, never a dead client."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import client as aiokafka_client
from aiokafka.client import AIOKafkaClient
from aiokafka.structs import BrokerMetadata

from shared.kafka.security import ClientCredentialsTokens


async def test_a_token_the_provider_cannot_issue_fails_the_connection_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing listens on port 9: the token endpoint is down.
    tokens = ClientCredentialsTokens("http://127.0.0.1:9/token", "routing", "s", timeout_s=1)

    asked: list[str] = []

    async def connect_with_sasl(*_: Any, **kwargs: Any) -> None:
        asked.append("token")
        await kwargs["sasl_oauth_token_provider"].token()  # as aiokafka's SASL handshake does

    monkeypatch.setattr(aiokafka_client, "create_conn", connect_with_sasl)
    client = AIOKafkaClient(
        bootstrap_servers="127.0.0.1:9092",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider=tokens,
    )
    client.cluster._brokers = {0: BrokerMetadata(0, "127.0.0.1", 9092, None)}
    # aiokafka treats it as a broker it could not reach: not ready, try again later.
    assert await client.ready(0) is False
    assert asked == ["token"]
