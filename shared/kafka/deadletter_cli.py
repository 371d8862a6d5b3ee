"""Inspect and replay dead letters from the command line.

    python -m shared.kafka.deadletter_cli list
    python -m shared.kafka.deadletter_cli replay PARTITION:OFFSET [PARTITION:OFFSET ...]

``list`` shows each letter's error as the console does (``DeadLetter.shown_error``): a
letter of a topic that may carry personal data, kept before writers redacted errors,
shows its error's class alone, never its message (which may quote a person's values
for the topic's retention). The whole error is in the failing consumer's DEBUG log.

It reads the ``LT_KAFKA_*`` settings a service reads: on devstack's plaintext listener
``LT_KAFKA_SECURITY_PROTOCOL=PLAINTEXT``; elsewhere the console's Kafka client (the one
the ACLs let read the dead letters) through the ``LT_KAFKA_OAUTH_*`` trio. Without them
under SASL it stops at once (exit 78) instead of failing to connect.

Replaying puts the original message back on its original topic; consumers that had
already handled it skip it (inbox), the one that failed handles it again. A failed
delivery's letter (``delivery_failed``) is not republished: its event was handled, so
every inbox would skip it; the console's replay turns it into a redelivery request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
)

from shared.kafka.deadletter import read_dead_letters, replay
from shared.kafka.publisher import kafka_publisher
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.settings_env import read_settings, refuse
from shared.topics import CONSOLE_REPLAY_TOPICS

DELIVERY_FAILED = "delivery_failed"  # notification's letters of a delivery given up


async def list_letters(kafka: KafkaSettings) -> None:
    for letter in await read_dead_letters(kafka):
        print(
            json.dumps(
                {
                    "at": f"{letter.partition}:{letter.offset}",
                    "key": letter.key,
                    "original": f"{letter.original_topic}[{letter.original_partition}]@"
                    f"{letter.original_offset}",
                    "group": letter.consumer_group,
                    "kind": letter.error_kind,
                    "attempts": letter.attempts,
                    "failed_at": letter.failed_at,
                    "error": letter.shown_error(kafka.topic_prefix),
                },
                ensure_ascii=False,
            )
        )


def position(text: str) -> tuple[int, int]:
    """A dead letter's position as ``list`` prints it (``at``): PARTITION:OFFSET."""
    if not re.fullmatch(r"[0-9]+:[0-9]+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not PARTITION:OFFSET (e.g. 0:42)")
    partition, offset = text.split(":")
    return int(partition), int(offset)


async def replay_letters(kafka: KafkaSettings, positions: list[tuple[int, int]]) -> None:
    wanted = set(positions)
    retained = await read_dead_letters(kafka)
    letters = [dl for dl in retained if (dl.partition, dl.offset) in wanted]
    missing = wanted - {(dl.partition, dl.offset) for dl in letters}
    if missing:
        raise SystemExit(f"no dead letter at {sorted(missing)}")
    deliveries = [dl for dl in letters if dl.error_kind == DELIVERY_FAILED]
    async with kafka_publisher(kafka, "deadletter-cli") as publisher:
        for letter in letters:
            if letter.error_kind == DELIVERY_FAILED:
                continue
            await replay(letter, publisher)
            print(f"replayed {letter.partition}:{letter.offset} to {letter.original_topic}")
    if deliveries:  # notification's inbox has their events: a republish would resend nothing
        at = ", ".join(f"{dl.partition}:{dl.offset}" for dl in deliveries)
        raise SystemExit(
            f"not replayed {at}: failed deliveries, which a republish does not resend "
            "(notification already handled the event); redeliver them on the console's "
            "Dead letters page (Replay), which asks notification to send them again"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Inspect and replay dead letters.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print every retained dead letter as a JSON line")
    replay_parser = sub.add_parser("replay", help="republish dead letters to their topics")
    replay_parser.add_argument("positions", nargs="+", metavar="PARTITION:OFFSET", type=position)
    args = parser.parse_args()
    quiet_kafka_client()
    kafka = read_settings(KafkaSettings, "deadletter_cli")
    try:
        client_security(kafka)  # SASL without the OAuth trio: refused before connecting
    except ValueError as exc:
        refuse("deadletter_cli", [{"setting": "LT_KAFKA_SECURITY_PROTOCOL", "error": str(exc)}])
    try:
        if args.command == "list":
            asyncio.run(list_letters(kafka))
        else:
            asyncio.run(replay_letters(kafka, args.positions))
    except TopicAuthorizationFailedError as exc:  # a client the ACLs do not let do this
        raise SystemExit(refused_by_acl(kafka, exc)) from None
    except KafkaConnectionError as exc:
        raise SystemExit(f"cannot reach the broker at {kafka.bootstrap_servers}: {exc}") from None
    except KafkaTimeoutError as exc:  # e.g. a client that may not even see the topic
        raise SystemExit(
            f"the broker at {kafka.bootstrap_servers} did not answer in time ({exc}): "
            f"may {kafka.oauth_client_id or 'this client'} see the dead letters? only the "
            "console's client may"
        ) from None


def quiet_kafka_client() -> None:
    """The tool says what went wrong in one line of its own; aiokafka's logs would bury
    it: a client refused the topic logs "Topic deadletters is not authorized for this
    client" at every metadata retry (about a hundred thousand lines before the 40 s
    timeout), a broker out of reach "Unable connect to ..." before the tool's line."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL + 1)


def refused_by_acl(kafka: KafkaSettings, exc: TopicAuthorizationFailedError) -> str:
    """What to tell an operator whose client the broker refused a topic (one line)."""
    client = kafka.oauth_client_id or "this client"
    return (
        f"the broker refused {client} access to a topic ({exc}): only the console's "
        "client may read the dead letters, and it may write back only "
        f"{', '.join(s.name for s in CONSOLE_REPLAY_TOPICS)}; a unit's command is sent "
        "again by that unit's agency system"
    )


if __name__ == "__main__":
    main()
