"""A token the broker refuses fails the login, as it should (aiokafka took it for a login)."""

from __future__ import annotations

import pytest
from aiokafka.conn import OAuthAuthenticator
from aiokafka.errors import KafkaConnectionError

from shared.kafka.refused_tokens import BrokerRefusedToken, report_refused_tokens
from shared.kafka.security import client_security
from shared.settings import KafkaSettings


class OneToken:
    async def token(self) -> str:
        return "a.b.c"


def sasl_settings() -> KafkaSettings:
    return KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        oauth_token_url="http://127.0.0.1:9/token",
        oauth_client_id="routing",
        oauth_client_secret="s",
    )


async def test_the_brokers_error_challenge_is_a_failed_login() -> None:
    client_security(sasl_settings())  # a SASL client's options make the login report it
    authenticator = OAuthAuthenticator(sasl_oauth_token_provider=OneToken())
    first = await authenticator.step(None)
    assert first is not None and b"auth=Bearer a.b.c" in first[0]
    with pytest.raises(BrokerRefusedToken, match="invalid_token") as refused:
        await authenticator.step(b'{"status":"invalid_token"}')
    # A connection error to aiokafka: it closes the connection and tries again later.
    assert isinstance(refused.value, KafkaConnectionError)


async def test_an_accepting_brokers_empty_answer_ends_the_login() -> None:
    report_refused_tokens()
    report_refused_tokens()  # once is enough; twice changes nothing
    authenticator = OAuthAuthenticator(sasl_oauth_token_provider=OneToken())
    await authenticator.step(None)
    assert await authenticator.step(b"") is None
