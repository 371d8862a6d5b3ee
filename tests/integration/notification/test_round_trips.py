"""What one dossier's journey costs notification in store round trips.

A commune → district → back journey (contact and reception, route planned, two
hand-overs with their steps, result ready, done) goes through the real consumer (one
group: the notifications and the portal connector's messages of a fact are written
with its one inbox record), the real dispatcher (SMTP sink, SMS file)
and back (the service consumes its own ``notification.sent.v1`` facts), one action at a
time as the benchmark drives it. The commands are counted from the service's own client
(``lt_store_commands_total``), by collection and command; the outbox relay's reads and
marks are the relay's business and are left out of the bounds.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from notification.config import DispatchSettings, NotificationSettings
from notification.main import create_app

from shared.envelope import Envelope
from shared.events.dossier import DossierState, StepOutcome
from shared.events.handover import DossierRoutePlanned, RouteStep, StepCompleted
from shared.events.registry import EventData
from shared.mongo.client import mongo_client, service_database
from shared.settings import OutboxSettings
from shared.telemetry.metrics import EVENTS_HANDLED
from shared.testing import eventually, running_app
from tests.integration.notification.helpers import publish
from tests.integration.notification.servers import _Collector
from tests.integration.store_commands import StoreCommands
from tests.samples import (
    AT,
    COMMUNE_DESK,
    DISTRICT_LAND,
    contact,
    done,
    envelope_of,
    received,
    registered,
    result_ready,
    transfer_accepted,
    transfer_requested,
)

CODE = "001.21.31.H59-261126-0077"
DELIVERIES = 6  # reception and result (email and SMS each), two hand-overs (unit email)
SLACK = 2  # what timing may add: see the bounds


def route_planned(code: str) -> DossierRoutePlanned:
    steps = [
        RouteStep(index=0, name="Tiếp nhận", unit=COMMUNE_DESK, budget_days=1),
        RouteStep(index=1, name="Thẩm định", unit=DISTRICT_LAND, budget_days=10),
        RouteStep(index=2, name="Trả kết quả", unit=COMMUNE_DESK, budget_days=1),
    ]
    return DossierRoutePlanned(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=COMMUNE_DESK,
        steps=steps,
        current_step=0,
        step_due_date=date(2026, 11, 27),
    )


def step_completed(code: str, unit: str, index: int) -> StepCompleted:
    return StepCompleted(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=unit,
        step_index=index,
        unit=unit,
        outcome=StepOutcome.APPROVE,
        completed_at=AT,
    )


def journey(code: str) -> list[list[Envelope]]:
    """The facts of each action, in order (those of one action are published together)."""
    back = transfer_requested(code, to_unit=COMMUNE_DESK).model_copy(
        update={"holding_unit": DISTRICT_LAND, "from_unit": DISTRICT_LAND, "step_index": 2}
    )
    actions: list[list[EventData]] = [
        [registered(code, contact()), received(code)],  # intake, one transaction
        [route_planned(code)],
        [step_completed(code, COMMUNE_DESK, 0), transfer_requested(code)],
        [transfer_accepted(code)],
        [step_completed(code, DISTRICT_LAND, 1), back],
        [transfer_accepted(code, to_unit=COMMUNE_DESK)],
        [result_ready(code)],
        [done(code)],
    ]
    return [[envelope_of(fact) for fact in action] for action in actions]


def handled(prefix: str) -> int:
    """Events the service's consumers have finished with (any outcome), on the test's topics."""
    total = 0
    for metric in EVENTS_HANDLED.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_total")
                and labels["service"] == "notification"
                and labels["topic"].startswith(prefix)
            ):
                total += int(sample.value)
    return total


async def test_a_journey_costs_notification_few_round_trips(
    settings: NotificationSettings, smtp: _Collector
) -> None:
    settings = settings.model_copy(
        update={
            # Only wake-ups, no idle scans: the bench's load keeps both busy.
            "dispatch": DispatchSettings(poll_interval_s=60, lease_s=30),
            "outbox": OutboxSettings(poll_interval_s=60),
        }
    )
    prefix = settings.kafka.topic_prefix
    app = create_app(settings)
    async with (
        running_app(app),
        mongo_client(settings.mongo, "tests") as probe,  # its reads are not the service's
    ):
        notifications = service_database(probe, settings.mongo, "notification")["notifications"]
        commands = StoreCommands("notification")
        before = handled(prefix)
        expected = 0
        for action in journey(CODE):
            await publish(settings, *action)
            # Each fact once: one consumer group reads them all.
            expected += len(action)

            async def settled(expected: int = expected) -> bool:
                busy = await notifications.count_documents(
                    {"status": {"$in": ["pending", "sending"]}}
                )
                sent = await notifications.count_documents({"status": "sent"})
                # ... and their notification.sent.v1, consumed back.
                return busy == 0 and handled(prefix) - before == expected + sent

            await eventually(settled)
        counts = commands.since_reset()
        sent = await notifications.count_documents({"status": "sent"})
        inbox = service_database(probe, settings.mongo, "notification")["inbox"]
        recorded = Counter([doc["consumer"] async for doc in inbox.find({}, {"consumer": 1})])

    table = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    print("\nnotification round trips for one journey:")
    for (collection, command), n in table:
        print(f"  {collection or '-'}:{command} {n}")
    print(f"  total {sum(counts.values())}")
    print(f"  inbox records by group: {dict(recorded)}")
    assert sent == DELIVERIES
    assert len(smtp.messages) == 4  # the units' and the applicant's emails
    # One group reads the facts once. Facts nobody is told of and the portal is not (route
    # planned, the outcomes consumed back) open no transaction; every other action is one
    # transaction for its facts' notifications and portal messages together: seven (two
    # groups took eleven, four and seven). SLACK: a run retried.
    assert counts[("inbox", "insert")] <= 7 + SLACK
    # One inbox record per fact handled: the nine the portal is told of and the contact
    # (two groups kept fourteen: nine for the portal, five for the notifications).
    assert recorded == {f"{prefix}notification": 10}
    # The live subscriptions are watched (a change stream), not read per run: at most the
    # watch's first reading, when it came after the test began, and SLACK.
    assert counts[("subscriptions", "find")] <= 1 + SLACK
    # The portal's numbers are read from its messages (no counter of its own to write),
    # once for the dossier: the connector remembers those it committed. SLACK: a portal
    # run retried.
    assert counts[("portal_sync", "aggregate")] <= 1 + SLACK
    assert not [command for command in counts if command[0] == "portal_sync_counters"]
    # The records to send are written claimed for the dispatcher and handed to it at the
    # commit: no claim transaction, no read; then the attempts (those ending together in
    # one write) and the outcomes, a group at a time (an applicant's email and SMS may
    # end apart). SLACK: the dispatcher's start-up scan (a read and a commit), and one
    # transaction retried on a transient conflict, as may happen under load.
    assert counts[("notifications", "find")] <= SLACK
    assert counts[("outbox", "insert")] <= DELIVERIES + SLACK
    assert counts[("notifications", "update")] <= 4 + DELIVERIES + DELIVERIES + SLACK
    assert counts[("", "commitTransaction")] <= 7 + DELIVERIES + SLACK
