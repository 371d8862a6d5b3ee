"""Event handlers of the intake service: keep the applicant's view current.

Every dossier fact (any ``dossier.*`` contract carrying state and holding unit) goes to
one handler that applies it through ``domain.apply_fact``: idempotent (the consumer's
inbox, and the event id in the history), and in order per dossier (an older fact
arriving late adds its public step but does not roll the state back). Intake's own
facts were applied when written (the same transaction as their outbox entry), so they
are passed over without reading the dossier.

The handler takes the consumer's runs of facts at once: the run's dossiers are read in
one query, each fact is applied in order to its dossier, and the dossiers that changed
are written in one bulk write, in the run's unit of work. An event alone is a run of one.
"""

from __future__ import annotations

import logging
from functools import partial

from intake.domain.public_view import apply_fact
from intake.model import IntakeDossier
from intake.store import IntakeStore
from shared.envelope import Envelope
from shared.events.dossier import DossierFact
from shared.events.registry import REGISTRY
from shared.handlers import HandlerRegistry
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def apply_dossier_facts(
    facts: list[tuple[Envelope, DossierFact]], uow: UnitOfWork, *, store: IntakeStore
) -> None:
    """Update the public view of the dossiers a run of facts is about, in the run's order.

    Intake's own facts (its source) were applied when written: they need no read."""
    facts = [(envelope, fact) for envelope, fact in facts if envelope.source != uow.source]
    if not facts:
        return
    codes = list(dict.fromkeys(fact.dossier_code for _, fact in facts))
    dossiers = await store.get_dossiers(codes, uow.session)
    changed: dict[str, IntakeDossier] = {}
    for envelope, fact in facts:
        dossier = dossiers.get(fact.dossier_code)
        if dossier is None:
            log.warning(
                "fact about a dossier intake does not hold; ignored",
                extra={"event_id": envelope.id, "dossier_code": fact.dossier_code},
            )
            continue
        applied = apply_fact(dossier, envelope.type, envelope.id, envelope.time, fact)
        if applied is not None:
            dossiers[fact.dossier_code] = changed[fact.dossier_code] = applied
    await store.replace_dossiers(list(changed.values()), uow.session)


def dossier_fact_models() -> list[type[DossierFact]]:
    """Every registered contract that is a fact about a dossier."""
    return [model for _, model in sorted(REGISTRY.items()) if issubclass(model, DossierFact)]


def build_registry(store: IntakeStore) -> HandlerRegistry:
    """Every dossier fact goes to ``apply_dossier_facts``, with its store bound."""
    return HandlerRegistry().on_batch(
        dossier_fact_models(), partial(apply_dossier_facts, store=store)
    )
