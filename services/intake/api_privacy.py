"""HTTP: a data subject's access request, answered to the data protection officer.

The identity number comes in the body (never in a URL, an access log or a trace); intake
hashes it with its key as at submission and answers with every dossier holding that
hash. Only the ``privacy`` role is admitted; each answer is recorded as an audited
operations fact and logged, without the number (``subject_access.answer``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from intake.api import IntakeDep
from intake.problems import problems
from intake.schemas.subject_access import SubjectAccessAnswer, SubjectAccessRequest
from intake.subject_access import answer
from shared.auth import Principal, Role, allow

router = APIRouter(prefix="/v1")

PrivacyOfficer = Annotated[Principal, allow(Role.PRIVACY)]


@router.post(
    "/subject-access",
    tags=["privacy"],
    summary="What intake holds about a data subject",
    description="A data subject's access request (Decree 13/2023/NĐ-CP): the dossiers "
    "whose applicant has this identity number, with their codes, procedures, dates and "
    "states, and every personal field as stored (`[erased]` where the retention erased "
    "it). The number is hashed with intake's identity key, as at submission; a dossier "
    "whose personal data the retention erased no longer holds the hash and is not found. "
    "Nothing about the dossiers is changed. Data protection officers only (role "
    "`privacy`); each answer is recorded (`operations.subject-access.answered.v1`, which "
    "audit logs) and logged, with the officer and the dossier codes, never the number.",
    response_model=SubjectAccessAnswer,
    responses=problems("malformed_json", "invalid_request", "body_too_large"),
)
async def subject_access(
    ctx: IntakeDep, caller: PrivacyOfficer, body: Annotated[SubjectAccessRequest, Body()]
) -> SubjectAccessAnswer:
    return await answer(ctx, body, caller.name)
