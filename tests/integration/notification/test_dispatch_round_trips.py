"""What a dispatched batch costs in store round trips, whatever its size.

Records are written as the consumer writes them, then one dispatcher round claims and
delivers them all (a recording channel that accepts at once). Its commands are counted
from the service's own client (``lt_store_commands_total``) by collection and command,
for a small and a large batch: the counts must be the same, since the attempts, the
outcomes and their outbox entries are written a group at a time. The outbox relay's
reads and marks (it runs in the same runtime) are the relay's business and left out.
"""

from __future__ import annotations

from collections import Counter

from notification.store import NotificationStore

from shared.runtime import ServiceRuntime
from tests.integration.notification.dispatching import RecordingChannel, dispatcher, record
from tests.integration.store_commands import StoreCommands


async def _dispatch_costs(runtime: ServiceRuntime, dossiers: int) -> Counter[tuple[str, str]]:
    codes = [f"D-trips-{dossiers}-{n}" for n in range(dossiers)]
    await record(runtime, codes)  # an email and an SMS each
    channel = RecordingChannel()
    # One batch for all, and a linger long enough for every delivery to end (it stops
    # waiting as soon as they have).
    sender = dispatcher(runtime, channel, batch=2 * dossiers, linger_s=30)
    commands = StoreCommands("notification")

    assert await sender.dispatch_once() == 2 * dossiers

    counts = commands.since_reset()
    for relays in (("outbox", "find"), ("outbox", "update")):
        del counts[relays]
    assert len(channel.sent) == 2 * dossiers
    store = NotificationStore(runtime.db)
    docs = await store.notifications.find({"dossier_code": {"$in": codes}}).to_list()
    assert len(docs) == 2 * dossiers
    for doc in docs:
        assert doc["status"] == "sent" and [a["outcome"] for a in doc["attempts"]] == ["ok"]
    return counts


async def test_a_dispatched_batch_costs_the_same_round_trips_whatever_its_size(
    runtime: ServiceRuntime,
) -> None:
    small = await _dispatch_costs(runtime, 3)
    large = await _dispatch_costs(runtime, 12)

    assert small == large
    # (From three dossiers on, their outbox sequence numbers cost a read and a write.)
    # The claim (a read, an update and a commit), every attempt in one update, and the
    # outcomes in one unit of work: one update, one outbox insert, the dossiers' outbox
    # sequence numbers (a read and one write), one commit.
    assert large[("notifications", "find")] == 1
    assert large[("notifications", "update")] == 3
    assert large[("outbox", "insert")] == 1
    assert large[("", "commitTransaction")] == 2
