"""Every refusal code a service answers with is in its page under docs/, with its status:
a client reading the page must not meet a code it was never told of."""

from __future__ import annotations

import re
from pathlib import Path

import audit.api
import console.api
import intake.problems
import notification.api
import pytest
import routing.api
import witness.api

ROOT = Path(__file__).resolve().parents[3]
STATUS_TABLES: dict[str, dict[str, int]] = {
    "intake": intake.problems.STATUS,
    "routing": routing.api.STATUS,
    "notification": notification.api.STATUS,
    "audit": audit.api.STATUS,
    "console": console.api.STATUS,
    "witness": witness.api.STATUS,
}
# Answered in the protocol's own form, not as a problem document with its code.
NOT_A_PROBLEM = {("witness", "stale_old_size")}


@pytest.mark.parametrize("service", sorted(STATUS_TABLES))
def test_every_refusal_code_is_named_in_the_services_page(service: str) -> None:
    page = (ROOT / "docs" / f"{service}.md").read_text(encoding="utf-8")
    unnamed = [
        code
        for code in STATUS_TABLES[service]
        if (service, code) not in NOT_A_PROBLEM and f"`{code}`" not in page
    ]
    assert unnamed == []


def test_intakes_error_table_lists_every_code_with_its_status() -> None:
    page = (ROOT / "docs" / "intake.md").read_text(encoding="utf-8")
    table = page.split("## Error codes", 1)[1]
    rows = {
        (m.group(2), int(m.group(1)))
        for m in re.finditer(r"^\| (\d{3}) \| `([a-z_]+)` \|", table, flags=re.MULTILINE)
    }
    assert sorted(set(intake.problems.STATUS.items()) - rows) == []
