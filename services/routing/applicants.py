"""The applicant's name for routing's printed forms, asked of intake when a form is rendered.

Dossier events carry no personal data, so routing never stores the applicant's name.
Forms addressed to the applicant (Mẫu 02, 04) name them, so when a caller entitled to the
dossier asks for one, routing asks intake's ``GET /v1/dossiers/{code}/applicant-name``
with its own client's token, puts the name on the page it serves, and keeps nothing.
Intake admits only the ``routing`` client there and logs each read. When intake cannot
answer (down, slow, dossier unknown there), the form is still served with the name line
left for the desk to fill in, as before: a form is never refused for want of a name.
When intake answers 410 ``personal_data_erased`` (the dossier's retention has passed and
its personal data were erased, docs/intake.md), that is a known answer, not a fault: the
form says so on the name line (``routing.forms.ERASED_NAME``), and nothing is warned.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Protocol

import httpx

log = logging.getLogger(__name__)


class Erased(Enum):
    """Intake's answer for a dossier whose personal data it erased: no name, for good."""

    ERASED = "personal_data_erased"


ERASED = Erased.ERASED
ApplicantName = str | Erased | None
"""The name, ``ERASED``, or None when it is not known (left for the desk to fill in)."""


class ApplicantNames(Protocol):
    """Where a form's applicant name comes from."""

    async def name_of(self, code: str) -> ApplicantName: ...


class NoApplicantNames:
    """No intake configured (``LT_ROUTING_INTAKE_URL`` unset): the line stays blank."""

    async def name_of(self, code: str) -> ApplicantName:
        return None


class IntakeApplicantNames:
    """Asks intake over HTTP; ``http`` carries routing's client token (``ClientAuth``)."""

    def __init__(self, http: httpx.AsyncClient, intake_url: str) -> None:
        self._http = http
        self._base = intake_url.rstrip("/")

    async def name_of(self, code: str) -> ApplicantName:
        url = f"{self._base}/v1/dossiers/{code}/applicant-name"
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            log.warning("intake unreachable for a form's applicant name: %s", type(exc).__name__)
            return None
        if response.status_code == 410 and _problem_code(response) == ERASED.value:
            log.info("the applicant's personal data were erased; the form says so")
            return ERASED
        if response.status_code != 200:
            log.warning("intake answered %s for a form's applicant name", response.status_code)
            return None
        try:
            name = response.json()["name"]
        except (ValueError, KeyError, TypeError):
            log.warning("intake's applicant name answer is malformed")
            return None
        return name if isinstance(name, str) and name.strip() else None


def _problem_code(response: httpx.Response) -> object:
    """The ``code`` of a problem answer, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None
