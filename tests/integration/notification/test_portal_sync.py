"""The national portal connector over the real broker and store: facts in, messages out in
order, a failing endpoint retried, what was sent visible through the API, a batch's facts
numbered per dossier, two writers numbering one dossier at once never share a number,
numbers remembered need no read (a stale memory is refused, then read again), a
dossier's messages sent by number whatever their handling times, a dead one holding
back its dossier until operations replay or skip it, and two instances' senders sending
each message once, in order (the lease), given back on a clean stop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from notification.config import DispatchSettings, NotificationSettings
from notification.main import create_app
from notification.portal_numbers import Last, LastNumbers
from notification.portal_sender import PortalSender
from notification.portal_sync import PortalSyncSettings, PortalSyncStore, on_facts
from notification.templates import DisplayNames
from pymongo.errors import PyMongoError

from infra.portal_receiver import PortalReceiver
from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.dossier import DossierFact
from shared.kafka.security import client_security
from shared.mongo.client import mongo_client, service_database
from shared.mongo.lease import Lease
from shared.runtime import ServiceRuntime, service_runtime
from shared.telemetry.metrics import EVENTS_HANDLED
from shared.testing import ActAs, eventually, free_port, running_app
from shared.topics import APPLICANT_CONTACTS, DOSSIER_EVENTS, TopicSpec, topic_name
from tests.integration.notification.helpers import publish
from tests.integration.store_commands import StoreCommands
from tests.samples import (
    AT,
    contact,
    envelope_of,
    received,
    registered,
    stopped,
    transfer_requested,
    withdrawal_requested,
)

CODE = "001.21.31.H59-261126-0042"


@pytest.fixture
def portal() -> Iterator[PortalReceiver]:
    server = PortalReceiver(free_port(), fail_first=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_facts_reach_the_portal_in_order_after_a_retry(
    settings: NotificationSettings, portal: PortalReceiver
) -> None:
    endpoint = f"http://127.0.0.1:{portal.server_address[1]}/sync"
    settings = settings.model_copy(
        update={
            "portal": PortalSyncSettings(
                endpoint=endpoint, token="dev-token", backoff_initial_s=0.05, interval_s=0.05
            ),
            # The webhooks' egress policy as deployed (loopback refused) does not bind the
            # portal endpoint, the operator's own setting: make run's receiver is loopback.
            "webhook": settings.webhook.model_copy(update={"allowed_networks": []}),
        }
    )
    async with running_app(create_app(settings), ActAs("operations")) as client:
        await publish(settings, envelope_of(received(CODE)), envelope_of(transfer_requested(CODE)))

        async def all_three() -> bool:
            return len(portal.received) == 3

        await eventually(all_three)
        assert portal.requests == 4  # the first answer was 503: retried, not lost
        assert [m["service"] for m in portal.received] == [
            "DongBoHoSoMC",
            "CapNhatTienDoHoSoMC",
            "CapNhatTienDoHoSoMC",
        ]
        entries = [m["data"][0] for m in portal.received]
        statuses = [e.get("TrangThaiHoSo", e.get("TrangThai")) for e in entries]
        assert statuses == ["2", "2", "4"]
        assert portal.received[0]["isUpdating"] == "False"  # the dossier's first sync
        assert set(portal.authorizations) == {"Bearer dev-token"}

        async def all_sent() -> list[dict[str, Any]] | None:
            listed = (await client.get("/v1/portal/messages", params={"dossier": CODE})).json()
            done = [m["status"] for m in listed] == ["sent", "sent", "sent"]
            return listed if done else None

        listed = await eventually(all_sent)  # the receiver answered before the record settled
        assert listed[0]["attempts"] == 1 and "503" in listed[0]["last_error"]


async def test_a_batch_of_several_dossiers_numbers_each_dossiers_messages_in_order(
    settings: NotificationSettings,
) -> None:
    """Numbers read a batch at once, on the real store: each dossier counts on from where
    its earlier batches stopped, and only its first message says it is new."""
    other = "001.21.31.H59-261126-0043"
    async with service_runtime("notification", settings) as runtime:
        store = PortalSyncStore(runtime.db)
        await store.ensure_indexes()
        handler = partial(on_facts, store=store, names=DisplayNames())
        batches: list[list[DossierFact]] = [
            [received(CODE)],  # one dossier
            [transfer_requested(CODE), received(other), stopped(CODE), transfer_requested(other)],
        ]
        for facts in batches:
            events = [(envelope_of(f), f) for f in facts]
            async with runtime.unit_of_work() as uow:
                await handler(events, uow)
        listed = await store.list(None, None, 20)
    numbers = [(m["dossier_code"], m["number"], m["kind"]) for m in listed]
    assert [n for n in numbers if n[0] == CODE] == [
        (CODE, 1, "DongBoHoSoMC"),
        (CODE, 1, "CapNhatTienDoHoSoMC"),
        (CODE, 2, "CapNhatTienDoHoSoMC"),
        (CODE, 3, "DongBoHoSoMC"),
        (CODE, 3, "CapNhatTienDoHoSoMC"),
    ]
    assert [n for n in numbers if n[0] == other] == [
        (other, 1, "DongBoHoSoMC"),
        (other, 1, "CapNhatTienDoHoSoMC"),
        (other, 2, "CapNhatTienDoHoSoMC"),
    ]
    updating = [m["body"].get("isUpdating") for m in listed if m["kind"] == "DongBoHoSoMC"]
    assert sorted(updating) == ["False", "False", "True"]


class ReadsTogether(PortalSyncStore):
    """Two writers read a dossier's last number before either has written (first time)."""

    def __init__(self, db: Any, readers: int) -> None:
        super().__init__(db)
        self.barrier = asyncio.Barrier(readers)
        self.reads = 0

    async def last_numbers(self, codes: Any, uow: Any) -> dict[str, Last]:
        found = await super().last_numbers(codes, uow)
        self.reads += 1
        if self.reads <= self.barrier.parties:
            await self.barrier.wait()
        return found


async def test_two_writers_numbering_one_dossier_at_once_never_share_a_number(
    settings: NotificationSettings,
) -> None:
    """As when the dossier's partition moves between instances mid-batch: the later writer
    fails on the unique number and, applied again, counts on from the earlier one."""
    async with service_runtime("notification", settings) as runtime:
        store = ReadsTogether(runtime.db, readers=2)
        await store.ensure_indexes()
        handler = partial(on_facts, store=store, names=DisplayNames())

        async def write(fact: DossierFact) -> None:
            events = [(envelope_of(fact), fact)]
            await runtime.units.run(lambda uow: handler(events, uow))

        await asyncio.gather(write(received(CODE)), write(transfer_requested(CODE)))
        listed = await store.list(None, CODE, 20)
    assert store.reads == 3  # the later writer read again, after the earlier one committed
    numbers = {m["number"] for m in listed}
    assert numbers == {1, 2} and len(listed) == 3  # reception: two messages, one number
    per_fact = {m["_id"].rsplit(":", 1)[0]: m["number"] for m in listed}
    assert sorted(per_fact.values()) == [1, 2]


async def test_numbers_remembered_need_no_read_and_a_stale_memory_is_read_again(
    settings: NotificationSettings,
) -> None:
    """The connector remembers the numbers it committed: a dossier's next facts are
    numbered without a read. When another instance numbered the dossier meanwhile, the
    number remembered is behind: the write is refused, forgotten, and read again."""
    async with service_runtime("notification", settings) as runtime:
        store = PortalSyncStore(runtime.db)
        await store.ensure_indexes()
        numbers = LastNumbers()
        remembering = partial(on_facts, store=store, names=DisplayNames(), numbers=numbers)
        other_instance = partial(on_facts, store=store, names=DisplayNames())

        async def handle(handler: Any, fact: DossierFact) -> None:
            events = [(envelope_of(fact), fact)]
            await runtime.units.run(lambda uow: handler(events, uow))

        await handle(remembering, received(CODE))  # read (nothing yet): number 1
        assert numbers.known([CODE]) == {CODE: Last(1)}
        commands = StoreCommands("notification")
        await handle(remembering, transfer_requested(CODE))  # remembered: number 2
        assert "aggregate" not in commands.on("portal_sync")
        assert numbers.known([CODE]) == {CODE: Last(2)}

        await handle(other_instance, transfer_requested(CODE, to_unit="001.21.31.H59"))  # 3
        late = stopped(CODE)
        with pytest.raises(PyMongoError):  # 3 again: the unique number refuses it
            await handle(remembering, late)
        assert numbers.known([CODE]) == {}
        await handle(remembering, late)  # applied again: read, then 4
        listed = await store.list(None, CODE, 20)
    per_fact = {m["_id"].rsplit(":", 1)[0]: m["number"] for m in listed}
    assert sorted(per_fact.values()) == [1, 2, 3, 4]
    assert numbers.known([CODE]) == {CODE: Last(4)}


async def test_a_fact_mapped_again_keeps_the_messages_stored_as_they_are(
    settings: NotificationSettings,
) -> None:
    """A fact whose messages are stored already (mapped by the connector's former consumer
    group, ahead of the service's group when an instance upgraded) is mapped again without
    a trace: its messages keep their number and status, a sent one is not sent again."""
    async with service_runtime("notification", settings) as runtime:
        store = PortalSyncStore(runtime.db)
        await store.ensure_indexes()
        handler = partial(on_facts, store=store, names=DisplayNames())
        facts: list[DossierFact] = [received(CODE), transfer_requested(CODE)]
        events = [(envelope_of(fact), fact) for fact in facts]  # one envelope each, kept

        async def handle(*events: tuple[Envelope, DossierFact]) -> None:
            await runtime.units.run(lambda uow: handler(list(events), uow))

        await handle(*events)
        before = await store.list(None, CODE, 20)
        for message in before:
            await store.settle(message["_id"], {"status": "sent", "attempts": 1})
        sent = await store.list(None, CODE, 20)
        await handle(*events)  # the same facts again, as another group read them
        after = await store.list(None, CODE, 20)
    assert [(m["number"], m["index"]) for m in before] == [(1, 0), (1, 1), (2, 0)]
    assert after == sent  # nothing replaced: numbers, statuses and attempts kept


async def handle_at(
    runtime: ServiceRuntime, store: PortalSyncStore, fact: Any, now: datetime
) -> None:
    """The connector keeps ``fact``'s messages, handled at ``now`` by an instance's clock."""
    handler = partial(on_facts, store=store, names=DisplayNames())
    events = [(envelope_of(fact), fact)]
    await runtime.units.run(lambda uow: handler(events, uow), now=now)


def posted(sent: list[tuple[str, str, str | None]], code: str) -> list[tuple[str, str | None]]:
    return [(service, updating) for dossier, service, updating in sent if dossier == code]


async def test_a_dead_message_holds_back_its_dossier_until_operations_replay_or_skip_it(
    settings: NotificationSettings,
) -> None:
    """The dossier's first sync is refused: its updates wait (the portal would not know the
    dossier), the other dossier goes on. Replayed, the sync is sent again before them;
    refused again and skipped by operations, they follow. The dossier's second fact was
    handled on an instance whose clock is behind: it still goes after the first's."""
    other = "001.21.31.H59-261126-0043"
    clock = ManualClock(AT)
    settings = settings.model_copy(update={"portal": PortalSyncSettings(enabled=False)})
    app = create_app(settings, clock)  # its API; the test drives its own sender
    refusals = 2
    sent: list[tuple[str, str, str | None]] = []

    def portal(request: httpx.Request) -> httpx.Response:
        nonlocal refusals
        body = json.loads(request.content)
        sent.append((body["data"][0]["MaHoSo"], body["service"], body.get("isUpdating")))
        if body["data"][0]["MaHoSo"] == CODE and body["service"] == "DongBoHoSoMC" and refusals:
            refusals -= 1
            return httpx.Response(400, text="MaTTHC không hợp lệ")
        return httpx.Response(200, json={"error_code": "00"})

    async with running_app(app, ActAs("operations")) as client:
        runtime, store = app.state.runtime, app.state.portal
        await handle_at(runtime, store, received(CODE), AT)
        await handle_at(runtime, store, transfer_requested(CODE), AT - timedelta(minutes=5))
        await handle_at(runtime, store, received(other), AT)
        http = httpx.AsyncClient(transport=httpx.MockTransport(portal))
        endpoint = PortalSyncSettings(endpoint="http://portal.test/sync")
        send = PortalSender(store, endpoint, http, clock, Lease(runtime.db, "portal-sender"))

        async def drain() -> None:
            while await send.send_once():
                pass

        await drain()
        assert posted(sent, CODE) == [("DongBoHoSoMC", "False")]  # refused: dead
        assert posted(sent, other) == [("DongBoHoSoMC", "False"), ("CapNhatTienDoHoSoMC", None)]
        listed = (await client.get("/v1/portal/messages", params={"dossier": CODE})).json()
        assert [m["status"] for m in listed] == ["dead", "pending", "pending"]
        assert [m["kind"] for m in listed] == ["DongBoHoSoMC", *["CapNhatTienDoHoSoMC"] * 2]

        replayed = await client.post(f"/v1/portal/messages/{listed[0]['id']}/replay")
        assert replayed.status_code == 200
        await drain()  # sent again first, refused again
        assert posted(sent, CODE) == [("DongBoHoSoMC", "False")] * 2
        skipped = await client.post(f"/v1/portal/messages/{listed[0]['id']}/skip")
        assert skipped.json() == {"id": listed[0]["id"], "status": "skipped"}
        again = await client.post(f"/v1/portal/messages/{listed[0]['id']}/skip")
        assert again.status_code == 404  # only a dead message can be skipped
        await drain()
        assert posted(sent, CODE)[2:] == [("CapNhatTienDoHoSoMC", None)] * 2
        listed = (await client.get("/v1/portal/messages", params={"dossier": CODE})).json()
        assert [m["status"] for m in listed] == ["skipped", "sent", "sent"]
        statuses = [m["body"]["data"][0].get("TrangThai") for m in listed[1:]]
        assert statuses == ["2", "4"]  # received, then the hand-over: the dossier's order


async def test_two_instances_send_each_message_once_in_order(
    settings: NotificationSettings,
) -> None:
    """Every notification instance runs a sender; the one holding the lease sends. The
    other, asked to send while the holder's first post is in flight, sends nothing."""
    clock = ManualClock(AT)
    async with service_runtime("notification", settings, clock) as runtime:
        store = PortalSyncStore(runtime.db)
        await store.ensure_indexes()
        await handle_at(runtime, store, received(CODE), AT)
        await handle_at(runtime, store, transfer_requested(CODE), AT)
        endpoint = PortalSyncSettings(endpoint="http://portal.test/sync")
        sent: list[str] = []
        meanwhile: list[int] = []

        async def portal(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            sent.append(f"{body['service']}:{body['data'][0].get('TrangThai', 'sync')}")
            if len(sent) == 1:  # the other instance's turn, mid-post
                meanwhile.append(await second.send_once())
            return httpx.Response(200)

        http = httpx.AsyncClient(transport=httpx.MockTransport(portal))
        first = PortalSender(store, endpoint, http, clock, Lease(runtime.db, "portal-sender"))
        second = PortalSender(store, endpoint, http, clock, Lease(runtime.db, "portal-sender"))
        while await first.send_once() + await second.send_once():
            pass
    assert meanwhile == [0]
    assert sent == ["DongBoHoSoMC:sync", "CapNhatTienDoHoSoMC:2", "CapNhatTienDoHoSoMC:4"]


async def test_a_clean_stop_releases_the_lease_a_crash_leaves_it_to_lapse(
    settings: NotificationSettings,
) -> None:
    """One instance, restarted (a new holder): after a clean stop (``close``) it sends at
    once; after a crash (no ``close``) it waits until the lease lapses."""
    clock, wall = ManualClock(AT), ManualClock(AT)
    async with service_runtime("notification", settings, clock) as runtime:
        store = PortalSyncStore(runtime.db)
        await store.ensure_indexes()
        for fact in (received(CODE), transfer_requested(CODE), stopped(CODE)):
            await handle_at(runtime, store, fact, AT)
        endpoint = PortalSyncSettings(endpoint="http://portal.test/sync")
        http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200)))

        def instance() -> PortalSender:
            lease = Lease(runtime.db, "portal-sender")
            return PortalSender(store, endpoint, http, clock, lease, wall)

        stopped_cleanly = instance()
        assert await stopped_cleanly.send_once(limit=1) == 1
        await stopped_cleanly.close()
        crashed = instance()
        assert await crashed.send_once(limit=1) == 1  # at once: the lease was given back
        restarted = instance()
        assert await restarted.send_once(limit=1) == 0  # the crashed one's lease is live
        wall.advance(timedelta(seconds=endpoint.lease_s + 1))
        assert await restarted.send_once(limit=1) == 1  # lapsed: taken over
        await crashed.close()  # late: the lease is no longer its own, and stays
        assert await store.due(clock.now(), 10)  # something left to send, yet:
        assert await instance().send_once() == 0
        assert await restarted.send_once() >= 1


async def test_the_connectors_old_index_is_dropped_at_start(runtime: ServiceRuntime) -> None:
    """A store upgraded from the connector's first version keeps its index of a dossier's
    messages by handling time, which orders nothing now: dropped, at every start alike."""
    messages = runtime.db["portal_sync"]
    old = await messages.create_index(  # as that version created it: unnamed, by keys
        [("dossier_code", 1), ("created_at", 1), ("number", 1), ("index", 1)]
    )
    store = PortalSyncStore(runtime.db)
    await store.ensure_indexes()
    await store.ensure_indexes()  # a second start: nothing left to drop
    names = set(await messages.index_information())
    assert old not in names and "one_number_per_dossier_message" in names


async def rewind_to_the_start(
    settings: NotificationSettings, group: str, *specs: TopicSpec
) -> None:
    """Commit offset 0 for the group on every partition of these topics (the group has no
    member): its next consumer reads them all again, as after a crash before the commit."""
    partitions = [
        TopicPartition(topic_name(settings.kafka.topic_prefix, spec), p)
        for spec in specs
        for p in range(spec.partitions)  # as the service created them
    ]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        **client_security(settings.kafka),
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit({tp: 0 for tp in partitions})
    finally:
        await consumer.stop()


def handled_as(prefix: str, outcome: str) -> int:
    """Notification's events with this outcome so far, on the test's topics."""
    return sum(
        int(sample.value)
        for metric in EVENTS_HANDLED.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
        and sample.labels["service"] == "notification"
        and sample.labels["outcome"] == outcome
        and sample.labels["topic"].startswith(prefix)
    )


async def test_a_fact_read_once_has_its_notifications_and_portal_messages_and_a_redelivery_neither(
    settings: NotificationSettings,
) -> None:
    """One consumer group reads dossier.events: each fact is inbox-recorded once, in the
    transaction that writes both its notification records and its portal messages. The
    same records read again (the group's offsets rewound, as after a crash before the
    commit) change neither."""
    settings = settings.model_copy(
        update={"dispatch": DispatchSettings(enabled=False)}  # records stay as written
    )
    prefix, group = settings.kafka.topic_prefix, f"{settings.kafka.topic_prefix}notification"
    events = [
        envelope_of(registered(CODE, contact())),
        envelope_of(received(CODE)),
        envelope_of(transfer_requested(CODE)),
    ]
    topics = (DOSSIER_EVENTS, APPLICANT_CONTACTS)
    async with (
        mongo_client(settings.mongo, "tests") as probe,
        running_app(create_app(settings)),
    ):
        db = service_database(probe, settings.mongo, "notification")
        await publish(settings, *events)

        async def all_recorded() -> bool:
            return await db["inbox"].count_documents({"consumer": group}) == len(events)

        await eventually(all_recorded)
        notifications = await db["notifications"].find().sort("_id").to_list()
        messages = await db["portal_sync"].find().sort("_id").to_list()
        inbox = await db["inbox"].find().to_list()

    # One inbox record per event, in the one group: no group of the connector's own.
    assert sorted(r["_id"] for r in inbox) == sorted(
        r["_id"] for r in inbox if r["consumer"] == group
    )
    assert len(inbox) == len(events)
    # The reception tells the applicant (email and SMS), the hand-over the district unit.
    assert sorted((n["source_event_type"], n["channel"]) for n in notifications) == [
        (events[1].type, "email"),
        (events[1].type, "sms"),
        (events[2].type, "email"),
    ]
    # ... and the portal gets the dossier's record and two progress updates, numbered.
    assert sorted((m["number"], m["index"], m["kind"]) for m in messages) == [
        (1, 0, "DongBoHoSoMC"),
        (1, 1, "CapNhatTienDoHoSoMC"),
        (2, 0, "CapNhatTienDoHoSoMC"),
    ]

    await rewind_to_the_start(settings, group, *topics)
    duplicates = handled_as(prefix, "duplicate")
    async with (
        mongo_client(settings.mongo, "tests") as probe,
        running_app(create_app(settings)),
    ):
        db = service_database(probe, settings.mongo, "notification")

        async def all_read_again() -> bool:
            return handled_as(prefix, "duplicate") - duplicates == len(events)

        await eventually(all_read_again)
        assert await db["notifications"].find().sort("_id").to_list() == notifications
        assert await db["portal_sync"].find().sort("_id").to_list() == messages
        assert await db["inbox"].count_documents({}) == len(events)


async def test_a_standing_withdrawal_request_is_known_from_memory_and_from_the_store(
    settings: NotificationSettings,
) -> None:
    """A hand-over routing decided a moment before the applicant asked to withdraw, handled
    after intake's request (routing's relay behind intake's), reports status 7, not 4:
    whether the request stands is stored with each message, so an instance that did not
    map the request (another instance, a restart) reads it with the dossier's last number,
    and one that did remembers it."""
    async with service_runtime("notification", settings) as runtime:
        store = PortalSyncStore(runtime.db)
        await store.ensure_indexes()
        numbers = LastNumbers()
        remembering = partial(on_facts, store=store, names=DisplayNames(), numbers=numbers)
        reading = partial(on_facts, store=store, names=DisplayNames())

        async def handle(handler: Any, *facts: DossierFact) -> None:
            events = [(envelope_of(fact), fact) for fact in facts]
            await runtime.units.run(lambda uow: handler(events, uow))

        await handle(remembering, received(CODE), withdrawal_requested(CODE))
        assert numbers.known([CODE]) == {CODE: Last(2, withdrawal_standing=True)}
        await handle(reading, transfer_requested(CODE))  # read from the store: 3
        late = stopped(CODE)
        with pytest.raises(PyMongoError):  # remembered 2, behind the store: refused
            await handle(remembering, late)
        await handle(remembering, late)  # read again: 4, the request stood before it
        listed = await store.list(None, CODE, 20)
    progress = [m for m in listed if m["kind"] == "CapNhatTienDoHoSoMC"]
    assert [m["body"]["data"][0]["TrangThai"] for m in progress] == ["2", "7", "7", "8"]
    assert [m["withdrawal_standing"] for m in progress] == [False, True, True, False]
    assert numbers.known([CODE]) == {CODE: Last(4)}


async def test_the_messages_list_pages_through_every_message_once(
    settings: NotificationSettings,
) -> None:
    """Operations page through the portal's messages (`limit`, `offset`): every message on
    exactly one page, oldest first, even among dossiers whose messages share a handling
    time, number and index. Before, the list stopped at its first `limit` messages: the
    oldest 100 (500 at most) of a store that keeps every message sent."""
    other = "001.21.31.H59-261126-0043"
    async with service_runtime("notification", settings) as runtime:
        store = PortalSyncStore(runtime.db)
        await store.ensure_indexes()
        for fact in (received(CODE), received(other), transfer_requested(CODE)):
            await handle_at(runtime, store, fact, AT)  # one handling time for all
    async with running_app(create_app(settings), ActAs("operations")) as client:
        whole = (await client.get("/v1/portal/messages", params={"limit": 500})).json()
        pages = [
            (await client.get("/v1/portal/messages", params={"limit": 2, "offset": o})).json()
            for o in (0, 2, 4)
        ]
    assert len(whole) == 5
    assert [len(page) for page in pages] == [2, 2, 1]  # the last page is the short one
    assert [m["id"] for page in pages for m in page] == [m["id"] for m in whole]
