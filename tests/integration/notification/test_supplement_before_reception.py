"""A supplement asked for before reception (Mẫu 02), over the real broker, store and SMTP
sink: the applicant is told in their language what is missing, the guidance and how to
supplement; their supplement tells them nothing; the national portal gets the dossier's
record at status 5, then its progress back to 1 and on to reception, in order."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from notification.config import NotificationSettings
from notification.main import create_app
from notification.portal_sync import PortalSyncSettings

from infra.portal_receiver import PortalReceiver
from shared.events.dossier import Channel, Language
from shared.testing import ActAs, eventually, free_port, running_app
from tests.integration.notification.helpers import notifications, publish, sms_lines
from tests.integration.notification.servers import _Collector
from tests.samples import (
    BIRTH,
    contact,
    envelope_of,
    intake_supplement_provided,
    intake_supplement_requested,
    received,
    registered,
)

A, B = "001.21.31.H59-261126-0401", "001.21.31.H59-261126-0402"
AN = contact(email="an.nguyen@example.vn", channels=(Channel.EMAIL, Channel.SMS))
JANE = contact(
    name="Jane Tran", email="jane.tran@example.com", channels=(Channel.EMAIL,), language=Language.EN
)
ASKED, SUPPLEMENTED, RECEIVED = (
    "dossier.intake.supplement.requested.v1",
    "dossier.intake.supplement.provided.v1",
    "dossier.received.v2",
)


@pytest.fixture
def portal() -> Iterator[PortalReceiver]:
    server = PortalReceiver(free_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: NotificationSettings, portal: PortalReceiver) -> NotificationSettings:
    endpoint = f"http://127.0.0.1:{portal.server_address[1]}/sync"
    sync = PortalSyncSettings(endpoint=endpoint, backoff_initial_s=0.05, interval_s=0.05)
    return settings.model_copy(update={"portal": sync})


async def test_the_applicant_is_told_what_to_supplement_and_the_portal_hears_of_it(
    settings: NotificationSettings, smtp: _Collector, sms_file: Path, portal: PortalReceiver
) -> None:
    lookup = f"{settings.options.lookup_base_url}{A}"
    async with running_app(create_app(settings), ActAs("operations")) as client:
        await publish(
            settings,
            envelope_of(registered(A, AN)),
            envelope_of(intake_supplement_requested(A)),  # handed in at the desk: first fact
            envelope_of(intake_supplement_provided(A)),
            envelope_of(received(A, procedure=BIRTH)),  # after it on the dossier's partition
            envelope_of(intake_supplement_requested(B)),
            envelope_of(registered(B, JANE)),  # the contact after the fact: it waited
        )
        # An's request and reception (email and SMS each), Jane's request: all settled.
        items = await eventually(lambda: _sent(client, A, 4))
        await eventually(lambda: _sent(client, B, 1))
        await eventually(lambda: _portal_has(portal, 7))

    # The supplement itself is the applicant's own act: nothing about it, to anyone.
    assert sorted(i["source_event_type"] for i in items) == sorted([ASKED] * 2 + [RECEIVED] * 2)
    [asked] = [m for m in smtp.to("an.nguyen@example.vn") if "bổ sung" in m.subject]
    assert asked.subject == f"Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ {A}"
    assert "Kính gửi Ông/Bà Nguyễn Văn An" in asked.body
    assert "  - Giấy chứng sinh do cơ sở y tế cấp" in asked.body  # the catalogue's name
    assert "birth_certificate" not in asked.body
    assert intake_supplement_requested(A).guidance in asked.body
    assert f"{lookup}/supplement" in asked.body and "mã tra cứu" in asked.body
    texts = [json.loads(line) for line in sms_lines(sms_file)]
    assert any(t["text"].startswith(f"Ho so {A} chua duoc tiep nhan") for t in texts)
    [english] = smtp.to("jane.tran@example.com")
    assert english.subject == f"Dossier {B}: documents needed before it can be received"
    assert "Dear Jane Tran" in english.body
    assert "  - Birth certificate issued by the medical facility" in english.body

    ours = [m for m in portal.received if m["data"][0]["MaHoSo"] == A]
    shown = [
        (m["service"], m.get("isUpdating"), m["data"][0].get("TrangThaiHoSo", "")
         or m["data"][0].get("TrangThai"))
        for m in ours
    ]  # fmt: skip
    assert shown == [
        ("DongBoHoSoMC", "False", "5"),  # the portal's first word of the dossier: its record
        ("CapNhatTienDoHoSoMC", None, "5"),
        ("CapNhatTienDoHoSoMC", None, "1"),  # supplemented: waiting for the desk again
        ("DongBoHoSoMC", "True", "2"),
        ("CapNhatTienDoHoSoMC", None, "2"),
    ]
    assert ours[2]["data"][0]["NoiDungXuLy"].endswith(f"({SUPPLEMENTED})")
    record = ours[0]["data"][0]
    assert (record["MaTTHC"], record["NgayTiepNhan"], record["NgayHenTra"]) == (BIRTH, "", "")


async def _sent(client: httpx.AsyncClient, dossier: str, n: int) -> list[dict[str, Any]] | None:
    items = await notifications(client, dossier)
    assert len(items) <= n, [i["source_event_type"] for i in items]
    return items if len(items) == n and all(i["status"] == "sent" for i in items) else None


async def _portal_has(portal: PortalReceiver, n: int) -> bool:
    assert len(portal.received) <= n
    return len(portal.received) == n
