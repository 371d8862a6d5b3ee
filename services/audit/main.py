"""Wiring of the audit service: settings, store, consumers, HTTP app; start and stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from audit import api, handlers
from audit.config import AuditSettings
from shared.app import serve, service_app
from shared.clock import Clock
from shared.runtime import service_runtime
from shared.topics import DOSSIER_EVENTS

SERVICE = "audit"


def create_app(settings: AuditSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The audit app; connections are opened by its lifespan, not here."""
    settings = settings or AuditSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(SERVICE, settings, clock) as runtime:
            runtime.add_consumer([DOSSIER_EVENTS], handlers.build_handlers(runtime))
            await runtime.start_consumers()
            app.state.runtime = runtime
            yield

    app = service_app(
        title="Audit service",
        description=__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
        http=settings.http,
    )
    app.include_router(api.router)
    return app


def main() -> None:
    settings = AuditSettings()
    serve(create_app(settings), settings.http, settings, SERVICE)


if __name__ == "__main__":
    main()
