"""Intake applies a run of other services' facts at once: one read, one write.

The consumer hands intake's handler each run of dossier facts of a fetched batch; the
run's dossiers are read with one query and the ones that changed written with one bulk
write, each dossier's facts applied in the run's order, in the run's unit of work.
Intake's own facts, applied when written, cost nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from intake.handlers import apply_dossier_facts

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.dossier import DossierFact
from shared.events.registry import make_envelope, parse_data
from shared.runtime import CommonSettings
from shared.testing import eventually
from tests.integration.intake.helpers import MORNING, RunningIntake, intake_settings, submission
from tests.integration.intake.helpers import running_intake as start_intake
from tests.integration.store_commands import StoreCommands
from tests.samples import transfer_accepted, transfer_requested

DISTRICT = "000.00.31.H59"


def at(minutes: int) -> datetime:
    return MORNING + timedelta(minutes=minutes)


def from_routing(fact: DossierFact, minutes: int) -> tuple[Envelope, DossierFact]:
    return make_envelope(fact, source="/lienthong/routing", time=at(minutes)), fact


async def submitted(intake: RunningIntake, count: int) -> list[str]:
    """Codes of new dossiers, once intake's consumer has seen their own facts go by."""
    codes = [
        (await intake.client.post("/v1/dossiers", json=submission())).json()["code"]
        for _ in range(count)
    ]
    inbox = intake.ctx.runtime.db["inbox"]

    async def own_facts_seen() -> bool:
        return await inbox.count_documents({}) == count

    await eventually(own_facts_seen)
    return codes


async def test_a_run_of_facts_costs_one_read_and_one_write(
    common_settings: CommonSettings,
) -> None:
    settings = intake_settings(common_settings)
    commands = StoreCommands("intake")
    async with start_intake(settings, ManualClock(MORNING)) as intake:
        first, second = await submitted(intake, 2)
        requested = from_routing(transfer_requested(first, to_unit=DISTRICT, at=at(10)), 10)
        run = [
            requested,
            from_routing(transfer_requested(second, to_unit=DISTRICT, at=at(12)), 12),
            from_routing(transfer_accepted(first, to_unit=DISTRICT, at=at(30)), 30),
            requested,  # already applied in this run: changes nothing
            from_routing(transfer_requested(first, to_unit=DISTRICT, at=at(20)), 20),  # late
            from_routing(transfer_requested("001.21.31.H59-261126-9999", at=at(5)), 5),
        ]
        commands.reset()
        async with intake.ctx.runtime.unit_of_work(run[0][0]) as uow:
            await apply_dossier_facts(run, uow, store=intake.ctx.store)
        assert commands.on("dossiers") == {"find": 1, "update": 1}

        one = await intake.ctx.store.get_dossier(first)
        two = await intake.ctx.store.get_dossier(second)
    assert one is not None and two is not None
    # The latest fact by time rules the state; the late one only adds its step.
    assert (one.state, one.holding_unit) == ("PROCESSING", DISTRICT)
    assert [(s.event_type, s.at) for s in one.history[1:]] == [
        ("dossier.transfer.requested.v1", at(10)),
        ("dossier.transfer.requested.v1", at(20)),
        ("dossier.transfer.accepted.v1", at(30)),
    ]
    assert two.state == "IN_TRANSFER"
    assert [s.event_type for s in two.history[1:]] == ["dossier.transfer.requested.v1"]


async def test_intakes_own_facts_are_passed_over_without_a_read(
    common_settings: CommonSettings,
) -> None:
    settings = intake_settings(common_settings)
    commands = StoreCommands("intake")
    async with start_intake(settings, ManualClock(MORNING)) as intake:
        [code] = await submitted(intake, 1)
        [received] = await intake.published(expect=1)
        before = await intake.ctx.store.get_dossier(code)
        fact = parse_data(received)
        assert isinstance(fact, DossierFact)
        commands.reset()
        async with intake.ctx.runtime.unit_of_work(received) as uow:
            await apply_dossier_facts([(received, fact)], uow, store=intake.ctx.store)
        assert commands.on("dossiers") == {}
        assert await intake.ctx.store.get_dossier(code) == before
