"""A data subject's access request to intake: the dossiers whose identity hash is the
subject's, recorded and logged without the number."""

from __future__ import annotations

import logging

from intake.actions import Intake
from intake.schemas.subject_access import SubjectAccessAnswer, SubjectAccessRequest
from intake.views import subject_dossier
from shared.events.operations import SubjectAccessAnswered
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# More dossiers than one person plausibly has: the answer stays bounded and says when it
# leaves some out (``truncated``).
SUBJECT_ACCESS_LIMIT = 1000


async def answer(ctx: Intake, request: SubjectAccessRequest, officer: str) -> SubjectAccessAnswer:
    """What intake holds about one data subject: the dossiers whose identity hash is the
    hash of the number given (computed with intake's key, as at submission). Each answer
    is recorded (``operations.subject-access.answered.v1``, which audit logs) and logged,
    with the officer and the dossier codes, never the number or its hash."""
    now = ctx.now()
    found = await ctx.store.dossiers_of_subject(
        ctx.hash_identity(request), SUBJECT_ACCESS_LIMIT + 1
    )
    dossiers, truncated = found[:SUBJECT_ACCESS_LIMIT], len(found) > SUBJECT_ACCESS_LIMIT
    answered = SubjectAccessAnswered(
        operator=officer,
        service="intake",
        dossier_codes=[dossier.code for dossier in dossiers],
        answered_at=now,
    )

    async def record(uow: UnitOfWork) -> None:
        uow.emit(answered)

    await ctx.runtime.run_unit_of_work(record)
    log.info(
        "subject access answered",
        extra={
            "officer": officer,
            "identity_type": request.identity_type,
            "dossiers": [dossier.code for dossier in dossiers],
            "truncated": truncated,
        },
    )
    return SubjectAccessAnswer(
        identity_type=request.identity_type,
        answered_at=now,
        dossiers=[subject_dossier(dossier) for dossier in dossiers],
        truncated=truncated,
    )
