"""Dead letters: messages a consumer gave up on, kept with the error and their origin.

A dead letter keeps the original key, value and headers, and adds ``dlq_*`` headers:
original topic, partition and offset, the consumer group, the error and its kind,
the number of attempts and when it failed. ``replay`` puts the original message back
on its original topic; consumers' inboxes make replays safe for groups that had
already handled it.

The error of a message whose topic may carry personal data (``personal_data_of``) is
kept, and logged, without the values it may quote (``redacted_error_text``: the error's
class and, say, the field and kind of a validation error), with the header
``dlq_error_redacted: true``; the whole error is logged at DEBUG only. Readers show a
letter's error by ``DeadLetter.shown_error``: a personal topic's letter kept before
writers redacted (no such header) as its error's class alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiokafka.structs import ConsumerRecord

from shared.clock import Clock
from shared.error_text import error_text, letter_error, redacted_error_text
from shared.kafka.reading import read_retained
from shared.settings import KafkaSettings
from shared.telemetry.messaging import KafkaHeaders, header_value
from shared.telemetry.metrics import DEAD_LETTERS as DEAD_LETTER_COUNT
from shared.topics import DEAD_LETTERS, personal_data_of, topic_name

log = logging.getLogger(__name__)
DLQ_PREFIX = "dlq_"
MAX_ERROR_CHARS = 2000
REDACTED_HEADER = "dlq_error_redacted"  # "true": the error was kept without its values


class RawPublisher(Protocol):
    async def publish_raw(
        self, topic: str, value: bytes | None, *, key: str | bytes | None, headers: KafkaHeaders
    ) -> object: ...


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message as operators see it."""

    partition: int
    offset: int
    key: str | None
    value: bytes | None
    headers: KafkaHeaders
    original_topic: str
    original_partition: int
    original_offset: int
    consumer_group: str
    error: str
    error_kind: str
    attempts: int
    failed_at: str
    error_redacted: bool = False  # kept without the values it quoted (``REDACTED_HEADER``)

    def original_headers(self) -> KafkaHeaders:
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_PREFIX)]

    def shown_error(self, topic_prefix: str, error: str | None = None) -> str:
        """Its error (or ``error``, the ``dlq_error`` header's text) as operators are shown
        it, by the console and the CLI alike (``letter_error``): a letter of a personal
        topic kept before writers redacted shows its error's class alone."""
        personal = personal_data_of(topic_prefix, self.original_topic)
        return letter_error(self.error if error is None else error, personal, self.error_redacted)


class DeadLetterWriter:
    """Writes failed records to the dead-letter topic."""

    def __init__(
        self, publisher: RawPublisher, kafka: KafkaSettings, clock: Clock, service: str = ""
    ) -> None:
        self._publisher = publisher
        self._prefix = kafka.topic_prefix
        self._topic = topic_name(kafka.topic_prefix, DEAD_LETTERS)
        self._clock = clock
        self._service = service

    def expect(self, original_topic: str, kinds: tuple[str, ...]) -> None:
        """Export ``lt_dead_letters_total`` at 0 for dead letters of these kinds from this
        topic, before any is written: ``increase()`` sees nothing of a series whose first
        sample is already 1, so the first dead letter after a start would not alert."""
        for kind in kinds:
            DEAD_LETTER_COUNT.labels(self._service, original_topic, kind)

    def redacts(self, original_topic: str) -> bool:
        """Whether errors of messages from this (full) topic are kept and logged without
        the values they quote: the topic may carry personal data."""
        return bool(personal_data_of(self._prefix, original_topic))

    def error_text(self, original_topic: str, error: BaseException) -> str:
        """The error as kept with a dead letter from this topic, and as logged above DEBUG."""
        if self.redacts(original_topic):
            return redacted_error_text(error)[:MAX_ERROR_CHARS]
        return error_text(error)[:MAX_ERROR_CHARS]

    async def write(
        self,
        record: ConsumerRecord[bytes, bytes],
        error: Exception,
        *,
        kind: str,
        attempts: int,
        consumer_group: str,
    ) -> None:
        await self.write_message(
            original_topic=record.topic,
            key=record.key,
            value=record.value,
            headers=list(record.headers or ()),
            error=error,
            kind=kind,
            attempts=attempts,
            consumer_group=consumer_group,
            original_partition=record.partition,
            original_offset=record.offset,
        )

    async def write_message(
        self,
        *,
        original_topic: str,
        key: str | bytes | None,
        value: bytes | None,
        error: Exception,
        kind: str,
        attempts: int,
        consumer_group: str,
        headers: KafkaHeaders | None = None,
        original_partition: int = -1,
        original_offset: int = -1,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Dead-letter a message that did not come straight from a consumer record
        (e.g. an event whose delivery failed): partition and offset -1 when unknown,
        ``extra`` adds ``dlq_<name>`` headers."""
        shown = self.error_text(original_topic, error)
        headers = [(k, v) for k, v in headers or () if not k.startswith(DLQ_PREFIX)] + [
            ("dlq_original_topic", original_topic.encode()),
            ("dlq_original_partition", str(original_partition).encode()),
            ("dlq_original_offset", str(original_offset).encode()),
            ("dlq_consumer_group", consumer_group.encode()),
            ("dlq_error", shown.encode()),
            ("dlq_error_kind", kind.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_failed_at", self._clock.now().isoformat().encode()),
        ]
        if self.redacts(original_topic):
            headers.append((REDACTED_HEADER, b"true"))
        headers += [(DLQ_PREFIX + name, text.encode()) for name, text in (extra or {}).items()]
        await self._publisher.publish_raw(self._topic, value, key=key, headers=headers)
        DEAD_LETTER_COUNT.labels(self._service, original_topic, kind).inc()
        where = {
            "topic": original_topic,
            "partition": original_partition,
            "offset": original_offset,
        }
        log.warning("dead-lettered message", extra={**where, "kind": kind, "error": shown})
        if self.redacts(original_topic):  # the whole error, for whoever debugs
            log.debug("dead-lettered message's error", extra={**where, "error": error_text(error)})


def to_dead_letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers: KafkaHeaders = list(record.headers or ())

    def get(name: str) -> str:
        return header_value(headers, DLQ_PREFIX + name) or ""

    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if record.key else None,
        value=record.value,
        headers=headers,
        original_topic=get("original_topic"),
        original_partition=int(get("original_partition") or -1),
        original_offset=int(get("original_offset") or -1),
        consumer_group=get("consumer_group"),
        error=get("error"),
        error_kind=get("error_kind"),
        attempts=int(get("attempts") or 0),
        failed_at=get("failed_at"),
        error_redacted=get("error_redacted") == "true",
    )


async def read_dead_letters(kafka: KafkaSettings, limit: int | None = None) -> list[DeadLetter]:
    """Every dead letter currently retained (at most ``limit``, for a page), oldest first
    per partition (read-only). Whoever finds a letter by its position reads them all: a
    letter past a page's bound is still there to list and replay."""
    return [to_dead_letter(r) for r in await read_retained(kafka, DEAD_LETTERS, limit)]


async def replay(letter: DeadLetter, publisher: RawPublisher) -> None:
    """Put a dead letter's original message back on its original topic."""
    await publisher.publish_raw(
        letter.original_topic,
        letter.value,
        key=letter.key,
        headers=[
            *letter.original_headers(),
            ("replayed_from", f"{letter.partition}:{letter.offset}".encode()),
            ("replayed_at", datetime.now().astimezone().isoformat().encode()),
        ],
    )
