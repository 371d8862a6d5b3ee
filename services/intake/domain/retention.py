"""When a closed dossier's personal data are due for erasure, and the fact of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.domain.public_view import at_store_precision
from intake.model import IntakeDossier
from shared.events.dossier import DossierState
from shared.events.erasure import PersonalDataErased
from shared.refusals import Refused

# The states a dossier never leaves: refused at intake, withdrawn before reception,
# stopped (on a withdrawal request or by its unit), result handed over. RESULT_READY
# (awaiting collection) and every other state are still running.
CLOSED_STATES = frozenset(
    {DossierState.DENIED, DossierState.WITHDRAWN, DossierState.STOPPED, DossierState.DONE}
)


def ended_at(dossier: IntakeDossier) -> datetime | None:
    """When a closed dossier ended: the time of the fact that closed it (the latest fact
    applied, ``applied_up_to``: a closed dossier takes no later state); None while it runs."""
    return dossier.applied_up_to if dossier.state in CLOSED_STATES else None


def erasure_cutoff(now: datetime, retention: timedelta) -> datetime:
    """Dossiers that ended before this moment are past the retention."""
    return now - retention


def personal_data_due(dossier: IntakeDossier, now: datetime, retention: timedelta) -> bool:
    """Whether the retention has passed for a dossier's personal data: it is closed, ended
    more than ``retention`` before ``now``, and was not erased yet."""
    end = ended_at(dossier)
    return (
        not dossier.erased
        and end is not None
        and at_store_precision(end) < at_store_precision(erasure_cutoff(now, retention))
    )


def erasure_fact(erased: IntakeDossier, retention: timedelta) -> PersonalDataErased:
    """The fact of a dossier's erasure (``IntakeDossier.without_personal_data``): its
    code, closed state, when it ended and was erased, the retention; nothing personal."""
    end = ended_at(erased)
    if end is None or erased.state is None or erased.personal_data_erased_at is None:
        raise ValueError(f"dossier {erased.code} is not closed and erased")
    return PersonalDataErased(
        dossier_code=erased.code,
        receiving_unit=erased.receiving_unit,
        state=erased.state,
        closed_at=end,
        erased_at=erased.personal_data_erased_at,
        retention_days=retention.days,
    )


def check_personal_data_kept(dossier: IntakeDossier) -> None:
    """What prints or hands out the applicant's personal data (forms, the name for
    routing's forms) needs them: an erased dossier answers 410 ``personal_data_erased``."""
    if (erased_at := dossier.personal_data_erased_at) is not None:
        raise Refused(
            "personal_data_erased",
            f"the personal data of dossier {dossier.code} were erased when its retention "
            "period ended; the dossier's state is still available to its look-up",
            field=None, erased_at=erased_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        )  # fmt: skip
