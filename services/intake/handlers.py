"""Event handlers of the intake service: keep the applicant's view current.

Every dossier fact (any ``dossier.*`` contract carrying state and holding unit) goes to
one handler that applies it through ``domain.view_change``: idempotent (the consumer's
inbox, and the event id in the history), and in order per dossier (an older fact
arriving late adds its public step but does not roll the state back). Intake's own
facts were applied when written, so they change nothing here.
"""

from __future__ import annotations

import logging
from functools import partial

from intake.domain import view_change
from intake.store import IntakeStore
from shared.envelope import Envelope
from shared.events.dossier import DossierFact
from shared.events.registry import REGISTRY, EventData
from shared.kafka.consumer import Handler
from shared.mongo.client import Session

log = logging.getLogger(__name__)


async def apply_dossier_fact(
    envelope: Envelope, data: EventData, session: Session, *, store: IntakeStore
) -> None:
    """Update the public view of the dossier the fact is about."""
    assert isinstance(data, DossierFact)
    doc = await store.get_dossier(data.dossier_code, session)
    if doc is None:
        log.warning(
            "fact about a dossier intake does not hold; ignored",
            extra={"event_id": envelope.id, "dossier_code": data.dossier_code},
        )
        return
    fields = view_change(
        envelope.type,
        envelope.id,
        envelope.time,
        data,
        applied_up_to=doc.get("applied_up_to"),
        history=doc.get("history", []),
    )
    if fields:
        await store.update_dossier(data.dossier_code, fields, session)


def dossier_fact_types() -> list[str]:
    """Every registered contract that is a fact about a dossier."""
    return sorted(t for t, model in REGISTRY.items() if issubclass(model, DossierFact))


def build_handlers(store: IntakeStore) -> dict[str, Handler]:
    """The mapping from event type to handler, with dependencies bound explicitly."""
    handler: Handler = partial(apply_dossier_fact, store=store)
    return dict.fromkeys(dossier_fact_types(), handler)
