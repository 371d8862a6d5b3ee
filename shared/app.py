"""Building and serving a service's FastAPI app the same way in every service."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version as package_version

import uvicorn
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from shared.auth import AuthSettings, Role, allow, install_auth
from shared.http import BodySizeLimit, HttpMetrics, install_error_handlers, install_health
from shared.openapi import declare_problems
from shared.request_tracing import trace_requests
from shared.runtime import CommonSettings, ServiceRuntime
from shared.settings import HttpSettings
from shared.telemetry import configure_logging, configure_tracing

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
HTTP_DRAIN_S = 5
UNTRACED = ("/healthz", "/readyz", "/metrics")  # probes and scrapes: no spans


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
) -> FastAPI:
    """A FastAPI app with problem+json errors, health, readiness, metrics and tracing.

    ``degradable`` names readiness checks ("broker") the service can work without;
    ``refusal_statuses`` is the service's one table from refusal code to HTTP status
    (a code it does not list answers 422); ``statuses(path, method)`` the statuses a
    route can be refused with, declared in its OpenAPI document with those the shared
    layer answers (``shared.openapi``). ``auth`` says which bearer tokens the routes'
    ``allow(...)`` accept (LT_AUTH_*); ``/healthz`` and ``/readyz`` stay open,
    ``/metrics`` needs operations (or a service).
    """
    # Swagger UI and ReDoc served from the package, not a CDN: desks may have no internet.
    app = FastAPIOffline(
        title=title,
        description=description,
        version=package_version("lienthong"),  # one release number for the whole platform
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        # Swagger UI's "Authorize": the realm's public client, authorisation code + PKCE.
        swagger_ui_init_oauth={"clientId": "swagger-ui", "usePkceWithAuthorizationCodeGrant": True},
    )
    install_error_handlers(app, refusal_statuses or {})
    install_auth(app, auth or AuthSettings())
    declare_problems(app, statuses)

    async def check_store() -> None:
        await runtime_of(app).check_store()

    async def check_broker() -> None:
        await runtime_of(app).check_broker()

    install_health(
        app,
        {"store": check_store, "broker": check_broker},
        degradable,
        metrics_dependencies=[allow(Role.OPERATIONS, Role.SERVICE)],
    )
    app.add_middleware(BodySizeLimit, max_bytes=http.max_body_bytes)
    app.add_middleware(HttpMetrics)
    trace_requests(app, untraced=UNTRACED)
    return app


def serve(app: FastAPI, http: HttpSettings, common: CommonSettings, service: str) -> None:
    """Run the app until SIGINT/SIGTERM; the lifespan then stops consumers gracefully."""
    configure_logging(common.telemetry, service)
    configure_tracing(common.telemetry, service)
    freeze_after_start(app)
    uvicorn.run(
        app,
        host=http.host,
        port=http.port,
        log_config=None,
        access_log=False,
        # Part of the stop budget (docs: README "Stopping"): requests in flight get 5 s.
        timeout_graceful_shutdown=HTTP_DRAIN_S,
    )


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
