"""A fetched batch of received dossiers: one read and one insert for all, each dossier
planned in its own event's trace, a dossier routed already left alone."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from routing.intake_facts import on_dossiers_received

from shared.events.registry import make_envelope
from shared.runtime import CommonSettings
from shared.unit_of_work import UnitOfWork
from tests.integration.routing.helpers import (
    quiet_routing,
    receive,
)
from tests.integration.store_commands import StoreCommands
from tests.unit.routing.builders import received

ROUTED = "001.21.31.H59-260302-0031"
NEW = ["001.21.31.H59-260302-0032", "001.21.31.H59-260302-0033"]


def span_in_trace(trace_id: int) -> trace.Span:
    context = SpanContext(trace_id, 1, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return NonRecordingSpan(context)


async def test_a_batch_plans_its_dossiers_in_one_read_and_one_insert_each_in_its_trace(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        await receive(pub, client, ROUTED)
        events = [
            (make_envelope(received(code), source="/lienthong/intake"), received(code))
            for code in [ROUTED, *NEW]
        ]
        traces = {envelope.id: 0xA0 + i for i, (envelope, _) in enumerate(events)}
        commands = StoreCommands("routing")

        async def work(uow: UnitOfWork) -> None:
            for envelope, _ in events:
                uow.span_of_event(envelope, span_in_trace(traces[envelope.id]))
            await on_dossiers_received(events, uow, routing=app.state.routing)

        await app.state.runtime.units.run(work, cause=events[0][0])

        dossiers = app.state.routing.store.dossiers
        # Whatever the batch: one read and one insert, numbered from the new dossiers'
        # counters (``reserve_in_transaction``: a findAndModify each below three, else two
        # calls).
        assert commands.on("dossiers") == {"find": 1, "insert": 1}
        # And one read of the withdrawal requests kept for the new ones (none: no delete).
        assert commands.on("early_withdrawals") == {"find": 1}
        assert commands.on("counters") == {"findAndModify": 2}
        for (envelope, _), code in zip(events[1:], NEW, strict=True):
            stored = await dossiers.find_one({"_id": code})
            trace_id = f"{traces[envelope.id]:032x}"
            assert stored["journey"]["traceparent"].split("-")[1] == trace_id
            [planned] = await app.state.runtime.outbox.entries_for(code)
            assert planned["type"] == "dossier.route.planned.v1"
            assert dict(planned["trace_headers"])["traceparent"].split("-")[1] == trace_id
        routed = await app.state.runtime.outbox.entries_for(ROUTED)
        assert [entry["type"] for entry in routed] == ["dossier.route.planned.v1"]  # no second
