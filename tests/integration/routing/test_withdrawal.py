"""A withdrawal request that crossed the result on its way is declined as a fact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NoReturn

import pytest
from prometheus_client import REGISTRY
from routing import intake_facts
from routing.domain.route import RouteError

from shared.clock import ManualClock
from shared.events.dossier import DossierState
from shared.events.withdrawal import WithdrawalRequested
from shared.kafka.admin import ensure_topics
from shared.kafka.deadletter import DeadLetter, read_dead_letters, replay
from shared.runtime import CommonSettings
from shared.testing import eventually
from shared.topics import agency_events
from tests.integration.routing.helpers import (
    publisher,
    read_events,
    receive,
    routing_app,
    routing_settings,
    send,
    types,
    wait_for,
)
from tests.unit.routing.builders import DISTRICT_COMMITTEE, MONDAY_9AM, TAN_HOA_DESK, received

CODE = "001.21.31.H59-260302-0031"
DESK = {"unit": TAN_HOA_DESK, "actor": "Trần Thị B"}


async def waiting_gauges(app: Any) -> tuple[float | None, float | None]:
    """``lt_withdrawal_requests_waiting`` as the scheduler reports it now."""
    today = app.state.routing.calendar.local_date(app.state.routing.clock.now())
    await app.state.scheduler.report_gauges(today, force=True)

    def sample(measure: str) -> float | None:
        labels = {"service": "routing", "measure": measure}
        return REGISTRY.get_sample_value("lt_withdrawal_requests_waiting", labels)

    return sample("count"), sample("oldest_age_seconds")


async def test_a_request_crossing_the_result_is_declined_and_said(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        base = f"/v1/dossiers/{CODE}"
        clock.advance(timedelta(hours=1))
        refused = {**DESK, "outcome": "reject", "note": "Không thuộc thẩm quyền"}
        assert (await client.post(f"{base}/step/complete", json=refused)).is_success
        clock.advance(timedelta(hours=1))
        ready = await client.post(f"{base}/result/return", json=DESK)
        assert ready.status_code == 200, ready.text

        # Intake took the request before it heard of the result (it refuses one after).
        asked_at = MONDAY_9AM + timedelta(hours=1, minutes=59)
        request = WithdrawalRequested(
            dossier_code=CODE, state=DossierState.WITHDRAWAL_REQUESTED,
            holding_unit=TAN_HOA_DESK, requested_at=asked_at,
        )  # fmt: skip
        clock.advance(timedelta(minutes=5))
        cause = await send(pub, request, source="/lienthong/intake")

        events = await read_events(settings.kafka, CODE, expect=5)
        assert types(events)[-1] == "dossier.withdrawal.declined.v1"
        declined = events[-1]
        assert declined.causationid == cause.id
        assert declined.data["state"] == "RESULT_READY" and declined.data["portal_status"] == 9
        assert declined.data["reason_code"] == "result_ready"
        assert declined.data["holding_unit"] == TAN_HOA_DESK
        # Nothing else changed: the result can still be handed over.
        await wait_for(client, CODE, "RESULT_READY")
        trail = (await client.get(f"{base}/trail")).json()
        last = trail["events"][-1]
        assert (last["event"], last["detail_code"]) == (
            "dossier.withdrawal.declined.v1",
            "withdrawal_declined",
        )
        assert last["detail_params"] == {
            "requested_date": "2026-03-02",
            "reason_code": "result_ready",
        }
        handed = await client.post(f"{base}/result/hand-over", json=DESK)
        assert handed.status_code == 200, handed.text


async def test_a_request_intake_named_from_a_view_behind_reaches_the_holders_feed(
    common_settings: CommonSettings,
) -> None:
    """Intake names the units its view has seen hold the dossier; a request made while its
    view was a hand-over behind named the desk, not the district that had accepted it.
    Routing, which knows the holder, copies intake's very event to the district's feed
    (not to dossier.events again), and the district's stop reaches both feeds."""
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    desk_feed, district_feed = agency_events(TAN_HOA_DESK), agency_events(DISTRICT_COMMITTEE)
    await ensure_topics(settings.kafka, (desk_feed, district_feed))
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        received_id = (await receive(pub, client, CODE)).id
        base = f"/v1/dossiers/{CODE}"
        approve = {**DESK, "outcome": "approve"}
        assert (await client.post(f"{base}/step/complete", json=approve)).is_success
        district = {"unit": DISTRICT_COMMITTEE}
        assert (await client.post(f"{base}/transfer/accept", json=district)).is_success
        request = WithdrawalRequested(
            dossier_code=CODE, state=DossierState.WITHDRAWAL_REQUESTED,
            holding_unit=TAN_HOA_DESK, requested_at=MONDAY_9AM + timedelta(hours=2),
        )  # fmt: skip
        cause = await send(pub, request, source="/lienthong/intake")
        await wait_for(client, CODE, "WITHDRAWAL_REQUESTED")
        stop = {"unit": DISTRICT_COMMITTEE, "reason": "Người nộp rút hồ sơ"}
        assert (await client.post(f"{base}/stop", json=stop)).is_success

        fed = await read_events(
            settings.kafka, CODE, expect=1, source="/lienthong/intake", spec=district_feed
        )
        assert [(e.id, e.type) for e in fed] == [(cause.id, "dossier.withdrawal.requested.v1")]
        handed = ["dossier.step.completed.v1", "dossier.transfer.requested.v1"]
        held = [*handed, "dossier.transfer.accepted.v1", "dossier.stopped.v1"]
        stopped = await read_events(settings.kafka, CODE, expect=4, spec=district_feed)
        assert types(stopped) == held
        desk = await read_events(settings.kafka, CODE, expect=5, spec=desk_feed)
        assert types(desk) == ["dossier.route.planned.v1", *held]
        # Not published again where it was: intake's one record on dossier.events.
        mine = await read_events(settings.kafka, CODE, expect=2, source="/lienthong/intake")
        assert [e.id for e in mine] == [received_id, cause.id]
        # Nothing of it on the desk's feed from routing (intake told the desk itself).
        from_intake = await read_events(
            settings.kafka, CODE, expect=0, source="/lienthong/intake", spec=desk_feed
        )
        assert from_intake == []


async def test_a_request_before_the_reception_is_kept_and_taken_when_it_comes(
    common_settings: CommonSettings,
) -> None:
    """The desk received the dossier and the applicant asked to withdraw it at once, but
    routing read the request first (the reception dead-lettered and replayed later, or
    simply later): it keeps the request and takes it as it plans the route, so the
    dossier waits for the desk to stop it instead of going on as if never withdrawn."""
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, app), publisher(settings.kafka) as pub:
        request = WithdrawalRequested(
            dossier_code=CODE, state=DossierState.WITHDRAWAL_REQUESTED,
            holding_unit=TAN_HOA_DESK, requested_at=MONDAY_9AM + timedelta(minutes=5),
        )  # fmt: skip
        cause = await send(pub, request, source="/lienthong/intake")
        store = app.state.routing.store
        # The same event again (a replay from the dead letters) is kept once.
        await pub.publish(cause, WithdrawalRequested.TOPIC)

        async def kept() -> list[Any]:
            found = await store.early_withdrawals_of([CODE], None)
            return found.get(CODE) or []

        waiting = await eventually(kept)
        assert [(k.cause_id, k.requested_at) for k in waiting] == [(cause.id, request.requested_at)]
        assert (await client.get(f"/v1/dossiers/{CODE}")).status_code == 404
        await store.keep_early_withdrawal(waiting[0], None, clock.now())  # inbox aside
        assert await kept() == waiting

        clock.advance(timedelta(minutes=30))
        # Operations see it waiting (an alert fires past an hour: a reception is missing).
        assert await waiting_gauges(app) == (1, 1800.0)

        await send(pub, received(CODE), source="/lienthong/intake")
        await wait_for(client, CODE, "WITHDRAWAL_REQUESTED", holding_unit=TAN_HOA_DESK)
        assert await waiting_gauges(app) == (0, 0.0)
        # What routing would have said had the request come after the reception: the
        # route planned, and nothing of its own for the request (intake's fact).
        events = await read_events(settings.kafka, CODE, expect=1)
        assert types(events) == ["dossier.route.planned.v1"]
        assert await store.early_withdrawals_of([CODE], None) == {}
        trail = (await client.get(f"/v1/dossiers/{CODE}/trail")).json()
        assert [e["event"] for e in trail["events"]][-2:] == [
            "dossier.route.planned.v1",
            "dossier.withdrawal.requested.v1",
        ]
        stop = {"unit": TAN_HOA_DESK, "reason": "Người nộp rút hồ sơ"}
        stopped = await client.post(f"/v1/dossiers/{CODE}/stop", json=stop)
        assert stopped.status_code == 200, stopped.text
        events = await read_events(settings.kafka, CODE, expect=2)
        assert types(events) == ["dossier.route.planned.v1", "dossier.stopped.v1"]


async def test_a_request_overtaking_a_dead_lettered_reception_is_taken_on_its_replay(
    common_settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reception cannot be routed (a catalogue problem: dead-lettered with the reason),
    the applicant asks to withdraw meanwhile, the catalogue is fixed and the reception
    replayed from the dead letters: the dossier is planned and withdrawal requested."""
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)

    def unroutable(*_: object) -> NoReturn:
        raise RouteError("no district-level jurisdiction (catalogue being fixed)")

    async with routing_app(settings, clock) as (client, app), publisher(settings.kafka) as pub:
        monkeypatch.setattr(intake_facts, "resolve_route", unroutable)
        reception = await send(pub, received(CODE), source="/lienthong/intake")

        async def dead_lettered() -> list[DeadLetter]:
            letters = await read_dead_letters(settings.kafka)
            return [letter for letter in letters if letter.key == CODE]

        [letter] = await eventually(dead_lettered)
        request = WithdrawalRequested(
            dossier_code=CODE, state=DossierState.WITHDRAWAL_REQUESTED,
            holding_unit=TAN_HOA_DESK, requested_at=MONDAY_9AM + timedelta(minutes=5),
        )  # fmt: skip
        await send(pub, request, source="/lienthong/intake")
        store = app.state.routing.store
        await eventually(lambda: store.early_withdrawals_of([CODE]))

        monkeypatch.undo()  # the catalogue fixed
        await replay(letter, pub)
        await wait_for(client, CODE, "WITHDRAWAL_REQUESTED", holding_unit=TAN_HOA_DESK)
        events = await read_events(settings.kafka, CODE, expect=1)
        assert types(events) == ["dossier.route.planned.v1"]
        assert events[0].causationid == reception.id
        assert await store.early_withdrawals_of([CODE]) == {}
