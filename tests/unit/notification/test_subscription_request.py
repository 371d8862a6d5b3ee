"""A subscription's request holds its text to the platform's rules: a description with a
terminal escape, a NUL or a bidirectional control, and an administrator's unit filter
naming no unit code, were stored as sent (201) and shown back to operators."""

from __future__ import annotations

from typing import Any

import pytest
from notification.api import SubscriptionRequest
from pydantic import ValidationError

VALID = {
    "url": "https://portal.example/lienthong/hooks",
    "event_types": ["dossier.received.v2"],
    "units": ["001.21.31.H59"],
    "description": "district portal\ttab and\nline breaks are typed",
}


def test_a_subscription_as_documented_is_valid() -> None:
    assert SubscriptionRequest.model_validate(VALID).units == ["001.21.31.H59"]
    assert SubscriptionRequest.model_validate({**VALID, "units": []}).units == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "a\x1b[31mred"),
        ("description", "a\x00b"),
        ("description", "a\x9bb"),
        ("description", "admin\u202etxt.exe"),
        ("units", ["../x"]),
        ("units", ["001.21.31.H59", "all"]),
    ],
)
def test_text_that_breaks_the_rules_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        SubscriptionRequest.model_validate({**VALID, field: value})
    assert refused.value.errors()[0]["loc"][0] == field
