"""Claims handed from the consumer's handler to the dispatcher: issued only while it runs
and has room, handed over when the batch ends, released once read, all given back on
close; and the handler writes only records to send claimed, and wakes no scan for them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from notification.handlers import WakeAfterBatch, record_notifications
from notification.handoff import HandOffs

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


def test_claims_go_to_the_dispatcher_when_the_batch_ends_and_are_released_once_read() -> None:
    offs = hand_offs()
    first, second = offs.claim(1, AT), offs.claim(2, AT)
    assert first is not None and second is not None
    assert offs.take() == []  # the batch is not over: maybe not committed yet
    assert offs.batch_done()
    handed = offs.take()
    assert handed == [first["claim"], second["claim"]] and offs.take() == []
    offs.put_back(handed)  # the read failed: read again next time
    assert offs.take() == handed
    offs.started(handed)
    assert offs.reserved == 0 and not offs.batch_done()


def test_closing_returns_every_claim_not_started() -> None:
    offs = hand_offs()
    started, handed, issued = offs.claim(1, AT), offs.claim(1, AT), None
    assert started is not None and handed is not None
    offs.batch_done()
    offs.started([offs.take()[0]])
    issued = offs.claim(1, AT)
    assert issued is not None
    assert offs.close() == [handed["claim"], issued["claim"]]
    assert offs.claim(1, AT) is None and offs.reserved == 0


async def test_the_handler_writes_records_to_send_claimed_and_wakes_no_scan() -> None:
    wakes: list[str] = []
    offs = hand_offs()
    signal = WakeAfterBatch(lambda: wakes.append("scan"), lambda: wakes.append("hand over"))
    store = RecordingStore()
    claiming = replace(planning(store), claims=offs, on_recorded=signal.recorded)
    batch = [registered(CODE, contact()), received(CODE), transfer_requested(CODE)]
    events = [(envelope_of(data), data) for data in batch]
    await record_notifications(events, detached_unit_of_work(), planning=claiming)
    signal.after_batch()

    assert [r["status"] for r in store.records] == ["sending"] * 3  # email, SMS, unit email
    assert len({r["claim"] for r in store.records}) == 1 and offs.reserved == 3
    assert wakes == ["hand over"]  # no claim scan: the dispatcher reads the claims


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
