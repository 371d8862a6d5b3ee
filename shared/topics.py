"""Every Kafka topic the system uses, with partitions and retention, in one place.

Topics are created by the project (``ensure_topics``), never by auto-create. The
prefix from ``KafkaSettings.topic_prefix`` isolates environments and test runs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """A topic's base name, partition count, retention and purpose, and what personal data
    its messages may carry ("" for none): a dead letter of such a topic is shown to
    operators without its body (docs/console.md)."""

    name: str
    partitions: int
    retention_ms: int
    description: str
    personal_data: str = ""

    @property
    def segment_ms(self) -> int:
        """When the broker rolls a segment (one day, or a seventh of the retention if that
        is shorter). Retention deletes whole segments once their newest record is older
        than ``retention.ms``, so a record can outlive the retention by up to this:
        Kafka's default, 7 days, kept 7-day contacts up to 14 days."""
        return min(self.retention_ms // 7, DAY_MS)

    def configs(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "segment.ms": str(self.segment_ms),
            "cleanup.policy": "delete",
        }


# What set-up brings existing topics to (``ensure_topics``, ``infra.kafka_access``): the
# configs that bound how long data outlives its retention. Retention itself is left as it
# is on an existing topic (an administrator may have changed it).
ALIGNED_CONFIGS = ("segment.ms",)


COMMAND_PERSONAL_DATA = "free-text reasons and notes written by staff, document names"

DOSSIER_EVENTS = TopicSpec(
    "dossier.events",
    6,
    90 * DAY_MS,
    "Facts about dossiers (received, transferred, completed, overdue, refused commands). "
    "Key: dossier code, so each dossier's events stay in order.",
    personal_data="the applicant's keyed identity hash, free-text reasons and notes (a "
    "refusal's, a withdrawal's, a supplement request's...), document names and payment "
    "references; the deprecated dossier.*.v1 facts carried the applicant's name and contact",
)
DOSSIER_COMMANDS = TopicSpec(
    "dossier.commands",
    6,
    7 * DAY_MS,
    "Unit commands (accept a hand-over, complete a step, ...) where the broker runs "
    "without SASL (local development and tests): routing reads it only then, and nobody "
    "may write it on a secured broker, where each agency writes its own "
    "dossier.commands.<unit>. Key: dossier code. A refused command yields "
    "dossier.command.refused.v1 with a code; one that breaks its contract (envelope, type "
    "or fields) but names its id and subject gets invalid_command.",
    personal_data=COMMAND_PERSONAL_DATA,
)
NOTIFICATION_EVENTS = TopicSpec(
    "notification.events",
    3,
    90 * DAY_MS,
    "Outcomes of notifications to applicants, units and agency webhooks. Key: dossier code.",
    personal_data="applicants' recipient references (keyed hashes of their e-mail address "
    "or phone number) and delivery errors",
)
APPLICANT_CONTACTS = TopicSpec(
    "applicant.contacts",
    6,
    7 * DAY_MS,
    "Applicants' names and contacts, registered by intake for notification only (the one "
    "topic carrying names and contacts; its ACL admits intake to write, notification to "
    "read). "
    "Key: dossier code.",
    personal_data="applicants' names, e-mail addresses and phone numbers",
)
AUDIT_EVENTS = TopicSpec(
    "audit.events",
    1,
    365 * DAY_MS,
    "Signed checkpoints of the audit log (tree size and root hash).",
)
DEAD_LETTERS = TopicSpec(
    "deadletters",
    3,
    30 * DAY_MS,
    "Messages a consumer could not handle after bounded retries, with the error and origin "
    "in headers; replayable to their original topic.",
)

OPERATIONS_EVENTS = TopicSpec(
    "operations.events",
    3,
    365 * DAY_MS,
    "What operations staff did from the console (dead letters replayed, notifications "
    "redelivered), the data subject access requests intake and notification answered and "
    "the contact corrections intake made, with who and when; logged by audit. Key: "
    "dossier code when known.",
    personal_data="operators' identities and free-text reasons, dead letters' errors",
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    DOSSIER_EVENTS,
    DOSSIER_COMMANDS,
    NOTIFICATION_EVENTS,
    APPLICANT_CONTACTS,
    AUDIT_EVENTS,
    DEAD_LETTERS,
    OPERATIONS_EVENTS,
)


AGENCY_COMMANDS_PREFIX = "dossier.commands."


def agency_commands(unit: str) -> TopicSpec:
    """The commands topic of one agency system: only that agency's principal may write to
    it (Kafka ACL), so the topic proves which unit sent a command (docs/routing.md)."""
    return TopicSpec(
        f"{AGENCY_COMMANDS_PREFIX}{unit}",
        1,
        7 * DAY_MS,
        f"Commands of the agency system bound to unit {unit}; routing refuses any that "
        "claims another unit. Key: dossier code.",
        personal_data=COMMAND_PERSONAL_DATA,
    )


AGENCY_EVENTS_PREFIX = "dossier.events."


@functools.cache  # the relay asks for it with every copy it publishes
def agency_events(unit: str) -> TopicSpec:
    """The feed of one agency system: the dossier facts its unit is party to (which the
    service emitting a fact names, docs/design.md "Agency feeds"), copied there by the
    outbox relay, the same record as on ``dossier.events``. Only that agency's principal
    may read it (Kafka ACL); ``dossier.events`` itself is no longer theirs to read."""
    return TopicSpec(
        f"{AGENCY_EVENTS_PREFIX}{unit}",
        1,
        DOSSIER_EVENTS.retention_ms,
        f"Dossier facts of the dossiers unit {unit} holds or held, or is handed, and the "
        "refusals of its commands: the same records as on dossier.events. Key: dossier code.",
        personal_data=DOSSIER_EVENTS.personal_data,
    )


def commands_unit(name: str) -> str | None:
    """The unit whose agency commands topic this is (a name without the environment's
    prefix), or None for another topic."""
    if name.startswith(AGENCY_COMMANDS_PREFIX) and len(name) > len(AGENCY_COMMANDS_PREFIX):
        return name[len(AGENCY_COMMANDS_PREFIX) :]
    return None


def agency_topics(units: Iterable[str]) -> tuple[TopicSpec, ...]:
    """Each unit's agency topics: its commands topic and its feed."""
    return tuple(spec for unit in units for spec in (agency_commands(unit), agency_events(unit)))


def topic_name(prefix: str, spec: TopicSpec) -> str:
    """The full topic name for this environment."""
    return f"{prefix}{spec.name}"


def spec_of(prefix: str, topic: str) -> TopicSpec | None:
    """The spec of a full topic name in this environment (an agency's commands topic
    and feed included), or None for a topic the project does not know."""
    if not topic.startswith(prefix):
        return None
    name = topic[len(prefix) :]
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    if (unit := commands_unit(name)) is not None:
        return agency_commands(unit)
    if name.startswith(AGENCY_EVENTS_PREFIX) and len(name) > len(AGENCY_EVENTS_PREFIX):
        return agency_events(name[len(AGENCY_EVENTS_PREFIX) :])
    return None


# What the console may put a dead letter back on (its Kafka ACL, ``infra.kafka_access``):
# no personal data (the contacts topic), no agency's voice (a replayed command would speak
# for the agency, so an agency's commands are its own to send again).
CONSOLE_REPLAY_TOPICS = (DOSSIER_EVENTS, NOTIFICATION_EVENTS, OPERATIONS_EVENTS)


def console_may_replay(prefix: str, topic: str) -> bool:
    """Whether the console may republish a dead letter on this full topic name."""
    return spec_of(prefix, topic) in CONSOLE_REPLAY_TOPICS


def personal_data_of(prefix: str, topic: str) -> str:
    """What personal data messages of this full topic name may carry; an unknown topic is
    taken to carry some (nothing says otherwise)."""
    spec = spec_of(prefix, topic)
    return "unknown topic: its messages may carry any" if spec is None else spec.personal_data
