"""HTTP: a data subject's access request, answered to the data protection officer.

The officer names the subject's dossiers (as intake's subject access answered them:
this service holds no identity hash to find them by); the answer is what is kept for
each (``subject_access``). Only the ``privacy`` role is admitted; each answer is recorded
(``operations.subject-access.answered.v1``, which audit logs) and logged, with the officer
and the dossier codes, never a contact."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Request

from notification.api import NotificationApi
from notification.portal_sync import PortalSyncStore
from notification.subject_access import (
    RECORDS_PER_DOSSIER,
    SubjectAccessAnswer,
    SubjectAccessRequest,
    dossier_held,
)
from shared.auth import Principal, Role, allow
from shared.events.operations import SubjectAccessAnswered
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
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
    portal: PortalSyncStore = request.app.state.portal
    codes = list(dict.fromkeys(body.dossier_codes))  # each once, in the order named
    contacts = await api.store.contacts_of(codes)
    dossiers = [
        dossier_held(
            code,
            contacts.get(code),
            await api.store.for_dossier(code, RECORDS_PER_DOSSIER),
            await portal.of_dossier(code, RECORDS_PER_DOSSIER),
        )
        for code in codes
    ]
    answered = SubjectAccessAnswered(
        operator=caller.name,
        service="notification",
        dossier_codes=codes,
        answered_at=api.clock.now(),
    )

    async def record(uow: UnitOfWork) -> None:
        uow.emit(answered)

    runtime: ServiceRuntime = request.app.state.runtime
    await runtime.run_unit_of_work(record)
    log.info(
        "subject access answered",
        extra={
            "officer": caller.name,
            "dossiers": codes,
            "with_contact": [d.dossier_code for d in dossiers if d.contact is not None],
        },
    )
    return SubjectAccessAnswer(answered_at=answered.answered_at, dossiers=dossiers)
