"""Wiring of the routing service: settings, store, consumers, scheduler, HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI

from routing import api, api_forms, api_procedures, api_views, dependencies, handlers
from routing.applicants import ApplicantNames, IntakeApplicantNames, NoApplicantNames
from routing.config import RoutingSettings
from routing.recent import RecentDossiers
from routing.scheduler import OverdueScheduler
from routing.store import DossierStore, unit_level
from routing.upgrade import upgrade_earlier_documents
from shared.app import serve, service_app
from shared.auth.client import Credentials
from shared.auth.identities import ClientAuth
from shared.clock import Clock
from shared.command_line import service_arguments
from shared.kafka.admin import ensure_agency_topics
from shared.kafka.security import PLAINTEXT
from shared.mongo.document_sequences import DocumentSequences
from shared.runtime import service_runtime
from shared.settings_env import read_settings
from shared.topics import DOSSIER_COMMANDS, DOSSIER_EVENTS, agency_commands

SERVICE = "routing"
DESCRIPTION = (
    "Routing: where every dossier is, which unit must act and by when. Units accept or "
    "refuse hand-overs, complete steps, request supplements, return and hand over results; "
    "operations read inboxes, flows, overdue dossiers and trails."
)


def command_sources(settings: RoutingSettings, units: list[str]) -> list[str]:
    """Units whose agency topic routing reads. With authentication on, commands come only
    from agencies' own topics (the topic proves the sender); the shared dossier.commands
    is read instead, trusting the body's unit, only on an unauthenticated local broker."""
    return [] if settings.kafka.security_protocol == PLAINTEXT else sorted(units)


async def applicant_names(settings: RoutingSettings, stack: AsyncExitStack) -> ApplicantNames:
    """Intake asked with routing's own client token, if intake's URL is configured."""
    options = settings.routing
    if options.intake_url is None:
        return NoApplicantNames()
    credentials = Credentials(options.client_id, options.client_secret.get_secret_value())
    http = await stack.enter_async_context(
        httpx.AsyncClient(
            timeout=options.intake_timeout_s, auth=ClientAuth(credentials, settings.auth)
        )
    )
    return IntakeApplicantNames(http, options.intake_url)


def create_app(settings: RoutingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The routing app; connections are opened by its lifespan, not here."""
    settings = settings or RoutingSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        catalogue, calendar = settings.catalogue.load(), settings.calendar.load()
        async with AsyncExitStack() as stack:
            app.state.applicant_names = await applicant_names(settings, stack)
            runtime = await stack.enter_async_context(
                service_runtime(SERVICE, settings, clock, DocumentSequences)
            )
            store = DossierStore(runtime.db, partial(unit_level, catalogue))
            await store.ensure_indexes()
            await upgrade_earlier_documents(runtime.db, store, runtime.clock.now())
            routing = dependencies.Routing(
                store=store,
                calendar=calendar,
                catalogue=catalogue,
                clock=runtime.clock,
                options=settings.routing,
                recent=RecentDossiers(settings.routing.recent_dossiers),
            )
            agencies = command_sources(settings, [u.code for u in catalogue.units])
            # Each agency's commands topic, read here, and its feed (docs/design.md).
            await ensure_agency_topics(settings.kafka, agencies)
            agency_topics = [agency_commands(unit) for unit in agencies]
            shared_commands = [DOSSIER_COMMANDS] if not agencies else []
            runtime.add_consumer(
                [DOSSIER_EVENTS, *shared_commands, *agency_topics],
                handlers.build_registry(routing, agencies),
            )
            scheduler = OverdueScheduler(
                routing, runtime.units, settings.routing.overdue_scan_seconds
            )
            runtime.add_worker(scheduler)
            await runtime.start_workers()
            app.state.runtime, app.state.routing, app.state.scheduler = runtime, routing, scheduler
            yield  # the runtime stops the consumers, then the scheduler, then the relay

    app = service_app(
        title="Routing service",
        description=DESCRIPTION,
        lifespan=lifespan,
        http=settings.http,
        auth=settings.auth,
        refusal_statuses=api.STATUS,
        openapi_tags=[
            {"name": "actions", "description": "Unit actions on a dossier (desk staff)."},
            {"name": "views", "description": "Inbox, trail, flows and overdue views."},
            {"name": "forms", "description": "Printable forms (Mẫu 02, 04, 05) of a dossier."},
        ],
        statuses=api.refusal_statuses,
    )
    app.include_router(api.router)
    app.include_router(api_views.router)
    app.include_router(api_procedures.router)
    app.include_router(api_forms.router)
    return app


def main(argv: list[str] | None = None) -> None:
    service_arguments(SERVICE, argv)  # --help answers and starts nothing
    settings = read_settings(RoutingSettings, SERVICE)
    serve(create_app(settings), settings.http, settings, SERVICE)


if __name__ == "__main__":
    main()
