"""HTTP: a data subject's requests: access, answered to the data protection officer;
correction of the applicant's contact details, by the officer or the dossier's desk.

The identity number comes in the body (never in a URL, an access log or a trace); intake
hashes it with its key as at submission and answers with every dossier holding that
hash. Only the ``privacy`` role is admitted; each answer is recorded as an audited
operations fact and logged, without the number (``subject_access.answer``). A correction
is made through intake's write path (``contact_corrections``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Response

from intake import actions
from intake.api import IntakeDep
from intake.contact_corrections import correct_contact
from intake.problems import CONTACT_CORRECTION_ERRORS, problems
from intake.schemas.contact_correction import ContactCorrected, ContactCorrectionRequest
from intake.schemas.subject_access import SubjectAccessAnswer, SubjectAccessRequest
from intake.subject_access import answer
from shared.auth import Principal, Role, acting_unit, allow

router = APIRouter(prefix="/v1")

PrivacyOfficer = Annotated[Principal, allow(Role.PRIVACY)]
# A correction: the data protection officer (any dossier), or the desk staff or agency
# system of the dossier's receiving unit, who recorded the contact at submission.
Corrector = Annotated[Principal, allow(Role.PRIVACY, Role.DESK, Role.AGENCY)]
CorrectionKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes retries safe: same key and body, the first answer and nothing "
        "corrected again; same key and another body, 409. 8-128 of A-Z a-z 0-9 _ . : -",
    ),
]


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


@router.post(
    "/dossiers/{code}/contact-correction",
    tags=["privacy"],
    summary="Correct the applicant's contact details",
    description="A data subject's correction request (Decree 13/2023/NĐ-CP) for the "
    "contact recorded at submission: the fields given (`name`, `email`, `phone`, "
    "`address`, `channels`, `language`, each validated as at submission; `null` clears "
    "an e-mail, phone or address; a field left out is kept) replace the stored ones, "
    "with a required `reason`. In one transaction: intake's dossier is changed, the "
    "corrected contact is registered again for notification "
    "(`applicant.contact.registered.v1`, so later notifications go to it; not for the "
    "postal address alone, which never leaves intake) and the "
    "correction is recorded (`operations.applicant-contact.corrected.v1`: who, which "
    "fields, why, when, never the values; audit logs it). The answer names the fields "
    "that changed, not their values. The data protection officer (role `privacy`) for "
    "any dossier; desk staff and agency systems for their own unit's dossiers only "
    "(403 `wrong_unit`). Refused with nothing written: 404 unknown dossier, 410 once "
    "the retention erased its personal data, 422 `nothing_to_correct` when no value "
    "differs from what is stored, 422 `invalid_request` for a malformed field or a "
    "preferred channel left without its address (field `channels`). A replay with the "
    "same Idempotency-Key and body returns the first answer with the header "
    "`Idempotent-Replayed: true`.",
    response_model=ContactCorrected,
    responses=problems(*CONTACT_CORRECTION_ERRORS),
)
async def correct_applicant_contact(
    ctx: IntakeDep,
    caller: Corrector,
    response: Response,
    code: str,
    body: Annotated[ContactCorrectionRequest, Body()],
    idempotency_key: CorrectionKey = None,
) -> ContactCorrected:
    if Role.PRIVACY not in caller.roles:
        dossier = await actions.dossier_for_desk(ctx, code)
        acting_unit(caller, dossier.receiving_unit, field="code")
    corrected = await correct_contact(ctx, code, body, caller.name, idempotency_key)
    if corrected.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return corrected.answer
