"""A dead letter the console may not put back on its topic is refused up front.

On a secured broker the console's Kafka principal may write only ``dossier.events``,
``notification.events`` and ``operations.events`` (``infra.kafka_access``): a letter of
a unit's commands topic (routing dead-letters the commands it cannot answer) or of the
contacts topic would be recorded and audited as replayed, then refused by the broker,
again at every click. So it is refused before anything is recorded, audited or sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from confluent_kafka.admin._acl import AclOperation
from console import handlers
from console.actions import Operations
from console.store import ReplayStore

from infra.kafka_access import console_bindings
from shared.auth import Principal, Role
from shared.envelope import Envelope
from shared.kafka.deadletter import DeadLetter
from shared.runtime import ServiceRuntime
from shared.testing import RecordingPublisher, detached_unit_of_work
from shared.topics import CONSOLE_REPLAY_TOPICS, console_may_replay, topic_name

AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
CODE = "001.21.31.H59-261202-0002"
OPS = Principal("ops-subject", frozenset({Role.OPERATIONS}), None, None, "ops")
PREFIX = "t1-"


def letter(original_topic: str, value: bytes = b"not json") -> DeadLetter:
    return DeadLetter(
        partition=1,
        offset=6,
        key=CODE,
        value=value,
        headers=[],
        original_topic=original_topic,
        original_partition=0,
        original_offset=63,
        consumer_group=f"{PREFIX}routing",
        error="MalformedMessage: empty message",
        error_kind="malformed",
        attempts=1,
        failed_at=AT.isoformat(),
        error_redacted=True,
    )


@dataclass
class Actions:
    """The console's operator_actions, in memory."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def of_letter(self, identity: str) -> dict[str, Any] | None:
        return next((d for d in self.docs.values() if d["letter"] == identity), None)

    async def record(self, doc: dict[str, Any], session: Any, status: str = "recorded") -> Any:
        self.docs[doc["_id"]] = {**doc, "status": status}
        return dict(self.docs[doc["_id"]])

    async def settle(self, action_id: str, status: str, at: datetime, error: str | None) -> None:
        self.docs[action_id] |= {"status": status, "error": error}


@dataclass
class Runtime:
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    emitted: list[Envelope] = field(default_factory=list)
    settings: Any = field(
        default_factory=lambda: SimpleNamespace(kafka=SimpleNamespace(topic_prefix=PREFIX))
    )
    clock: Any = field(default_factory=lambda: SimpleNamespace(now=lambda: AT))

    async def run_unit_of_work(self, work: Any) -> Any:
        uow = detached_unit_of_work(now=AT)
        done = await work(uow)
        self.emitted += uow.emitted
        return done


def operations() -> tuple[Operations, Runtime, Actions]:
    runtime, actions = Runtime(), Actions()
    ops = Operations(cast(ServiceRuntime, runtime), cast(ReplayStore, actions), notifications=None)  # type: ignore[arg-type]
    return ops, runtime, actions


@pytest.mark.parametrize(
    ("topic", "says"),
    [
        ("dossier.commands.000.00.31.H59", "agency system of 000.00.31.H59 sends it again"),
        ("applicant.contacts", "may not write t1-applicant.contacts"),
    ],
)
async def test_a_letter_of_a_topic_the_console_may_not_write_is_refused_untouched(
    topic: str, says: str
) -> None:
    ops, runtime, actions = operations()
    answer = await handlers.replay_letter(ops, letter(PREFIX + topic), OPS)
    assert (answer["status"], answer["code"], answer["id"]) == ("refused", "not_replayable", None)
    assert says in answer["error"]
    assert actions.docs == {} and runtime.emitted == [] and runtime.publisher.raw == []


async def test_a_dossier_fact_is_still_recorded_audited_and_republished() -> None:
    ops, runtime, actions = operations()
    answer = await handlers.replay_letter(ops, letter(PREFIX + "dossier.events"), OPS)
    assert (answer["status"], answer["code"]) == ("done", None)
    assert [e.type for e in runtime.emitted] == ["operations.deadletter.replayed.v1"]
    assert [raw[0] for raw in runtime.publisher.raw] == [PREFIX + "dossier.events"]
    assert len(actions.docs) == 1


def test_what_the_console_may_replay_is_what_its_acl_lets_it_write() -> None:
    written = {
        b.name
        for b in console_bindings(PREFIX, ["000.00.31.H59"])
        if b.operation == AclOperation.WRITE
    }
    assert written == {topic_name(PREFIX, spec) for spec in CONSOLE_REPLAY_TOPICS}
    assert all(console_may_replay(PREFIX, name) for name in written)
    assert not console_may_replay(PREFIX, PREFIX + "dossier.commands.000.00.31.H59")
    assert not console_may_replay(PREFIX, "dossier.events")  # another environment's
