"""The national portal connector over the real broker and store: facts in, messages out in
order, a failing endpoint retried, what was sent visible through the API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from notification.config import NotificationSettings
from notification.main import create_app
from notification.portal_sync import PortalSyncSettings

from infra.portal_receiver import PortalReceiver
from shared.testing import ActAs, eventually, free_port, running_app
from tests.integration.notification.helpers import publish
from tests.samples import envelope_of, received, transfer_requested

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
            )
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
