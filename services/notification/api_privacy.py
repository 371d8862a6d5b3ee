"""HTTP: a data subject's access request, answered to the data protection officer.

The officer names the subject's dossiers (as intake's subject access answered them:
this service holds no identity hash to find them by); the answer is what is kept for
each (``subject_access``). Only the ``privacy`` role is admitted; each answer is recorded
(``operations.subject-access.answered.v1``, which audit logs) and logged, with the officer
and the dossier codes, never a contact."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from notification.api import NotificationApi
from notification.subject_access import SubjectAccessAnswer, SubjectAccessRequest, answer
from shared.auth import Principal, Role, allow

router = APIRouter(prefix="/v1", tags=["privacy"])

PrivacyOfficer = Annotated[Principal, allow(Role.PRIVACY)]


@router.post(
    "/subject-access",
    summary="What notification holds about a data subject's dossiers",
    description="A data subject's access request (Decree 13/2023/NĐ-CP), second step: "
    "name the dossier codes intake's `POST /v1/subject-access` answered for the subject "
    "(this service keeps no identity hash and cannot find them by identity number). For "
    "each: the applicant's contact as kept to send (name, email, phone, channels, "
    "language, when it expires), the delivery records (channel, status, template, dates; "
    "the address only on the applicant's own), and the national portal's messages. "
    "Nothing about the dossiers is changed. Data protection officers only (role "
    "`privacy`); each answer is recorded (`operations.subject-access.answered.v1`, which "
    "audit logs) and logged, with the officer and the dossier codes.",
)
async def subject_access(
    request: Request,
    caller: PrivacyOfficer,
    body: Annotated[SubjectAccessRequest, Body()],
) -> SubjectAccessAnswer:
    api: NotificationApi = request.app.state.notification
    return await answer(
        body,
        caller.name,
        store=api.store,
        portal=request.app.state.portal,
        runtime=request.app.state.runtime,
        clock=api.clock,
    )
