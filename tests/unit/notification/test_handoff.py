"""Claims handed from the consumer's handler to the dispatcher: issued only while it runs
and has room, handed over with their records once committed (never otherwise), released
once taken, all given back on close; and the handler writes only records to send
claimed, hands them over at the commit, and wakes no scan for them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from notification.handlers import record_notifications
from notification.handoff import HandOffs, WakeAfterBatch

from shared.events.registry import EventData
from shared.testing import detached_unit_of_work
from tests.samples import AT, contact, envelope_of, received, registered, transfer_requested
from tests.unit.notification.test_handlers import CODE, RecordingStore, planning

LEASE = timedelta(seconds=30)


def hand_offs(room: int = 5) -> HandOffs:
    offs = HandOffs(instance="host:8003", lease=LEASE, room=lambda: room)
    offs.open()
    return offs


def test_claims_are_issued_only_while_open_and_within_room() -> None:
    closed = HandOffs(instance="host:8003", lease=LEASE, room=lambda: 5)
    assert closed.claim(1, AT) is None  # the dispatcher does not run (yet)
    offs = hand_offs(room=5)
    fields = offs.claim(3, AT)
    assert fields is not None
    assert fields["status"] == "sending" and fields["claimed_by"] == "host:8003"
    assert fields["claim"].startswith("host:8003/") and fields["lease_until"] == AT + LEASE
    assert offs.claim(3, AT) is None  # 3 promised already, 2 slots left
    assert offs.claim(2, AT) is not None and offs.reserved == 5


def test_committed_records_go_to_the_dispatcher_and_are_released_once_taken() -> None:
    ready: list[str] = []
    offs = HandOffs(
        instance="host:8003", lease=LEASE, room=lambda: 5, ready=lambda: ready.append("go")
    )
    offs.open()
    first, second = offs.claim(1, AT), offs.claim(2, AT)
    assert first is not None and second is not None
    assert offs.take() == [] and ready == []  # not committed yet
    records = [{"_id": "a", **second}, {"_id": "b", **second}]
    offs.committed(second["claim"], records)
    assert ready == ["go"] and offs.reserved == 3
    assert offs.take() == records and offs.take() == []
    assert offs.reserved == 1  # the first claim's transaction has not committed yet
    offs.batch_done()  # ... and never will: it held nothing
    assert offs.reserved == 0


def test_a_commit_that_wrote_fewer_records_than_claimed_frees_the_rest() -> None:
    offs = hand_offs()
    fields = offs.claim(3, AT)
    assert fields is not None
    offs.committed(fields["claim"], [{"_id": "a", **fields}])  # two keys existed already
    assert offs.reserved == 1
    offs.take()
    assert offs.reserved == 0


def test_closing_returns_every_claim_not_started() -> None:
    offs = hand_offs()
    started, handed, issued = offs.claim(1, AT), offs.claim(1, AT), None
    assert started is not None and handed is not None
    offs.committed(started["claim"], [{"_id": "a", **started}])
    offs.take()
    offs.committed(handed["claim"], [{"_id": "b", **handed}])
    issued = offs.claim(1, AT)
    assert issued is not None
    assert offs.close() == [handed["claim"], issued["claim"]]
    assert offs.claim(1, AT) is None and offs.reserved == 0
    offs.committed(issued["claim"], [{"_id": "c", **issued}])  # committed after the close
    assert offs.take() == []  # not started: it is taken back or lapses with its lease


async def test_the_handler_writes_records_to_send_claimed_and_wakes_no_scan() -> None:
    wakes: list[str] = []
    offs = hand_offs()
    signal = WakeAfterBatch(lambda: wakes.append("scan"), lambda: wakes.append("hand over"))
    store = RecordingStore()
    claiming = replace(planning(store), claims=offs, on_recorded=signal.recorded)
    batch = [registered(CODE, contact()), received(CODE), transfer_requested(CODE)]
    events = [(envelope_of(data), data) for data in batch]
    uow = detached_unit_of_work()
    await record_notifications(events, uow, planning=claiming)
    assert offs.take() == []  # not committed yet
    uow.committed()
    signal.after_batch()

    assert [r["status"] for r in store.records] == ["sending"] * 3  # email, SMS, unit email
    assert len({r["claim"] for r in store.records}) == 1 and offs.reserved == 3
    assert offs.take() == store.records and offs.reserved == 0  # as written, no read
    assert wakes == ["hand over"]  # no claim scan


async def test_without_room_the_records_are_pending_and_the_dispatcher_scans() -> None:
    wakes: list[str] = []
    offs = hand_offs(room=1)
    signal = WakeAfterBatch(lambda: wakes.append("scan"), lambda: wakes.append("hand over"))
    store = RecordingStore()
    claiming = replace(planning(store), claims=offs, on_recorded=signal.recorded)
    fact: EventData = transfer_requested(CODE)
    one = [(envelope_of(fact), fact)]
    assert offs.claim(1, AT) is not None  # the only slot
    await record_notifications(one, detached_unit_of_work(), planning=claiming)
    signal.after_batch()

    assert [r["status"] for r in store.records] == ["pending"]
    assert "claim" not in store.records[0]
    assert wakes == ["hand over", "scan"]
