"""A secured broker of the tests' own: SASL/OAUTHBEARER against the real Keycloak, ACLs on.

Started once for this folder's tests on free ports (``infra.kafka_security``, the same
configuration ``make run`` and compose use), with the TLS listener compose's clients use
(SASL_SSL; its CA and certificate made by ``infra.tls`` in the broker's temporary
folder), provisioned with the platform's topics and
ACLs (``infra.kafka_access``) under a fresh topic prefix, stopped afterwards. The
shared plaintext broker on 9092 is not touched. Clients log in with the realm's
development client secrets (``infra/keycloak/realm.py``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from infra.kafka_access import provision
from infra.kafka_security import BrokerPorts, OAuthIssuer, start_broker
from infra.keycloak.realm import dev_client_secret
from infra.processes import stop
from infra.tls import TlsFiles
from infra.tls import ensure as ensure_tls
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.testing import free_port
from shared.topics import DOSSIER_EVENTS, topic_name


@dataclass(frozen=True)
class SecuredBroker:
    ports: BrokerPorts
    issuer: OAuthIssuer
    prefix: str
    tls: TlsFiles

    def as_client(self, client_id: str, secret: str | None = None) -> KafkaSettings:
        """Settings of a client logging in as ``client_id`` (its development secret)."""
        return KafkaSettings(
            bootstrap_servers=f"127.0.0.1:{self.ports.sasl}",
            topic_prefix=self.prefix,
            client_id=f"test-{client_id}",
            security_protocol="SASL_PLAINTEXT",
            oauth_token_url=self.issuer.token_url,
            oauth_client_id=client_id,
            oauth_client_secret=SecretStr(secret or dev_client_secret(client_id)),
            create_topics=False,
            request_timeout_ms=10000,
        )

    def as_tls_client(self, client_id: str, cafile: Path | None = None) -> KafkaSettings:
        """The same login over the TLS listener, trusting ``cafile`` (the broker's CA by
        default): what a compose service has (LT_KAFKA_SECURITY_PROTOCOL=SASL_SSL)."""
        assert self.ports.tls is not None
        return self.as_client(client_id).model_copy(
            update={
                "bootstrap_servers": f"127.0.0.1:{self.ports.tls}",
                "security_protocol": "SASL_SSL",
                "ssl_cafile": str(cafile or self.tls.ca_cert),
            }
        )

    def local(self) -> KafkaSettings:
        """The super-user listener: what the test itself reads to check outcomes."""
        return KafkaSettings(
            bootstrap_servers=f"127.0.0.1:{self.ports.local}",
            topic_prefix=self.prefix,
            security_protocol="PLAINTEXT",
            create_topics=False,
        )


async def _answers(port: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000)
    await producer.start()
    await producer.stop()


@pytest.fixture(scope="package")
def secured_broker() -> Iterator[SecuredBroker]:
    keycloak = int(os.environ.get("LT_KEYCLOAK_PORT", "8180"))
    issuer = OAuthIssuer(f"http://127.0.0.1:{keycloak}")
    ports = BrokerPorts(
        local=free_port(), sasl=free_port(), controller=free_port(), tls=free_port()
    )
    home = Path(tempfile.mkdtemp(prefix="lt-secured-broker-"))
    tls = TlsFiles(home / "tls", home / "tls-ca")
    ensure_tls(tls, ["localhost", "127.0.0.1"])
    proc = start_broker(ports, issuer, home, keystore=tls.broker)
    try:
        asyncio.run(_wait_until_up(ports.local, proc))
        prefix = f"s{secrets.token_hex(3)}."
        provision(f"127.0.0.1:{ports.local}", prefix)
        broker = SecuredBroker(ports, issuer, prefix, tls)
        asyncio.run(_wait_until_acls_apply(broker))
        yield broker
    finally:
        stop({"broker": proc}, timeout_s=60)
        shutil.rmtree(home, ignore_errors=True)


async def _wait_until_acls_apply(broker: SecuredBroker, timeout: float = 60) -> None:
    """The broker applies new ACLs shortly after the controller accepted them: wait until
    a service sees its own topic (an ALLOW), so no test reads a stale authorizer."""
    settings = broker.as_client("intake")
    topic = topic_name(broker.prefix, DOSSIER_EVENTS)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, **client_security(settings)
        )
        await consumer.start()
        try:
            if topic in await consumer.topics():
                return
        finally:
            await consumer.stop()
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the broker did not apply the ACLs")
        await asyncio.sleep(0.5)


async def _wait_until_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Until the broker answers on its local listener (it logs to its home's broker.out)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError("the secured broker exited at start")
        try:
            await _answers(port)
            return
        except (KafkaError, OSError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
