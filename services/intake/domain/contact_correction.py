"""Correcting an applicant's contact details on their request: the pure decision.

The request names the fields to correct (``schemas.contact_correction``); the decision
applies them to the stored dossier and says which values changed, or refuses: the
dossier's personal data erased by the retention (410 ``personal_data_erased``),
nothing that differs from what is stored (422 ``nothing_to_correct``), or a preferred
channel left without its address (422 ``invalid_request``, field ``channels``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from intake.domain.retention import check_personal_data_kept
from intake.model import IntakeDossier
from intake.schemas.contact_correction import CONTACT_FIELDS, ContactCorrectionRequest
from shared.events.operations import ContactField
from shared.refusals import Refused

# Where each field of the request is stored: ``address`` beside the applicant, the
# others in it.
_STORED_AS = {"address": "applicant_address"}


class ContactCorrection(NamedTuple):
    """The dossier with its contact corrected, and the fields whose values changed."""

    dossier: IntakeDossier
    corrected_fields: list[ContactField]


def stored_contact(dossier: IntakeDossier) -> dict[str, Any]:
    """The dossier's contact fields as the request names them, as stored."""
    applicant = dossier.applicant.model_dump(mode="json")
    return {
        name: dossier.applicant_address if name == "address" else applicant.get(name)
        for name in CONTACT_FIELDS
    }


def decide_contact_correction(
    dossier: IntakeDossier, request: ContactCorrectionRequest
) -> ContactCorrection:
    """The dossier with the request's fields corrected; refused if its personal data are
    erased, if nothing differs, or if a preferred channel has no address after it."""
    check_personal_data_kept(dossier)
    before = stored_contact(dossier)
    given = {
        name: [str(c) for c in value] if name == "channels" else _plain(value)
        for name, value in request.given().items()
    }
    changed = [name for name in CONTACT_FIELDS if name in given and given[name] != before[name]]
    if not changed:
        raise Refused(
            "nothing_to_correct",
            "the request names no contact field, or only values already stored",
            field=None,
        )
    after = {**before, **given}
    for channel, address in (("email", "email"), ("sms", "phone")):
        if channel in after["channels"] and after[address] is None:
            raise Refused(
                "invalid_request",
                f"the {channel} channel needs the applicant's {address}: "
                "clear the channel or give one",
                field="channels",
            )
    applicant = {k: after[k] for k in CONTACT_FIELDS if k != "address"}
    corrected = dossier.changed(
        applicant={**dossier.applicant.model_dump(), **applicant},
        **{_STORED_AS["address"]: after["address"]},
    )
    return ContactCorrection(corrected, changed)


# Later than a time the store kept: it keeps milliseconds, so a microsecond more could
# still fall before the time it was given.
_AFTER_STORED = timedelta(milliseconds=1)


def registration_time(dossier: IntakeDossier, now: datetime) -> datetime:
    """When a correction's registration says it was made: ``now``, or just after the
    dossier's latest correction if that says later. Notification keeps the registration
    with the latest ``registered_at``, and intake keeps the correction that committed
    last; a correction whose time was taken before a concurrent one's, but that
    committed after it (its transaction retried), must still say it is the later one,
    or notification would keep the other's contact while intake keeps this one's."""
    previous = dossier.contact_registered_at
    if previous is None:
        return now
    return max(now, previous + _AFTER_STORED)


def _plain(value: Any) -> Any:
    """An enum member as its value (the stored form), anything else as it is."""
    return getattr(value, "value", value)
