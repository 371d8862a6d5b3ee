"""Who may use which topic on the secured broker: each principal its own, nothing else.

Every client logs in to Keycloak with client credentials and presents the token over
SASL/OAUTHBEARER; the broker validates it against the realm's keys and applies the
ACLs of ``infra.kafka_access``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from shared.events.commands import CommandRefused
from shared.events.registry import make_envelope
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.topics import (
    APPLICANT_CONTACTS,
    AUDIT_EVENTS,
    DOSSIER_EVENTS,
    NOTIFICATION_EVENTS,
    OPERATIONS_EVENTS,
    TopicSpec,
    agency_commands,
    agency_events,
    topic_name,
)
from tests.integration.kafka_security.conftest import SecuredBroker

DISTRICT, DESK = "000.00.31.H59", "001.21.31.H59"
# What the probes write: a well-formed fact no service acts on, about no real dossier, so
# the other tests sharing this broker can read these topics undisturbed.
PROBE = make_envelope(
    CommandRefused(
        dossier_code="probe",
        command_id="probe",
        command_type="probe",
        code="probe",
        reason="access test",
        refused_at=datetime.now(UTC),
    ),
    source="/tests/acl-probe",
).to_bytes()


async def can_write(settings: KafkaSettings, spec: TopicSpec) -> bool:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=10000,
        **client_security(settings),
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(settings.topic_prefix, spec), PROBE, key=b"probe")
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await producer.stop()


async def can_read(
    broker: SecuredBroker, settings: KafkaSettings, spec: TopicSpec, group: str | None = None
) -> bool:
    """Fetch the record the test put first on partition 0 (in ``group`` if given, and
    commit there): True once it arrives, False when the broker hides the topic or
    refuses the fetch or the commit."""
    partition = TopicPartition(topic_name(settings.topic_prefix, spec), 0)
    await seed(broker, spec)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        **client_security(settings),
    )
    await consumer.start()
    try:
        if partition.topic not in await consumer.topics():
            return False  # not even DESCRIBE: the broker hides the topic from this principal
        consumer.assign([partition])
        consumer.seek(partition, 0)
        for _ in range(40):  # bounded: a record or a refusal comes within a few polls
            if (await consumer.getmany(partition, timeout_ms=500)).get(partition):
                break
        else:
            raise AssertionError(f"neither a record nor a refusal from {partition.topic}")
        if group is not None:
            await consumer.commit({partition: 1})
        return True
    except (TopicAuthorizationFailedError, GroupAuthorizationFailedError):
        return False
    finally:
        await consumer.stop()


async def seed(broker: SecuredBroker, spec: TopicSpec) -> None:
    """One record on partition 0, written through the super-user listener."""
    local = broker.local()
    producer = AIOKafkaProducer(bootstrap_servers=local.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_name(local.topic_prefix, spec), PROBE, key=b"probe", partition=0
        )
    finally:
        await producer.stop()


@pytest.mark.parametrize(
    ("principal", "spec", "allowed"),
    [
        ("intake", APPLICANT_CONTACTS, True),
        ("intake", DOSSIER_EVENTS, True),
        ("routing", APPLICANT_CONTACTS, False),
        ("routing", DOSSIER_EVENTS, True),
        ("notification", NOTIFICATION_EVENTS, True),
        ("notification", DOSSIER_EVENTS, False),
        ("audit", AUDIT_EVENTS, True),
        ("audit", DOSSIER_EVENTS, False),
        # Intake and notification record the data subject requests they answer.
        ("intake", OPERATIONS_EVENTS, True),
        ("notification", OPERATIONS_EVENTS, True),
        ("routing", OPERATIONS_EVENTS, False),
        (f"agency-{DISTRICT}", agency_commands(DISTRICT), True),
        (f"agency-{DISTRICT}", agency_commands(DESK), False),
        (f"agency-{DISTRICT}", DOSSIER_EVENTS, False),
        (f"agency-{DISTRICT}", APPLICANT_CONTACTS, False),
        # The feeds: written by the services that emit dossier facts, not by agencies.
        ("intake", agency_events(DISTRICT), True),
        ("routing", agency_events(DESK), True),
        ("notification", agency_events(DISTRICT), False),
        (f"agency-{DISTRICT}", agency_events(DISTRICT), False),
    ],
)
async def test_each_principal_writes_only_its_own_topics(
    secured_broker: SecuredBroker, principal: str, spec: TopicSpec, allowed: bool
) -> None:
    assert await can_write(secured_broker.as_client(principal), spec) is allowed


@pytest.mark.parametrize(
    ("principal", "spec", "allowed"),
    [
        ("notification", APPLICANT_CONTACTS, True),  # the one reader of contacts
        ("intake", APPLICANT_CONTACTS, False),
        ("routing", APPLICANT_CONTACTS, False),
        ("audit", APPLICANT_CONTACTS, False),
        (f"agency-{DISTRICT}", APPLICANT_CONTACTS, False),
        (f"agency-{DISTRICT}", agency_events(DISTRICT), True),  # the facts it is party to
        (f"agency-{DISTRICT}", DOSSIER_EVENTS, False),  # every unit's: no longer
        (f"agency-{DISTRICT}", agency_events(DESK), False),  # another agency's feed
        ("notification", agency_events(DISTRICT), False),
        (f"agency-{DISTRICT}", NOTIFICATION_EVENTS, False),
        (f"agency-{DISTRICT}", agency_commands(DESK), False),
        ("routing", agency_commands(DESK), True),
        ("audit", NOTIFICATION_EVENTS, True),
    ],
)
async def test_each_principal_reads_only_what_it_needs(
    secured_broker: SecuredBroker, principal: str, spec: TopicSpec, allowed: bool
) -> None:
    assert await can_read(secured_broker, secured_broker.as_client(principal), spec) is allowed


async def test_a_principal_uses_only_its_own_consumer_group(
    secured_broker: SecuredBroker,
) -> None:
    prefix = secured_broker.prefix
    audit = secured_broker.as_client("audit")
    broker = secured_broker
    assert await can_read(broker, audit, DOSSIER_EVENTS, group=f"{prefix}audit")
    assert not await can_read(broker, audit, DOSSIER_EVENTS, group=f"{prefix}notification")
    agency = secured_broker.as_client(f"agency-{DISTRICT}")
    inbox = f"{prefix}agency-{DISTRICT}-inbox"
    feed = agency_events(DISTRICT)
    assert await can_read(broker, agency, feed, group=inbox)
    assert not await can_read(broker, agency, feed, group=f"{prefix}agency-{DESK}")


async def test_a_wrong_secret_gets_no_token_and_plaintext_gets_no_session(
    secured_broker: SecuredBroker, caplog: pytest.LogCaptureFixture
) -> None:
    # A connection failure to aiokafka (it retries those), whose log says why.
    with pytest.raises(KafkaConnectionError):
        await can_write(secured_broker.as_client("intake", secret="not-the-secret"), DOSSIER_EVENTS)
    assert "token request for intake refused: 401" in caplog.text
    unauthenticated = secured_broker.as_client("intake").model_copy(
        update={"security_protocol": "PLAINTEXT"}
    )
    with pytest.raises(KafkaConnectionError):
        await can_write(unauthenticated, DOSSIER_EVENTS)
