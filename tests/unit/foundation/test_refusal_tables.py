"""Every refusal code a service raises has its HTTP status in that service's one table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from audit.api import STATUS as AUDIT
from console.api import STATUS as CONSOLE
from intake.problems import STATUS as INTAKE
from notification.api import STATUS as NOTIFICATION
from routing.api import STATUS as ROUTING
from routing.domain.state_machine import RefusalCode

SERVICES = Path(__file__).resolve().parents[3] / "services"
RAISED = re.compile(r'Refused\(\s*"([a-z_]+)"')


def raised_codes(service: str) -> set[str]:
    """The literal codes of ``Refused(...)`` in a service's source."""
    return {
        code
        for path in (SERVICES / service).rglob("*.py")
        for code in RAISED.findall(path.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize(
    ("service", "table"),
    [("intake", INTAKE), ("notification", NOTIFICATION), ("audit", AUDIT), ("console", CONSOLE)],
)
def test_every_raised_code_has_a_status(service: str, table: dict[str, int]) -> None:
    codes = raised_codes(service)
    assert codes, f"{service} raises no refusal"
    assert codes <= set(table), sorted(codes - set(table))
    assert all(400 <= status < 600 for status in table.values())


def test_every_routing_refusal_an_action_can_meet_has_a_status() -> None:
    # HTTP validates the body before any command; an agency topic holds commands to its unit
    topic_only = {RefusalCode.INVALID_COMMAND, RefusalCode.NOT_SENDERS_UNIT}
    assert set(RefusalCode) - topic_only <= set(ROUTING)


def test_the_idempotency_key_refusals_have_a_status_where_keys_are_taken() -> None:
    shared = set(RAISED.findall((SERVICES.parent / "shared/idempotency.py").read_text()))
    assert shared == {"invalid_idempotency_key", "idempotency_key_reused"}
    assert ROUTING["idempotency_key_reused"] == INTAKE["idempotency_key_reused"] == 409
    assert INTAKE["invalid_idempotency_key"] == 422  # routing answers 422 by default
