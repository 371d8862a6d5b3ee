"""The email channel's SMTP connections are kept open and reused, against a real SMTP
server (aiosmtpd): one connection for messages sent one after another, no more than
configured for messages sent at once, and a relay that went away and came back is
reached on a new connection without failing a message."""

from __future__ import annotations

import asyncio

from notification.channels import EmailChannel, OutgoingMessage
from notification.config import SmtpSettings
from notification.smtp import SmtpPool

from shared.clock import ManualClock
from shared.events.dossier import Channel
from shared.testing import free_port
from tests.integration.notification.servers import smtp_sink
from tests.samples import AT


def email(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=f"n-{n}",
        channel=Channel.EMAIL,
        address=f"an{n}@example.vn",
        dossier_code="D-1",
        event_id=f"e-{n}",
        event_type="dossier.received.v2",
        subject="Tiếp nhận hồ sơ",
        body="Hồ sơ của bạn đã được tiếp nhận.",
    )


async def test_messages_one_after_another_share_one_connection() -> None:
    with smtp_sink() as sink:
        channel = EmailChannel(SmtpSettings(port=sink.port, connections=4), ManualClock(AT))
        for n in range(3):
            await channel.send(email(n))
        await channel.close()

    assert [m.rcpt for m in sink.messages] == [[f"an{n}@example.vn"] for n in range(3)]
    assert len({m.peer for m in sink.messages}) == 1


async def test_messages_sent_at_once_use_at_most_the_configured_connections() -> None:
    with smtp_sink() as sink:
        channel = EmailChannel(SmtpSettings(port=sink.port, connections=2), ManualClock(AT))
        await asyncio.gather(*(channel.send(email(n)) for n in range(8)))
        await channel.close()

    assert len(sink.messages) == 8
    assert 1 <= len({m.peer for m in sink.messages}) <= 2


async def test_a_relay_that_restarted_is_reached_on_a_new_connection() -> None:
    settings = SmtpSettings(port=free_port(), timeout_s=5)
    pool = SmtpPool(settings, size=1, check_after_s=0)  # every reuse is checked first
    build = EmailChannel(settings, ManualClock(AT)).build
    with smtp_sink(settings.port) as first:
        await pool.send(build(email(1)))
    with smtp_sink(settings.port) as second:  # restarted: the old connection is dead
        await pool.send(build(email(2)))
        await pool.close()

    assert [m.rcpt for m in first.messages] == [["an1@example.vn"]]
    assert [m.rcpt for m in second.messages] == [["an2@example.vn"]]
