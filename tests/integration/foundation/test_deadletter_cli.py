"""``python -m shared.kafka.deadletter_cli list`` shows each letter's error as the console
does: a letter of a topic that may carry personal data kept before writers redacted
errors (no ``dlq_error_redacted`` header) as its error's class alone, never the values
its message quotes; a redacted letter and a letter of a topic without personal data as
kept. It lists every retained letter and replays any of them by position, past the
first thousand too. Against the real broker."""

from __future__ import annotations

import asyncio
import json

import pytest

from shared.error_text import OLD_ERROR_WITHHELD
from shared.kafka.deadletter import read_dead_letters
from shared.kafka.deadletter_cli import list_letters, replay_letters
from shared.kafka.publisher import kafka_publisher
from shared.runtime import CommonSettings
from shared.testing import eventually
from shared.topics import APPLICANT_CONTACTS, AUDIT_EVENTS, DEAD_LETTERS, TopicSpec, topic_name

CODE = "000.00.01.H59-261130-0091"
NAME, EMAIL, PHONE = "Nguyễn Thị Hoa", "hoa.nguyen@example.vn", "0912345678"
QUOTING = f"ValueError: no contact for {NAME} <{EMAIL}> [input_value='{PHONE}']"
REDACTED = "ValueError at services/x/handlers.py:3 in on_it: message withheld"


def letter_headers(
    prefix: str, topic: TopicSpec, offset: int, error: str
) -> list[tuple[str, bytes]]:
    return [
        ("dlq_original_topic", topic_name(prefix, topic).encode()),
        ("dlq_original_partition", b"0"),
        ("dlq_original_offset", str(offset).encode()),
        ("dlq_consumer_group", f"{prefix}routing".encode()),
        ("dlq_error", error.encode()),
        ("dlq_error_kind", b"handler_failed"),
        ("dlq_attempts", b"3"),
        ("dlq_failed_at", b"2026-11-30T09:00:00+07:00"),
    ]


async def test_list_shows_a_letter_kept_before_redaction_as_its_class_alone(
    common_settings: CommonSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    kafka = common_settings.kafka
    prefix = kafka.topic_prefix
    letters = [
        letter_headers(prefix, APPLICANT_CONTACTS, 1, QUOTING),  # kept before: whole error
        [*letter_headers(prefix, APPLICANT_CONTACTS, 2, REDACTED), ("dlq_error_redacted", b"true")],
        letter_headers(prefix, AUDIT_EVENTS, 3, "ValueError: checkpoint 12 out of order"),
    ]
    async with kafka_publisher(kafka, "test-deadletter-cli") as publisher:
        for headers in letters:
            await publisher.publish_raw(
                topic_name(prefix, DEAD_LETTERS), b"{}", key=CODE, headers=headers
            )

    async def all_retained() -> bool:
        return len(await read_dead_letters(kafka)) == len(letters)

    await eventually(all_retained)
    capsys.readouterr()
    await list_letters(kafka)
    printed = capsys.readouterr().out
    errors = {
        json.loads(line)["original"].rsplit("@", 1)[1]: json.loads(line)["error"]
        for line in printed.splitlines()
    }
    assert errors == {
        "1": f"ValueError: {OLD_ERROR_WITHHELD}",
        "2": REDACTED,
        "3": "ValueError: checkpoint 12 out of order",  # audit.events carries no personal data
    }
    for personal in (NAME, EMAIL, PHONE):
        assert personal not in printed


async def test_every_retained_letter_is_listed_and_replayed_past_the_first_thousand(
    common_settings: CommonSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading stopped at 1,000 letters: `list` left the rest out, and `replay` of a letter
    past them said "no dead letter at" a letter the topic retained (after a flood of
    dead letters, when replaying is needed most)."""
    kafka = common_settings.kafka
    prefix = kafka.topic_prefix
    count = 1005
    async with kafka_publisher(kafka, "test-deadletter-cli") as publisher:
        await asyncio.gather(
            *(
                publisher.publish_raw(
                    topic_name(prefix, DEAD_LETTERS),
                    b"{}",
                    key=CODE,  # one partition: the offsets are 0..count-1
                    headers=letter_headers(prefix, AUDIT_EVENTS, n, "ValueError: out of order"),
                )
                for n in range(count)
            )
        )
    capsys.readouterr()
    await list_letters(kafka)
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(listed) == count
    last = listed[-1]["at"]
    partition, offset = (int(part) for part in last.split(":"))
    await replay_letters(kafka, [(partition, offset)])
    assert capsys.readouterr().out == f"replayed {last} to {topic_name(prefix, AUDIT_EVENTS)}\n"
