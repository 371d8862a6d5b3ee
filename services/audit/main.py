"""Wiring of the audit service: settings, store, consumers, HTTP app; start and stop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from audit import api, handlers
from audit.appender import LogAppender, PersonalData
from audit.backlog import AuditBacklog
from audit.checkpoints import Checkpointer
from audit.config import AuditSettings
from audit.dossier_keys import DossierKeys
from audit.erasure import Eraser
from audit.evidence import Evidence
from audit.key_wrapping import DEV_KEY_WRAPPING_WARNING, WrappingKeys
from audit.keys import load_or_create_signing_key, load_signing_key
from audit.rotation import register_signing_key
from audit.store import AuditStore
from audit.trust import trust_policy
from audit.witnessing import Witnessing
from shared.app import serve, service_app
from shared.clock import Clock
from shared.command_line import service_arguments
from shared.runtime import service_runtime
from shared.settings_env import read_settings

log = logging.getLogger(__name__)
SERVICE = "audit"
DESCRIPTION = (
    "Audit: the tamper-evident log of every dossier event (hash chain, RFC 6962 Merkle "
    "tree, C2SP signed-note checkpoints). Auditors pin the trust file (`/v1/audit/trust`), "
    "then read entries, a dossier's history with its signed hand-over receipts, inclusion "
    "and consistency proofs, and evidence bundles that verify offline with `audit-verify`. "
    "Read-only: no update or delete path exists."
)


def key_wrapping(settings: AuditSettings) -> WrappingKeys:
    """The wrapping key of the dossier keys, warned about while it is the development one."""
    if settings.audit.development_key:
        log.warning(DEV_KEY_WRAPPING_WARNING)
    return settings.audit.wrapping()


def create_app(settings: AuditSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The audit app; connections are opened by its lifespan, not here."""
    settings = settings or AuditSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key = load_or_create_signing_key(settings.audit.signing_key_path)
        previous_path = settings.audit.previous_signing_key_path
        previous = load_signing_key(previous_path) if previous_path else None
        async with service_runtime(SERVICE, settings, clock) as runtime:
            store = AuditStore(runtime.db)
            await store.ensure_indexes()
            await register_signing_key(
                units=runtime.units,
                store=store,
                key=key,
                previous=previous,
                log_id=settings.audit.log_id,
                clock=runtime.clock,
            )
            checkpointer = Checkpointer(
                units=runtime.units,
                store=store,
                key=key,
                settings=settings.audit,
                clock=runtime.clock,
            )
            wrapping = key_wrapping(settings)
            dossier_keys = DossierKeys(runtime.db, wrapping)
            await dossier_keys.ensure_indexes()
            await dossier_keys.check_wrapping()  # a missing wrapping key stops the start
            if await dossier_keys.clear_keys_left():
                log.warning("dossier keys stored in clear: wrap them, python -m audit.wrap_keys")
            if wrapping.previous and await dossier_keys.old_keys_left():
                log.warning(
                    "dossier keys wrapped under a previous wrapping key: re-wrap them, "
                    "python -m audit.wrap_keys --rotate"
                )
            personal_data = PersonalData(dossier_keys, settings.audit.personal_fields)
            appender = LogAppender(store, runtime.clock, personal_data)
            runtime.add_consumer(list(handlers.LOGGED_TOPICS), handlers.build_registry(appender))
            runtime.add_worker(checkpointer)
            await runtime.start_workers()
            app.state.runtime = runtime
            app.state.checkpointer = checkpointer
            trust = trust_policy(
                settings.audit.log_id,
                await store.signing_keys(),
                [w.model_dump() for w in settings.audit.witnesses],
                settings.audit.quorum(),
            )
            log.info(
                "audit trust file: GET /v1/audit/trust",
                extra={"fingerprint": trust.fingerprint(), "quorum": trust.quorum},
            )
            app.state.evidence = evidence = Evidence(
                store=store,
                log_id=settings.audit.log_id,
                trust=trust,
                clock=runtime.clock,
                personal_data=personal_data,
            )
            eraser = Eraser(
                units=runtime.units,
                store=store,
                keys=dossier_keys,
                appender=appender,
                settings=settings.audit,
                clock=runtime.clock,
            )
            witnessing = Witnessing(
                store=store, evidence=evidence, settings=settings.audit, auth=settings.auth
            )
            runtime.add_worker(eraser)
            runtime.add_worker(AuditBacklog(store, runtime.clock, SERVICE, settings.audit.quorum()))
            if settings.audit.witnesses:
                runtime.add_worker(witnessing)
            await runtime.start_workers()
            app.state.eraser, app.state.witnessing = eraser, witnessing
            yield  # the runtime stops the consumers, then its workers, then the relay

    app = service_app(
        title="Audit service",
        description=DESCRIPTION,
        lifespan=lifespan,
        http=settings.http,
        auth=settings.auth,
        openapi_tags=[{"name": "audit", "description": "The auditor's read-only API."}],
        refusal_statuses=api.STATUS,
        statuses=api.refusal_statuses,
    )
    app.include_router(api.router)
    return app


def main(argv: list[str] | None = None) -> None:
    service_arguments(SERVICE, argv)  # --help answers and starts nothing
    settings = read_settings(AuditSettings, SERVICE)
    serve(create_app(settings), settings.http, settings, SERVICE)


if __name__ == "__main__":
    main()
