"""The committed contract documents match the models, and every contract is well formed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from shared.contracts import CONTRACTS_DIR, asyncapi_document, event_schema, stale_files
from shared.events import REGISTRY
from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn


def test_committed_documents_match_the_models() -> None:
    assert stale_files() == [], "run `make contracts` and commit docs/contracts"


@pytest.mark.parametrize("event_type", sorted(REGISTRY))
def test_event_type_names_follow_the_convention(event_type: str) -> None:
    *parts, version = event_type.split(".")
    assert len(parts) >= 2 and version.startswith("v") and version[1:].isdigit()
    jsonschema.Draft202012Validator.check_schema(event_schema(event_type))


def test_an_emitted_envelope_validates_against_its_committed_schema() -> None:
    event = make_envelope(
        DossierWithdrawn(
            dossier_code="000.00.01.H59-261126-0001",
            state=DossierState.WITHDRAWN,
            holding_unit="000.00.01.H59",
            withdrawn_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
        ),
        source="/tests",
    )
    schema = json.loads((CONTRACTS_DIR / "schemas" / "dossier.withdrawn.v1.json").read_text())
    jsonschema.validate(json.loads(event.to_bytes()), schema)
    broken = {**json.loads(event.to_bytes()), "type": "dossier.received.v1"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_asyncapi_document_names_every_topic_and_message() -> None:
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    listed = {name for channel in document["channels"].values() for name in channel["messages"]}
    assert listed == set(document["components"]["messages"])
    assert len(listed) == len(REGISTRY)
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {"dossier.events", "dossier.commands", "deadletters"} <= addresses


def test_asyncapi_sends_agencies_where_the_acls_let_them() -> None:
    """An agency writes only its own commands topic and reads only its own feed, over
    SASL/OAUTHBEARER (infra.kafka_access); the document says no more and no less."""
    document = asyncapi_document()
    operations = document["operations"].values()
    used = {(op["action"], document["channels"][op["channel"]["$ref"].split("/")[-1]]["address"])
            for op in operations}  # fmt: skip
    assert used == {("send", "dossier.commands.{unit}"), ("receive", "dossier.events.{unit}")}
    assert all(op["security"] for op in operations)
    assert all(server["security"] for server in document["servers"].values())
    assert "9092" not in document["servers"]["local"]["host"]  # the plaintext super user


def test_the_command_line_refuses_an_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped command is an error (exit 2), never a silent check."""
    from shared.contracts import main

    with pytest.raises(SystemExit) as exit_:
        main(["contracts", "wirte"])
    assert exit_.value.code == 2
    assert "invalid choice: 'wirte'" in capsys.readouterr().err


def test_the_changelogs_latest_entry_is_the_published_version() -> None:
    """Agencies read what changed in the version they get: the CHANGELOG's first entry is
    the ``info.version`` of the committed AsyncAPI document, and no version is listed twice."""
    from shared.contracts import CONTRACTS_VERSION

    changelog = (CONTRACTS_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = [line[3:].strip() for line in changelog.splitlines() if line.startswith("## ")]
    published = json.loads((CONTRACTS_DIR / "asyncapi.json").read_text())["info"]["version"]
    assert versions[0] == published == CONTRACTS_VERSION
    assert len(versions) == len(set(versions))
