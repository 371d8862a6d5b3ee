"""Who may use which topic and group on a secured broker, and the tool that provisions it.

Principals are Keycloak client ids (the broker takes them from the token's ``azp``):
the four services, and one agency system per unit (``agency-<unit code>``).

* A service may write the topics it publishes, read the topics it consumes, write dead
  letters, and use its own consumer group (one per service); nothing else. In
  particular only intake may write ``applicant.contacts``, only notification read it.
* An agency may read its own feed ``dossier.events.<unit>`` (the facts of the dossiers
  its unit is party to, which intake and routing copy there: docs/design.md "Agency
  feeds"), and not ``dossier.events`` (every unit's dossiers); write its own commands
  topic ``dossier.commands.<unit>`` (which routing holds to that unit); and use consumer
  groups named ``agency-<unit>...``. Intake and routing write every agency's feed.
* The operations console (Keycloak client ``console``) may read the dead letters,
  describe every topic and the services' groups (consumer lag), and write back the
  topics a replay puts a dead letter on, except the contacts topic and the agencies'
  commands topics: a replayed command would speak for an agency, so those dead
  letters are replayed by the agency itself.

Services do not create topics where this runs (``LT_KAFKA_CREATE_TOPICS=false``): the
administrator does, with the ACLs, over the broker's local super-user listener::

    python -m infra.kafka_access --bootstrap 127.0.0.1:9092 [--prefix P] [--replication-factor N]

It also removes the ALLOWs on the platform's topics that this policy no longer grants
to its principals (``stale_bindings``): creating ACLs never removes one, and a broker
provisioned by an older version would keep, say, every agency's read of
``dossier.events`` (granted until contracts 4.0.0).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

from infra.keycloak.realm import agency_client_id, catalogue_units
from shared.topics import (
    ALIGNED_CONFIGS,
    ALL_TOPICS,
    APPLICANT_CONTACTS,
    AUDIT_EVENTS,
    CONSOLE_REPLAY_TOPICS,
    DEAD_LETTERS,
    DOSSIER_EVENTS,
    NOTIFICATION_EVENTS,
    OPERATIONS_EVENTS,
    TopicSpec,
    agency_commands,
    agency_events,
    agency_topics,
    topic_name,
)

WRITE, READ, DESCRIBE = AclOperation.WRITE, AclOperation.READ, AclOperation.DESCRIBE


@dataclass(frozen=True)
class ServiceAccess:
    """What one service publishes and consumes."""

    writes: tuple[TopicSpec, ...]
    reads: tuple[TopicSpec, ...]


def service_access(units: Iterable[str]) -> dict[str, ServiceAccess]:
    """Each service's topics (routing reads every agency's commands topic; intake and
    routing, which emit dossier facts, write every agency's feed)."""
    units = list(units)
    agencies = tuple(agency_commands(unit) for unit in units)
    feeds = tuple(agency_events(unit) for unit in units)
    return {
        # Intake and notification record the data subject requests they answer.
        "intake": ServiceAccess(
            (DOSSIER_EVENTS, APPLICANT_CONTACTS, OPERATIONS_EVENTS, *feeds), (DOSSIER_EVENTS,)
        ),
        "routing": ServiceAccess((DOSSIER_EVENTS, *feeds), (DOSSIER_EVENTS, *agencies)),
        # Both read the operators' facts: redelivery requests, replays to log.
        "notification": ServiceAccess(
            (NOTIFICATION_EVENTS, OPERATIONS_EVENTS),
            (DOSSIER_EVENTS, NOTIFICATION_EVENTS, APPLICANT_CONTACTS, OPERATIONS_EVENTS),
        ),
        "audit": ServiceAccess(
            (AUDIT_EVENTS,), (DOSSIER_EVENTS, NOTIFICATION_EVENTS, OPERATIONS_EVENTS)
        ),
    }


def _allow(
    principal: str,
    resource: ResourceType,
    name: str,
    operation: AclOperation,
    pattern: ResourcePatternType = ResourcePatternType.LITERAL,
) -> AclBinding:
    return AclBinding(
        resource, name, pattern, f"User:{principal}", "*", operation, AclPermissionType.ALLOW
    )


CONSOLE = "console"


def _topic(principal: str, prefix: str, spec: TopicSpec, operation: AclOperation) -> AclBinding:
    return _allow(principal, ResourceType.TOPIC, topic_name(prefix, spec), operation)


def acl_bindings(prefix: str, units: Iterable[str]) -> list[AclBinding]:
    """Every ALLOW the platform needs; everything else is denied."""
    units = list(units)
    bindings: list[AclBinding] = []
    for service, access in service_access(units).items():
        for spec in (*access.writes, DEAD_LETTERS):
            bindings += [
                _topic(service, prefix, spec, WRITE),
                _topic(service, prefix, spec, DESCRIBE),
            ]
        for spec in access.reads:
            bindings += [
                _topic(service, prefix, spec, READ),
                _topic(service, prefix, spec, DESCRIBE),
            ]
        bindings.append(_allow(service, ResourceType.GROUP, f"{prefix}{service}", READ))
    for unit in units:
        agency = agency_client_id(unit)
        own, feed = agency_commands(unit), agency_events(unit)
        bindings += [
            _topic(agency, prefix, feed, READ),
            _topic(agency, prefix, feed, DESCRIBE),
            _topic(agency, prefix, own, WRITE),
            _topic(agency, prefix, own, DESCRIBE),
            _allow(
                agency, ResourceType.GROUP, f"{prefix}{agency}", READ, ResourcePatternType.PREFIXED
            ),
        ]
    bindings += console_bindings(prefix, units)
    return list(dict.fromkeys(bindings))  # a topic both written and read: one DESCRIBE


def console_bindings(prefix: str, units: list[str]) -> list[AclBinding]:
    """The console: dead letters, lag of the services' groups, replays (module docstring)."""
    bindings = [
        _topic(CONSOLE, prefix, DEAD_LETTERS, READ),
        *(_topic(CONSOLE, prefix, spec, DESCRIBE) for spec in all_topics(units)),
        *(_topic(CONSOLE, prefix, spec, WRITE) for spec in CONSOLE_REPLAY_TOPICS),
    ]
    for service in service_access(units):
        bindings.append(_allow(CONSOLE, ResourceType.GROUP, f"{prefix}{service}", DESCRIBE))
    return bindings


def all_topics(units: Iterable[str]) -> list[TopicSpec]:
    """The platform's topics and each unit's commands topic and feed."""
    return [*ALL_TOPICS, *agency_topics(units)]


def provision_topics(
    admin: AdminClient, prefix: str, specs: Iterable[TopicSpec], replication_factor: int = 1
) -> list[str]:
    """Create the missing topics; set ``ALIGNED_CONFIGS`` (``segment.ms``) on the existing
    ones, incrementally (their other configs untouched). Returns the topics aligned."""
    existing = set(admin.list_topics(timeout=15).topics)
    specs = list(specs)
    wanted = [
        NewTopic(
            topic_name(prefix, spec), spec.partitions, replication_factor, config=spec.configs()
        )
        for spec in specs
        if topic_name(prefix, spec) not in existing
    ]
    for future in admin.create_topics(wanted).values() if wanted else []:
        future.result()
    present = [spec for spec in specs if topic_name(prefix, spec) in existing]
    changes = [
        ConfigResource(
            "topic",
            topic_name(prefix, spec),
            incremental_configs=[
                ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
                for name, value in spec.configs().items()
                if name in ALIGNED_CONFIGS
            ],
        )
        for spec in present
    ]
    for future in admin.incremental_alter_configs(changes).values() if changes else []:
        future.result()
    return [change.name for change in changes]


def _key(b: AclBinding) -> tuple[object, ...]:
    return (b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation)


def managed_principals(units: Iterable[str]) -> set[str]:
    """The principals this policy speaks for: the services, the console, the agencies."""
    names = [*service_access(units), CONSOLE, *(agency_client_id(u) for u in units)]
    return {f"User:{name}" for name in names}


def stale_bindings(
    present: Iterable[AclBinding], prefix: str, units: Iterable[str]
) -> list[AclBinding]:
    """The ALLOWs on the platform's topics (this prefix's) that the policy no longer
    grants to a principal it speaks for: left by an older version's provisioning (until
    4.0.0 every agency read ``dossier.events``), they must go, since creating ACLs
    never removes any. Other principals' ACLs and other prefixes' topics are left alone."""
    units = list(units)
    wanted = {_key(b) for b in acl_bindings(prefix, units)}
    topics = {topic_name(prefix, spec) for spec in all_topics(units)}
    principals = managed_principals(units)
    return [
        b
        for b in present
        if b.restype == ResourceType.TOPIC
        and b.name in topics
        and b.permission_type == AclPermissionType.ALLOW
        and b.principal in principals
        and _key(b) not in wanted
    ]


def remove_stale_acls(admin: AdminClient, prefix: str, units: Iterable[str]) -> list[AclBinding]:
    """Delete ``stale_bindings`` from the broker; returns them."""
    anything: Any = None  # a filter's None matches any value (the stubs say str)
    everything = AclBindingFilter(
        ResourceType.TOPIC,
        anything,
        ResourcePatternType.ANY,
        anything,
        anything,
        AclOperation.ANY,
        AclPermissionType.ALLOW,
    )
    stale = stale_bindings(admin.describe_acls(everything).result(), prefix, units)
    delete_bindings(admin, stale)
    return stale


def delete_bindings(admin: AdminClient, bindings: list[AclBinding]) -> None:
    """Delete exactly these ACLs (a filter naming each one's every field)."""
    filters = [
        AclBindingFilter(
            b.restype,
            b.name,
            b.resource_pattern_type,
            b.principal,
            b.host,
            b.operation,
            b.permission_type,
        )
        for b in bindings
    ]
    for future in admin.delete_acls(filters).values() if filters else []:
        future.result()


def provision(
    bootstrap: str,
    prefix: str = "",
    units: Iterable[str] | None = None,
    replication_factor: int = 1,
) -> int:
    """Create the missing topics and the ACLs, and remove the ALLOWs on the platform's
    topics that the policy no longer grants (``stale_bindings``); idempotent. Returns
    the ACL count."""
    units = catalogue_units() if units is None else list(units)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    provision_topics(admin, prefix, all_topics(units), replication_factor)
    bindings = acl_bindings(prefix, units)
    for future in admin.create_acls(bindings).values():
        future.result()
    for binding in remove_stale_acls(admin, prefix, units):
        print(f"[kafka-access] removed {binding}", file=sys.stderr)
    return len(bindings)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Create topics and ACLs on a secured broker.")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="a super-user listener")
    parser.add_argument("--prefix", default="", help="topic prefix (LT_KAFKA_TOPIC_PREFIX)")
    parser.add_argument(
        "--replication-factor", type=int, default=1, help="replicas of each topic (3 on a cluster)"
    )
    args = parser.parse_args(argv[1:])
    try:
        count = provision(args.bootstrap, args.prefix, replication_factor=args.replication_factor)
    except KafkaException as exc:
        print(f"[kafka-access] {exc}", file=sys.stderr)
        return 1
    print(f"[kafka-access] topics present, {count} ACLs in place on {args.bootstrap}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
