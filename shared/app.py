"""Building and serving a service's FastAPI app the same way in every service."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version as package_version
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi_offline import FastAPIOffline

from shared.auth import AuthSettings, Role, allow, install_auth
from shared.http import (
    PROBES,
    BodySizeLimit,
    HttpMetrics,
    InFlightLimit,
    install_error_handlers,
)
from shared.http_protocol import deadline_protocol
from shared.openapi import declare_problems
from shared.probes import install_health
from shared.request_tracing import trace_requests
from shared.runtime import CommonSettings, ServiceRuntime
from shared.settings import HttpSettings
from shared.telemetry.logs import configure_logging
from shared.telemetry.tracing import configure_tracing

log = logging.getLogger(__name__)
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
HTTP_DRAIN_S = 5
CRASHED_WORKER_EXIT = 3  # the exit code of a process stopped by a crashed background worker
# Swagger UI's "Authorize": the realm's public client, authorisation code + PKCE.
SWAGGER_UI_OAUTH = {"clientId": "swagger-ui", "usePkceWithAuthorizationCodeGrant": True}
OFFLINE_STATIC = "/static-offline-docs"  # where fastapi_offline serves Swagger UI's files


def offline_app(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose Swagger UI (``/docs``) is served from the package, not a CDN
    (desks may have no internet), and signs in with ``SWAGGER_UI_OAUTH``.

    ``FastAPIOffline``'s own ``/docs`` drops ``swagger_ui_init_oauth``: Swagger UI then
    asks Keycloak for a code with no client id and no PKCE, which the realm's
    ``swagger-ui`` client refuses. So its page is replaced by one that passes it."""
    app = FastAPIOffline(docs_url=None, swagger_ui_init_oauth=SWAGGER_UI_OAUTH, **kwargs)
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{root}{OFFLINE_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{OFFLINE_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{OFFLINE_STATIC}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
            init_oauth=app.swagger_ui_init_oauth,
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    return app


def limit_requests(app: FastAPI, http: HttpSettings, uncounted: frozenset[str] = PROBES) -> None:
    """Bound request bodies (413) and the requests handled at once (503 overloaded); the
    in-flight limit reads a body only through the size limit, so it is added first
    (middleware added last is outermost)."""
    app.add_middleware(InFlightLimit, limit=http.max_in_flight, uncounted=uncounted)
    app.add_middleware(BodySizeLimit, max_bytes=http.max_body_bytes)


def runtime_of(app: FastAPI) -> ServiceRuntime:
    """The running service's runtime (set by its lifespan)."""
    runtime: ServiceRuntime = app.state.runtime
    return runtime


def service_app(
    *,
    title: str,
    description: str,
    lifespan: Lifespan,
    http: HttpSettings,
    openapi_tags: list[dict[str, str]] | None = None,
    degradable: frozenset[str] = frozenset(),
    refusal_statuses: Mapping[str, int] | None = None,
    statuses: Callable[[str, str], set[int]] | None = None,
    auth: AuthSettings | None = None,
    streams: frozenset[str] = frozenset(),
) -> FastAPI:
    """A FastAPI app with problem+json errors, health, readiness, metrics and tracing.

    ``degradable`` names readiness checks ("broker") the service can work without;
    ``refusal_statuses`` is the service's one table from refusal code to HTTP status
    (a code it does not list answers 422); ``statuses(path, method)`` the statuses a
    route can be refused with, declared in its OpenAPI document with those the shared
    layer answers (``shared.openapi``). ``auth`` says which bearer tokens the routes'
    ``allow(...)`` accept (LT_AUTH_*); ``/healthz`` and ``/readyz`` stay open,
    ``/metrics`` needs operations (or a service). ``streams`` are paths whose answer
    stays open (server-sent events): not counted in the requests in flight.
    """
    # Swagger UI and ReDoc served from the package, not a CDN: desks may have no internet.
    app = offline_app(
        title=title,
        description=description,
        version=package_version("lienthong"),  # one release number for the whole platform
        lifespan=lifespan,
        openapi_tags=openapi_tags,
    )
    install_error_handlers(app, refusal_statuses or {})
    install_auth(app, auth or AuthSettings())
    declare_problems(app, statuses)

    async def check_store() -> None:
        await runtime_of(app).check_store()

    async def check_broker() -> None:
        await runtime_of(app).check_broker()

    def crashed_workers() -> list[str]:
        runtime = getattr(app.state, "runtime", None)
        return runtime.workers.ended if runtime is not None else []

    install_health(
        app,
        {"store": check_store, "broker": check_broker},
        degradable,
        metrics_dependencies=[allow(Role.OPERATIONS, Role.SERVICE)],
        crashed_workers=crashed_workers,
    )
    limit_requests(app, http, uncounted=PROBES | streams)
    app.add_middleware(HttpMetrics)
    trace_requests(app, untraced=PROBES)  # probes and scrapes: no spans
    return app


def serve(app: FastAPI, http: HttpSettings, common: CommonSettings, service: str) -> None:
    """Run the app until SIGINT/SIGTERM; the lifespan then stops consumers gracefully."""
    configure_logging(common.telemetry, service)
    configure_tracing(common.telemetry, service)
    freeze_after_start(app)
    server = uvicorn.Server(server_config(app, http))
    crashed = stop_when_a_worker_crashes(app, server)
    server.run()
    if crashed:
        sys.exit(CRASHED_WORKER_EXIT)


def server_config(app: FastAPI, http: HttpSettings) -> uvicorn.Config:
    """How uvicorn serves a service's app."""
    return uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=http.keep_alive_seconds,
        http=deadline_protocol(http.read_timeout_seconds),
        # Part of the stop budget (docs: README "Stopping"): requests in flight get 5 s.
        timeout_graceful_shutdown=HTTP_DRAIN_S,
    )


class Stoppable(Protocol):
    should_exit: bool


def stop_when_a_worker_crashes(app: FastAPI, server: Stoppable) -> list[str]:
    """Once the app has started, a crashed background worker (relay, consumer, scheduler;
    one whose loop returned before it was asked to stop counts as crashed: ``Workers``)
    stops the server as SIGTERM would (in-flight requests finish, workers stop in order).

    Returns the list the crashed workers' names are added to: ``serve`` then exits with
    ``CRASHED_WORKER_EXIT`` and the supervisor restarts the process (compose's
    ``restart: unless-stopped``, ``make run``'s supervisor). Meanwhile ``/healthz``
    answers 503 naming them. A process serving HTTP without its relay or consumers
    would otherwise look healthy and do nothing."""
    crashed: list[str] = []
    started = app.router.lifespan_context

    def stop(name: str) -> None:
        log.error("a background worker crashed: stopping to be restarted", extra={"task": name})
        crashed.append(name)
        server.should_exit = True

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        async with started(running):
            runtime = getattr(running.state, "runtime", None)
            if runtime is not None:
                for name in runtime.workers.ended:  # crashed while the app started
                    stop(name)
                runtime.workers.on_end(stop)
            yield

    app.router.lifespan_context = lifespan
    return crashed


def freeze_after_start(app: FastAPI) -> None:
    """Once the app has started, move what it holds out of the garbage collector's sight.

    What the start built (catalogue, calendar, clients, schemas, the framework's routes)
    lives as long as the process, yet each full collection walked all of it: about
    90 ms of CPU, holding the event loop, every few hundred requests on the 2-core
    machine. Frozen (``gc.freeze``) after one last collection, it is left out, and a
    full collection walks only what came later. For processes (``serve``) only: a test
    that starts many apps would keep the cycles of every one of them."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        async with started(running):
            gc.collect()
            gc.freeze()
            yield

    app.router.lifespan_context = lifespan
