"""Routing's dependencies, bound once in ``main``, and how a decision's facts are emitted:
what every handler (intake's facts, unit commands, the scheduler, HTTP actions) uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from routing.config import RoutingOptions
from routing.domain.audience import dossier_audience
from routing.domain.model import Context, Decision, Dossier
from routing.recent import RecentDossiers
from routing.store import DossierStore, unit_level
from shared.calendar import WorkingCalendar
from shared.catalogue.configuration import Catalogue
from shared.clock import Clock
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Routing:
    """Routing's dependencies, bound once in ``main``."""

    store: DossierStore
    calendar: WorkingCalendar
    catalogue: Catalogue
    clock: Clock
    options: RoutingOptions
    recent: RecentDossiers = field(default_factory=lambda: RecentDossiers(0))

    def context(self, cause_id: str, now: datetime | None = None) -> Context:
        """A decision context at ``now`` (default: the clock's current time)."""
        return Context(self.calendar, self.catalogue, now or self.clock.now(), cause_id)

    def level_of(self, unit: str) -> str:
        return unit_level(self.catalogue, unit)

    async def save(
        self,
        decision: Decision,
        read: Dossier,
        uow: UnitOfWork,
        now: datetime,
        forward_to: tuple[str, ...] = (),
    ) -> Dossier:
        """Store the decided dossier over the one read (``StaleDossier`` if it changed)
        and emit its facts, numbered by the same write; a copy kept of it is forgotten
        (kept again by an HTTP action once committed). ``forward_to``: units whose feeds
        get a copy of the cause itself (``UnitOfWork.forward``), numbered with the facts."""
        self.recent.forget(read.code)
        count = own_facts(decision) + (1 if forward_to else 0)
        saved, numbers = await self.store.save(
            decision.dossier, read=read, session=uow.session, now=now, facts=count
        )
        uow.numbered(saved.code, numbers)
        emit_facts(uow, saved, decision, read)
        if forward_to:
            uow.forward(uow.envelope, forward_to)
        return saved


def own_facts(decision: Decision) -> int:
    """How many of the decision's facts are about its dossier (numbered in its sequence)."""
    code = decision.dossier.code
    return sum(1 for fact in decision.facts if fact.subject() == code)


def emit_facts(
    uow: UnitOfWork, d: Dossier, decision: Decision, read: Dossier | None = None
) -> None:
    """Queue the decision's facts, in order, correlated with the dossier's flow, for the
    feeds of the units on its way (``routing.domain.audience``); ``read``: the dossier
    the decision was taken on (None for a new one)."""
    uow.emit(
        *decision.facts,
        correlation_id=d.correlation_id or None,
        audience=dossier_audience(decision.dossier, read),
    )
