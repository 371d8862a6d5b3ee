"""The applicant's withdrawal on ``dossier.events``: before any desk received the dossier
(closed at once, by intake), after it (requested, by intake; the holder then stops it), or
declined by routing when it came too late.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.dossier import (
    DossierFact,
)
from shared.events.personal import PersonalText
from shared.events.registry import register


@register
class DossierWithdrawn(DossierFact):
    """The applicant withdrew a dossier no desk had received yet (closed at once)."""

    EVENT_TYPE: ClassVar[str] = "dossier.withdrawn.v1"
    withdrawn_at: datetime
    reason: PersonalText | None = None


@register
class WithdrawalRequested(DossierFact):
    """The applicant asked to withdraw a received dossier (portal status 7).

    The unit holding it then stops processing (``command.processing.stop.v1``, status 8).
    """

    EVENT_TYPE: ClassVar[str] = "dossier.withdrawal.requested.v1"
    requested_at: datetime
    reason: PersonalText | None = None


@register
class WithdrawalDeclined(DossierFact):
    """Routing did not take a withdrawal: the applicant's request (or a legacy immediate
    withdrawal) reached it when the dossier could no longer be withdrawn, because its
    result was ready (portal status 9: processing is over) or it was closed. Nothing
    changed: ``state`` and ``holding_unit`` are the dossier's, so a reader that showed the
    withdrawal as requested (intake's look-up) can follow them again. Since contracts 3.0."""

    EVENT_TYPE: ClassVar[str] = "dossier.withdrawal.declined.v1"
    requested_at: datetime = Field(description="When the applicant asked (the request's time).")
    declined_at: datetime
    reason_code: Literal["result_ready", "closed", "already_requested"] = Field(
        description="`result_ready`: the result was ready (status 9) when the request "
        "arrived; `closed`: the dossier was done, stopped or withdrawn; "
        "`already_requested`: a withdrawal was already requested."
    )
