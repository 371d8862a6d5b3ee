"""An agency system taking part in liên thông through Kafka only (runnable example).

It plays one unit (say, a district people's committee's own software):

1. consumes its own feed ``dossier.events.<unit>`` with its own consumer group: the
   facts of the dossiers its unit holds or held or is handed, and the refusals of its
   commands (docs/design.md "Agency feeds"); ``dossier.events``, with every unit's
   dossiers, is not an agency's to read (Kafka ACL);
2. when a hand-over to its unit is requested, sends ``command.transfer.accept.v1``;
3. once the acceptance is confirmed (``dossier.transfer.accepted.v1``, with the
   hand-over receipt), deliberately sends one invalid command (handing the result
   over while the dossier is still being processed) and then
   ``command.step.complete.v1`` with the outcome ``approve``;
4. prints the ``dossier.command.refused.v1`` routing answers to the invalid command,
   matched by the command's envelope id, and the step completion.

Every command is a CloudEvents envelope keyed by the dossier code. Against ``make run``
the broker wants a login: the agency logs in as its Keycloak client ``agency-<unit>``
(SASL/OAUTHBEARER, client credentials) and sends to its own topic
``dossier.commands.<unit>``, the only commands topic it may write (docs/routing.md)::

    .venv/bin/python examples/agency_client.py --unit 000.00.31.H59 \
        --bootstrap 127.0.0.1:9094 --client-secret dev-secret-agency-000.00.31.H59

A deployment's broker (docker compose) takes logins over TLS only (SASL_SSL): give
``--ca-file`` the deployment's CA certificate, ``ca.pem``, which the province's operators
hand to each agency (it is public; the broker's certificate must name the host in
``--bootstrap``)::

    python examples/agency_client.py --unit 000.00.31.H59 --bootstrap kafka.example.vn:9092 \
        --ca-file ca.pem --client-secret <its secret> --token-url https://id.example.vn/...

Without ``--client-secret`` it uses an unauthenticated local broker and the shared
``dossier.commands`` topic (local work and tests only); its feed must exist there (the
services make the feeds on a secured broker only: ``python -m infra.kafka_access``
makes them on any).

It stops after ``--handovers`` dossiers were handled, or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.envelope import Envelope, MalformedMessage
from shared.events.commands import AcceptTransfer, CompleteStep, HandOverResult, UnitCommand
from shared.events.dossier import StepOutcome
from shared.events.registry import make_envelope
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.topics import agency_commands, agency_events

COMMANDS = "dossier.commands"


@dataclass
class Agency:
    """What this unit's system has sent and seen."""

    unit: str
    producer: AIOKafkaProducer
    topic: str
    actor: str = "agency-client"
    sent: dict[str, str] = field(default_factory=dict)  # command id -> dossier code
    refused: set[str] = field(default_factory=set)  # dossiers whose invalid command came back
    completed: set[str] = field(default_factory=set)

    async def send(self, command: UnitCommand) -> Envelope:
        envelope = make_envelope(command, source=f"/agency/{self.unit}")
        await self.producer.send_and_wait(
            self.topic, envelope.to_bytes(), key=command.dossier_code.encode()
        )
        self.sent[envelope.id] = command.dossier_code
        return envelope

    async def on_event(self, event: Envelope) -> None:
        data, code = event.data, event.subject
        if event.type == "dossier.transfer.requested.v1" and data["to_unit"] == self.unit:
            say(f"HANDOVER REQUESTED {code} step {data['step_index']} from {data['from_unit']}")
            accept = await self.send(AcceptTransfer(dossier_code=code, unit=self.unit))
            say(f"SENT command.transfer.accept.v1 {accept.id}")
        elif event.type == "dossier.transfer.accepted.v1" and data["to_unit"] == self.unit:
            say(f"ACCEPTED {code} receipt {data['receipt']['receipt_id']}")
            invalid = await self.send(HandOverResult(dossier_code=code, unit=self.unit))
            say(f"SENT INVALID command.result.handover.v1 {invalid.id}")
            done = await self.send(
                CompleteStep(
                    dossier_code=code,
                    unit=self.unit,
                    actor=self.actor,
                    outcome=StepOutcome.APPROVE,
                    note="Đã thẩm định, đề nghị chuyển bước tiếp theo",
                )
            )
            say(f"SENT command.step.complete.v1 {done.id}")
        elif event.type == "dossier.command.refused.v1" and data["command_id"] in self.sent:
            self.refused.add(code)
            say(
                f"REFUSED {data['command_type']} {data['command_id']}: "
                f"{data['code']} ({data['reason']})"
            )
        elif event.type == "dossier.step.completed.v1" and event.causationid in self.sent:
            self.completed.add(code)
            say(f"COMPLETED {code} step {data['step_index']} outcome {data['outcome']}")

    def handled(self) -> int:
        """Dossiers both completed and whose invalid command was refused."""
        return len(self.completed & self.refused)


def say(line: str) -> None:
    print(line, flush=True)


def security(args: argparse.Namespace) -> dict[str, object]:
    """The agency's login (its Keycloak client), or none on a local plaintext broker."""
    if not args.client_secret:
        return client_security(KafkaSettings(security_protocol="PLAINTEXT"))
    settings = KafkaSettings(
        # With the deployment's CA: TLS, the broker's certificate checked against it.
        security_protocol="SASL_SSL" if args.ca_file else "SASL_PLAINTEXT",
        ssl_cafile=args.ca_file,
        oauth_token_url=args.token_url,
        oauth_client_id=f"agency-{args.unit}",
        oauth_client_secret=args.client_secret,
    )
    return client_security(settings)


async def run(args: argparse.Namespace) -> int:
    login = security(args)
    feed = f"{args.topic_prefix}{agency_events(args.unit).name}"
    consumer = AIOKafkaConsumer(
        feed,
        bootstrap_servers=args.bootstrap,
        group_id=args.group or f"{args.topic_prefix}agency-{args.unit}",
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=True,
        **login,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap, acks="all", enable_idempotence=True, **login
    )
    await consumer.start()
    await producer.start()
    commands = agency_commands(args.unit).name if args.client_secret else COMMANDS
    agency = Agency(args.unit, producer, f"{args.topic_prefix}{commands}")
    say(f"LISTENING as {args.unit} on {feed}")
    deadline = time.monotonic() + args.max_seconds
    try:
        while agency.handled() < args.handovers and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    try:
                        event = Envelope.from_bytes(record.value)
                    except MalformedMessage:
                        continue  # not ours to judge; routing dead-letters what it cannot read
                    await agency.on_event(event)
    finally:
        await consumer.stop()
        await producer.stop()
    finished = agency.handled() >= args.handovers
    say(f"DONE {agency.handled()} hand-over(s)" if finished else "TIMED OUT")
    return 0 if finished else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers.")
    parser.add_argument("--unit", required=True, help="This unit's agency code.")
    parser.add_argument("--topic-prefix", default="", help="Topic prefix (LT_KAFKA_TOPIC_PREFIX).")
    parser.add_argument("--group", default=None, help="Consumer group (default: agency-<unit>).")
    parser.add_argument("--handovers", type=int, default=1, help="Stop after this many.")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="Give up after this.")
    parser.add_argument(
        "--client-secret", default=None, help="Secret of Keycloak client agency-<unit> (SASL)."
    )
    parser.add_argument(
        "--ca-file",
        default=None,
        help="The deployment's CA certificate (ca.pem): log in over TLS (SASL_SSL).",
    )
    parser.add_argument(
        "--token-url",
        default="http://127.0.0.1:8180/realms/lienthong/protocol/openid-connect/token",
        help="Keycloak token endpoint.",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
