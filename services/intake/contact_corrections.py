"""Correcting an applicant's contact details on their request (Decree 13/2023/NĐ-CP),
through intake's own write path.

In one unit of work: the stored dossier's contact is corrected, the corrected contact
is registered again on ``applicant.contacts`` (``applicant.contact.registered.v1``:
notification keeps the latest registration, so later notifications go to the corrected
address; not for the postal address alone, which never leaves intake), and the
correction is recorded on ``operations.events``
(``operations.applicant-contact.corrected.v1``: who, which fields, why, when; never the
values), which audit logs. An ``Idempotency-Key`` makes a retry answer the first
result; its record keeps that answer, which holds no personal value.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from pymongo.errors import DuplicateKeyError

from intake.actions import Intake, dossier_for_desk, numbered
from intake.domain.contact_correction import decide_contact_correction, registration_time
from intake.dossier_facts import contact_registered
from intake.idempotency import KeyedRequest
from intake.schemas.contact_correction import ContactCorrected, ContactCorrectionRequest
from shared.events.operations import ApplicantContactCorrected
from shared.refusals import Refused
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ROUTE = "contact-correction"


class Corrected(NamedTuple):
    """What a correction answers, and whether it replays an earlier request's answer."""

    answer: ContactCorrected
    replayed: bool = False


async def correct_contact(
    ctx: Intake,
    code: str,
    request: ContactCorrectionRequest,
    operator: str,
    idempotency_key: str | None,
) -> Corrected:
    """Correct the dossier's contact, register it again and record the correction, in
    one unit of work; refused with nothing written (``domain.contact_correction``)."""
    now = ctx.now()
    body = {"code": code, **request.model_dump(mode="json", exclude_unset=True)}
    keyed = KeyedRequest.of(ROUTE, idempotency_key, body)
    if earlier := await _earlier(ctx, keyed, now):
        return earlier

    async def work(uow: UnitOfWork) -> ContactCorrected:
        stored = await dossier_for_desk(ctx, code, uow.session)
        dossier, fields = decide_contact_correction(stored, request)
        # The postal address stays in intake: corrected alone, notification has no news.
        told = any(field != "address" for field in fields)
        if told:
            registered_at = registration_time(stored, now)
            dossier = dossier.changed(contact_registered_at=registered_at)
            uow.emit(
                contact_registered(dossier, registered_at), correlation_id=dossier.correlation_id
            )
        uow.emit(
            ApplicantContactCorrected(
                operator=operator,
                dossier_code=dossier.code,
                service="intake",
                corrected_fields=fields,
                reason=request.reason,
                corrected_at=now,
            ),
            correlation_id=dossier.correlation_id,
        )
        await ctx.store.replace_dossier(numbered(uow, dossier, 2 if told else 1), uow.session)
        answer = ContactCorrected(
            dossier_code=dossier.code,
            corrected_fields=fields,
            corrected_by=operator,
            corrected_at=now,
        )
        if keyed.record_id is not None:
            ttl = timedelta(hours=ctx.options.idempotency_ttl_hours)
            record = keyed.record(code, now, ttl, {"result": answer.model_dump(mode="json")})
            await ctx.store.remember_result(record, uow.session)
        return answer

    try:
        answer = await ctx.runtime.run_unit_of_work(work, now=now, grouped=True)
    except (DuplicateKeyError, Refused):
        # A concurrent twin with the same key committed first: this one conflicted with
        # it, then found its key taken, or its correction already made (nothing left to
        # correct). Either way the twin's answer is this request's.
        if (twin := await _earlier(ctx, keyed, now)) is None:
            raise
        return twin
    log.info(
        "applicant contact corrected",
        extra={"operator": operator, "dossier": code, "fields": answer.corrected_fields},
    )
    return Corrected(answer)


async def _earlier(ctx: Intake, keyed: KeyedRequest, now: datetime) -> Corrected | None:
    """The first answer for this key, or None; the key with another body is refused."""
    record = await keyed.earlier(ctx.store, now)
    if record is None:
        return None
    return Corrected(ContactCorrected.model_validate(record["result"]), replayed=True)
