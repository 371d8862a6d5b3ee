"""Published contracts: a JSON Schema per event type and an AsyncAPI 3 document.

Generated from the registered models, committed under ``docs/contracts`` and checked
by a test, so the documents agencies integrate against never drift from the code.

    python -m shared.contracts write   # regenerate docs/contracts
    python -m shared.contracts check   # exit 1 if the committed files differ
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.envelope import Envelope
from shared.events import REGISTRY
from shared.events.registry import EventData
from shared.topics import (
    ALL_TOPICS,
    AUDIT_EVENTS,
    DOSSIER_COMMANDS,
    DOSSIER_EVENTS,
    OPERATIONS_EVENTS,
    TopicSpec,
    agency_commands,
    agency_events,
)

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "docs" / "contracts"
SCHEMA_BASE = "https://lienthong.example/contracts/schemas/"
CONTRACTS_VERSION = "5.1.0"  # see docs/contracts/CHANGELOG.md


def message_name(event_type: str) -> str:
    """``dossier.transfer.accepted.v1`` -> ``DossierTransferAcceptedV1``."""
    return "".join(part.capitalize() for part in event_type.replace("_", ".").split("."))


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of a whole message: the envelope with this type's data."""
    model = REGISTRY[event_type]
    data_schema = model.model_json_schema(mode="serialization")
    definitions = data_schema.pop("$defs", {})
    envelope = Envelope.model_json_schema(mode="serialization")
    envelope["properties"]["type"] = {"const": event_type, "description": "Event type."}
    envelope["properties"]["data"] = {"$ref": "#/$defs/Data"}
    envelope["required"] = sorted({*envelope.get("required", []), "data"})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{event_type}.json",
        **envelope,
        "title": message_name(event_type),
        "description": (model.__doc__ or "").strip(),
        "$defs": {**definitions, "Data": data_schema},
        **({"deprecated": True} if model.DEPRECATED else {}),
    }


def _channel(spec: TopicSpec, models: list[type[EventData]]) -> dict[str, Any]:
    return {
        "address": spec.name,
        "description": spec.description,
        "messages": {
            message_name(m.EVENT_TYPE): {
                "$ref": f"#/components/messages/{message_name(m.EVENT_TYPE)}"
            }
            for m in models
        },
        "bindings": {
            "kafka": {
                "partitions": spec.partitions,
                "replicas": 1,
                "topicConfiguration": {
                    "retention.ms": spec.retention_ms,
                    "cleanup.policy": ["delete"],
                },
                "bindingVersion": "0.5.0",
            }
        },
    }


# What each topic's Kafka key is (the dossier code everywhere else).
KEYS = {
    AUDIT_EVENTS.name: "audit-log: one partition, the log's checkpoints in order",
    OPERATIONS_EVENTS.name: "Dossier code when the action concerns one, else operations",
}
AGENCY_CHANNEL = "DossierCommandsUnit"
FEED_CHANNEL = "DossierEventsUnit"
LOCAL_TOKEN_URL = "http://127.0.0.1:8180/realms/lienthong/protocol/openid-connect/token"


def _message(model: type[EventData]) -> dict[str, Any]:
    event_type = model.EVENT_TYPE
    key = KEYS.get(model.TOPIC.name, "Dossier code")
    return {
        "name": event_type,
        "title": message_name(event_type),
        "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else event_type,
        "contentType": "application/cloudevents+json",
        "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
        "payload": {"$ref": f"schemas/{event_type}.json"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": key},
                "bindingVersion": "0.5.0",
            }
        },
    }


def _channel_id(spec: TopicSpec) -> str:
    return "".join(part.capitalize() for part in spec.name.split("."))


def _agency_channel(commands: list[type[EventData]]) -> dict[str, Any]:
    """Each agency's own commands topic, the only one it may write."""
    example = agency_commands("{unit}")
    channel = _channel(example, commands)
    channel["description"] = (
        "The commands of one agency system, bound to its unit: only the agency's Keycloak "
        "client agency-<unit> may write it (Kafka ACL), so routing knows who sent each "
        "command and refuses one that claims another unit (not_senders_unit). Key: dossier "
        "code. A refused command yields dossier.command.refused.v1 with a code on "
        "dossier.events and on the agency's own feed dossier.events.<unit>; a message that "
        "breaks its contract (envelope, type or fields) but names its id and subject gets "
        "invalid_command; one that does not is dead-lettered."
    )
    channel["parameters"] = {"unit": {"description": "The agency's unit code, e.g. 000.00.31.H59."}}
    return channel


def _feed_channel(facts: list[type[EventData]]) -> dict[str, Any]:
    """Each agency's own feed, the only topic it may read."""
    channel = _channel(agency_events("{unit}"), facts)
    channel["description"] = (
        "The dossier facts of one agency system's unit, the same records (envelope, key, "
        "headers) as on dossier.events: those of the dossiers the unit holds or held, or "
        "is handed, and the refusals of the agency's own commands (docs/design.md, "
        "'Agency feeds', says which fact goes to which units). Only the agency's Keycloak "
        "client agency-<unit> may read it (Kafka ACL); dossier.events is not an agency's "
        "to read. Key: dossier code (one partition: each dossier's facts in order). "
        "At-least-once: a record may come twice, with the same id."
    )
    channel["parameters"] = {"unit": {"description": "The agency's unit code, e.g. 000.00.31.H59."}}
    return channel


def _operations() -> dict[str, Any]:
    """What an agency system does: write its own commands topic, read its own feed."""
    return {
        f"send{AGENCY_CHANNEL}": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{AGENCY_CHANNEL}"},
            "summary": "An agency system sends commands to its own topic dossier.commands.<unit>.",
            "security": [{"$ref": "#/components/securitySchemes/keycloak"}],
        },
        f"receive{FEED_CHANNEL}": {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{FEED_CHANNEL}"},
            "summary": "An agency system consumes its own feed dossier.events.<unit> (the "
            "only topic it may read).",
            "security": [{"$ref": "#/components/securitySchemes/keycloak"}],
            "bindings": {
                "kafka": {
                    "groupId": {
                        "type": "string",
                        "description": "Must start with agency-<unit> (Kafka ACL on the "
                        "prefix), e.g. agency-000.00.31.H59.reports.",
                    },
                    "bindingVersion": "0.5.0",
                }
            },
        },
    }


def _servers() -> dict[str, Any]:
    security = [{"$ref": "#/components/securitySchemes/keycloak"}]
    return {
        "local": {
            "host": "127.0.0.1:9094",
            "protocol": "kafka",
            "description": "make run: devstack's SASL listener (LT_KAFKA_SASL_PORT).",
            "security": security,
        },
        "compose": {
            "host": "kafka:9092",
            "protocol": "kafka-secure",
            "description": "docker compose: TLS (SASL_SSL); trust the deployment's CA, ca.pem "
            "(python -m infra.tls), not the system CAs.",
            "security": security,
        },
    }


def _security_scheme() -> dict[str, Any]:
    return {
        "type": "oauth2",
        "description": "SASL/OAUTHBEARER (SASL_SSL under compose, SASL_PLAINTEXT on make "
        "run's local listener): the client presents an access token of its Keycloak client "
        "(client credentials; an agency's client is agency-<unit>), audience lienthong. The "
        "broker's principal is the token's azp.",
        "flows": {"clientCredentials": {"tokenUrl": LOCAL_TOKEN_URL, "availableScopes": {}}},
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document for every topic and message."""
    by_topic: dict[str, list[type[EventData]]] = {spec.name: [] for spec in ALL_TOPICS}
    for event_type in sorted(REGISTRY):
        by_topic[REGISTRY[event_type].TOPIC.name].append(REGISTRY[event_type])
    channels = {_channel_id(spec): _channel(spec, by_topic[spec.name]) for spec in ALL_TOPICS}
    channels[AGENCY_CHANNEL] = _agency_channel(by_topic[DOSSIER_COMMANDS.name])
    channels[FEED_CHANNEL] = _feed_channel(by_topic[DOSSIER_EVENTS.name])
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Liên thông dossier events",
            "version": CONTRACTS_VERSION,
            "description": "Events and commands exchanged between commune, district and province "
            "units. Every message is a CloudEvents 1.0 structured JSON envelope (attributes it "
            "does not know are ignored); the Kafka key is the dossier code, so each dossier's "
            "messages are ordered. An event id is unique: a message whose id was processed "
            "before is taken for a redelivery and ignored, so use a UUID.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": _servers(),
        "channels": channels,
        "operations": _operations(),
        "components": {
            "messages": {message_name(t): _message(REGISTRY[t]) for t in sorted(REGISTRY)},
            "schemas": {"KafkaHeaders": _headers_schema()},
            "securitySchemes": {"keycloak": _security_scheme()},
        },
    }


def _headers_schema() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "ce_id": {**text, "description": "Envelope id."},
            "ce_type": {**text, "description": "Event type."},
            "ce_source": {**text, "description": "Producing service."},
            "ce_correlationid": {**text, "description": "Correlation id of the flow."},
            "content-type": {"const": "application/cloudevents+json"},
            "traceparent": {**text, "description": "W3C trace context."},
        },
    }


def rendered_files() -> dict[Path, str]:
    """Every contract file's path and content."""
    files = {
        CONTRACTS_DIR / "schemas" / f"{t}.json": _dump(event_schema(t)) for t in sorted(REGISTRY)
    }
    files[CONTRACTS_DIR / "asyncapi.json"] = _dump(asyncapi_document())
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def stale_files() -> list[str]:
    """Contract files that are missing, differ from the models, or no longer have a model."""
    expected = rendered_files()
    stale = [str(p) for p, text in expected.items() if not p.exists() or p.read_text() != text]
    present = set((CONTRACTS_DIR / "schemas").glob("*.json")) if CONTRACTS_DIR.exists() else set()
    stale += [str(p) for p in present - set(expected)]
    return sorted(stale)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.contracts",
        description="check (default): the contract files are what the models render; "
        "write: render them (make contracts).",
    )
    parser.add_argument("command", nargs="?", default="check", choices=("check", "write"))
    command = parser.parse_args(argv[1:]).command
    if command == "write":
        for path, text in rendered_files().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for path in set((CONTRACTS_DIR / "schemas").glob("*.json")) - set(rendered_files()):
            path.unlink()
        print(f"wrote {len(rendered_files())} contract files under {CONTRACTS_DIR}")
        return 0
    stale = stale_files()
    for name in stale:
        print(f"stale contract: {name}")
    if stale:
        print("run `make contracts` to regenerate them from the models")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
