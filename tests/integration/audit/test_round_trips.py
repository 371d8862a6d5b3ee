"""What the running audit service asks of the store: per consumer run, and per checkpoint look.

Counted from ``lt_store_commands_total`` of the service's own client (the test waits on
a client of its own, so its probes are not counted).
"""

from __future__ import annotations

from datetime import timedelta

from audit.config import AuditSettings
from audit.main import create_app
from audit.store import AuditStore

from shared.clock import ManualClock
from shared.mongo.client import mongo_client, service_database
from shared.testing import ActAs, eventually, running_app
from tests.integration.audit.helpers import publish
from tests.integration.audit.journey import journey
from tests.integration.store_commands import StoreCommands


async def test_a_run_costs_one_head_update_and_one_insert_and_a_look_reads_the_head(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    audit_settings.audit.checkpoint_every = 100
    audit_settings.audit.checkpoint_poll_seconds = 3600  # looks only when the test asks
    events = journey("C-1")
    app = create_app(audit_settings, clock)
    async with (
        running_app(app, ActAs("auditor")),
        mongo_client(audit_settings.mongo, "audit-test-probe") as probe_client,
    ):
        probe = AuditStore(service_database(probe_client, audit_settings.mongo, "audit"))

        async def logged(count: int) -> None:
            async def probed() -> bool:
                return (await probe.head()).size >= count

            await eventually(probed, timeout=60)

        await publish(app, events[:1])
        await logged(1)
        commands = StoreCommands("audit")
        for count in range(2, len(events) + 1):  # one at a time: a run each
            await publish(app, events[count - 1 : count])
            await logged(count)
        runs = len(events) - 1
        assert commands.on("log_head") == {"update": runs}
        assert commands.on("entries") == {"insert": runs}
        assert commands.on("inbox") == {"insert": runs}
        assert commands.on("") == {"commitTransaction": runs}

        checkpointer = app.state.checkpointer
        assert await checkpointer.checkpoint_if_due() is None  # reads what it then remembers
        commands.reset()
        assert await checkpointer.checkpoint_if_due() is None
        assert commands.on("log_head") == {"find": 1}
        assert commands.on("checkpoints") == {} and commands.on("entries") == {}

        clock.advance(timedelta(seconds=31))
        signed = await checkpointer.checkpoint_if_due()
        assert signed is not None and signed.tree_size == len(events)
