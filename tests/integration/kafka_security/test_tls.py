"""The TLS listener (SASL_SSL) that compose's services and agency systems use.

The secured broker's ``TLS`` listener has a certificate from ``infra.tls`` (its CA in the
broker's temporary folder) and the same OAUTHBEARER login and ACLs as the SASL listener.
A service client built by ``shared.kafka.security.client_security`` with
``LT_KAFKA_SECURITY_PROTOCOL=SASL_SSL`` and ``LT_KAFKA_SSL_CAFILE`` produces and consumes
over it; a client that does not trust the CA, and a client that does not speak TLS, get
no session.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from infra.keycloak.realm import dev_client_secret
from infra.tls import TlsFiles
from infra.tls import ensure as ensure_tls
from shared.events.commands import CommandRefused
from shared.events.registry import make_envelope
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.topics import DOSSIER_EVENTS, agency_events, topic_name
from tests.integration.kafka_security.conftest import SecuredBroker

ROOT = Path(__file__).resolve().parents[3]
DISTRICT = "000.00.31.H59"


def probe() -> bytes:
    """A well-formed fact no service acts on, about no real dossier (a fresh id each time)."""
    return make_envelope(
        CommandRefused(
            dossier_code="tls-probe",
            command_id="tls-probe",
            command_type="probe",
            code="probe",
            reason="TLS listener test",
            refused_at=datetime.now(UTC),
        ),
        source="/tests/tls-probe",
    ).to_bytes()


async def write(settings: KafkaSettings, value: bytes) -> tuple[int, int]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=10000,
        **client_security(settings),
    )
    await producer.start()
    try:
        topic = topic_name(settings.topic_prefix, DOSSIER_EVENTS)
        sent = await producer.send_and_wait(topic, value, key=b"tls-probe")
        return sent.partition, sent.offset
    finally:
        await producer.stop()


async def read_at(settings: KafkaSettings, partition: int, offset: int) -> bytes | None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        **client_security(settings),
    )
    await consumer.start()
    try:
        assigned = TopicPartition(topic_name(settings.topic_prefix, DOSSIER_EVENTS), partition)
        consumer.assign([assigned])
        consumer.seek(assigned, offset)
        for _ in range(40):  # bounded: the record is there already
            records = (await consumer.getmany(assigned, timeout_ms=500)).get(assigned)
            if records:
                return bytes(records[0].value)
        return None
    finally:
        await consumer.stop()


async def handshake(port: int, context: ssl.SSLContext) -> None:
    """A bare TLS handshake with the listener, checking the name 127.0.0.1."""
    _, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"),
        timeout=10,
    )
    writer.close()
    await writer.wait_closed()


async def test_a_service_produces_and_consumes_over_tls_with_its_token(
    secured_broker: SecuredBroker,
) -> None:
    intake, routing = (secured_broker.as_tls_client(p) for p in ("intake", "routing"))
    value = probe()
    partition, offset = await write(intake, value)
    assert await read_at(routing, partition, offset) == value


async def test_a_client_that_does_not_trust_the_ca_gets_no_session(
    secured_broker: SecuredBroker, tmp_path: Path
) -> None:
    port = secured_broker.ports.tls
    assert port is not None
    other = TlsFiles(tmp_path, tmp_path)  # another CA, as an attacker's or a stale one
    ensure_tls(other, ["127.0.0.1"])
    await handshake(port, ssl.create_default_context(cafile=secured_broker.tls.ca_cert))
    for refused in (ssl.create_default_context(cafile=other.ca_cert), ssl.create_default_context()):
        with pytest.raises(ssl.SSLCertVerificationError):
            await handshake(port, refused)
    # The service client (LT_KAFKA_SSL_CAFILE naming the wrong CA) does not connect at all.
    with pytest.raises(KafkaConnectionError):
        await write(secured_broker.as_tls_client("intake", cafile=other.ca_cert), probe())


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "PLAINTEXT"])
async def test_the_tls_listener_refuses_a_client_without_tls(
    secured_broker: SecuredBroker, protocol: str
) -> None:
    plain = secured_broker.as_tls_client("intake").model_copy(
        update={"security_protocol": protocol, "ssl_cafile": None}
    )
    with pytest.raises(KafkaConnectionError):
        await write(plain, probe())


async def test_the_example_agency_client_logs_in_over_tls_with_the_deployments_ca(
    secured_broker: SecuredBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/agency_client.py --ca-file: what an agency system of another unit runs."""
    spec = importlib.util.spec_from_file_location(
        "agency_client", ROOT / "examples" / "agency_client.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, example)  # its dataclasses look it up
    spec.loader.exec_module(example)
    bootstrap = f"127.0.0.1:{secured_broker.ports.tls}"
    args = example.parse_args(
        [
            "--unit",
            DISTRICT,
            "--bootstrap",
            bootstrap,
            "--ca-file",
            str(secured_broker.tls.ca_cert),
            "--client-secret",
            dev_client_secret(f"agency-{DISTRICT}"),
            "--token-url",
            secured_broker.issuer.token_url,
        ]
    )
    login = example.security(args)
    assert login["security_protocol"] == "SASL_SSL"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **login)
    await consumer.start()  # TLS with the CA, then its token: the broker knows it
    try:
        # It may describe its own feed (an ACL of its principal, so it was authenticated),
        # not the events topic of every unit.
        topics = await consumer.topics()
        assert topic_name(secured_broker.prefix, agency_events(DISTRICT)) in topics
        assert topic_name(secured_broker.prefix, DOSSIER_EVENTS) not in topics
    finally:
        await consumer.stop()
