"""Which tokens open a session on the secured broker: the realm's access tokens alone.

The broker must check a token's signature against the realm's keys, its issuer and its
audience, as the README says, before it takes the token's ``azp`` as the principal:
otherwise anyone could name any principal, ``ANONYMOUS`` (the super user) included.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.abc import AbstractTokenProvider
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.admin import SaslAuthenticateRequest, SaslHandShakeRequest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.keycloak.realm import dev_client_secret
from shared.auth.identities import credentials
from shared.kafka.security import client_security
from tests.integration.kafka_security.conftest import SecuredBroker

AGENCY = "agency-000.00.31.H59"


async def authenticates(broker: SecuredBroker, token: str) -> bool:
    """Whether the SASL listener accepts this token: the OAUTHBEARER exchange (RFC 7628)
    done by hand, since aiokafka takes the server's error challenge for a success."""
    conn = await create_conn("127.0.0.1", broker.ports.sasl, request_timeout_ms=10000)
    try:
        handshake = await conn.send(SaslHandShakeRequest("OAUTHBEARER"))
        assert handshake.error_code == 0
        first = b"n,,\x01auth=Bearer " + token.encode() + b"\x01\x01"
        reply = await conn.send(SaslAuthenticateRequest(first))
        # Accepted: no error and nothing more to say; refused: an error or the server's
        # {"status": "invalid_token"} challenge.
        return bool(reply.error_code == 0 and not reply.sasl_auth_bytes)
    finally:
        conn.close()


def realm_token(broker: SecuredBroker, form: dict[str, str], kind: str = "access_token") -> str:
    response = httpx.post(broker.issuer.token_url, data=form, timeout=10)
    response.raise_for_status()
    token: str = response.json()[kind]
    return token


def agency_token(broker: SecuredBroker) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": AGENCY,
        "client_secret": dev_client_secret(AGENCY),
    }
    return realm_token(broker, form)


def signed_elsewhere(claims: dict[str, Any], kid: str) -> str:
    """The claims signed by a key of our own, under the realm's key id."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_the_realms_access_token_opens_a_session(secured_broker: SecuredBroker) -> None:
    assert await authenticates(secured_broker, agency_token(secured_broker))


async def test_a_token_the_realm_did_not_sign_gets_no_session(
    secured_broker: SecuredBroker,
) -> None:
    genuine = agency_token(secured_broker)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    for azp in ("ANONYMOUS", "routing", AGENCY):
        forged = signed_elsewhere({**claims, "azp": azp}, kid)
        assert not await authenticates(secured_broker, forged), azp
    now = int(time.time())
    stranger = {"iss": "https://idp.example/realms/x", "aud": "other", "azp": "ANONYMOUS"}
    forged = signed_elsewhere({**stranger, "sub": "x", "iat": now, "exp": now + 600}, "x")
    assert not await authenticates(secured_broker, forged)


async def test_a_realm_token_for_another_audience_gets_no_session(
    secured_broker: SecuredBroker,
) -> None:
    # The desk user's ID token: signed by the realm, but issued to lienthong-cli.
    form = {**credentials("desk").form(), "scope": "openid"}
    id_token = realm_token(secured_broker, form, kind="id_token")
    assert jwt.decode(id_token, options={"verify_signature": False})["aud"] != "lienthong"
    assert not await authenticates(secured_broker, id_token)


class FixedToken(AbstractTokenProvider):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token


async def test_a_client_whose_token_the_broker_refuses_does_not_start(
    secured_broker: SecuredBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """aiokafka alone logs "Authenticated" and starts; the platform's clients say why not."""
    form = {**credentials("desk").form(), "scope": "openid"}
    options = client_security(secured_broker.as_client("intake"))
    options["sasl_oauth_token_provider"] = FixedToken(realm_token(secured_broker, form, "id_token"))
    producer = AIOKafkaProducer(
        bootstrap_servers=f"127.0.0.1:{secured_broker.ports.sasl}", **options
    )
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await producer.start()
    await producer.stop()
    assert "the broker refused this client's token" in caplog.text
    assert "invalid_token" in caplog.text
