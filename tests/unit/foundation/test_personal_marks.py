"""Every string of every contract is marked personal or declared in clear.

The audit log seals each field a contract marks personal (docs/audit.md); a field added
later without a mark would be kept in clear, hashed, for ever. So every registered event
type is walked, nested models and lists included, and any free-text string (no pattern,
enum or literal) that is neither marked personal nor declared in clear fails here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from shared.events import REGISTRY
from shared.events.personal import (
    PERSONAL,
    Code,
    InClear,
    PersonalText,
    personal_paths,
    unclassified_text,
)


@pytest.mark.parametrize("event_type", sorted(REGISTRY))
def test_every_string_of_every_contract_is_classified(event_type: str) -> None:
    assert unclassified_text(REGISTRY[event_type]) == [], (
        f"{event_type}: mark these fields PersonalText (sealed in the audit log) or declare "
        "them in clear with InClear('why') / Code (shared/events/personal.py)"
    )


def test_the_pseudonyms_and_free_texts_the_dpo_found_are_marked() -> None:
    def marked(event_type: str) -> list[str]:
        return personal_paths(REGISTRY[event_type])

    assert {"applicant.identity_hash", "documents.*.name", "note"} <= set(
        marked("dossier.received.v2")
    )
    for event_type in (
        "dossier.withdrawal.requested.v1",
        "dossier.withdrawn.v1",
        "dossier.denied.v2",
        "dossier.stopped.v1",
        "dossier.transfer.refused.v1",
        "dossier.command.refused.v1",
        "operations.notification.redelivery.requested.v1",
    ):
        assert "reason" in marked(event_type), event_type
    assert {"missing_documents.*", "reason"} <= set(marked("dossier.supplement.requested.v1"))
    assert "apology.reason" in marked("dossier.apology.issued.v1")
    assert "description" in marked("dossier.payment.requested.v1")
    assert "reference" in marked("dossier.payment.received.v1")
    assert {"recipient_ref", "error"} <= set(marked("notification.failed.v1"))
    assert "recipient_ref" in marked("notification.sent.v1")
    assert "error" in marked("operations.deadletter.replayed.v1")


class Kind(StrEnum):
    A = "a"


class Inner(BaseModel):
    label: str
    secret: PersonalText


class Example(BaseModel):
    free: str
    maybe_free: str | None = None
    texts: list[str]
    inner: Inner
    items: list[Inner]
    anything: dict[str, Any]
    hashed: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: Kind
    literal: Literal["x", "y"]
    code: Code
    unit: Annotated[str, InClear("a unit code")] | None = None
    note: PersonalText | None = None
    whole: Annotated[list[str], PERSONAL]
    each: list[PersonalText]
    count: int


def test_the_walk_finds_unmarked_text_wherever_it_is() -> None:
    assert unclassified_text(Example) == [
        "free",
        "maybe_free",
        "texts.*",
        "inner.label",
        "items.*.label",
        "anything (dict[str, typing.Any]: a type the walk does not know)",
    ]
    assert personal_paths(Example) == [
        "inner.secret",
        "items.*.secret",
        "note",
        "whole",
        "each.*",
    ]


def test_in_clear_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="why"):
        InClear(" ")
