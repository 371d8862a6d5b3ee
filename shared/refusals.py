"""The one refusal type: what a rule refuses, said without any transport in mind.

A domain function raises ``Refused(code, detail, field=...)``: a stable machine code
(``not_holding_unit``, ``unknown_procedure``), a human detail and the field at fault.
It carries no HTTP status: each service's API keeps one table from code to status
(``service_app(refusal_statuses=...)``), and consumers turn the same refusal into a
refusal event.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A refused request or command: code, detail, the field at fault, extra facts."""

    def __init__(self, code: str, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.extra = extra
