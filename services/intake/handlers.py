"""Event handlers of the intake service: keep the applicant's view current.

Every dossier fact (any ``dossier.*`` contract carrying state and holding unit) goes to
one handler that applies it through ``domain.apply_fact``: idempotent (the consumer's
inbox, and the event id in the history), and in order per dossier (an older fact
arriving late adds its public step but does not roll the state back). Intake's own
facts were applied when written, so they change nothing here.
"""

from __future__ import annotations

import logging
from functools import partial

from intake.domain import apply_fact
from intake.store import IntakeStore
from shared.events.dossier import DossierFact
from shared.events.registry import REGISTRY
from shared.handlers import HandlerRegistry
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def apply_dossier_fact(data: DossierFact, uow: UnitOfWork, *, store: IntakeStore) -> None:
    """Update the public view of the dossier the fact is about."""
    envelope, session = uow.envelope, uow.session
    doc = await store.get_dossier(data.dossier_code, session)
    if doc is None:
        log.warning(
            "fact about a dossier intake does not hold; ignored",
            extra={"event_id": envelope.id, "dossier_code": data.dossier_code},
        )
        return
    changed = apply_fact(doc, envelope.type, envelope.id, envelope.time, data)
    if changed is not None:
        await store.replace_dossier(changed, session)


def dossier_fact_models() -> list[type[DossierFact]]:
    """Every registered contract that is a fact about a dossier."""
    return [model for _, model in sorted(REGISTRY.items()) if issubclass(model, DossierFact)]


def build_registry(store: IntakeStore) -> HandlerRegistry:
    """Every dossier fact goes to ``apply_dossier_fact``, with its store bound."""
    return HandlerRegistry().on_each(
        dossier_fact_models(), partial(apply_dossier_fact, store=store)
    )
