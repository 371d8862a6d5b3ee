"""Provisioning removes, on the real broker, a grant an older policy gave: until 4.0.0
every agency read ``dossier.events``, and creating ACLs never removes one, so a broker
provisioned before kept it (the devstack broker did: every agency read every unit's
facts). Over the local super-user listener, under a prefix of its own."""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

from infra.kafka_access import delete_bindings, provision
from shared.testing import drop_isolated, eventually, isolated_settings
from shared.topics import DOSSIER_EVENTS, agency_events, topic_name

UNIT = "000.00.31.H59"
AGENCY = f"User:agency-{UNIT}"
ANY: Any = None  # a filter's None matches any value


def _on_topic(name: str) -> AclBindingFilter:
    return AclBindingFilter(
        ResourceType.TOPIC,
        name,
        ResourcePatternType.LITERAL,
        ANY,
        ANY,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def _operations(admin: AdminClient, topic: str) -> set[AclOperation]:
    found = admin.describe_acls(_on_topic(topic)).result()
    return {b.operation for b in found if b.principal == AGENCY}


async def test_provisioning_removes_an_agencys_old_grant_on_every_units_facts() -> None:
    kafka, mongo = isolated_settings()
    prefix = kafka.topic_prefix
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    everyone, feed = topic_name(prefix, DOSSIER_EVENTS), topic_name(prefix, agency_events(UNIT))
    old = [
        AclBinding(
            ResourceType.TOPIC,
            everyone,
            ResourcePatternType.LITERAL,
            AGENCY,
            "*",
            operation,
            AclPermissionType.ALLOW,
        )
        for operation in (AclOperation.READ, AclOperation.DESCRIBE)
    ]
    try:
        for future in admin.create_acls(old).values():
            future.result()
        assert _operations(admin, everyone) == {AclOperation.READ, AclOperation.DESCRIBE}

        provision(kafka.bootstrap_servers, prefix, [UNIT])

        async def gone() -> bool:
            return not _operations(admin, everyone)

        await eventually(gone)
        assert _operations(admin, feed) == {AclOperation.READ, AclOperation.DESCRIBE}
        provision(kafka.bootstrap_servers, prefix, [UNIT])  # idempotent: nothing left to remove
        assert _operations(admin, feed) == {AclOperation.READ, AclOperation.DESCRIBE}
    finally:
        mine = [
            b
            for b in admin.describe_acls(
                AclBindingFilter(
                    ResourceType.ANY,
                    ANY,
                    ResourcePatternType.ANY,
                    ANY,
                    ANY,
                    AclOperation.ANY,
                    AclPermissionType.ANY,
                )
            ).result()
            if b.name.startswith(prefix)
        ]
        delete_bindings(admin, mine)
        await drop_isolated(kafka, mongo)
