"""A tiny test service: counts events per subject, so tests can see effects and duplicates."""

from __future__ import annotations

from shared.events.dossier import DossierState
from shared.events.withdrawal import DossierWithdrawn
from shared.handlers import HandlerRegistry, TypedHandler
from shared.mongo.client import Database
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork


def counting_handler(db: Database) -> TypedHandler[DossierWithdrawn]:
    """A handler that adds one to ``effects[subject]`` per applied event."""

    async def count(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        envelope = uow.envelope
        await db["effects"].update_one(
            {"_id": envelope.subject},
            {"$inc": {"n": 1}, "$push": {"ids": envelope.id}},
            upsert=True,
            session=uow.session,
        )

    return count


def failing_handler(db: Database) -> TypedHandler[DossierWithdrawn]:
    """A handler that always fails after writing (the write must be rolled back)."""

    async def fail(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        await db["effects"].insert_one({"would_be": uow.envelope.id}, session=uow.session)
        raise RuntimeError(f"cannot handle {uow.envelope.subject}")

    return fail


def on_withdrawn(handler: TypedHandler[DossierWithdrawn]) -> HandlerRegistry:
    """A registry with one handler, for ``dossier.withdrawn.v1``."""
    return HandlerRegistry().on(DossierWithdrawn, handler)


async def effect_counts(db: Database) -> dict[str, int]:
    return {doc["_id"]: doc["n"] async for doc in db["effects"].find({"n": {"$exists": True}})}


async def drain(rt: ServiceRuntime, expected: int) -> int:
    """Step the runtime's consumer until it has handled ``expected`` records (bounded)."""
    runner = rt.consumers[0]
    await runner.start()
    handled = 0
    for _ in range(60):
        handled += await runner.process_batch(timeout_ms=500)
        if handled >= expected:
            break
    return handled


async def emit_withdrawn(rt: ServiceRuntime, code: str, reason: str) -> None:
    """One unit of work that emits ``dossier.withdrawn.v1`` for ``code``, retried on conflicts."""

    async def emit(uow: UnitOfWork) -> None:
        uow.emit(
            DossierWithdrawn(
                dossier_code=code,
                state=DossierState.WITHDRAWN,
                holding_unit="U",
                withdrawn_at=uow.now,
                reason=reason,
            )
        )

    await rt.run_unit_of_work(emit)
