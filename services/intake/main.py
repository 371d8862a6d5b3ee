"""Intake: the front door. Desks, the online portal and agency systems submit dossiers;
intake checks them against the procedure catalogue, gives each its code and appointment
date, stores it and announces it. Applicants look their dossier up with a secret token.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from intake import (
    api,
    api_applicants,
    api_desk,
    api_forms,
    api_privacy,
    api_submissions,
    handlers,
    problems,
)
from intake.actions import Intake
from intake.config import DEV_IDENTITY_HASH_KEY, DEV_RECEIPT_KEY, IntakeSettings
from intake.erasure import Eraser
from intake.store import IntakeStore
from shared.app import serve, service_app
from shared.clock import Clock
from shared.command_line import service_arguments
from shared.kafka.admin import ensure_agency_topics
from shared.mongo.document_sequences import DocumentSequences
from shared.runtime import service_runtime
from shared.settings_env import read_settings
from shared.topics import DOSSIER_EVENTS

SERVICE = "intake"
log = logging.getLogger(__name__)


def _warn_on_dev_keys(settings: IntakeSettings) -> None:
    options = settings.intake
    if options.identity_hash_key.get_secret_value() == DEV_IDENTITY_HASH_KEY:
        log.warning("LT_INTAKE_IDENTITY_HASH_KEY is the development default: set it")
    if options.receipt_key.get_secret_value() == DEV_RECEIPT_KEY:
        log.warning("LT_INTAKE_RECEIPT_KEY is the development default: set it")


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The intake app; data and connections are loaded by its lifespan, not here."""
    settings = settings or IntakeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        catalogue, calendar = settings.catalogue.load(), settings.calendar.load()
        _warn_on_dev_keys(settings)
        async with service_runtime(SERVICE, settings, clock, DocumentSequences) as runtime:
            store = IntakeStore(runtime.db)
            await store.ensure_indexes()
            # The agencies' feeds its facts are copied to, as routing makes them.
            await ensure_agency_topics(settings.kafka, [u.code for u in catalogue.units])
            await store.load_catalogue(catalogue, runtime.clock.now())
            calendar.is_working_day(calendar.local_date(runtime.clock.now()))  # warm the holidays
            log.info(
                "catalogue loaded",
                extra={"configuration": catalogue.configuration, "version": catalogue.version},
            )
            app.state.intake = Intake(runtime, store, catalogue, calendar, settings.intake)
            runtime.add_consumer([DOSSIER_EVENTS], handlers.build_registry(store))
            runtime.add_worker(
                Eraser(
                    units=runtime.units,
                    store=store,
                    options=settings.intake,
                    clock=runtime.clock,
                )
            )
            await runtime.start_workers()
            app.state.runtime = runtime
            yield

    app = service_app(
        title="Intake service",
        description=__doc__ or "",
        lifespan=lifespan,
        http=settings.http,
        auth=settings.auth,
        openapi_tags=api.TAGS,
        # Submissions wait in the outbox while the broker is away: ready, but degraded.
        degradable=frozenset({"broker"}),
        refusal_statuses=problems.STATUS,
    )
    app.include_router(api.router)
    app.include_router(api_submissions.router)
    app.include_router(api_desk.router)
    app.include_router(api_applicants.router)
    app.include_router(api_forms.router)
    app.include_router(api_privacy.router)
    return app


def main(argv: list[str] | None = None) -> None:
    service_arguments(SERVICE, argv)  # --help answers and starts nothing
    settings = read_settings(IntakeSettings, SERVICE)
    serve(create_app(settings), settings.http, settings, SERVICE)


if __name__ == "__main__":
    main()
