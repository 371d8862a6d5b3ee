"""The broker's access policy, checked without a broker: who may touch which topic.

The same bindings are applied to a real secured broker in
tests/integration/kafka_security; here the policy itself is read.
"""

from __future__ import annotations

from pathlib import Path

from confluent_kafka.admin._acl import AclBinding, AclOperation, AclPermissionType
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

from infra.kafka_access import acl_bindings, all_topics, stale_bindings
from infra.kafka_security import BrokerPorts, OAuthIssuer, broker_properties
from infra.keycloak.realm import build_realm, catalogue_units
from shared.topics import (
    APPLICANT_CONTACTS,
    DOSSIER_COMMANDS,
    DOSSIER_EVENTS,
    OPERATIONS_EVENTS,
    agency_commands,
    agency_events,
)

PREFIX = "p."
UNITS = catalogue_units()
BINDINGS = acl_bindings(PREFIX, UNITS)


def principals(topic: str, operation: AclOperation) -> set[str]:
    return {
        b.principal
        for b in BINDINGS
        if b.restype == ResourceType.TOPIC and b.name == topic and b.operation == operation
    }


def test_only_intake_writes_and_only_notification_reads_the_contacts() -> None:
    topic = f"{PREFIX}{APPLICANT_CONTACTS.name}"
    assert principals(topic, AclOperation.WRITE) == {"User:intake"}
    assert principals(topic, AclOperation.READ) == {"User:notification"}


def test_operations_facts_are_written_by_the_console_and_the_subject_access_services() -> None:
    """Intake and notification record the data subject requests they answer there."""
    topic = f"{PREFIX}{OPERATIONS_EVENTS.name}"
    assert principals(topic, AclOperation.WRITE) == {
        "User:console",
        "User:intake",
        "User:notification",
    }
    assert principals(topic, AclOperation.READ) == {"User:notification", "User:audit"}


def test_an_agency_topic_is_written_by_its_agency_alone_and_read_by_routing() -> None:
    for unit in UNITS:
        topic = f"{PREFIX}{agency_commands(unit).name}"
        assert principals(topic, AclOperation.WRITE) == {f"User:agency-{unit}"}
        assert principals(topic, AclOperation.READ) == {"User:routing"}


def test_an_agency_reads_its_own_feed_alone_and_not_every_units_facts() -> None:
    """Each feed is read by its agency alone, written by the services that emit dossier
    facts; no agency may read dossier.events, which holds every unit's dossiers."""
    for unit in UNITS:
        feed = f"{PREFIX}{agency_events(unit).name}"
        assert principals(feed, AclOperation.READ) == {f"User:agency-{unit}"}
        assert principals(feed, AclOperation.WRITE) == {"User:intake", "User:routing"}
        assert f"User:agency-{unit}" in principals(feed, AclOperation.DESCRIBE)
    events = f"{PREFIX}{DOSSIER_EVENTS.name}"
    readers = principals(events, AclOperation.READ) | principals(events, AclOperation.DESCRIBE)
    assert not {p for p in readers if p.startswith("User:agency-")}


def test_nobody_may_write_the_shared_commands_topic() -> None:
    assert principals(f"{PREFIX}{DOSSIER_COMMANDS.name}", AclOperation.WRITE) == set()


def test_every_topic_named_by_an_acl_is_provisioned_and_nothing_is_a_wildcard() -> None:
    topics = {f"{PREFIX}{spec.name}" for spec in all_topics(UNITS)}
    named = {b.name for b in BINDINGS if b.restype == ResourceType.TOPIC}
    assert named <= topics
    assert all("*" not in b.name and b.principal != "User:*" for b in BINDINGS)


def test_no_keycloak_client_can_become_the_local_super_user() -> None:
    """ANONYMOUS is a super user for the local listener only: no token may carry it."""
    client_ids = {client["clientId"] for client in build_realm()["clients"]}
    assert "ANONYMOUS" not in {c.upper() for c in client_ids}


def test_the_broker_validates_tokens_itself_and_denies_by_default() -> None:
    issuer = OAuthIssuer("http://127.0.0.1:8180")
    properties = broker_properties(BrokerPorts(9092, 9094, 9093), issuer, Path("/d"))
    lines = set(properties.splitlines())
    assert f"sasl.oauthbearer.jwks.endpoint.url={issuer.jwks_url}" in lines
    assert "sasl.oauthbearer.expected.audience=lienthong" in lines
    assert f"sasl.oauthbearer.expected.issuer={issuer.issuer}" in lines
    assert "allow.everyone.if.no.acl.found=false" in lines
    assert "super.users=User:ANONYMOUS" in lines
    protocols = "CONTROLLER:PLAINTEXT,LOCAL:PLAINTEXT,SASL:SASL_PLAINTEXT"
    assert f"listener.security.protocol.map={protocols}" in lines


def test_the_console_reads_dead_letters_and_replays_without_speaking_for_anyone() -> None:
    """Replays may not write contacts or an agency's commands (it would act as the agency)."""
    from shared.topics import DEAD_LETTERS, DOSSIER_EVENTS

    assert "User:console" in principals(f"{PREFIX}{DEAD_LETTERS.name}", AclOperation.READ)
    assert "User:console" in principals(f"{PREFIX}{DOSSIER_EVENTS.name}", AclOperation.WRITE)
    assert "User:console" not in principals(
        f"{PREFIX}{APPLICANT_CONTACTS.name}", AclOperation.WRITE
    )
    assert "User:console" not in principals(f"{PREFIX}{APPLICANT_CONTACTS.name}", AclOperation.READ)
    groups = {
        b.name
        for b in BINDINGS
        if b.principal == "User:console" and b.restype == ResourceType.GROUP
    }
    # One group per service: notification's portal connector reads with its planning.
    assert groups == {f"{PREFIX}{g}" for g in ("intake", "routing", "notification", "audit")}
    assert all(
        b.operation == AclOperation.DESCRIBE
        for b in BINDINGS
        if b.principal == "User:console" and b.restype == ResourceType.GROUP
    )


def test_provisioning_removes_the_grants_an_older_policy_gave() -> None:
    """Until 4.0.0 every agency read dossier.events; creating ACLs never removes any, so
    a broker provisioned before kept that grant. Provisioning names it stale (to delete),
    and leaves alone what the policy grants, other prefixes' topics, other principals."""
    unit = UNITS[0]

    def allow(principal: str, topic: str, operation: AclOperation) -> AclBinding:
        return AclBinding(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            f"User:{principal}",
            "*",
            operation,
            AclPermissionType.ALLOW,
        )

    old_read = allow(f"agency-{unit}", f"{PREFIX}{DOSSIER_EVENTS.name}", AclOperation.READ)
    old_describe = allow(f"agency-{unit}", f"{PREFIX}{DOSSIER_EVENTS.name}", AclOperation.DESCRIBE)
    kept = [
        *BINDINGS,
        allow(f"agency-{unit}", f"other.{DOSSIER_EVENTS.name}", AclOperation.READ),
        allow("someone-else", f"{PREFIX}{DOSSIER_EVENTS.name}", AclOperation.READ),
    ]
    assert stale_bindings([*kept, old_read, old_describe], PREFIX, UNITS) == [
        old_read,
        old_describe,
    ]
