"""Wiring of the console service: settings, clients of the services, pages and JSON API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from console import api, api_operations, handlers, signin
from console.actions import Operations
from console.config import ConsoleSettings
from console.favicon import favicon
from console.logins import LoginSealer
from console.oidc import OidcClient
from console.sessions import SessionStore
from console.sources import KafkaViews, Services
from console.store import ReplayStore
from shared.app import serve, service_app
from shared.auth.client import Credentials
from shared.auth.identities import ClientAuth
from shared.clock import Clock
from shared.command_line import service_arguments
from shared.http import problem
from shared.runtime import service_runtime
from shared.settings_env import read_settings

log = logging.getLogger(__name__)
SERVICE = "console"
STATIC = Path(__file__).parent / "static"
ICON_CACHE = {"Cache-Control": "public, max-age=86400"}  # asked for by every page
DESCRIPTION = (
    "Operations console: flows between levels and units, on-time results, a dossier's "
    "trail, the platform's health, and dead letters to inspect and replay. Pages at `/`, "
    "their JSON under `/api`. Operators sign in at `/login` (Keycloak, authorisation code "
    "with PKCE; the session is an httpOnly cookie); scripts may send a bearer token."
)


def create_app(settings: ConsoleSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The console app; connections are opened by its lifespan, not here."""
    settings = settings or ConsoleSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            # The console reads the services with its own client's token (operations and
            # auditor), whatever the user of its pages may read.
            httpx.AsyncClient(
                timeout=settings.console.timeout_s,
                auth=ClientAuth(
                    Credentials(
                        settings.console.client_id,
                        settings.console.client_secret.get_secret_value(),
                    ),
                    settings.auth,
                ),
            ) as http,
            httpx.AsyncClient(timeout=settings.console.timeout_s) as idp,
            service_runtime(SERVICE, settings, clock) as runtime,
        ):
            store = ReplayStore(runtime.db)
            await store.ensure_indexes()
            sessions = SessionStore(runtime.db)
            await sessions.ensure_indexes()
            app.state.signin = signin.SignIn(
                OidcClient(
                    settings.auth,
                    app.state.token_verifier,
                    settings.signin.client_id,
                    settings.signin.client_secret.get_secret_value(),
                    idp,
                ),
                sessions,
                settings.signin,
                LoginSealer(settings.signin.client_secret.get_secret_value()),
            )
            app.state.runtime = runtime
            app.state.options = settings.console
            app.state.services = Services(http, settings.console)
            app.state.kafka_views = KafkaViews(settings.kafka)
            app.state.operations = Operations(runtime, store, app.state.services)
            if settings.console.actions_enabled:  # read-only: it changes nothing
                runtime.add_worker(
                    handlers.UnfinishedActions(
                        app.state.operations, settings.console.finish_actions_interval_s
                    )
                )
                await runtime.start_workers()
            yield

    app = service_app(
        title="Operations console",
        description=DESCRIPTION,
        lifespan=lifespan,
        http=settings.http,
        auth=settings.auth,
        refusal_statuses=api.STATUS,
        statuses=api.refusal_statuses,
        streams=frozenset({api.HEALTH_STREAM}),
        openapi_tags=[{"name": "console", "description": "What the console's pages read."}],
    )
    app.add_exception_handler(KafkaError, broker_unavailable)
    app.include_router(signin.router)
    app.include_router(api.router)
    app.include_router(api_operations.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def icon() -> Response:
        return Response(favicon(), media_type="image/x-icon", headers=ICON_CACHE)

    return app


async def broker_unavailable(_: Request, exc: Exception) -> Response:
    """Kafka did not answer (lag, dead letters, a replay): 503 ``broker_unavailable``,
    not an unexpected 500."""
    log.warning("broker unavailable", extra={"error": repr(exc)})
    response = problem(503, "broker_unavailable", "the broker is unavailable; retry later")
    response.headers["Retry-After"] = "5"
    return response


def main(argv: list[str] | None = None) -> None:
    service_arguments(SERVICE, argv)  # --help answers and starts nothing
    settings = read_settings(ConsoleSettings, SERVICE)
    serve(create_app(settings), settings.http, settings, SERVICE)


if __name__ == "__main__":
    main()
