"""Wiring of a witness: settings, key, state, HTTP app; start and stop.

A witness is its own process with its own key and state file, sharing nothing with the
log it watches (no broker, no store): ``python -m witness.main``. ``make run`` starts two.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import uvicorn
from fastapi import FastAPI

from shared.app import limit_requests, offline_app, server_config
from shared.auth import Role, allow, install_auth
from shared.clock import Clock, SystemClock
from shared.command_line import no_arguments
from shared.http import install_error_handlers
from shared.keyfile import load_or_create_ed25519_key
from shared.probes import install_health
from shared.settings_env import read_settings
from shared.telemetry.logs import configure_logging
from shared.transparency.note import COSIGNATURE_V1, Signer, Verifier, parse_vkey
from witness import api
from witness.config import WitnessSettings
from witness.domain import TimePolicy
from witness.handlers import Witness
from witness.store import WitnessState

DESCRIPTION = (
    "A transparency-log witness (C2SP tlog-witness): the audit log submits each new "
    "checkpoint with a consistency proof; the witness checks it extends the last one it "
    "cosigned (and, for the platform's log, that its time line does not go back) and "
    "returns its cosignature (tlog-cosignature). A checkpoint that rewrites history is "
    "refused and kept as evidence. Submitting needs a token with the role "
    "`witness-submitter` (the audit service's client) unless LT_WITNESS_REQUIRE_TOKEN is off."
)


def log_keys(vkeys: list[str]) -> dict[str, list[Verifier]]:
    """The logs this witness follows: their keys by origin (the key name)."""
    keys: dict[str, list[Verifier]] = {}
    for vkey in vkeys:
        verifier = parse_vkey(vkey)
        keys.setdefault(verifier.name, []).append(verifier)
    return keys


def create_app(settings: WitnessSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The witness app; its key and state are opened by the lifespan."""
    settings = settings or WitnessSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key = load_or_create_ed25519_key(settings.key_path)
        state = WitnessState(settings.state_path)
        state.open()
        app.state.witness = Witness(
            signer=Signer(settings.name, key, COSIGNATURE_V1),
            log_keys=log_keys(settings.log_vkeys),
            state=state,
            clock=clock or SystemClock(),
            time_policy=TimePolicy(
                frozenset(settings.time_origins),
                timedelta(seconds=settings.max_time_ahead_seconds),
            ),
        )
        try:
            yield
        finally:
            state.close()

    app = offline_app(title="Witness", description=DESCRIPTION, lifespan=lifespan)
    install_error_handlers(app, api.STATUS)
    install_auth(app, settings.auth)
    # Reading (vkey, state) stays public: auditors pin the vkey, the state is evidence;
    # /metrics is for operations and services, as on every service.
    scrapers = [allow(Role.OPERATIONS, Role.SERVICE)] if settings.require_token else []
    install_health(app, {}, metrics_dependencies=scrapers, service="witness")
    submitters = [allow(Role.WITNESS_SUBMITTER)] if settings.require_token else []
    app.include_router(api.submit_router, dependencies=submitters)
    app.include_router(api.router)
    limit_requests(app, settings.http)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run one witness with the settings of its environment (LT_WITNESS_*)."""
    no_arguments(
        "python -m witness.main",
        "Run a witness: its settings are LT_WITNESS_* and LT_AUTH_* (docs/witness.md); its "
        "key is generated at LT_WITNESS_KEY_PATH if absent.",
        argv,
    )  # --help says so, and starts nothing
    settings = read_settings(WitnessSettings, "witness")
    configure_logging(settings.telemetry, "witness")
    uvicorn.Server(server_config(create_app(settings), settings.http)).run()


if __name__ == "__main__":
    main()
