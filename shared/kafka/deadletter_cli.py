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
already handled it skip it (inbox), the one that failed handles it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from shared.kafka.deadletter import read_dead_letters, replay
from shared.kafka.publisher import kafka_publisher
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.settings_env import read_settings, refuse


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


async def replay_letters(kafka: KafkaSettings, positions: list[str]) -> None:
    wanted = {tuple(int(part) for part in position.split(":")) for position in positions}
    retained = await read_dead_letters(kafka)
    letters = [dl for dl in retained if (dl.partition, dl.offset) in wanted]
    missing = wanted - {(dl.partition, dl.offset) for dl in letters}
    if missing:
        raise SystemExit(f"no dead letter at {sorted(missing)}")
    async with kafka_publisher(kafka, "deadletter-cli") as publisher:
        for letter in letters:
            await replay(letter, publisher)
            print(f"replayed {letter.partition}:{letter.offset} to {letter.original_topic}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Inspect and replay dead letters.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print every retained dead letter as a JSON line")
    replay_parser = sub.add_parser("replay", help="republish dead letters to their topics")
    replay_parser.add_argument("positions", nargs="+", metavar="PARTITION:OFFSET")
    args = parser.parse_args()
    kafka = read_settings(KafkaSettings, "deadletter_cli")
    try:
        client_security(kafka)  # SASL without the OAuth trio: refused before connecting
    except ValueError as exc:
        refuse("deadletter_cli", [{"setting": "LT_KAFKA_SECURITY_PROTOCOL", "error": str(exc)}])
    if args.command == "list":
        asyncio.run(list_letters(kafka))
    else:
        asyncio.run(replay_letters(kafka, args.positions))


if __name__ == "__main__":
    main()
