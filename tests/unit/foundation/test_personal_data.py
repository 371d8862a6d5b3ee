"""Personal data in contracts: only applicant.contacts carries names and contacts.

Every contract still emitted on another topic (what agencies, audit and the other
services read) is checked field by field, nested models included, so a contract
that starts carrying a contact again fails here before it reaches a topic.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts import event_schema
from shared.events import REGISTRY
from shared.topics import APPLICANT_CONTACTS

# "name" alone also names documents and route steps, so the applicant's is checked by model.
CONTACT_FIELDS = {"email", "phone", "address", "identity_number", "applicant_name"}
EMITTED_ELSEWHERE = sorted(
    t for t, m in REGISTRY.items() if not m.DEPRECATED and m.TOPIC is not APPLICANT_CONTACTS
)


def property_names(schema: Any) -> set[str]:
    """Every property name anywhere in a JSON Schema (definitions included)."""
    names: set[str] = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            names |= property_names(item)
    return names


@pytest.mark.parametrize("event_type", EMITTED_ELSEWHERE)
def test_contracts_outside_applicant_contacts_carry_no_contact_fields(event_type: str) -> None:
    definitions = event_schema(event_type)["$defs"]
    assert not property_names(definitions) & CONTACT_FIELDS
    assert not {"ApplicantContact", "ContactDetails"} & set(definitions)
    applicant = definitions["Data"]["properties"].get("applicant")
    if applicant is not None:  # the keyed hash only
        assert set(definitions["ApplicantRef"]["properties"]) == {"identity_hash"}


def test_the_contact_registration_is_the_one_contract_with_contacts() -> None:
    on_contacts = [t for t, m in REGISTRY.items() if m.TOPIC is APPLICANT_CONTACTS]
    assert on_contacts == ["applicant.contact.registered.v1"]
    assert {"name", "email", "phone"} <= property_names(event_schema(on_contacts[0]))


def test_the_deprecated_versions_are_the_ones_that_carried_contacts() -> None:
    deprecated = sorted(t for t, m in REGISTRY.items() if m.DEPRECATED)
    assert deprecated == ["dossier.denied.v1", "dossier.received.v1", "dossier.submitted.v1"]
