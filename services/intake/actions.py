"""Intake's HTTP-initiated actions on a dossier it holds: receive or deny an online
submission, ask for or take a supplement, withdraw; and the context every action works
with. Each decides with ``domain`` and ``dossiers``, then stores the dossier and emits
its facts in one unit of work (one transaction; the relay is woken after it). New
dossiers are created in ``new_dossiers``; a data subject's request is answered in
``subject_access``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from intake.config import IntakeOptions
from intake.domain.admission import admit
from intake.domain.codes_and_dates import DOSSIER_CODE_PATTERN
from intake.domain.feeds import feed_audience
from intake.domain.state_checks import check_awaiting_desk
from intake.dossiers import (
    Decision,
    applied_own_fact,
    decide_denial,
    decide_reception,
    decide_supplement,
    decide_supplement_request,
    decide_withdrawal,
)
from intake.idempotency import IdempotentCreation
from intake.model import IntakeDossier
from intake.schemas.requests import ApplicantIn, DocumentIn
from intake.schemas.subject_access import SubjectAccessRequest
from intake.store import IntakeStore
from intake.tokens import identity_hash, token_matches
from shared.calendar import WorkingCalendar
from shared.catalogue.configuration import Catalogue
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.dossier import DocumentRef
from shared.mongo.client import Session
from shared.refusals import Refused
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork


def not_found() -> Refused:
    """The one answer to every miss: unknown code, wrong token, no token."""
    return Refused("not_found", "no dossier matches this code and token", field=None)


@dataclass
class Intake:
    """What intake's actions work with, built once by the lifespan."""

    runtime: ServiceRuntime
    store: IntakeStore
    catalogue: Catalogue
    calendar: WorkingCalendar
    options: IntakeOptions
    # One agency's codes come from one counter: transactions of this process that would
    # contend for it take turns here instead of conflicting and retrying in the store.
    # Other instances still conflict, and the transaction retry resolves that.
    code_locks: defaultdict[str, asyncio.Lock] = field(
        default_factory=lambda: defaultdict(asyncio.Lock)
    )

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def now(self) -> datetime:
        """The current time in UTC, as stored and published."""
        return self.clock.now().astimezone(UTC)

    def hash_identity(self, applicant: ApplicantIn | SubjectAccessRequest) -> str:
        key = self.options.identity_hash_key.get_secret_value().encode()
        return identity_hash(key, applicant.identity_type, applicant.identity_number)

    def creation(
        self, route: str, key: str | None, body: dict[str, Any], now: datetime
    ) -> IdempotentCreation:
        return IdempotentCreation(
            store=self.store,
            units=self.runtime.units,
            receipt_key=self.options.receipt_key.get_secret_value().encode(),
            ttl=timedelta(hours=self.options.idempotency_ttl_hours),
            route=route,
            key=key,
            body=body,
            now=now,
        )


async def receive_submission(ctx: Intake, code: str) -> IntakeDossier:
    """A desk accepts an online submission: checked again, appointment counted from now."""
    now = ctx.now()
    dossier = await dossier_for_desk(ctx, code)
    check_awaiting_desk(dossier.current_state)  # before the catalogue's checks
    admission = admit(
        ctx.catalogue,
        procedure_code=dossier.procedure_code,
        receiving_unit=dossier.receiving_unit,
        area_unit=dossier.area_unit,
        document_types=[d.type for d in dossier.documents],
        on=ctx.calendar.local_date(now),
    )
    return await _change(
        ctx, code, now, lambda d: decide_reception(d, ctx.calendar, admission, now)
    )


async def deny_submission(ctx: Intake, code: str, reason: str) -> IntakeDossier:
    """A desk refuses an online submission, with the reason (refusal notice kept)."""
    now = ctx.now()
    return await _change(ctx, code, now, lambda d: decide_denial(d, ctx.catalogue, reason, now))


async def ask_supplement(
    ctx: Intake, code: str, missing: list[str], guidance: str
) -> IntakeDossier:
    """A desk asks the applicant to supplement an online submission it checked (Mẫu 02)."""
    now = ctx.now()
    return await _change(
        ctx, code, now, lambda d: decide_supplement_request(d, missing, guidance, now)
    )


async def supplement(
    ctx: Intake, code: str, token: str | None, documents: list[DocumentIn]
) -> IntakeDossier:
    """The applicant supplements a dossier the desk asked to complete (409 otherwise)."""
    await dossier_for_applicant(ctx, code, token)
    now = ctx.now()
    refs = [DocumentRef(**d.model_dump()) for d in documents]
    return await _change(ctx, code, now, lambda d: decide_supplement(d, refs, now))


async def withdraw(ctx: Intake, code: str, token: str | None, reason: str | None) -> IntakeDossier:
    """The applicant withdraws, if the state allows it (409 otherwise)."""
    await dossier_for_applicant(ctx, code, token)
    now = ctx.now()
    return await _change(ctx, code, now, lambda d: decide_withdrawal(d, reason, now))


async def dossier_for_applicant(ctx: Intake, code: str, token: str | None) -> IntakeDossier:
    """The dossier, if the token is its look-up token; otherwise the one 404 for every miss."""
    dossier = await ctx.store.get_dossier(code) if DOSSIER_CODE_PATTERN.match(code) else None
    if dossier is None or not token_matches(token, dossier.lookup_token_hash):
        raise not_found()
    return dossier


async def dossier_for_desk(ctx: Intake, code: str, session: Session | None = None) -> IntakeDossier:
    """The dossier a desk acts on."""
    dossier = (
        await ctx.store.get_dossier(code, session) if DOSSIER_CODE_PATTERN.match(code) else None
    )
    if dossier is None:
        raise not_found()
    return dossier


def record_decision(
    decision: Decision, now: datetime, uow: UnitOfWork
) -> tuple[IntakeDossier, Envelope]:
    """Emit the decision's fact and apply it to the stored view (same unit of work)."""
    dossier, fact = decision
    [event] = uow.emit(fact, correlation_id=dossier.correlation_id, audience=feed_audience(dossier))
    return applied_own_fact(numbered(uow, dossier, 1), fact, event, now), event


def numbered(uow: UnitOfWork, dossier: IntakeDossier, count: int) -> IntakeDossier:
    """The dossier once the ``count`` facts about it just emitted are numbered by its own
    write (it carries the last number): no counter write. One stored before the field
    existed is left to the outbox, which numbers it from its counter."""
    if dossier.outbox_seq is None:
        return dossier
    first = dossier.outbox_seq + 1
    uow.numbered(dossier.code, range(first, first + count))
    return dossier.model_copy(update={"outbox_seq": first + count - 1})


async def _change(
    ctx: Intake, code: str, now: datetime, decide: Callable[[IntakeDossier], Decision]
) -> IntakeDossier:
    """Decide on the dossier as it stands in the transaction, store it, emit the fact."""

    async def work(uow: UnitOfWork) -> IntakeDossier:
        dossier, _ = record_decision(
            decide(await dossier_for_desk(ctx, code, uow.session)), now, uow
        )
        await ctx.store.replace_dossier(dossier, uow.session)
        return dossier

    return await ctx.runtime.run_unit_of_work(work, now=now, grouped=True)
